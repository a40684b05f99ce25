"""Apply a Plan safely, and undo it.

apply: back up -> check the plan still fits (its edits' scopes are as they were read) -> journal
"pending" -> run each argv through the runner -> verify (the edits happened exactly; the caller's
check, e.g. probe again and re-trace) -> journal "applied". Any failed step, or a verification
that fails, rolls back: the undo of every step that ran, then, where the rules still differ from
the backup, the backup itself is restored (iptables-*-restore, ``nft -f`` of the saved tables,
ufw's rules files + ``ufw reload``, firewalld's zone XML + ``--reload``, files copied back).
undo: the recorded undo argv (with the nft handles the apply printed, and the backup copies of
files it wrote), then a comparison with the backup.

Windows steps (elevated PowerShell, a UAC prompt) go through wsltui.actions.windows; a declined
prompt ends the apply as ``declined`` with nothing changed.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsltui.actions import state as st
from wsltui.actions import windows
from wsltui.actions.plan import IPTABLES_FRONT_ENDS, RESTORE, ActionError, Plan, iptables_target
from wsltui.actions.scopes import Edit, nft_handle_ref, nft_rule_handles, nft_scope, nft_table_block, parse_save, scopes
from wsltui.probes.runner import Job, Runner, run
from wsltui.simulation.trace import placeholder_step
from wsltui.snapshot import Record

__all__ = [
    "ActionError",
    "Result",
    "UndoPreview",
    "apply",
    "undo",
    "undo_preview",
    "trace_verifier",
    "nft_table_block",
    "iptables_delta",
]

STEP_TIMEOUT = 60.0
_HANDLE_OUT = re.compile(r"#\s*handle\s+(\d+)")

Verifier = Callable[[], tuple[bool, str]]


@dataclass
class Result:
    ok: bool
    result: str  # applied | rolled-back | rollback-incomplete | declined | undone | undo-failed
    message: str
    id: str = ""
    backup: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)  # what still differs from the backup


def _step_record(rec: Record) -> dict[str, Any]:
    return {
        "argv": list(rec.argv),
        "exit_code": rec.exit_code,
        "error": rec.error,
        "stdout": rec.stdout[-2000:],
        "stderr": rec.stderr[-2000:],
        "seconds": rec.seconds,
    }


def _failed(rec: Record) -> str | None:
    if rec.error:
        return rec.error
    if rec.exit_code != 0:
        return (rec.stderr.strip() or rec.stdout.strip() or f"exit code {rec.exit_code}").splitlines()[-1]
    return None


def run_step(job: Job, runner: Runner = run) -> Record:
    """One step: an elevated Windows step through wsltui.actions.windows, anything else through
    the runner (nft rules named by position get their handle from the live chain first)."""
    if windows.elevated_paths(job.argv) is not None:
        return windows.run_elevated(job, runner)
    if any(nft_handle_ref(a) for a in job.argv):
        argv, why = _nft_handles_now(list(job.argv), job.as_root, runner)
        if why:
            return Record(job.name, job.argv, "", None, error=why)
        job = dataclasses.replace(job, argv=tuple(argv))
    return runner(job)


def _nft_handles_now(argv: list[str], as_root: bool, runner: Runner) -> tuple[list[str], str | None]:
    """Put the live handles in for ``<nft-handle-at:...>`` arguments (see scopes.nft_handle_at)."""
    i = argv.index("rule")
    family, table, chain = argv[i + 1 : i + 4]
    rec = runner(
        Job("nft.handles", ("nft", "-a", "list", "chain", family, table, chain), STEP_TIMEOUT, as_root=as_root)
    )
    if not rec.ok:
        return argv, f"cannot list nft chain {family} {table} {chain}: {rec.error or rec.stderr.strip()}"
    rows = nft_rule_handles(rec.stdout).get(nft_scope(family, table, chain), [])
    out = []
    for a in argv:
        ref = nft_handle_ref(a)
        if ref is None:
            out.append(a)
            continue
        index, _, text = ref
        if index >= len(rows) or rows[index][0] != text or rows[index][1] is None:
            return argv, f"rule {index + 1} of nft chain {family} {table} {chain} is no longer {text!r}"
        out.append(str(rows[index][1]))
    return out, None


def _stdin(spec: str | None, as_root: bool, runner: Runner) -> tuple[bytes | None, str | None]:
    """The bytes a step reads (see PlannedFix.stdin), or why they could not be made."""
    if spec is None:
        return None, None
    if spec.startswith("text:"):
        return spec[len("text:") :].encode(), None
    if spec.startswith("save:"):
        saved = st.capture_state([spec[len("save:") :]], as_root)[spec[len("save:") :]]
        return (None, f"{spec[5:]}: {saved.error}") if saved.error else (saved.text.encode(), None)
    if spec == "nft-native":
        from wsltui.actions.persist import nft_native_conf

        text, err = nft_native_conf(as_root, runner)
        return (None, err) if err else (text.encode(), None)
    return None, f"unknown input {spec!r}"


def _restore_argv(path: str, before: dict[str, st.Saved], backup: Path) -> list[str]:
    """The undo of a step that wrote ``path``: its backup copy back, or remove it."""
    saved = before.get(f"file:{path}")
    if saved is None or saved.missing:
        return ["rm", "-f", path]
    return ["cp", str(backup / st.backup_name(f"file:{path}")), path]


def _resolve(argv: list[str], handles: dict[int, str]) -> list[str] | None:
    out = []
    for a in argv:
        n = placeholder_step(a)
        if n is None:
            out.append(a)
        elif n in handles:
            out.append(handles[n])
        else:
            return None
    return out


def apply(
    plan: Plan,
    *,
    verify: Verifier | None = None,
    base: Path | None = None,
    read_only: bool = False,
    runner: Runner = run,
) -> Result:
    """Apply every fix of ``plan``. Raises ActionError when it refuses before changing anything."""
    if read_only or st.read_only():
        raise ActionError("read-only: wsltui makes no changes (--read-only or WSLTUI_READ_ONLY)")
    if plan.manual:
        raise ActionError("this plan needs a person for: " + "; ".join(f"{m.blocker} ({m.why})" for m in plan.manual))
    if not plan.fixes:
        raise ActionError("nothing to apply: the plan has no fixes")
    with st.change_lock(base):
        return _apply_locked(plan, verify, base, runner)


def _apply_locked(plan: Plan, verify: Verifier | None, base: Path | None, runner: Runner) -> Result:
    journal = st.Journal(base)
    entry_id = st.new_id()
    backup = journal.base / "backups" / entry_id
    as_root = plan.needs_root
    before = st.capture_state(plan.backup_targets(), as_root)
    needed = _needed_targets(plan)
    missing = [f"{k}: {s.error}" for k, s in before.items() if s.error and k in needed]
    if missing:
        raise ActionError(
            "could not back up the state this plan changes, so nothing was changed: " + "; ".join(missing)
        )
    stale = stale_edits(plan, before)
    if stale:
        raise ActionError(
            "the rules changed since this plan was made, so nothing was changed (refresh and try "
            "again): " + "; ".join(stale)
        )
    entry: dict[str, Any] = {
        "id": entry_id,
        "action": plan.kind,
        "time": st.now(),
        "started": st.now(),
        "plan": plan.to_json(),
        "backup": str(backup),
        "result": "pending",
        "steps": [],
        "undo": [],
    }
    try:  # the backup and the "pending" line before any change: a change the journal does not know never happens
        st.write_backup(backup, before, plan.to_json())
        journal.append(entry)
    except OSError as e:
        raise ActionError(
            f"cannot write the backup or the journal ({e.filename or journal.path}: {e.strerror}), "
            "so nothing was changed"
        ) from None

    undo_stack: list[list[str]] = []  # resolved undo argv of every step that ran, in apply order
    failure = None
    declined = False
    failed_undo: list[str] | None = None  # the undo of the step that failed
    for fi, fix in enumerate(plan.fixes):
        handles: dict[int, str] = {}
        for si, argv in enumerate(fix.argv):
            data, why = _stdin(fix.stdin_of(si), fix.needs_root, runner)
            if why:
                failure = f"step not run: {' '.join(argv)}: cannot make its input: {why}"
                break
            rec = run_step(Job(f"fix.{fi}.{si}", tuple(argv), STEP_TIMEOUT, as_root=fix.needs_root, stdin=data), runner)
            entry["steps"].append(_step_record(rec))
            why = _failed(rec)
            if why:
                declined = rec.error == windows.DECLINED
                failure = (
                    why if declined else f"step failed: {fix.commands[si] if not fix.elevated else fix.title}: {why}"
                )
                # It may have changed the rules before it failed (killed, timed out): its undo
                # runs first in the rollback. Never for Windows: that would be another UAC prompt,
                # and the elevated script changes nothing when it fails.
                if not fix.elevated and si < len(fix.undo_argv):
                    undo_argv = fix.undo_argv[si]
                    failed_undo = (
                        _restore_argv(undo_argv[1], before, backup)
                        if undo_argv[:1] == [RESTORE]
                        else _resolve(undo_argv, handles)
                    )
                break
            if "--handle" in argv and "--echo" in argv:
                m = _HANDLE_OUT.search(rec.stdout)
                if m:
                    handles[si] = m.group(1)
            if si < len(fix.undo_argv):
                undo_argv = fix.undo_argv[si]
                resolved = (
                    _restore_argv(undo_argv[1], before, backup)
                    if undo_argv[:1] == [RESTORE]
                    else _resolve(undo_argv, handles)
                )
                if resolved is None:
                    failure = f"the command printed no rule handle, so its undo would not be exact: {' '.join(argv)}"
                    undo_stack.append(["nft", "-a", "list", "ruleset"])  # harmless; the backup restore follows
                    break
                undo_stack.append(resolved)
        if failure:
            break
    entry["undo"] = undo_stack
    after = None
    if failure is None and plan.edits:
        after = st.capture_state(plan.backup_targets(), as_root)
        wrong = wrong_edits(plan, before, after)
        entry["verify"] = "; ".join(wrong) or "exactly the planned change, nothing else"
        if wrong:
            failure = "verification failed: " + "; ".join(wrong)
    if failure is None and verify is not None:
        ok, why = verify()
        entry["verify"] = (entry.get("verify", "") + "; " if plan.edits else "") + why
        if not ok:
            failure = f"verification failed: {why}"
    if failure is None:
        if after is None or verify is not None:
            after = st.capture_state(plan.backup_targets(), as_root)
        entry["after"] = {k: st.normalise(k, s.text, unordered(plan)) for k, s in after.items()}
        entry.update(
            result="applied",
            message="applied" + (f"; verified: {entry['verify']}" if "verify" in entry else ""),
            time=st.now(),
        )
        note = _record_end(journal, entry)
        return Result(True, "applied", entry["message"] + note, entry_id, str(backup), entry["steps"])
    diff = _roll_back(plan, undo_stack, before, backup, entry, as_root, runner, failed_undo)
    if declined and not undo_stack and not diff:
        result, message = "declined", failure
    else:
        result = "rolled-back" if not diff else "rollback-incomplete"
        message = failure + (
            "; rolled back: the rules are as before"
            if not diff
            else f"; rollback incomplete, still different: {', '.join(diff)} (backup in {backup})"
        )
    entry.update(result=result, message=message, time=st.now(), differences=diff)
    message += _record_end(journal, entry)
    return Result(False, result, message, entry_id, str(backup), entry["steps"], diff)


_APPLY_LOST = "it still says the change was interrupted, so `wsltui undo` puts back the backup taken before it"
_UNDO_LOST = "it may still list the change as applied (see `wsltui undo --list`)"


def _record_end(journal: st.Journal, entry: dict[str, Any], lost: str = _APPLY_LOST) -> str:
    """Write how a change ended. When the full line cannot be written (a full disk after the
    change was made), a short one with what undo needs: the result and the undo commands.
    Returns what the message must add ("" when the full line was written; ``lost``, what the
    journal says instead, when not even the short one was)."""
    try:
        journal.append(entry)
        return ""
    except OSError as e:
        first = e.strerror or str(e)
    short: dict[str, Any] = {
        k: entry[k] for k in ("id", "result", "time", "undo", "differences", "undone_by") if k in entry
    }
    short["message"] = f"{entry['result']} (the full record could not be written: {first})"
    try:
        journal.append(short)
        return f" (the journal holds only a short record of it: {first})"
    except OSError as e:
        return f"; but the journal could not record it ({e.strerror or e}): {lost}"


def _scope_now(edit: Edit, state: dict[str, st.Saved]) -> list[str] | None:
    """The edit's scope in ``state`` (None: its target could not be read)."""
    saved = state.get(edit.target)
    if saved is None or saved.error:
        return None
    return scopes(edit.target, saved.text, saved.missing).get(edit.scope, [])


