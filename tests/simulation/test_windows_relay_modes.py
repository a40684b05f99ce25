"""WSL's relay on every WSL version and the paths of every networking mode, through
`wsltui check --from DIR --json` on snapshot directories built like tests/simulation/test_windows_scenarios.py
(the nat-healthy demo's real Linux capture: main on 0.0.0.0:8080, WSL IP 172.28.165.23, plus
win.* records written here). The facts come from microsoft/WSL's source and issues (cited per test);
where they leave a point open, the trace must say unknown or assumed."""

from __future__ import annotations

import json

import pytest

from test_windows_scenarios import WSL_IP, case, check, layers, ps, rule
from wsltui.cli import main

RELAY_PID = 5120
NO_SOCKETS = ""
DUAL_STACK = 'tcp LISTEN 0 16 *:8080 *:* users:(("main",pid=8141,fd=3)) ino:18357 sk:100c cgroup:/ v6only:0 <->\n'
LOOPBACK_ONLY = (
    'tcp LISTEN 0 16 127.0.0.1:8080 0.0.0.0:* users:(("main",pid=8141,fd=3)) ino:18357 sk:100c cgroup:/ <->\n'
)
DOCKER = r"C:\Program Files\Docker\Docker\resources\com.docker.backend.exe"


def listener(addr: str, process: str | None, path: str | None = None, pid: int = RELAY_PID, port: int = 8080) -> dict:
    return {"addr": addr, "port": port, "pid": pid, "process": process, "path": path}


def first(t: dict) -> tuple:
    f = t["first_blocker"]
    return (f["layer"], f["verdict"], f["symptom"]) if f else None


def never_stops_the_relay(t: dict) -> None:
    """No fix anywhere in the trace stops WSL's relay (by pid or by name)."""
    for hop in t["hops"] + t["blockers"]:
        for fix in hop["fixes"]:
            text = " ".join([fix["title"], *fix["commands"]]).lower()
            assert f"-id {RELAY_PID}" not in text and "stop wslrelay" not in text and "stop wslhost" not in text, fix
            assert "processid=5120" not in text, fix


def old_wsl(d):
    """WSL before 2.0: no wslinfo (the probe's "command not found" records)."""
    for name, argv in (
        ("wsl.networking-mode", ["wslinfo", "--networking-mode"]),
        ("wsl.version", ["wslinfo", "--version"]),
    ):
        (d / f"{name}.txt").write_text("")
        (d / f"{name}.meta.json").write_text(
            json.dumps(
                {"argv": argv, "exit_code": None, "stderr": "", "seconds": 0.0, "error": "wslinfo: command not found"}
            )
        )
    return d


# --- 1. the relay on every WSL version --------------------------------------------------------


@pytest.mark.parametrize(
    "relay",
    [
        listener("127.0.0.1", "wslhost"),  # inbox WSL / Store before 2.0, name only
        listener("127.0.0.1", None, r"C:\Windows\System32\wslhost.exe"),  # only the path
        listener(
            "127.0.0.1",
            "wslhost",
            r"C:\Program Files\WindowsApps\MicrosoftCorporationII.WindowsSubsystemForLinux_1.2.5.0"
            r"_x64__8wekyb3d8bbwe\wslhost.exe",
        ),
        listener("127.0.0.1", "wslrelay", r"C:\Program Files\WSL\wslrelay.exe"),  # Store WSL 2.x
    ],
)
def test_both_relay_processes_are_wsls_relay(capsys, tmp_path, relay):
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=[relay])))
    assert code == 0 and t["reachable"] is True, layers(t)
    hop = next(h for h in t["hops"] if h["layer"] == "windows-listener")
    assert hop["verdict"] == "allow" and "WSL's localhost relay" in hop["explanation"]
    assert "another" not in hop["explanation"]
    seen = "wslrelay.exe" if "wslrelay" in (relay["process"] or relay["path"]) else "wslhost.exe"
    relay_hop = next(h for h in t["hops"] if h["layer"] == "localhost-relay")
    assert relay_hop["explanation"].startswith(seen), relay_hop  # named as seen, not always wslrelay.exe
    never_stops_the_relay(t)


