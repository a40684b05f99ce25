"""Every Windows blocker, through `wsltui check --from DIR --json` on hand-made snapshot
directories: the NAT demo's Linux side (nat-healthy: a Go server on 0.0.0.0:8080, WSL IP
172.28.165.23, gateway 172.28.160.1) plus win.* records written here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from wsltui.cli import main

DEMO = Path(__file__).resolve().parent.parent / "wsltui/demos/nat-healthy"
WSL_IP = "172.28.165.23"
EXCLUDED_EN = ("\nProtocol tcp Port Exclusion Ranges\n\nStart Port    End Port      \n----------    --------      \n"
               "        80          80      \n{rows}\n* - Administered port exclusions.\n\n")
PORTPROXY = ("\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\PortProxy\\v4tov4\\tcp\n"
             "    0.0.0.0/8080    REG_SZ    {target}/8080\n")


def ps(**over) -> dict:
    doc = {"v": 1, "build": "22631.4037", "oemCodePage": 437, "userProfile": "C:\\Users\\dev",
           "profiles": [{"name": n, "enabled": 1, "inb": 4, "outb": 2, "allowInboundRules": 1, "allowLocal": 1,
                         "disabledIf": None} for n in ("Domain", "Private", "Public")],
           "rules": [],
           "conn": [{"alias": "Wi-Fi", "ifIndex": 12, "category": 1},
                    {"alias": "vEthernet (WSL (Hyper-V firewall))", "ifIndex": 40, "category": 0}],
           "hyperv": {"available": True, "setting": {"enabled": 1, "inb": 4, "outb": 2, "loopback": 1, "hostMerge": 1},
                      "profiles": [], "rules": []},
           "listeners": [{"addr": "127.0.0.1", "port": 8080, "pid": 5120, "process": "wslrelay"}],
           "iphlpsvc": {"status": 4, "startType": 2}, "errors": {}}
    doc.update(over)
    return doc


def rule(id_, name, action, port, profile=0, program="Any") -> dict:
    return {"id": id_, "name": name, "enabled": 1, "dir": 1, "action": {"allow": 2, "block": 4}[action], "profile": profile,
            "proto": "TCP", "lport": str(port), "rport": "Any", "laddr": "Any", "raddr": "Any", "program": program,
            "service": "Any", "ifAlias": "Any", "ifType": "Any", "src": "PersistentStore", "srcType": 1}


def linux_only(d: Path) -> Path:
    """The demo's real Linux capture and WSL records, without its hand-written Windows side."""
    shutil.copytree(DEMO, d, ignore=shutil.ignore_patterns("win.*"))
    return d


def case(tmp_path: Path, *, powershell: dict | None = None, excluded4: str = "", portproxy: str | None = None,
         mode: str | None = None, sockets: str | None = None, wslconfig: str | None = None) -> Path:
    d = linux_only(tmp_path / "case")
    (d / "win.powershell.txt").write_text(json.dumps(powershell or ps()))
    (d / "win.excluded-tcp4.txt").write_text(EXCLUDED_EN.format(rows=excluded4))
    (d / "win.excluded-tcp6.txt").write_text(EXCLUDED_EN.format(rows=""))
    (d / "win.fw-policy.txt").write_text("")
    (d / "win.fw-policy-gpo.txt").write_text("")
    if portproxy is None:
        (d / "win.portproxy.txt").write_text("")
        (d / "win.portproxy.meta.json").write_text(json.dumps({"exit_code": 1, "stderr": "ERROR: The system was unable to find the specified registry key or value."}))
    else:
        (d / "win.portproxy.txt").write_text(portproxy)
    if mode:
        (d / "wsl.networking-mode.txt").write_text(mode + "\n")
    if sockets is not None:
        (d / "net.sockets.txt").write_text(sockets)
    if wslconfig is not None:
        (d / "wsl.wslconfig.txt").write_text(wslconfig)
        (d / "wsl.wslconfig.meta.json").write_text(json.dumps({"argv": ["cat", "/mnt/c/Users/dev/.wslconfig"], "exit_code": 0}))
    return d