def stale_edits(plan: Plan, before: dict[str, st.Saved]) -> list[str]:
    """Edits whose scope is no longer what the plan was made from."""
    out = []
    for e in plan.edits:
        now = _scope_now(e, before)
        why = e.stale(now) if now is not None else f"{e.target} could not be read"
        if why:
            out.append(why)
    return out


def wrong_edits(plan: Plan, before: dict[str, st.Saved], after: dict[str, st.Saved]) -> list[str]:
    """What differs from the plan after applying: each edit happened exactly, and every other
    scope of the targets the edits name is as it was."""
    out = []
    saved_after = {k: s.text for k, s in after.items()}
    edited: dict[str, set[str]] = {}
    for e in plan.edits:
        now = _scope_now(e, after)
        why = e.wrong(now, saved_after) if now is not None else f"{e.target} could not be read after the change"
        if why:
            out.append(why)
        edited.setdefault(e.target, set()).add(e.scope)
    for target, names in edited.items():
        b, a = before.get(target), after.get(target)
        if b is None or a is None or b.error or a.error:
            continue
        sb, sa = scopes(target, b.text, b.missing), scopes(target, a.text, a.missing)
        moved = sorted(k for k in set(sb) | set(sa) if k not in names and sb.get(k) != sa.get(k))
        if moved:
            out.append(f"{target}: {', '.join(moved)} changed too")
    may = may_change(plan)
    if may is not None:
        untouched = [k for k in st.differences(before, after) if k not in may]
        if untouched:
            out.append(f"{', '.join(untouched)} changed too, and this plan does not touch them")
    return out