def test_a_program_called_wslhost_elsewhere_on_disk_is_not_the_relay(capsys, tmp_path):
    fake = listener("127.0.0.1", "wslhost", r"D:\tools\wslhost.exe", pid=4242)
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=[fake])))
    assert code == 1 and first(t) == ("windows-listener", "no-listener", "wrong program")
    assert t["first_blocker"]["fixes"][0]["commands"] == ["Stop-Process -Id 4242"]


def test_old_wsl_is_nat_by_inference_with_the_reason(capsys, tmp_path):
    d = old_wsl(case(tmp_path, powershell=ps(listeners=[listener("127.0.0.1", "wslhost")])))
    code, t = check(capsys, d)
    path = t["hops"][0]
    assert (path["layer"], path["verdict"], path["assumption"]) == ("path", "assumed", "networking mode NAT")
    assert "older than 2.0" in path["explanation"] and "no mirrored" in path["explanation"]
    assert code == 0 and t["reachable"] is True
    assert (
        "wslhost.exe listens on Windows 127.0.0.1:8080"
        in next(h for h in t["hops"] if h["layer"] == "localhost-relay")["explanation"]
    )
    # .wslconfig asking for bridged: a mode such a WSL has, so the assumption says so
    (d / "wsl.wslconfig.txt").write_text("[wsl2]\nnetworkingMode=bridged\nvmSwitch=External\n")
    (d / "wsl.wslconfig.meta.json").unlink()
    _, t = check(capsys, d)
    assert "may be bridged" in t["hops"][0]["explanation"]


def test_the_relay_name_when_windows_lists_no_relay(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=[])))
    assert (
        code == 1
        and "WSL's localhost relay (wslrelay.exe or wslhost.exe) does not listen" in t["first_blocker"]["explanation"]
    )


def test_the_listener_table_is_the_truth_about_where_the_relay_listens(capsys, tmp_path):
    # WSL 2.2.4 relays [::1] too for a listener on 0.0.0.0 (microsoft/WSL#11740)
    both = [listener("127.0.0.1", "wslrelay"), listener("::1", "wslrelay")]
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=both)), 8080, "--scenario", "windows-localhost-v6")
    relay = next(h for h in t["hops"] if h["layer"] == "localhost-relay")
    assert code == 0 and relay["verdict"] == "assumed" and "#11740" in relay["explanation"], layers(t)
    assert "127.0.0.1" in t["hops"][-2]["packet"] and t["hops"][-1]["verdict"] == "allow"  # it reaches 0.0.0.0:8080
    # without the listener table, the bind rule decides: 0.0.0.0 gets no [::1] relay
    denied = ps(errors={"listeners": "Access is denied."})
    del denied["listeners"]
    code, t = check(capsys, case(tmp_path / "denied", powershell=denied), 8080, "--scenario", "windows-localhost-v6")
    assert code == 1 and first(t) == ("localhost-relay", "no-listener", "refused")


def test_a_windows_program_on_the_relays_address_answers(capsys, tmp_path):
    php = listener("127.0.0.1", "php", r"C:\php\php.exe", pid=6060)
    code, t = check(capsys, case(tmp_path, powershell=ps(listeners=[listener("127.0.0.1", "wslrelay"), php])))
    f = t["first_blocker"]
    assert code == 1 and first(t) == ("windows-listener", "no-listener", "wrong program")
    assert (
        "#5732" in f["explanation"] and "php" in f["rule"] and "wslrelay" in f["rule"]
    )  # the evidence: both listeners
    assert f["fixes"][0]["commands"] == ["Stop-Process -Id 6060"]
    never_stops_the_relay(t)


def test_an_excluded_port_the_relay_already_holds(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, excluded4="      8080        8080     *"))
    hop = next(h for h in t["hops"] if h["layer"] == "excluded-ports")
    assert code == 0 and hop["verdict"] == "allow" and "until WSL restarts" in hop["explanation"]


