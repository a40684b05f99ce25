"""Walk a packet through netfilter the way the kernel does.

- Every base chain of every source (iptables-legacy, iptables-nft, native nft) registered at a
  hook runs, in priority order. ``drop``/``reject`` in any of them is final; ``accept`` only ends
  that base chain.
- ``jump`` returns to the next rule of the caller; ``goto`` does not push, so a later ``return``
  (or running off the end) goes back to whoever called the chain that did the ``goto``; in a
  base chain, both end at its policy.
- nat chains at a hook run in priority order until one of them sets up a binding (DNAT,
  REDIRECT, SNAT); later nat chains at that hook are skipped (nf_nat_inet_fn). A loopback packet
  was already NATed on OUTPUT, so its PREROUTING/INPUT nat chains are skipped.
- A condition that cannot be decided makes the verdict ``unknown`` naming it — unless the rule's
  action would not change the outcome anyway (a counter or LOG).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wsltui.simulation.netfilter.ir import Action, Assume, BaseChain, Netfilter, Rule, RuleRef
from wsltui.simulation.packet import HostView, Packet

NAT_DST_PRIORITY = -100
MAX_DEPTH = 64
MAX_STEPS = 2_000_000


@dataclass
class ChainOutcome:
    verdict: str  # accept | drop | reject | unknown
    rule: RuleRef | None = None  # the deciding rule; None when the base chain's policy decided
    path: tuple[str, ...] = ()  # the call stack when it was decided: base chain ... deciding chain
    reject_with: str | None = None
    reason: str | None = None  # why unknown
    nat: bool = False  # a NAT binding was set up
    assumptions: tuple[str, ...] = ()  # what was assumed to decide (rate limits, recent lists)


@dataclass
class Step:
    base: BaseChain
    before: Packet
    after: Packet
    outcome: ChainOutcome


@dataclass
class HookResult:
    hook: str
    steps: list[Step] = field(default_factory=list)
    verdict: str = "accept"
    packet: Packet | None = None
    # Chains at the same priority whose order against the deciding one is unknown (legacy vs
    # nf_tables) and that would also stop the packet, differently: the kernel may use theirs.
    alternatives: list[Step] = field(default_factory=list)
    ambiguity: str | None = None

    @property
    def decisive(self) -> Step | None:
        for s in self.steps:
            if s.outcome.verdict != "accept":
                return s
        return None


@dataclass
class Disabled:
    """What-if switches: rules (by ref) and base-chain policies treated as absent, used to find
    the blockers behind the first one."""

    rules: frozenset = frozenset()
    policies: frozenset = frozenset()  # labels of base chains whose policy is treated as accept


def run_chain(base: BaseChain, pkt: Packet, host: HostView, off: Disabled = Disabled()) -> tuple[ChainOutcome, Packet]:
    assumed: list[str] = []
    outcome, pkt = _walk(base, pkt, host, off, assumed)
    if assumed:
        outcome.assumptions = tuple(dict.fromkeys(assumed))
    return outcome, pkt


def _walk(base: BaseChain, pkt: Packet, host: HostView, off: Disabled, assumed: list[str]) -> tuple[ChainOutcome, Packet]:
    chains = base.table.chains
    stack: list[tuple] = []  # (chain, candidates, position) to resume after a jump
    chain = base.chain
    todo, pos = chain.candidates(pkt), 0
    steps = 0

    def here() -> tuple[str, ...]:
        return tuple(frame[0].name for frame in stack) + (chain.name,)

    while True:
        if pos >= len(todo):
            if not stack:
                return _policy(base, here(), off), pkt
            chain, todo, pos = stack.pop()
            continue
        rule: Rule = chain.rule(todo[pos])
        pos += 1
        steps += 1
        if steps > MAX_STEPS:
            return ChainOutcome("unknown", rule.ref, here(), reason="rule evaluation did not end (a loop?)"), pkt
        if off.rules and rule.ref in off.rules:
            continue
        unsure = None
        for cond in rule.conds:
            r = cond.test(pkt, host)
            if r.__class__ is Assume:
                assumed.append(f"{r.why} ({cond.text})")
                r = r.value
            if r is True:
                continue
            if r is False:
                break
            unsure = f"{r}: {cond.text}"
            break
        else:
            r = True
        if r is False:
            continue
        act: Action = rule.action
        if act.kind == "vmap" and unsure is None:
            act, unsure = _vmap(act, pkt, host)
            if act is None:
                continue
        if unsure is not None:
            if act.kind == "continue" and not rule.effects:
                continue  # a counter or LOG: whether it matched changes nothing
            return ChainOutcome("unknown", rule.ref, here(), reason=unsure), pkt
        for effect in rule.effects:
            if effect.kind == "mark":
                value, mask = effect.mark
                pkt = pkt.with_(mark=(pkt.mark & ~mask & 0xFFFFFFFF) ^ value)
            elif effect.kind == "notrack":
                pkt = pkt.with_(ct_state="untracked")
            elif effect.kind == "unknown":
                return ChainOutcome("unknown", rule.ref, here(), reason=effect.reason), pkt
        kind = act.kind
        if kind == "continue":
            continue
        if kind in ("accept", "drop"):
            return ChainOutcome(kind, rule.ref, here()), pkt
        if kind == "reject":
            return ChainOutcome("reject", rule.ref, here(), reject_with=act.reject_with), pkt
        if kind in ("jump", "goto"):
            target = chains.get(act.target or "")
            if target is None:
                return ChainOutcome("unknown", rule.ref, here(), reason=f"chain {act.target} is not in the ruleset"), pkt
            if kind == "jump":
                if len(stack) >= MAX_DEPTH:
                    return ChainOutcome("unknown", rule.ref, here(), reason="jumps nested too deep"), pkt
                stack.append((chain, todo, pos))
            chain, todo, pos = target, target.candidates(pkt), 0
            continue
        if kind == "return":
            if not stack:
                return _policy(base, here(), off), pkt
            chain, todo, pos = stack.pop()
            continue
        if kind == "mark":
            value, mask = act.mark
            pkt = pkt.with_(mark=(pkt.mark & ~mask & 0xFFFFFFFF) ^ value)
            continue
        if kind == "notrack":
            pkt = pkt.with_(ct_state="untracked")
            continue
        if kind in ("dnat", "redirect"):
            return ChainOutcome("accept", rule.ref, here(), nat=True), _nat(act, pkt, host)
        if kind == "snat":
            return ChainOutcome("accept", rule.ref, here(), nat=True), pkt
        return ChainOutcome("unknown", rule.ref, here(), reason=act.reason or f"cannot evaluate the action {kind}"), pkt


def _policy(base: BaseChain, path: tuple[str, ...], off: Disabled) -> ChainOutcome:
    policy = base.policy
    if policy == "drop" and base.label in off.policies:
        policy = "accept"
    return ChainOutcome(policy, None, path)


def _vmap(act: Action, pkt: Packet, host: HostView):
    from wsltui.simulation.netfilter.ir import KEYS, UNKNOWN, value_in

    for required, allowed in act.vmap_requires:
        if required(pkt, host) not in allowed:
            return None, None
    keyfn = KEYS.get(act.vmap_key or "")
    if keyfn is None:
        return act, f"cannot evaluate a verdict map on {act.vmap_key}"
    v = keyfn(pkt, host)
    if v is UNKNOWN:
        return act, f"cannot tell {act.vmap_key} for this packet (verdict map)"
    for element, verdict in act.vmap:
        if isinstance(element, tuple):
            return act, "verdict maps keyed by concatenations are not evaluated yet"
        if value_in(v, element):
            return verdict, None
    return None, None


def _nat(act: Action, pkt: Packet, host: HostView) -> Packet:
    orig = dict(orig_dst=pkt.orig_dst or pkt.dst, orig_dport=pkt.orig_dport if pkt.orig_dport is not None else pkt.dport)
    status = pkt.ct_status | {"dnat"}
    port = pkt.dport if act.nat_port is None else act.nat_port[0]
    if act.kind == "redirect":
        # REDIRECT: to the primary address of the incoming interface (loopback when local).
        if pkt.locally_generated or not pkt.iif:
            dst = _loopback(pkt.family)
        else:
            addrs = [a for a in host.interface_addresses.get(pkt.iif, ()) if a.version == pkt.family]
            dst = addrs[0] if addrs else pkt.dst
        return pkt.with_(dst=dst, dport=port, ct_status=status, **orig)
    dst = act.nat_addr if act.nat_addr is not None else pkt.dst
    return pkt.with_(dst=dst, dport=port, ct_status=status, **orig)


def _loopback(family: int):
    import ipaddress

    return ipaddress.ip_address("127.0.0.1" if family == 4 else "::1")


def run_hook(nf: Netfilter, hook: str, pkt: Packet, host: HostView, *, nat_done: bool = False,
             off: Disabled = Disabled(), translated: Packet | None = None) -> HookResult:
    """``translated``: for a packet of a connection NATed earlier, conntrack rewrites it at the
    nat priority (-100) without running the nat chains; chains from there on see this."""
    result = HookResult(hook)
    chains = nf.at_hook(hook, pkt.family)
    for base in chains:
        if translated is not None and base.priority >= NAT_DST_PRIORITY:
            pkt, translated = translated, None
        if base.type == "nat":
            if nat_done or pkt.ct_state == "untracked":
                continue
        before = pkt
        outcome, pkt = run_chain(base, pkt, host, off)
        step = Step(base, before, pkt, outcome)
        result.steps.append(step)
        if base.type == "nat" and outcome.nat:
            nat_done = True
            if _order_unknown_peers(chains, base, lambda b: b.type == "nat"):
                result.ambiguity = _nat_ambiguity(chains, step, host, off)
                if result.ambiguity:
                    result.verdict = "unknown"
                    step.outcome = ChainOutcome("unknown", outcome.rule, outcome.path, reason=result.ambiguity)
                    break
        if outcome.verdict != "accept":
            result.verdict = outcome.verdict
            result.alternatives = _alternatives(chains, step, host, off)
            break
    result.packet = translated or pkt
    return result


def _order_unknown_peers(chains: list[BaseChain], base: BaseChain, which) -> list[BaseChain]:
    """Chains at the same priority as ``base`` whose order relative to it is unknown."""
    return [b for b in chains if b is not base and b.priority == base.priority and which(b)
            and (b.order is None) != (base.order is None)]


def _alternatives(chains: list[BaseChain], step: Step, host: HostView, off: Disabled) -> list[Step]:
    alts = []
    for other in _order_unknown_peers(chains, step.base, lambda b: b.type != "nat"):
        outcome, after = run_chain(other, step.before, host, off)
        if outcome.verdict in ("drop", "reject") and (outcome.verdict, outcome.reject_with) != (
                step.outcome.verdict, step.outcome.reject_with):
            alts.append(Step(other, step.before, after, outcome))
    return alts


def _nat_ambiguity(chains: list[BaseChain], step: Step, host: HostView, off: Disabled) -> str | None:
    for other in _order_unknown_peers(chains, step.base, lambda b: b.type == "nat"):
        outcome, after = run_chain(other, step.before, host, off)
        if outcome.nat and (after.dst, after.dport) != (step.after.dst, step.after.dport):
            return (f"two NAT rules at the same priority rewrite this packet differently ({step.base.label} and "
                    f"{other.label}); the kernel uses the table created last, which no snapshot tells")
    return None


@dataclass
class NetfilterTrace:
    hooks: list[HookResult]
    verdict: str  # accept | drop | reject | unknown | forwarded
    packet: Packet  # as it reaches the socket layer (after NAT)
    decisive: Step | None  # the base chain that decided (None when accepted everywhere)


def deliver(nf: Netfilter, pkt: Packet, host: HostView, off: Disabled = Disabled()) -> NetfilterTrace:
    """The packet's way from the wire (``pkt.iif``) or from a local socket to a local socket."""
    hooks: list[HookResult] = []

    def stop(verdict: str, p: Packet) -> NetfilterTrace:
        return NetfilterTrace(hooks, verdict, p, hooks[-1].decisive if hooks else None)

    nat_done = False
    if pkt.locally_generated:
        for hook in ("output", "postrouting"):
            res = run_hook(nf, hook, pkt, host, off=off)
            hooks.append(res)
            pkt = res.packet
            if res.verdict != "accept":
                return stop(res.verdict, pkt)
        # Delivered over loopback: the NAT bindings were made on the way out.
        nat_done = True
        pkt = pkt.with_(iif="lo")
    res = run_hook(nf, "prerouting", pkt, host, nat_done=nat_done, off=off)
    hooks.append(res)
    pkt = res.packet
    if res.verdict != "accept":
        return stop(res.verdict, pkt)
    local = host.is_local(pkt.dst)
    if local is None:
        return NetfilterTrace(hooks, "unknown", pkt, None)
    if not local:
        return NetfilterTrace(hooks, "forwarded", pkt, None)
    res = run_hook(nf, "input", pkt, host, nat_done=nat_done, off=off)
    hooks.append(res)
    return stop(res.verdict, res.packet)


