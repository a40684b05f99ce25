"""Every Windows blocker, through `wsltui check --from DIR --json` on hand-made snapshot
directories: the NAT demo's Linux side (nat-healthy: a Go server on 0.0.0.0:8080, WSL IP
172.28.165.23, gateway 172.28.160.1) plus win.* records written here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from wsltui.cli import main

DEMO = Path(__file__).resolve().parents[2] / "wsltui/demos/nat-healthy"
WSL_IP = "172.28.165.23"
EXCLUDED_EN = (
    "\nProtocol tcp Port Exclusion Ranges\n\nStart Port    End Port      \n----------    --------      \n"
    "        80          80      \n{rows}\n* - Administered port exclusions.\n\n"
)
PORTPROXY = (
    "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\PortProxy\\v4tov4\\tcp\n"
    "    0.0.0.0/8080    REG_SZ    {target}/8080\n"
)


def ps(**over) -> dict:
    doc = {
        "v": 1,
        "build": "22631.4037",
        "oemCodePage": 437,
        "userProfile": "C:\\Users\\dev",
        "profiles": [
            {"name": n, "enabled": 1, "inb": 4, "outb": 2, "allowInboundRules": 1, "allowLocal": 1, "disabledIf": None}
            for n in ("Domain", "Private", "Public")
        ],
        "rules": [],
        "conn": [
            {"alias": "Wi-Fi", "ifIndex": 12, "category": 1},
            {"alias": "vEthernet (WSL (Hyper-V firewall))", "ifIndex": 40, "category": 0},
        ],
        "hyperv": {
            "available": True,
            "setting": {"enabled": 1, "inb": 4, "outb": 2, "loopback": 1, "hostMerge": 1},
            "profiles": [],
            "rules": [],
        },
        "listeners": [{"addr": "127.0.0.1", "port": 8080, "pid": 5120, "process": "wslrelay"}],
        "iphlpsvc": {"status": 4, "startType": 2},
        "errors": {},
    }
    doc.update(over)
    return doc


def rule(id_, name, action, port, profile=0, program="Any") -> dict:
    return {
        "id": id_,
        "name": name,
        "enabled": 1,
        "dir": 1,
        "action": {"allow": 2, "block": 4}[action],
        "profile": profile,
        "proto": "TCP",
        "lport": str(port),
        "rport": "Any",
        "laddr": "Any",
        "raddr": "Any",
        "program": program,
        "service": "Any",
        "ifAlias": "Any",
        "ifType": "Any",
        "src": "PersistentStore",
        "srcType": 1,
    }


def linux_only(d: Path) -> Path:
    """The demo's real Linux capture and WSL records, without its hand-written Windows side."""
    shutil.copytree(DEMO, d, ignore=shutil.ignore_patterns("win.*"))
    return d


def case(
    tmp_path: Path,
    *,
    powershell: dict | None = None,
    excluded4: str | None = "",
    portproxy: str | None = None,
    mode: str | None = None,
    sockets: str | None = None,
    wslconfig: str | None = None,
    fw_policy: str = "",
) -> Path:
    d = linux_only(tmp_path / "case")
    (d / "win.powershell.txt").write_text(json.dumps(powershell or ps()))
    if excluded4 is None:  # netsh failed
        (d / "win.excluded-tcp4.txt").write_text("")
        (d / "win.excluded-tcp4.meta.json").write_text(json.dumps({"exit_code": None, "error": "timed out after 10 s"}))
    else:
        (d / "win.excluded-tcp4.txt").write_text(EXCLUDED_EN.format(rows=excluded4))
    (d / "win.excluded-tcp6.txt").write_text(EXCLUDED_EN.format(rows=""))
    (d / "win.fw-policy.txt").write_text(fw_policy)
    (d / "win.fw-policy-gpo.txt").write_text("")
    if portproxy is None:
        (d / "win.portproxy.txt").write_text("")
        (d / "win.portproxy.meta.json").write_text(
            json.dumps(
                {"exit_code": 1, "stderr": "ERROR: The system was unable to find the specified registry key or value."}
            )
        )
    else:
        (d / "win.portproxy.txt").write_text(portproxy)
    if mode:
        (d / "wsl.networking-mode.txt").write_text(mode + "\n")
    if sockets is not None:
        (d / "net.sockets.txt").write_text(sockets)
    if wslconfig is not None:
        (d / "wsl.wslconfig.txt").write_text(wslconfig)
        (d / "wsl.wslconfig.meta.json").write_text(
            json.dumps({"argv": ["cat", "/mnt/c/Users/dev/.wslconfig"], "exit_code": 0})
        )
    return d


