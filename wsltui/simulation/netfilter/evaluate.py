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

A walk reads each chain through the packet's ``ChainView`` (walk.py), where the conditions on the
packet alone are already decided, so a second trace of a packet only walks the rules left. To
find the blockers behind the first, the walk goes on past each one (``deliver_past_blockers``)
instead of starting over.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field

from wsltui.simulation.netfilter.data import Action, BaseChain, Netfilter, Rule, RuleRef
from wsltui.simulation.netfilter.index import Chain
from wsltui.simulation.netfilter.match import KEYS, UNKNOWN, Assume, Cond, mark_value, value_in
from wsltui.simulation.netfilter.walk import ChainView, packet_views
from wsltui.simulation.packet import Address, HostView, Packet

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
    steps: list[Step]
    verdict: str
    packet: Packet
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
    the blockers behind the first one. ``deliver_past_blockers`` holds sets here and adds to them
    as it goes."""

    rules: frozenset | set = frozenset()
    policies: frozenset | set = frozenset()  # labels of base chains whose policy is treated as accept


def run_chain(base: BaseChain, pkt: Packet, host: HostView, off: Disabled = Disabled()) -> tuple[ChainOutcome, Packet]:
    return next(_walk(base, pkt, host, off, set()))


def _view(views: dict[Chain, ChainView], chain: Chain, pkt: Packet) -> ChainView:
    view = views.get(chain)
    if view is None:
        view = views[chain] = ChainView(chain, pkt)
    return view


def _walk(
    base: BaseChain, pkt: Packet, host: HostView, off: Disabled, touched: set[RuleRef]
) -> Iterator[tuple[ChainOutcome, Packet]]:
    """Yields how ``base`` ends for ``pkt``, and the packet then. After a drop or a reject the
    caller may switch that rule (or the policy) off in ``off`` and take the next outcome: the walk
    goes on from the blocker, as a new walk with that switch would go. ``touched`` gets the rules
    whose visit did more than match or miss (an assumption noted, a verdict map followed): a new
    walk that skips one of them could differ before this point."""
    table = base.table
    chains = table.chains
    views = packet_views(table, pkt)
    off_rules = off.rules
    stack: list[tuple[Chain, ChainView, int, Packet]] = []  # (chain, view, position, packet) to resume after a jump
    assumed: list[str] = []
    chain = base.chain
    view = _view(views, chain, pkt)
    rules: Sequence[Rule] = view.rules
    tests: Sequence[tuple[Cond, ...]] = view.tests
    pos = 0
    returned = False  # the rest of the chain is skipped (a ``return``): nothing left to walk
    steps = 0

    def here() -> tuple[str, ...]:
        return tuple(frame[0].name for frame in stack) + (chain.name,)

    def decided(outcome: ChainOutcome) -> ChainOutcome:
        if assumed:
            outcome.assumptions = tuple(dict.fromkeys(assumed))
        return outcome

    def unknown(rule: Rule, reason: str) -> ChainOutcome:
        return decided(ChainOutcome("unknown", rule.ref, here(), reason=reason))

    while True:
        if pos >= len(rules):
            if not returned and view.more(host):
                continue
            if not stack:
                break  # the base chain's policy
            chain, view, pos, seen = stack.pop()
            returned = False
            if seen is not pkt:  # a rule changed the packet after the jump: see the rest anew
                view, pos = view.rest_after(pos, pkt), 0
            rules, tests = view.rules, view.tests
            continue
        rule: Rule = rules[pos]
        left = tests[pos]
        pos += 1
        steps += 1
        if steps > MAX_STEPS:
            yield unknown(rule, "rule evaluation did not end (a loop?)"), pkt
            return
        if off_rules and rule.ref in off_rules:
            continue
        unsure = None
        if left:
            for cond in left:
                r = cond.test(pkt, host)
                if r.__class__ is Assume:
                    assumed.append(f"{r.why} ({cond.text})")
                    touched.add(rule.ref)
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
        kind = act.kind
        if kind == "vmap" and unsure is None:
            picked, unsure = _vmap(act, pkt, host)
            if picked is None:
                continue
            act = picked
            touched.add(rule.ref)
            kind = act.kind
        if unsure is not None:
            if kind == "continue" and not rule.effects:
                continue  # a counter or LOG: whether it matched changes nothing
            yield unknown(rule, unsure), pkt
            return
        if rule.effects or kind == "mark" or kind == "setmark" or kind == "notrack":
            changed = pkt
            for effect in rule.effects:
                if effect.kind == "unknown":
                    yield unknown(rule, effect.reason), changed
                    return
                changed = _changed(effect, changed)
            changed = _changed(act, changed)
            if changed is not pkt:  # the rest of the walk sees another packet
                pkt = changed
                views = packet_views(table, pkt)
                view, pos = view.rest_after(pos, pkt), 0
                rules, tests = view.rules, view.tests
        if kind == "continue" or kind == "mark" or kind == "setmark" or kind == "notrack":
            continue
        if kind == "jump" or kind == "goto":
            target = chains.get(act.target or "")
            if target is None:
                yield unknown(rule, f"chain {act.target} is not in the ruleset"), pkt
                return
            if kind == "jump":
                if len(stack) >= MAX_DEPTH:
                    yield unknown(rule, "jumps nested too deep"), pkt
                    return
                stack.append((chain, view, pos, pkt))
            chain = target
            view = views.get(target) or _view(views, target, pkt)
            rules, tests, pos = view.rules, view.tests, 0
            continue
        if kind == "accept" or kind == "drop":
            yield decided(ChainOutcome(kind, rule.ref, here())), pkt
            if kind == "accept":
                return
            continue  # resumed: this rule is switched off now
        if kind == "reject":
            yield decided(ChainOutcome("reject", rule.ref, here(), reject_with=act.reject_with)), pkt
            continue  # resumed: this rule is switched off now
        if kind == "return":
            rules, tests, pos, returned = (), (), 0, True
            continue
        if kind in ("dnat", "redirect"):
            yield decided(ChainOutcome("accept", rule.ref, here(), nat=True)), _nat(act, pkt, host)
            return
        if kind == "snat":
            yield decided(ChainOutcome("accept", rule.ref, here(), nat=True)), pkt
            return
        yield unknown(rule, act.reason or f"cannot evaluate the action {kind}"), pkt
        return
    outcome = _policy(base, here(), off)
    yield decided(outcome), pkt
    if outcome.verdict == "drop":  # resumed: the policy is switched off now
        yield decided(_policy(base, here(), off)), pkt


def _changed(act: Action, pkt: Packet) -> Packet:
    """The packet after a ``mark``, ``setmark`` or ``notrack`` action or effect."""
    if act.kind == "mark" and act.mark is not None:
        value, mask = act.mark
        return pkt.with_(mark=(pkt.mark & ~mask & 0xFFFFFFFF) ^ value)
    if act.kind == "setmark" and act.mark_expr is not None:
        value = mark_value(act.mark_expr, pkt) & 0xFFFFFFFF
        return pkt.with_(mark=value) if act.mark_key == "meta mark" else pkt.with_(ct_mark=value)
    if act.kind == "notrack":
        return pkt.with_(ct_state="untracked")
    return pkt


def _policy(base: BaseChain, path: tuple[str, ...], off: Disabled) -> ChainOutcome:
    policy = base.policy
    if policy == "drop" and base.label in off.policies:
        policy = "accept"
    return ChainOutcome(policy, None, path)


def _vmap(act: Action, pkt: Packet, host: HostView) -> tuple[Action | None, str | None]:
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
    orig = dict(
        orig_dst=pkt.orig_dst or pkt.dst, orig_dport=pkt.orig_dport if pkt.orig_dport is not None else pkt.dport
    )
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


def _loopback(family: int) -> Address:
    import ipaddress

    return ipaddress.ip_address("127.0.0.1" if family == 4 else "::1")


def run_hook(
    nf: Netfilter,
    hook: str,
    pkt: Packet,
    host: HostView,
    *,
    nat_done: bool = False,
    off: Disabled = Disabled(),
    translated: Packet | None = None,
) -> HookResult:
    """``translated``: for a packet of a connection NATed earlier, conntrack rewrites it at the
    nat priority (-100) without running the nat chains; chains from there on see this."""
    return next(_hook_walk(nf, hook, pkt, host, nat_done, off, translated, _Notes()))


class _Notes:
    """What a walk notes so that going on past a blocker stays the same as starting over."""

    __slots__ = ("touched", "nat_checked")

    def __init__(self) -> None:
        self.touched: set = set()  # refs of rules whose visit did more than miss (see _walk)
        self.nat_checked = False  # two NAT chains of unknown order were compared, with the switches of then

    def can_go_past(self, blocker: RuleRef | None) -> bool:
        return not self.nat_checked and blocker not in self.touched


def _hook_walk(
    nf: Netfilter,
    hook: str,
    pkt: Packet,
    host: HostView,
    nat_done: bool,
    off: Disabled,
    translated: Packet | None,
    notes: _Notes,
) -> Iterator[HookResult]:
    """Yields the hook's result; after a drop or a reject, the next result goes on past the
    blocker once the caller switched it off (see _walk)."""
    steps: list[Step] = []
    chains = nf.at_hook(hook, pkt.family)
    for base in chains:
        if translated is not None and base.priority >= NAT_DST_PRIORITY:
            pkt, translated = translated, None
        if base.type == "nat":
            if nat_done or pkt.ct_state == "untracked":
                continue
        before = pkt
        for outcome, pkt in _walk(base, pkt, host, off, notes.touched):  # noqa: B020 (each chain takes the packet as the last one left it)
            step = Step(base, before, pkt, outcome)
            if base.type == "nat" and outcome.nat:
                nat_done = True
                if _order_unknown_peers(chains, base, lambda b: b.type == "nat"):
                    notes.nat_checked = True
                    ambiguity = _nat_ambiguity(chains, step, host, off)
                    if ambiguity:
                        step.outcome = ChainOutcome("unknown", outcome.rule, outcome.path, reason=ambiguity)
                        yield HookResult(hook, steps + [step], "unknown", translated or pkt, ambiguity=ambiguity)
                        return
            if outcome.verdict not in ("drop", "reject"):
                break
            yield HookResult(
                hook, steps + [step], outcome.verdict, translated or pkt, _alternatives(chains, step, host, off)
            )
            # resumed: the walk goes on past the blocker
        steps.append(step)
        if outcome.verdict != "accept":
            yield HookResult(hook, steps, outcome.verdict, translated or pkt, _alternatives(chains, step, host, off))
            return
    yield HookResult(hook, steps, "accept", translated or pkt)


def _order_unknown_peers(
    chains: list[BaseChain], base: BaseChain, which: Callable[[BaseChain], bool]
) -> list[BaseChain]:
    """Chains at the same priority as ``base`` whose order relative to it is unknown."""
    return [
        b
        for b in chains
        if b is not base and b.priority == base.priority and which(b) and (b.order is None) != (base.order is None)
    ]


def _alternatives(chains: list[BaseChain], step: Step, host: HostView, off: Disabled) -> list[Step]:
    alts = []
    for other in _order_unknown_peers(chains, step.base, lambda b: b.type != "nat"):
        outcome, after = run_chain(other, step.before, host, off)
        if outcome.verdict in ("drop", "reject") and (outcome.verdict, outcome.reject_with) != (
            step.outcome.verdict,
            step.outcome.reject_with,
        ):
            alts.append(Step(other, step.before, after, outcome))
    return alts


def _nat_ambiguity(chains: list[BaseChain], step: Step, host: HostView, off: Disabled) -> str | None:
    for other in _order_unknown_peers(chains, step.base, lambda b: b.type == "nat"):
        outcome, after = run_chain(other, step.before, host, off)
        if outcome.nat and (after.dst, after.dport) != (step.after.dst, step.after.dport):
            return (
                f"two NAT rules at the same priority rewrite this packet differently ({step.base.label} and "
                f"{other.label}); the kernel uses the table created last, which no snapshot tells"
            )
    return None


@dataclass
class NetfilterTrace:
    hooks: list[HookResult]
    verdict: str  # accept | drop | reject | unknown | forwarded
    packet: Packet  # as it reaches the socket layer (after NAT), or leaves (forwarded: ``oif`` set)
    decisive: Step | None  # the base chain that decided (None when accepted everywhere)
    # Why routing stopped a forwarded packet before any rule (decisive is None): NO_ROUTE,
    # FORWARDING_OFF, or the reason it cannot be known (with verdict "unknown").
    stop: str | None = None


NO_ROUTE = "no route"  # the kernel answers ICMP network unreachable
FORWARDING_OFF = "forwarding off"  # the kernel drops it without an answer (ip_error)


def deliver(nf: Netfilter, pkt: Packet, host: HostView, off: Disabled = Disabled()) -> NetfilterTrace:
    """The packet's way from the wire (``pkt.iif``) or from a local socket to a local socket."""
    return next(_deliver_walk(nf, pkt, host, off, _Notes()))


