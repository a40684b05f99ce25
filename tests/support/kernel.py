"""Run one ruleset past the kernel and past the simulator, and compare (the simulator is proven
by agreeing with the kernel).

The server namespace gets the ruleset (through the real iptables-legacy-restore,
iptables-nft-restore, nft -f) and real listeners; wsltui's own probes capture it from inside the
namespace; the simulator predicts each packet; the oracle sends the real packet from the client
namespace. A prediction agrees when the symptom a user would see is the same.
"""

from __future__ import annotations

import ipaddress
import subprocess
from dataclasses import dataclass, field

from oracle import Listeners, in_netns, probe_many, symptom
from realtools import NetnsPair

from wsltui.facts import build_facts
from wsltui.probes.capture import capture
from wsltui.records import BY_NAME
from wsltui.simulation.simulate import Scenario, World, simulate

NETFILTER_PROBES = [
    BY_NAME[n]
    for n in (
        "net.addr",
        "net.route",
        "net.sockets",
        "nf.iptables-nft",
        "nf.ip6tables-nft",
        "nf.iptables-legacy",
        "nf.ip6tables-legacy",
        "nf.nft",
        "nf.legacy-tables",
        "nf.legacy6-tables",
        "nf.ipset",
        "net.forwarding",
        "net.netns-sockets",
    )
]
LISTENING = [8080, 8081, 9090]  # TCP and UDP listeners on these; other ports have none

TALLY = {"packets": 0, "agree": 0, "unknown": 0, "rulesets": 0}


@dataclass
class Ruleset:
    """What to load: iptables-restore text per backend and family, and an nft script."""

    legacy4: str = ""
    legacy6: str = ""
    nft4: str = ""  # iptables-nft-restore
    nft6: str = ""
    nft: str = ""  # nft -f
    ipset: str = ""  # ipset restore (loaded first: iptables rules refer to the sets)
    label: str = ""

    def describe(self) -> str:
        parts = []
        for name in ("ipset", "legacy4", "legacy6", "nft4", "nft6", "nft"):
            text = getattr(self, name)
            if text:
                parts.append(f"--- {name}\n{text.strip()}")
        return "\n".join(parts) or "(empty ruleset)"


@dataclass
class Outcome:
    port: int
    proto: str
    family: int
    kernel: str  # oracle class
    predicted: str  # the simulator's symptom, or "unknown: why"
    agree: bool
    trace: dict = field(default_factory=dict)


def load(pair: NetnsPair, rs: Ruleset) -> None:
    with in_netns(pair.srv):
        for text, tool in (
            (rs.ipset, "ipset"),
            (rs.legacy4, "iptables-legacy-restore"),
            (rs.legacy6, "ip6tables-legacy-restore"),
            (rs.nft4, "iptables-nft-restore"),
            (rs.nft6, "ip6tables-nft-restore"),
        ):
            if text:
                argv = ["ipset", "restore"] if tool == "ipset" else [tool]
                r = subprocess.run(argv, input=_fill(text, pair).encode(), capture_output=True)
                if r.returncode != 0:
                    raise RuntimeError(f"{tool} failed: {r.stderr.decode()}\n{_fill(text, pair)}")
        if rs.nft:
            r = subprocess.run(["nft", "-f", "-"], input=_fill(rs.nft, pair).encode(), capture_output=True)
            if r.returncode != 0:
                raise RuntimeError(f"nft -f failed: {r.stderr.decode()}\n{_fill(rs.nft, pair)}")


def _fill(text: str, pair: NetnsPair) -> str:
    return (
        text.replace("@SRVIF@", pair.srv_if)
        .replace("@SRV@", pair.srv_ip)
        .replace("@CLI@", pair.cli_ip)
        .replace("@SRV6@", pair.srv_ip6)
        .replace("@CLI6@", pair.cli_ip6)
        .replace("@NET@", f"10.77.{pair.index}.0/24")
        .replace("@IFPREFIX@", pair.srv_if[:-1])
    )