def check(capsys, d: Path, port: int = 8080, *extra: str) -> tuple[int, dict]:
    code = main(["check", str(port), "--from", str(d), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def layers(trace: dict) -> list[tuple[str, str]]:
    return [(h["layer"], h["verdict"]) for h in trace["hops"]]


def test_healthy_nat_localhost_with_windows_data(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path))
    assert code == 0 and t["reachable"] is True
    assert layers(t)[:3] == [
        ("windows-firewall", "not-applicable"),
        ("excluded-ports", "allow"),
        ("windows-listener", "allow"),
    ]


def test_without_windows_records_the_hops_stay_unknown(capsys, tmp_path):
    code, t = check(capsys, linux_only(tmp_path / "linux"))
    assert code == 3 and "no Windows data" in t["hops"][1]["reason"]


def test_excluded_port_range(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, excluded4="      8080        8080     *", powershell=ps(listeners=[])))
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "excluded-ports" and first["symptom"] == "refused"
    assert "8080-8080" in first["explanation"] and "administered" in first["explanation"]
    fixes = first["fixes"]
    assert "outside the excluded ranges" in fixes[0]["title"]
    assert fixes[1]["commands"] == [
        "netsh int ipv4 delete excludedportrange protocol=tcp startport=8080 numberofports=1"
    ]
    assert fixes[1]["undo"] == [
        "netsh int ipv4 add excludedportrange protocol=tcp startport=8080 numberofports=1 store=persistent"
    ]


def test_block_rule_beats_allow_rule(capsys, tmp_path):
    rules = [
        rule("allow-dev", "Dev server", "allow", 8080),
        rule("{B10C}", "TCP Query User{B10C}C:\\go\\main.exe", "block", 8080),
    ]
    d = case(tmp_path, powershell=ps(rules=rules), portproxy=PORTPROXY.format(target=WSL_IP))
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    first = t["first_blocker"]
    assert (
        code == 1
        and first["layer"] == "windows-firewall"
        and first["verdict"] == "drop"
        and first["symptom"] == "timeout"
    )
    assert (
        first["edit"] == "Windows rule 'TCP Query User{B10C}C:\\go\\main.exe'"
        and "beats any allow" in first["explanation"]
    )
    assert first["fixes"][0]["commands"] == ["Disable-NetFirewallRule -Name '{B10C}'"]
    assert first["fixes"][0]["undo"] == ["Enable-NetFirewallRule -Name '{B10C}'"]


def test_lan_adapter_profile_without_an_allow_rule(capsys, tmp_path):
    rules = [rule("pub", "Dev (Public only)", "allow", 8080, profile=4)]
    d = case(tmp_path, powershell=ps(rules=rules), portproxy=PORTPROXY.format(target=WSL_IP))
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    first = t["first_blocker"]
    assert (
        code == 1
        and first["layer"] == "windows-firewall"
        and first["rule"] == "Private profile: DefaultInboundAction=Block"
    )
    assert "Wi-Fi is on a Private network" in first["location"]
    assert first["fixes"][0]["commands"] == [
        "New-NetFirewallRule -Name 'wsltui-in-tcp-8080' -DisplayName 'wsltui: allow TCP 8080' "
        "-Direction Inbound -Action Allow -Protocol TCP -LocalPort 8080 -Profile Private"
    ]
    assert first["fixes"][0]["undo"] == ["Remove-NetFirewallRule -Name 'wsltui-in-tcp-8080'"]
    # with the rule on the right profile the path is open down to Linux
    rules.append(rule("priv", "Dev (Private)", "allow", 8080, profile=2))
    shutil.rmtree(tmp_path / "case")
    code, t = check(
        capsys,
        case(tmp_path, powershell=ps(rules=rules), portproxy=PORTPROXY.format(target=WSL_IP)),
        8080,
        "--scenario",
        "lan-to-host",
    )
    assert code == 0, t["hops"]
    assert ("portproxy", "allow") in layers(t) and t["hops"][-1]["layer"] == "socket"


