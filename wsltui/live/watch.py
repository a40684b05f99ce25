"""Watching Linux while the live connection is sent: an nftables trace of that one flow.

A temporary table ``inet wsltui_live_<pid>_<random>`` with two chains at priority -350 (before
every other table, raw included) at prerouting and output sets ``meta nftrace set 1`` on the
flow's packets: the request (source, destination, port), the replies to the client and the ICMP
errors sent to it. ``nft monitor trace`` then prints every chain and rule each marked packet
meets, in every nf_tables table (native nft and iptables-nft alike). The trace is read into a
``LinuxWatch``: did the packet reach Linux, which chain and rule decided, did a reply leave.

Rules are named the way the simulator names them (``RuleRef.location``), so an observed rule
compares with a trace's ``first_blocker.location``: nft rules by their position and handle,
iptables-nft rules by their position in iptables-nft-save (the order nft lists them in).
iptables-legacy rules run outside nf_tables: the trace cannot see them, and says so.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import socket
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from wsltui.facts.live import LinuxWatch
from wsltui.probes.runner import Background, Job, run, start
from wsltui.simulation.netfilter.data import RuleRef

TABLE_PREFIX = "wsltui_live_"
NFT_TRACE = "nft-trace"
REQUEST, REPLY, ICMP_ERROR, MARKER = "wsltui-request", "wsltui-reply", "wsltui-icmp", "wsltui-marker"
MARKER_PORT = 9  # discard: a datagram to 127.0.0.1:9 tells that the monitor is listening
MAX_LINES = 200  # trace lines kept in the observation


@dataclass(frozen=True)
class Flow:
    """The packets Linux sees for the test: ``src`` (the client, None when not known) to
    ``dst`` (None: any local address) ``proto``/``port`` (the port before any DNAT), arriving
    on ``iif`` (None: made on this machine, or not known)."""

    proto: str
    port: int
    family: int
    src: str | None = None
    dst: str | None = None
    iif: str | None = None
    outbound: bool = False  # the client is Linux itself and the packet leaves (wsl-to-windows)


def table_name() -> str:
    return f"{TABLE_PREFIX}{os.getpid()}_{secrets.token_hex(3)}"


def table_script(name: str, flow: Flow) -> str:
    """The nft script that creates the trace table (checked names and addresses only)."""
    ip = "ip" if flow.family == 4 else "ip6"
    _check(flow)
    request = [f"{ip} saddr {flow.src}" if flow.src else f"meta nfproto {'ipv4' if flow.family == 4 else 'ipv6'}"]
    if flow.dst:
        request.append(f"{ip} daddr {flow.dst}")
    request.append(f"meta l4proto {flow.proto} th dport {flow.port}")
    if flow.src:  # every packet to the client: the replies (whatever a DNAT did to the port) and ICMP errors
        reply = f"{ip} daddr {flow.src} meta l4proto {flow.proto}"
        icmp = f"{ip} daddr {flow.src} meta l4proto {'icmp' if flow.family == 4 else 'ipv6-icmp'}"
    else:
        reply = f"meta nfproto {'ipv4' if flow.family == 4 else 'ipv6'} meta l4proto {flow.proto} th sport {flow.port}"
        icmp = (
            "meta l4proto icmp icmp type destination-unreachable"
            if flow.family == 4
            else "meta l4proto ipv6-icmp icmpv6 type destination-unreachable"
        )
    rules = [(" ".join(request), REQUEST), (reply, REPLY), (icmp, ICMP_ERROR)]
    body = "".join(f'  {match} meta nftrace set 1 comment "{tag}"\n' for match, tag in rules)
    marker = f'  ip daddr 127.0.0.1 udp dport {MARKER_PORT} meta nftrace set 1 comment "{MARKER}"\n'
    return (
        f"table inet {name} {{\n"
        f" chain pre {{\n  type filter hook prerouting priority -350; policy accept;\n{body} }}\n"
        f" chain out {{\n  type filter hook output priority -350; policy accept;\n{body}{marker} }}\n"
        "}\n"
    )


def _check(flow: Flow) -> None:
    """Only values that cannot change the script's meaning reach it."""
    for addr in (flow.src, flow.dst):
        if addr is not None:
            ipaddress.ip_address(addr)
    if flow.proto not in ("tcp", "udp") or not 0 < int(flow.port) < 65536:
        raise ValueError("bad flow")


