"""Compile native nftables rules (from ``nft -j list ruleset``) into the evaluator's form.

We compile from each statement's original JSON (libnftables-json, ``man libnftables-json``):
that grammar is stable and documented, and keeping to it means a new statement the parser
does not know still reaches us and becomes ``unknown`` here, with its text.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from collections.abc import Set as AbstractSet

from wsltui.facts import nft as nftfacts
from wsltui.simulation.netfilter.data import CONTINUE, ICMPV6_TYPES, Action, BaseChain, Rule, RuleRef, Table
from wsltui.simulation.netfilter.index import Chain
from wsltui.simulation.netfilter.match import (
    KEYS,
    UNKNOWN,
    Assumed,
    Compare,
    Cond,
    Glob,
    Interval,
    Lookup,
    Masked,
    MarkExpr,
    Undecidable,
)
from wsltui.simulation.packet import HostView, Packet

Json = Any  # a value of ``nft -j list ruleset``, as json.loads gives it
_L4 = KEYS["meta l4proto"]
_NF = KEYS["meta nfproto"]
V4 = ((_NF, frozenset({"ipv4"})),)
V6 = ((_NF, frozenset({"ipv6"})),)
PORT_L4 = frozenset({"tcp", "udp", "sctp", "dccp", "udplite"})
L4_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp", 132: "sctp", 33: "dccp", 136: "udplite"}


def _fib_oif_exists(pkt: Packet, host: HostView) -> object:
    dev = KEYS["fib saddr iif oif"](pkt, host)
    return UNKNOWN if dev is UNKNOWN else dev is not None


KEYS.setdefault("fib saddr iif oif exists", _fib_oif_exists)


class NotCompiled(Exception):
    """An expression we do not evaluate; the message is the reason."""


def compile_ruleset(
    rs: nftfacts.NftRuleset, *, skip_iptables_tables: AbstractSet[tuple[str, str]] = frozenset()
) -> tuple[list[Table], list[BaseChain]]:
    """``skip_iptables_tables``: (family, name) of iptables-nft tables whose rules we read from
    iptables-nft-save instead; their non-iptables base chains (e.g. WSL's) are still compiled."""
    tables: list[Table] = []
    bases: list[BaseChain] = []
    for t in rs.tables:
        if t.family not in ("ip", "ip6", "inet"):
            continue  # arp, bridge and netdev tables never see a routed IP packet to a local socket
        skip = (t.family, t.name) in skip_iptables_tables
        sets = {s.name: s for s in t.sets}
        table = Table("nft", t.family, t.name)
        for c in t.chains:
            if skip and (not c.base or _is_iptables_builtin(c)):
                continue
            table.chains[c.name] = Chain(c.name, [_rule(r, sets, t.family) for r in c.rules])
        for c in t.chains:
            if (
                c.base
                and c.name in table.chains
                and c.hook in ("prerouting", "input", "forward", "output", "postrouting")
            ):
                policy = c.policy or "accept"
                bases.append(
                    BaseChain(
                        table,
                        table.chains[c.name],
                        c.hook,
                        c.priority if c.priority is not None else 0,
                        c.type or "filter",
                        policy,
                        f"type {c.type} hook {c.hook} priority {c.priority_text or c.priority}; policy {policy};",
                    )
                )
        if table.chains:
            tables.append(table)
    return tables, bases


_IPT_BUILTIN = {
    "prerouting": "PREROUTING",
    "input": "INPUT",
    "forward": "FORWARD",
    "output": "OUTPUT",
    "postrouting": "POSTROUTING",
}


def _is_iptables_builtin(c: nftfacts.NftChain) -> bool:
    return _IPT_BUILTIN.get(c.hook) == c.name


def _rule(r: nftfacts.NftRule, sets: dict, family: str) -> Rule:
    ref = RuleRef("nft", family, r.table, r.chain, r.position, r.text, handle=r.handle, comment=r.comment or None)
    conds: list = []
    effects: list[Action] = []
    action: Action = CONTINUE
    for st in r.statements:
        raw = st.raw
        try:
            if not isinstance(raw, dict) or len(raw) != 1:
                raise NotCompiled("an unreadable statement")
            ((kind, body),) = raw.items()
            if kind == "match":
                if any(e.kind in ("mark", "setmark") for e in effects) and "mark" in st.text:
                    raise NotCompiled("a mark match after a mark is set in the same rule")
                conds.append(_match(body, st.text, sets))
            elif kind in ("accept", "drop"):
                action = Action(kind)
            elif kind == "return":
                action = Action("return")
            elif kind == "continue":
                action = CONTINUE
            elif kind in ("jump", "goto"):
                target = body.get("target") if isinstance(body, dict) else None
                if not isinstance(target, str):
                    raise NotCompiled(f"a {kind} without a chain name")
                action = Action(kind, target=target)
            elif kind == "reject":
                action = Action("reject", reject_with=_reject_with(body, family))
                if action.reject_with == "tcp-reset":  # nft adds the "meta l4proto tcp" dependency
                    conds.append(Compare("meta l4proto", "==", "tcp", "(reject with tcp reset: TCP only)"))
            elif kind == "vmap":
                action = _vmap(body, st.text, sets)
            elif kind in ("dnat", "redirect"):
                action = _nat(kind, body)
            elif kind in ("snat", "masquerade"):
                action = Action("snat")
            elif kind == "mangle":
                effects.append(_mangle(body, st.text))
            elif kind == "notrack":
                effects.append(Action("notrack"))
            elif kind in ("counter", "log", "set", "ct helper", "ct timeout", "ct expectation", "synproxy"):
                continue  # no effect on whether a new connection passes
            elif kind == "limit":
                over = isinstance(body, dict) and bool(body.get("inv"))  # "limit rate over ..."
                conds.append(Assumed(not over, "assumed under the rate limit", st.text))
            elif kind == "xt":
                what = body.get("name", "?") if isinstance(body, dict) else "?"
                if isinstance(body, dict) and body.get("type") == "target":
                    action = Action(
                        "unknown", reason=f"an iptables-nft target ({what}) whose details nft -j does not show"
                    )
                else:
                    conds.append(
                        Undecidable(f"an iptables-nft match ({what}) whose details nft -j does not show", st.text)
                    )
            elif kind == "queue":
                action = Action("unknown", reason="the packet is queued to a user-space program")
            else:
                conds.append(Undecidable(f"the {kind} statement is not evaluated by wsltui", st.text))
        except Exception as e:  # noqa: BLE001 - NotCompiled, or JSON of the wrong shape (any type at any level)
            why = str(e) if isinstance(e, NotCompiled) else f"a statement wsltui cannot read ({type(e).__name__}: {e})"
            if isinstance(raw, dict) and set(raw) & {"vmap", "dnat", "redirect", "reject", "mangle", "jump", "goto"}:
                action = Action("unknown", reason=f"{why}: {st.text}")  # its verdict cannot be known
            else:
                conds.append(Undecidable(why, st.text))
    return Rule(tuple(conds), action, ref, tuple(effects))


def _reject_with(body: Json, family: str) -> str:
    if not isinstance(body, dict):
        return "icmpx-port-unreachable"  # inet default: port-unreachable of the packet's family
    rtype, expr = body.get("type"), body.get("expr")
    if rtype == "tcp reset":
        return "tcp-reset"
    if rtype in ("icmp", "icmpv6", "icmpx"):
        return f"{rtype}-{expr or 'port-unreachable'}"
    return "icmpx-port-unreachable"


# --- matches ---------------------------------------------------------------------------------


def _match(body: dict, text: str, sets: dict) -> Cond:
    if not isinstance(body, dict):
        raise NotCompiled("a match that is not a JSON object")
    op, left, right = body.get("op", "=="), body.get("left"), body.get("right")
    if isinstance(left, dict) and "concat" in left:
        keys, requires = zip(*(_key(k) for k in left["concat"])) if left["concat"] else ((), ())
        elements = _elements(right, sets, concat=True, keys=list(keys))
        return Lookup(list(keys), elements, op == "!=", text, tuple(r for req in requires for r in req))
    if isinstance(left, dict) and "&" in left:
        inner, mask = left["&"]
        key, requires = _key(inner)
        if key not in ("meta mark", "ct mark") or not isinstance(mask, int) or not isinstance(right, int):
            raise NotCompiled("a bitwise match wsltui does not evaluate")
        return Masked(key, mask, right, op == "!=", text)
    key, requires = _key(left)
    if key in ("meta iif", "meta oif"):
        key = _iface_key(key, right)
    if key == "fib saddr iif oif":
        if not isinstance(right, bool):
            raise NotCompiled("a fib lookup compared with an interface")
        return Compare("fib saddr iif oif exists", "==" if op == "==" else "!=", right, text, requires)
    if op == "in":  # flag test: ct state established,related / ct status dnat
        flags = right if isinstance(right, list) else [right]
        return Compare(key, "in", [_scalar(f, key) for f in flags], text, requires)
    if isinstance(right, (dict, str)) and (
        isinstance(right, str) and right.startswith("@") or isinstance(right, dict) and "set" in right
    ):
        elements = _elements(right, sets, concat=False, keys=[key])
        return Compare(key, "not in" if op == "!=" else "in", [e[0] for e in elements], text, requires)
    if isinstance(right, list):  # flags written as a list
        return Compare(key, "not in" if op == "!=" else "in", [_scalar(f, key) for f in right], text, requires)
    value = _value(right, key)
    if op in ("==", "!="):
        return Compare(key, op, value, text, requires)
    if op in ("<", "<=", ">", ">="):
        return Compare(key, op, value, text, requires)
    raise NotCompiled(f"the operator {op}")


def _key(left: Json) -> tuple[str, tuple]:
    if not isinstance(left, dict) or len(left) != 1:
        raise NotCompiled("an expression wsltui does not evaluate")
    ((kind, body),) = left.items()
    if kind == "payload" and isinstance(body, dict):
        proto, field = body.get("protocol"), body.get("field")
        if proto == "ip" and field in ("saddr", "daddr"):
            return field, V4
        if proto == "ip6" and field in ("saddr", "daddr"):
            return field, V6
        if proto == "ip" and field == "protocol":
            return "meta l4proto", V4
        if proto == "ip6" and field == "nexthdr":
            return "meta l4proto", V6
        if proto in ("tcp", "udp", "sctp", "dccp", "udplite") and field in ("dport", "sport"):
            return field, ((_L4, frozenset({proto})),)
        if proto == "th" and field in ("dport", "sport"):
            return field, ((_L4, PORT_L4),)
        if proto == "tcp" and field == "flags":
            return "tcp flags", ((_L4, frozenset({"tcp"})),)
        if (proto, field) in (("ip6", "hoplimit"), ("ip", "ttl")):
            return "hop limit", V6 if proto == "ip6" else V4
        if proto == "icmpv6" and field == "type":
            return "icmpv6 type", ((_L4, frozenset({"ipv6-icmp"})),)
        if proto in ("icmp", "icmpv6"):
            # Other ICMP header fields: only our neighbor discovery packet is ICMP, and it has
            # no code or id worth matching; an ICMPv4 field never applies to it.
            if proto == "icmp":
                return "meta l4proto", ((_L4, frozenset({"icmp"})),)
            raise NotCompiled(f"the header field {proto} {field}")
        raise NotCompiled(f"the header field {proto} {field}")
    if kind == "meta" and isinstance(body, dict):
        k = body.get("key")
        if k in ("iifname", "oifname", "iif", "oif", "l4proto", "nfproto", "mark", "pkttype"):
            return f"meta {k}", ()
        if k == "protocol":
            return "meta nfproto", ()
        raise NotCompiled(f"meta {k}")
    if kind == "ct" and isinstance(body, dict):
        k, d = body.get("key"), body.get("dir")
        if k in ("state", "status", "direction") and not d:
            return f"ct {k}", ()
        if d == "original" and k in ("daddr", "saddr", "ip daddr", "ip6 daddr", "ip saddr", "ip6 saddr"):
            return f"ct original {k.split()[-1]}", ()
        if d == "original" and k == "proto-dst":
            return "ct original proto-dst", ()
        if k == "mark":
            return "ct mark", ()
        raise NotCompiled(f"ct {k}")
    if kind == "fib" and isinstance(body, dict):
        flags, result = set(body.get("flags") or ()), body.get("result")
        if result == "type" and flags == {"daddr"}:
            return "fib daddr type", ()
        if result == "type" and flags == {"saddr"}:
            return "fib saddr type", ()
        if result == "oif" and "saddr" in flags and "iif" in flags and flags <= {"saddr", "iif", "mark"}:
            return "fib saddr iif oif", ()
        raise NotCompiled(f"fib {' . '.join(sorted(flags))} {result}")
    raise NotCompiled(f"the expression {kind}")


def _iface_key(key: str, right: Json) -> str:
    """``iif "lo"`` compares interface indexes; nft shows the name the index had when the
    ruleset was listed, the same moment ``ip -j addr`` gave the names, so comparing names then is
    comparing indexes (an index with no interface left is shown as a number, compared as one)."""
    values = right.get("set") if isinstance(right, dict) else right
    values = values if isinstance(values, list) else [values]
    if values and all(isinstance(v, str) and not v.startswith("@") for v in values):
        return key + "name_exact"
    return key


def _value(v: Json, key: str) -> object:
    if isinstance(v, dict):
        if "prefix" in v:
            p = v["prefix"]
            return ipaddress.ip_network(f"{p['addr']}/{p['len']}", strict=False)
        if "range" in v:
            lo, hi = v["range"]
            return Interval(_scalar(lo, key), _scalar(hi, key))
        raise NotCompiled(f"the value {list(v)[0]}")
    return _scalar(v, key)


def _scalar(v: Json, key: str) -> object:
    if key in ("saddr", "daddr", "ct original daddr", "ct original saddr") and isinstance(v, str):
        try:
            return ipaddress.ip_address(v)
        except ValueError:
            raise NotCompiled(f"the address {v!r}") from None
    if key in ("meta iifname_exact", "meta oifname_exact") and isinstance(v, str):
        return v
    if key in ("meta iifname", "meta oifname") and isinstance(v, str):
        return Glob(v) if v.endswith("*") and not v.endswith("\\*") else v.replace("\\*", "*")
    if key == "meta l4proto" and isinstance(v, int):
        return L4_NAMES.get(v, v)
    if key in ("meta iif", "meta oif") and isinstance(v, str):
        raise NotCompiled("an interface index mixed with interface names")
    if key == "icmpv6 type" and isinstance(v, str):
        if v not in ICMPV6_TYPES:
            raise NotCompiled(f"the ICMPv6 type {v!r}")
        return ICMPV6_TYPES[v]
    return v


def _elements(right: Json, sets: dict, *, concat: bool, keys: list[str]) -> list[tuple]:
    if isinstance(right, str) and right.startswith("@"):
        s = sets.get(right[1:])
        if s is None:
            raise NotCompiled(f"the set {right} is not in the ruleset")
        if "dynamic" in s.flags or "timeout" in s.flags:
            raise NotCompiled(f"the set {right} is filled at run time; its members now may differ")
        raws = [e.key.raw for e in s.elements]
    elif isinstance(right, dict) and "set" in right:
        raws = right["set"] if isinstance(right["set"], list) else [right["set"]]
    else:
        raws = [right]
    out = []
    for raw in raws:
        if isinstance(raw, dict) and "elem" in raw:
            raw = raw["elem"].get("val")
        if concat:
            parts = raw.get("concat") if isinstance(raw, dict) else None
            if parts is None:
                raise NotCompiled("a concatenation compared with a single value")
            if len(parts) != len(keys):
                raise NotCompiled("a concatenation of a different length")
            out.append(tuple(_value(p, k) for p, k in zip(parts, keys)))
        else:
            out.append((_value(raw, keys[0]),))
    return out


def _vmap(body: Json, text: str, sets: dict) -> Action:
    key, requires = _key(body.get("key"))
    data = body.get("data")
    if isinstance(data, str) and data.startswith("@"):
        s = sets.get(data[1:])
        if s is None:
            raise NotCompiled(f"the map {data} is not in the ruleset")
        pairs = [(e.key.raw, e.data.raw if e.data else None) for e in s.elements]
    elif isinstance(data, dict) and "set" in data:
        pairs = [tuple(p) for p in data["set"]]
    else:
        raise NotCompiled("a verdict map wsltui cannot read")
    mapping = []
    for k, verdict in pairs:
        if not isinstance(verdict, dict) or len(verdict) != 1:
            raise NotCompiled("a verdict map entry wsltui cannot read")
        ((vk, vb),) = verdict.items()
        act = (
            Action(vk, target=vb.get("target") if isinstance(vb, dict) else None)
            if vk in ("accept", "drop", "jump", "goto", "return", "continue")
            else Action("unknown", reason=f"verdict {vk}")
        )
        mapping.append((_value(k, key) if not isinstance(k, str) else _scalar(k, key), act))
    return Action("vmap", vmap_key=key, vmap=tuple(mapping), vmap_requires=requires)


def _nat(kind: str, body: Json) -> Action:
    body = body or {}
    addr = body.get("addr")
    port = body.get("port")
    if isinstance(addr, dict) or isinstance(port, dict) and "range" not in port:
        return Action("unknown", reason="a NAT target computed from a map or expression")
    try:
        address = ipaddress.ip_address(addr) if isinstance(addr, str) else None
    except ValueError:
        return Action("unknown", reason=f"cannot read the NAT address {addr!r}")
    if isinstance(port, dict):
        port = port["range"][0]
    nat_port = (int(port), int(port)) if isinstance(port, int) else None
    return Action("dnat" if kind == "dnat" else "redirect", nat_addr=address, nat_port=nat_port)


def _mangle(body: Json, text: str) -> Action:
    key = body.get("key") if isinstance(body, dict) else None
    value = body.get("value") if isinstance(body, dict) else None
    if key == {"meta": {"key": "mark"}} and isinstance(value, int):
        return Action("mark", mark=(value, 0xFFFFFFFF))
    if isinstance(key, dict) and key:
        first = next(iter(key))
        target = {"meta": "meta mark", "ct": "ct mark"}.get(first)
        if target is not None and key[first] == {"key": "mark"}:
            try:
                return Action("setmark", mark_key=target, mark_expr=_mark_expr(value))
            except NotCompiled as e:
                return Action("unknown", reason=f"{e}: '{text}'")
    if isinstance(key, dict) and "ct" in key:
        return CONTINUE  # ct zone, ct label …: no effect on whether a connection passes
    return Action("unknown", reason=f"cannot evaluate '{text}'")


def _mark_expr(value: Json) -> MarkExpr:
    """The value of ``meta mark set …`` / ``ct mark set …`` as match.mark_value reads it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if value in ({"meta": {"key": "mark"}}, {"ct": {"key": "mark"}}):
        return "meta mark" if "meta" in value else "ct mark"
    if isinstance(value, dict) and len(value) == 1:
        ((op, args),) = value.items()
        if op in ("&", "|", "^") and isinstance(args, list) and len(args) == 2:
            return (op, _mark_expr(args[0]), _mark_expr(args[1]))
    raise NotCompiled("a mark computed from an expression wsltui does not evaluate")
