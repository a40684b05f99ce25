"""The Hyper-V firewall and Windows policy, through `wsltui check --from DIR --json` on the NAT
demo's real Linux capture plus hand-made win.* records (real shapes, see README "Windows records"):
whether the Hyper-V firewall is there at all, which of its settings and rules apply, Group Policy
and rule enforcement, reg.exe's exit 1 in any language."""

from __future__ import annotations

import json

import pytest

from tests.simulation.test_windows_scenarios import PORTPROXY, WSL_IP, case, check, layers, ps, rule

HV_NAT = "vEthernet (WSL (Hyper-V firewall))"
PLAIN_NAT = "vEthernet (WSL)"
LAN = ("8080", "--scenario", "lan-to-host")
TO_WSL = ("8080", "--scenario", "windows-to-wsl-ip")
TO_WIN = ("5432", "--scenario", "wsl-to-windows")
POSTGRES = [{"addr": "0.0.0.0", "port": 5432, "pid": 99, "process": "postgres"}]
PRIVATE_8080 = rule("priv", "Dev (Private)", "allow", 8080, profile=2)  # the LAN side of portproxy


def conn(*aliases: str, wifi: int = 1) -> list[dict]:
    return [{"alias": "Wi-Fi", "ifIndex": 12, "category": wifi}] + [
        {"alias": a, "ifIndex": 40 + i, "category": 0} for i, a in enumerate(aliases)
    ]


def hv(setting: dict | None = None, profiles: list | None = None, rules: list | None = None) -> dict:
    base = {"enabled": 1, "inb": 4, "outb": 2, "loopback": 1, "hostMerge": 1}
    return {"available": True, "setting": {**base, **(setting or {})}, "profiles": profiles or [], "rules": rules or []}


def hv_rule(id_, action, port, priority=None, **extra) -> dict:
    return {
        "id": id_,
        "name": id_,
        "enabled": 1,
        "dir": 1,
        "action": {"allow": 2, "block": 4}[action],
        "proto": "TCP",
        "lport": str(port),
        "rport": "Any",
        "laddr": "Any",
        "raddr": "Any",
        "profile": 0,
        "priority": priority,
        "creator": "{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}",
        "enforce": "Enforced",
        "srcType": "Local",
        **extra,
    }


def hop(t: dict, layer: str = "hyperv-firewall") -> dict:
    return next(h for h in t["hops"] if h["layer"] == layer)


def hyperv_hops(t: dict) -> list[tuple[str, str]]:
    return [(h["layer"], h["verdict"]) for h in t["hops"] if h["layer"] == "hyperv-firewall"]


def proxied(tmp_path, name: str, **over):
    """NAT, portproxy 0.0.0.0:8080 -> the WSL IP, the LAN side allowed: the last leg is host -> VM."""
    over.setdefault("rules", [PRIVATE_8080])
    return case(tmp_path / name, powershell=ps(**over), portproxy=PORTPROXY.format(target=WSL_IP))


# --- 1. is the Hyper-V firewall there at all -------------------------------------------------------


def test_nat_with_the_firewall_attached_every_host_vm_leg_is_the_same_assumption(capsys, tmp_path):
    # direct Windows -> WSL IP, portproxy -> WSL IP (lan-to-host), and the reverse leg with outbound Block
    plain = case(tmp_path / "direct")
    code, direct = check(capsys, plain, *TO_WSL)
    assert code == 0 and hop(direct)["verdict"] == "assumed" and "live test" in hop(direct)["assumption"]
    code, lan = check(capsys, proxied(tmp_path, "lan"), *LAN)
    assert code == 0 and hyperv_hops(lan) == [("hyperv-firewall", "assumed")], layers(lan)
    assert hop(lan)["assumption"] == hop(direct)["assumption"]
    assert layers(lan).index(("portproxy", "allow")) < layers(lan).index(("hyperv-firewall", "assumed"))
    reverse = case(
        tmp_path / "rev",
        powershell=ps(hyperv=hv({"outb": 4}), listeners=POSTGRES, rules=[rule("pg", "pg", "allow", 5432, profile=4)]),
    )
    code, back = check(capsys, reverse, *TO_WIN)
    assert code == 0 and hop(back)["verdict"] == "assumed" and hop(back)["assumption"] == hop(direct)["assumption"]
    # the text output and the report show it as an assumption, not as a plain "reachable"
    from wsltui.cli import main

    main(["check", "8080", "--from", str(plain), "--scenario", "windows-to-wsl-ip"])
    out = capsys.readouterr().out
    assert "Reachable if the assumptions hold" in out and "hyperv-firewall" in out