def test_hyperv_default_inbound_block_in_mirrored_mode(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, mode="mirrored"), 8080, "--scenario", "lan-to-host")
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "hyperv-firewall" and first["rule"] == "DefaultInboundAction=Block"
    assert first["symptom"] == "timeout" and first["owner"] == "hyperv-firewall"
    assert first["fixes"][0]["commands"] == [
        "New-NetFirewallHyperVRule -Name 'wsltui-hv-tcp-8080' -DisplayName 'wsltui: allow TCP 8080' -Direction Inbound "
        "-VMCreatorId '{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}' -Protocol TCP -LocalPorts 8080 -Action Allow"
    ]
    assert first["fixes"][0]["undo"] == ["Remove-NetFirewallHyperVRule -Name 'wsltui-hv-tcp-8080'"]
    # a host port rule is merged into the Hyper-V firewall; a program rule is not
    prog = ps(rules=[rule("p", "main.exe", "allow", 8080, program="C:\\go\\main.exe")])
    shutil.rmtree(tmp_path / "case")
    _, t = check(capsys, case(tmp_path, mode="mirrored", powershell=prog), 8080, "--scenario", "lan-to-host")
    assert t["first_blocker"]["layer"] == "hyperv-firewall"
    shutil.rmtree(tmp_path / "case")
    code, t = check(
        capsys,
        case(tmp_path, mode="mirrored", powershell=ps(rules=[rule("p", "port", "allow", 8080)])),
        8080,
        "--scenario",
        "lan-to-host",
    )
    assert ("hyperv-firewall", "allow") in layers(t)


def test_portproxy_to_a_stale_address(capsys, tmp_path):
    rules = [rule("priv", "Dev", "allow", 8080, profile=2)]
    d = case(tmp_path, powershell=ps(rules=rules), portproxy=PORTPROXY.format(target="172.17.17.232"))
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    first = t["first_blocker"]
    assert (
        code == 1
        and first["layer"] == "portproxy"
        and first["symptom"] == "timeout"
        and "stale" in first["explanation"]
    )
    assert first["fixes"][0]["commands"] == [
        "netsh interface portproxy delete v4tov4 listenport=8080 listenaddress=0.0.0.0",
        f"netsh interface portproxy add v4tov4 listenport=8080 listenaddress=0.0.0.0 connectport=8080 connectaddress={WSL_IP}",
    ]


def test_portproxy_needs_ip_helper(capsys, tmp_path):
    rules = [rule("priv", "Dev", "allow", 8080, profile=2)]
    d = case(
        tmp_path,
        powershell=ps(rules=rules, iphlpsvc={"status": 1, "startType": 4}),
        portproxy=PORTPROXY.format(target=WSL_IP),
    )
    _, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    assert t["first_blocker"]["layer"] == "portproxy" and "iphlpsvc" in t["first_blocker"]["explanation"]
    assert t["first_blocker"]["fixes"][0]["commands"] == [
        "Set-Service iphlpsvc -StartupType Automatic",
        "Start-Service iphlpsvc",
    ]


def test_port_owned_by_another_windows_process(capsys, tmp_path):
    node = {"addr": "127.0.0.1", "port": 8080, "pid": 7788, "process": "node"}
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=[node])))
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "windows-listener" and "node (pid 7788)" in first["explanation"]
    assert first["symptom"] == "wrong program" and first["fixes"][0]["commands"] == ["Stop-Process -Id 7788"]
    # The connection ends at node: Linux is never reached now. What follows is traced as if node were
    # stopped (every hop says which fix it assumes): the relay, which did not bind, is the next blocker,
    # and past it (restarted) the Linux side.
    ends = next(i for i, h in enumerate(t["hops"]) if h["layer"] == "windows-listener")
    after = t["hops"][ends + 1 :]
    assert t["hops"][ends]["assumes_fix"] is None and after and all(h["assumes_fix"] for h in after)
    assert after[0]["layer"] == "localhost-relay" and after[0]["assumes_fix"] == first["fixes"][0]["title"]
    assert [b["layer"] for b in t["blockers"]] == ["windows-listener", "localhost-relay"]
    assert after[-1]["layer"] == "socket" and after[-1]["assumes_fix"] == t["blockers"][1]["fixes"][0]["title"]
    # a service host is never killed: the fix finds the service behind it
    svchost = {**node, "process": "svchost", "pid": 1132}
    _, t = check(capsys, case(tmp_path / "svc", powershell=ps(listeners=[svchost])))
    assert t["first_blocker"]["fixes"][0]["commands"] == ["Get-CimInstance Win32_Service -Filter 'ProcessId=1132'"]


def test_the_relays_bind_beats_a_wildcard_listener(capsys, tmp_path):
    relay = {"addr": "127.0.0.1", "port": 8080, "pid": 5120, "process": "wslrelay"}
    wildcard = {"addr": "0.0.0.0", "port": 8080, "pid": 7788, "process": "node"}
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=[wildcard, relay])))
    hop = next(h for h in t["hops"] if h["layer"] == "windows-listener")
    assert code == 0 and hop["verdict"] == "allow" and "beats a wildcard bind" in hop["explanation"]
    # both on 127.0.0.1:8080: in the reported reproductions the Windows program answers (microsoft/WSL#5732)
    same = {**wildcard, "addr": "127.0.0.1"}
    code, t = check(capsys, case(tmp_path / "same", powershell=ps(listeners=[same, relay])))
    hop = next(h for h in t["hops"] if h["layer"] == "windows-listener")
    assert (
        code == 1
        and hop["verdict"] == "no-listener"
        and hop["symptom"] == "wrong program"
        and "#5732" in hop["explanation"]
    )


