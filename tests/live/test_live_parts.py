"""The parts of a live test that need no namespace: the clients' answers, the Windows script's
values, the plan per scenario, the packet capture's parser, the stored records, the runner's
background processes, and the nft trace reader on real ``nft monitor trace`` lines."""

from __future__ import annotations

import ipaddress
import json
import os
import struct
import sys
import time
from pathlib import Path

import pytest

from wsltui.facts import build_facts
from wsltui.facts.live import (
    CONNECTED,
    DATA,
    ERROR,
    HOST_UNREACHABLE,
    OUTCOME_REFUSED,
    OUTCOME_TIMEOUT,
    ClientOutcome,
    LinuxWatch,
    Observation,
    parse_observation,
    to_record,
)
from wsltui.live import capture, client, plan, watch
from wsltui.probes import live_records
from wsltui.probes.runner import Background, Job, start
from wsltui.simulation.simulate import Scenario, World
from wsltui.simulation.trace import Hop
from wsltui.snapshot import Record, Snapshot

STANDIN = Path(__file__).resolve().parents[1] / "standins" / "powershell.exe"


# --- the clients' answers ---------------------------------------------------------------------


def answer(stdout: str, error: str | None = None) -> Record:
    return Record("live.client", ("powershell.exe",), stdout, exit_code=0 if error is None else None, error=error)


@pytest.mark.parametrize(
    "code,outcome",
    [
        (10061, OUTCOME_REFUSED),
        (10060, OUTCOME_TIMEOUT),
        (10065, HOST_UNREACHABLE),
        (10013, "denied"),
        (10051, "net-unreachable"),
        (11001, ERROR),
    ],
)
def test_winsock_codes_map_to_outcomes(code, outcome):
    got = client.parse_client(
        answer(json.dumps({"outcome": "failed", "code": code, "elapsed_ms": 2010})),
        "windows",
        client.OUTCOME_OF_WINSOCK,
    )
    assert (got.outcome, got.code, got.elapsed_ms) == (outcome, code, 2010)


@pytest.mark.parametrize(
    "stdout,error",
    [
        ("", None),
        ("not json\r\n", None),
        ("[1, 2]", None),
        ("{}", "timed out after 8 s"),
        ('{"outcome": "teleported"}', None),
        ('{"outcome": "connected", "after_connect": "bogus", "elapsed_ms": true}', None),
    ],
)
def test_a_broken_answer_is_an_error_or_read_without_guessing(stdout, error):
    got = client.parse_client(answer(stdout, error), "windows", client.OUTCOME_OF_WINSOCK)
    if stdout.startswith('{"outcome": "connected"'):
        assert got.outcome == CONNECTED and got.after_connect is None and got.elapsed_ms is None
    else:
        assert got.outcome == ERROR and got.detail


def test_the_windows_script_takes_only_checked_values():
    script = client.windows_script("fd00::1", 8080, "tcp", 3.0, 1.0)
    assert script.startswith(client.SCRIPT_MARK) and "$target = 'fd00::1'" in script and "$port = 8080" in script
    assert "$timeoutMs = 3000" in script and "@" + "TARGET@" not in script
    for target in ("127.0.0.1'; Remove-Item C:\\ -Recurse; '", "host.example", "1.2.3.4\n"):
        with pytest.raises(ValueError):
            client.windows_script(target, 8080, "tcp", 3.0, 1.0)
    with pytest.raises(ValueError):
        client.windows_script("127.0.0.1", 70000, "tcp", 3.0, 1.0)