def may_change(plan: Plan) -> set[str] | None:
    """The backup targets a plan may change: its edits' and its front ends' (an iptables-nft rule
    shows in ``nft list ruleset`` too); None when that is everything (ufw rewrites its chains,
    firewalld its table)."""
    out = {e.target for e in plan.edits}
    for fe in plan.front_ends:
        if fe in ("ufw", "firewalld"):
            return None
        if fe in IPTABLES_FRONT_ENDS:
            out.add(iptables_target(fe))
        if fe in ("nft", "iptables-nft", "ip6tables-nft"):
            out.add("nft")
    return out


def _needed_targets(plan: Plan) -> set[str]:
    need: set[str] = set()
    for fe in plan.front_ends:
        if fe in IPTABLES_FRONT_ENDS:
            need.add(iptables_target(fe))
        elif fe == "nft":
            need.add("nft")
        elif fe == "firewalld":
            need |= {"firewalld-runtime", "firewalld-permanent"}
        elif fe == "ufw":
            need |= {f"ufw:{path}" for path in st.UFW_FILES}
    return need


def _roll_back(
    plan: Plan,
    undo_stack: list[list[str]],
    before: dict[str, st.Saved],
    backup: Path,
    entry: dict[str, Any],
    as_root: bool,
    runner: Runner,
    failed_undo: list[str] | None = None,
) -> list[str]:
    loose = unordered(plan)
    changed = undo_stack or st.differences(before, st.capture_state(plan.backup_targets(), as_root), loose)
    if failed_undo is not None and changed:
        # Where the failed step did take effect this puts it back; where it did not, its undo
        # finds nothing to undo (or the backup restore below makes good what it did).
        rec = run_step(Job("rollback.failed-step", tuple(failed_undo), STEP_TIMEOUT, as_root=as_root), runner)
        entry.setdefault("rollback", []).append(_step_record(rec))
    for argv in reversed(undo_stack):
        rec = run_step(Job("rollback", tuple(argv), STEP_TIMEOUT, as_root=as_root), runner)
        entry.setdefault("rollback", []).append(_step_record(rec))
    if "firewalld" in plan.front_ends:
        _firewalld_tidy(before, entry.setdefault("rollback", []), as_root, runner)
    now = st.capture_state(plan.backup_targets(), as_root)
    diff = st.differences(before, now, loose)
    if diff:
        _restore(plan, before, backup, diff, entry, as_root, runner)
        diff = st.differences(before, st.capture_state(plan.backup_targets(), as_root), loose)
    return diff