def test_relay_missing_from_the_windows_listeners(capsys, tmp_path):
    # Linux's 0.0.0.0:8080 qualifies, but Windows lists no wslrelay on 127.0.0.1:8080
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=[])))
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "localhost-relay" and first["symptom"] == "refused"
    assert (
        "does not listen on Windows 127.0.0.1:8080" in first["explanation"]
        and "wsl.exe --shutdown" in first["fixes"][0]["title"]
    )


DUAL_STACK = 'tcp LISTEN 0 16 *:8080 *:* users:(("main",pid=8141,fd=3)) ino:18357 sk:100c cgroup:/ v6only:0 <->\n'


def test_dual_stack_listener_at_127_0_0_1_in_nat(capsys, tmp_path):
    relay6 = [
        {"addr": "::1", "port": 8080, "pid": 5120, "process": "wslrelay"}
    ]  # Windows lists the relay on [::1] only
    code, t = check(capsys, case(tmp_path, sockets=DUAL_STACK, powershell=ps(listeners=relay6)))
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "localhost-relay" and first["symptom"] == "refused"
    assert "[::1]" in first["fixes"][0]["title"]
    code, t = check(
        capsys,
        case(
            tmp_path / "v6",
            sockets=DUAL_STACK,
            powershell=ps(listeners=[{"addr": "::1", "port": 8080, "pid": 5120, "process": "wslrelay"}]),
        ),
        8080,
        "--scenario",
        "windows-localhost-v6",
    )
    assert code == 0, t["hops"]


def test_udp_to_localhost_in_nat(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path), 5353, "--proto", "udp")
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "localhost-relay" and "TCP only" in first["explanation"]
    assert ("excluded-ports", "not-applicable") in layers(t) and ("windows-listener", "not-applicable") in layers(t)


def test_wslconfig_asks_for_mirrored_but_nat_is_effective(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, wslconfig="[wsl2]\nnetworkingMode=mirrored\n"))
    assert t["mode"] == "nat" and code == 0
    assert any(
        "networkingMode=mirrored" in n and "effective mode" in n and "falls back to NAT" in n for n in t["notes"]
    )
    assert t["hops"][0]["layer"] == "windows-firewall" and ("localhost-relay", "allow") in layers(t)


def test_wsl_to_windows_on_the_public_vethernet(capsys, tmp_path):
    listeners = [{"addr": "0.0.0.0", "port": 5432, "pid": 99, "process": "postgres"}]
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=listeners)), 5432, "--scenario", "wsl-to-windows")
    first = t["first_blocker"]
    assert (
        code == 1
        and first["layer"] == "windows-firewall"
        and first["rule"] == "Public profile: DefaultInboundAction=Block"
    )
    assert "-InterfaceAlias 'vEthernet (WSL (Hyper-V firewall))'" in first["fixes"][0]["commands"][0]


def test_denied_powershell_is_unknown_with_reason(capsys, tmp_path):
    doc = ps(errors={"listeners": "Access is denied."})
    del doc["listeners"]
    code, t = check(capsys, case(tmp_path, powershell=doc))
    hop = next(h for h in t["hops"] if h["layer"] == "windows-listener")
    assert code == 3 and hop["verdict"] == "unknown" and "Access is denied." in hop["reason"]


# --- the gaps closed after the demo review -------------------------------------------------------


def test_udp_from_the_lan_in_nat_stops_at_portproxy_first(capsys, tmp_path):
    # portproxy forwards TCP only: it decides before any firewall rule could matter, with or without Windows data
    for d in (case(tmp_path), linux_only(tmp_path / "linux")):
        code, t = check(capsys, d, 5353, "--proto", "udp", "--scenario", "lan-to-host")
        assert code == 1 and layers(t) == [("portproxy", "no-listener")], layers(t)
        assert t["first_blocker"]["symptom"] == "timeout" and "TCP only" in t["first_blocker"]["explanation"]