def test_the_stand_in_answers_the_script_and_misbehaves_on_request(monkeypatch):
    """The stand-in reads the script's values as the script carries them (a real connect to a
    port where nothing listens on this machine's loopback is refused)."""
    from wsltui.probes.powershell import encode_powershell

    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    encoded = encode_powershell(client.windows_script("127.0.0.1", port, "tcp", 1.0, 0.2))
    argv = (str(STANDIN), "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded)
    monkeypatch.delenv("WSLTUI_STANDIN_CLIENT_NETNS", raising=False)
    from wsltui.probes.runner import run

    got = client.parse_client(run(Job("live.client", argv, timeout=10)), "windows", client.OUTCOME_OF_WINSOCK)
    assert got.outcome == OUTCOME_REFUSED and got.code == 10061
    monkeypatch.setenv("STANDIN_POWERSHELL", "hang")
    r = run(Job("live.client", argv, timeout=0.5))
    assert client.parse_client(r, "windows", client.OUTCOME_OF_WINSOCK).outcome == ERROR


# --- the plan --------------------------------------------------------------------------------


class _World:
    """A World's two things a plan reads: the mode and the network facts."""

    def __init__(self, mode: str, **net) -> None:
        self.mode = mode
        self.facts = type("F", (), {"network": type("N", (), net)()})()


def test_plans_per_scenario():
    nat = _World("nat", primary_address="172.20.1.2", default_gateway_v4="172.20.0.1", primary_interface="eth0")
    p = plan.plan(nat, Scenario("windows-to-wsl-ip", 8080))
    assert (p.sent_from, p.target, p.flow.src, p.flow.iif, p.bind) == (
        "windows",
        "172.20.1.2",
        "172.20.0.1",
        "eth0",
        "0.0.0.0",
    )
    p = plan.plan(nat, Scenario("windows-localhost-v6", 8080))
    assert (p.target, p.flow.iif, p.bind) == ("::1", "lo", "::")
    p = plan.plan(nat, Scenario("wsl-to-windows", 445))
    assert (p.sent_from, p.target, p.flow.outbound, p.bind) == ("wsl", "172.20.0.1", True, None)
    assert "another machine" in plan.plan(nat, Scenario("lan-to-wsl-ip", 8080)).cannot
    assert "--dst" in plan.plan(nat, Scenario("lan-to-host", 8080)).cannot
    lan_to_host = Scenario("lan-to-host", 8080, dst=ipaddress.ip_address("192.168.1.20"))
    via_portproxy = type(
        "T", (), {"hops": [Hop("netfilter", "allow", "", packet="tcp 172.20.0.1:50000 -> 172.20.1.2:80 (in eth0)")]}
    )()
    lan = plan.plan(nat, lan_to_host, trace=via_portproxy)
    assert lan.target == "192.168.1.20" and "loopback" in lan.untested[0]
    assert (lan.flow.src, lan.flow.dst, lan.flow.port, lan.flow.iif) == ("172.20.0.1", "172.20.1.2", 80, "eth0")
    assert plan.plan(nat, lan_to_host).flow is None  # no trace into Linux: nothing to watch
    assert "hostAddressLoopback" in plan.plan(_World("mirrored"), lan_to_host).cannot
    custom = Scenario(
        "custom", 8080, src=ipaddress.ip_address("10.0.0.2"), dst=ipaddress.ip_address("10.0.0.1"), in_iface="veth0"
    )
    assert "--client-netns" in plan.plan(nat, custom).cannot
    p = plan.plan(nat, custom, "client")
    assert (p.sent_from, p.netns, p.flow.src, p.flow.iif) == ("netns:client", "client", "10.0.0.2", "veth0")
    assert "--scenario custom" in plan.plan(nat, Scenario("windows-to-wsl-ip", 8080), "client").cannot
    assert "mode" in plan.plan(_World("not-wsl"), Scenario("windows-to-wsl-ip", 8080)).cannot


def test_the_trace_table_script_carries_only_checked_values():
    text = watch.table_script("wsltui_live_1_abc", watch.Flow("tcp", 8080, 4, "10.0.0.2", "10.0.0.1", "eth0"))
    assert "ip saddr 10.0.0.2 ip daddr 10.0.0.1 meta l4proto tcp th dport 8080 meta nftrace set 1" in text
    assert "priority -350" in text and text.count("meta nftrace set 1") == 7
    with pytest.raises(ValueError):
        watch.table_script("t", watch.Flow("tcp", 8080, 4, "10.0.0.2; flush ruleset", None))


# --- the nft trace reader on real lines -----------------------------------------------------

NFT_JSON = {
    "nftables": [
        {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
        {"table": {"family": "inet", "name": "fw", "handle": 3}},
        {
            "chain": {
                "family": "inet",
                "table": "fw",
                "name": "in",
                "handle": 1,
                "type": "filter",
                "hook": "input",
                "prio": 0,
                "policy": "accept",
            }
        },
        {
            "rule": {
                "family": "inet",
                "table": "fw",
                "chain": "in",
                "handle": 2,
                "expr": [
                    {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8081}},
                    {"drop": None},
                ],
            }
        },
    ]
}
TABLE = "wsltui_live_16408_de6b97"
# From `nft -a monitor trace` (nftables 1.0.6) while a SYN to a dropped port was sent twice.
DROP_TRACE = f"""trace id 2cec3972 inet {TABLE} out packet: oif "lo" ip saddr 127.0.0.1 ip daddr 127.0.0.1 udp sport 5 udp dport 9
trace id 2cec3972 inet {TABLE} out rule ip daddr 127.0.0.1 udp dport 9 meta nftrace set 1 comment "wsltui-marker" # handle 9 (verdict continue)
trace id 3cec3972 inet {TABLE} pre packet: iif "lva" ether saddr ce:3a:f8:a7:7e:f3 ip saddr 10.99.0.2 ip daddr 10.99.0.1 ip protocol tcp tcp sport 53276 tcp dport 8081 tcp flags == syn tcp window 64240
trace id 3cec3972 inet {TABLE} pre rule ip saddr 10.99.0.2 ip daddr 10.99.0.1 tcp dport 8081 meta nftrace set 1 comment "wsltui-request" # handle 3 (verdict continue)
trace id 3cec3972 inet {TABLE} pre policy accept
trace id 3cec3972 inet fw in packet: iif "lva" ip saddr 10.99.0.2 ip daddr 10.99.0.1 tcp sport 53276 tcp dport 8081 tcp flags == syn
trace id 3cec3972 inet fw in rule tcp dport 8081 drop # handle 2 (verdict drop)
trace id 0d24a89f inet {TABLE} pre packet: iif "lva" ip saddr 10.99.0.2 ip daddr 10.99.0.1 tcp sport 53276 tcp dport 8081 tcp flags == syn
trace id 0d24a89f inet {TABLE} pre rule ip saddr 10.99.0.2 ip daddr 10.99.0.1 tcp dport 8081 meta nftrace set 1 comment "wsltui-request" # handle 3 (verdict continue)
trace id 0d24a89f inet fw in rule tcp dport 8081 drop # handle 2 (verdict drop)
""".splitlines()
FLOW = watch.Flow("tcp", 8081, 4, "10.99.0.2", "10.99.0.1", "lva")


@pytest.fixture
def world():
    snap = Snapshot()
    snap.add(Record("nf.nft", ("nft", "-j", "list", "ruleset"), json.dumps(NFT_JSON)))
    return World.from_facts(build_facts(snap))


def test_the_trace_names_the_rule_as_the_simulator_does(world):
    seen = watch.read_trace(DROP_TRACE, FLOW, world, TABLE)
    assert (seen.method, seen.reached_linux, seen.verdict, seen.reply) == ("nft-trace", True, "drop", "none")
    assert seen.chain == "nft inet fw in" and seen.rule == "nft inet fw chain in, rule 1 (handle 2)"
    assert not any("wsltui-marker" in line for line in seen.lines)


def test_a_trace_without_the_request_never_reached_linux_and_a_changed_ruleset_is_said(world):
    assert watch.read_trace(DROP_TRACE[:2], FLOW, world, TABLE).reached_linux is False
    assert watch.read_trace(DROP_TRACE[:2], FLOW, world, TABLE, started_late=True).reached_linux is None
    changed = [l.replace("# handle 2", "# handle 77") for l in DROP_TRACE]
    seen = watch.read_trace(changed, FLOW, world, TABLE)
    assert seen.verdict == "drop" and seen.rule is None and "changed since" in seen.rule_unknown


def test_a_rule_added_after_the_monitor_started_is_named_from_the_snapshot(world):
    """The monitor prints a rule it did not know at its start by handle only; the snapshot has it."""
    late = [l.replace("rule tcp dport 8081 drop # handle 2", "unknown rule handle 2") for l in DROP_TRACE]
    seen = watch.read_trace(late, FLOW, world, TABLE)
    assert seen.verdict == "drop" and seen.rule == "nft inet fw chain in, rule 1 (handle 2)"


def test_replies_are_told_apart():
    def reply(flags: str) -> str:
        return watch._reply([watch._Packet(role=watch.REPLY, flags=flags)], "tcp")

    assert (reply("0x12"), reply("0x14"), reply("syn|ack"), reply("ack")) == ("syn-ack", "rst", "syn-ack", "none")


# --- the packet capture's parser ---------------------------------------------------------------


def _ipv4(src: str, dst: str, proto: int, body: bytes) -> bytes:
    return (
        bytes([0x45, 0, 0, 20 + len(body), 0, 0, 0, 0, 64, proto, 0, 0])
        + ipaddress.ip_address(src).packed
        + ipaddress.ip_address(dst).packed
        + body
    )


def _tcp(sport: int, dport: int, flags: int) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 0x50, flags, 0, 0, 0)