def test_another_loopback_address_has_no_relay(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path), 8080, "--scenario", "windows-localhost-v4", "--dst", "127.0.0.2")
    assert code == 1 and first(t) == ("localhost-relay", "no-listener", "refused")
    assert "127.0.0.1" in t["first_blocker"]["fixes"][0]["title"]
    never_stops_the_relay(t)
    # a Windows program on 0.0.0.0 takes 127.0.0.2
    node = listener("0.0.0.0", "node", pid=7788)
    code, t = check(
        capsys,
        case(tmp_path / "node", powershell=ps(listeners=[listener("127.0.0.1", "wslrelay"), node])),
        8080,
        "--scenario",
        "windows-localhost-v4",
        "--dst",
        "127.0.0.2",
    )
    assert code == 1 and first(t) == ("windows-listener", "no-listener", "wrong program")
    # mirrored: whether Windows steers 127.0.0.2 is not documented
    code, t = check(
        capsys, case(tmp_path / "m", mode="mirrored"), 8080, "--dst", "127.0.0.2", "--scenario", "windows-localhost-v4"
    )
    assert code == 3 and layers(t)[-1] == ("localhost-relay", "unknown")


def test_dst_that_is_not_loopback_does_not_fit_localhost(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path), 8080, "--scenario", "windows-localhost-v4", "--dst", "192.168.1.23")
    assert code == 3 and layers(t) == [("path", "not-applicable")]
    code, t = check(capsys, case(tmp_path / "host"), 8080, "--scenario", "windows-to-host-ip", "--dst", "127.0.0.1")
    assert code == 3 and layers(t) == [("path", "not-applicable")]


# --- 2. mirrored: ports Windows owns ---------------------------------------------------------


def test_mirrored_port_held_by_docker_desktop(capsys, tmp_path):
    docker = [
        listener("0.0.0.0", "com.docker.backend", DOCKER, pid=9120),
        listener("::", "com.docker.backend", DOCKER, pid=9120),
    ]
    d = case(
        tmp_path,
        mode="mirrored",
        sockets=NO_SOCKETS,
        powershell=ps(listeners=docker, conn=[{"alias": "Wi-Fi", "ifIndex": 12, "category": 1}]),
    )
    code, t = check(capsys, d)
    f = t["first_blocker"]
    assert code == 1 and first(t) == ("windows-listener", "no-listener", "wrong program")
    assert "EADDRINUSE" in f["explanation"] and "com.docker.backend" in f["explanation"]
    assert (
        f["fixes"][0]["commands"] == ["Stop-Process -Id 9120"]
        and "on a port no Windows program holds" in f["fixes"][1]["title"]
    )
    assert not any("Start the server" in x["title"] for h in t["hops"] for x in h["fixes"])
    assert layers(t) == [("windows-firewall", "not-applicable"), ("windows-listener", "no-listener")]
    # from the LAN the same owner decides; the client meets the Windows Defender Firewall for Docker first
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    assert code == 1 and first(t) == ("windows-listener", "no-listener", "timeout")
    assert "Windows Defender Firewall stops the client first" in t["first_blocker"]["explanation"]
    allowed = case(
        tmp_path / "allowed",
        mode="mirrored",
        sockets=NO_SOCKETS,
        powershell=ps(listeners=docker, rules=[rule("priv", "Docker 8080", "allow", 8080, profile=2)]),
    )
    code, t = check(capsys, allowed, 8080, "--scenario", "lan-to-host")
    assert code == 1 and first(t) == ("windows-listener", "no-listener", "wrong program")


def test_mirrored_windows_owner_on_loopback_only_and_the_lan(capsys, tmp_path):
    iis = [listener("127.0.0.1", "System", pid=4)]  # http.sys
    d = case(tmp_path, mode="mirrored", sockets=NO_SOCKETS, powershell=ps(listeners=iis))
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    f = t["first_blocker"]
    assert (
        code == 1
        and f["layer"] == "windows-listener"
        and f["symptom"] == "timeout"
        and f["symptom_alternatives"] == ["refused"]
    )
    assert f["fixes"][0]["commands"] == ["Get-CimInstance Win32_Service -Filter 'ProcessId=4'"]


def test_mirrored_excluded_port_without_a_linux_listener(capsys, tmp_path):
    d = case(
        tmp_path,
        mode="mirrored",
        sockets=NO_SOCKETS,
        excluded4="      8080        8080     *",
        powershell=ps(listeners=[]),
    )
    code, t = check(capsys, d)
    f = t["first_blocker"]
    assert code == 1 and first(t) == ("excluded-ports", "no-listener", "refused")
    assert "likely" in f["explanation"] and "EADDRINUSE" in f["explanation"]
    assert "outside the excluded ranges" in f["fixes"][0]["title"]


