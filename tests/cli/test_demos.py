"""Every bundled demo tells its story: through `wsltui check PORT --demo NAME --scenario S --json`,
the first blocker (layer, verdict, symptom) and the fix the story is about. The demos are built by
scripts/make_demos.py (real Linux captures plus hand-written WSL and Windows records); their
facts must parse without a single parser problem. No root needed."""

from __future__ import annotations

import json

import pytest

from wsltui import demos
from wsltui.cli import main
from wsltui.facts import build_facts
from wsltui.facts.base import Unknown

OK = "reachable"


def unknown(layer: str) -> tuple[str, str]:
    """The trace cannot decide: the first undecided hop is ``layer``."""
    return ("unknown", layer)


def assumed(layer: str) -> tuple[str, str]:
    """Reachable, with ``layer`` passing on a named assumption (verdict ``assumed``)."""
    return ("assumed", layer)


# demo -> (port, scenario) -> OK | (layer, verdict, symptom) | unknown(layer). The first entry of
# each demo is its story (the first line of its ABOUT).
EXPECTED: dict[str, dict[tuple[int, str], object]] = {
    "nat-healthy": {
        (8080, "windows-localhost-v4"): OK,
        (8080, "windows-localhost-v6"): ("localhost-relay", "no-listener", "refused"),  # 0.0.0.0 gets no [::1] relay
        # Windows' outbound allows; host->VM in NAT with the Hyper-V firewall attached is open in the docs:
        # LoopbackEnabled and no Hyper-V block rule -> it passes as an explicit assumption
        (8080, "windows-to-wsl-ip"): assumed("hyperv-firewall"),
        (8080, "lan-to-host"): ("windows-firewall", "drop", "timeout"),  # NAT: no allow rule, no portproxy
        (5353, "windows-localhost-v4"): ("localhost-relay", "no-listener", "refused"),  # UDP: the relay is TCP only
    },
    "nat-firewalld-reject": {
        (8080, "windows-to-wsl-ip"): ("netfilter", "reject", "no route to host"),
        (8080, "windows-localhost-v4"): OK,  # the relay arrives on lo, which firewalld trusts
        (3000, "windows-localhost-v4"): ("localhost-relay", "no-listener", "refused"),  # node on [::]:3000
        (3000, "windows-localhost-v6"): OK,
        (8080, "lan-to-host"): ("windows-firewall", "drop", "timeout"),
    },
    "nat-dual-stack": {
        (8080, "windows-localhost-v4"): ("localhost-relay", "no-listener", "refused"),
        (8080, "windows-localhost-v6"): OK,
        (8080, "windows-to-wsl-ip"): assumed("hyperv-firewall"),
    },
    "nat-excluded-port": {
        (50000, "windows-localhost-v4"): ("excluded-ports", "no-listener", "refused"),
        (50000, "lan-to-host"): ("windows-firewall", "drop", "timeout"),
    },
    "mirrored-hyperv-lan": {
        (8080, "lan-to-host"): ("hyperv-firewall", "drop", "timeout"),
        (8080, "windows-localhost-v4"): OK,  # loopback0, LoopbackEnabled, no Linux firewall
        (8080, "windows-localhost-v6"): (
            "localhost-relay",
            "drop",
            "timeout",
        ),  # mirrored: ::1 unsupported, times out (microsoft/WSL#10803)
    },
    "nat-old-wsl": {
        (8080, "windows-localhost-v4"): OK,  # wslhost.exe is WSL's relay; the mode is NAT by inference (no wslinfo)
        (8080, "windows-localhost-v6"): ("localhost-relay", "no-listener", "refused"),
        (8080, "lan-to-wsl-ip"): ("path", "drop", "timeout"),  # the NAT subnet exists only inside Windows
    },
    "mirrored-docker-port": {
        # the Linux bind failed (EADDRINUSE): com.docker.backend answers, never "start the server"
        (8080, "windows-localhost-v4"): ("windows-listener", "no-listener", "wrong program"),
        (8080, "lan-to-host"): (
            "windows-listener",
            "no-listener",
            "timeout",
        ),  # no firewall rule lets the LAN reach Docker
        (8080, "windows-localhost-v6"): ("localhost-relay", "drop", "timeout"),
    },
    "nat-docker-user": {
        # DNAT'ed by Docker, then dropped in FORWARD by the user's DOCKER-USER rule (172.28.160.1 is not in 192.168/16)
        (8080, "windows-to-wsl-ip"): ("netfilter", "drop", "timeout"),
        (8080, "windows-localhost-v4"): OK,  # the relay reaches docker-proxy on lo: no DNAT, no FORWARD
    },
    "lan-stale-portproxy": {
        (8080, "lan-to-host"): ("portproxy", "drop", "timeout"),
        (8080, "windows-to-wsl-ip"): OK,  # the any-profile port rule is merged into the Hyper-V firewall
        # portproxy (svchost for iphlpsvc) holds 0.0.0.0:8080 and no relay has 127.0.0.1:8080: Windows'
        # 127.0.0.1:8080 follows the stale portproxy entry
        (8080, "windows-localhost-v4"): ("portproxy", "drop", "timeout"),
    },
    "consomme-lan": {
        (8080, "windows-localhost-v4"): OK,  # consomme's Windows loopback socket, forwarded to loopback0
        (8080, "windows-localhost-v6"): ("localhost-relay", "no-listener", "refused"),  # 0.0.0.0: no [::1] socket
        # the LAN meets the Windows Defender Firewall; only node.exe's program rule could allow it, and which
        # program holds consomme's host socket is not in the facts
        (8080, "lan-to-host"): unknown("windows-firewall"),
    },
}