@pytest.mark.parametrize("extra,block", [({"loopback": 0}, "LoopbackEnabled=False"), ({}, "hv-block-8080")])
def test_loopback_off_or_a_hyperv_block_rule_decides_every_host_vm_leg(capsys, tmp_path, extra, block):
    rules = [] if extra else [hv_rule("hv-block-8080", "block", 8080)]
    code, direct = check(capsys, case(tmp_path / "direct", powershell=ps(hyperv=hv(extra, rules=rules))), *TO_WSL)
    first = direct["first_blocker"]
    assert (
        code == 1 and first["layer"] == "hyperv-firewall" and block in first["rule"] and first["symptom"] == "timeout"
    )
    code, lan = check(capsys, proxied(tmp_path, "lan", hyperv=hv(extra, rules=rules)), *LAN)
    assert code == 1 and lan["first_blocker"]["layer"] == "hyperv-firewall" and block in lan["first_blocker"]["rule"]
    # Linux is never reached; past the drop the trace goes on (as the direct path does), so a Linux
    # blocker behind it would be listed too.
    assert [h["layer"] for h in lan["hops"]][-3:] == ["hyperv-firewall", "netfilter", "socket"]
    assert [b["layer"] for b in lan["blockers"]] == ["hyperv-firewall"]


def test_nat_without_the_firewall_attached(capsys, tmp_path):
    # the adapter is vEthernet (WSL): whatever the Hyper-V settings say, they are not on the path
    blocking = ps(conn=conn(PLAIN_NAT), hyperv=hv({"loopback": 0}))
    code, t = check(capsys, case(tmp_path / "plain", powershell=blocking), *TO_WSL)
    assert code == 0 and hop(t)["verdict"] == "not-applicable" and PLAIN_NAT in hop(t)["explanation"]
    code, t = check(capsys, proxied(tmp_path, "lan", conn=conn(PLAIN_NAT), hyperv=hv({"loopback": 0})), *LAN)
    assert code == 0 and hyperv_hops(t) == [("hyperv-firewall", "not-applicable")]


def test_registry_and_wslconfig_say_not_attached_without_the_adapter(capsys, tmp_path):
    no_adapter = conn()  # Windows listed no WSL adapter
    doc = ps(conn=no_adapter, hyperv=hv({"loopback": 0}), hvFirewallDisable=1)
    code, t = check(capsys, case(tmp_path / "reg", powershell=doc), *TO_WSL)
    h = hop(t)
    assert code == 0 and h["verdict"] == "assumed" and "HyperVFirewallDisable=1" in h["assumption"]
    assert "Get-NetAdapter" in h["assumption"]  # what would confirm it
    d = case(
        tmp_path / "cfg",
        powershell=ps(conn=no_adapter, hyperv=hv({"loopback": 0})),
        wslconfig="[wsl2]\nfirewall=false\n",
    )
    code, t = check(capsys, d, *TO_WSL)
    assert code == 0 and hop(t)["verdict"] == "assumed" and "firewall=false" in hop(t)["assumption"]
    # the adapter says attached although .wslconfig says false: the adapter wins, the conflict is named
    d = case(tmp_path / "both", powershell=ps(hyperv=hv({"loopback": 0})), wslconfig="[wsl2]\nfirewall=false\n")
    code, t = check(capsys, d, *TO_WSL)
    assert (
        code == 1
        and t["first_blocker"]["layer"] == "hyperv-firewall"
        and "next VM start" in t["first_blocker"]["assumption"]
    )