def check(capsys, d: Path, port: int = 8080, *extra: str) -> tuple[int, dict]:
    code = main(["check", str(port), "--from", str(d), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def layers(trace: dict) -> list[tuple[str, str]]:
    return [(h["layer"], h["verdict"]) for h in trace["hops"]]


def test_healthy_nat_localhost_with_windows_data(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path))
    assert code == 0 and t["reachable"] is True
    assert layers(t)[:3] == [("windows-firewall", "not-applicable"), ("excluded-ports", "allow"), ("windows-listener", "allow")]


def test_without_windows_records_the_hops_stay_unknown(capsys, tmp_path):
    code, t = check(capsys, linux_only(tmp_path / "linux"))
    assert code == 3 and "no Windows data" in t["hops"][1]["reason"]


def test_excluded_port_range(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, excluded4="      8080        8080     *"))
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "excluded-ports" and first["symptom"] == "refused"
    assert "8080-8080" in first["explanation"] and "administered" in first["explanation"]
    fixes = first["fixes"]
    assert "outside the excluded ranges" in fixes[0]["title"]
    assert fixes[1]["commands"] == ["netsh int ipv4 delete excludedportrange protocol=tcp startport=8080 numberofports=1"]
    assert fixes[1]["undo"] == ["netsh int ipv4 add excludedportrange protocol=tcp startport=8080 numberofports=1 store=persistent"]


def test_block_rule_beats_allow_rule(capsys, tmp_path):
    rules = [rule("allow-dev", "Dev server", "allow", 8080), rule("{B10C}", "TCP Query User{B10C}C:\\go\\main.exe", "block", 8080)]
    d = case(tmp_path, powershell=ps(rules=rules), portproxy=PORTPROXY.format(target=WSL_IP))
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "windows-firewall" and first["verdict"] == "drop" and first["symptom"] == "timeout"
    assert first["edit"] == "Windows rule 'TCP Query User{B10C}C:\\go\\main.exe'" and "beats any allow" in first["explanation"]
    assert first["fixes"][0]["commands"] == ["Disable-NetFirewallRule -Name '{B10C}'"]
    assert first["fixes"][0]["undo"] == ["Enable-NetFirewallRule -Name '{B10C}'"]


def test_lan_adapter_profile_without_an_allow_rule(capsys, tmp_path):
    rules = [rule("pub", "Dev (Public only)", "allow", 8080, profile=4)]
    d = case(tmp_path, powershell=ps(rules=rules), portproxy=PORTPROXY.format(target=WSL_IP))
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "windows-firewall" and first["rule"] == "Private profile: DefaultInboundAction=Block"
    assert "Wi-Fi is on a Private network" in first["location"]
    assert first["fixes"][0]["commands"] == ["New-NetFirewallRule -Name 'wsltui-in-tcp-8080' -DisplayName 'wsltui: allow TCP 8080' "
                                             "-Direction Inbound -Action Allow -Protocol TCP -LocalPort 8080 -Profile Private"]
    assert first["fixes"][0]["undo"] == ["Remove-NetFirewallRule -Name 'wsltui-in-tcp-8080'"]
    # with the rule on the right profile the path is open down to Linux
    rules.append(rule("priv", "Dev (Private)", "allow", 8080, profile=2))
    shutil.rmtree(tmp_path / "case")
    code, t = check(capsys, case(tmp_path, powershell=ps(rules=rules), portproxy=PORTPROXY.format(target=WSL_IP)), 8080,
                    "--scenario", "lan-to-host")
    assert code == 0, t["hops"]
    assert ("portproxy", "allow") in layers(t) and t["hops"][-1]["layer"] == "socket"


def test_hyperv_default_inbound_block_in_mirrored_mode(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, mode="mirrored"), 8080, "--scenario", "lan-to-host")
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "hyperv-firewall" and first["rule"] == "DefaultInboundAction=Block"
    assert first["symptom"] == "timeout" and first["owner"] == "hyperv-firewall"
    assert first["fixes"][0]["commands"] == [
        "New-NetFirewallHyperVRule -Name 'wsltui-hv-tcp-8080' -DisplayName 'wsltui: allow TCP 8080' -Direction Inbound "
        "-VMCreatorId '{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}' -Protocol TCP -LocalPorts 8080 -Action Allow"]
    assert first["fixes"][0]["undo"] == ["Remove-NetFirewallHyperVRule -Name 'wsltui-hv-tcp-8080'"]
    # a host port rule is merged into the Hyper-V firewall; a program rule is not
    prog = ps(rules=[rule("p", "main.exe", "allow", 8080, program="C:\\go\\main.exe")])
    shutil.rmtree(tmp_path / "case")
    _, t = check(capsys, case(tmp_path, mode="mirrored", powershell=prog), 8080, "--scenario", "lan-to-host")
    assert t["first_blocker"]["layer"] == "hyperv-firewall"
    shutil.rmtree(tmp_path / "case")
    code, t = check(capsys, case(tmp_path, mode="mirrored", powershell=ps(rules=[rule("p", "port", "allow", 8080)])), 8080,
                    "--scenario", "lan-to-host")
    assert ("hyperv-firewall", "allow") in layers(t)