def test_an_excluded_port_takes_the_relay_off_the_path(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, excluded4="      8080        8080     *", powershell=ps(listeners=[])))
    relay = next(h for h in t["hops"] if h["layer"] == "localhost-relay")
    assert code == 1 and relay["verdict"] == "not-applicable" and "WSAEACCES" in relay["explanation"]
    # The VM is never reached now; past the relay the path is traced as if the range's fix were done.
    after = t["hops"][t["hops"].index(relay) + 1 :]
    fix = t["first_blocker"]["fixes"][1]["title"]
    assert relay["assumes_fix"] is None and after and all(h["assumes_fix"] == fix for h in after)
    assert [b["layer"] for b in t["blockers"]] == ["excluded-ports"] and t["symptom"] == "refused"
    # ranges and listeners not known: the relay is only assumed to bind, and the trace cannot decide
    denied = ps(errors={"listeners": "Access is denied."})
    del denied["listeners"]
    code, t = check(capsys, case(tmp_path / "unknown", excluded4=None, powershell=denied))
    relay = next(h for h in t["hops"] if h["layer"] == "localhost-relay")
    assert code == 3 and relay["verdict"] == "assumed" and "excluded port ranges" in relay["assumption"]
    # ranges not known, but Windows lists the relay: it did bind
    code, t = check(capsys, case(tmp_path / "listed", excluded4=None))
    assert ("localhost-relay", "allow") in layers(t)
    assert "timed out" in relay["assumption"] and ("socket", "allow") in layers(t)


def test_mirrored_listener_on_an_excluded_port_is_unknown(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, mode="mirrored", excluded4="      8080        8080     *"))
    steer = next(h for h in t["hops"] if h["layer"] == "localhost-relay")
    assert code == 3 and steer["verdict"] == "unknown" and "undocumented" in steer["reason"]
    assert "Test-NetConnection -ComputerName 127.0.0.1 -Port 8080" in steer["reason"]


def test_localhost_answered_by_portproxy_follows_its_entry(capsys, tmp_path):
    svchost = [{"addr": "0.0.0.0", "port": 8080, "pid": 3712, "process": "svchost"}]
    d = case(tmp_path, powershell=ps(listeners=svchost), portproxy=PORTPROXY.format(target=WSL_IP))
    code, t = check(capsys, d)
    assert code == 0, layers(t)
    assert layers(t)[2:4] == [("windows-listener", "allow"), ("portproxy", "allow")]
    assert ("localhost-relay", "allow") not in layers(t) and t["hops"][-1]["layer"] == "socket"
    # portproxy to 127.0.0.1 where it listens itself: a loop, never WSL
    loop = PORTPROXY.format(target="127.0.0.1")
    code, t = check(capsys, case(tmp_path / "loop", powershell=ps(listeners=svchost), portproxy=loop))
    assert code == 3 and layers(t)[-1] == ("portproxy", "unknown") and "loop" in t["hops"][-1]["explanation"]


def test_wsl_to_windows_reaches_portproxy_not_the_service(capsys, tmp_path):
    svchost = [{"addr": "0.0.0.0", "port": 5432, "pid": 3712, "process": "svchost"}]
    entry = PORTPROXY.replace("8080", "5432").format(target=WSL_IP)
    rules = [rule("pub", "5432 on Public", "allow", 5432, profile=4)]
    code, t = check(
        capsys,
        case(tmp_path, powershell=ps(rules=rules, listeners=svchost), portproxy=entry),
        5432,
        "--scenario",
        "wsl-to-windows",
    )
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "windows-listener" and first["symptom"] == "wrong program"
    assert "portproxy" in first["explanation"] and first["fixes"][0]["commands"] == [
        "netsh interface portproxy delete v4tov4 listenport=5432 listenaddress=0.0.0.0"
    ]
    # a svchost listener is portproxy's only if a portproxy entry says so: not knowing the entries is unknown
    d = case(tmp_path / "unknown", powershell=ps(rules=rules, listeners=svchost))
    (d / "win.portproxy.meta.json").write_text(json.dumps({"exit_code": None, "error": "timed out after 10 s"}))
    code, t = check(capsys, d, 5432, "--scenario", "wsl-to-windows")
    assert code == 3 and layers(t)[-1] == ("windows-listener", "unknown") and "portproxy" in t["hops"][-1]["reason"]
    # any other program is the service
    postgres = [{**svchost[0], "process": "postgres"}]
    code, t = check(
        capsys,
        case(tmp_path / "pg", powershell=ps(rules=rules, listeners=postgres), portproxy=entry),
        5432,
        "--scenario",
        "wsl-to-windows",
    )
    assert code == 0 and layers(t)[-1] == ("windows-listener", "allow")


def addr_rule(raddr: str, port: int = 5432, profile: int = 4) -> dict:
    return {**rule("kw", f"remote {raddr}", "allow", port, profile=profile), "raddr": raddr}


