"""Where an entry lives in the text a backup target saved, and what exactly a plan changes there.

A target's text (``iptables-nft-save``, ``nft list ruleset``, ufw's user.rules, ``firewall-cmd
--list-all-zones``, a file) splits into named *scopes* -- an iptables chain, an nft chain, ufw's
rule tuples, one attribute of a firewalld zone, a file's content -- each an ordered list of
entries. A rule action is an :class:`Edit` of one scope: remove this entry at this index, insert
that one there. ``apply`` checks before changing anything that the scope is still exactly what
the plan was made from (else the plan is stale: positions may be wrong), and after the change
that exactly the edit happened and nothing else moved.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

_COUNTERS = re.compile(r"\[\d+:\d+\]")
_NFT_COUNTER = re.compile(r"counter packets \d+ bytes \d+")
_NFT_HANDLE = re.compile(r"\s+# handle \d+$")


def normalise_line(line: str) -> str:
    """One rule line without counters or an nft handle comment (what is equal when rules are)."""
    line = _NFT_HANDLE.sub("", line.rstrip())
    return _NFT_COUNTER.sub("counter", _COUNTERS.sub("[0:0]", line))


# --- iptables-save ------------------------------------------------------------------------------


class SavedTable(TypedDict):
    """One ``*table`` of iptables-save text: each chain's ``-A`` lines, and each chain's policy
    (``-`` for a user chain)."""

    chains: dict[str, list[str]]
    policy: dict[str, str]


def parse_save(text: str) -> dict[str, SavedTable]:
    """``iptables-save`` text -> {table: {"chains": {chain: ["-A ..." lines]}, "policy": {chain: policy}}}."""
    tables: dict[str, SavedTable] = {}
    cur: SavedTable | None = None
    for line in text.splitlines():
        if line.startswith("*"):
            cur = tables.setdefault(line[1:].strip(), {"chains": {}, "policy": {}})
        elif cur is None or not line.strip() or line.startswith("#") or line.strip() == "COMMIT":
            continue
        elif line.startswith(":"):
            name, policy = (line[1:].split() + ["-"])[:2]
            cur["chains"].setdefault(name, [])
            cur["policy"][name] = policy
        elif line.startswith("-A "):
            chain = line.split()[1]
            cur["chains"].setdefault(chain, []).append(line)
    return tables


def iptables_scope(table: str, chain: str) -> str:
    return f"{table} {chain}"


def _iptables_scopes(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table, t in parse_save(text).items():
        for chain, lines in t["chains"].items():
            out[iptables_scope(table, chain)] = [normalise_line(l) for l in lines]
        out[f"{table} :chains"] = [f"{c} {p}" for c, p in t["policy"].items()]
    return out


# --- nft list ruleset ---------------------------------------------------------------------------


def nft_scope(family: str, table: str, chain: str) -> str:
    return f"{family} {table} {chain}"


def nft_chains(text: str) -> dict[str, list[str]]:
    """``nft [-a] list ruleset`` text -> {"FAMILY TABLE CHAIN": [rule lines]} plus, per chain,
    ``... CHAIN :decl`` (its type/hook/policy line) and, per table, ``FAMILY TABLE :other`` (sets,
    maps, flags: everything that is not a rule). Rule lines keep nft's own text (and the
    ``# handle N`` comment of ``nft -a``); callers normalise."""
    out: dict[str, list[str]] = {}
    stack: list[str] = []  # the open blocks: "table", "chain", "other" (set, map, flowtable ...)
    table = chain = ""
    for raw in text.splitlines():
        line = raw.strip()
        core = _NFT_HANDLE.sub("", line)
        if not line or line.startswith("#"):
            continue
        if core == "}":
            if stack:
                stack.pop()
            continue
        opens = core.endswith("{")
        if not stack and core.startswith("table ") and opens:
            words = core.split()
            table = f"{words[1]} {words[2]}"
            out.setdefault(f"{table} :other", [])
            stack.append("table")
        elif stack == ["table"] and core.startswith("chain ") and opens:
            chain = f"{table} {core.split()[1]}"
            out.setdefault(chain, [])
            out.setdefault(f"{chain} :decl", [])
            stack.append("chain")
        elif stack == ["table", "chain"] and not opens:
            if core.startswith(("type ", "policy ", "comment ", "devices ", "device ")):
                out[f"{chain} :decl"].append(core)
            else:
                out[chain].append(line)
        elif stack:
            out[f"{table} :other"].append(core)
            if opens:
                stack.append("other")
    return out