def test_mirrored_no_owner_no_listener_is_start_the_server(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, mode="mirrored", sockets=NO_SOCKETS, powershell=ps(listeners=[])))
    assert code == 1 and first(t) == ("localhost-relay", "no-listener", "refused")
    assert "Start the server" in t["first_blocker"]["fixes"][0]["title"]


def test_mirrored_linux_listener_beside_a_windows_owner_is_unknown(capsys, tmp_path):
    code, t = check(
        capsys, case(tmp_path, mode="mirrored", powershell=ps(listeners=[listener("0.0.0.0", "node", pid=7788)]))
    )
    assert code == 3 and layers(t)[-1] == ("localhost-relay", "unknown") and "undocumented" in t["hops"][-1]["reason"]


def test_mirrored_ipv6_loopback_times_out(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, mode="mirrored"), 8080, "--scenario", "windows-localhost-v6")
    assert (
        code == 1
        and first(t) == ("localhost-relay", "drop", "timeout")
        and "#10803" in t["first_blocker"]["explanation"]
    )


def test_mirrored_wsl_to_a_closed_windows_loopback_port_may_hang(capsys, tmp_path):
    code, t = check(
        capsys, case(tmp_path, mode="mirrored", powershell=ps(listeners=[])), 5432, "--scenario", "wsl-to-windows"
    )
    f = t["first_blocker"]
    assert code == 1 and first(t) == ("windows-listener", "no-listener", "refused")
    assert f["symptom_alternatives"] == ["timeout"] and "#10855" in f["explanation"]
    # NAT keeps the plain refusal
    _, t = check(capsys, case(tmp_path / "nat", powershell=ps(listeners=[])), 5432, "--scenario", "wsl-to-windows")
    assert all(h["symptom_alternatives"] == [] for h in t["hops"] if h["layer"] == "windows-listener")


# --- 3. consomme and bridged ----------------------------------------------------------------


def test_consomme_localhost_has_no_hyperv_hop_and_keeps_the_family(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, mode="consomme"))
    assert code == 0 and not any(l == "hyperv-firewall" for l, _ in layers(t)), layers(t)
    assert ("localhost-relay", "allow") in layers(t) and "loopback0" in t["hops"][-2]["packet"]
    # a [::] bind opens Windows [::1], not 127.0.0.1
    code, t = check(capsys, case(tmp_path / "dual", mode="consomme", sockets=DUAL_STACK))
    assert code == 1 and first(t) == ("localhost-relay", "no-listener", "refused")
    code, t = check(
        capsys,
        case(tmp_path / "dual6", mode="consomme", sockets=DUAL_STACK),
        8080,
        "--scenario",
        "windows-localhost-v6",
    )
    assert code == 0, layers(t)
    # virtioproxy is consomme's old name; localhostForwarding=false is honoured
    code, t = check(
        capsys, case(tmp_path / "nofwd", mode="virtioproxy", wslconfig="[wsl2]\nlocalhostForwarding=false\n")
    )
    assert t["mode"] == "consomme" and code == 1 and "localhostForwarding=false" in t["first_blocker"]["explanation"]


def test_consomme_lan_meets_the_windows_firewall_not_hyperv(capsys, tmp_path):
    d = case(tmp_path, mode="consomme", powershell=ps(rules=[rule("priv", "Dev", "allow", 8080, profile=2)]))
    code, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    assert code == 0 and layers(t)[0] == ("windows-firewall", "allow"), layers(t)
    assert not any(l == "hyperv-firewall" for l, _ in layers(t)) and ("localhost-relay", "allow") in layers(t)
    # no allow rule: the Windows Defender Firewall profile default blocks it
    code, t = check(capsys, case(tmp_path / "block", mode="consomme"), 8080, "--scenario", "lan-to-host")
    assert code == 1 and first(t) == ("windows-firewall", "drop", "timeout")
    # a loopback-only bind opens no host socket on the LAN side
    code, t = check(
        capsys,
        case(
            tmp_path / "lo",
            mode="consomme",
            sockets=LOOPBACK_ONLY,
            powershell=ps(rules=[rule("priv", "Dev", "allow", 8080, profile=2)]),
        ),
        8080,
        "--scenario",
        "lan-to-host",
    )
    assert code == 1 and first(t) == ("localhost-relay", "no-listener", "refused")
    # no ignoredPorts outside mirrored: WSL resets it
    code, _ = check(capsys, case(tmp_path / "ign", mode="consomme", wslconfig="[experimental]\nignoredPorts=8080\n"))
    assert code == 0


