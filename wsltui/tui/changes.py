"""Changes from the keyboard. Every change is a Plan (wsltui/actions): the exact commands, the
exact undo, runtime or persistent, root or Windows elevation. The dialog shows it and nothing
runs without ``y``. Building a rule plan reads the live rules and applying runs commands, so
both happen in worker threads that only post messages back."""

from __future__ import annotations

from wsltui.tui.render import tone

from dataclasses import dataclass, field
from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from wsltui.tui.commands import CommandBox, command_lines, copy_command
from wsltui.tui.messages import PlanBuilt
from wsltui.tui.safe_static import SafeStatic


def build_plan_worker(app, build: Callable[[], object], what: str) -> None:
    """Run ``build`` (returns a Plan, may raise ActionError) in a thread; post PlanBuilt to ``app``."""

    def job() -> None:
        from wsltui.actions import ActionError

        try:
            app.post_message(PlanBuilt(build(), what=what))
        except (ActionError, ValueError, OSError) as e:
            app.post_message(PlanBuilt(error=f"{what}: {e}"))
        except Exception as e:  # a bug: say so in a notification, never as a traceback on screen
            app.post_message(PlanBuilt(error=f"{what}: internal error {type(e).__name__}: {e}"))

    app.run_worker(job, name="plan", group="plan", thread=True, exclusive=True, exit_on_error=False)


@dataclass
class Preview:
    """What a change key does, shown where it cannot run: a demo or a snapshot file. Built from
    the snapshot alone: a real plan reads this machine's live rules (rule numbers, nft handles,
    the Windows %TEMP%), which a demo is not about, so commands only a live read could make
    exact are described, never invented."""

    title: str
    steps: list[str] = field(default_factory=list)  # what wsltui does on the live system, in order
    commands: list[str] = field(default_factory=list)  # exact commands (copyable)
    undo: list[str] = field(default_factory=list)
    fixes: tuple = ()  # nothing here can be applied (PlanScreen reads these like a Plan's)
    manual: tuple = ()

    def describe(self) -> str:
        lines = [f"{self.title}:"]
        lines += [f"  {i}. {step}" for i, step in enumerate(self.steps, 1)]
        lines += [f"     run:  {c}" for c in self.commands]
        lines += [f"     undo: {c}" for c in self.undo]
        return "\n".join(lines)

    def copy_text(self) -> str:
        return "\n".join(self.commands) + "\n" if self.commands else ""


def removal_preview(kind: str, rule, facts) -> Preview:
    """``space``/``d`` on a rule where nothing runs: which rule, and what wsltui does live."""
    from wsltui.actions import rule_ref

    ref = rule_ref(rule, facts)  # from the facts alone; refuses what wsltui never changes
    verb = "Disable" if kind == "disable" else "Delete"
    label = f"ufw rule: {ref.text}" if ref.kind == "row" else ref.label  # its number: from the live rules files
    steps = [
        f"reads the live {ref.front_end} rules and checks this is still the same rule at the same place "
        "(else it changes nothing and asks for a refresh)",
        "shows the exact command (by rule number or nft handle, from the live rules) and its exact undo; "
        "nothing runs without y",
        "saves the rules first, removes the rule, and checks that exactly this rule went",
    ]
    if kind == "disable":
        steps.append("remembers where the rule was: the Netfilter panel lists it, space puts it back")
    steps.append("`wsltui undo` (or u) restores it")
    return Preview(f"{verb} {label}", steps)


def allow_preview(front_end: str, port: int, proto: str, at=None, facts=None) -> Preview:
    """``a`` in a Linux firewall panel where nothing runs."""
    where = {"firewalld": "in the default zone", "ufw": "ahead of every other ufw rule"}.get(
        front_end, "first in its input chain"
    )
    if at is not None:
        from wsltui.actions import rule_ref

        where = f"just before {rule_ref(at, facts).label}"
    return Preview(
        f"Allow {proto}/{port} in {front_end}",
        [
            f"reads the live {front_end} rules, then adds an accept for {proto}/{port} {where} "
            "(the exact command comes from the live rules)",
            "saves the rules first and checks afterwards that exactly this rule came",
            "`wsltui undo` (or u) removes it again",
        ],
    )


