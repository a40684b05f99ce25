"""What the client sees, through `wsltui check --from DIR --json` on the NAT demo's real Linux
capture plus hand-written records (tests/simulation/test_windows_scenarios.py's helpers): a Linux blocker
behind WSL's localhost relay, behind portproxy (open: both symptoms), Windows' stealth mode, an
ICMP error to a Windows client (open), and the words each client OS prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.simulation.test_windows_scenarios import PORTPROXY, WSL_IP, case, check, ps, rule
from wsltui import demos
from wsltui.simulation.simulate import SCENARIOS
from wsltui.simulation.symptoms import accepted_first
from wsltui.simulation.trace import (
    CLIENT_OF,
    CLIENT_WORDS,
    EMPTY_REPLY,
    HANGS_THEN_CLOSED,
    LINUX,
    NO_ROUTE,
    REFUSED,
    SYMPTOMS,
    TIMEOUT,
    WINDOWS,
    client_lines,
    client_words,
)

FILTER = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{rules}COMMIT\n"
PRIVATE_8080 = [rule("priv", "Dev", "allow", 8080, profile=2)]


def with_rules(d: Path, *rules: str) -> Path:
    """An iptables-legacy filter table (and the kernel's list of loaded legacy tables saying so)."""
    (d / "nf.iptables-legacy.txt").write_text(FILTER.format(rules="".join(r + "\n" for r in rules)))
    (d / "nf.legacy-tables.txt").write_text("filter\n")
    return d


def first(t: dict) -> dict:
    return t["first_blocker"]


# --- a Linux blocker behind WSL's localhost relay ----------------------------------------------------


@pytest.mark.parametrize(
    "target,seen,plain",
    [
        ("REJECT --reject-with icmp-port-unreachable", EMPTY_REPLY, "refused"),
        ("REJECT --reject-with icmp-host-prohibited", EMPTY_REPLY, "no route to host"),
        ("DROP", HANGS_THEN_CLOSED, "timeout"),
    ],
)
def test_linux_blocker_behind_the_relay(capsys, tmp_path, target, seen, plain):
    d = with_rules(case(tmp_path), f"-A INPUT -i lo -p tcp -m tcp --dport 8080 -j {target}")
    code, t = check(capsys, d)
    assert code == 1 and first(t)["layer"] == "netfilter" and t["symptom"] == seen
    assert (
        f"'{plain}' never reaches it" in first(t)["explanation"]
        and "accepted the Windows connection" in first(t)["explanation"]
    )
    words = t["client_sees"]
    assert words["client"] == "windows" and words["symptom"] == seen
    if seen == EMPTY_REPLY:
        assert "(52) Empty reply from server" in words["words"]["curl"]
        assert (
            "ERR_EMPTY_RESPONSE" in words["words"]["chromium"] and "ERR_CONNECTION_RESET" in words["words"]["chromium"]
        )
    else:
        assert "127 s" in first(t)["explanation"]
    # the same rule does not touch the WSL IP path: no relay there, the client connects
    code, t = check(capsys, d, 8080, "--scenario", "windows-to-wsl-ip")
    assert t["symptom"] != seen


def test_the_relay_rewrites_the_blockers_behind_too(capsys, tmp_path):
    d = with_rules(
        case(tmp_path),
        "-A INPUT -i lo -p tcp -m tcp --dport 8080 -j DROP",
        "-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset",
    )
    _, t = check(capsys, d)
    assert [b["symptom"] for b in t["blockers"]] == [HANGS_THEN_CLOSED, EMPTY_REPLY]


def test_mirrored_loopback_is_not_the_relay(capsys, tmp_path):
    # mirrored mode steers Windows loopback into the VM (no user-mode relay): Linux's symptom reaches the client
    d = with_rules(
        case(tmp_path, mode="mirrored"),
        "-A INPUT -i loopback0 -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset",
    )
    code, t = check(capsys, d)
    assert code == 1 and first(t)["layer"] == "netfilter" and t["symptom"] == REFUSED, [h["layer"] for h in t["hops"]]


def test_no_relay_at_all_is_refused_after_about_two_seconds(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=[])))
    assert code == 1 and first(t)["layer"] == "localhost-relay" and t["symptom"] == REFUSED
    winsock = t["client_sees"]["words"]["winsock"]
    assert "WSAECONNREFUSED (10061)" in winsock and "2 s" in winsock
    assert first(t)["client_sees"] == t["client_sees"]


# --- behind portproxy: open, so both ------------------------------------------------------------------