def test_the_capture_sees_the_request_the_reply_and_icmp_errors():
    syn = _ipv4("10.0.0.2", "10.0.0.1", 6, _tcp(40000, 8080, 0x02))
    rst = _ipv4("10.0.0.1", "10.0.0.2", 6, _tcp(8080, 40000, 0x14))
    icmp = _ipv4("10.0.0.1", "10.0.0.2", 1, bytes([3, 10, 0, 0, 0, 0, 0, 0]) + syn[:28])
    other = _ipv4("10.0.0.9", "10.0.0.1", 6, _tcp(40000, 22, 0x02))
    lines = [
        capture.line_of(capture.parse(p, capture.ETH_P_IP), "tcp", 8080, "10.0.0.2") for p in (syn, rst, icmp, other)
    ]
    assert lines == [
        "req tcp 10.0.0.2:40000 > 10.0.0.1:8080 flags=0x02",
        "rep tcp 10.0.0.1:8080 > 10.0.0.2:40000 flags=0x14",
        "icmp 10.0.0.1 > 10.0.0.2 type=3 code=10",
        None,
    ]
    seen = watch.read_capture(["ready", *lines[:2]])
    assert (seen.method, seen.reached_linux, seen.reply, seen.rule) == ("af-packet", True, "rst", None)
    assert "not rules" in seen.rule_unknown
    assert watch.read_capture(["ready"]).reached_linux is False
    assert capture.parse(b"\x45garbage", capture.ETH_P_IP) is None