def test_no_evidence_a_block_is_unknown_not_a_blocker(capsys, tmp_path):
    doc = ps(conn=conn(), hyperv=hv(rules=[hv_rule("hv-block-8080", "block", 8080)]))
    code, t = check(capsys, case(tmp_path, powershell=doc), *TO_WSL)
    h = hop(t)
    assert code == 3 and h["verdict"] == "unknown" and t["first_blocker"] is None
    assert "whether WSL attached it" in h["reason"] and h["explanation"].startswith(
        "If the Hyper-V firewall is attached"
    )


def test_unreadable_hyperv_settings_matter_only_where_it_is_attached(capsys, tmp_path):
    denied = {"errors": {"hyperv": "Access is denied."}, "hyperv": {"available": True}}
    code, t = check(capsys, case(tmp_path / "att", powershell=ps(**denied)), *TO_WSL)
    assert code == 3 and hop(t)["verdict"] == "unknown" and "Access is denied." in hop(t)["reason"]
    code, t = check(capsys, case(tmp_path / "plain", powershell=ps(conn=conn(PLAIN_NAT), **denied)), *TO_WSL)
    assert code == 0 and hop(t)["verdict"] == "not-applicable"
    d = case(tmp_path / "cfg", powershell=ps(conn=conn(), **denied), wslconfig="[wsl2]\nfirewall=false\n")
    code, t = check(capsys, d, *TO_WSL)
    assert code == 0 and hop(t)["verdict"] == "assumed" and "firewall=false" in hop(t)["assumption"]


def test_mirrored_ignores_wslconfig_firewall_false(capsys, tmp_path):
    d = case(tmp_path, mode="mirrored", wslconfig="[wsl2]\nnetworkingMode=mirrored\nfirewall=false\n")
    code, t = check(capsys, d, *LAN)
    assert code == 1 and t["first_blocker"]["layer"] == "hyperv-firewall" and t["first_blocker"]["assumption"] is None


@pytest.mark.parametrize("mode,args", [("bridged", TO_WSL), ("consomme", LAN), ("bridged", TO_WIN)])
def test_bridged_and_consomme_never_have_it(capsys, tmp_path, mode, args):
    d = case(
        tmp_path,
        mode=mode,
        powershell=ps(
            hyperv=hv({"loopback": 0, "outb": 4}), listeners=POSTGRES, rules=[rule("pg", "pg", "allow", 5432)]
        ),
    )
    _, t = check(capsys, d, *args)
    # The path of these modes has no Hyper-V hop at all (or a not-applicable one): settings that would
    # block (LoopbackEnabled off, outbound Block) never decide.
    assert all(v == "not-applicable" for _, v in hyperv_hops(t)), layers(t)
    assert not any(b["layer"] == "hyperv-firewall" for b in t["blockers"])


@pytest.mark.parametrize("mode", ["bridged", "consomme"])
def test_the_hyperv_hop_itself_is_not_applicable_in_bridged_and_consomme(mode):
    from wsltui.facts.windows import parse_powershell
    from wsltui.simulation import windows as winsim

    win = parse_powershell(json.dumps(ps(hyperv=hv({"loopback": 0, "outb": 4}))))
    h = winsim.hyperv(win, winsim.WinPacket("in", "tcp", 5432, "192.168.1.50"), what="the LAN", mode=mode)
    assert h.verdict == "not-applicable" and mode in h.explanation


# --- 2. which settings and rules apply -----------------------------------------------------------


def profile(name: str, **values) -> dict:
    return {"name": name, "enabled": 2, "inb": 0, "outb": 0, "loopback": 2, "hostMerge": 2, "allowLocal": 2, **values}