# An nft rule named by where it is rather than by its handle: handles change when a rule is put
# back (an undone change re-creates a neighbour under a new handle), positions and text do not.
# apply resolves it when the step runs, from the live chain, and refuses if the text differs.
_NFT_AT = re.compile(r"^<nft-handle-at:(\d+):(\d*):(.*)>$", re.S)


def nft_handle_at(index: int, hint: int | None, text: str) -> str:
    """The handle of the rule at 0-based ``index`` of the step's chain, which must read ``text``
    (``hint``: its handle when the plan was made, for people)."""
    return f"<nft-handle-at:{index}:{'' if hint is None else hint}:{text}>"


def nft_handle_ref(arg: str) -> tuple[int, str, str] | None:
    m = _NFT_AT.match(arg)
    return (int(m.group(1)), m.group(2), m.group(3)) if m else None


def nft_rule_handles(text: str) -> dict[str, list[tuple[str, int | None]]]:
    """``nft -a list ...`` text -> every chain's rules as (normalised text, handle)."""
    out: dict[str, list[tuple[str, int | None]]] = {}
    for scope, lines in nft_chains(text).items():
        if scope.endswith((":decl", ":other")):
            continue
        rows: list[tuple[str, int | None]] = []
        for line in lines:
            rule, _, h = line.rpartition(" # handle ")
            rows.append((normalise_line(rule), int(h)) if h.isdigit() else (normalise_line(line), None))
        out[scope] = rows
    return out


def _nft_scopes(text: str) -> dict[str, list[str]]:
    return {k: [normalise_line(l) for l in v] for k, v in nft_chains(text).items()}


def nft_table_block(ruleset: str, family: str, name: str) -> str:
    """The ``table FAMILY NAME { ... }`` block of an ``nft list ruleset`` listing."""
    lines = ruleset.splitlines()
    head = f"table {family} {name} {{"
    for i, line in enumerate(lines):
        if line.strip() == head or line.startswith(head + " "):
            for j in range(i + 1, len(lines)):
                if lines[j] == "}":
                    return "\n".join(lines[i : j + 1])
    return ""


# --- ufw's user.rules / user6.rules --------------------------------------------------------------

TUPLE_PREFIX = "### tuple ###"


def ufw_tuples(text: str) -> list[str]:
    """The rule tuples of a ufw rules file, in order (``allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in``):
    what ufw reads back as its rules; the ``-A`` lines below each are derived from them."""
    return [l[len(TUPLE_PREFIX) :].strip() for l in text.splitlines() if l.startswith(TUPLE_PREFIX)]


# --- firewall-cmd --list-all-zones ---------------------------------------------------------------

FIREWALLD_ITEMS = (
    "services",
    "ports",
    "protocols",
    "source-ports",
    "forward-ports",
    "icmp-blocks",
    "rich rules",
    "interfaces",
    "sources",
)


def firewalld_scope(zone: str, kind: str) -> str:
    return f"{zone} {kind}"


def _firewalld_scopes(text: str) -> dict[str, list[str]]:
    from wsltui.facts.firewalld import parse_zones

    out: dict[str, list[str]] = {}
    for z in parse_zones(text):
        values = {
            "services": z.services,
            "ports": [p.text for p in z.ports],
            "protocols": z.protocols,
            "source-ports": [p.text for p in z.source_ports],
            "forward-ports": [f.text for f in z.forward_ports],
            "icmp-blocks": z.icmp_blocks,
            "rich rules": [r.text for r in z.rich_rules],
            "interfaces": z.interfaces,
            "sources": z.sources,
        }
        for kind, items in values.items():
            out[firewalld_scope(z.name, kind)] = sorted(items)  # sets: firewalld keeps no order
        out[firewalld_scope(z.name, ":settings")] = [
            f"target {z.target}",
            f"masquerade {z.masquerade}",
            f"forward {z.forward}",
            f"icmp-block-inversion {z.icmp_block_inversion}",
        ]
    return out