class _Witness:
    """The server's listeners, and more accepted client ports (a container's)."""

    def __init__(self, listeners: Listeners, more) -> None:
        self.listeners, self.more = listeners, more

    @property
    def accepted(self) -> set[int]:
        return self.listeners.accepted | (self.more() if self.more else set())


def run_case(
    pair: NetnsPair, rs: Ruleset, targets: list[tuple[int, str, int]], *, timeout: float = 0.15, also_accepted=None
) -> list[Outcome]:
    """targets: (port, proto, family). Returns one outcome per target. ``also_accepted``: a
    callable giving the client ports accepted elsewhere (a container behind the server)."""
    load(pair, rs)
    with in_netns(pair.srv):
        listeners = Listeners(LISTENING)
        try:
            snap = capture(NETFILTER_PROBES)
        except BaseException:
            listeners.close()
            raise
    try:
        world = World.from_facts(build_facts(snap))
        predictions = {}
        for port, proto, fam in targets:
            src = ipaddress.ip_address(pair.cli_ip if fam == 4 else pair.cli_ip6)
            dst = ipaddress.ip_address(pair.srv_ip if fam == 4 else pair.srv_ip6)
            trace = simulate(world, Scenario("custom", port, proto, src, dst, pair.srv_if))
            predictions[(port, proto, fam)] = trace
        with in_netns(pair.cli):
            kernel = probe_many(
                [(pair.srv_ip if f == 4 else pair.srv_ip6, p, pr) for p, pr, f in targets],
                timeout,
                witness=_Witness(listeners, also_accepted),
            )
            # A busy machine can answer later than the short timeout: where the kernel seemed
            # silent but the model expects an answer, look again, patiently, before calling it a drop.
            silent = [
                (host, port, proto)
                for (host, port, proto), cls in kernel.items()
                if cls == "drop"
                and predictions[(port, proto, 6 if ":" in host else 4)].symptom
                != symptom("drop", 6 if ":" in host else 4)
            ]
            if silent:
                kernel.update(probe_many(silent, max(1.0, 10 * timeout), witness=_Witness(listeners, also_accepted)))
    finally:
        with in_netns(pair.srv):
            listeners.close()
    out = []
    for port, proto, fam in targets:
        trace = predictions[(port, proto, fam)]
        cls = kernel[(pair.srv_ip if fam == 4 else pair.srv_ip6, port, proto)]
        if trace.reachable is None:
            reasons = "; ".join(h.reason or h.explanation for h in trace.hops if h.verdict == "unknown")
            predicted, agree = f"unknown: {reasons}", False
            TALLY["unknown"] += 1
        else:
            predicted = trace.symptom
            first = trace.first_blocker
            allowed = {predicted, *(first.alternatives if first else ())}
            agree = symptom(cls, fam) in allowed
            if len(allowed) > 1:
                predicted = " or ".join(sorted(allowed))
        TALLY["packets"] += 1
        TALLY["agree"] += agree
        out.append(Outcome(port, proto, fam, cls, predicted, agree, trace.to_json()))
    TALLY["rulesets"] += 1
    return out


def agreeing(pair: NetnsPair, rs: Ruleset, targets: list[tuple[int, str, int]]) -> list[Outcome]:
    """``run_case``, failing with the report unless the simulator agrees with the kernel on every target."""
    outcomes = run_case(pair, rs, targets)
    assert all(o.agree for o in outcomes), report(rs, outcomes)
    return outcomes


def report(rs: Ruleset, outcomes: list[Outcome]) -> str:
    bad = [o for o in outcomes if not o.agree]
    lines = [f"ruleset {rs.label}:", rs.describe()]
    for o in bad:
        first = o.trace.get("first_blocker") or {}
        lines.append(
            f"  {o.proto}/{o.port} v{o.family}: kernel {o.kernel} ({symptom(o.kernel, o.family)}), "
            f"wsltui {o.predicted}; blocker: {first.get('location')} {first.get('rule')}"
        )
    return "\n".join(lines)