def test_the_profile_of_the_adapter_decides_and_notconfigured_falls_back(capsys, tmp_path):
    # mirrored LAN traffic crosses Wi-Fi (Private): the Private profile's Allow beats the VM-level Block
    allow_private = hv(profiles=[profile("Private", inb=2), profile("Public"), profile("Domain")])
    code, t = check(capsys, case(tmp_path / "priv", mode="mirrored", powershell=ps(hyperv=allow_private)), *LAN)
    assert code == 0 and hop(t)["verdict"] == "allow" and "Private profile" in hop(t)["location"]
    # only Public allows: Private is NotConfigured, so the VM-level Block applies
    allow_public = hv(profiles=[profile("Private"), profile("Public", inb=2), profile("Domain")])
    code, t = check(capsys, case(tmp_path / "pub", mode="mirrored", powershell=ps(hyperv=allow_public)), *LAN)
    assert code == 1 and t["first_blocker"]["rule"] == "DefaultInboundAction=Block"
    # NAT crosses vEthernet (WSL), Public: its profile's LoopbackEnabled=False decides host -> VM
    nat = hv(profiles=[profile("Public", loopback=0), profile("Private"), profile("Domain")])
    code, t = check(capsys, case(tmp_path / "nat", powershell=ps(hyperv=nat)), *TO_WSL)
    assert code == 1 and t["first_blocker"]["rule"] == "LoopbackEnabled=False"


def test_host_profile_off_and_hyperv_notconfigured_enforces_nothing(capsys, tmp_path):
    profiles = [
        {
            "name": n,
            "enabled": 0 if n == "Private" else 1,
            "inb": 4,
            "outb": 2,
            "allowInboundRules": 1,
            "allowLocal": 1,
            "disabledIf": None,
        }
        for n in ("Domain", "Private", "Public")
    ]
    off = hv({"enabled": 2}, rules=[hv_rule("hv-block-8080", "block", 8080)])
    code, t = check(capsys, case(tmp_path / "nc", mode="mirrored", powershell=ps(profiles=profiles, hyperv=off)), *LAN)
    assert code == 0 and hop(t)["verdict"] == "allow" and "NotConfigured" in hop(t)["explanation"]
    # Enabled=True in ActiveStore may only be the displayed default there: open, so unknown
    shown_on = hv(rules=[hv_rule("hv-block-8080", "block", 8080)])
    code, t = check(
        capsys, case(tmp_path / "on", mode="mirrored", powershell=ps(profiles=profiles, hyperv=shown_on)), *LAN
    )
    assert code == 3 and hop(t)["verdict"] == "unknown" and "host Private profile is off" in hop(t)["reason"]


@pytest.mark.parametrize(
    "allow_prio,block_prio,verdict", [(1, 5, "allow"), (3, 3, "drop"), (None, None, "drop"), (4, 2, "drop")]
)
def test_rule_priority_lower_first_block_wins_only_among_equals(capsys, tmp_path, allow_prio, block_prio, verdict):
    rules = [hv_rule("hv-allow", "allow", 8080, allow_prio), hv_rule("hv-block", "block", 8080, block_prio)]
    _, t = check(capsys, case(tmp_path, mode="mirrored", powershell=ps(hyperv=hv(rules=rules))), *LAN)
    assert hop(t)["verdict"] == verdict, hop(t)
    if verdict == "drop":
        assert "hv-block" in hop(t)["rule"]


def test_an_uncheckable_allow_ahead_of_a_block_leaves_it_undecided(capsys, tmp_path):
    rules = [hv_rule("hv-allow-internet", "allow", 8080, 1, raddr="Internet"), hv_rule("hv-block", "block", 8080, 2)]
    code, t = check(capsys, case(tmp_path, mode="mirrored", powershell=ps(hyperv=hv(rules=rules))), *LAN)
    assert code == 3 and hop(t)["verdict"] == "unknown" and "remote address keyword Internet" in hop(t)["reason"]
    # behind the block (higher RulePriority number) it cannot matter
    rules = [hv_rule("hv-allow-internet", "allow", 8080, 3, raddr="Internet"), hv_rule("hv-block", "block", 8080, 2)]
    code, t = check(capsys, case(tmp_path / "after", mode="mirrored", powershell=ps(hyperv=hv(rules=rules))), *LAN)
    assert code == 1 and "hv-block" in t["first_blocker"]["rule"]