def windows_preview(action, title: str) -> Preview:
    """A Windows panel key where nothing runs: the exact PowerShell (the same builder as the
    live plan's), which live runs elevated (UAC) with a state check before and after."""
    from wsltui.quoting import UnsafeValue
    from wsltui.simulation.win_commands import ps_commands

    try:
        command, undo = ps_commands(action)
    except UnsafeValue as e:
        return Preview(title, [f"wsltui cannot write this command safely ({e}): make the change by hand"])
    return Preview(
        title,
        [
            "runs in an elevated PowerShell (a UAC prompt), after checking the rule's state; "
            "Windows keeps the change (persistent)",
            "`wsltui undo` (or u) runs the undo",
        ],
        [command],
        [undo] if undo else [],
    )


def undo_preview_here(refusal: str) -> Preview:
    """``u`` where nothing was changed from here."""
    return Preview(
        "Undo the last change",
        [
            f"nothing to undo here: {refusal}",
            "live, u shows the last change wsltui made on this machine (from here or `wsltui fix`) with its exact "
            "undo; y runs it",
        ],
    )


def flow_port(app) -> tuple[int, str]:
    """(port, proto) the Flow panel traces: what `a` allows."""
    _, port, proto = app.flow_target() or (None, 8080, "tcp")
    return port, proto


def propose_allow(panel, front_end: str, *, at=None) -> None:
    """`a` in a firewall panel: allow the Flow panel's port/protocol in ``front_end``."""
    from wsltui.actions import add_allow_plan

    port, proto = flow_port(panel.app)
    facts = panel.analysis.facts
    panel.app.propose(
        lambda: add_allow_plan(front_end, port, proto, at=at, facts=facts),
        f"allow {proto}/{port} in {front_end}",
        preview=lambda: allow_preview(front_end, port, proto, at, facts),
    )


def propose_removal(panel, kind: str, rule, what: str, **options) -> None:
    """`space` (``kind`` "disable") or `d` ("delete") on a rule of a firewall panel."""
    from wsltui.actions import delete_plan, disable_plan

    build = disable_plan if kind == "disable" else delete_plan
    facts = panel.analysis.facts
    panel.app.propose(
        lambda: build(rule, facts, **options), f"{kind} {what}", preview=lambda: removal_preview(kind, rule, facts)
    )


def allow_binding(panel: str, where: str) -> Binding:
    return Binding(
        "a",
        "add_allow",
        "Allow",
        id=f"{panel}-allow",
        tooltip=f"Accept the Flow panel's port/protocol in {where}: the plan first, y applies it",
    )


COPY_HINT = " copy the commands (j/k: select one to copy alone)   "


class PlanText(CommandBox):
    """The plan as ``describe`` words it; j/k select one of its commands (``c`` then copies it alone)."""

    BINDINGS = [
        Binding("j,down", "move(1)", "Next command", show=False),
        Binding("k,up", "move(-1)", "Previous command", show=False),
    ]

    def __init__(self, described: str) -> None:
        draw, commands = command_lines(described)
        super().__init__(draw, commands)

    def action_move(self, delta: int) -> None:
        self.move(delta)

    def action_copy(self) -> None:
        self.screen.action_copy()