# --- any target ---------------------------------------------------------------------------------


def scopes(target: str, text: str, missing: bool = False) -> dict[str, list[str]]:
    if target.startswith("iptables-"):
        return _iptables_scopes(text)
    if target == "nft":
        return _nft_scopes(text)
    if target.startswith("ufw:"):
        return {"tuples": ufw_tuples(text)}
    if target in ("firewalld-runtime", "firewalld-permanent"):
        return _firewalld_scopes(text)
    if target.startswith("file:"):
        return {"content": [] if missing else [text]}
    return {"text": text.splitlines()}


@dataclass
class Edit:
    """One change to one scope. ``op``:

    - ``remove``: ``item`` at ``index`` goes (``index`` None: one occurrence, wherever it is);
    - ``insert``: ``item`` comes in at ``index`` (None: wherever the front end puts it);
    - ``replace``: the entry at ``index`` becomes ``item`` (ufw changing a rule's action in place);
    - ``set``: the scope becomes exactly ``[item]`` (a file's new content);
    - ``mirror``: the file holds what target ``item`` saves right after the change (a rules file
      written for persistence), counters and comments aside.

    ``before`` is the whole scope as it was when the plan was made."""

    target: str
    scope: str
    op: str
    item: str
    index: int | None = None
    before: list[str] = field(default_factory=list)

    def stale(self, now: list[str] | None) -> str | None:
        """Why the plan no longer fits ``now`` (None: it does)."""
        if (now or []) == self.before:
            return None
        return f"{self.target} {self.scope} changed since the plan was made"

    def expected(self) -> list[str] | None:
        """The scope after the edit, where it is fully known."""
        if self.op == "set":
            return [self.item]
        if self.index is None:
            return None
        out = list(self.before)
        if self.op == "remove":
            del out[self.index]
        elif self.op == "insert":
            out.insert(self.index, self.item)
        elif self.op == "replace":
            out[self.index] = self.item
        return out

    def wrong(self, after: list[str] | None, all_after: dict[str, str] | None = None) -> str | None:
        """What is wrong with ``after`` for this edit (None: exactly the edit happened)."""
        after = after or []
        if self.op == "mirror":
            source = (all_after or {}).get("nft" if self.item == "nft-native" else self.item[len("save:") :], "")
            ok = bool(after) and (
                nft_conf_matches(after[0], source)
                if self.item == "nft-native"
                else normalised_text("", after[0]) == normalised_text("", source)
            )
            return None if ok else f"{self.target} does not hold the rules loaded now"
        want = self.expected()
        if want is not None:
            return None if after == want else f"{self.target} {self.scope} is not as planned after the change"
        if self.op == "insert":
            ok = len(after) == len(self.before) + 1 and any(
                after[i] == self.item and after[:i] + after[i + 1 :] == self.before for i in range(len(after))
            )
            return None if ok else f"{self.target} {self.scope}: {self.item!r} was not added as planned"
        if self.op == "remove":
            ok = len(after) + 1 == len(self.before) and any(
                self.before[i] == self.item and self.before[:i] + self.before[i + 1 :] == after
                for i in range(len(self.before))
            )
            return None if ok else f"{self.target} {self.scope}: {self.item!r} was not removed as planned"
        return f"unknown edit {self.op}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_TABLE_HEAD = re.compile(r"^table (\S+) (\S+) \{")


def nft_conf_matches(conf: str, ruleset: str) -> bool:
    """Every table an nftables.conf defines is exactly as ``nft list ruleset`` shows it."""
    heads = [m.groups() for m in map(_TABLE_HEAD.match, conf.splitlines()) if m]
    return all(
        normalised_text("nft", nft_table_block(conf, f, n)) == normalised_text("nft", nft_table_block(ruleset, f, n))
        for f, n in heads
    )


def normalised_text(target: str, text: str) -> str:
    lines = [l.rstrip() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    return "\n".join(normalise_line(l) for l in lines)