# Told of each process a watch starts, at once: (pid, what it is).
Started = Callable[[int, str], None]


class _Watch(ABC):
    """What both watches share: ``open`` either succeeds or leaves nothing behind."""

    def open(self, budget: float, started: Started = lambda pid, what: None) -> bool:
        """``started(pid, what)`` is told of each process at once (for the sweep after a SIGKILL);
        False (``skipped`` says why) when it cannot watch."""
        try:
            return self._open(budget, started)
        except BaseException:  # ctrl+c while it was being set up: nothing of it stays
            self.close()
            raise

    @abstractmethod
    def _open(self, budget: float, started: Started) -> bool:
        """Start watching; False (``skipped`` says why) when it cannot."""

    @abstractmethod
    def close(self) -> list[str]:
        """Stop and remove everything ``_open`` made; the lines the watch read."""


class NftWatch(_Watch):
    """The trace table and the monitor, for one test. ``open`` may fail (then ``skipped`` says
    why and nothing is left); ``close`` always removes the table and stops the monitor."""

    def __init__(self, flow: Flow, name: str | None = None) -> None:
        self.flow = flow
        self.name = name or table_name()
        self.monitor: Background | None = None
        self.table_made = False
        self.skipped: str | None = None
        self.started_late = False

    def _open(self, budget: float, started: Started) -> bool:
        self.table_made = True  # from now on ``close`` deletes it (nft -f is atomic: all or nothing)
        made = run(
            Job(
                "live.nft-table",
                ("nft", "-f", "-"),
                timeout=2.0,
                as_root=True,
                stdin=table_script(self.name, self.flow).encode(),
            )
        )
        if made.error or made.exit_code != 0:
            self.table_made = False
            self.skipped = f"the nft trace table could not be made: {made.error or made.stderr.strip()[:200]}"
            return False
        # After the table: the monitor reads the rules it prints (their comments say which packet
        # is which) when it starts. It dies with wsltui, even with a SIGKILLed one (runner.start).
        monitor = start(Job("live.nft-monitor", ("nft", "-a", "monitor", "trace"), timeout=budget, as_root=True))
        if not isinstance(monitor, Background):
            self.skipped = f"nft monitor trace could not start: {monitor.error}"
            self.close()
            return False
        self.monitor = monitor
        started(monitor.pid, "nft monitor trace")
        # No line says the monitor is listening: send a marker until its trace comes back.
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            _send_marker()
            if monitor.wait_for(lambda l: f'"{MARKER}"' in l, 0.1) is not None:
                return True
            if not monitor.running():
                break
        self.started_late = True  # the monitor may have missed the first packets
        return True

    def read(self, lines: list[str], world) -> LinuxWatch:
        return read_trace(lines, self.flow, world, self.name, started_late=self.started_late)

    def close(self) -> list[str]:
        """Stop the monitor and delete the table; the trace lines."""
        lines: list[str] = []
        if self.monitor is not None:
            lines = self.monitor.stop().stdout.splitlines()
            self.monitor = None
        if self.table_made:
            delete_table(self.name)
            self.table_made = False
        return lines


