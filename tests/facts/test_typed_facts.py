"""The facts' annotations say what the parsers really build: every field of every dataclass in
``build_facts``' tree, for every bundled demo, every golden capture and an empty snapshot, holds a value of its
annotated type (checked at run time, item by item), so mypy reasons about the real data."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsltui import demos
from wsltui.facts import build_facts
from wsltui.snapshot import Record, Snapshot, load


@functools.cache
def hints_of(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def violations(value: object, hint: Any, path: str) -> Iterator[str]:
    """Where ``value`` does not have type ``hint``: one line per place, with its path."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return
    if origin in (Union, types.UnionType):
        found = [list(violations(value, a, path)) for a in args]
        if all(found):
            # The member the value has the shape of tells where inside it is wrong.
            inside = [f for f in found if not any(v.startswith(f"{path}:") for v in f)]
            yield from inside[0] if inside else [f"{path}: {type(value).__name__} {value!r:.60} is none of {hint}"]
        return
    if hint is None or hint is type(None):
        if value is not None:
            yield f"{path}: {value!r:.60} is not None"
        return
    if origin is not None:
        if not isinstance(value, origin):
            yield f"{path}: {type(value).__name__} is not a {origin.__name__}"
        elif origin is list:
            for i, item in enumerate(value):
                yield from violations(item, args[0], f"{path}[{i}]")
        elif origin is dict:
            for k, v in value.items():
                yield from violations(k, args[0], f"{path} key {k!r}")
                yield from violations(v, args[1], f"{path}[{k!r}]")
        elif origin is tuple:
            items = args[:1] * len(value) if args[1:] == (...,) else args
            if len(items) != len(value):
                yield f"{path}: {len(value)} items, the type says {len(items)}"
            for i, (item, item_hint) in enumerate(zip(value, items)):
                yield from violations(item, item_hint, f"{path}[{i}]")
        return
    if hint is float and isinstance(value, int):  # an int is a float to a type checker
        return
    if not isinstance(value, hint):
        yield f"{path}: {type(value).__name__} {value!r:.60} is not a {hint.__name__}"
        return
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from violations(getattr(value, f.name), hints_of(type(value))[f.name], f"{path}.{f.name}")


GOLDEN = Path(__file__).parent.parent / "golden"  # real captures of each Linux tool
SNAPSHOTS = {
    **{f"demo {name}": functools.partial(demos.load, name) for name in demos.names()},
    **{f"golden {d.name}": functools.partial(load, d) for d in sorted(GOLDEN.iterdir()) if d.is_dir()},
    "empty": Snapshot,
}


@pytest.mark.parametrize("snapshot", SNAPSHOTS)
def test_every_field_holds_its_annotated_type(snapshot):
    facts = build_facts(SNAPSHOTS[snapshot]())
    assert list(violations(facts, type(facts), "facts")) == []


@st.composite
def damaged(draw: st.DrawFn) -> Snapshot:
    """A real snapshot with a few records cut short, spliced with junk or replaced by junk."""
    base = SNAPSHOTS[draw(st.sampled_from(sorted(SNAPSHOTS)))]()
    snap = Snapshot(records=dict(base.records))
    for name in draw(st.lists(st.sampled_from(sorted(base.records) or ["net.addr"]), max_size=3, unique=True)):
        rec = base.records.get(name) or Record(name, (), "")
        cut = draw(st.integers(0, len(rec.stdout)))
        junk = draw(st.text(max_size=40))
        text = draw(st.sampled_from([rec.stdout[:cut], rec.stdout[:cut] + junk + rec.stdout[cut:], junk]))
        snap.add(Record(name, rec.argv, text, exit_code=draw(st.sampled_from([0, 0, 1, None]))))
    return snap


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_records_still_give_facts_of_their_annotated_types(snap):
    facts = build_facts(snap)
    assert list(violations(facts, type(facts), "facts")) == []


def test_the_checker_finds_a_wrong_item_deep_in_the_tree():
    facts = build_facts(demos.load("nat-healthy"))
    assert facts.windows is not None and isinstance(facts.windows.rules, list)
    facts.windows.rules[0].protocols.append("tcp")  # a protocol is its number
    found = list(violations(facts, type(facts), "facts"))
    assert found and all(".protocols[" in v and "'tcp'" in v for v in found)
    assert any(v.startswith("facts.windows.rules[0].protocols[") for v in found)
