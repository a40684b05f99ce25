"""Actions: turn a trace's fixes into a Plan (exact argv, exact undo), back up the affected
state, apply through the one runner, verify by probing again, roll back on failure, undo.

Headless: no Textual here (the TUI and the CLI both call this). Every command goes through
``wsltui.probes.runner.run``; nothing here builds a shell string.
"""

from wsltui.actions.apply import ActionError, Result, apply, undo
from wsltui.actions.plan import Plan, plan_for_trace
from wsltui.actions.state import Journal, read_only, state_dir

__all__ = ["ActionError", "Journal", "Plan", "Result", "apply", "plan_for_trace", "read_only", "state_dir", "undo"]