def unordered(plan: Plan) -> bool:
    """Compare without rule order inside chains: firewalld regenerates its chains from sets."""
    return "firewalld" in plan.front_ends


def _restore(
    plan: Plan,
    before: dict[str, st.Saved],
    backup: Path,
    diff: list[str],
    entry: dict[str, Any],
    as_root: bool,
    runner: Runner,
) -> None:
    """Put the saved state back, for what still differs."""
    log = entry.setdefault("restore", [])

    def go(name: str, argv: tuple[str, ...], stdin: bytes | None = None) -> None:
        rec = runner(Job(name, argv, STEP_TIMEOUT, as_root=as_root, stdin=stdin))
        log.append(_step_record(rec))

    current = st.capture_state([t for t in st.RESTORERS if t in diff], as_root)
    for target, restorer in st.RESTORERS.items():
        saved = before.get(target)
        if target in diff and saved is not None and not saved.error and saved.text.strip():
            # Only the chains that differ, so every other chain (and, for iptables-nft, the nf_tables
            # objects behind it) stays exactly as it is; the full restore if that fails.
            script = iptables_delta(saved.text, current[target].text if target in current else "")
            if script is not None:
                go(f"restore.{target}", (*restorer, "--noflush"), script.encode())
                if not log[-1]["exit_code"] and not log[-1]["error"]:
                    continue
            go(f"restore.{target}", restorer, saved.text.encode())
    if "nft" in diff and not before["nft"].error:
        script = ""
        for fam, name in plan.nft_tables():
            block = nft_table_block(before["nft"].text, fam, name)
            if block:
                script += f"flush table {fam} {name}\n{block}\n"
        if script:
            go("restore.nft", ("nft", "-f", "-"), script.encode())
    for key in diff:
        if key.startswith("file:"):
            go(f"restore.{key}", tuple(_restore_argv(key[len("file:") :], before, backup)))
    ufw_changed = [k for k in diff if k.startswith("ufw:")]
    for key in ufw_changed:
        src = backup / st.backup_name(key)
        go(f"restore.{key}", ("cp", str(src), key[len("ufw:") :]))
    if ufw_changed:
        go("restore.ufw-reload", ("ufw", "reload"))
    zones = [k for k in diff if k.startswith("firewalld-zone")]
    if zones:
        for key in zones:
            if key == "firewalld-zones":
                continue
            name = key.split(":", 1)[1]
            src = backup / st.backup_name(key)
            go(f"restore.{key}", ("cp", str(src), f"{st.FIREWALLD_ZONES}/{name}"))
        saved_names = set(before.get("firewalld-zones", st.Saved("", "")).text.split())
        for p in Path(st.FIREWALLD_ZONES).glob("*.xml"):
            if p.name not in saved_names:
                go(f"restore.rm.{p.name}", ("rm", "-f", str(p)))
        go("restore.firewalld-reload", ("firewall-cmd", "--reload"))


