"""Command line: ``wsltui`` (the app), ``wsltui snapshot``, ``wsltui facts``.

stdout is data, stderr is everything else. Exit codes live in ``exit_codes``.
"""

from __future__ import annotations

import argparse
import os
import sys

from wsltui import __version__, cli_actions
from wsltui.cli_common import (
    SCENARIO_NAMES,
    UsageError,
    add_live_options,
    add_packet_options,
    add_source,
    exit_code,
    load_source,
    port_arg,
    scenario_from,
    seconds_arg,
)
from wsltui.exit_codes import ExitCode
from wsltui.snapshot import SnapshotError
from wsltui.views.safe_text import json_text, shown


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wsltui",
        description="Why can't Windows (or the LAN) reach my WSL2 service, and what do I change?",
    )
    p.add_argument("--version", action="version", version=_version())
    add_source(p, top_level=True)
    p.add_argument("--read-only", action="store_true", help="never change anything (fix and undo refuse)")
    p.add_argument(
        "--refresh",
        type=seconds_arg,
        default=None,
        metavar="SECONDS",
        help="the app, live: read the Linux side again every SECONDS (default 10; 0: never); "
        "the Windows side only on r",
    )
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    s = sub.add_parser("snapshot", help="capture every probe's raw output (for a ticket, or to replay)")
    where = s.add_mutually_exclusive_group(required=True)
    where.add_argument("-o", "--output", metavar="FILE", help="write one JSON file")
    where.add_argument("--dir", metavar="DIR", help="write one <record>.txt (+ .meta.json) per record")

    f = sub.add_parser("facts", help="summarise what wsltui knows about this machine")
    add_source(f)
    f.add_argument("--json", action="store_true", help="print the facts as JSON")

    c = sub.add_parser(
        "check",
        help="trace a connection to PORT through every layer and name what blocks it",
        description="Exit codes: 0 reachable, 1 blocked, 3 unknown, 2 usage error.",
    )
    add_packet_options(c)
    c.add_argument("--json", action="store_true", help="print the trace as JSON")
    add_live_options(c)
    add_source(c)

    cli_actions.add_parsers(sub)  # fix, undo

    t = sub.add_parser(
        "terminal-profile",
        help="add a Windows Terminal profile that starts wsltui in this distro",
        description="Writes a Windows Terminal JSON fragment (%LOCALAPPDATA%\\Microsoft\\Windows "
        "Terminal\\Fragments\\wsltui\\wsltui.json, through interop) whose profile runs "
        "`wsl.exe -d <this distro> -- wsltui`.",
    )
    what = t.add_mutually_exclusive_group()
    what.add_argument("--remove", action="store_true", help="delete the fragment (the profile goes away)")
    what.add_argument("--print", action="store_true", help="only print the fragment; write nothing")

    r = sub.add_parser(
        "report",
        help="everything a support ticket needs: every port x scenario, the traces, the facts",
        description="Formats: text (terminal), md (a GitHub issue), json (tools), svg (the status "
        "screen). Default: from the -o extension (.md .json .svg), else text.",
    )
    r.add_argument("--format", choices=("text", "md", "json", "svg"), default=None, help="output format (default text)")
    r.add_argument("-o", "--output", metavar="FILE", help="write the report here (default stdout; svg needs it)")
    r.add_argument(
        "--port",
        type=port_arg,
        action="append",
        metavar="PORT",
        help="only this port (repeatable), even when nothing listens on it",
    )
    r.add_argument(
        "--scenario",
        choices=[s for s in SCENARIO_NAMES if s != "custom"],
        default=None,
        help="only this scenario (default: the status screen's four)",
    )
    r.add_argument(
        "--redact",
        action="store_true",
        help="replace addresses, MACs, user, host, network and adapter names, e-mails, SIDs, GUIDs and "
        "Windows paths (consistently) for a public ticket",
    )
    r.add_argument(
        "--size",
        default="120x30",
        metavar="COLSxROWS",
        help="svg screen size (default 120x30; it grows taller until the whole content fits)",
    )
    r.add_argument(
        "--chrome", action="store_true", help="svg: with the footer and the tabs (default: the content only)"
    )
    add_source(r)
    return p


