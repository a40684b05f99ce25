"""Facts: the snapshot's raw records turned into typed, pure data.

``build_facts(snapshot)`` runs every parser. Parsers never raise; should one ever do (a bug),
its section becomes ``unknown`` with the error, so a strange machine still gets a report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from wsltui.facts import firewalld, forward, iptables, network, nft, sockets, ufw, windows, wsl
from wsltui.facts.base import Unknown
from wsltui.facts.firewalld import FirewalldFacts
from wsltui.facts.forward import ForwardFacts
from wsltui.facts.iptables import IptablesFacts
from wsltui.facts.network import NetworkFacts
from wsltui.facts.nft import NftRuleset
from wsltui.facts.sockets import SocketFacts
from wsltui.facts.ufw import UfwFacts
from wsltui.facts.windows import WindowsFacts
from wsltui.facts.wsl import WslFacts
from wsltui.snapshot import Snapshot

T = TypeVar("T")


@dataclass
class Facts:
    """Every section's facts; a section is None only when its parser crashed (see ``failures``)."""

    wsl: WslFacts | None
    network: NetworkFacts | None
    sockets: SocketFacts | None
    iptables: IptablesFacts | None
    nft: NftRuleset | None
    firewalld: FirewalldFacts | None
    ufw: UfwFacts | None
    ufw_trap: str | None
    windows: WindowsFacts | None  # each part may be Unknown: no interop, denied, timed out
    failures: dict[str, Unknown]  # section -> parser crash (should stay empty)
    meta: dict[str, Any]  # the snapshot's own: where, when and how it was taken
    forward: ForwardFacts | None = None  # forwarding switches, containers' namespaces, Docker

    def to_json(self) -> dict[str, Any]:
        return {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


def build_facts(snap: Snapshot) -> Facts:
    failures: dict[str, Unknown] = {}

    def section(name: str, parse: Callable[[Snapshot], T]) -> T | None:
        try:
            return parse(snap)
        except Exception as e:  # a parser bug must not take the whole report down
            failures[name] = Unknown(f"wsltui could not parse this ({type(e).__name__}: {e}); please report it")
            return None

    ufw_facts = section("ufw", ufw.from_snapshot)
    trap = None
    if ufw_facts is not None:
        legacy = snap.get("nf.legacy-tables")
        save = snap.get("nf.iptables-legacy")
        try:
            trap = ufw.ufw_trap(ufw_facts, legacy.stdout if legacy else None, save.stdout if save else None)
        except Exception as e:
            failures["ufw_trap"] = Unknown(f"{type(e).__name__}: {e}")
    return Facts(
        wsl=section("wsl", wsl.from_snapshot),
        network=section("network", network.from_snapshot),
        sockets=section("sockets", sockets.from_snapshot),
        iptables=section("iptables", iptables.from_snapshot),
        nft=section("nft", nft.from_snapshot),
        firewalld=section("firewalld", firewalld.from_snapshot),
        ufw=ufw_facts,
        ufw_trap=trap,
        windows=section("windows", windows.from_snapshot),
        failures=failures,
        meta=dict(snap.meta),
        forward=section("forward", forward.from_snapshot),
    )


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, enums, tuples, sets -> plain JSON values (faster than asdict on big rulesets)."""
    obj = jsonable_one_level(obj)
    if type(obj) is dict:
        return {k: to_jsonable(v) for k, v in obj.items()}
    if type(obj) is list:
        return [to_jsonable(v) for v in obj]
    return obj


def jsonable_one_level(obj: Any) -> Any:
    """``to_jsonable`` of ``obj`` with its items left as they are: a JSON writer that converts as
    it goes (``json_stream.dumps(..., convert=jsonable_one_level)``) never holds the whole
    converted tree (for a 50 MB ruleset, gigabytes)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): v for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return obj if type(obj) is list else list(obj)
    return str(obj)