def test_linux_blocker_behind_portproxy_gives_both_symptoms(capsys, tmp_path):
    d = with_rules(
        case(tmp_path, powershell=ps(rules=PRIVATE_8080), portproxy=PORTPROXY.format(target=WSL_IP)),
        "-A INPUT -i eth0 -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset",
    )
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    assert code == 1 and first(t)["layer"] == "netfilter"
    assert t["symptom"] == REFUSED and first(t)["symptom_alternatives"] == [EMPTY_REPLY]
    assert "not documented" in first(t)["explanation"]
    assert [a["symptom"] for a in t["client_sees"]["alternatives"]] == [EMPTY_REPLY]


def test_stale_portproxy_target_gives_both_symptoms(capsys, tmp_path):
    d = case(tmp_path, powershell=ps(rules=PRIVATE_8080), portproxy=PORTPROXY.format(target="172.17.17.232"))
    _, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    assert first(t)["layer"] == "portproxy" and t["symptom"] == TIMEOUT
    assert first(t)["symptom_alternatives"] == [HANGS_THEN_CLOSED]


# --- Windows stealth mode -----------------------------------------------------------------------------


def test_stealth_mode_wsl_to_windows_times_out(capsys, tmp_path):
    rules = [rule("pub", "5432 on Public", "allow", 5432, profile=4)]
    code, t = check(
        capsys, case(tmp_path, powershell=ps(rules=rules, listeners=[])), 5432, "--scenario", "wsl-to-windows"
    )
    assert code == 1 and first(t)["layer"] == "windows-listener" and first(t)["verdict"] == "no-listener"
    assert t["symptom"] == TIMEOUT and "stealth mode" in first(t)["explanation"]
    assert t["client_sees"]["client"] == "linux" and "ETIMEDOUT" in t["client_sees"]["words"]["errno"]
    # a service on Windows 127.0.0.1 only: still nothing on the vEthernet address, still stealth
    local = [{"addr": "127.0.0.1", "port": 5432, "pid": 99, "process": "postgres"}]
    _, t = check(
        capsys, case(tmp_path / "lo", powershell=ps(rules=rules, listeners=local)), 5432, "--scenario", "wsl-to-windows"
    )
    assert first(t)["layer"] == "windows-listener" and t["symptom"] == TIMEOUT


def test_refused_when_the_profile_firewall_is_off(capsys, tmp_path):
    doc = ps(listeners=[])
    for p in doc["profiles"]:
        if p["name"] == "Public":
            p["enabled"] = 0
    code, t = check(capsys, case(tmp_path, powershell=doc), 5432, "--scenario", "wsl-to-windows")
    assert code == 1 and first(t)["layer"] == "windows-listener" and t["symptom"] == REFUSED
    assert "ECONNREFUSED" in t["client_sees"]["words"]["errno"]


def test_refused_on_windows_loopback_in_mirrored_mode(capsys, tmp_path):
    rules = [rule("pub", "5432 on Public", "allow", 5432, profile=4)]
    _, t = check(
        capsys,
        case(tmp_path, mode="mirrored", powershell=ps(rules=rules, listeners=[])),
        5432,
        "--scenario",
        "wsl-to-windows",
    )
    assert first(t)["layer"] == "windows-listener" and t["symptom"] == REFUSED
    # ... except on the builds where the reset goes to the wrong port: both
    assert first(t)["symptom_alternatives"] == [TIMEOUT] and "#13327" in first(t)["explanation"]


def test_mirrored_windows_to_ipv6_loopback_times_out(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, mode="mirrored"), 8080, "--scenario", "windows-localhost-v6")
    assert (
        code == 1
        and first(t)["layer"] == "localhost-relay"
        and t["symptom"] == TIMEOUT
        and "#10803" in first(t)["explanation"]
    )
    assert "WSAETIMEDOUT (10060)" in t["client_sees"]["words"]["winsock"]


def test_stealth_mode_lan_without_a_portproxy_entry(capsys, tmp_path):
    code, t = check(
        capsys, case(tmp_path, powershell=ps(rules=PRIVATE_8080), portproxy=""), 8080, "--scenario", "lan-to-host"
    )
    assert code == 1 and first(t)["layer"] == "portproxy" and t["symptom"] == TIMEOUT
    assert "Private firewall profile is on" in first(t)["explanation"]
    assert t["client_sees"]["client"] == "unknown" and t["client_sees"]["words"] == {}


