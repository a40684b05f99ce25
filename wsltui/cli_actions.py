"""``wsltui fix`` and ``wsltui undo``: the shell side of wsltui.actions (kept out of cli.py)."""

from __future__ import annotations

import argparse
import sys

from wsltui.cli_common import add_packet_options, add_source, load_source, scenario_from
from wsltui.exit_codes import ExitCode
from wsltui.views.safe_text import json_text, shown


def add_parsers(sub) -> None:
    f = sub.add_parser(
        "fix",
        help="apply the fixes for every blocker of PORT's trace (backed up, undoable)",
        description="Traces PORT like `check`, then applies the fix for every blocker after a backup; "
        "a failed step or a fix that does not verify is rolled back. Exit codes: 0 applied "
        "(or nothing to fix), 4 failed, 5 refused, 3 unknown, 2 usage error.",
    )
    add_packet_options(f)
    f.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    f.add_argument("--dry-run", action="store_true", help="print the plan (commands and undo) and change nothing")
    f.add_argument(
        "--persist",
        action="store_true",
        help="also make iptables/nft changes survive a restart, the distro's way (netfilter-persistent, "
        "nftables.service) or with a /etc/wsl.conf [boot] command (firewalld and ufw fixes always "
        "persist)",
    )
    f.add_argument("--json", action="store_true", help="print the plan (and the result) as JSON")
    add_source(f)

    u = sub.add_parser(
        "undo",
        help="undo the last change wsltui made (or list the journal)",
        description="Undoes the last change wsltui applied: a fix, or a rule action from the TUI "
        "(disable, enable, delete, add; Windows changes ask for elevation again). "
        "Exit codes: 0 undone, 4 failed, 5 refused (nothing to undo, read-only, "
        "UAC prompt declined).",
    )
    u.add_argument("--list", action="store_true", help="list the journal of changes")
    u.add_argument("--id", metavar="ID", help="undo this journal entry instead of the last one")
    u.add_argument("--yes", "-y", action="store_true", help="undo without asking")


def run(args: argparse.Namespace) -> int:
    if args.cmd == "fix":
        return _fix(args) if args.dry_run else _locked(_fix, args)
    return _undo(args) if args.list else _locked(_undo, args)


def _locked(command, args: argparse.Namespace) -> int:
    """``command`` holding the change lock from its first reading of the rules to its journal
    entry, so a second fix or undo at the same time waits (or refuses), never interleaves."""
    from wsltui.actions import ActionError
    from wsltui.actions.state import change_lock

    try:
        with change_lock():
            return command(args)
    except ActionError as e:  # the lock's own refusal: the command reports every other one itself
        _err(f"refused: {e}")
        return ExitCode.REFUSED


def _err(msg: str) -> None:
    print(f"wsltui: {shown(msg, multiline=True)}", file=sys.stderr)


def _read_only(args) -> bool:
    from wsltui.actions.state import read_only

    return bool(getattr(args, "read_only", False)) or read_only()


