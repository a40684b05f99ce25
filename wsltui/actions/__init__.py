"""Actions: turn a trace's fixes, or one rule action, into a Plan (exact argv, exact undo), back
up the affected state, apply through the one runner, verify, roll back on failure, undo.

Headless: no Textual here (the TUI and the CLI both call this). Every command goes through
``wsltui.probes.runner.run``; nothing here builds a shell string.

For the TUI::

    plan = disable_plan(rule, facts)            # iptables Rule / NftRule / UfwRule / firewalld entry
    plan = enable_plan(disabled_rules()[0])     # put a disabled rule back where it was
    plan = add_allow_plan("nft", 8080, "tcp", facts=facts, persist=True)
    plan = windows_rule_plan(fw_rule, enable=False)   # elevated PowerShell (UAC)
    show(plan.describe()); on "y": result = apply(plan)
    show(undo_preview().describe()); on "y": result = undo()
"""

from wsltui.actions.apply import Result, UndoPreview, apply, undo, undo_preview
from wsltui.actions.persist import detect as detect_persistence
from wsltui.actions.persist import plan as persist_plan
from wsltui.actions.plan import ActionError, Plan
from wsltui.actions.rules import (
    DisabledRule,
    FirewalldItem,
    RuleRef,
    add_allow_plan,
    delete_plan,
    disable_plan,
    disabled_rules,
    enable_plan,
    rule_ref,
)
from wsltui.actions.state import Journal, read_only, state_dir
from wsltui.actions.windows import allow_plan as windows_allow_plan
from wsltui.actions.windows import (
    clipboard_text,
    copy_to_clipboard,
    hyperv_allow_plan,
    plan_for_trace,
    refuse_ignored_local_rule,
)
from wsltui.actions.windows import rule_plan as windows_rule_plan

__all__ = [
    "ActionError",
    "DisabledRule",
    "FirewalldItem",
    "Journal",
    "Plan",
    "Result",
    "RuleRef",
    "add_allow_plan",
    "apply",
    "clipboard_text",
    "copy_to_clipboard",
    "delete_plan",
    "detect_persistence",
    "disable_plan",
    "disabled_rules",
    "enable_plan",
    "hyperv_allow_plan",
    "persist_plan",
    "plan_for_trace",
    "read_only",
    "refuse_ignored_local_rule",
    "rule_ref",
    "state_dir",
    "undo",
    "undo_preview",
    "UndoPreview",
    "windows_allow_plan",
    "windows_rule_plan",
]