def _firewalld_tidy(before: dict[str, st.Saved], log: list[dict[str, Any]], as_root: bool, runner: Runner) -> None:
    """``firewall-cmd --permanent`` writes a zone to /etc/firewalld/zones the first time it changes
    (and keeps a .xml.old copy); removing the port again leaves that file. Where the file was not
    there before, give the zone back to its shipped defaults and drop the copy, so the
    configuration is file-for-file what it was."""
    saved = before.get("firewalld-zones")
    if saved is None:
        return
    had = set(saved.text.split())
    for name in st.zone_files():
        if name not in had and name.endswith(".xml"):
            rec = runner(
                Job(
                    "tidy.firewalld",
                    ("firewall-cmd", "--permanent", f"--load-zone-defaults={name[:-4]}"),
                    STEP_TIMEOUT,
                    as_root=as_root,
                )
            )
            log.append(_step_record(rec))
    for name in st.zone_files():
        if name not in had and name.endswith(".xml.old"):
            rec = runner(
                Job("tidy.firewalld", ("rm", "-f", f"{st.FIREWALLD_ZONES}/{name}"), STEP_TIMEOUT, as_root=as_root)
            )
            log.append(_step_record(rec))


def iptables_delta(saved: str, current: str) -> str | None:
    """An ``iptables-restore --noflush`` script that turns ``current`` back into ``saved`` chain by
    chain (only the chains whose rules or policy differ), or None when that cannot be done."""
    want, have = parse_save(saved), parse_save(current)
    out = []
    for table, w in want.items():
        h = have.get(table)
        if h is None:
            return None
        lines = []
        for chain in w["chains"]:
            if chain not in h["chains"]:
                lines.append(f":{chain} - [0:0]")
            elif w["policy"][chain] != "-" and w["policy"][chain] != h["policy"].get(chain):
                lines.append(f":{chain} {w['policy'][chain]} [0:0]")
        gone = [c for c in h["chains"] if c not in w["chains"]]
        for chain, rules in w["chains"].items():
            if chain in h["chains"] and h["chains"][chain] != rules:
                lines.append(f"-F {chain}")
                lines += rules
            elif chain not in h["chains"]:
                lines += rules
        for chain in gone:
            lines.append(f"-F {chain}")
        lines += [f"-X {chain}" for chain in gone]
        if lines:
            out += [f"*{table}", *lines, "COMMIT"]
    return "\n".join(out) + "\n" if out else None