def _fix(args: argparse.Namespace) -> int:
    from wsltui.actions import ActionError, apply, plan_for_trace
    from wsltui.actions.apply import trace_verifier
    from wsltui.facts import build_facts
    from wsltui.simulation.simulate import World, simulate

    sc = scenario_from(args)
    scenario = sc.name
    replay = bool(getattr(args, "source", None)) or getattr(args, "demo", None) is not None
    if replay and not args.dry_run:
        _err("--from/--demo describe another machine: only --dry-run makes sense with them")
        return ExitCode.USAGE
    if replay and args.persist:
        _err("--persist writes this machine's files: it needs the live system, not --from/--demo")
        return ExitCode.USAGE
    trace = simulate(World.from_facts(build_facts(load_source(args))), sc)
    # Windows fixes run elevated only on the live machine (a snapshot describes another one).
    plan = plan_for_trace(
        trace,
        {
            "name": scenario,
            "src": str(args.src) if args.src else None,
            "dst": str(args.dst) if args.dst else None,
            "in_iface": args.in_iface,
        },
        elevate=not replay,
    )
    if args.persist:
        from wsltui.actions.persist import add_to

        try:
            add_to(plan)
        except ActionError as e:
            _err(f"refused: {e}")
            return ExitCode.REFUSED
    out = {"plan": plan.to_json(), "reachable": trace.reachable}
    if not trace.blockers:
        if args.json:
            _dump(out)
        if trace.reachable:
            print(f"{args.proto}/{args.port}: nothing to fix, it connects ({scenario})")
            return ExitCode.OK
        _err(
            f"{args.proto}/{args.port}: nothing is known to block it, but some layer could not be decided "
            f"(see `wsltui check {args.port}`): nothing to fix"
        )
        return ExitCode.UNKNOWN
    if not args.json:
        print(shown(plan.describe(), multiline=True))
    if args.dry_run:
        if args.json:
            _dump(out)
        return ExitCode.OK if plan.automatic else ExitCode.REFUSED
    if not plan.automatic:
        if args.json:
            _dump(out)
        _err("refused: some blockers need a person (listed above); nothing was changed")
        return ExitCode.REFUSED
    if _read_only(args):
        if args.json:
            _dump(out)
        _err("refused: read-only mode (--read-only or WSLTUI_READ_ONLY): nothing was changed")
        return ExitCode.REFUSED
    if not args.yes and not _confirmed("Apply these changes?"):
        return ExitCode.REFUSED
    try:
        result = apply(plan, verify=trace_verifier(plan))
    except ActionError as e:
        _err(f"refused: {e}")
        return ExitCode.REFUSED
    if args.json:
        out["result"] = {
            "ok": result.ok,
            "result": result.result,
            "message": result.message,
            "id": result.id,
            "backup": result.backup,
        }
        _dump(out)
    if result.ok:
        _err(f"{result.message} (journal id {result.id}; undo with `wsltui undo`; backup {result.backup})")
        return ExitCode.OK
    if result.result == "declined":
        _err(f"not applied: {result.message}")
        return ExitCode.REFUSED
    _err(f"fix failed: {result.message}")
    return ExitCode.FAILED


def _undo(args: argparse.Namespace) -> int:
    from wsltui.actions import ActionError, Journal, undo
    from wsltui.actions.apply import undo_preview

    journal = Journal()
    if args.list:
        entries, skipped = journal.read()
        for why in skipped:
            _err(f"{journal.path}: skipped: {why}")
        if not entries:
            print(f"(the journal is empty: {journal.path})")
        for e in entries:
            plan = e.get("plan")
            plan = plan if isinstance(plan, dict) else {}
            fixes = plan.get("fixes")
            fixes = fixes if isinstance(fixes, list) else []
            what = (
                plan.get("title")
                or "; ".join(str(f.get("title")) for f in fixes if isinstance(f, dict))
                or (f"undo of {e.get('undoes')}" if e.get("undoes") else "")
            )
            print(shown(f"{e['id']}  {e.get('time', '')}  {e.get('action', ''):7}  {e.get('result', ''):19} {what}"))
        return ExitCode.OK
    if _read_only(args):
        _err("refused: read-only mode (--read-only or WSLTUI_READ_ONLY): nothing was changed")
        return ExitCode.REFUSED
    try:
        preview = undo_preview(entry_id=args.id)  # refuses an entry wsltui did not write
    except ActionError as e:
        _err(f"refused: {e}")
        return ExitCode.REFUSED
    print(preview.describe())
    if not args.yes and not _confirmed("Undo this change?"):
        return ExitCode.REFUSED
    try:
        result = undo(entry_id=preview.entry_id)
    except ActionError as e:
        _err(f"refused: {e}")
        return ExitCode.REFUSED
    if result.ok:
        _err(result.message)
        return ExitCode.OK
    _err(result.message)
    return ExitCode.REFUSED if result.result == "declined" else ExitCode.FAILED


def _confirmed(question: str) -> bool:
    """Ask on the terminal; False (with the reason said) when the answer is not yes or there
    is no terminal to ask on."""
    if not sys.stdin.isatty():
        _err("refused: stdin is not a terminal, so wsltui cannot ask; pass --yes (nothing was changed)")
        return False
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        _err("nothing was changed")
        return False
    return True


def _dump(data) -> None:
    sys.stdout.write(json_text(data) + "\n")