def load_facts(args: argparse.Namespace):
    """(snapshot, facts) from --from, --demo or the live system."""
    from wsltui.facts import build_facts

    snap = load_source(args)
    return snap, build_facts(snap)


def _version() -> str:
    import platform

    return f"wsltui {__version__} (Python {platform.python_version()})"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if getattr(args, "demo", None) == "list":
            from wsltui import demos

            for name in demos.names():
                print(f"{name:28} {demos.describe(name).splitlines()[0] if demos.describe(name) else ''}")
            return ExitCode.OK
        if args.cmd == "snapshot":
            return _snapshot(args)
        if args.cmd == "facts":
            return _facts(args)
        if args.cmd == "check":
            if args.live:
                from wsltui import cli_live

                return cli_live.check(args)
            if args.client_netns or args.listen is not None or args.save:
                raise UsageError("--client-netns, --listen, --no-listen and --save go with --live")
            return _check(args)
        if args.cmd in ("fix", "undo"):
            return cli_actions.run(args)
        if args.cmd == "report":
            return _report(args)
        if args.cmd == "terminal-profile":
            return _terminal_profile(args)
        return _tui(args)
    except (UsageError, SnapshotError) as e:  # a DemoError is a SnapshotError too
        _say(str(e))
        return ExitCode.USAGE
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK


def _say(message: str) -> None:
    """A message for the person, on stderr; it may echo input or a snapshot, so it is ``shown``."""
    print(f"wsltui: {shown(message, multiline=True)}", file=sys.stderr)


def _snapshot(args: argparse.Namespace) -> int:
    from wsltui.probes.capture import capture

    snap = capture()
    where = args.output or args.dir
    try:
        if args.output:
            snap.save_file(args.output)
        else:
            snap.save_dir(args.dir)
    except OSError as e:
        print(f"wsltui: {e.filename or where}: {e.strerror}", file=sys.stderr)
        return ExitCode.USAGE
    failed = sum(1 for r in snap.records.values() if r.error)
    _say(
        f"{len(snap.records)} records in {snap.meta.get('seconds', 0):.2f} s -> {where}"
        + (f" ({failed} could not be captured: see their error)" if failed else "")
    )
    return ExitCode.OK


def _facts(args: argparse.Namespace) -> int:
    _, facts = load_facts(args)
    if args.json:
        from wsltui import json_stream
        from wsltui.facts import jsonable_one_level

        # converted and written as it goes: a big ruleset's facts never exist twice in memory
        json_stream.dump(facts, sys.stdout, convert=jsonable_one_level)
        sys.stdout.write("\n")
    else:
        from wsltui.views.facts_text import print_facts

        print_facts(facts)
    return ExitCode.OK


def _check(args: argparse.Namespace) -> int:
    from wsltui.simulation.reconcile import observed_json, stored_test_for
    from wsltui.simulation.simulate import World, simulate

    scenario = scenario_from(args)
    snap, facts = load_facts(args)
    world = World.from_facts(facts)
    trace = simulate(world, scenario)
    stored = stored_test_for(snap, world, scenario, trace)  # a live test saved in the snapshot
    if args.json:
        doc = trace.to_json()
        if stored is not None:
            doc["observed"] = observed_json(stored)
        sys.stdout.write(json_text(doc) + "\n")
    else:
        from wsltui.views.trace_text import print_trace

        print_trace(trace)
        if stored is not None:
            from wsltui.views.console import make_console
            from wsltui.views.live_text import print_lines, stored_lines

            console = make_console()
            console.print()
            print_lines(stored_lines(stored), console)
    return exit_code(trace)


def _tui_sources(args: argparse.Namespace):
    """(sources, demo name, label) for the app; the app loads them itself, in workers."""
    from wsltui.tui.app import demo_source, file_source, live_sources

    if getattr(args, "source", None):
        return file_source(args.source), None, args.source
    if getattr(args, "demo", None) is not None:
        from wsltui import demos

        name = args.demo or demos.DEFAULT
        if name not in demos.names():
            demos.load(name)  # raises DemoError with the listing
        return demo_source(name), name, ""
    return live_sources(), None, ""