def test_disable_stealth_mode_in_the_registry_is_refused(capsys, tmp_path):
    off = (
        "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy"
        "\\StandardProfile\n    DisableStealthMode    REG_DWORD    0x1\n"
    )
    d = case(tmp_path, powershell=ps(rules=PRIVATE_8080), portproxy="", fw_policy=off)
    _, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    assert first(t)["layer"] == "portproxy" and t["symptom"] == REFUSED and first(t)["symptom_alternatives"] == []


def test_lan_adapters_with_different_profiles_give_both(capsys, tmp_path):
    doc = ps(
        rules=PRIVATE_8080,
        conn=[
            {"alias": "Wi-Fi", "ifIndex": 12, "category": 1},
            {"alias": "Ethernet", "ifIndex": 7, "category": 0},
            {"alias": "vEthernet (WSL (Hyper-V firewall))", "ifIndex": 40, "category": 0},
        ],
    )
    for p in doc["profiles"]:
        if p["name"] == "Public":
            p["enabled"] = 0
    _, t = check(capsys, case(tmp_path, powershell=doc, portproxy=""), 8080, "--scenario", "lan-to-host")
    assert first(t)["layer"] == "portproxy" and t["symptom"] == REFUSED
    assert first(t)["symptom_alternatives"] == [TIMEOUT] and "stealth mode" in first(t)["explanation"]


# --- an ICMP error to a Windows client: open ------------------------------------------------------------


def test_icmp_admin_prohibited_to_a_windows_client_is_open(capsys):
    _, t = check(capsys, Path(demos.__file__).parent / "nat-firewalld-reject", 8080, "--scenario", "windows-to-wsl-ip")
    assert (
        t["symptom"] == NO_ROUTE
        and TIMEOUT in first(t)["symptom_alternatives"]
        and "KB325122" in first(t)["explanation"]
    )
    sees = t["client_sees"]
    assert (
        "WSAEHOSTUNREACH (10065)" in sees["words"]["winsock"] and sees["words"]["chromium"] == "ERR_ADDRESS_UNREACHABLE"
    )
    assert [a["symptom"] for a in sees["alternatives"]] == [TIMEOUT]
    assert "WSAETIMEDOUT (10060)" in sees["alternatives"][0]["words"]["winsock"]


def test_text_output_names_the_client_words(capsys, tmp_path):
    from wsltui.cli import main

    d = with_rules(case(tmp_path), "-A INPUT -i lo -p tcp -m tcp --dport 8080 -j REJECT")
    assert main(["check", "8080", "--from", str(d)]) == 1
    out = capsys.readouterr().out
    assert (
        "the client sees empty reply" in out and "a Windows client (empty reply)" in out and "ERR_EMPTY_RESPONSE" in out
    )


# --- the tables -------------------------------------------------------------------------------------


def test_every_scenario_has_a_client():
    assert set(CLIENT_OF) == set(SCENARIOS)
    assert CLIENT_OF["wsl-to-windows"] == LINUX and CLIENT_OF["windows-to-wsl-ip"] == WINDOWS


def test_the_words_table_uses_the_vocabulary():
    assert {s for s, _ in CLIENT_WORDS} <= set(SYMPTOMS)
    assert {c for _, c in CLIENT_WORDS} == {WINDOWS, LINUX}
    codes = {REFUSED: "10061", TIMEOUT: "10060", NO_ROUTE: "10065", "network unreachable": "10051"}
    for symptom, code in codes.items():
        assert code in client_words(symptom, WINDOWS)["winsock"]
    assert client_words(TIMEOUT, WINDOWS)["chromium"] == "ERR_CONNECTION_TIMED_OUT"
    assert client_words(REFUSED, WINDOWS)["chromium"] == "ERR_CONNECTION_REFUSED"
    assert "21 s" in client_words(TIMEOUT, WINDOWS)["winsock"] and "127 s" in client_words(TIMEOUT, LINUX)["errno"]
    assert client_words(REFUSED, "unknown") == {} and client_words(None, WINDOWS) == {}
    assert client_lines(REFUSED, LINUX)[0].startswith("connect(): ECONNREFUSED")


def test_an_accept_first_proxy():
    assert accepted_first(TIMEOUT) == HANGS_THEN_CLOSED
    assert {accepted_first(s) for s in SYMPTOMS if s not in (TIMEOUT,)} == {EMPTY_REPLY}


