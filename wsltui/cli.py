"""Command line: ``wsltui`` (the app), ``wsltui snapshot``, ``wsltui facts``.

stdout is data, stderr is everything else. Exit codes live in ``exit_codes``.
"""

from __future__ import annotations

import argparse
import json
import sys

from wsltui import __version__
from wsltui.exit_codes import ExitCode


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wsltui",
        description="Why can't Windows (or the LAN) reach my WSL2 service, and what do I change?",
    )
    p.add_argument("--version", action="version", version=_version())
    _add_source(p, top_level=True)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    s = sub.add_parser("snapshot", help="capture every probe's raw output (for a ticket, or to replay)")
    where = s.add_mutually_exclusive_group(required=True)
    where.add_argument("-o", "--output", metavar="FILE", help="write one JSON file")
    where.add_argument("--dir", metavar="DIR", help="write one <record>.txt (+ .meta.json) per record")

    f = sub.add_parser("facts", help="summarise what wsltui knows about this machine")
    _add_source(f)
    f.add_argument("--json", action="store_true", help="print the facts as JSON")
    return p


def _add_source(p: argparse.ArgumentParser, top_level: bool = False) -> None:
    # Subcommands suppress their defaults so `wsltui --demo facts` keeps the top-level value.
    default = None if top_level else argparse.SUPPRESS
    p.add_argument("--from", dest="source", metavar="PATH", default=default,
                   help="read a snapshot file or directory instead of probing")
    p.add_argument("--demo", nargs="?", const="", metavar="NAME", default=default,
                   help="use a bundled demo snapshot (list them with --demo list)")


def _version() -> str:
    import platform

    return f"wsltui {__version__} (Python {platform.python_version()})"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "snapshot":
            return _snapshot(args)
        if args.cmd == "facts":
            return _facts(args)
        # The full-screen app arrives with its own issue; until then, summarise the facts.
        args.json = False
        return _facts(args)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK


def _snapshot(args: argparse.Namespace) -> int:
    from wsltui.probes.capture import capture

    snap = capture()
    if args.output:
        snap.save_file(args.output)
        where = args.output
    else:
        snap.save_dir(args.dir)
        where = args.dir
    failed = sum(1 for r in snap.records.values() if r.error)
    print(f"wsltui: {len(snap.records)} records in {snap.meta.get('seconds', 0):.2f} s -> {where}"
          + (f" ({failed} could not be captured: see their error)" if failed else ""), file=sys.stderr)
    return ExitCode.OK


def load_source(args: argparse.Namespace):
    """The snapshot a command reads: --from PATH, --demo [NAME], or the live system."""
    from wsltui import demos, snapshot
    from wsltui.probes.capture import capture

    if getattr(args, "source", None):
        return snapshot.load(args.source)
    if getattr(args, "demo", None) is not None:  # "--demo" alone gives "", the default demo
        return demos.load(args.demo)
    return capture()


def _facts(args: argparse.Namespace) -> int:
    from wsltui.demos import DemoError
    from wsltui.facts import build_facts
    from wsltui.snapshot import SnapshotError

    try:
        snap = load_source(args)
    except (SnapshotError, DemoError) as e:
        print(f"wsltui: {e}", file=sys.stderr)
        return ExitCode.USAGE
    facts = build_facts(snap)
    if args.json:
        json.dump(facts.to_json(), sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        from wsltui.views.facts_text import print_facts

        print_facts(facts)
    return ExitCode.OK