@dataclass(frozen=True)
class UndoPreview:
    """What ``undo`` would do now, for a person to confirm first (the TUI's `u`)."""

    entry_id: str
    title: str
    time: str
    commands: tuple[str, ...]  # in the order undo runs them
    interrupted: bool  # the change never finished: undo restores the backup instead
    elevated: bool  # a step asks for Windows elevation (a UAC prompt) again
    backup: str

    def describe(self) -> str:
        lines = [f"Undo: {self.title}", f"  applied {self.time}; journal id {self.entry_id}"]
        if self.interrupted:
            lines.append("  it was interrupted mid-apply: the saved rules are put back")
        lines += [f"  run:  {c}" for c in self.commands]
        if self.elevated:
            lines.append("  needs Windows elevation again (a UAC prompt)")
        if self.backup:
            lines.append(
                f"  Then compared with the backup taken before the change ({self.backup}); whatever still "
                "differs is restored from it"
            )
        return "\n".join(lines)

    def copy_text(self) -> str:
        return "\n".join(self.commands) + "\n"


def _entry_to_undo(journal: st.Journal, entry_id: str | None) -> tuple[dict[str, Any], Plan]:
    """The entry ``undo`` works on (``entry_id``, else the last applied change) and its plan,
    checked to be wsltui's own (see undo_check). Raises ActionError."""
    from wsltui.actions import undo_check

    entries, skipped = journal.read()
    if entry_id:
        entry = next((e for e in entries if e["id"] == entry_id), None)
        if entry is None:
            raise ActionError(f"no journal entry {entry_id!r} (see wsltui undo --list)")
        if entry.get("action") == "undo" or entry.get("result") not in ("applied", "pending"):
            raise ActionError(f"entry {entry_id} is {entry.get('result')}: there is nothing to undo")
    else:
        entry = st.last_undoable(entries)
        if entry is None:
            raise ActionError(
                f"nothing to undo: no applied change in {journal.path}"
                + (f" (skipped unreadable lines: {'; '.join(skipped)})" if skipped else "")
            )
    try:
        plan = Plan.from_json(entry["plan"])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ActionError(f"journal entry {entry['id']} cannot be read: {type(e).__name__}: {e}") from None
    wrong = undo_check.problems(entry, plan, journal.base)
    if wrong:
        raise ActionError(
            f"journal entry {entry['id']} is not what wsltui wrote, so nothing is undone: " + "; ".join(wrong)
        )
    return entry, plan