# The fix each story leads to: a command (or title) fragment of the first blocker's first fix.
STORY_FIX = {
    "nat-firewalld-reject": "firewall-cmd --zone=public --add-port=8080/tcp",
    "nat-dual-stack": "[::1]:8080",
    "nat-excluded-port": "outside the excluded ranges",
    "mirrored-hyperv-lan": "New-NetFirewallHyperVRule -Name 'wsltui-hv-tcp-8080'",
    "lan-stale-portproxy": "connectaddress=172.28.165.23",
    "mirrored-docker-port": "Stop-Process -Id 9120",
    "nat-docker-user": "iptables-nft -I DOCKER-USER 1 -p tcp -m conntrack --ctorigdstport 8080 -j RETURN",
}

CASES = [(name, port, scenario, want) for name, table in EXPECTED.items() for (port, scenario), want in table.items()]


def check(capsys, demo: str, port: int, scenario: str) -> dict:
    main(["check", str(port), "--demo", demo, "--scenario", scenario, "--json"])
    return json.loads(capsys.readouterr().out)


def test_default_demo_exists():
    assert demos.DEFAULT in demos.names()


def test_every_bundled_demo_has_expectations_and_a_story():
    assert sorted(EXPECTED) == demos.names()
    for name in demos.names():
        story, *rest = demos.describe(name).splitlines()
        assert (
            story
            and any(l.startswith("Real capture:") for l in rest)
            and any(l.startswith("Hand-written") for l in rest)
        )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_facts_parse_without_problems(name):
    facts = build_facts(demos.load(name))
    assert facts.failures == {}
    win = facts.windows
    assert win.captured and win.problems == []
    for part in (
        "local_policy",
        "gpo_policy",
        "portproxy",
        "excluded4",
        "excluded6",
        "powershell",
        "rules",
        "profiles",
        "connections",
        "hyperv",
        "listeners",
        "iphlpsvc",
    ):
        assert not isinstance(getattr(win, part), Unknown), (part, getattr(win, part))
    # the registry and PowerShell views of the rules describe the same rules
    assert [r.id for r in win.local_policy.rules] == [r.id for r in win.rules]
    for section in ("wsl", "network", "sockets", "iptables", "nft", "firewalld", "ufw"):
        assert getattr(facts, section) is not None
        assert getattr(getattr(facts, section), "problems", []) == [], section


@pytest.mark.parametrize("name,port,scenario,want", CASES, ids=[f"{n}-{p}-{s}" for n, p, s, _ in CASES])
def test_first_blocker(capsys, name, port, scenario, want):
    t = check(capsys, name, port, scenario)
    hops = [(h["layer"], h["verdict"]) for h in t["hops"]]
    assert not any("no Windows data" in (h["reason"] or "") for h in t["hops"]), hops
    if want == OK:
        assert t["reachable"] is True and t["first_blocker"] is None, hops
    elif want[0] == "assumed":
        assert t["reachable"] is True and (want[1], "assumed") in hops, hops
        assert "live test" in next(h["assumption"] for h in t["hops"] if h["layer"] == want[1])
    elif want[0] == "unknown":
        assert t["reachable"] is None and t["first_blocker"] is None, hops
        assert next(h["layer"] for h in t["hops"] if h["verdict"] == "unknown") == want[1]
    else:
        first = t["first_blocker"]
        assert t["reachable"] is False and first is not None, hops
        assert (first["layer"], first["verdict"], first["symptom"]) == want, hops
        assert first["fixes"], first


@pytest.mark.parametrize("name", sorted(STORY_FIX))
def test_the_story_comes_with_its_fix(capsys, name):
    (port, scenario), want = next(iter(EXPECTED[name].items()))
    first = check(capsys, name, port, scenario)["first_blocker"]
    fix = first["fixes"][0]
    assert STORY_FIX[name] in fix["title"] + "\n" + "\n".join(fix["commands"])


def test_the_mirrored_demo_is_mirrored_and_consistent():
    facts = build_facts(demos.load("mirrored-hyperv-lan"))
    assert facts.wsl.networking_mode == "mirrored" and facts.wsl.mode_mismatch is None
    assert {i.name for i in facts.network.interfaces} >= {"lo", "loopback0", "eth0"}
    assert facts.network.primary_address == "192.168.1.23"
    assert [c.alias for c in facts.windows.connections] == ["Wi-Fi"]  # no vEthernet (WSL) switch in mirrored mode


def test_the_old_wsl_demo_is_nat_by_inference_with_wslhost_as_the_relay(capsys):
    facts = build_facts(demos.load("nat-old-wsl"))
    assert facts.wsl.before_2_0 and isinstance(facts.wsl.networking_mode, Unknown)
    assert not facts.windows.hyperv.available and [c.alias for c in facts.windows.connections][-1] == "vEthernet (WSL)"
    t = check(capsys, "nat-old-wsl", 8080, "windows-localhost-v4")
    path, relay = t["hops"][0], next(h for h in t["hops"] if h["layer"] == "localhost-relay")
    assert (path["verdict"], path["assumption"]) == ("assumed", "networking mode NAT") and "older than 2.0" in path[
        "explanation"
    ]
    assert relay["explanation"].startswith("wslhost.exe listens on Windows 127.0.0.1:8080")


def test_the_docker_demo_never_says_start_the_server(capsys):
    for scenario in ("windows-localhost-v4", "lan-to-host", "windows-to-host-ip"):
        t = check(capsys, "mirrored-docker-port", 8080, scenario)
        assert "EADDRINUSE" in t["first_blocker"]["explanation"]
        assert not any("Start the server" in f["title"] for h in t["hops"] for f in h["fixes"])
