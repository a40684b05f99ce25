"""Odd input, placed deliberately rather than by chance (test_bad_input.py mutates text at random):
every value of the JSON records replaced by a value of the wrong type, an empty string or a huge
number; every iptables-save rule line cut short; huge numbers and empty strings where numbers and
names go. Nothing raises: not the parsers, not the compiled World, not a trace, not the report;
and what was not understood is said (a problem, or an unknown)."""

from __future__ import annotations

import copy
import ipaddress
import json
from pathlib import Path

import pytest

from wsltui import demos, report, snapshot
from wsltui.facts import build_facts
from wsltui.snapshot import Record
from wsltui.simulation.simulate import Scenario, World, simulate

SCENARIOS = ("windows-localhost-v4", "windows-localhost-v6", "windows-to-wsl-ip", "lan-to-host", "wsl-to-windows")
ODD = [None, [], {}, "", 0, -1, 10**30, True, "x", 1.5, [None], {"": None}]
HUGE = str(10**30)


def _everything(snap: snapshot.Snapshot, port: int = 8080, with_report: bool = True) -> None:
    facts = build_facts(snap)
    assert facts.failures == {}, facts.failures
    world = World.from_facts(facts)
    for sc in SCENARIOS:
        simulate(world, Scenario(sc, port)).to_json()
    simulate(
        world,
        Scenario("custom", port, "tcp", ipaddress.ip_address("10.0.0.2"), ipaddress.ip_address("10.0.0.1"), "eth0"),
    ).to_json()
    if not with_report:
        return
    rep = report.build(snap, facts=facts)
    assert not [e for e in rep.errors if e.startswith("simulate")], rep.errors
    report.render(rep, "json")


def _paths(value, path=()):
    """Every place in a JSON value (lists: every item at the top two levels, the first three below)."""
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value if len(path) < 2 else value[:3]):
            yield from _paths(v, path + (i,))


def _replaced(value, path, new):
    if not path:
        return new
    value = copy.deepcopy(value)
    where = value
    for k in path[:-1]:
        where = where[k]
    where[path[-1]] = new
    return value


def _cases(demo: str, record: str, every: int):
    base = demos.load(demo)
    data = json.loads(base.get(record).stdout)
    for n, path in enumerate(_paths(data)):
        if n % every == 0:
            for odd in ODD:
                yield base, record, path, odd, data, n % (7 * every) == 0


# Every place of the bigger records is too slow for a unit test: a deterministic sample of
# places (every n-th), each with every odd value. /tmp fuzzing of every place found the same bugs.
JSON_RECORDS = [
    ("nat-firewalld-reject", "nf.nft", 41),
    ("nat-healthy", "net.addr", 2),
    ("nat-healthy", "net.route", 2),
    ("lan-stale-portproxy", "net.addr", 5),
    ("nat-healthy", "win.powershell", 17),
    ("mirrored-hyperv-lan", "win.powershell", 19),
]


@pytest.mark.parametrize("demo,record,every", JSON_RECORDS, ids=[f"{d}:{r}" for d, r, _ in JSON_RECORDS])
def test_a_wrong_json_type_anywhere_never_raises(demo, record, every):
    for base, name, path, odd, data, with_report in _cases(demo, record, every):
        snap = snapshot.Snapshot(records=dict(base.records), meta=dict(base.meta))
        snap.add(Record(name, base.get(name).argv, json.dumps(_replaced(data, path, odd))))
        try:
            _everything(snap, with_report=with_report)  # the report (slow) on one place in seven
        except Exception as e:  # say which replacement, not only the traceback
            raise AssertionError(f"{demo} {name} {path!r} = {odd!r}: {type(e).__name__}: {e}") from e


def test_an_nft_match_that_is_null_is_unknown_not_a_traceback():
    base = demos.load("nat-firewalld-reject")
    data = json.loads(base.get("nf.nft").stdout)
    rule = next(item["rule"] for item in data["nftables"] if "rule" in item and item["rule"]["chain"] == "filter_INPUT")
    rule["expr"].insert(0, {"match": None})
    snap = snapshot.Snapshot(records=dict(base.records), meta=dict(base.meta))
    snap.add(Record("nf.nft", base.get("nf.nft").argv, json.dumps(data)))
    facts = build_facts(snap)
    assert any("match is not an object" in p for p in facts.nft.problems)
    trace = simulate(World.from_facts(facts), Scenario("windows-to-wsl-ip", 8080))
    hop = next(h for h in trace.hops if h.layer == "netfilter")
    assert hop.verdict == "unknown" and "not a JSON object" in hop.reason
    _everything(snap)


def test_an_address_that_is_not_an_address_is_skipped_and_said():
    base = demos.load("lan-stale-portproxy")
    data = json.loads(base.get("net.addr").stdout)
    eth0 = next(i for i in data if i.get("ifname") == "eth0")
    eth0["addr_info"][0]["local"] = "x"
    snap = snapshot.Snapshot(records=dict(base.records), meta=dict(base.meta))
    snap.add(Record("net.addr", base.get("net.addr").argv, json.dumps(data)))
    facts = build_facts(snap)
    assert any("'x' is not an inet address" in p for p in facts.network.problems)
    assert facts.network.primary_address != "x"
    _everything(snap)


GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.mark.parametrize("golden", ["iptables-docker", "iptables-ufw", "iptables-nat"])
def test_every_rule_line_cut_short_never_raises(golden):
    source = snapshot.load(GOLDEN / golden)
    base = demos.load("nat-healthy")
    for name in ("nf.iptables-nft", "nf.iptables-legacy"):
        rec = source.get(name)
        if rec is None or not rec.stdout.strip():
            continue
        lines = rec.stdout.splitlines()
        rules = [i for i, line in enumerate(lines) if line.startswith("-A ")]
        for i in rules[:: max(1, len(rules) // 12)]:
            for cut in range(3, len(lines[i]), 4):
                cut_lines = lines[:i] + [lines[i][:cut]] + lines[i + 1 :]
                snap = snapshot.Snapshot(records=dict(base.records), meta=dict(base.meta))
                snap.add(Record(name, rec.argv, "\n".join(cut_lines) + "\n"))
                try:
                    _everything(snap)
                except Exception as e:
                    raise AssertionError(f"{golden} {name}: {lines[i][:cut]!r}: {type(e).__name__}: {e}") from e


ODD_TEXT = {
    "nf.iptables-nft": [
        f"*filter\n:INPUT DROP [{HUGE}:{HUGE}]\n-A INPUT -p tcp -m tcp --dport {HUGE} -j ACCEPT\nCOMMIT\n",
        f"*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m multiport --dports 1:{HUGE},{HUGE} -j ACCEPT\nCOMMIT\n",
        f"*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.0.0.0/{HUGE} -d ::/{HUGE} -j ACCEPT\nCOMMIT\n",
        f"*filter\n:INPUT DROP [0:0]\n-A INPUT -p {HUGE} -m mark --mark {HUGE}/{HUGE} -j ACCEPT\nCOMMIT\n",
        '*filter\n:INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate "" -j REJECT --reject-with ""\nCOMMIT\n',
        f"*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 1.2.3.4:{HUGE}\nCOMMIT\n",
        f"*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 8080 -j REDIRECT --to-ports {HUGE}-1\nCOMMIT\n",
        '*filter\n:INPUT DROP [0:0]\n-A INPUT -i "" -p "" --dport "" -j ""\nCOMMIT\n',
        f"[{HUGE}:1] -A INPUT -j ACCEPT\n*filter\n:INPUT DROP [0:0]\n[-1:-1] -A INPUT -j DROP\nCOMMIT\n",
    ],
    "net.sockets": [
        f"tcp LISTEN 0 128 0.0.0.0:{HUGE} 0.0.0.0:* ino:{HUGE} uid:{HUGE} sk:1 <->\n",
        f'tcp LISTEN {HUGE} {HUGE} [::]:8080 [::]:* users:(("",pid={HUGE},fd={HUGE})) v6only:{HUGE} <->\n',
        "tcp LISTEN 0 128 :8080 0.0.0.0:*\ntcp LISTEN 0 128 []:8080 *:*\ntcp LISTEN 0 128 %:8080 *:*\n",
    ],
    "ufw.status": [
        f"Status: active\n\nTo                         Action      From\n--                         ------      ----\n"
        f"{HUGE}/tcp ALLOW IN Anywhere\n8080:{HUGE}/udp ALLOW IN Anywhere\n8080/tcp ALLOW IN 10.0.0.0/{HUGE}\n"
        f"[{HUGE}] 22 DENY IN Anywhere\n"
    ],
    "firewalld.zones": [
        f"public (active)\n  target: default\n  interfaces: eth0\n  ports: {HUGE}/tcp 8080-{HUGE}/udp /tcp 80/\n"
        f'  rich rules: \n\trule family="ipv4" source address="10.0.0.0/{HUGE}" port port="{HUGE}" '
        f'protocol="tcp" accept\n\trule priority="{HUGE}" family="ipv4" accept\n'
    ],
    "wsl.version": [f"WSL version: {HUGE}.{HUGE}.0\nKernel version: \nWindows version: 10.0.{HUGE}\n", ""],
    "wsl.wslconfig": [
        f"[wsl2]\nnetworkingMode=\nignoredPorts={HUGE},-1,,x\nlocalhostForwarding=\n",
        "[experimental]\nhostAddressLoopback=\n[wsl2\n",
    ],
    "win.excluded-tcp4": [
        f"\r\nProtocol tcp Port Exclusion Ranges\r\n\r\nStart Port    End Port\r\n----------    --------\r\n"
        f"{HUGE}  {HUGE}\r\n  8080  \r\n     -1     -5 *\r\n"
    ],
    "win.portproxy": [
        f"HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\PortProxy\\v4tov4\\tcp\r\n"
        f"    0.0.0.0/{HUGE}    REG_SZ    172.28.0.2/{HUGE}\r\n    /    REG_SZ    /\r\n"
    ],
}


@pytest.mark.parametrize("record,text", [(r, t) for r, texts in ODD_TEXT.items() for t in texts])
def test_huge_numbers_and_empty_strings_never_raise(record, text):
    base = demos.load("nat-healthy")
    snap = snapshot.Snapshot(records=dict(base.records), meta=dict(base.meta))
    snap.add(Record(record, base.get(record).argv if base.get(record) else (), text))
    for port in (8080, 65535, 1):
        _everything(snap, port)