def deliver_past_blockers(nf: Netfilter, pkt: Packet, host: HostView) -> Iterator[NetfilterTrace]:
    """deliver(), then, each time the packet is dropped or rejected, the packet again with that
    rule (or that base chain's policy) switched off too, until no drop or reject stops it: the
    blockers behind the first, so that a user can fix them all at once.

    The traces are those of deliver() with a growing Disabled set, but the walk goes on right
    after each blocker instead of starting over. Going on differs from starting over only when
    the blocker was visited earlier in the walk with an effect besides missing (an assumption
    noted, a verdict map followed), or when NAT chains of unknown order were compared under the
    switches of then; in those cases it starts over."""
    rules_off: set[RuleRef] = set()
    policies_off: set[str] = set()
    off = Disabled(rules_off, policies_off)
    notes = _Notes()
    walk = _deliver_walk(nf, pkt, host, off, notes)
    while True:
        trace = next(walk)
        yield trace
        step = trace.decisive
        if trace.verdict not in ("drop", "reject") or step is None:
            return
        blocker = step.outcome.rule
        if blocker is not None:
            rules_off.add(blocker)
        else:
            policies_off.add(step.base.label)
        if not notes.can_go_past(blocker):
            notes = _Notes()
            walk = _deliver_walk(nf, pkt, host, off, notes)