@pytest.mark.parametrize(
    "raddr,code,verdict,said",
    [
        ("LocalSubnet", 0, "allow", ""),  # WSL's 172.28.165.23 is on vEthernet (WSL)'s subnet 172.28.160.0/20
        ("LocalSubnet4", 0, "allow", ""),
        ("LocalSubnet6", 1, "drop", ""),  # an IPv6-only keyword never covers an IPv4 address
        ("10.0.0.0/8,LocalSubnet", 0, "allow", ""),
        ("Internet", 3, "unknown", "remote address keyword Internet"),
        ("Intranet", 3, "unknown", "remote address keyword Intranet"),
        ("DefaultGateway", 3, "unknown", "DefaultGateway servers of vEthernet (WSL (Hyper-V firewall)) are not known"),
        ("DNS", 3, "unknown", "Get-NetIPConfiguration -InterfaceAlias 'vEthernet (WSL (Hyper-V firewall))' -Detailed"),
    ],
)
def test_address_keywords_on_the_wsl_adapter(capsys, tmp_path, raddr, code, verdict, said):
    listeners = [{"addr": "0.0.0.0", "port": 5432, "pid": 99, "process": "postgres"}]
    got, t = check(
        capsys,
        case(tmp_path, powershell=ps(rules=[addr_rule(raddr)], listeners=listeners)),
        5432,
        "--scenario",
        "wsl-to-windows",
    )
    fw = next(h for h in t["hops"] if h["layer"] == "windows-firewall")
    assert (got, fw["verdict"]) == (code, verdict) and said in (fw["reason"] or ""), fw


def test_local_subnet_on_the_lan(capsys, tmp_path):
    # NAT: Windows' LAN prefixes are not in the facts
    d = case(
        tmp_path,
        powershell=ps(rules=[addr_rule("LocalSubnet", 8080, profile=2)]),
        portproxy=PORTPROXY.format(target=WSL_IP),
    )
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    assert code == 3 and "LocalSubnet: the on-link prefixes of Wi-Fi are not known" in t["hops"][0]["reason"]
    # mirrored: Linux's interfaces carry the Windows addresses, so the merged host rule is decided
    d = case(tmp_path / "m", mode="mirrored", powershell=ps(rules=[addr_rule("LocalSubnet", 8080, profile=0)]))
    _, t = check(capsys, d, 8080, "--scenario", "lan-to-host", "--src", "172.28.170.9")
    assert ("hyperv-firewall", "allow") in layers(t)
    _, t = check(capsys, d, 8080, "--scenario", "lan-to-host", "--src", "192.168.7.9")
    assert (
        t["first_blocker"]["layer"] == "hyperv-firewall" and t["first_blocker"]["rule"] == "DefaultInboundAction=Block"
    )


def test_keywords_in_the_real_rules(tmp_path):
    """The keywords the fixtures hold, through the matcher: the registry's RA42=IntErnet and
    ActiveStore's PlayToDevice are named, never guessed."""
    from wsltui.facts import windows as w
    from wsltui.simulation import windows as winsim

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "windows"
    gpo = w.parse_fw_policy(
        (fixtures / "reg_query_HKLM_Software_Policies_Microsoft_WindowsFirewall_FirewallRules_excerpt.txt").read_text(),
        "gpo",
    )
    ps64 = next(r for r in gpo.rules if r.name == "ps64")
    out = winsim.WinPacket(
        "out",
        "tcp",
        None,
        "93.184.216.34",
        remote_port=443,
        program=r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
    )
    assert "remote address keyword Internet" in winsim.rule_matches(ps64, out, "Public")
    rules, _ = w.parse_ps_rules(
        json.loads(
            (
                fixtures / "Get-NetFirewallRule_ActiveStore_TracePolicyStore_Select_ConvertTo-Json_ws2022.json"
            ).read_text()
        ),
        json.loads(
            (fixtures / "Get-NetFirewall-X-Filter_ActiveStore_bulk_join_ConvertTo-Json_ws2022.json").read_text()
        ),
    )
    playto = next(r for r in rules if r.remote_addresses == ["PlayToDevice"])
    cast = winsim.WinPacket(
        "out",
        "tcp",
        None,
        "192.168.1.40",
        remote_port=2177,
        program=r"C:\Windows\system32\svchost.exe",
        service="Qwave",
    )
    assert "remote address keyword PlayToDevice" in winsim.rule_matches(playto, cast, "Private")
    assert winsim.rule_matches(playto, cast, "Domain") is False  # still decided by what is known


GUID_WIFI = "{6F3C1A2B-9D4E-4F60-8A7B-1C2D3E4F5A6B}"
GUID_OTHER = "{0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0}"
REG_RULES = "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\FirewallRules\n"