def undo_preview(*, base: Path | None = None, entry_id: str | None = None) -> UndoPreview:
    """What ``undo()`` (the last change, or ``entry_id``) would run. Raises ActionError when
    there is nothing to undo, or the journal entry is not wsltui's own."""
    entry, plan = _entry_to_undo(st.Journal(base), entry_id)
    interrupted = entry.get("result") == "pending"
    commands: list[str] = []
    for argv in [] if interrupted else reversed(entry.get("undo", [])):
        if windows.elevated_paths(argv) is None:
            commands.append(shlex.join(argv))
        else:  # an -EncodedCommand says nothing to a person: the undo as the plan wrote it
            commands += [f"(elevated PowerShell) {c}" for f in plan.fixes if f.elevated for c in f.undo]
    title = plan.title or f"the fix for {plan.proto}/{plan.port}"
    return UndoPreview(
        entry["id"],
        title,
        entry.get("time", ""),
        tuple(dict.fromkeys(commands)),
        interrupted,
        plan.elevated,
        "" if not plan.backup_targets() else entry.get("backup", ""),
    )


def undo(
    *, base: Path | None = None, entry_id: str | None = None, read_only: bool = False, runner: Runner = run
) -> Result:
    """Undo the last applied change (or ``entry_id``): its recorded undo commands, then a
    comparison with the backup taken before it. Raises ActionError when there is nothing to undo."""
    if read_only or st.read_only():
        raise ActionError("read-only: wsltui makes no changes (--read-only or WSLTUI_READ_ONLY)")
    with st.change_lock(base):
        return _undo_locked(base, entry_id, runner)