def _deliver_walk(nf: Netfilter, pkt: Packet, host: HostView, off: Disabled, notes: _Notes) -> Iterator[NetfilterTrace]:
    """Yields deliver()'s trace; after a drop or a reject, the next trace goes on past the
    blocker once the caller switched it off (see _walk)."""
    hooks: list[HookResult] = []
    nat_done = False
    for hook in ("output", "postrouting", "prerouting", "input") if pkt.locally_generated else ("prerouting", "input"):
        if hook == "prerouting" and pkt.locally_generated:
            # Delivered over loopback: the NAT bindings were made on the way out.
            nat_done, pkt = True, pkt.with_(iif="lo")
        if hook == "input":
            local = host.is_local(pkt.dst)
            if local is None:
                yield NetfilterTrace(hooks, "unknown", pkt, None)
                return
            if not local:
                if pkt.locally_generated:  # routed out of this machine: not followed
                    yield NetfilterTrace(hooks, "forwarded", pkt, None)
                else:
                    yield from _forward_walk(nf, pkt, host, off, notes, hooks)
                return
        after = yield from _through(nf, hook, pkt, host, nat_done, off, notes, hooks)
        if after is None:
            return
        pkt = after
    yield NetfilterTrace(hooks, "accept", pkt, None)


def _through(
    nf: Netfilter,
    hook: str,
    pkt: Packet,
    host: HostView,
    nat_done: bool,
    off: Disabled,
    notes: _Notes,
    hooks: list[HookResult],
) -> Generator[NetfilterTrace, None, Packet | None]:
    """One hook of a walk: yields a trace each time the hook stops the packet (after a drop or
    a reject, the walk goes on past the blocker once the caller switched it off); then adds the
    hook to ``hooks`` and returns the packet after it, or None when the walk ends here."""
    for res in _hook_walk(nf, hook, pkt, host, nat_done, off, None, notes):
        if res.verdict == "accept":
            break
        yield NetfilterTrace(hooks + [res], res.verdict, res.packet, res.decisive)
        if res.verdict not in ("drop", "reject"):
            return None
    hooks.append(res)
    return res.packet