def registry_case(tmp_path: Path, name: str, rule_text: str = "", profile_values: str = "", adapters=None) -> Path:
    """PowerShell could not read the rules or profiles (denied): the registry decides, and its
    interfaces are GUIDs that only Get-NetAdapter maps to names."""
    doc = ps(errors={"rules": "Access is denied.", "profiles": "Access is denied."}, portproxy=None)
    for key in ("rules", "profiles", "portproxy"):
        doc.pop(key, None)
    if adapters is None:
        doc["errors"]["adapters"] = "Access is denied."
    else:
        doc["adapters"] = adapters
    text = (REG_RULES + f"    {{D1}}    REG_SZ    {rule_text}\n" if rule_text else "") + profile_values
    return case(tmp_path / name, powershell=doc, portproxy=PORTPROXY.format(target=WSL_IP), fw_policy=text)


def test_registry_interface_guids_are_mapped_to_adapters(capsys, tmp_path):
    wifi = [
        {"alias": "Wi-Fi", "ifIndex": 12, "guid": GUID_WIFI.lower(), "type": 71},
        {"alias": "Ethernet 2", "ifIndex": 7, "guid": GUID_OTHER, "type": 6},
    ]
    allow = "v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=8080|IF={g}|Name=Dev on one adapter|"
    lan = ("8080", "--scenario", "lan-to-host")
    code, t = check(capsys, registry_case(tmp_path, "wifi", allow.format(g=GUID_WIFI), adapters=wifi), *lan)
    assert code == 0 and t["hops"][0]["verdict"] == "allow" and "Dev on one adapter" in t["hops"][0]["explanation"]
    code, t = check(capsys, registry_case(tmp_path, "other", allow.format(g=GUID_OTHER), adapters=wifi), *lan)
    assert code == 1 and t["first_blocker"]["rule"] == "Private profile: DefaultInboundAction=Block"
    code, t = check(capsys, registry_case(tmp_path, "unmapped", allow.format(g=GUID_WIFI)), *lan)
    assert code == 3 and GUID_WIFI in t["hops"][0]["reason"] and "Get-NetAdapter" in t["hops"][0]["reason"]
    # IFType against the adapter's ifType (71: IEEE 802.11)
    by_type = "v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=8080|IFType={t}|Name=Dev by type|"
    code, _ = check(capsys, registry_case(tmp_path, "wireless", by_type.format(t="Wireless"), adapters=wifi), *lan)
    assert code == 0
    code, _ = check(capsys, registry_case(tmp_path, "lan", by_type.format(t="Lan"), adapters=wifi), *lan)
    assert code == 1
    # a profile's DisabledInterfaces (GUIDs in the registry) turns the firewall off on that adapter
    off = (
        "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\StandardProfile\n"
        f"    DisabledInterfaces    REG_SZ    {GUID_WIFI}\n"
    )
    code, t = check(capsys, registry_case(tmp_path, "off", profile_values=off, adapters=wifi), *lan)
    assert code == 0 and "excluded from the Private profile" in t["hops"][0]["explanation"]
    code, t = check(capsys, registry_case(tmp_path, "off-unmapped", profile_values=off), *lan)
    assert code == 3 and t["hops"][0]["verdict"] == "unknown" and GUID_WIFI in t["hops"][0]["reason"]


DUAL_STACK_8080 = 'tcp LISTEN 0 16 *:8080 *:* users:(("main",pid=8141,fd=3)) ino:18357 sk:100c cgroup:/ v6only:0 <->\n'