def test_portproxy_to_a_stale_address(capsys, tmp_path):
    rules = [rule("priv", "Dev", "allow", 8080, profile=2)]
    d = case(tmp_path, powershell=ps(rules=rules), portproxy=PORTPROXY.format(target="172.17.17.232"))
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "portproxy" and first["symptom"] == "timeout" and "stale" in first["explanation"]
    assert first["fixes"][0]["commands"] == [
        "netsh interface portproxy delete v4tov4 listenport=8080 listenaddress=0.0.0.0",
        f"netsh interface portproxy add v4tov4 listenport=8080 listenaddress=0.0.0.0 connectport=8080 connectaddress={WSL_IP}"]


def test_portproxy_needs_ip_helper(capsys, tmp_path):
    rules = [rule("priv", "Dev", "allow", 8080, profile=2)]
    d = case(tmp_path, powershell=ps(rules=rules, iphlpsvc={"status": 1, "startType": 4}), portproxy=PORTPROXY.format(target=WSL_IP))
    _, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    assert t["first_blocker"]["layer"] == "portproxy" and "iphlpsvc" in t["first_blocker"]["explanation"]
    assert t["first_blocker"]["fixes"][0]["commands"] == ["Set-Service iphlpsvc -StartupType Automatic", "Start-Service iphlpsvc"]


def test_port_owned_by_another_windows_process(capsys, tmp_path):
    listeners = [{"addr": "0.0.0.0", "port": 8080, "pid": 7788, "process": "node"},
                 {"addr": "127.0.0.1", "port": 8080, "pid": 5120, "process": "wslrelay"}]
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=listeners)))
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "windows-listener" and "node (pid 7788)" in first["explanation"]
    assert first["fixes"][0]["commands"] == ["Stop-Process -Id 7788"]


DUAL_STACK = ('tcp LISTEN 0 16 *:8080 *:* users:(("main",pid=8141,fd=3)) ino:18357 sk:100c cgroup:/ v6only:0 <->\n')


def test_dual_stack_listener_at_127_0_0_1_in_nat(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, sockets=DUAL_STACK))
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "localhost-relay" and first["symptom"] == "refused"
    assert "[::1]" in first["fixes"][0]["title"]
    code, t = check(capsys, case(tmp_path / "v6", sockets=DUAL_STACK, powershell=ps(
        listeners=[{"addr": "::1", "port": 8080, "pid": 5120, "process": "wslrelay"}])), 8080, "--scenario", "windows-localhost-v6")
    assert code == 0, t["hops"]


def test_udp_to_localhost_in_nat(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path), 5353, "--proto", "udp")
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "localhost-relay" and "TCP only" in first["explanation"]
    assert ("excluded-ports", "not-applicable") in layers(t) and ("windows-listener", "not-applicable") in layers(t)


def test_wslconfig_asks_for_mirrored_but_nat_is_effective(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, wslconfig="[wsl2]\nnetworkingMode=mirrored\n"))
    assert t["mode"] == "nat" and code == 0
    assert any("networkingMode=mirrored" in n and "effective mode" in n and "falls back to NAT" in n for n in t["notes"])
    assert t["hops"][0]["layer"] == "windows-firewall" and ("localhost-relay", "allow") in layers(t)


def test_wsl_to_windows_on_the_public_vethernet(capsys, tmp_path):
    listeners = [{"addr": "0.0.0.0", "port": 5432, "pid": 99, "process": "postgres"}]
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=listeners)), 5432, "--scenario", "wsl-to-windows")
    first = t["first_blocker"]
    assert code == 1 and first["layer"] == "windows-firewall" and first["rule"] == "Public profile: DefaultInboundAction=Block"
    assert "-InterfaceAlias 'vEthernet (WSL (Hyper-V firewall))'" in first["fixes"][0]["commands"][0]


def test_denied_powershell_is_unknown_with_reason(capsys, tmp_path):
    doc = ps(errors={"listeners": "Access is denied."})
    del doc["listeners"]
    code, t = check(capsys, case(tmp_path, powershell=doc))
    hop = next(h for h in t["hops"] if h["layer"] == "windows-listener")
    assert code == 3 and hop["verdict"] == "unknown" and "Access is denied." in hop["reason"]