def _forward_walk(
    nf: Netfilter, pkt: Packet, host: HostView, off: Disabled, notes: _Notes, hooks: list[HookResult]
) -> Iterator[NetfilterTrace]:
    """A packet NATed (or sent) to an address of another machine: routed (ip_route_input),
    then the forward and postrouting hooks. Verdict "forwarded" when it leaves through ``oif``."""
    dev, stop = route_forward(pkt, host)
    if stop is not None:
        yield NetfilterTrace(
            hooks,
            "drop" if stop == FORWARDING_OFF else "reject" if stop == NO_ROUTE else "unknown",
            pkt,
            None,
            stop=stop,
        )
        return
    pkt = pkt.with_(oif=dev)
    for hook in ("forward", "postrouting"):
        after = yield from _through(nf, hook, pkt, host, False, off, notes, hooks)
        if after is None:
            return
        pkt = after
    yield NetfilterTrace(hooks, "forwarded", pkt, None)


def route_forward(pkt: Packet, host: HostView) -> tuple[str | None, str | None]:
    """(output device, None), or (None, why the packet is not forwarded)."""
    forwards = host.forwards(pkt)
    if forwards is None:
        return None, "whether this machine forwards packets is unknown (sysctl -a -r '\\.forwarding$')"
    if not forwards:
        return None, FORWARDING_OFF
    if host.other_route_tables:
        return None, (
            f"routing tables besides main hold routes (table {', '.join(host.other_route_tables)}): which "
            "table the routing policy sends this packet to is not in the snapshot (ip rule show)"
        )
    dev = host.route_dev(pkt.dst)
    if dev is False:
        return None, "the routes are unknown (ip -j route show table all)"
    if dev is None:
        return None, NO_ROUTE
    return dev, None


