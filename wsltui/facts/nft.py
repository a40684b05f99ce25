"""Facts from ``nft -j list ruleset`` (record ``nf.nft``): tables, sets, maps, chains and rules.

A pure parser: text in, :class:`NftRuleset` out; no I/O and it never raises. Whatever is not
understood is kept (as ``opaque`` statements / ``kind="unknown"`` expressions, with the original
JSON in ``raw``) and named in ``NftRuleset.problems``; the rest is still usable.

Shape of the model (plain dataclasses, ``dataclasses.asdict`` gives JSON):

* :class:`NftRuleset` -> ``tables`` -> :class:`NftTable` -> ``chains`` (:class:`NftChain`, with
  their :class:`NftRule` in order) and ``sets`` (:class:`NftSet`, maps included, with
  :class:`NftSetElement`).
* A rule is a list of :class:`NftStatement` (``kind`` = ``match``, ``verdict``, ``reject``,
  ``vmap``, ``nat``, ``counter``, ``log``, ``limit``, ``mangle``, ``set``, ``notrack``,
  ``ct count``, ``quota``, ``xt`` or any other libnftables statement name).
* Match operands and values are :class:`NftExpr` trees (``kind`` = ``payload``, ``meta``,
  ``ct``, ``fib``, ``value``, ``flags``, ``set_ref``, ``set``, ``prefix``, ``range``,
  ``concat``, ``binop``, ``map``, ``mapping``, ``verdict``, ``elem``, other key kinds such as
  ``tcp option``/``rt``/``socket``, or ``unknown``).

Every statement, expression, rule and element carries ``text``: the rule as ``nft list ruleset``
prints it (checked line by line against real nft 1.0.6 output in ``tests/golden/nft-*``).

**iptables-nft tables.** ``nft -j`` keeps only the module name of an xtables-compat expression
(``{"xt": {"type": "match", "name": "multiport"}}``), so such statements are ``opaque`` and the
readable source is ``iptables-nft-save``. :attr:`NftTable.managed_by_iptables` is true when

1. any rule in the table holds an ``xt`` expression (this is exactly when nft itself prints
   "table ... is managed by iptables-nft, do not touch!"), or
2. the table looks like one iptables-nft / arptables-nft / ebtables-nft creates: family
   ``ip``/``ip6`` with name ``filter``/``nat``/``mangle``/``raw``/``security``, family ``arp``
   with name ``filter``, or family ``bridge`` with name ``filter``/``nat``/``broute``; it has at
   least one base chain; and *every* base chain has the built-in chain name for its hook
   (``INPUT`` on ``input``, ``PREROUTING`` on ``prerouting``, ``BROUTING`` on bridge
   ``prerouting``, ...) and the table has no named sets or maps (iptables-nft uses only
   anonymous sets). A native table that merely reuses a name like ``ip filter`` with lowercase
   chains is therefore *not* marked.

``managed_reason`` says which rule fired.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any, TypeAlias

from wsltui.facts.base import Unknown, usable_record
from wsltui.snapshot import Snapshot

RECORD = "nf.nft"

# --- model -------------------------------------------------------------------------------


@dataclass
class NftExpr:
    """An operand (``left``) or a value (``right``) of a match, or a part of one.

    Fields used per kind (the others stay empty):

    * ``payload``: ``protocol`` (``ip``, ``ip6``, ``tcp``, ``udp``, ``th``, ``icmp``, ...),
      ``field`` (``saddr``, ``dport``, ``type``, ...). A raw payload (``@nh,16,8``) has
      ``protocol`` = base and ``field`` = ``"offset,len"``.
    * ``meta``: ``key`` (``iifname``, ``l4proto``, ``mark``, ``nfproto``, ...).
    * ``ct``: ``key`` (``state``, ``status``, ``mark``, ``ip saddr``, ...), ``dir``
      (``original``/``reply`` or empty).
    * ``fib``: ``key`` = result (``type``, ``oif``, ...), ``flags`` (``["daddr"]``, ...).
    * ``value``: ``value`` = a str/int/bool literal.
    * ``flags``: ``value`` = a list of str (``ct state established,related``).
    * ``set_ref``: ``name`` = named set/map (without ``@``).
    * ``set``: ``items`` = elements (anonymous set; ``mapping`` items for anonymous maps).
    * ``prefix``: ``value`` = address, ``length``.
    * ``range``: ``items`` = [low, high].
    * ``concat``: ``items`` = parts.
    * ``binop``: ``op`` (``&``, ``|``, ``^``, ``<<``, ``>>``), ``items`` = [left, right].
    * ``map``: ``items`` = [key, data] (a lookup such as ``ip saddr map @marks``).
    * ``mapping``: ``items`` = [key, data] (one ``k : v`` element of an anonymous map).
    * ``verdict``: ``key`` = ``accept``/``drop``/``jump``/``goto``/..., ``name`` = target.
    * ``elem``: ``items`` = [value], ``options`` = timeout/expires/comment/counter.
    * other key kinds (``tcp option``, ``ip option``, ``exthdr``, ``rt``, ``socket``, ``osf``,
      ``numgen``, ``jhash``, ``symhash``, ``ipsec``, ``sctp chunk``, ``dccp option``):
      ``protocol``/``field``/``key`` where they apply; read ``raw`` for the rest.
    * ``unknown``: not understood; ``raw`` holds the JSON and the ruleset names it in problems.
    """

    kind: str
    text: str = ""
    raw: Any = None
    protocol: str = ""
    field: str = ""
    key: str = ""
    dir: str = ""
    flags: list[str] = _field(default_factory=list)
    value: bool | int | float | str | list[str] | None = None
    name: str = ""
    op: str = ""
    length: int | None = None
    items: list[NftExpr] = _field(default_factory=list)
    options: dict[str, Any] = _field(default_factory=dict)

    @property
    def is_key(self) -> bool:
        """True for packet/state selectors (what a match tests), false for constants."""
        return self.kind in KEY_KINDS


@dataclass
class NftStatement:
    """One statement of a rule. ``kind`` is the libnftables-json statement name.

    * ``match``: ``op`` (``==``, ``!=``, ``in``, ``<``, ``>``, ``<=``, ``>=``), ``left``,
      ``right``. ``in`` is what nft uses for flag tests (``ct state established,related``,
      ``tcp flags syn``): true when any listed flag is set.
    * ``verdict``: ``verdict`` (``accept``, ``drop``, ``continue``, ``return``, ``jump``,
      ``goto``, ``queue``), ``target`` (jump/goto chain).
    * ``reject``: ``reject_type`` (``icmpx``, ``icmp``, ``icmpv6``, ``tcp reset``, or empty),
      ``reject_code`` (``port-unreachable``, ``admin-prohibited``, ...; empty for tcp reset).
      A bare JSON ``{"reject": null}`` gets the family default (icmpx/icmp/icmpv6
      port-unreachable).
    * ``vmap``: ``left`` = key, ``right`` = set_ref or anonymous ``set`` of ``mapping``.
    * ``nat``: ``nat_type`` (``dnat``, ``snat``, ``redirect``, ``masquerade``), ``nat_family``
      (``ip``/``ip6`` when given), ``addr``, ``port`` (NftExpr or None), ``flags``.
    * ``mangle``: ``left`` = key set, ``right`` = value (``meta mark set 0x7``).
    * ``set``: ``op`` (``add``/``update``/``delete``), ``left`` = element, ``right`` = set_ref.
    * ``counter``, ``log``, ``limit``, ``quota``, ``ct count``, ``notrack`` and others:
      their JSON parameters in ``params`` (``{"packets": 0, "bytes": 0}``, ``{"prefix": ...}``,
      ``{"rate": 5, "per": "second", "burst": 10, "inv": True}``, ...).
    * ``xt``: ``params`` = ``{"type": "match"|"target"|"watcher", "name": ...}``, always
      ``opaque`` (the details live only in iptables-nft-save).

    ``opaque`` = the statement cannot be evaluated from this JSON (xt, unknown).
    """

    kind: str
    text: str = ""
    raw: Any = None
    opaque: bool = False
    op: str = ""
    left: NftExpr | None = None
    right: NftExpr | None = None
    verdict: str = ""
    target: str = ""
    reject_type: str = ""
    reject_code: str = ""
    nat_type: str = ""
    nat_family: str = ""
    addr: NftExpr | None = None
    port: NftExpr | None = None
    flags: list[str] = _field(default_factory=list)
    params: dict[str, Any] = _field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        """Ends evaluation of the current rule list (accept/drop/reject/jump/goto/return/queue,
        and NAT statements, which the kernel ends with an implicit accept of the nat chain).
        A vmap may or may not end it (depends on the key), so it is not counted here."""
        if self.kind in ("reject", "nat"):
            return True
        return self.kind == "verdict" and self.verdict != "continue"


@dataclass
class NftRule:
    family: str
    table: str
    chain: str
    handle: int | None
    position: int  # 1-based order in its chain, as listed
    text: str = ""
    comment: str = ""
    statements: list[NftStatement] = _field(default_factory=list)
    opaque: bool = False  # holds at least one opaque statement

    @property
    def matches(self) -> list[NftStatement]:
        return [s for s in self.statements if s.kind == "match"]

    @property
    def decision(self) -> NftStatement | None:
        """The last verdict/reject/vmap/nat statement, if any (what the rule does when it
        matches). None for rules that only count/log/set marks, and for rules whose target is an
        opaque ``xt`` target."""
        for s in reversed(self.statements):
            if s.kind in ("verdict", "reject", "vmap", "nat"):
                return s
        return None


@dataclass
class NftChain:
    family: str
    table: str
    name: str
    handle: int | None = None
    base: bool = False
    type: str = ""  # filter / nat / route (base chains)
    hook: str = ""  # prerouting / input / forward / output / postrouting / ingress / egress
    priority: int | None = None
    priority_text: str = ""  # as nft prints it: "filter + 10", "dstnat", "-200"
    policy: str = ""  # accept / drop (base chains)
    devices: list[str] = _field(default_factory=list)  # netdev chains, when the JSON has them
    rules: list[NftRule] = _field(default_factory=list)

    @property
    def declaration(self) -> str:
        """The base-chain header line as nft prints it (empty for a regular chain):
        ``type filter hook input priority filter + 10; policy drop;``."""
        if not self.base:
            return ""
        dev = ""
        if len(self.devices) == 1:
            dev = f' device "{self.devices[0]}"'
        elif self.devices:
            dev = " devices = { " + ", ".join(self.devices) + " }"
        return f"type {self.type} hook {self.hook}{dev} priority {self.priority_text}; policy {self.policy};"


@dataclass
class NftSetElement:
    key: NftExpr  # value / prefix / range / concat
    data: NftExpr | None = None  # maps: the mapped value; vmaps: a verdict NftExpr
    text: str = ""
    options: dict[str, Any] = _field(default_factory=dict)  # timeout / expires / comment / counter


@dataclass
class NftSet:
    family: str
    table: str
    name: str
    handle: int | None = None
    is_map: bool = False
    type: str = ""  # "ipv4_addr" or "ipv4_addr . inet_service"
    type_parts: list[str] = _field(default_factory=list)
    map_type: str = ""  # maps: "verdict", "ipv4_addr", "mark", "ipv4_addr . inet_service"
    flags: list[str] = _field(default_factory=list)  # interval, timeout, constant, dynamic
    timeout: int | None = None
    size: int | None = None
    policy: str = ""
    comment: str = ""
    elements: list[NftSetElement] = _field(default_factory=list)

    @property
    def is_vmap(self) -> bool:
        return self.is_map and self.map_type == "verdict"


@dataclass
class NftTable:
    family: str
    name: str
    handle: int | None = None
    flags: list[str] = _field(default_factory=list)
    managed_by_iptables: bool = False
    managed_reason: str = ""
    chains: list[NftChain] = _field(default_factory=list)
    sets: list[NftSet] = _field(default_factory=list)  # sets and maps, in listing order
    objects: list[dict[str, Any]] = _field(default_factory=list)  # named counters/quotas/...: {"kind", "name", "raw"}

    def chain(self, name: str) -> NftChain | None:
        return next((c for c in self.chains if c.name == name), None)

    def set(self, name: str) -> NftSet | None:
        name = name[1:] if name.startswith("@") else name
        return next((s for s in self.sets if s.name == name), None)


@dataclass
class NftRuleset:
    tables: list[NftTable] = _field(default_factory=list)
    version: str = ""  # nft version from metainfo
    json_schema_version: int | None = None
    problems: list[str] = _field(default_factory=list)
    unknown: Unknown | None = None

    def table(self, family: str, name: str) -> NftTable | None:
        return next((t for t in self.tables if t.family == family and t.name == name), None)

    def chain(self, family: str, table: str, name: str) -> NftChain | None:
        t = self.table(family, table)
        return t.chain(name) if t else None

    def named_set(self, family: str, table: str, name: str) -> NftSet | None:
        """The named set or map a ``set_ref`` (``@name``) in a rule of that table points to."""
        t = self.table(family, table)
        return t.set(name) if t else None

    def base_chains(self, hook: str | None = None, families: tuple[str, ...] | None = None) -> list[NftChain]:
        """Base chains (optionally of one hook / some families) in the order the kernel runs
        them on a hook: ascending priority (ties in listing order)."""
        out = [
            c
            for t in self.tables
            for c in t.chains
            if c.base and (hook is None or c.hook == hook) and (families is None or c.family in families)
        ]
        return sorted(out, key=lambda c: c.priority if c.priority is not None else 0)

    @property
    def rules(self) -> list[NftRule]:
        return [r for t in self.tables for c in t.chains for r in c.rules]


# --- entry points ------------------------------------------------------------------------


def from_snapshot(snapshot: Snapshot | None) -> NftRuleset:
    from wsltui.records import command_for

    record = usable_record(snapshot.get(RECORD) if snapshot is not None else None, command_for(RECORD))
    if isinstance(record, Unknown):
        return NftRuleset(unknown=record)
    result = parse_nft_json(record.stdout)
    if result.unknown is not None and not result.unknown.command:
        result.unknown = Unknown(result.unknown.reason, record.command or command_for(RECORD))
    return result


def parse_nft_json(text: str) -> NftRuleset:
    """Parse the output of ``nft -j list ruleset``. Never raises."""
    rs = NftRuleset()
    try:
        _parse(text, rs)
    except Exception as e:  # noqa: BLE001 - a parser bug must not take the app down
        rs.problems.append(f"internal parser error: {type(e).__name__}: {e}")
    return rs


def _parse(text: str, rs: NftRuleset) -> None:
    if not isinstance(text, str):
        rs.unknown = Unknown(f"expected text, got {type(text).__name__}")
        rs.problems.append("input is not text")
        return
    if not text.strip():
        rs.unknown = Unknown("nft printed nothing")
        rs.problems.append("empty output")
        return
    try:
        data = json.loads(text)
    except ValueError as e:
        rs.unknown = Unknown(f"nft output is not valid JSON ({e})")
        rs.problems.append(f"not valid JSON: {e}")
        return
    if not isinstance(data, dict) or not isinstance(data.get("nftables"), list):
        rs.unknown = Unknown('nft output is not a JSON object with an "nftables" list')
        rs.problems.append('expected {"nftables": [...]}')
        return
    tables: dict[tuple[str, str], NftTable] = {}

    def table_for(fam: str, name: str, where: str) -> NftTable:
        t = tables.get((fam, name))
        if t is None:
            rs.problems.append(f"{where}: table {fam} {name} not listed before it; added")
            t = NftTable(family=fam, name=name)
            tables[(fam, name)] = t
            rs.tables.append(t)
        return t

    pending_rules: list[tuple[int, dict[str, Any]]] = []
    for i, item in enumerate(data["nftables"]):
        if not isinstance(item, dict) or len(item) != 1:
            rs.problems.append(f"item {i}: expected an object with one key, got {_short(item)}")
            continue
        ((kind, body),) = item.items()
        if kind == "metainfo":
            if isinstance(body, dict):
                rs.version = _str(body.get("version"))
                v = body.get("json_schema_version")
                rs.json_schema_version = v if isinstance(v, int) else None
            continue
        if not isinstance(body, dict):
            rs.problems.append(f"item {i} ({kind}): expected an object, got {_short(body)}")
            continue
        fam = _str(body.get("family"))
        if kind == "table":
            name = _str(body.get("name"))
            if (fam, name) in tables:
                rs.problems.append(f"table {fam} {name} listed twice")
                continue
            t = NftTable(family=fam, name=name, handle=_int(body.get("handle")), flags=_strlist(body.get("flags")))
            tables[(fam, name)] = t
            rs.tables.append(t)
        elif kind == "chain":
            t = table_for(fam, _str(body.get("table")), f"chain {body.get('name')}")
            t.chains.append(_chain(body, rs))
        elif kind in ("set", "map"):
            t = table_for(fam, _str(body.get("table")), f"{kind} {body.get('name')}")
            t.sets.append(_set(kind, body, rs))
        elif kind == "rule":
            pending_rules.append((i, body))
        elif kind in _OBJECT_KINDS:
            t = table_for(fam, _str(body.get("table")), f"{kind} {body.get('name')}")
            t.objects.append({"kind": kind, "name": _str(body.get("name")), "raw": body})
        else:
            rs.problems.append(f"item {i}: unknown object kind {kind!r}; ignored")

    chains = {(c.family, c.table, c.name): c for t in rs.tables for c in t.chains}
    for _, body in pending_rules:
        fam = _str(body.get("family"))
        t = table_for(fam, _str(body.get("table")), f"rule {body.get('handle')}")
        cname = _str(body.get("chain"))
        chain = chains.get((fam, t.name, cname))
        if chain is None:
            rs.problems.append(f"rule {body.get('handle')}: chain {fam} {t.name} {cname} not listed; added")
            chain = NftChain(family=fam, table=t.name, name=cname)
            t.chains.append(chain)
            chains[(fam, t.name, cname)] = chain
        chain.rules.append(_rule(body, len(chain.rules) + 1, rs))

    for t in rs.tables:
        t.managed_by_iptables, t.managed_reason = _managed(t)


_OBJECT_KINDS = {
    "counter",
    "quota",
    "ct helper",
    "limit",
    "ct timeout",
    "ct expectation",
    "secmark",
    "synproxy",
    "flowtable",
    "element",
}

# --- chains, sets ------------------------------------------------------------------------


def _chain(body: dict[str, Any], rs: NftRuleset) -> NftChain:
    c = NftChain(
        family=_str(body.get("family")),
        table=_str(body.get("table")),
        name=_str(body.get("name")),
        handle=_int(body.get("handle")),
    )
    if "hook" in body:
        c.base = True
        c.type = _str(body.get("type"))
        c.hook = _str(body.get("hook"))
        c.policy = _str(body.get("policy")) or "accept"
        prio = body.get("prio")
        if isinstance(prio, bool) or not isinstance(prio, (int, str)):
            rs.problems.append(f"chain {c.family} {c.table} {c.name}: priority {prio!r} not understood")
        elif isinstance(prio, int):
            c.priority = prio
        else:
            c.priority = _prio_from_text(prio, c.family, c.hook)
            if c.priority is None:
                rs.problems.append(f"chain {c.family} {c.table} {c.name}: priority {prio!r} not understood")
        c.priority_text = priority_text(c.priority, c.family, c.hook) if c.priority is not None else _str(prio)
        dev = body.get("dev")
        c.devices = [dev] if isinstance(dev, str) else _strlist(dev)
    return c


def _set(kind: str, body: dict[str, Any], rs: NftRuleset) -> NftSet:
    s = NftSet(
        family=_str(body.get("family")),
        table=_str(body.get("table")),
        name=_str(body.get("name")),
        handle=_int(body.get("handle")),
        is_map=(kind == "map"),
    )
    typ = body.get("type")
    s.type_parts = [typ] if isinstance(typ, str) else _strlist(typ)
    s.type = " . ".join(s.type_parts)
    mt = body.get("map")
    s.map_type = mt if isinstance(mt, str) else " . ".join(_strlist(mt))
    s.flags = _strlist(body.get("flags")) if not isinstance(body.get("flags"), str) else [body["flags"]]
    s.timeout = _int(body.get("timeout"))
    s.size = _int(body.get("size"))
    s.policy = _str(body.get("policy"))
    s.comment = _str(body.get("comment"))
    where = f"{kind} {s.family} {s.table} {s.name}"
    ctx = _Ctx(rs, where, s.family)
    elems = body.get("elem")
    if elems is not None and not isinstance(elems, list):
        rs.problems.append(f"{where}: elements are not a list")
        elems = []
    keyfmt = _type_hint(s.type_parts)
    datafmt = _type_hint([s.map_type]) if s.is_map else ""
    for e in elems or []:
        if s.is_map:
            if isinstance(e, list) and len(e) == 2:
                k, d = _expr(e[0], ctx, keyfmt), _expr(e[1], ctx, datafmt)
            else:
                rs.problems.append(f"{where}: map element {_short(e)} is not a [key, value] pair")
                k, d = _unknown(e, ctx, "map element"), None
        else:
            k, d = _expr(e, ctx, keyfmt), None
        el = NftSetElement(key=k, data=d)
        if k.kind == "elem" and k.items:
            el.key, el.options = k.items[0], k.options
        el.text = k.text + (f" : {d.text}" if d is not None else "")
        s.elements.append(el)
    return s


# How a constant is printed: "hex" (marks), "quote" (interface names), "" (as it is), or one hint
# per part of a concatenation.
Hint: TypeAlias = "str | list[Hint]"


def _type_hint(parts: list[str]) -> Hint:
    """How to print constants of a set data type (the formatting nft uses): "hex" for marks,
    "quote" for interface names, a list of hints for a concatenated type."""
    hints: list[Hint] = ["hex" if p == "mark" else "quote" if p == "ifname" else "" for p in parts]
    if len(hints) == 1:
        return hints[0]
    return hints if any(hints) else ""


# --- rules ---------------------------------------------------------------------------------


class _Ctx:
    def __init__(self, rs: NftRuleset, where: str, family: str) -> None:
        self.rs, self.where, self.family = rs, where, family

    def problem(self, msg: str) -> None:
        self.rs.problems.append(f"{self.where}: {msg}")


def _rule(body: dict[str, Any], position: int, rs: NftRuleset) -> NftRule:
    fam = _str(body.get("family"))
    r = NftRule(
        family=fam,
        table=_str(body.get("table")),
        chain=_str(body.get("chain")),
        handle=_int(body.get("handle")),
        position=position,
        comment=_str(body.get("comment")),
    )
    ctx = _Ctx(rs, f"rule {fam} {r.table} {r.chain} handle {r.handle}", fam)
    exprs = body.get("expr")
    if not isinstance(exprs, list):
        ctx.problem(f"expr is not a list ({_short(exprs)})")
        exprs = []
    for raw in exprs:
        st = _statement(raw, ctx)
        r.statements.append(st)
    r.opaque = any(s.opaque for s in r.statements)
    r.text = " ".join(s.text for s in r.statements if s.text)
    if r.comment:
        r.text += f' comment "{r.comment}"'
    return r


_VERDICTS = ("accept", "drop", "continue", "return", "jump", "goto", "queue")
_NAT = ("dnat", "snat", "redirect", "masquerade")
_NOT_SHOWN_OPS = ("==", "in")


def _statement(raw: Any, ctx: _Ctx) -> NftStatement:
    if not isinstance(raw, dict) or len(raw) != 1:
        ctx.problem(f"statement {_short(raw)} is not an object with one key")
        return NftStatement(kind="unknown", raw=raw, opaque=True, text=f"<? {_short(raw)}>")
    ((kind, body),) = raw.items()
    st = NftStatement(kind=kind, raw=raw)
    try:
        if kind == "match":
            _match(st, body, ctx)
        elif kind in _VERDICTS:
            st.kind, st.verdict = "verdict", kind
            if kind in ("jump", "goto"):
                st.target = _str(body.get("target")) if isinstance(body, dict) else _str(body)
                st.text = f"{kind} {st.target}"
                if not st.target:
                    ctx.problem(f"{kind} without a target")
            elif kind == "queue":
                st.params = dict(body) if isinstance(body, dict) else {}
                st.text = _queue_text(st.params)
            else:
                st.text = kind
        elif kind == "reject":
            _reject(st, body, ctx)
        elif kind == "vmap":
            body = body if isinstance(body, dict) else {}
            st.left = _expr(body.get("key"), ctx)
            st.right = _expr(body.get("data"), ctx)
            st.text = f"{st.left.text} vmap {st.right.text}"
        elif kind in _NAT:
            _nat(st, body, ctx)
        elif kind == "counter":
            if isinstance(body, dict):
                st.params = dict(body)
                st.text = f"counter packets {body.get('packets', 0)} bytes {body.get('bytes', 0)}"
            elif isinstance(body, str):
                st.params = {"name": body}
                st.text = f'counter name "{body}"'
            else:
                st.text = "counter"
        elif kind == "log":
            st.params = dict(body) if isinstance(body, dict) else {}
            st.text = _log_text(st.params)
        elif kind == "limit":
            st.params = dict(body) if isinstance(body, dict) else {}
            st.text = _limit_text(st.params) if isinstance(body, dict) else f'limit name "{body}"'
        elif kind == "quota":
            st.params = dict(body) if isinstance(body, dict) else {"name": body}
            st.text = _quota_text(body)
        elif kind == "mangle":
            body = body if isinstance(body, dict) else {}
            st.left = _expr(body.get("key"), ctx)
            st.right = _expr(body.get("value"), ctx, _hint_for(st.left))
            st.text = f"{st.left.text} set {st.right.text}"
        elif kind == "set":
            body = body if isinstance(body, dict) else {}
            st.op = _str(body.get("op"))
            st.left = _expr(body.get("elem"), ctx)
            st.right = _expr(body.get("set"), ctx)
            st.text = f"{st.op} {st.right.text} {{ {st.left.text} }}"
        elif kind == "notrack":
            st.text = "notrack"
        elif kind == "ct count":
            st.params = dict(body) if isinstance(body, dict) else {}
            st.text = f"ct count {'over ' if st.params.get('inv') else ''}{st.params.get('val')}"
        elif kind == "xt":
            st.opaque = True
            st.params = dict(body) if isinstance(body, dict) else {}
            st.text = f"xt {_str(st.params.get('type'))} {_str(st.params.get('name'))}"
        elif kind in _KNOWN_OTHER_STATEMENTS:
            st.params = dict(body) if isinstance(body, dict) else {"value": body}
            st.text = _generic_text(kind, body)
        else:
            st.opaque = True
            st.params = dict(body) if isinstance(body, dict) else {"value": body}
            st.text = _generic_text(kind, body)
            ctx.problem(f"unknown statement {kind!r}; kept as opaque")
    except Exception as e:  # noqa: BLE001 - a malformed statement must not lose the rule
        ctx.problem(f"statement {kind!r} not understood ({type(e).__name__}: {e}); kept as opaque")
        st.opaque = True
        st.text = st.text or _generic_text(kind, body)
    return st


_KNOWN_OTHER_STATEMENTS = {
    "flow",
    "dup",
    "fwd",
    "tproxy",
    "synproxy",
    "secmark",
    "ct helper",
    "ct timeout",
    "ct expectation",
    "meter",
    "map",
    "last",
    "inner",
}


def _match(st: NftStatement, body: Any, ctx: _Ctx) -> None:
    if not isinstance(body, dict):
        ctx.problem(f"match is not an object ({_short(body)})")
        st.opaque = True
        st.text = f"<? {_short(body)}>"
        return
    st.op = _str(body.get("op")) or "=="
    st.left = _expr(body.get("left"), ctx)
    st.right = _expr(body.get("right"), ctx, _hint_for(st.left))
    if st.left.kind == "unknown" or st.right.kind == "unknown":
        st.opaque = True
    # nft 1.0.6 prints "tcp flags syn / syn,ack" for (tcp flags & (syn|ack)) == syn
    left = st.left
    if (
        st.op == "=="
        and left.kind == "binop"
        and left.op == "&"
        and len(left.items) == 2
        and left.items[0].kind == "payload"
        and left.items[0].field == "flags"
        and left.items[1].kind in ("flags", "value")
        and st.right.kind in ("flags", "value")
    ):
        mask = left.items[1]
        mask_text = ",".join(mask.value) if isinstance(mask.value, list) else mask.text
        st.text = f"{left.items[0].text} {st.right.text} / {mask_text}"
    elif st.op in _NOT_SHOWN_OPS and not (left.kind == "binop"):
        st.text = f"{left.text} {st.right.text}"
    else:
        st.text = f"{left.text} {st.op} {st.right.text}"


def _reject(st: NftStatement, body: Any, ctx: _Ctx) -> None:
    fam = ctx.family
    default = {"ip": "icmp", "ip6": "icmpv6"}.get(fam, "icmpx")
    if isinstance(body, dict):
        st.reject_type = _str(body.get("type")) or default
        st.reject_code = _str(body.get("expr"))
        if not st.reject_code and st.reject_type != "tcp reset":
            st.reject_code = "port-unreachable"
    else:
        st.reject_type, st.reject_code = default, "port-unreachable"
    if st.reject_type == "tcp reset":
        st.text = "reject with tcp reset"
    elif st.reject_type == default and st.reject_code == "port-unreachable":
        st.text = "reject"
    else:
        st.text = f"reject with {st.reject_type} {st.reject_code}"


def _nat(st: NftStatement, body: Any, ctx: _Ctx) -> None:
    st.kind, st.nat_type = "nat", next(iter(st.raw))
    body = body if isinstance(body, dict) else {}
    st.nat_family = _str(body.get("family"))
    if "addr" in body:
        st.addr = _expr(body["addr"], ctx)
    if "port" in body:
        st.port = _expr(body["port"], ctx)
    fl = body.get("flags")
    st.flags = [fl] if isinstance(fl, str) else _strlist(fl)
    text = st.nat_type + (f" {st.nat_family}" if st.nat_family else "")
    if st.addr is not None or st.port is not None:
        addr = st.addr.text if st.addr is not None else ""
        if st.port is not None:
            if st.addr is not None and st.addr.kind == "value" and ":" in str(st.addr.value):
                addr = f"[{addr}]"
            addr += f":{st.port.text}"
        text += f" to {addr}"
    if st.flags:
        text += " " + ",".join(st.flags)
    st.text = text


def _log_text(p: dict[str, Any]) -> str:
    out = ["log"]
    if "prefix" in p:
        out.append(f'prefix "{p["prefix"]}"')
    if "group" in p:
        out.append(f"group {p['group']}")
    if "snaplen" in p:
        out.append(f"snaplen {p['snaplen']}")
    if "queue-threshold" in p:
        out.append(f"queue-threshold {p['queue-threshold']}")
    if "level" in p:
        out.append(f"level {p['level']}")
    if "flags" in p:
        fl = p["flags"]
        out.append("flags " + (",".join(fl) if isinstance(fl, list) else str(fl)))
    return " ".join(out)


def _limit_text(p: dict[str, Any]) -> str:
    rate_unit = p.get("rate_unit", "packets")
    text = "limit rate " + ("over " if p.get("inv") else "") + str(p.get("rate"))
    if rate_unit != "packets":
        text += f" {rate_unit}"
    text += f"/{p.get('per', 'second')}"
    burst = p.get("burst")
    if rate_unit == "packets":
        if burst not in (None, 0, 5):
            text += f" burst {burst} packets"
    elif burst:
        text += f" burst {burst} {p.get('burst_unit', 'bytes')}"
    return text


def _quota_text(body: Any) -> str:
    if not isinstance(body, dict):
        return f'quota name "{body}"'
    text = "quota " + ("over " if body.get("inv") else "") + f"{body.get('val')} {body.get('val_unit', 'bytes')}"
    if body.get("used"):
        text += f" used {body.get('used')} {body.get('used_unit', 'bytes')}"
    return text


def _queue_text(p: dict[str, Any]) -> str:
    text = "queue"
    fl = p.get("flags")
    flags = [fl] if isinstance(fl, str) else _strlist(fl)
    if flags:
        text += " flags " + ",".join(flags)
    if "num" in p:
        num = p["num"]
        text += f" to {num['range'][0]}-{num['range'][1]}" if isinstance(num, dict) and "range" in num else f" to {num}"
    return text


def _generic_text(kind: str, body: Any) -> str:
    if body is None:
        return kind
    return f"{kind} {json.dumps(body, sort_keys=True)}"


# --- expressions ---------------------------------------------------------------------------

_OTHER_KEYS = (
    "tcp option",
    "ip option",
    "exthdr",
    "sctp chunk",
    "dccp option",
    "rt",
    "socket",
    "osf",
    "numgen",
    "jhash",
    "symhash",
    "ipsec",
)
KEY_KINDS = {"payload", "meta", "ct", "fib", *_OTHER_KEYS, "binop", "concat", "map"}
_BINOPS = ("&", "|", "^", "<<", ">>")
_UNQUALIFIED_META = {"iif", "oif", "iifname", "oifname", "iifgroup", "oifgroup"}
_IFNAME_KEYS = {"iif", "oif", "iifname", "oifname", "ibrname", "obrname", "ibriport", "obriport", "sdifname"}
_HEX_KEYS = {"mark"}
_VERDICT_KEYS = ("accept", "drop", "continue", "return", "jump", "goto", "queue")


def _hint_for(left: NftExpr | None) -> Hint:
    """How the constants compared with ``left`` are printed: "hex" (marks), "quote" (interface
    names) or a list of hints for a concatenation."""
    if left is None:
        return ""
    if left.kind in ("meta", "ct"):
        if left.key in _HEX_KEYS:
            return "hex"
        if left.key in _IFNAME_KEYS:
            return "quote"
    if left.kind == "binop" and left.items:
        return _hint_for(left.items[0])
    if left.kind == "concat":
        return [_hint_for(p) for p in left.items]
    return ""


def _expr(raw: Any, ctx: _Ctx, hint: Hint = "") -> NftExpr:
    if isinstance(raw, bool):
        return NftExpr(kind="value", raw=raw, value=raw, text="exists" if raw else "missing")
    if isinstance(raw, (int, float)):
        return NftExpr(kind="value", raw=raw, value=raw, text=_fmt_const(raw, hint))
    if isinstance(raw, str):
        if raw.startswith("@"):
            return NftExpr(kind="set_ref", raw=raw, name=raw[1:], text=raw)
        return NftExpr(kind="value", raw=raw, value=raw, text=_fmt_const(raw, hint))
    if isinstance(raw, list):
        # a bare list is a flag list (ct state established,related) or, inside a set, a
        # [key, data] mapping of an anonymous map
        if all(isinstance(x, str) for x in raw):
            return NftExpr(kind="flags", raw=raw, value=list(raw), text=",".join(raw))
        if len(raw) == 2:
            k, d = _expr(raw[0], ctx, hint), _expr(raw[1], ctx)
            return NftExpr(kind="mapping", raw=raw, items=[k, d], text=f"{k.text} : {d.text}")
        return _unknown(raw, ctx, "list")
    if not isinstance(raw, dict) or len(raw) != 1:
        return _unknown(raw, ctx, "expression")
    ((kind, body),) = raw.items()
    if kind == "payload" and isinstance(body, dict):
        if "protocol" in body:
            e = NftExpr(kind="payload", raw=raw, protocol=_str(body.get("protocol")), field=_str(body.get("field")))
            e.text = f"{e.protocol} {e.field}"
        else:
            e = NftExpr(
                kind="payload",
                raw=raw,
                protocol=_str(body.get("base")),
                field=f"{body.get('offset')},{body.get('len')}",
            )
            e.text = f"@{e.protocol},{e.field}"
        return e
    if kind == "meta" and isinstance(body, dict):
        key = _str(body.get("key"))
        return NftExpr(kind="meta", raw=raw, key=key, text=key if key in _UNQUALIFIED_META else f"meta {key}")
    if kind == "ct" and isinstance(body, dict):
        key, ct_dir = _str(body.get("key")), _str(body.get("dir"))
        return NftExpr(kind="ct", raw=raw, key=key, dir=ct_dir, text="ct " + (f"{ct_dir} " if ct_dir else "") + key)
    if kind == "fib" and isinstance(body, dict):
        fl = body.get("flags")
        flags = [fl] if isinstance(fl, str) else _strlist(fl)
        res = _str(body.get("result"))
        return NftExpr(kind="fib", raw=raw, key=res, flags=flags, text=f"fib {' . '.join(flags)} {res}")
    if kind == "prefix" and isinstance(body, dict):
        addr = _str(body.get("addr"))
        ln = _int(body.get("len"))
        return NftExpr(kind="prefix", raw=raw, value=addr, length=ln, text=f"{addr}/{ln}")
    if kind == "range" and isinstance(body, list) and len(body) == 2:
        lo, hi = _expr(body[0], ctx, hint), _expr(body[1], ctx, hint)
        return NftExpr(kind="range", raw=raw, items=[lo, hi], text=f"{lo.text}-{hi.text}")
    if kind == "set":
        elems = body if isinstance(body, list) else [body]
        items = [_expr(x, ctx, hint) for x in elems]
        return NftExpr(kind="set", raw=raw, items=items, text="{ " + ", ".join(i.text for i in items) + " }")
    if kind == "concat" and isinstance(body, list):
        hints = hint if isinstance(hint, list) else [""] * len(body)
        items = [_expr(x, ctx, hints[i] if i < len(hints) else "") for i, x in enumerate(body)]
        return NftExpr(kind="concat", raw=raw, items=items, text=" . ".join(i.text for i in items))
    if kind in _BINOPS and isinstance(body, list) and len(body) == 2:
        left = _expr(body[0], ctx)
        right = _expr(body[1], ctx, _hint_for(left))
        if isinstance(right.value, list) and left.kind == "payload" and left.field == "flags":
            right.text = "(" + " | ".join(right.value) + ")"
        return NftExpr(kind="binop", raw=raw, op=kind, items=[left, right], text=f"{left.text} {kind} {right.text}")
    if kind == "map" and isinstance(body, dict):
        map_key = _expr(body.get("key"), ctx)
        data = _expr(body.get("data"), ctx, _hint_for(map_key))
        return NftExpr(kind="map", raw=raw, items=[map_key, data], text=f"{map_key.text} map {data.text}")
    if kind in _VERDICT_KEYS:
        target = _str(body.get("target")) if isinstance(body, dict) else ""
        return NftExpr(kind="verdict", raw=raw, key=kind, name=target, text=f"{kind} {target}" if target else kind)
    if kind == "elem" and isinstance(body, dict):
        val = _expr(body.get("val"), ctx, hint)
        opts = {k: v for k, v in body.items() if k != "val"}
        text = val.text
        for opt in ("timeout", "expires"):
            if opt in opts and isinstance(opts[opt], int):
                text += f" {opt} {_fmt_time(opts[opt])}"
        if "comment" in opts:
            text += f' comment "{opts["comment"]}"'
        return NftExpr(kind="elem", raw=raw, items=[val], options=opts, text=text)
    if kind in _OTHER_KEYS and isinstance(body, dict):
        e = NftExpr(
            kind=kind,
            raw=raw,
            protocol=_str(body.get("name") or body.get("protocol")),
            field=_str(body.get("field")),
            key=_str(body.get("key")),
        )
        e.text = _other_key_text(kind, body)
        return e
    return _unknown(raw, ctx, "expression")


def _other_key_text(kind: str, body: dict[str, Any]) -> str:
    if kind in ("tcp option", "ip option", "sctp chunk", "dccp option"):
        name = body.get("name", body.get("type", ""))
        return " ".join(str(x) for x in (kind, name, body.get("field", "")) if x != "")
    if kind == "exthdr":
        return " ".join(str(x) for x in (body.get("name", ""), body.get("field", "")) if x != "")
    if kind in ("rt", "socket", "osf", "ipsec"):
        return " ".join(
            str(x) for x in (kind, body.get("family", "") if kind == "rt" else "", body.get("key", "")) if x != ""
        )
    return _generic_text(kind, body)


def _unknown(raw: Any, ctx: _Ctx, what: str) -> NftExpr:
    ctx.problem(f"{what} {_short(raw)} not understood")
    return NftExpr(kind="unknown", raw=raw, text=f"<? {_short(raw)}>")


def _fmt_const(v: Any, hint: Hint) -> str:
    if hint == "hex" and isinstance(v, int) and not isinstance(v, bool):
        return f"0x{v:08x}"
    if hint == "quote" and isinstance(v, str):
        return f'"{v}"'
    return str(v)


def _fmt_time(seconds: int) -> str:
    if seconds <= 0:
        return "0s"
    out = ""
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= n:
            out += f"{seconds // n}{unit}"
            seconds %= n
    return out


# --- priorities ----------------------------------------------------------------------------

# nft's standard priority names (nftables src/rule.c std_prios / bridge_std_prios), with the
# hooks where nft prints them by name (None: all hooks).
_Priority: TypeAlias = "tuple[str, int, tuple[str, ...] | None]"
_STD_PRIOS: tuple[_Priority, ...] = (
    ("raw", -300, None),
    ("mangle", -150, None),
    ("dstnat", -100, ("prerouting",)),
    ("filter", 0, None),
    ("security", 50, None),
    ("srcnat", 100, ("postrouting",)),
)
_BRIDGE_PRIOS: tuple[_Priority, ...] = (
    ("dstnat", -300, ("prerouting",)),
    ("filter", -200, None),
    ("out", 100, ("output",)),
    ("srcnat", 300, ("postrouting",)),
)
_FILTER_ONLY: tuple[_Priority, ...] = (("filter", 0, None),)


def _prio_table(family: str) -> tuple[_Priority, ...]:
    if family == "bridge":
        return _BRIDGE_PRIOS
    if family in ("netdev", "arp"):
        return _FILTER_ONLY
    return _STD_PRIOS


def priority_text(prio: int, family: str, hook: str) -> str:
    """Priority as nft 1.0.6 prints it: a standard name, name +/- offset (|offset| <= 10), or
    the number."""
    for name, value, hooks in _prio_table(family):
        if hooks is not None and hook not in hooks:
            continue
        off = prio - value
        if off == 0:
            return name
        if 0 < off <= 10:
            return f"{name} + {off}"
        if -10 <= off < 0:
            return f"{name} - {-off}"
    return str(prio)


def _prio_from_text(text: str, family: str, hook: str) -> int | None:
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    for name, value, _hooks in _prio_table(family):
        if t == name:
            return value
        for sign in ("+", "-"):
            head, sep, tail = t.partition(f" {sign} ")
            if sep and head.strip() == name:
                try:
                    n = int(tail)
                except ValueError:
                    return None
                return value + n if sign == "+" else value - n
    return None


# --- iptables-nft ownership ------------------------------------------------------------

_XT_TABLES = {
    "ip": {"filter", "nat", "mangle", "raw", "security"},
    "ip6": {"filter", "nat", "mangle", "raw", "security"},
    "arp": {"filter"},
    "bridge": {"filter", "nat", "broute"},
}
_BUILTIN_CHAIN = {
    "prerouting": "PREROUTING",
    "input": "INPUT",
    "forward": "FORWARD",
    "output": "OUTPUT",
    "postrouting": "POSTROUTING",
}


def _managed(t: NftTable) -> tuple[bool, str]:
    for c in t.chains:
        for r in c.rules:
            if any(s.kind == "xt" for s in r.statements):
                return True, f"rule {c.name} handle {r.handle} holds xt (iptables-nft compat) expressions"
    if t.name not in _XT_TABLES.get(t.family, ()):
        return False, ""
    base = [c for c in t.chains if c.base]
    if not base or t.sets:
        return False, ""
    for c in base:
        want = {_BUILTIN_CHAIN.get(c.hook, "")}
        if t.family == "bridge" and t.name == "broute" and c.hook == "prerouting":
            want = {"BROUTING"}
        if c.name not in want:
            return False, ""
    return True, f"{t.family} {t.name} with iptables' built-in chains ({', '.join(c.name for c in base)})"


# --- small helpers -------------------------------------------------------------------------


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ("" if v is None else str(v))


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _strlist(v: Any) -> list[str]:
    return [str(x) for x in v] if isinstance(v, list) else []


def _short(v: Any, limit: int = 80) -> str:
    try:
        s = json.dumps(v, sort_keys=True)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def rule_text(expr: list[Any], family: str = "inet") -> str:
    """The ``nft list ruleset`` line for a rule's JSON ``expr`` list (display helper)."""
    return _rule({"family": family, "expr": expr}, 1, NftRuleset()).text
