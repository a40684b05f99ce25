"""The Linux rules disabled with wsltui and not enabled again: each disable's journal entry holds
the :class:`RuleRef` of the rule it removed, which is where enable puts it back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wsltui.actions import state as st
from wsltui.actions.plan import WINDOWS_FRONT_ENDS
from wsltui.actions.rules.shared import RuleRef


@dataclass
class DisabledRule:
    id: str  # the journal id of the disable
    time: str
    title: str
    ref: RuleRef
    persistent: bool


def disabled_rules(base: Path | None = None) -> list[DisabledRule]:
    """Linux rules disabled with wsltui and not enabled again (nor the disable undone), oldest
    first. (A disabled Windows rule stays in Windows, Enabled=False: the facts show it.)"""
    entries = st.Journal(base).entries()
    enabled = {
        e["plan"].get("enables") for e in entries if e.get("action") == "enable" and e.get("result") == "applied"
    }
    out = []
    for e in entries:
        plan = e.get("plan") or {}
        ref = plan.get("ref")
        if e.get("action") != "disable" or e.get("result") != "applied" or e["id"] in enabled or not ref:
            continue
        if ref.get("front_end") in WINDOWS_FRONT_ENDS:
            continue
        out.append(
            DisabledRule(
                e["id"], e.get("time", ""), plan.get("title", ""), RuleRef.from_json(ref), bool(plan.get("persistent"))
            )
        )
    return out