class CaptureWatch(_Watch):
    """The AF_PACKET capture (``capture.py``) in its own process, for one test: where no trace
    table may or can be made (``why_not_nft``). Changes nothing on the machine."""

    def __init__(self, flow: Flow, why_not_nft: str) -> None:
        self.flow, self.why_not_nft = flow, why_not_nft
        self.process: Background | None = None
        self.skipped: str | None = None

    def _open(self, budget: float, started: Started) -> bool:
        argv = [
            sys.executable,
            "-m",
            "wsltui.live.capture",
            "--proto",
            self.flow.proto,
            "--port",
            str(self.flow.port),
            "--seconds",
            f"{budget:g}",
        ]
        if self.flow.iif:
            argv += ["--iface", self.flow.iif]
        if self.flow.src:
            argv += ["--peer", self.flow.src]
        bg = start(Job("live.capture", tuple(argv), timeout=budget + 1, as_root=True))
        if not isinstance(bg, Background):
            self.skipped = f"{self.why_not_nft}; the packet capture could not start: {bg.error}"
            return False
        self.process = bg
        started(bg.pid, "packet capture")
        answer = bg.wait_for(lambda line: True, 2.0)
        if answer != "ready":
            self.process = None
            record = bg.stop()
            self.skipped = (
                f"{self.why_not_nft}; the packet capture could not start: "
                f"{answer or record.error or record.stderr.strip()[-200:] or 'no answer'}"
            )
            return False
        return True

    def read(self, lines: list[str], world) -> LinuxWatch:
        watched = read_capture(lines, self.flow.outbound)
        if watched.rule_unknown:
            watched = replace(watched, rule_unknown=f"{self.why_not_nft}; {watched.rule_unknown}")
        return watched

    def close(self) -> list[str]:
        if self.process is None:
            return []
        lines = self.process.stop().stdout.splitlines()
        self.process = None
        return lines


AF_PACKET = "af-packet"
NO_RULE = (
    "a packet capture sees packets, not rules: run as root without --read-only for the nft trace that names the rule"
)


def read_capture(lines: list[str], outbound: bool = False) -> LinuxWatch:
    flow_lines = tuple(l for l in lines if l.startswith(("req ", "rep ", "icmp ")))[:200]
    reached = any(l.startswith("req ") for l in flow_lines)
    reply = "none"
    for kind in ("syn-ack", "data", "rst", "icmp"):
        if any(_reply_kind(l) == kind for l in flow_lines):
            reply = kind
            break
    return LinuxWatch(
        AF_PACKET,
        reached_linux=None if outbound else reached,
        reply=reply,
        lines=flow_lines,
        rule_unknown=NO_RULE if reached else None,
    )


def _reply_kind(line: str) -> str | None:
    if line.startswith("icmp "):
        return "icmp"
    if not line.startswith("rep "):
        return None
    if line.startswith("rep udp "):
        return "data"
    flags = int(line.rsplit("flags=", 1)[1], 16)
    if flags & 0x04:
        return "rst"
    return "syn-ack" if flags & 0x12 == 0x12 else None


def delete_table(name: str) -> bool:
    if not re.fullmatch(TABLE_PREFIX + r"[0-9]+_[0-9a-f]+", name):
        return False
    r = run(Job("live.nft-delete", ("nft", "delete", "table", "inet", name), timeout=2.0, as_root=True))
    return r.exit_code == 0 and not r.error


def leftover_tables() -> list[str]:
    r = run(Job("live.nft-tables", ("nft", "list", "tables", "inet"), timeout=3.0, as_root=True))
    return [m for m in re.findall(r"^table inet (\S+)$", r.stdout, re.M) if m.startswith(TABLE_PREFIX)]


def _send_marker() -> None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"wsltui-marker", ("127.0.0.1", MARKER_PORT))
    except OSError:
        pass  # lo is down: the wait for the marker then runs out, and the watch says it may be late


# --- reading the trace -----------------------------------------------------------------------

_LINE = re.compile(r"^trace id (?P<id>\S+) (?P<family>\S+) (?P<table>\S+) (?P<chain>\S+) (?P<what>.*?)\s*$")
# A rule the monitor knew when it started prints as "rule TEXT # handle N (verdict V)"; one added
# since as "unknown rule handle N (verdict V)" (its text then comes from the snapshot).
_RULE = re.compile(
    r"^(?:rule (?P<text>.*?)(?: # handle (?P<handle>\d+))?|unknown rule handle (?P<unknown>\d+))"
    r" \(verdict (?P<verdict>\w+)(?: (?P<target>\S+))?\)$"
)
_FIELD = re.compile(r"\b(?P<key>saddr|daddr|sport|dport|iif|oif) (?P<value>\"[^\"]*\"|\S+)")