def test_activestore_merged_set_is_preferred_over_re_deriving(capsys, tmp_path):
    host_allow = rule("host-8080", "Dev 8080", "allow", 8080)
    # batch v1 (old snapshot): the host port rule is merged by wsltui
    _, t = check(capsys, case(tmp_path / "v1", mode="mirrored", powershell=ps(rules=[host_allow])), *LAN)
    assert hop(t)["verdict"] == "allow" and "merged host" in hop(t)["explanation"]
    # batch v2: Windows' own merge is the truth; a host rule it did not merge does not count
    _, t = check(capsys, case(tmp_path / "v2", mode="mirrored", powershell=ps(v=2, rules=[host_allow])), *LAN)
    assert t["first_blocker"]["layer"] == "hyperv-firewall"
    merged = hv_rule("host-8080", "allow", 8080, creator="Any", srcType="HostFirewallLocal")
    d = case(tmp_path / "v2m", mode="mirrored", powershell=ps(v=2, rules=[host_allow], hyperv=hv(rules=[merged])))
    code, t = check(capsys, d, *LAN)
    assert code == 0 and "merged host allow rule" in hop(t)["explanation"]


def test_a_merged_host_block_rule_is_fixed_on_the_host(capsys, tmp_path):
    merged = hv_rule("{B10C}", "block", 8080, creator="Any", srcType="HostFirewallLocal")
    host = rule("{B10C}", "TCP Query User{B10C}node.exe", "block", 8080)
    d = case(tmp_path / "local", mode="mirrored", powershell=ps(v=2, rules=[host], hyperv=hv(rules=[merged])))
    _, t = check(capsys, d, *LAN)
    first = t["first_blocker"]
    assert "merged host block rule" in first["explanation"]
    assert first["fixes"][0]["commands"] == ["Disable-NetFirewallRule -Name '{B10C}'"]
    gpo = {**merged, "srcType": "HostFirewallGroupPolicy"}
    d = case(tmp_path / "gpo", mode="mirrored", powershell=ps(v=2, hyperv=hv(rules=[gpo])))
    _, t = check(capsys, d, *LAN)
    fix = t["first_blocker"]["fixes"][0]
    assert "administrator" in fix["title"] and fix["commands"] == []


def test_hyperv_local_rules_off_the_fix_is_not_a_local_hyperv_rule(capsys, tmp_path):
    off = hv(profiles=[profile("Private", allowLocal=0), profile("Public"), profile("Domain")])
    code, t = check(capsys, case(tmp_path, mode="mirrored", powershell=ps(hyperv=off)), *LAN)
    fix = t["first_blocker"]["fixes"][0]
    assert code == 1 and fix["commands"] == [] and "Group Policy" in fix["title"]


# --- 3. Group Policy and enforcement ----------------------------------------------------------------


def gpo_profiles(allow_local_private: int) -> list[dict]:
    return [
        {
            "name": n,
            "enabled": 1,
            "inb": 4,
            "outb": 2,
            "allowInboundRules": 1,
            "allowLocal": allow_local_private if n == "Private" else 2,
            "disabledIf": None,
        }
        for n in ("Domain", "Private", "Public")
    ]


def test_group_policy_ignores_local_rules_and_the_fix_is_for_the_administrator(capsys, tmp_path):
    local = {**PRIVATE_8080, "enforce": "LocalFirewallRulesDisallowed"}
    d = proxied(tmp_path, "gpo", profiles=gpo_profiles(0), rules=[local])
    code, t = check(capsys, d, *LAN)
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "windows-firewall" and "is not in force" in first["explanation"]
    fix = first["fixes"][0]
    assert "administrator" in fix["title"] and fix["commands"] == [] and fix["manual"]
    assert not any("New-NetFirewallRule" in c for f in first["fixes"] for c in f["commands"])
    # a Group Policy rule does apply
    gpo_rule = {**PRIVATE_8080, "id": "gpo-8080", "src": "Local Group Policy", "srcType": 2}
    code, t = check(capsys, proxied(tmp_path, "gpo-ok", profiles=gpo_profiles(0), rules=[local, gpo_rule]), *LAN)
    assert hop(t, "windows-firewall")["verdict"] == "allow" and "gpo-8080" in hop(t, "windows-firewall")["location"]
    # mirrored: the same local rule, merged into the Hyper-V firewall, is ignored there too
    d = case(tmp_path / "hv", mode="mirrored", powershell=ps(profiles=gpo_profiles(0), rules=[PRIVATE_8080]))
    code, t = check(capsys, d, *LAN)
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "hyperv-firewall" and "is not in force" in first["explanation"]
    assert "Group Policy host firewall rule" in first["fixes"][0]["title"] and first["fixes"][0]["commands"] == []