@pytest.mark.parametrize(
    "scenario,extra", [("windows-to-wsl-ip", ()), ("wsl-to-windows", ("--dst", "192.168.1.23")), ("lan-to-host", ())]
)
def test_bridged_has_no_hyperv_hop(capsys, tmp_path, scenario, extra):
    listeners = [listener("0.0.0.0", "postgres", pid=99)]
    _, t = check(
        capsys, case(tmp_path, mode="bridged", powershell=ps(listeners=listeners)), 8080, "--scenario", scenario, *extra
    )
    assert not any(l == "hyperv-firewall" for l, _ in layers(t)), layers(t)


def test_bridged_wsl_to_windows_needs_the_hosts_address(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, mode="bridged"), 5432, "--scenario", "wsl-to-windows")
    assert code == 3 and layers(t) == [("path", "unknown")] and "--dst" in t["hops"][0]["reason"]


# --- 4. the scenarios users ask about -------------------------------------------------------


def test_lan_to_the_wsl_ip_in_nat_is_not_routable(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path), 8080, "--scenario", "lan-to-wsl-ip")
    f = t["first_blocker"]
    assert code == 1 and first(t) == ("path", "drop", "timeout") and WSL_IP in f["explanation"]
    titles = " ".join(x["title"] for x in f["fixes"])
    assert "portproxy" in titles and "mirrored" in titles
    code, t = check(capsys, case(tmp_path / "m", mode="mirrored"), 8080, "--scenario", "lan-to-wsl-ip")
    assert code == 3 and layers(t) == [("path", "not-applicable")]


def test_windows_to_its_own_lan_ip_in_mirrored_needs_host_address_loopback(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, mode="mirrored"), 8080, "--scenario", "windows-to-host-ip")
    f = t["first_blocker"]
    assert code == 1 and first(t) == ("path", "no-listener", "refused")
    assert "hostAddressLoopback=true" in f["fixes"][0]["title"] and WSL_IP in f["explanation"]
    d = case(
        tmp_path / "hal",
        mode="mirrored",
        wslconfig="[wsl2]\nnetworkingMode=mirrored\n[experimental]\nhostAddressLoopback=true\n",
    )
    code, t = check(capsys, d, 8080, "--scenario", "windows-to-host-ip")
    assert code == 0 and ("path", "assumed") in layers(t) and t["hops"][-1]["verdict"] == "allow", layers(t)


def test_wsl_to_the_hosts_lan_ip_in_mirrored_needs_host_address_loopback(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, mode="mirrored"), 5432, "--scenario", "wsl-to-windows", "--dst", WSL_IP)
    assert (
        code == 1
        and first(t) == ("path", "no-listener", "refused")
        and "hostAddressLoopback" in t["first_blocker"]["explanation"]
    )
    # Linux's own server on that port answers instead
    code, t = check(
        capsys, case(tmp_path / "own", mode="mirrored"), 8080, "--scenario", "wsl-to-windows", "--dst", WSL_IP
    )
    assert code == 1 and first(t) == ("path", "no-listener", "wrong program")
    d = case(
        tmp_path / "hal",
        mode="mirrored",
        wslconfig="[experimental]\nhostAddressLoopback=true\n",
        powershell=ps(listeners=[listener("0.0.0.0", "postgres", pid=99)]),
    )
    code, t = check(capsys, d, 8080, "--scenario", "wsl-to-windows", "--dst", WSL_IP)
    assert code == 0 and ("path", "assumed") in layers(t) and layers(t)[-1] == ("windows-listener", "allow"), layers(t)


def test_windows_to_its_own_lan_ip_in_nat_goes_through_portproxy(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path), 8080, "--scenario", "windows-to-host-ip")
    assert code == 3 and "--dst" in t["hops"][0]["reason"]
    code, t = check(capsys, case(tmp_path / "none"), 8080, "--scenario", "windows-to-host-ip", "--dst", "192.168.1.23")
    assert code == 1 and first(t) == ("portproxy", "no-listener", "refused")
    entry = "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\PortProxy\\v4tov4\\tcp\n    0.0.0.0/8080    REG_SZ    {}/8080\n"
    svchost = [listener("0.0.0.0", "svchost", pid=3712)]
    d = case(tmp_path / "proxy", portproxy=entry.format(WSL_IP), powershell=ps(listeners=svchost))
    code, t = check(capsys, d, 8080, "--scenario", "windows-to-host-ip", "--dst", "192.168.1.23")
    assert code == 0 and ("portproxy", "allow") in layers(t) and t["hops"][-1]["layer"] == "socket", layers(t)