@dataclass
class _Packet:
    """One traced packet (one trace id): its header fields and what each chain did."""

    role: str | None = None
    fields: dict = field(default_factory=dict)
    flags: str = ""
    icmp: bool = False
    events: list = field(default_factory=list)  # (family, table, chain, kind, verdict, text, handle)
    lines: list = field(default_factory=list)


def read_trace(lines: list[str], flow: Flow, world, own_table: str, *, started_late: bool = False) -> LinuxWatch:
    packets = _packets(lines, own_table)
    requests = [p for p in packets.values() if p.role == REQUEST]
    sports = {p.fields.get("sport") for p in requests}
    replies = [
        p
        for p in packets.values()
        if p.role in (REPLY, ICMP_ERROR) and (p.role == ICMP_ERROR or p.fields.get("dport") in sports or not flow.src)
    ]
    kept = tuple(l for p in (*requests, *replies) for l in p.lines)[:MAX_LINES]
    reply = _reply(replies, flow.proto)
    if not requests:
        why = "the trace may have started after the first packet" if started_late else None
        return LinuxWatch(
            NFT_TRACE,
            reached_linux=None if (started_late or flow.outbound) else False,
            reply=reply,
            lines=kept,
            skipped=why,
        )
    legacy = _legacy_rules(world)
    decided = _decision(requests, world)
    verdict, chain, rule, unknown = decided
    if verdict == "accept" and legacy:
        if reply in ("syn-ack", "data"):
            verdict, rule = "accept", None
        else:
            verdict, rule = None, None
            unknown = (
                f"iptables-legacy rules ({legacy}) run outside nf_tables, where the nft trace cannot see them; "
                "their counters tell: iptables-legacy -L -v -n -x"
            )
    return LinuxWatch(
        NFT_TRACE,
        reached_linux=None if flow.outbound else True,
        reply=reply,
        verdict=verdict,
        chain=chain,
        rule=rule,
        lines=kept,
        rule_unknown=unknown,
    )


def _packets(lines: list[str], own_table: str) -> dict[str, _Packet]:
    packets: dict[str, _Packet] = {}
    for line in lines:
        m = _LINE.match(line)
        if not m:
            continue
        p = packets.setdefault(m["id"], _Packet())
        p.lines.append(line)
        what = m["what"]
        if m["table"] == own_table:
            tag = re.search(r'comment "(wsltui-[a-z]+)"', what)
            if tag and p.role is None:
                p.role = tag[1]
            if what.startswith("packet: ") and not p.fields:
                p.fields = {f["key"]: f["value"].strip('"') for f in _FIELD.finditer(what)}
                flags = re.search(r"tcp flags == (\S+)", what)
                p.flags = flags[1] if flags else ""
                p.icmp = " icmp type " in what or " icmpv6 type " in what
            continue
        rule = _RULE.match(what)
        place = (m["family"], m["table"], m["chain"])
        if rule:
            handle = rule["handle"] or rule["unknown"]
            p.events.append((*place, "rule", rule["verdict"], rule["text"] or "", int(handle) if handle else None))
        elif what.startswith("policy "):
            p.events.append((*place, "policy", what.split()[1], "", None))
        elif what.startswith("verdict "):
            p.events.append((*place, "verdict", what.split()[1], "", None))
    return {k: p for k, p in packets.items() if p.role != MARKER}


_SYN, _RST, _ACK = 0x02, 0x04, 0x10


def _reply(replies: list[_Packet], proto: str) -> str:
    """What left toward the client: syn-ack, data (UDP), rst, icmp, or none. A reply that the
    output path dropped did not leave."""
    seen = set()
    for p in replies:
        if any(e[3] in ("rule", "policy", "verdict") and e[4] == "drop" for e in p.events):
            continue
        if p.icmp:
            seen.add("icmp")
        elif proto == "udp":
            seen.add("data")
        else:
            bits = _flag_bits(p.flags)
            if bits & _RST:
                seen.add("rst")
            elif bits & _SYN and bits & _ACK:
                seen.add("syn-ack")
    for kind in ("syn-ack", "data", "rst", "icmp"):
        if kind in seen:
            return kind
    return "none"