@pytest.mark.parametrize(
    "enforce,verdict",
    [
        ("LocalFirewallRulesNotAllowed", "drop"),
        ("ProfileInactive", "drop"),
        ("Enforced", "allow"),
        ("NotApplicable", "allow"),
        ("OptimizedOut", "assumed"),
    ],
)
def test_enforcement_status(capsys, tmp_path, enforce, verdict):
    d = proxied(tmp_path, "e", rules=[{**PRIVATE_8080, "enforce": enforce}])
    _, t = check(capsys, d, *LAN)
    h = hop(t, "windows-firewall")
    assert h["verdict"] == verdict, h
    if verdict == "assumed":
        assert "OptimizedOut" in h["assumption"]


def test_not_enforced_hyperv_rule_never_allows(capsys, tmp_path):
    rules = [hv_rule("hv-allow", "allow", 8080, enforce="NotEnforced")]
    code, t = check(capsys, case(tmp_path, mode="mirrored", powershell=ps(hyperv=hv(rules=rules))), *LAN)
    assert code == 1 and "is not in force" in t["first_blocker"]["explanation"]


GPO_KEY = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\WindowsFirewall"
LOCAL_RULES = (
    "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\"
    "FirewallRules\n    {D1}    REG_SZ    v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=8080|"
    "LPort=5432|Name=Dev|\n"
)


def registry_only(tmp_path, name: str, gpo_text: str | None, gpo_meta: dict | None = None, reg_keys=None):
    """PowerShell could not read the rules or profiles: the registry decides."""
    doc = ps(errors={"rules": "Access is denied.", "profiles": "Access is denied."}, listeners=POSTGRES)
    del doc["rules"], doc["profiles"]
    if reg_keys is not None:
        doc["regKeys"] = reg_keys
    d = case(tmp_path / name, powershell=doc, portproxy=PORTPROXY.format(target=WSL_IP), fw_policy=LOCAL_RULES)
    (d / "win.fw-policy-gpo.txt").write_text(gpo_text or "")
    if gpo_meta is not None:
        (d / "win.fw-policy-gpo.meta.json").write_text(json.dumps(gpo_meta))
    return d


def test_registry_allow_local_policy_merge_off_per_profile(capsys, tmp_path):
    gpo = (
        f"\n{GPO_KEY}\\PrivateProfile\n    AllowLocalPolicyMerge    REG_DWORD    0x0\n"
        f"\n{GPO_KEY}\\PublicProfile\n    EnableFirewall    REG_DWORD    0x1\n"
    )
    d = registry_only(tmp_path, "gpo", gpo)
    code, t = check(capsys, d, *LAN)
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "windows-firewall" and "Private" in first["rule"]
    assert "administrator" in first["fixes"][0]["title"] and first["fixes"][0]["commands"] == []
    # the local rule still applies on the Public profile (vEthernet, WSL -> Windows)
    code, t = check(capsys, d, *TO_WIN)
    assert hop(t, "windows-firewall")["verdict"] == "allow", hop(t, "windows-firewall")


GERMAN_DENIED = {"exit_code": 1, "stderr": "FEHLER: Zugriff verweigert"}


@pytest.mark.parametrize(
    "reg_keys,verdict,said",
    [
        ({"gpoFirewall": True, "portProxy": True}, "unknown", "probably access denied"),  # the key exists: denied
        ({"gpoFirewall": False, "portProxy": True}, "allow", None),  # the key does not exist: the local rule applies
        (None, "assumed", "taken as"),  # an older capture: "absent" is an assumption, named
    ],
)
def test_reg_exe_exit_1_in_any_language(capsys, tmp_path, reg_keys, verdict, said):
    d = registry_only(tmp_path, "denied", "", GERMAN_DENIED, reg_keys)
    _, t = check(capsys, d, *LAN)
    h = hop(t, "windows-firewall")
    assert h["verdict"] == verdict, h
    if said:
        assert said in (h["reason"] or h["assumption"] or ""), h
    else:
        assert h["assumption"] is None