def test_dst_for_the_wsl_ip_scenario(capsys, tmp_path):
    # an address that is not the VM's: Linux forwards it, which the trace does not follow
    _, t = check(capsys, case(tmp_path), 8080, "--scenario", "windows-to-wsl-ip", "--dst", "172.28.165.99")
    assert layers(t)[-1] == ("netfilter", "unknown") and "172.28.165.99" in t["hops"][-1]["packet"]
    _, t = check(capsys, case(tmp_path / "own"), 8080, "--scenario", "windows-to-wsl-ip", "--dst", WSL_IP)
    assert layers(t)[-1] == ("socket", "allow")


def test_loopback_from_wsl_stays_in_linux_unless_mirrored_127_0_0_1(capsys, tmp_path):
    # NAT: 127.0.0.1 inside WSL is Linux's own loopback; main on 0.0.0.0:8080 answers
    code, t = check(capsys, case(tmp_path), 8080, "--scenario", "wsl-to-windows", "--dst", "127.0.0.1")
    assert (
        code == 1
        and first(t) == ("path", "no-listener", "wrong program")
        and "gateway" in t["first_blocker"]["fixes"][0]["title"]
    )
    # mirrored: 127.0.0.2 stays in Linux (microsoft/WSL#11766), 127.0.0.1 goes to Windows
    d = case(
        tmp_path / "m", mode="mirrored", powershell=ps(listeners=[listener("0.0.0.0", "postgres", pid=99, port=5432)])
    )
    code, t = check(capsys, d, 5432, "--scenario", "wsl-to-windows", "--dst", "127.0.0.2")
    assert code == 1 and first(t) == ("path", "no-listener", "refused")
    code, t = check(capsys, d, 5432, "--scenario", "wsl-to-windows")
    assert code == 0 and layers(t)[-1] == ("windows-listener", "allow")


def test_a_dst_that_is_no_wsl_ip_in_nat(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path), 8080, "--scenario", "windows-to-wsl-ip", "--dst", "2001:db8::5")
    assert code == 3 and layers(t) == [("path", "not-applicable")]


def test_mirrored_unbound_port_with_unknown_windows_listeners_warns_in_the_fix(capsys, tmp_path):
    denied = ps(errors={"listeners": "Access is denied."})
    del denied["listeners"]
    code, t = check(capsys, case(tmp_path, mode="mirrored", sockets=NO_SOCKETS, powershell=denied))
    fix = t["first_blocker"]["fixes"][0]
    assert code == 1 and first(t) == ("localhost-relay", "no-listener", "refused")
    assert "EADDRINUSE" in fix["note"] and "Access is denied." in fix["note"]


def test_a_relay_windows_lists_without_a_linux_listener(capsys, tmp_path):
    # the relay still listens (the Linux server just stopped): the connection reaches the VM and finds nothing;
    # the relay accepted the Windows connection first, so the client gets an empty reply, not "refused"
    code, t = check(capsys, case(tmp_path, sockets=NO_SOCKETS))
    assert (
        code == 1 and ("localhost-relay", "allow") in layers(t) and first(t) == ("socket", "no-listener", "empty reply")
    )


def test_consomme_carries_udp_to_windows_loopback(capsys, tmp_path):
    code, t = check(capsys, case(tmp_path, mode="consomme"), 5353, "--proto", "udp")
    assert code == 0 and ("localhost-relay", "allow") in layers(t)
    code, t = check(capsys, case(tmp_path / "nat"), 5353, "--proto", "udp")  # NAT's relay is TCP only
    assert code == 1 and "TCP only" in t["first_blocker"]["explanation"]


def test_in_iface_belongs_to_the_custom_scenario(capsys, tmp_path):
    code = main(["check", "8080", "--from", str(case(tmp_path)), "--scenario", "lan-to-host", "--in-iface", "eth0"])
    assert code == 2 and "--in-iface is for --scenario custom" in capsys.readouterr().err