def _flag_bits(text: str) -> int:
    if text.startswith("0x"):
        return int(text, 16)
    names = {"fin": 0x01, "syn": _SYN, "rst": _RST, "psh": 0x08, "ack": _ACK, "urg": 0x20}
    return sum(bit for name, bit in names.items() if name in text.split("|"))


def _decision(requests: list[_Packet], world) -> tuple[str | None, str | None, str | None, str | None]:
    """(verdict, last chain, rule location, why the rule is unknown) for the request packets:
    the first one that was dropped or rejected decides; otherwise they were accepted."""
    for p in requests:
        for fam, table, chain, kind, verdict, text, handle in p.events:
            if verdict != "drop":
                continue
            label = _chain_label(world, fam, table, chain)
            if kind == "policy":
                return "drop", label, f"{label} (chain policy)", None
            location, unknown, known_text = _location(world, fam, table, chain, handle)
            decided = "reject" if re.search(r"\breject\b", text or known_text, re.I) else "drop"
            return decided, label, location, unknown
    # Accepted: no single rule decides that (an accept ends only its own base chain), as the
    # model's trace names no rule when nothing blocks; the chain is the last the packet met.
    last = requests[0].events[-1] if requests[0].events else None
    return "accept", _chain_label(world, *last[:3]) if last else None, None, None


def _is_iptables_nft(world, family: str, table: str) -> bool:
    facts = world.facts.nft
    t = facts.table(family, table) if facts is not None and facts.unknown is None else None
    fam = {"ip": "ipv4", "ip6": "ipv6"}.get(family)
    return bool(
        t is not None
        and t.managed_by_iptables
        and fam
        and any(x.source == "iptables-nft" and x.family == fam and x.name == table for x in world.netfilter.tables)
    )


def _chain_label(world, family: str, table: str, chain: str) -> str:
    """The chain as the simulator labels a base chain (``BaseChain.label``)."""
    if _is_iptables_nft(world, family, table):
        return f"iptables-nft {'ipv4' if family == 'ip' else 'ipv6'} {table} {chain}"
    return f"nft {family} {table} {chain}"


def _location(world, family: str, table: str, chain: str, handle: int | None) -> tuple[str | None, str | None, str]:
    """(the rule's ``RuleRef.location`` or None, why not, its text in the snapshot)."""
    if handle is None:
        return None, f"the trace shows the verdict in nft {family} {table} chain {chain} without naming a rule", ""
    facts = world.facts.nft
    c = facts.chain(family, table, chain) if facts is not None and facts.unknown is None else None
    rule = next((r for r in c.rules if r.handle == handle), None) if c is not None and handle is not None else None
    if rule is None:
        return (
            None,
            (
                f"rule handle {handle} of nft {family} {table} chain {chain} is not in the snapshot (the ruleset "
                "changed since it was read, or nft -j list ruleset was not captured)"
            ),
            "",
        )
    if _is_iptables_nft(world, family, table):
        fam = "ipv4" if family == "ip" else "ipv6"
        return RuleRef("iptables-nft", fam, table, chain, rule.position, rule.text).location(), None, rule.text
    return RuleRef("nft", family, table, chain, rule.position, rule.text, handle=handle).location(), None, rule.text


def _legacy_rules(world) -> str:
    """The iptables-legacy tables that hold a rule or a non-accept policy ("" when none)."""
    names = []
    for t in world.netfilter.tables:
        if t.source != "iptables-legacy":
            continue
        if any(len(c) for c in t.chains.values()) or any(
            b.table is t and b.policy != "accept" for b in world.netfilter.base_chains
        ):
            names.append(f"{t.family} {t.name}")
    return ", ".join(names)