# --- the stored records -----------------------------------------------------------------------


def _observation(port: int = 8080) -> Observation:
    return Observation(
        "custom",
        "tcp",
        port,
        "2026-12-02T06:00:00+00:00",
        ClientOutcome("wsl", CONNECTED, 3, DATA),
        LinuxWatch("none", skipped="--read-only"),
    )


def test_stored_records_come_back_in_a_whole_capture(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    live_records.save(to_record(_observation(), ("python3", "-m", "wsltui.live.connect"), 0.1))
    live_records.save(to_record(_observation(), ("again",), 0.2))  # the newest of a flow replaces the older
    (live_records.records_dir() / "live.tcp-1-x;rm.json").write_text("{}")  # not a record name: skipped
    got = live_records.load_all()
    assert [r.name for r in got] == ["live.tcp-8080-custom"] and got[0].argv == ("again",)
    assert parse_observation(got[0].stdout) == _observation()
    assert oct(os.stat(live_records.records_dir() / "live.tcp-8080-custom.json").st_mode & 0o777) == "0o600"
    with pytest.raises(ValueError):
        live_records.save(Record("live.tcp-8080-../../x", (), ""))


# --- background processes ------------------------------------------------------------------------


def test_a_background_process_is_read_as_it_prints_and_stopped_with_what_it_started(tmp_path):
    pidfile = tmp_path / "pid"
    bg = start(Job("t", ("sh", "-c", f"sleep 30 & echo $! > {pidfile}; echo ready; wait"), timeout=20))
    assert isinstance(bg, Background)
    assert bg.wait_for(lambda l: l == "ready", 5) == "ready"
    child = int(pidfile.read_text())
    record = bg.stop(grace=0.5)
    assert record.stdout == "ready\n" and record.error is None
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split(")")[1][:3]


def test_a_background_process_is_killed_at_its_timeout_and_a_missing_one_is_a_record():
    bg = start(Job("t", (sys.executable, "-c", "import time; time.sleep(30)"), timeout=0.3))
    time.sleep(0.6)
    assert not bg.running() and bg.stop().error == "timed out after 0.3 s"
    missing = start(Job("t", ("wsltui-no-such-tool",)))
    assert isinstance(missing, Record) and "command not found" in missing.error