def test_json_keeps_the_old_keys(capsys, tmp_path):
    _, t = check(capsys, case(tmp_path))
    assert {"symptom", "first_blocker", "blockers", "hops", "notes", "reachable"} <= set(t)
    assert t["client_sees"] == {"client": "windows", "symptom": "connects", "words": {}, "alternatives": []}
    assert isinstance(t["caveats"], list)
    assert all("client_sees" in h for h in t["hops"])
    json.dumps(t)  # plain JSON


# --- portproxy to a host name ---------------------------------------------------------------------------


def test_portproxy_to_a_host_name_may_be_stale(capsys, tmp_path):
    d = case(tmp_path, powershell=ps(rules=PRIVATE_8080), portproxy=PORTPROXY.format(target="wsl.local"))
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    hop = next(h for h in t["hops"] if h["layer"] == "portproxy")
    assert code == 3 and hop["verdict"] == "unknown" and "wsl.local" in hop["explanation"]
    assert "resolved it once" in hop["explanation"] and f"WSL's address is now {WSL_IP}" in hop["reason"]
    # Resolve-DnsName shows the name's new address: never the check it suggests
    assert "run: Resolve-DnsName" not in hop["reason"] and "not the one iphlpsvc kept" in hop["reason"]
    assert "Get-NetTCPConnection -State Established" in hop["reason"] and "Restart-Service iphlpsvc" in hop["reason"]
    assert hop["fixes"][0]["commands"] == ["Restart-Service iphlpsvc"]


def test_the_flow_panel_shows_the_client_words():
    from rich.console import Console

    from wsltui.facts import build_facts
    from wsltui.simulation.simulate import Scenario, World, simulate
    from wsltui.tui.panels.flow import render_hop, render_summary

    world = World.from_facts(build_facts(demos.load("nat-firewalld-reject")))
    t = simulate(world, Scenario("windows-to-wsl-ip", 3000))
    console = Console(width=400, record=True)
    console.print(render_hop(t.first_blocker, True, t.client))
    console.print(render_summary(t))
    out = console.export_text()
    assert out.startswith("firewalld zone public")  # the explanation stays first
    assert "client  no route to host: Winsock: WSAEHOSTUNREACH (10065)" in out
    assert (
        "client  timeout: Winsock: WSAETIMEDOUT (10060)" in out
        and "the client sees no route to host (or timeout)" in out
    )


def test_portproxy_to_a_host_name_with_iphlpsvcs_live_connection(capsys, tmp_path):
    entry = PORTPROXY.format(target="wsl.local")
    lan_leg = {"lport": 8080, "raddr": "192.168.1.50", "rport": 51234}  # a LAN client's inbound leg: not the target

    def run(name, conns):
        d = case(tmp_path / name, powershell=ps(rules=PRIVATE_8080, iphlpsvcConns=conns), portproxy=entry)
        return check(capsys, d, 8080, "--scenario", "lan-to-host")

    code, t = run("fresh", [lan_leg, {"lport": 50100, "raddr": WSL_IP, "rport": 8080}])
    hop = next(h for h in t["hops"] if h["layer"] == "portproxy")
    assert code == 0 and hop["verdict"] == "allow" and "resolved to it" in hop["explanation"]
    assert t["hops"][-1]["layer"] == "socket"  # the trace goes on into WSL
    code, t = run("stale", [lan_leg, {"lport": 50100, "raddr": "172.17.17.232", "rport": 8080}])
    assert code == 1 and first(t)["layer"] == "portproxy" and first(t)["verdict"] == "drop"
    assert "172.17.17.232" in first(t)["explanation"] and WSL_IP in first(t)["explanation"]
    assert "meant to reach WSL" in first(t)["assumption"] and first(t)["fixes"][0]["commands"] == [
        "Restart-Service iphlpsvc"
    ]
    assert t["symptom"] == TIMEOUT and first(t)["symptom_alternatives"] == [HANGS_THEN_CLOSED]
    code, t = run("idle", [lan_leg])
    hop = next(h for h in t["hops"] if h["layer"] == "portproxy")
    assert code == 3 and hop["verdict"] == "unknown" and "no live connection of iphlpsvc" in hop["reason"]


def test_parse_iphlpsvc_connections():
    from wsltui.facts.windows import WinConnection, parse_connections

    got = parse_connections(
        [
            {"lport": 50100, "raddr": WSL_IP, "rport": 8080},
            {"LocalPort": 8080, "RemoteAddress": "192.168.1.50", "RemotePort": 51234},
            {"lport": "x"},
            "junk",
        ]
    )
    assert got == [WinConnection(50100, WSL_IP, 8080), WinConnection(8080, "192.168.1.50", 51234)]