def deliver_reply(
    nf: Netfilter,
    first: Packet,
    forwarded: Packet,
    host: HostView,
    *,
    related: bool = False,
    off: Disabled = Disabled(),
) -> NetfilterTrace:
    """The destination's answer to a forwarded packet on its way back to the client (the SYN-ACK,
    a reset, a UDP reply; ``related``: an ICMP error): conntrack state established (related), no
    nat chain runs. A ruleset that forwards only one way stops it, and the client waits."""
    reply = Packet(
        "icmp" if related else forwarded.proto,
        forwarded.dst,
        first.src,
        first.sport,
        sport=forwarded.dport,
        iif=forwarded.oif,
        mark=0,
        ct_mark=forwarded.ct_mark,
        ct_reply=True,
        ct_state="related" if related else "established",
        ct_status=forwarded.ct_status,
        orig_dst=forwarded.orig_dst,
        orig_dport=forwarded.orig_dport,
        icmp_type=3 if related and first.family == 4 else 1 if related else None,
    )
    hooks: list[HookResult] = []
    pkt = reply
    for name in ("prerouting", "forward", "postrouting"):
        if name == "forward":
            dev, stop = route_forward(pkt, host)
            if stop is not None:
                return NetfilterTrace(hooks, "drop" if stop == FORWARDING_OFF else "unknown", pkt, None, stop=stop)
            pkt = pkt.with_(oif=dev)
        res = run_hook(nf, name, pkt, host, nat_done=True, off=off)
        hooks.append(res)
        pkt = res.packet
        if res.verdict != "accept":
            return NetfilterTrace(hooks, res.verdict, pkt, res.decisive)
    return NetfilterTrace(hooks, "accept", pkt, None)


def deliver_established(
    nf: Netfilter, first: Packet, delivered: Packet, host: HostView, off: Disabled = Disabled()
) -> NetfilterTrace:
    """The client's next packet of a TCP connection whose first packet got through (the ACK
    of the handshake): ct state established, NATed by conntrack, no nat chain runs. A ruleset
    that accepts only NEW packets and stops the rest breaks the connection right after it opens."""
    # The packet mark is the packet's own (0 again); the connection's mark stays.
    est = first.with_(ct_state="established", ct_status=delivered.ct_status, mark=0, ct_mark=delivered.ct_mark)
    forwarded = delivered.oif is not None and not first.locally_generated
    after = delivered.with_(ct_state="established", mark=0, oif=None)
    hooks: list[HookResult] = []
    names = (
        ("output", "postrouting", "prerouting", "input")
        if first.locally_generated
        else (("prerouting", "forward", "postrouting") if forwarded else ("prerouting", "input"))
    )
    pkt, pending = est, (after if (after.dst, after.dport) != (est.dst, est.dport) else None)
    for name in names:
        if name == "prerouting" and first.locally_generated:
            pkt, pending = pkt.with_(iif="lo"), None
        if name == "forward":
            pkt = pkt.with_(oif=delivered.oif)
        res = run_hook(
            nf,
            name,
            pkt,
            host,
            nat_done=True,
            off=off,
            translated=pending if name in ("prerouting", "output") else None,
        )
        if name in ("prerouting", "output"):
            pending = None
        hooks.append(res)
        pkt = res.packet
        if res.verdict != "accept":
            return NetfilterTrace(hooks, res.verdict, pkt, res.decisive)
    return NetfilterTrace(hooks, "accept", pkt, None)
