"""``wsltui fix`` and ``wsltui undo``: the shell side of wsltui.actions (kept out of cli.py)."""

from __future__ import annotations

import argparse
import sys

from wsltui.exit_codes import ExitCode
from wsltui.views.safe_text import json_text, shown


def add_parsers(sub) -> None:
    from wsltui.cli import _add_source, add_packet_options

    f = sub.add_parser("fix", help="apply the fixes for every blocker of PORT's trace (backed up, undoable)",
                       description="Traces PORT like `check`, then applies the fix for every blocker after a backup; "
                                   "a failed step or a fix that does not verify is rolled back. Exit codes: 0 applied "
                                   "(or nothing to fix), 4 failed, 5 refused, 3 unknown, 2 usage error.")
    add_packet_options(f)
    f.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    f.add_argument("--dry-run", action="store_true", help="print the plan (commands and undo) and change nothing")
    f.add_argument("--persist", action="store_true",
                   help="also make iptables/nft changes survive a restart, the distro's way (netfilter-persistent, "
                        "nftables.service) or with a /etc/wsl.conf [boot] command (firewalld and ufw fixes always "
                        "persist)")
    f.add_argument("--json", action="store_true", help="print the plan (and the result) as JSON")
    _add_source(f)

    u = sub.add_parser("undo", help="undo the last change wsltui made (or list the journal)",
                       description="Undoes the last change wsltui applied: a fix, or a rule action from the TUI "
                                   "(disable, enable, delete, add; Windows changes ask for elevation again). "
                                   "Exit codes: 0 undone, 4 failed, 5 refused (nothing to undo, read-only, "
                                   "UAC prompt declined).")
    u.add_argument("--list", action="store_true", help="list the journal of changes")
    u.add_argument("--id", metavar="ID", help="undo this journal entry instead of the last one")


def run(args: argparse.Namespace) -> int:
    return _fix(args) if args.cmd == "fix" else _undo(args)


def _err(msg: str) -> None:
    print(f"wsltui: {shown(msg, multiline=True)}", file=sys.stderr)


def _read_only(args) -> bool:
    from wsltui.actions.state import read_only

    return bool(getattr(args, "read_only", False)) or read_only()


def _fix(args: argparse.Namespace) -> int:
    from wsltui.actions import ActionError, apply, plan_for_trace
    from wsltui.actions.apply import trace_verifier
    from wsltui.cli import load_source, scenario_from
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
    plan = plan_for_trace(trace, {"name": scenario, "src": str(args.src) if args.src else None,
                                  "dst": str(args.dst) if args.dst else None, "in_iface": args.in_iface},
                          elevate=not replay)
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
        _err(f"{args.proto}/{args.port}: nothing is known to block it, but some layer could not be decided "
             f"(see `wsltui check {args.port}`): nothing to fix")
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
    if not args.yes:
        if not sys.stdin.isatty():
            _err("refused: stdin is not a terminal, so wsltui cannot ask; pass --yes to apply (nothing was changed)")
            return ExitCode.REFUSED
        print("Apply these changes? [y/N] ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            _err("not applied")
            return ExitCode.REFUSED
    try:
        result = apply(plan, verify=trace_verifier(plan))
    except ActionError as e:
        _err(f"refused: {e}")
        return ExitCode.REFUSED
    if args.json:
        out["result"] = {"ok": result.ok, "result": result.result, "message": result.message, "id": result.id,
                         "backup": result.backup}
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

    if args.list:
        entries = Journal().entries()
        if not entries:
            print(f"(the journal is empty: {Journal().path})")
        for e in entries:
            plan = e.get("plan") or {}
            what = plan.get("title") or "; ".join(f["title"] for f in plan.get("fixes", [])) or \
                (f"undo of {e.get('undoes')}" if e.get("undoes") else "")
            print(shown(f"{e['id']}  {e.get('time', '')}  {e.get('action', ''):7}  {e.get('result', ''):19} {what}"))
        return ExitCode.OK
    if _read_only(args):
        _err("refused: read-only mode (--read-only or WSLTUI_READ_ONLY): nothing was changed")
        return ExitCode.REFUSED
    try:
        result = undo(entry_id=args.id)
    except ActionError as e:
        _err(f"refused: {e}")
        return ExitCode.REFUSED
    if result.ok:
        _err(result.message)
        return ExitCode.OK
    _err(result.message)
    return ExitCode.REFUSED if result.result == "declined" else ExitCode.FAILED


def _dump(data) -> None:
    sys.stdout.write(json_text(data) + "\n")