def deliver_established(nf: Netfilter, first: Packet, delivered: Packet, host: HostView,
                        off: Disabled = Disabled()) -> NetfilterTrace:
    """The client's next packet of a TCP connection whose first packet got through (the ACK
    of the handshake): ct state established, NATed by conntrack, no nat chain runs. A ruleset
    that accepts only NEW packets and stops the rest breaks the connection right after it opens."""
    est = first.with_(ct_state="established", ct_status=delivered.ct_status, mark=0)
    after = delivered.with_(ct_state="established", mark=0)
    hooks: list[HookResult] = []
    names = ("output", "postrouting", "prerouting", "input") if first.locally_generated else ("prerouting", "input")
    pkt, pending = est, (after if (after.dst, after.dport) != (est.dst, est.dport) else None)
    for name in names:
        if name == "prerouting" and first.locally_generated:
            pkt, pending = pkt.with_(iif="lo"), None
        res = run_hook(nf, name, pkt, host, nat_done=True, off=off,
                       translated=pending if name in ("prerouting", "output") else None)
        if name in ("prerouting", "output"):
            pending = None
        hooks.append(res)
        pkt = res.packet
        if res.verdict != "accept":
            return NetfilterTrace(hooks, res.verdict, pkt, res.decisive)
    return NetfilterTrace(hooks, "accept", pkt, None)