class PlanScreen(ModalScreen[bool]):
    """Dismissed with True once the plan was applied (the app then reads the system again).
    The plan may also be an UndoPreview (`u`): then ``y`` undoes that change."""

    BINDINGS = [
        Binding("y", "apply", "Apply"),
        Binding("c", "copy", "Copy commands"),
        Binding("escape,n", "cancel", "Cancel"),
    ]

    @dataclass
    class Done(Message):
        """What applying (or copying) said."""

        ok: bool
        message: str
        applied: bool = False

    def __init__(self, plan, refusal: str | None = None, what: str = "") -> None:
        """``refusal``: why this plan cannot run here, said on top ("demo: read-only — nothing
        will run"; a snapshot file; --read-only); ``what``: the action, named in the title."""
        from wsltui.actions import UndoPreview

        super().__init__()
        self.plan = plan
        self.what = what
        self.undoing = isinstance(plan, UndoPreview)
        self.marked = refusal  # shown in the title: the whole dialog is read-only
        self.refusal = refusal or (
            None if self.undoing or plan.fixes else "nothing wsltui can apply: see the manual steps"
        )
        self.busy = False

    def compose(self):
        with Vertical(id="plan-box"):
            title = Text(
                ("Undo" if self.undoing else "Change plan") + (f": {self.what}" if self.what else ""), style="bold"
            )
            if self.marked:
                title.append(f"  {self.marked}", style="bold black on yellow")
            yield SafeStatic(title, id="plan-title")
            with VerticalScroll(id="plan-body"):
                yield PlanText(self.plan.describe())
            hint = Text.assemble(
                ("y", "bold"),
                " undo   " if self.undoing else " apply   ",
                ("c", "bold"),
                COPY_HINT,
                ("esc", "bold"),
                " cancel",
            )
            if self.refusal:
                hint = Text.assemble(
                    ("cannot apply here: ", tone("unknown", bold=True)),
                    self.refusal,
                    "   ",
                    ("c", "bold"),
                    COPY_HINT,
                    ("esc", "bold"),
                    " close",
                )
            yield SafeStatic(hint, id="plan-status")

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "apply":
            return None if self.refusal or self.busy else True
        return True

    def _status(self, text: Text) -> None:
        self.query_one("#plan-status", Static).update(text)

    def action_apply(self) -> None:
        if self.refusal or self.busy:
            return
        self.busy = True
        self.refresh_bindings()
        self._status(
            Text("undoing…" if self.undoing else "applying… (backup first; verified after)", style=tone("unknown"))
        )
        plan, undoing = self.plan, self.undoing

        def job() -> None:
            from wsltui.actions import ActionError, apply, undo
            from wsltui.actions.apply import trace_verifier

            try:
                if undoing:
                    result = undo(entry_id=plan.entry_id)
                else:
                    result = apply(plan, verify=trace_verifier(plan) if plan.kind == "fix" else None)
            except ActionError as e:
                self.post_message(self.Done(False, f"nothing was changed: {e}"))
                return
            except Exception as e:  # a bug: the journal and backup say what happened; never a traceback
                self.post_message(
                    self.Done(False, f"internal error {type(e).__name__}: {e} (see `wsltui undo --list`)")
                )
                return
            self.post_message(self.Done(result.ok, result.message, applied=result.ok))

        self.run_worker(job, name="apply", group="apply", thread=True, exclusive=True, exit_on_error=False)

    def action_copy(self) -> None:
        """The selected command alone (j/k select one), else every command."""
        selected = self.query_one(PlanText).selected_command()
        if selected is not None:
            copy_command(self.app, selected)
            return
        from wsltui.actions import clipboard_text

        if self.undoing or isinstance(self.plan, Preview):
            text = self.plan.copy_text()
        elif any(f.elevated for f in self.plan.fixes):
            text = clipboard_text(self.plan)
        else:
            text = (
                "\n".join(
                    [c for f in self.plan.fixes for c in f.commands] + [c for m in self.plan.manual for c in m.commands]
                )
                + "\n"
            )
        if not text.strip():
            self.notify("nothing to copy: the commands come from the live rules", timeout=4)
            return
        copy_command(self.app, text, multiline=True)

    def on_mount(self) -> None:
        self.query_one(PlanText).focus()  # j/k select a command at once

    @on(Done)
    def _done(self, msg: Done) -> None:
        self.busy = False
        self.refresh_bindings()
        if msg.applied:
            if self.undoing:
                self.app.notify(msg.message, title="undone", timeout=8)
            else:
                self.app.notify(msg.message + " (undo: u, or wsltui undo)", title="applied", timeout=8)
            self.dismiss(True)
            return
        self._status(Text(msg.message, style=tone("ok") if msg.ok else tone("blocked", bold=True)))

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(False)
