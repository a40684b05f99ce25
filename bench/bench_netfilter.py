#!/usr/bin/env python3
"""Benchmark: wsltui's iptables-save parser, compiler and packet trace vs ``iptables-nft-restore --test``.

Not a test. Run from the repository root::

    python bench/bench_netfilter.py [--sizes 1000,10000,100000] [--repeat 5] [--verdict policy]
    python bench/bench_netfilter.py --sizes 100000 --profile        # + cProfile of each phase

For every size it writes one generated iptables-save file (see ``generate``), then

* in a fresh Python subprocess per size (``--worker``), so sizes do not share a heap:
  - peak memory: ``ru_maxrss`` of that process after one full pipeline (build_facts +
    World.from_facts + one simulate, everything kept alive as the app does), minus the
    ``ru_maxrss`` measured right after the imports, before the file is read ("our peak");
    the absolute ``ru_maxrss`` and tracemalloc peaks (parse only, full pipeline) are reported too;
  - median wall time over --repeat runs of ``parse_iptables_save``, of the full compile
    (``build_facts`` + ``World.from_facts``, which includes the parse) and of one trace
    (the first ``simulate`` on a World just built; then ``simulate`` again and the raw
    ``evaluate.deliver``, timeit with as many calls per sample as fit in 0.2 s);
* ``iptables-nft-restore --test < FILE`` --repeat times, inside a throw-away network namespace
  (``ip netns add wtbench-<pid>``, deleted at the end), entered with setns(2) in the child just
  before exec so that ``os.wait4``'s ``ru_maxrss`` is the restore process's own peak RSS.
  ``--test`` only parses and builds the nf_tables batch and then aborts it; the script checks
  that ``nft list ruleset`` of the current namespace is unchanged and the bench namespace is
  still empty afterwards.

Memory is measured with ``ru_maxrss`` of a fresh process (kernel high-water mark: counts
everything, including freed-but-not-returned heap), not tracemalloc alone (only Python
allocations, and it slows the run down), and never in the process that ran the timing loops.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import hashlib
import ipaddress
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RESTORE = "iptables-nft-restore"
SRC, DST, IIF, PORT, PROTO = "10.0.0.2", "10.0.0.1", "eth0", 8080, "tcp"

# --- ruleset generator ----------------------------------------------------------------------
#
# The traced packet is the first packet of a TCP connection 10.0.0.2:50000 -> 10.0.0.1:8080 in
# on eth0. The filter table:
#
#   INPUT (policy DROP): lo / ESTABLISHED / INVALID / icmp, then one jump per interface zone
#     -i eth0 -j ZONE-eth0   -i eth1 -j ZONE-eth1   -i wg0 -j ZONE-wg0   -i docker0 -j ZONE-docker0
#     then ssh accept and a rate-limited LOG.
#   ZONE-<if>: one jump per tenant chain, by source subnet / destination / protocol. ~88% of
#     all tenant chains hang under ZONE-eth0 and ~90% of those jumps match the packet.
#   T-<n> tenant chains (10..40 rules): -s/-d CIDRs, -i/! -i, -p tcp/udp --dport single and
#     ranges, multiport, conntrack --ctstate, comments with embedded quotes, REJECT (various
#     --reject-with), DROP, ACCEPT, LOG (some of which match: non-terminal), RETURN.
#
# Every terminal rule in a tenant chain misses the packet (a port that is not 8080, a range
# that does not hold it, udp, another interface or subnet, ct state INVALID/ESTABLISHED ...),
# so the packet walks every chain it enters and, with --verdict policy, falls through to
# INPUT's DROP policy. --verdict reject|accept puts a rule that matches it last in the last
# tenant chain it enters.

PORTS = [
    21,
    22,
    23,
    25,
    53,
    80,
    110,
    111,
    123,
    143,
    389,
    443,
    465,
    514,
    587,
    636,
    993,
    995,
    1194,
    1433,
    1521,
    2049,
    2379,
    3000,
    3306,
    3389,
    5000,
    5432,
    5672,
    5900,
    6379,
    6443,
    8000,
    8443,
    8888,
    9090,
    9200,
    9300,
    10250,
    11211,
    15672,
    27017,
]
RANGES = [
    "1:1023",
    "5000:5100",
    "9000:9999",
    "30000:32767",
    "60000:61000",
    "6000:6063",
    "8081:8089",
    "137:139",
    "49152:65535",
]
MULTI = [
    "22,80,443",
    "3306,5432,6379",
    "9000:9100,9200",
    "25,465,587",
    "80,443,8443,9443",
    "53,123",
    "6443,2379:2380,10250",
    "137:139,445",
]
REJECTS = [
    "icmp-port-unreachable",
    "tcp-reset",
    "icmp-host-prohibited",
    "icmp-admin-prohibited",
    "icmp-net-unreachable",
    "icmp-host-unreachable",
]
COMMENT_WORDS = [
    "allow",
    "deny",
    "web",
    "db",
    "tier",
    "legacy",
    "ops",
    "team",
    "backup",
    "monitoring",
    "vpn",
    "k8s",
    "node",
    "billing",
    "it's",
    "temp",
]


def _miss_src(rng: random.Random) -> str:
    """A source network the packet (10.0.0.2) is not in."""
    k = rng.random()
    if k < 0.4:
        return f"10.{rng.randint(1, 254)}.{rng.randint(0, 255)}.0/24"
    if k < 0.7:
        return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}/32"
    if k < 0.9:
        return f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.0/24"
    return f"100.{rng.randint(64, 127)}.0.0/16"


def _hit_src(rng: random.Random) -> str:
    return rng.choice(["10.0.0.0/8", "10.0.0.0/16", "10.0.0.0/24", "10.0.0.0/20", "10.0.0.2/32"])


def _comment(rng: random.Random, n: int) -> str:
    words = rng.sample(COMMENT_WORDS, 3)
    if rng.random() < 0.5:
        words[1] = f'"{words[1]}"'
    # iptables-save escapes " \ and ' inside quotes (xtables_save_string)
    text = " ".join(words).replace("'", "\\'").replace('"', '\\"')
    return f'-m comment --comment "{text} #{n}"'


def _tenant_rule(rng: random.Random, n: int) -> str:
    """One rule body (after ``-A CHAIN``) of a tenant chain; terminal ones never match the packet."""
    k = rng.random()
    port = rng.choice(PORTS)
    if k < 0.14:  # src subnet + port: both miss
        return f"-s {_miss_src(rng)} -p tcp -m tcp --dport {port} -j ACCEPT"
    if k < 0.24:  # src matches, port misses
        return f"-s {_hit_src(rng)} -d {DST}/32 -p tcp -m tcp --dport {port} -m conntrack --ctstate NEW -j ACCEPT"
    if k < 0.32:  # udp
        spec = rng.choice([str(port), rng.choice(RANGES)])
        return f"-p udp -m udp --dport {spec} -j ACCEPT"
    if k < 0.40:  # tcp range that does not hold 8080
        return f"-s {_hit_src(rng)} -p tcp -m tcp --dport {rng.choice(RANGES)} -j ACCEPT"
    if k < 0.50:  # multiport, with a comment
        return f"-p tcp -m multiport --dports {rng.choice(MULTI)} {_comment(rng, n)} -j ACCEPT"
    if k < 0.56:
        return "-m conntrack --ctstate INVALID -j DROP"
    if k < 0.60:
        return "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    if k < 0.68:  # REJECT variants, on a port or network that misses
        rw = rng.choice(REJECTS)
        if rw == "tcp-reset" or rng.random() < 0.5:
            return f"-p tcp -m tcp --dport {port} -j REJECT --reject-with {rw}"
        return f"-s {_miss_src(rng)} -j REJECT --reject-with {rw}"
    if k < 0.76:  # DROP by source
        return f"-s {_miss_src(rng)} -j DROP"
    if k < 0.80:  # another interface
        iface = rng.choice(["eth1", "docker0", "wg0", "br-1a2b3c4d5e6f", "veth" + format(rng.getrandbits(28), "07x")])
        return f"-i {iface} -p tcp -m tcp --dport {port} -j ACCEPT"
    if k < 0.83:  # not from eth0: misses
        return f"-s {_hit_src(rng)} ! -i {IIF} -j DROP"
    if k < 0.86:  # destination misses
        return f"-d 10.0.{rng.randint(1, 255)}.{rng.randint(1, 254)}/32 -p tcp -m tcp --dport {PORT} -j ACCEPT"
    if k < 0.90:  # negated source that misses (the packet is in 10/8)
        return f"! -s 10.0.0.0/8 -p tcp -m tcp --dport {PORT} -j DROP"
    if k < 0.95:  # LOG that misses
        return f'-p tcp -m tcp --dport {port} -j LOG --log-prefix "T{n} {port}: "'  # level 4: not printed
    # LOG that matches the packet: non-terminal, the walk goes on
    return f'-s {_hit_src(rng)} -p tcp -m tcp --dport 1024:65535 -j LOG --log-prefix "T{n} hi: "'


@dataclass
class Generated:
    text: str
    rules: int
    chains: int
    walked: int  # rules the packet is tested against, by construction
    verdict: str  # what the trace must end with
    notes: dict = field(default_factory=dict)


def generate(size: int, seed: int = 1, verdict: str = "policy") -> Generated:
    rng = random.Random(seed * 1_000_003 + size)
    head = [
        "-i lo -j ACCEPT",
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-m conntrack --ctstate INVALID -j DROP",
        "-p icmp -m icmp --icmp-type 8 -j ACCEPT",
    ]
    zones = [("eth0", 0.88), ("eth1", 0.05), ("wg0", 0.04), ("docker0", 0.03)]
    tail = [
        "-p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT",
        '-m limit --limit 5/min -j LOG --log-prefix "INPUT drop: " --log-level 6',
    ]
    fixed = len(head) + len(zones) + len(tail)
    # tenant chains of 10..40 rules (25 on average) + one jump each in a zone chain
    n_tenants = max(1, (size - fixed) // 26)
    budget = size - fixed - n_tenants  # rules inside tenant chains
    if budget < n_tenants:
        raise SystemExit(f"size {size} is too small")
    sizes = [rng.randint(10, 40) for _ in range(n_tenants)]
    scale = budget / sum(sizes)
    sizes = [max(1, round(s * scale)) for s in sizes]
    diff = budget - sum(sizes)
    i = 0
    while diff:
        j = i % n_tenants
        if diff > 0:
            sizes[j] += 1
            diff -= 1
        elif sizes[j] > 1:
            sizes[j] -= 1
            diff += 1
        i += 1

    zone_of = []
    for _ in range(n_tenants):
        r, acc = rng.random(), 0.0
        for z, p in zones:  # noqa: B007 (z: the zone the draw landed in, used after the loop)
            acc += p
            if r < acc:
                break
        zone_of.append(z)
    tenants = [f"T-{t:05d}" for t in range(n_tenants)]
    jumps: dict[str, list[tuple[str, bool]]] = {z: [] for z, _ in zones}
    enters: list[bool] = []
    for t, name in enumerate(tenants):
        z = zone_of[t]
        hit = z == IIF and rng.random() < 0.9
        if hit:
            cond = rng.choice(
                [
                    f"-s {_hit_src(rng)}",
                    f"-s {_hit_src(rng)} -p tcp",
                    f"-d {DST}/32",
                    "-p tcp",
                    f"-s {_hit_src(rng)} -d {DST}/32",
                ]
            )
        else:
            cond = rng.choice(
                [f"-s {_miss_src(rng)}", f"-s {_miss_src(rng)}", "-p udp", f"-d 10.0.{rng.randint(1, 255)}.1/32"]
            )
        jumps[z].append((f"{cond} -j {name}", hit))
        enters.append(hit)
    last = max(t for t in range(n_tenants) if enters[t]) if any(enters) else None

    walked = 0
    body: dict[str, list[str]] = {}
    for t, name in enumerate(tenants):
        rules = [_tenant_rule(rng, t) for _ in range(sizes[t])]
        if t != last and sizes[t] > 3 and rng.random() < 0.3:
            rules[-1] = "-j RETURN"
        if t == last and verdict != "policy":
            rules[-1] = f"-s {_hit_src(rng)} -p tcp -m tcp --dport 8000:8099 -m conntrack --ctstate NEW " + (
                "-j REJECT --reject-with tcp-reset"
                if verdict == "reject"
                else '-m comment --comment "app \\"main\\" port" -j ACCEPT'
            )
        body[name] = rules
        if enters[t]:
            walked += len(rules)

    # walked so far: rules of entered tenant chains. Add INPUT and the zone chain walks.
    zone_eth0 = len(jumps["eth0"])
    if verdict == "policy":
        walked += len(head) + len(zones) + len(tail) + zone_eth0
    else:  # stops in the last tenant chain it enters: the eth0 jumps up to it, INPUT up to ZONE-eth0
        idx = [k for k, (rule, _) in enumerate(jumps["eth0"]) if rule.endswith(f"-j {tenants[last]}")][0]
        walked += len(head) + 1 + idx + 1
    out = [
        "# Generated by iptables-nft-save v1.8.9 (nf_tables) on Thu Jan  1 00:00:00 2026",
        "*filter",
        ":INPUT DROP [0:0]",
        ":FORWARD DROP [0:0]",
        ":OUTPUT ACCEPT [0:0]",
    ]
    # as iptables-nft-save prints it: builtin chains, then user chains sorted by name
    for z, _ in zones:
        body[f"ZONE-{z}"] = [rule for rule, _ in jumps[z]]
    user = sorted(body)
    out += [f":{name} - [0:0]" for name in user]
    out += [f"-A INPUT {r}" for r in head]
    out += [f"-A INPUT -i {z} -j ZONE-{z}" for z, _ in zones]
    out += [f"-A INPUT {r}" for r in tail]
    for name in user:
        out += [f"-A {name} {r}" for r in body[name]]
    out += ["COMMIT", "# Completed on Thu Jan  1 00:00:00 2026", ""]
    text = "\n".join(out)
    rules = sum(1 for line in out if line.startswith("-A "))
    assert rules == size, (rules, size)
    return Generated(
        text,
        rules,
        len(zones) + n_tenants + 3,
        walked,
        {"policy": "drop", "reject": "reject", "accept": "accept"}[verdict],
        {"tenant_chains": n_tenants, "entered": sum(enters)},
    )


# --- the wsltui side (runs in a fresh subprocess per size) ---------------------------------

NFT_EMPTY = json.dumps(
    {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}]}
)
ADDR = json.dumps(
    [
        {
            "ifindex": 1,
            "ifname": "lo",
            "flags": ["LOOPBACK", "UP", "LOWER_UP"],
            "mtu": 65536,
            "operstate": "UNKNOWN",
            "link_type": "loopback",
            "address": "00:00:00:00:00:00",
            "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host", "label": "lo"}],
        },
        {
            "ifindex": 2,
            "ifname": "eth0",
            "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
            "mtu": 1500,
            "operstate": "UP",
            "link_type": "ether",
            "address": "00:15:5d:00:00:01",
            "addr_info": [
                {
                    "family": "inet",
                    "local": "10.0.0.1",
                    "prefixlen": 24,
                    "broadcast": "10.0.0.255",
                    "scope": "global",
                    "label": "eth0",
                }
            ],
        },
    ]
)
SS = 'tcp   LISTEN 0      128          0.0.0.0:8080      0.0.0.0:*    users:(("main",pid=1,fd=3)) ino:1 sk:1 <->\n'


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _snapshot(text: str):
    from wsltui.snapshot import Record, Snapshot

    snap = Snapshot()
    snap.add(Record("nf.iptables-nft", ("iptables-nft-save",), text))
    snap.add(Record("nf.nft", ("nft", "-j", "list", "ruleset"), NFT_EMPTY))
    snap.add(Record("net.addr", ("ip", "-j", "addr", "show"), ADDR))
    snap.add(Record("net.sockets", ("ss", "-H", "-l", "-n", "-t", "-u", "-p", "-e"), SS))
    return snap


def _scenario():
    from wsltui.simulation.simulate import Scenario

    return Scenario("custom", PORT, PROTO, ipaddress.ip_address(SRC), ipaddress.ip_address(DST), IIF)


def _packet():
    from wsltui.simulation.packet import Packet

    return Packet(PROTO, ipaddress.ip_address(SRC), ipaddress.ip_address(DST), PORT, iif=IIF)


def _median_time(fn, repeat: int, setup=None) -> tuple[float, list[float], float]:
    """Median wall seconds, all wall samples, median CPU seconds of this process. With ``setup``,
    each run times ``fn(setup())`` and not the setup."""
    times, cpu = [], []
    for _ in range(repeat):
        arg = setup() if setup else None
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn(arg) if setup else fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        del result, arg
    return statistics.median(times), times, statistics.median(cpu)


def _per_call(fn, repeat: int, timer=time.perf_counter) -> tuple[float, int, list[float]]:
    t = timeit.Timer(fn, timer=timer)
    number, _ = timeit.Timer(fn).autorange()
    samples = [x / number for x in t.repeat(repeat=repeat, number=number)]
    return statistics.median(samples), number, samples


def _count_rules(world) -> tuple[int, int]:
    """(pre-filter candidates decided, rules left to walk) in one deliver() on fresh packet views:
    every candidate the walk reaches is decided once (walk.left_to_test), and only the rules left
    are walked by the next trace of the packet. Views are decided 64 candidates at a time, so a
    walk that stops early may decide a few more than it reaches."""
    from wsltui.simulation.netfilter import walk
    from wsltui.simulation.netfilter.evaluate import deliver

    decide = walk.left_to_test
    counts = [0, 0]

    def counting(rule, pkt, host):
        left = decide(rule, pkt, host)
        counts[0] += 1
        counts[1] += left is not None
        return left

    for table in world.netfilter.tables:
        table.forget_views()
    walk.left_to_test = counting
    try:
        deliver(world.netfilter, _packet(), world.host)
    finally:
        walk.left_to_test = decide
    return counts[0], counts[1]


def worker(path: str, repeat: int, expect: str) -> dict:
    """Everything measured on the wsltui side for one file, in this (fresh) process."""
    import tracemalloc

    from wsltui.facts import build_facts
    from wsltui.facts.iptables import parse_iptables_save
    from wsltui.simulation.netfilter.evaluate import deliver
    from wsltui.simulation.simulate import World, simulate

    out: dict = {}
    gc.collect()
    base_max, base_rss = _maxrss_mib(), _rss_mib()
    text = Path(path).read_text()
    sc = _scenario()

    # 1. peak RSS of one full pipeline, all results alive (as in the app)
    facts = build_facts(_snapshot(text))
    world = World.from_facts(facts)
    trace = simulate(world, sc)
    out["maxrss_mib"] = _maxrss_mib()
    out["base_maxrss_mib"] = base_max
    out["peak_delta_mib"] = out["maxrss_mib"] - base_max
    out["retained_rss_mib"] = _rss_mib() - base_rss
    rs = facts.iptables.iptables_nft
    out["parsed_rules"] = rs.rule_count()
    out["problems"] = rs.problems[:5]
    out["n_problems"] = len(rs.problems)
    hop = trace.hops[0]
    out["verdict"] = hop.verdict
    out["decided_by"] = hop.rule or ""
    out["trace_hops"] = [h.layer + ":" + h.verdict for h in trace.hops]
    raw = deliver(world.netfilter, _packet(), world.host)
    out["deliver_verdict"] = raw.verdict
    out["decided"], out["walked"] = _count_rules(world)
    out["ok"] = raw.verdict == expect and out["n_problems"] == 0 and out["parsed_rules"] > 0
    del facts, world, trace, raw, rs
    gc.collect()

    # 2. tracemalloc peaks (Python allocations only), parse alone and the full pipeline
    tracemalloc.start()
    r = parse_iptables_save(text, backend="nft", family="ipv4")
    out["tm_parse_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    out["tm_parse_retained_mib"] = tracemalloc.get_traced_memory()[0] / 2**20
    del r
    gc.collect()
    tracemalloc.reset_peak()
    t0 = tracemalloc.get_traced_memory()[0]
    facts = build_facts(_snapshot(text))
    out["tm_facts_retained_mib"] = (tracemalloc.get_traced_memory()[0] - t0) / 2**20
    world = World.from_facts(facts)
    simulate(world, sc)
    cur, peak = tracemalloc.get_traced_memory()
    out["tm_full_peak_mib"] = (peak - t0) / 2**20
    out["tm_full_retained_mib"] = (cur - t0) / 2**20
    tracemalloc.stop()
    del facts, world
    gc.collect()

    # 3. times
    out["parse_s"], out["parse_all"], out["parse_cpu"] = _median_time(
        lambda: parse_iptables_save(text, backend="nft", family="ipv4"), repeat
    )

    def pipeline():
        f = build_facts(_snapshot(text))
        return f, World.from_facts(f)

    def facts_only():
        return build_facts(_snapshot(text))

    out["compile_s"], out["compile_all"], out["compile_cpu"] = _median_time(pipeline, repeat)
    out["facts_s"], _, out["facts_cpu"] = _median_time(facts_only, repeat)
    facts = build_facts(_snapshot(text))
    out["world_s"], _, out["world_cpu"] = _median_time(lambda: World.from_facts(facts), repeat)
    # The first trace on a World just built compiles the rules the packet meets and decides its
    # views; the next traces of that packet only walk.
    out["first_trace_s"], _, out["first_trace_cpu"] = _median_time(
        lambda w: simulate(w, sc), repeat, setup=lambda: World.from_facts(facts)
    )
    world = World.from_facts(facts)
    simulate(world, sc)
    gc.collect()
    out["trace_s"], out["trace_number"], out["trace_all"] = _per_call(lambda: simulate(world, sc), repeat)
    out["trace_cpu"], _, _ = _per_call(lambda: simulate(world, sc), repeat, time.process_time)
    pkt = _packet()
    out["deliver_s"], _, _ = _per_call(lambda: deliver(world.netfilter, pkt, world.host), repeat)
    out["deliver_cpu"], _, _ = _per_call(lambda: deliver(world.netfilter, pkt, world.host), repeat, time.process_time)
    return out


# --- iptables-nft-restore --test --------------------------------------------------------------

CLONE_NEWNET = 0x40000000


class Netns:
    """A throw-away network namespace (``ip netns add``), deleted on exit."""

    def __init__(self) -> None:
        self.name = f"wtbench-{os.getpid()}"
        self.path = f"/run/netns/{self.name}"

    def __enter__(self) -> Netns:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["ip", "netns", "delete", self.name], check=False)

    def preexec(self):
        path = self.path

        def enter() -> None:  # in the child, between fork and exec
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(path, os.O_RDONLY)
            if libc.setns(fd, CLONE_NEWNET) != 0:
                os._exit(120)
            os.close(fd)

        return enter

    def run(self, argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, preexec_fn=self.preexec(), capture_output=True, text=True)


def restore_once(ns: Netns, path: str, restore: str) -> tuple[float, float, int, str, float]:
    """(seconds, peak RSS MiB, exit code, stderr, CPU seconds) of ``iptables-nft-restore --test < path``."""
    with open(path, "rb") as f:
        t0 = time.perf_counter()
        p = subprocess.Popen(
            [restore, "--test"], stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=ns.preexec()
        )
        err = p.stderr.read()  # small; read before wait4 so a chatty child cannot block
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    return dt, ru.ru_maxrss / 1024, p.returncode, err.decode(errors="replace")[-300:], ru.ru_utime + ru.ru_stime


def _ruleset_digest(argv: list[str], ns: Netns | None = None) -> str:
    r = ns.run(argv) if ns else subprocess.run(argv, capture_output=True, text=True)
    text = r.stdout if r.returncode == 0 else f"rc={r.returncode} {r.stderr}"
    return hashlib.sha256(text.encode()).hexdigest()[:16] + f" ({len(text)} bytes)"


# --- profile ------------------------------------------------------------------------------------


def profile(path: str, top: int) -> None:
    import cProfile
    import pstats

    from wsltui.facts import build_facts
    from wsltui.facts.iptables import parse_iptables_save
    from wsltui.simulation.simulate import World, simulate

    text = Path(path).read_text()
    sc = _scenario()
    facts = build_facts(_snapshot(text))
    world = World.from_facts(facts)
    phases = [
        ("parse_iptables_save", lambda: parse_iptables_save(text, backend="nft", family="ipv4")),
        ("World.from_facts (IR compile)", lambda: World.from_facts(facts)),
        ("simulate (the first trace on that World)", lambda: simulate(world, sc)),
        ("simulate (the same trace again)", lambda: simulate(world, sc)),
    ]
    for label, fn in phases:
        gc.collect()
        pr = cProfile.Profile()
        pr.enable()
        fn()
        pr.disable()
        print(f"\n=== cProfile: {label} ({Path(path).name}) ===")
        pstats.Stats(pr).strip_dirs().sort_stats("tottime").print_stats(top)


# --- main -----------------------------------------------------------------------------------------


def _fmt(v, spec=".3f") -> str:
    return "n/a" if v is None else format(v, spec)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000", help="rule counts, comma separated")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement; medians are reported")
    ap.add_argument(
        "--verdict",
        choices=("policy", "reject", "accept"),
        default="policy",
        help="how the traced packet ends: INPUT's DROP policy after walking everything it enters "
        "(default), or a REJECT / ACCEPT rule last in the last chain it enters",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="DIR", help="write the generated files here and keep them")
    ap.add_argument("--no-restore", action="store_true", help="skip iptables-nft-restore --test")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of each phase for the largest size")
    ap.add_argument("--top", type=int, default=18, help="rows per cProfile listing")
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    ap.add_argument("--worker", nargs=3, metavar=("FILE", "REPEAT", "EXPECT"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        path, repeat, expect = args.worker
        print(json.dumps(worker(path, int(repeat), expect)))
        return 0

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    load0 = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    print(f"wsltui netfilter benchmark  {started}")
    print(f"command: python bench/bench_netfilter.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"python {sys.version.split()[0]}  cpus {os.cpu_count()}  load average at start "
        f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} (1/5/15 min)"
        + ("  -- machine is busy, times are noisier" if load0[0] > 0.5 * (os.cpu_count() or 1) else "")
    )

    restore = shutil.which(RESTORE)
    can_restore = not args.no_restore and restore is not None and os.geteuid() == 0 and shutil.which("ip")
    if not can_restore and not args.no_restore:
        print(f"note: {RESTORE} --test skipped (needs root, {RESTORE} and ip)")
    if can_restore:
        v = subprocess.run([restore, "--version"], capture_output=True, text=True).stdout.strip()
        print(f"{v}")

    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="wtbench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        ns_cm = Netns() if can_restore else None
        if ns_cm:
            host_before = _ruleset_digest(["nft", "list", "ruleset"])
            ns_cm.__enter__()
        try:
            for size in sizes:
                gen = generate(size, args.seed, args.verdict)
                path = workdir / f"iptables-save-{size}.rules"
                path.write_text(gen.text)
                print(
                    f"\n[{size} rules] {path} {path.stat().st_size / 2**20:.1f} MiB, {gen.chains} chains "
                    f"({gen.notes['entered']}/{gen.notes['tenant_chains']} tenant chains entered), "
                    f"packet tests {gen.walked} rules by construction",
                    flush=True,
                )
                r = subprocess.run(
                    [sys.executable, __file__, "--worker", str(path), str(args.repeat), gen.verdict],
                    capture_output=True,
                    text=True,
                    cwd=REPO,
                )
                if r.returncode != 0:
                    print(r.stderr)
                    raise SystemExit(f"worker failed for size {size}")
                w = json.loads(r.stdout.strip().splitlines()[-1])
                print(
                    f"  wsltui: parsed {w['parsed_rules']} rules, {w['n_problems']} problems; trace "
                    f"{' -> '.join(w['trace_hops'])} (deliver: {w['deliver_verdict']}, expected {gen.verdict}); "
                    f"pre-filter candidates decided {w['decided']}, rules left to walk {w['walked']}; "
                    f"parse {w['parse_s']:.3f}s compile {w['compile_s']:.3f}s (facts {w['facts_s']:.3f}s + "
                    f"World {w['world_s']:.3f}s) first simulate {w['first_trace_s'] * 1e3:.3f}ms, "
                    f"again {w['trace_s'] * 1e3:.3f}ms "
                    f"deliver {w['deliver_s'] * 1e3:.3f}ms [{w['trace_number']} calls/sample]",
                    flush=True,
                )
                if not w["ok"]:
                    print(f"  WARNING: unexpected result: {w['problems']} verdict {w['deliver_verdict']}")
                row = {"size": size, "gen_walked": gen.walked, **w}
                if ns_cm:
                    samples = [restore_once(ns_cm, str(path), restore) for _ in range(args.repeat)]
                    bad = [s for s in samples if s[2] != 0]
                    if bad:
                        print(f"  {RESTORE} --test failed (rc {bad[0][2]}): {bad[0][3]}")
                    row["restore_s"] = statistics.median(s[0] for s in samples)
                    row["restore_all"] = [s[0] for s in samples]
                    row["restore_mib"] = statistics.median(s[1] for s in samples)
                    row["restore_rc"] = samples[0][2]
                    row["restore_cpu"] = statistics.median(s[4] for s in samples)
                    print(
                        f"  {RESTORE} --test: {row['restore_s']:.3f}s, peak RSS {row['restore_mib']:.1f} MiB, "
                        f"rc {row['restore_rc']}",
                        flush=True,
                    )
                rows.append(row)
        finally:
            if ns_cm:
                ns_after = _ruleset_digest(["nft", "list", "ruleset"], ns_cm)
                empty = _ruleset_digest(["true"])  # digest of empty output
                ns_cm.__exit__(None, None, None)
                host_after = _ruleset_digest(["nft", "list", "ruleset"])
                print(
                    f"\nsafety: nft ruleset of this namespace before {host_before}, after {host_after}: "
                    f"{'unchanged' if host_before == host_after else 'CHANGED'}; bench namespace after the "
                    f"--test runs: {'empty' if ns_after == empty else 'NOT EMPTY ' + ns_after}; "
                    f"namespace {ns_cm.name} deleted"
                )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    # --- the table
    hdr = [
        "size",
        "parse (s)",
        "compile (s)",
        "first trace (ms)",
        "trace (ms)",
        "deliver (ms)",
        "our peak MiB",
        "restore --test (s)",
        "restore peak MiB",
        "ratio compile/restore",
        "ratio memory",
    ]
    table = []
    for r in rows:
        rt, rm = r.get("restore_s"), r.get("restore_mib")
        table.append(
            [
                f"{r['size']:,}",
                _fmt(r["parse_s"]),
                _fmt(r["compile_s"]),
                _fmt(r["first_trace_s"] * 1e3),
                _fmt(r["trace_s"] * 1e3),
                _fmt(r["deliver_s"] * 1e3),
                f"{r['peak_delta_mib']:.1f} ({r['maxrss_mib']:.0f})",
                _fmt(rt),
                _fmt(rm, ".1f"),
                _fmt(r["compile_s"] / rt if rt else None, ".2f") + "x" if rt else "n/a",
                _fmt(r["peak_delta_mib"] / rm if rm else None, ".2f") + "x" if rm else "n/a",
            ]
        )
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(hdr)]
    print()
    print(" | ".join(h.rjust(w) for h, w in zip(hdr, widths)))
    print("-+-".join("-" * w for w in widths))
    for t in table:
        print(" | ".join(c.rjust(w) for c, w in zip(t, widths)))
    print(
        f"medians of {args.repeat} runs. compile = build_facts + World.from_facts (includes the parse). "
        "first trace = the first simulate() on a fresh World (it compiles the rules the packet meets); "
        "trace = simulate() again on that World (it also finds the blockers behind a drop, in the same walk); "
        "deliver = one raw evaluate.deliver().\nour peak = ru_maxrss of a fresh process after one full pipeline "
        "minus ru_maxrss after imports (absolute ru_maxrss in parentheses); restore peak = ru_maxrss of "
        "iptables-nft-restore via wait4. ratio memory uses our peak delta."
    )
    print("\nCPU seconds (user+sys of the process; less disturbed by a busy machine than wall time):")
    for r in rows:
        rc = r.get("restore_cpu")
        print(
            f"  {r['size']:>7,}: parse {r['parse_cpu']:.3f}s  compile {r['compile_cpu']:.3f}s (facts "
            f"{r['facts_cpu']:.3f}s + World {r['world_cpu']:.3f}s)  first trace {r['first_trace_cpu'] * 1e3:.3f}ms  "
            f"trace {r['trace_cpu'] * 1e3:.3f}ms  deliver "
            f"{r['deliver_cpu'] * 1e3:.3f}ms  restore --test {_fmt(rc)}s"
            + (
                f"  ratio compile/restore {r['compile_cpu'] / rc:.2f}x, (parse+trace)/restore "
                f"{(r['parse_cpu'] + r['trace_cpu']) / rc:.2f}x"
                if rc
                else ""
            )
        )
    print(
        "tracemalloc (MiB): "
        + "; ".join(
            f"{r['size']:,}: parse peak {r['tm_parse_peak_mib']:.1f} / retained {r['tm_parse_retained_mib']:.1f}, "
            f"full pipeline peak {r['tm_full_peak_mib']:.1f} / retained {r['tm_full_retained_mib']:.1f}"
            for r in rows
        )
    )

    # --- targets
    print()
    by = {r["size"]: r for r in rows}
    verdicts = []

    def check(ok: bool | None, text: str) -> None:
        verdicts.append(ok)
        print(f"{'PASS' if ok else ('FAIL' if ok is not None else 'SKIP')}: {text}")

    big = by.get(100000)
    if big and big.get("restore_s"):
        ours = big["parse_s"] + big["trace_s"]
        cpu = big["parse_cpu"] + big["trace_cpu"]
        check(
            ours <= big["restore_s"],
            f"100k: parse + one trace {ours:.3f}s <= restore --test {big['restore_s']:.3f}s "
            f"({ours / big['restore_s']:.2f}x; CPU time {cpu:.3f}s vs {big['restore_cpu']:.3f}s = "
            f"{cpu / big['restore_cpu']:.2f}x)",
        )
        e2e = big["compile_s"] + big["first_trace_s"]
        e2e_cpu = big["compile_cpu"] + big["first_trace_cpu"]
        check(
            e2e <= big["restore_s"],
            f"100k (end to end): build_facts + World + the first trace {e2e:.3f}s <= restore "
            f"--test {big['restore_s']:.3f}s ({e2e / big['restore_s']:.2f}x; CPU time "
            f"{e2e_cpu / big['restore_cpu']:.2f}x)",
        )
        check(
            big["peak_delta_mib"] <= 2 * big["restore_mib"],
            f"100k: our peak {big['peak_delta_mib']:.1f} MiB (over the interpreter) <= 2 x restore's "
            f"{big['restore_mib']:.1f} MiB = {2 * big['restore_mib']:.1f} ({big['peak_delta_mib'] / big['restore_mib']:.2f}x)",
        )
        print(
            f"      (absolute ru_maxrss {big['maxrss_mib']:.1f} MiB = {big['maxrss_mib'] / big['restore_mib']:.2f}x "
            f"restore's; the interpreter and wsltui imports alone are {big['base_maxrss_mib']:.1f} MiB)"
        )
    else:
        check(None, "100k rules vs iptables-nft-restore --test: not measured (needs size 100000 and root)")
    mid = by.get(10000)
    if mid:
        check(
            mid["trace_s"] < 0.005,
            f"10k: one trace (simulate) {mid['trace_s'] * 1e3:.3f} ms < 5 ms "
            f"(CPU {mid['trace_cpu'] * 1e3:.3f} ms; raw deliver {mid['deliver_s'] * 1e3:.3f} ms, "
            f"CPU {mid['deliver_cpu'] * 1e3:.3f} ms)",
        )
    else:
        check(None, "10k trace: size 10000 not run")
    load1 = os.getloadavg()
    print(f"\nload average at end {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"started": started, "argv": sys.argv[1:], "load_start": load0, "load_end": load1, "rows": rows},
                indent=1,
            )
        )
    if args.profile and rows:
        size = max(sizes)
        gen = generate(size, args.seed, args.verdict)
        with tempfile.NamedTemporaryFile("w", suffix=".rules", delete=False) as f:
            f.write(gen.text)
        try:
            profile(f.name, args.top)
        finally:
            os.unlink(f.name)
    return 0 if all(v is not False for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
