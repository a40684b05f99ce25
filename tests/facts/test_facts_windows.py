"""Windows parsers on the real Windows outputs in fixtures/windows (see its SOURCES.md).

FIXTURE_PARSERS says which parser reads which fixture; a test fails when a fixture is added
to the directory and no parser test uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wsltui.facts import windows as w
from wsltui.snapshot import Record, Snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "windows"

FIXTURE_PARSERS = {
    "Get-NetConnectionProfile_FormatList.txt": "parse_format_list + parse_connection_profiles",
    "Get-NetConnectionProfile_FormatList_older_build.txt": "parse_format_list + parse_connection_profiles",
    "Get-NetFirewall-X-Filter_ActiveStore_bulk_join_ConvertTo-Json_ws2022.json": "parse_ps_rules (filters joined by InstanceID)",
    "Get-NetFirewallApplicationFilter_FormatList.txt": "parse_format_list + parse_ps_rule (program)",
    "Get-NetFirewallHyperVVMCreator.txt": "parse_format_list (WSL_VM_CREATOR)",
    "Get-NetFirewallHyperVVMSetting_ActiveStore_WSL_default.txt": "parse_format_list + parse_hyperv_setting",
    "Get-NetFirewallProfile_ActiveStore_ConvertTo-Json_ws2022.json": "parse_ps_profiles",
    "Get-NetFirewallProfile_ConvertTo-Json_PersistentStore.json": "parse_ps_profiles",
    "Get-NetFirewallRule_ActiveStore_FormatList_gpo_block_rule.txt": "parse_format_list + parse_ps_rule",
    "Get-NetFirewallRule_ActiveStore_TracePolicyStore_Select_ConvertTo-Json_ws2022.json": "parse_ps_rules",
    "Get-NetFirewallRule_ConvertTo-Json_PersistentStore_full_cim.json": "parse_ps_rules",
    "Get-NetFirewallRule_DisplayName_FormatList_PersistentStore_store_app_rule.txt": "parse_format_list + parse_ps_rule",
    "Get-NetIPInterface_connected_sorted_FormatTable_excerpt.txt": "parse_format_table",
    "netsh_advfirewall_show_allprofiles_zh-CN_win7.txt": "parse_netsh_allprofiles",
    "netsh_int_ip_show_excludedportrange_tcp_zh-CN.txt": "parse_excluded_ranges",
    "netsh_int_ipv4_show_excludedportrange_tcp_en_github_runner.txt": "parse_excluded_ranges",
    "netsh_int_ipv4_show_excludedportrange_tcp_en_with_administered.txt": "parse_excluded_ranges",
    "netsh_int_ipv4_show_excludedportrange_tcp_es_partial.txt": "parse_excluded_ranges",
    "netsh_interface_portproxy_show_all_zh-CN.txt": "parse_portproxy_netsh",
    "netsh_interface_portproxy_show_v4tov4_en.txt": "parse_portproxy_netsh",
    "pfirewall.log_sample.txt": "parse_firewall_log",
    "reg_query_HKLM_Software_Policies_Microsoft_WindowsFirewall_FirewallRules_excerpt.txt": "parse_fw_policy (gpo)",
}
USED: set[str] = set()


def fx(name: str) -> str:
    USED.add(name)
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_every_fixture_has_a_parser():
    present = {p.name for p in FIXTURES.iterdir() if p.is_file() and p.name != "SOURCES.md"}
    assert present - set(FIXTURE_PARSERS) == set(), "a fixture no parser test reads"
    assert set(FIXTURE_PARSERS) - present == set()


# --- registry ----------------------------------------------------------------------------------


def test_gpo_rule_strings_from_reg_query():
    pol = w.parse_fw_policy(
        fx("reg_query_HKLM_Software_Policies_Microsoft_WindowsFirewall_FirewallRules_excerpt.txt"), "gpo"
    )
    assert pol.problems == [] and len(pol.rules) == 21
    peer = pol.rules[0]  # the unindented first line of the excerpt still parses
    assert (peer.id, peer.action, peer.enabled, peer.direction, peer.protocols, peer.local_ports, peer.programs) == (
        "Microsoft-Windows-PeerDist-HttpTrans-In",
        "allow",
        False,
        "in",
        [6],
        ["80"],
        ["SYSTEM"],
    )
    assert peer.name == "@peerdistsh.dll,-10000" and peer.label == peer.id  # indirect string: show the id
    anydesk = next(r for r in pol.rules if r.id == "{36516C13-1766-44F3-ABAB-F195E1B51E0A}")
    assert (anydesk.protocols, anydesk.profiles, anydesk.programs, anydesk.name) == (
        [17],
        ["Private"],
        [r"C:\share\support.exe"],
        "AnyDesk",
    )
    ps64 = next(r for r in pol.rules if r.name == "ps64")
    assert ps64.remote_addresses == ["IntErnet", "IntErnet"] and ps64.action == "block" and ps64.direction == "out"
    assert all(r.source == "gpo" for r in pol.rules)


def test_rule_grammar_repeats_ranges_missing_and_unknown_keys():
    rule, problem = w.parse_rule_string(
        "x",
        "v2.33|Action=Allow|Active=TRUE|Dir=In|Protocol=6|Profile=Domain|Profile=Private|"
        "LPort=8000-8100|LPort=9000|RA4=LocalSubnet|RA4=10.0.0.0/255.0.0.0|"
        "FutureKey=1|Name=Dev|",
    )
    assert problem is None
    assert rule.profiles == ["Domain", "Private"] and rule.local_ports == ["8000-8100", "9000"]
    assert rule.remote_addresses == ["LocalSubnet", "10.0.0.0/255.0.0.0"] and rule.remote_ports == []
    bare, _ = w.parse_rule_string("y", "v2.10|Action=Block|Dir=Out|")
    assert bare.enabled is False and bare.protocols == [] and bare.profiles == []  # Active missing = FALSE
    assert w.parse_rule_string("z", "not a rule")[0] is None


def test_local_policy_profiles_and_defaults():
    text = (
        "\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\PublicProfile\n"
        "    EnableFirewall    REG_DWORD    0x1\n    DoNotAllowExceptions    REG_DWORD    0x1\n"
        "    DisabledInterfaces    REG_SZ    {ABC}\n\n"
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\StandardProfile\n"
        "    EnableFirewall    REG_DWORD    0x0\n\n"
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\FirewallRules\n"
        "    {1}    REG_SZ    v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=8080|Name=dev|\n"
    )
    local = w.parse_fw_policy(text, "local")
    gpo = w.parse_fw_policy(
        "\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\WindowsFirewall\\PublicProfile\n"
        "    DefaultInboundAction    REG_DWORD    0x0\n",
        "gpo",
    )
    profiles = w.registry_profiles(local, gpo)
    pub, priv, dom = profiles["Public"], profiles["Private"], profiles["Domain"]
    assert (pub.enabled, pub.shielded, pub.disabled_interfaces, pub.default_inbound) == (True, True, ["{ABC}"], "allow")
    assert priv.enabled is False  # StandardProfile = Private in the local tree
    assert (dom.enabled, dom.default_inbound, dom.default_outbound, dom.explicit) == (True, "block", "allow", [])
    assert [r.name for r in local.rules] == ["dev"]


def test_portproxy_registry_form():
    text = (
        "\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\PortProxy\\v4tov4\\tcp\r\n"
        "    0.0.0.0/8080    REG_SZ    172.17.17.232/8080\r\n    */22    REG_SZ    127.0.0.1/22\r\n"
    )
    pp = w.parse_portproxy_registry(text.replace("\r\n", "\n"))
    assert [(e.kind, e.listen_address, e.listen_port, e.connect_address, e.connect_port) for e in pp.entries] == [
        ("v4tov4", "0.0.0.0", "8080", "172.17.17.232", "8080"),
        ("v4tov4", "*", "22", "127.0.0.1", "22"),
    ]


# --- netsh (by structure, any language) ---------------------------------------------------------


@pytest.mark.parametrize(
    "name,count,administered",
    [
        ("netsh_int_ip_show_excludedportrange_tcp_zh-CN.txt", 18, [(50000, 50059)]),
        ("netsh_int_ipv4_show_excludedportrange_tcp_en_github_runner.txt", 5, []),
        ("netsh_int_ipv4_show_excludedportrange_tcp_en_with_administered.txt", 4, [(55679, 55679)]),
        ("netsh_int_ipv4_show_excludedportrange_tcp_es_partial.txt", 24, []),
    ],
)
def test_excluded_ranges_in_every_language(name, count, administered):
    ex = w.parse_excluded_ranges(fx(name))
    assert len(ex.ranges) == count and ex.problems == []
    assert [(r.start, r.end) for r in ex.ranges if r.administered] == administered
    assert ex.containing(ex.ranges[0].start) is ex.ranges[0]


def test_excluded_ranges_survive_crlf_and_cp936_mojibake():
    raw = fx("netsh_int_ip_show_excludedportrange_tcp_zh-CN.txt").replace("\n", "\r\r\n").encode("cp936")
    from wsltui.probes.runner import decode

    assert len(w.parse_excluded_ranges(decode(raw)).ranges) == 18  # no code page given: U+FFFD labels
    assert "协议 tcp 端口排除范围" in decode(raw, "cp936")


@pytest.mark.parametrize(
    "name,entry",
    [
        ("netsh_interface_portproxy_show_all_zh-CN.txt", ("v4tov4", "*", "10081", "172.17.17.232", "10081")),
        (
            "netsh_interface_portproxy_show_v4tov4_en.txt",
            ("v4tov4", "0.0.0.0", "30000-50000", "172.23.188.236", "30000-50000"),
        ),
    ],
)
def test_portproxy_netsh_form(name, entry):
    pp = w.parse_portproxy_netsh(fx(name))
    assert [(e.kind, e.listen_address, e.listen_port, e.connect_address, e.connect_port) for e in pp.entries] == [entry]


def test_portproxy_kind_from_the_untranslated_ipv_words():
    """``show all`` prints one table per kind; its title is translated except ``ipv4``/``ipv6``."""
    zh = fx("netsh_interface_portproxy_show_all_zh-CN.txt")
    v6_listen = zh.replace("侦听 ipv4:", "侦听 ipv6:")  # a v6tov4 table: "*" alone would read as IPv4
    en = fx("netsh_interface_portproxy_show_v4tov4_en.txt")
    v4tov6 = en.replace("Connect to ipv4:", "Connect to ipv6:").replace("172.23.188.236 ", "::1            ")
    pp = w.parse_portproxy_netsh(v6_listen + en + v4tov6)
    assert pp.problems == []
    assert [(e.kind, e.listen_family, e.connect_family, e.connect_address) for e in pp.entries] == [
        ("v6tov4", 6, 4, "172.17.17.232"),
        ("v4tov4", 4, 4, "172.23.188.236"),
        ("v4tov6", 4, 6, "::1"),
    ]


def test_portproxy_registry_kinds():
    text = (
        "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\PortProxy\\v6tov4\\tcp\n"
        "    */8080    REG_SZ    172.28.165.23/8080\n\n"
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\PortProxy\\v4tov6\\tcp\n"
        "    0.0.0.0/3000    REG_SZ    ::1/3000\n\n"
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\PortProxy\\v6tov6\\tcp\n"
        "    ::/22    REG_SZ    fd00::23/22\n"
    )
    pp = w.parse_portproxy_registry(text)
    assert [(e.kind, e.listen_family, e.connect_family, e.text) for e in pp.entries] == [
        ("v6tov4", 6, 4, "v6tov4 *:8080 -> 172.28.165.23:8080"),
        ("v4tov6", 4, 6, "v4tov6 0.0.0.0:3000 -> [::1]:3000"),
        ("v6tov6", 6, 6, "v6tov6 [::]:22 -> [fd00::23]:22"),
    ]


@pytest.mark.parametrize(
    "token,keyword",
    [
        ("IntErnet", ("Internet", None)),
        ("IntrAnet", ("Intranet", None)),
        ("RmtIntrAnet", ("IntranetRemoteAccess", None)),
        ("Ply2Renders", ("PlayToDevice", None)),
        ("CaptivePortal", ("CaptivePortal", None)),
        ("LocalSubnet", ("LocalSubnet", None)),
        ("LocalSubnet4", ("LocalSubnet", 4)),
        ("DNS6", ("DNS", 6)),
        ("DefaultGateway", ("DefaultGateway", None)),
        ("PlayToDevice", ("PlayToDevice", None)),
        ("10.0.0.0/255.0.0.0", None),
        ("10.0.0.1-10.0.0.9", None),
        ("fe80::1", None),
        ("", None),
        ("Internet5", None),
    ],
)
def test_address_keywords_registry_and_powershell_spellings(token, keyword):
    assert w.address_keyword(token) == keyword


def test_address_keywords_in_the_real_rules():
    pol = w.parse_fw_policy(
        fx("reg_query_HKLM_Software_Policies_Microsoft_WindowsFirewall_FirewallRules_excerpt.txt"), "gpo"
    )
    assert {w.address_keyword(a) for r in pol.rules for a in r.remote_addresses} == {("Internet", None)}
    rules, _ = w.parse_ps_rules(
        json.loads(fx("Get-NetFirewallRule_ActiveStore_TracePolicyStore_Select_ConvertTo-Json_ws2022.json")),
        json.loads(fx("Get-NetFirewall-X-Filter_ActiveStore_bulk_join_ConvertTo-Json_ws2022.json")),
    )
    assert {w.address_keyword(a) for r in rules for a in r.remote_addresses} == {("PlayToDevice", None)}


def test_adapters_map_interface_guids():
    doc = {
        "v": 1,
        "adapters": [
            {"alias": "Wi-Fi", "ifIndex": 12, "guid": "{6f3c1a2b-9d4e-4f60-8a7b-1c2d3e4f5a6b}", "type": 71},
            {
                "Name": "vEthernet (WSL)",
                "InterfaceIndex": 40,
                "InterfaceGuid": "{0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0}",
                "InterfaceType": 6,
            },
            {"alias": "broken", "guid": "not-a-guid"},
            "junk",
        ],
    }
    ps = w.parse_powershell(json.dumps(doc))
    assert [(a.alias, a.index, a.guid, a.if_type) for a in ps.adapters] == [
        ("Wi-Fi", 12, "{6F3C1A2B-9D4E-4F60-8A7B-1C2D3E4F5A6B}", 71),
        ("vEthernet (WSL)", 40, "{0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0}", 6),
    ]
    facts = w.WindowsFacts(
        w.Unknown("x"), w.Unknown("x"), w.Unknown("x"), w.Unknown("x"), w.Unknown("x"), ps, adapters=ps.adapters
    )
    assert (
        facts.adapter("{6F3C1A2B-9D4E-4F60-8A7B-1C2D3E4F5A6B}").alias == "Wi-Fi"
        and facts.adapter("wi-fi").if_type == 71
    )
    assert facts.adapter("{00000000-0000-0000-0000-000000000000}") is None
    denied = w.parse_powershell(json.dumps({**doc, "errors": {"adapters": "Access is denied."}}))
    assert isinstance(denied.adapters, w.Unknown) and "Access is denied." in denied.adapters.reason
    old = w.parse_powershell(json.dumps({"v": 1}))  # a batch from before the adapters section
    assert isinstance(old.adapters, w.Unknown)


def test_netsh_allprofiles_policy_pairs_by_order():
    profiles = w.parse_netsh_allprofiles(fx("netsh_advfirewall_show_allprofiles_zh-CN_win7.txt"))
    assert list(profiles) == ["Domain", "Private", "Public"]
    assert all(
        (p.default_inbound, p.default_outbound, p.shielded) == ("block", "allow", False) for p in profiles.values()
    )


# --- PowerShell ------------------------------------------------------------------------------------


def test_activestore_rules_joined_with_bulk_filters():
    rules, problems = w.parse_ps_rules(
        json.loads(fx("Get-NetFirewallRule_ActiveStore_TracePolicyStore_Select_ConvertTo-Json_ws2022.json")),
        json.loads(fx("Get-NetFirewall-X-Filter_ActiveStore_bulk_join_ConvertTo-Json_ws2022.json")),
    )
    assert problems == []
    by = {r.id: r for r in rules}
    gpo = by["ExampleGpoRule"]
    assert (gpo.action, gpo.direction, gpo.protocols, gpo.local_ports, gpo.store) == (
        "block",
        "in",
        [6],
        ["4444"],
        "Local Group Policy",
    )
    assert by["Microsoft-Windows-PeerDist-HostedServer-Out"].local_ports == ["80", "443"]  # {"value", "Count"} wrapper
    do = by["DeliveryOptimization-UDP-In"]
    assert (do.protocols, do.services, do.programs) == ([17], ["dosvc"], [r"C:\Windows\system32\svchost.exe"])
    assert by["CoreNet-IPv6-In"].protocols == [41]
    assert by["PlayTo-QWave-Out-TCP-PlayToScope"].remote_addresses == ["PlayToDevice"]


def test_full_cim_rules_and_profiles():
    rules, _ = w.parse_ps_rules(json.loads(fx("Get-NetFirewallRule_ConvertTo-Json_PersistentStore_full_cim.json")))
    assert [(r.id, r.action, r.direction, r.enabled, r.profiles) for r in rules][0] == (
        "OpenSSH-Server-In-TCP",
        "allow",
        "in",
        True,
        [],
    )
    active = w.parse_ps_profiles(json.loads(fx("Get-NetFirewallProfile_ActiveStore_ConvertTo-Json_ws2022.json")))
    assert {n: (p.enabled, p.default_inbound, p.default_outbound) for n, p in active.items()} == {
        n: (True, "block", "allow") for n in ("Domain", "Private", "Public")
    }
    persistent = w.parse_ps_profiles(json.loads(fx("Get-NetFirewallProfile_ConvertTo-Json_PersistentStore.json")))
    assert list(persistent) == ["Private", "Public"]
    assert (
        persistent["Public"].default_inbound == "block" and persistent["Public"].disabled_interfaces == []
    )  # NotConfigured


def test_format_list_outputs():
    block = w.parse_ps_rule(w.parse_format_list(fx("Get-NetFirewallRule_ActiveStore_FormatList_gpo_block_rule.txt"))[0])
    assert (block.name, block.action, block.direction, block.enabled) == ("Block Autoit", "block", "out", True)
    app = w.parse_format_list(fx("Get-NetFirewallApplicationFilter_FormatList.txt"))[0]
    assert w.parse_ps_rule({"id": "a", **app}).programs == [r"C:\share\AutoIt3_x64.exe"]
    cortana = w.parse_ps_rule(
        w.parse_format_list(fx("Get-NetFirewallRule_DisplayName_FormatList_PersistentStore_store_app_rule.txt"))[0]
    )
    assert (cortana.name, cortana.enabled, cortana.profiles) == ("Cortana", False, [])
    creator = w.parse_format_list(fx("Get-NetFirewallHyperVVMCreator.txt"))
    assert creator == [{"VMCreatorId": w.WSL_VM_CREATOR, "FriendlyName": "WSL"}]
    hv = w.parse_hyperv_setting(
        w.parse_format_list(fx("Get-NetFirewallHyperVVMSetting_ActiveStore_WSL_default.txt"))[0]
    )
    assert hv == w.HyperVSetting(True, "block", "block", True, True)
    for name, alias in (
        ("Get-NetConnectionProfile_FormatList.txt", "Ethernet"),
        ("Get-NetConnectionProfile_FormatList_older_build.txt", "Wi-Fi"),
    ):
        conns = w.parse_connection_profiles(w.parse_format_list(fx(name)))
        assert [(c.alias, c.category) for c in conns] == [(alias, "Private")]
    table = w.parse_format_table(fx("Get-NetIPInterface_connected_sorted_FormatTable_excerpt.txt"))
    assert [(r["InterfaceAlias"], r["AddressFamily"], r["InterfaceMetric"], r["ConnectionState"]) for r in table] == [
        ("Ethernet 2", "IPv4", "1", "Connected"),
        ("Ethernet 2", "IPv6", "6000", "Connected"),
    ]


def test_firewall_log_keeps_the_truncated_line_as_a_problem():
    rows, problems = w.parse_firewall_log(fx("pfirewall.log_sample.txt"))
    assert len(rows) == 13 and rows[0]["action"] == "DROP" and rows[0]["path"] == "RECEIVE"
    assert problems == ["line 9: 15 fields, expected 17"]


def test_powershell_batch_json_shapes_and_errors():
    doc = {
        "v": 1,
        "build": "22631.4037",
        "profiles": {"name": "Public", "enabled": 1, "inb": 4, "outb": 2, "allowInboundRules": 0, "disabledIf": None},
        "rules": [
            {
                "id": "r1",
                "name": "dev",
                "enabled": 1,
                "dir": 1,
                "action": 2,
                "profile": 6,
                "proto": "TCP",
                "lport": "8080,9000-9100",
                "raddr": "Any",
                "program": "Any",
                "service": "Any",
                "ifAlias": "Any",
            }
        ],
        "conn": {"alias": "Wi-Fi", "ifIndex": 3, "category": 1},
        "hyperv": {
            "available": True,
            "setting": {"enabled": 1, "inb": 4, "outb": 2, "loopback": 1, "hostMerge": 1},
            "rules": [],
        },
        "listeners": [{"addr": "0.0.0.0", "port": 135, "pid": 1000, "process": "svchost"}],
        "iphlpsvc": {"status": 1, "startType": 4},
        "errors": {},
    }
    ps = w.parse_powershell("\ufeff" + json.dumps(doc))
    assert ps.profiles["Public"].shielded is True  # AllowInboundRules=False = shields up
    r = ps.rules[0]
    assert (r.profiles, r.protocols, r.local_ports, r.programs, r.interfaces) == (
        ["Private", "Public"],
        [6],
        ["8080", "9000-9100"],
        [],
        [],
    )
    assert [(c.alias, c.category) for c in ps.connections] == [("Wi-Fi", "Private")]
    assert ps.iphlpsvc == w.Service(False, "stopped", "disabled")
    assert ps.hyperv.setting.default_inbound == "block"
    denied = w.parse_powershell(
        json.dumps({**doc, "errors": {"rules": "Access is denied.", "hyperv": "Access is denied."}}), "ps"
    )
    assert isinstance(denied.rules, w.Unknown) and "Access is denied" in denied.rules.reason
    assert isinstance(denied.hyperv.setting, w.Unknown)
    win10 = w.parse_powershell(
        json.dumps({**doc, "hyperv": {"available": False}, "errors": {"hyperv": "not available"}})
    )
    assert win10.hyperv.available is False
    for bad in ("", "garbage \x00\x01", "[1, 2]", "{not json"):
        assert isinstance(w.parse_powershell(bad), w.Unknown)


def test_from_snapshot_missing_denied_and_no_gpo():
    empty = w.from_snapshot(Snapshot())
    assert not empty.captured and isinstance(empty.rules, w.Unknown) and isinstance(empty.hyperv, w.Unknown)
    snap = Snapshot()
    snap.add(
        Record(
            "win.fw-policy-gpo",
            ("reg.exe",),
            "",
            exit_code=1,
            stderr="ERROR: The system was unable to find the specified registry key or value.",
        )
    )
    snap.add(Record("win.fw-policy", ("reg.exe",), "", exit_code=1, stderr="ERROR: Access is denied."))
    snap.add(Record("win.excluded-tcp4", ("netsh.exe",), "", error="timed out after 10 s"))
    f = w.from_snapshot(snap)
    assert f.captured and f.gpo_policy.present is False
    assert isinstance(f.local_policy, w.Unknown) and "denied" in f.local_policy.reason
    assert f.excluded4.reason == "timed out after 10 s"


V2_HYPERV = {
    "available": True,
    "setting": {"enabled": 1, "inb": 4, "outb": 2, "loopback": 1, "hostMerge": 1},
    "profiles": [{"name": "Public", "enabled": 2, "inb": 2, "outb": 0, "loopback": 0, "hostMerge": 2, "allowLocal": 0}],
    "rules": [
        {
            "id": "merged-8080",
            "name": "Dev 8080",
            "enabled": 1,
            "dir": 1,
            "action": 2,
            "proto": "TCP",
            "lport": "8080",
            "rport": "Any",
            "laddr": "Any",
            "raddr": "Any",
            "profile": 0,
            "priority": None,
            "creator": "Any",
            "enforce": "Enforced",
            "srcType": "HostFirewallLocal",
        },
        {
            "id": "gpo-block",
            "name": "Block",
            "enabled": 1,
            "dir": 1,
            "action": 4,
            "proto": "TCP",
            "lport": "22",
            "rport": "Any",
            "laddr": "Any",
            "raddr": "Any",
            "profile": 4,
            "priority": 3,
            "creator": "{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}",
            "enforce": "LocalFirewallRulesDisallowed",
            "srcType": "HostFirewallGroupPolicy",
        },
    ],
}


def test_powershell_batch_v2_fields():
    doc = {
        "v": 2,
        "hyperv": V2_HYPERV,
        "hvFirewallDisable": 1,
        "regKeys": {"gpoFirewall": False, "portProxy": True},
        "errors": {},
    }
    ps = w.parse_powershell(json.dumps(doc), "ps")
    hv = ps.hyperv
    assert hv.merged_published is True
    public = hv.profiles["Public"]
    assert (
        public.enabled,
        public.default_inbound,
        public.default_outbound,
        public.loopback,
        public.host_merge,
        public.allow_local,
    ) == (None, "allow", None, False, None, False)  # 2 and 0 are NotConfigured
    merged, gpo = hv.rules
    assert (merged.store_type, merged.merged_from_host, merged.is_local, merged.enforced) == (
        "HostFirewallLocal",
        True,
        True,
        "enforced",
    )
    assert (gpo.priority, gpo.profiles, gpo.from_group_policy, gpo.is_local, gpo.enforced) == (
        3,
        ["Public"],
        True,
        False,
        "not-enforced",
    )
    assert ps.hyperv_disable == 1 and ps.reg_keys == {"gpoFirewall": False, "portProxy": True}
    # not set, denied, an older batch (v1: no merged set, the field missing)
    assert w.parse_powershell(json.dumps({**doc, "hvFirewallDisable": None})).hyperv_disable is None
    denied = w.parse_powershell(
        json.dumps({**doc, "errors": {"hvFirewallDisable": "Requested registry access is not allowed."}})
    )
    assert isinstance(denied.hyperv_disable, w.Unknown) and "not allowed" in denied.hyperv_disable.reason
    old = w.parse_powershell(json.dumps({"v": 1, "hyperv": V2_HYPERV, "errors": {}}))
    assert old.hyperv.merged_published is False and isinstance(old.hyperv_disable, w.Unknown) and old.reg_keys == {}
    odd = w.parse_powershell(json.dumps({**doc, "regKeys": {"gpoFirewall": "SecurityException: Zugriff verweigert"}}))
    assert (
        isinstance(odd.reg_keys["gpoFirewall"], w.Unknown) and "SecurityException" in odd.reg_keys["gpoFirewall"].reason
    )


@pytest.mark.parametrize(
    "text,state",
    [
        ("", "enforced"),
        ("Enforced", "enforced"),
        ("NotApplicable", "enforced"),
        ("Enforced, NotApplicable", "enforced"),
        ("LocalFirewallRulesDisallowed", "not-enforced"),
        ("LocalFirewallRulesNotAllowed", "not-enforced"),
        ("ProfileInactive", "not-enforced"),
        ("DisabledInProfile", "not-enforced"),
        ("Enforced, NotEnforced", "not-enforced"),
        ("OptimizedOut", "unclear"),
        ("4", "unclear"),
    ],
)
def test_enforcement_status_words(text, state):
    assert w.enforcement_state(text) == state


def test_store_types_and_local_rules():
    assert [w.store_type_of(v) for v in (1, "2", 8, 7, "MDM", None, "None")] == [
        "Local",
        "GroupPolicy",
        "HostFirewallLocal",
        "type 7",
        "MDM",
        "",
        "",
    ]
    rules, _ = w.parse_ps_rules(
        json.loads(fx("Get-NetFirewallRule_ActiveStore_TracePolicyStore_Select_ConvertTo-Json_ws2022.json"))
    )
    by = {r.id: r for r in rules}
    assert by["ExampleGpoRule"].from_group_policy and not by["ExampleGpoRule"].is_local
    assert by["CoreNet-IPv6-In"].is_local and not by["CoreNet-IPv6-In"].from_group_policy


def test_reg_exe_exit_1_is_told_apart_by_powershell_not_by_words():
    german = "FEHLER: Das angegebene Registrierungsschlüssel oder Wert wurde nicht gefunden."
    for keys, absent in (
        ({"gpoFirewall": False, "portProxy": False}, True),
        ({"gpoFirewall": True, "portProxy": True}, False),
    ):
        snap = Snapshot()
        snap.add(Record("win.fw-policy-gpo", ("reg.exe",), "", exit_code=1, stderr=german))
        snap.add(Record("win.portproxy", ("reg.exe",), "", exit_code=1, stderr=german))
        snap.add(Record("win.powershell", ("powershell.exe",), json.dumps({"v": 2, "regKeys": keys, "errors": {}})))
        f = w.from_snapshot(snap)
        if absent:
            assert f.gpo_policy.present is False and f.gpo_policy.assumption == "" and f.portproxy.entries == []
        else:
            assert isinstance(f.gpo_policy, w.Unknown) and german in f.gpo_policy.reason
            assert isinstance(f.portproxy, w.Unknown)
    # no PowerShell answer: "absent" stays an assumption that names itself
    snap = Snapshot()
    snap.add(Record("win.fw-policy-gpo", ("reg.exe",), "", exit_code=1, stderr="ERREUR : Accès refusé."))
    f = w.from_snapshot(snap)
    assert (
        f.gpo_policy.present is False
        and "taken as" in f.gpo_policy.assumption
        and "Accès refusé" in f.gpo_policy.assumption
    )


def test_registry_local_rules_stay_listed_and_merge_off_is_per_profile():
    gpo = (
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\WindowsFirewall\\PrivateProfile\n"
        "    AllowLocalPolicyMerge    REG_DWORD    0x0\n"
    )
    local = (
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\PublicProfile\n"
        "    AllowLocalPolicyMerge    REG_DWORD    0x0\n"  # only Group Policy's counts
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\FirewallRules\n"
        "    {D1}    REG_SZ    v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=8080|Name=Dev|\n"
    )
    snap = Snapshot()
    snap.add(Record("win.fw-policy-gpo", ("reg.exe",), gpo))
    snap.add(Record("win.fw-policy", ("reg.exe",), local))
    f = w.from_snapshot(snap)
    assert [r.id for r in f.rules] == ["{D1}"] and f.rules[0].is_local
    assert {n: p.allow_local_rules for n, p in f.profiles.items()} == {"Domain": None, "Private": False, "Public": None}