def _undo_locked(base: Path | None, entry_id: str | None, runner: Runner) -> Result:
    journal = st.Journal(base)
    entry, plan = _entry_to_undo(journal, entry_id)
    backup = Path(entry["backup"])
    try:
        before = st.read_backup(backup)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ActionError(f"cannot read the backup {backup}: {e}") from None
    as_root = plan.needs_root
    current = st.capture_state(plan.backup_targets(), as_root)
    after = entry.get("after")
    loose = unordered(plan)
    drifted = after is not None and any(st.normalise(k, s.text, loose) != after.get(k) for k, s in current.items())
    uid = st.new_id()
    rec_entry: dict[str, Any] = {
        "id": uid,
        "action": "undo",
        "undoes": entry["id"],
        "time": st.now(),
        "started": st.now(),
        "backup": str(backup),
        "steps": [],
        "result": "pending",
    }
    try:
        journal.append(rec_entry)
    except OSError as e:
        raise ActionError(f"cannot write the journal ({journal.path}: {e.strerror}), so nothing was undone") from None
    t0 = time.monotonic()
    failures = []
    uncovered = False  # a failed step no backup can make good (Windows)
    if entry.get("result") == "pending":  # interrupted mid-apply: only the backup knows the state
        _restore(plan, before, backup, st.differences(before, current, loose), rec_entry, as_root, runner)
    else:
        for argv in reversed(entry.get("undo", [])):
            rec = run_step(Job("undo", tuple(argv), STEP_TIMEOUT, as_root=as_root), runner)
            rec_entry["steps"].append(_step_record(rec))
            why = _failed(rec)
            if why:
                elevated = windows.elevated_paths(argv) is not None
                failures.append(why if elevated else f"{' '.join(argv)}: {why}")
                uncovered = uncovered or elevated
        if "firewalld" in plan.front_ends:
            _firewalld_tidy(before, rec_entry["steps"], as_root, runner)
    diff = st.differences(before, st.capture_state(plan.backup_targets(), as_root), loose)
    if diff and not drifted:
        # Nothing else changed since the fix, so the backup is exactly what to go back to (a
        # failed undo step, or a front end that does not give back exactly what it had: ufw
        # rewrites all its chains on every change, and may fill in rules its enable left out).
        _restore(plan, before, backup, diff, rec_entry, as_root, runner)
        diff = st.differences(before, st.capture_state(plan.backup_targets(), as_root), loose)
    ok = not diff and not uncovered  # a failed undo step whose effect the backup restore made good is fine
    if ok:
        message = f"undone {entry['id']}: the rules are identical to before the change ({st.seconds_since(t0)} s)"
        result = "undone"
    elif failures == [windows.DECLINED] and not diff:
        message, result = f"undo of {entry['id']} not done: {windows.DECLINED}", "declined"
    else:
        message = (
            f"undo of {entry['id']} incomplete: "
            + "; ".join(failures)
            + (f"; differs from the backup: {', '.join(diff)}" if diff else "")
            + ("; the rules were changed by something else after the fix" if drifted else "")
            + f" (backup in {backup})"
        )
        result = "undo-failed"
    rec_entry.update(result=result, message=message, time=st.now(), differences=diff)
    message += _record_end(journal, rec_entry, _UNDO_LOST)
    if ok:
        message += _record_end(journal, {**entry, "result": "undone", "undone_by": uid, "time": st.now()}, _UNDO_LOST)
    return Result(ok, result, message, uid, str(backup), rec_entry["steps"], diff)


def trace_verifier(plan: Plan) -> Verifier:
    """Probe the live system again, trace the same packet, and check the fixed blockers are gone."""

    def verify() -> tuple[bool, str]:
        import ipaddress

        from wsltui.facts import build_facts
        from wsltui.probes.capture import capture
        from wsltui.simulation.simulate import Scenario, World, simulate

        sc = plan.scenario
        addr = lambda v: ipaddress.ip_address(v) if v else None  # noqa: E731
        scenario = Scenario(
            sc.get("name", "custom"),
            plan.port,
            plan.proto,
            addr(sc.get("src")),
            addr(sc.get("dst")),
            sc.get("in_iface"),
        )
        trace = simulate(World.from_facts(build_facts(capture())), scenario)
        fixed = [(b["layer"], b["owner"], b["rule"]) for b in plan.blockers]
        still = [b for b in trace.blockers if (b.layer, b.owner, b.rule) in fixed]
        new = [b for b in trace.blockers if b.layer == "netfilter" and (b.layer, b.owner, b.rule) not in fixed]
        if still:
            return False, "still blocked by " + "; ".join(f"{b.location}: {b.rule}" for b in still)
        if new:
            return False, "now blocked by " + "; ".join(f"{b.location}: {b.rule}" for b in new)
        return True, (
            "the packet now gets through"
            if trace.reachable
            else "the fixed blockers are gone"
            + (f" (still: {trace.first_blocker.layer})" if trace.first_blocker else "")
        )

    return verify