def _tui(args: argparse.Namespace) -> int:
    from wsltui.demos import DemoError

    try:
        sources, demo, label = _tui_sources(args)
    except DemoError as e:
        _say(str(e))
        return ExitCode.USAGE
    if demo is None and not args.source and not args.read_only:
        from wsltui.live import sweep_leftovers

        for line in sweep_leftovers():  # what a killed live test left behind
            _say(line)
    from wsltui.tui.app import make_app

    app = make_app(sources, demo=demo, label=label, refresh=args.refresh, read_only=args.read_only)
    app.run()
    return app.return_code or ExitCode.OK


def _terminal_profile(args: argparse.Namespace) -> int:
    from wsltui import terminal_profile as tp

    try:
        if args.remove:
            gone = tp.remove(tp.local_app_data())
            print(
                f"wsltui: removed {gone}" if gone else "wsltui: no wsltui profile fragment to remove", file=sys.stderr
            )
            return ExitCode.OK
        text = tp.fragment_text(tp.distro_name(), tp.wsltui_command())
        if args.print:
            sys.stdout.write(text)
            return ExitCode.OK
        path = tp.write(tp.local_app_data(), text)
    except tp.ProfileError as e:
        _say(str(e))
        return ExitCode.USAGE
    except OSError as e:
        _say(f"{e.filename or ''}: {e.strerror or e}")
        return ExitCode.USAGE
    print(
        f"wsltui: Windows Terminal profile -> {path} (open a new Windows Terminal tab: 'wsltui ({tp.distro_name()})')",
        file=sys.stderr,
    )
    return ExitCode.OK


def _report(args: argparse.Namespace) -> int:
    from wsltui.demos import DemoError

    fmt = args.format or {".md": "md", ".json": "json", ".svg": "svg"}.get(
        os.path.splitext(args.output or "")[1].lower(), "text"
    )
    if fmt != "svg":
        return _report_document(args, fmt)
    if args.scenario:
        print(
            "wsltui: --format svg is a screenshot of the status screen: no --scenario (use --format md or json)",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    if not args.output:
        print("wsltui: --format svg needs -o FILE", file=sys.stderr)
        return ExitCode.USAGE
    try:
        cols, rows = (int(x) for x in args.size.lower().split("x"))
    except ValueError:
        print(f"wsltui: --size {args.size!r}: expected COLSxROWS, e.g. 120x30", file=sys.stderr)
        return ExitCode.USAGE
    try:
        sources, demo, label = _tui_sources(args)
    except DemoError as e:
        _say(str(e))
        return ExitCode.USAGE
    from wsltui.tui.report import render_status

    error = render_status(
        sources,
        args.output,
        size=(cols, rows),
        ports=tuple(args.port or ()),
        demo=demo,
        label=label,
        redact=args.redact,
        chrome=args.chrome,
    )
    if error:
        _say(error)
        return ExitCode.USAGE
    print(f"wsltui: status screen -> {args.output}", file=sys.stderr)
    return ExitCode.OK


def _report_document(args: argparse.Namespace, fmt: str) -> int:
    """text, md or json (wsltui.report); written to -o FILE or stdout."""
    from wsltui import report, safe_files

    snap, facts = load_facts(args)
    rep = report.build(snap, tuple(args.port or ()), args.scenario, facts=facts)
    color = fmt == "text" and not args.output and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    text = report.render(rep, fmt, redact=args.redact, color=color)
    if not args.output:
        sys.stdout.write(text)
        return ExitCode.OK
    try:
        # Replaces an existing regular file atomically, refuses a link; 0600 unless redacted.
        safe_files.replace(args.output, text, safe_files.SHARED if args.redact else safe_files.PRIVATE)
    except OSError as e:
        print(f"wsltui: {args.output}: {e.strerror}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"wsltui: report ({fmt}{', redacted' if args.redact else ''}) -> {args.output}", file=sys.stderr)
    return ExitCode.OK