def test_portproxy_kinds(capsys, tmp_path):
    key = "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\PortProxy\\{kind}\\tcp\n    {listen}/8080    REG_SZ    {target}/8080\n"
    relay6 = [{"addr": "::1", "port": 8080, "pid": 5120, "process": "wslrelay"}]
    private = [rule("priv", "Dev", "allow", 8080, profile=2)]
    # v4tov6 to ::1: the way to reach a dual-stack Linux listener, whose relay is on [::1] only
    d = case(
        tmp_path,
        sockets=DUAL_STACK_8080,
        powershell=ps(rules=private, listeners=relay6),
        portproxy=key.format(kind="v4tov6", listen="0.0.0.0", target="::1"),
    )
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    assert (
        code == 0
        and "v4tov6 0.0.0.0:8080 -> [::1]:8080" in next(h for h in t["hops"] if h["layer"] == "portproxy")["rule"]
    )
    # the same with v4tov4 to 127.0.0.1: the dual-stack listener has no IPv4 relay
    d = case(
        tmp_path / "v4",
        sockets=DUAL_STACK_8080,
        powershell=ps(rules=private, listeners=relay6),
        portproxy=key.format(kind="v4tov4", listen="0.0.0.0", target="127.0.0.1"),
    )
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    assert code == 1 and t["first_blocker"]["layer"] in ("windows-listener", "localhost-relay"), layers(t)
    # an IPv6 LAN client needs a v6to* entry; v6tov4 to the WSL IP carries it
    v6 = key.format(kind="v6tov4", listen="*", target=WSL_IP)
    code, t = check(
        capsys,
        case(tmp_path / "v6", powershell=ps(rules=private), portproxy=v6),
        8080,
        "--scenario",
        "lan-to-host",
        "--src",
        "2001:db8::5",
    )
    assert code == 0, layers(t)
    code, t = check(
        capsys,
        case(tmp_path / "v6-none", powershell=ps(rules=private), portproxy=PORTPROXY.format(target=WSL_IP)),
        8080,
        "--scenario",
        "lan-to-host",
        "--src",
        "2001:db8::5",
    )
    assert (
        code == 1
        and t["first_blocker"]["layer"] == "portproxy"
        and t["first_blocker"]["fixes"][0]["commands"][0].startswith(
            "netsh interface portproxy add v6tov4 listenport=8080 listenaddress=::"
        )
    )
    # v6tov6 cannot reach WSL in NAT mode (IPv4 only)
    code, t = check(
        capsys,
        case(
            tmp_path / "v6v6",
            powershell=ps(rules=private),
            portproxy=key.format(kind="v6tov6", listen="*", target="fd00::23"),
        ),
        8080,
        "--scenario",
        "lan-to-host",
        "--src",
        "2001:db8::5",
    )
    assert (
        code == 1
        and t["first_blocker"]["layer"] == "portproxy"
        and "no IPv6 address" in t["first_blocker"]["explanation"]
    )
    # an entry on 127.0.0.1 only never serves the LAN; on a specific address it depends on --dst
    code, t = check(
        capsys,
        case(
            tmp_path / "lo",
            powershell=ps(rules=private),
            portproxy=key.format(kind="v4tov4", listen="127.0.0.1", target=WSL_IP),
        ),
        8080,
        "--scenario",
        "lan-to-host",
    )
    assert code == 1 and t["first_blocker"]["layer"] == "portproxy"
    specific = case(
        tmp_path / "ip",
        powershell=ps(rules=private),
        portproxy=key.format(kind="v4tov4", listen="192.168.1.23", target=WSL_IP),
    )
    code, t = check(capsys, specific, 8080, "--scenario", "lan-to-host")
    assert code == 3 and "--dst" in next(h for h in t["hops"] if h["layer"] == "portproxy")["reason"]
    code, t = check(capsys, specific, 8080, "--scenario", "lan-to-host", "--dst", "192.168.1.23")
    assert code == 0, layers(t)


def test_every_symptom_is_in_the_vocabulary(capsys):
    from wsltui import demos
    from wsltui.simulation.simulate import SCENARIOS
    from wsltui.simulation.trace import SYMPTOMS

    seen = set()
    for name in demos.names():
        for scenario in (s for s in SCENARIOS if s != "custom"):
            for port in (8080, 50000, 5432):
                for proto in ("tcp", "udp"):
                    _, t = check(
                        capsys, Path(demos.__file__).parent / name, port, "--scenario", scenario, "--proto", proto
                    )
                    got = {
                        t["symptom"],
                        *(h["symptom"] for h in t["hops"]),
                        *(a for h in t["hops"] for a in h["symptom_alternatives"]),
                    }
                    seen |= got - {None}
    assert seen <= set(SYMPTOMS), seen - set(SYMPTOMS)
    assert {"wrong program", "timeout", "refused", "connects"} <= seen


@pytest.mark.parametrize(
    "path,code,verdict",
    [
        (r"C:\Program Files\PostgreSQL\16\bin\postgres.exe", 0, "allow"),
        (r"D:\portable\postgres.exe", 1, "drop"),  # a program rule names one path: a copy elsewhere does not match
        (None, 3, "unknown"),  # only the name: Windows did not tell the path (a protected process)
    ],
)
def test_program_rules_match_the_listeners_path(capsys, tmp_path, path, code, verdict):
    prog = rule(
        "pg", "PostgreSQL", "allow", 5432, profile=4, program=r"C:\Program Files\PostgreSQL\16\bin\postgres.exe"
    )
    listeners = [{"addr": "0.0.0.0", "port": 5432, "pid": 99, "process": "postgres", "path": path}]
    got, t = check(
        capsys, case(tmp_path, powershell=ps(rules=[prog], listeners=listeners)), 5432, "--scenario", "wsl-to-windows"
    )
    fw = next(h for h in t["hops"] if h["layer"] == "windows-firewall")
    assert (got, fw["verdict"]) == (code, verdict), fw
    if path is None:
        assert "its path is not known" in fw["reason"]
