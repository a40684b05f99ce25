"""Command line: ``wsltui`` (the app), ``wsltui snapshot``, ``wsltui facts``.

stdout is data, stderr is everything else. Exit codes live in ``exit_codes``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from wsltui import __version__
from wsltui.exit_codes import ExitCode
from wsltui.snapshot import SnapshotError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wsltui",
        description="Why can't Windows (or the LAN) reach my WSL2 service, and what do I change?",
    )
    p.add_argument("--version", action="version", version=_version())
    _add_source(p, top_level=True)
    p.add_argument("--read-only", action="store_true", help="never change anything (fix and undo refuse)")
    p.add_argument("--refresh", type=_seconds, default=None, metavar="SECONDS",
                   help="the app, live: read the Linux side again every SECONDS (default 10; 0: never); "
                        "the Windows side only on r")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    s = sub.add_parser("snapshot", help="capture every probe's raw output (for a ticket, or to replay)")
    where = s.add_mutually_exclusive_group(required=True)
    where.add_argument("-o", "--output", metavar="FILE", help="write one JSON file")
    where.add_argument("--dir", metavar="DIR", help="write one <record>.txt (+ .meta.json) per record")

    f = sub.add_parser("facts", help="summarise what wsltui knows about this machine")
    _add_source(f)
    f.add_argument("--json", action="store_true", help="print the facts as JSON")

    c = sub.add_parser("check", help="trace a connection to PORT through every layer and name what blocks it",
                       description="Exit codes: 0 reachable, 1 blocked, 3 unknown, 2 usage error.")
    add_packet_options(c)
    c.add_argument("--json", action="store_true", help="print the trace as JSON")
    _add_source(c)

    from wsltui.cli_actions import add_parsers as _add_action_parsers

    _add_action_parsers(sub)  # fix, undo

    r = sub.add_parser("report", help="everything a support ticket needs: every port x scenario, the traces, the facts",
                       description="Formats: text (terminal), md (a GitHub issue), json (tools), svg (the status "
                                   "screen). Default: from the -o extension (.md .json .svg), else text.")
    r.add_argument("--format", choices=("text", "md", "json", "svg"), default=None, help="output format (default text)")
    r.add_argument("-o", "--output", metavar="FILE", help="write the report here (default stdout; svg needs it)")
    r.add_argument("--port", type=_port, action="append", metavar="PORT",
                   help="only this port (repeatable), even when nothing listens on it")
    r.add_argument("--scenario", choices=[s for s in SCENARIO_NAMES if s != "custom"], default=None,
                   help="only this scenario (default: the status screen's four)")
    r.add_argument("--redact", action="store_true",
                   help="replace addresses, MACs, host and user names, Windows paths (consistently) for a public ticket")
    r.add_argument("--size", default="100x30", metavar="COLSxROWS", help="svg screen size (default 100x30)")
    _add_source(r)
    return p


SCENARIO_NAMES = ("windows-localhost-v4", "windows-localhost-v6", "windows-to-wsl-ip", "lan-to-host", "wsl-to-windows", "custom")


class UsageError(Exception):
    """Arguments that parse but do not make sense together (main prints it, exit code 2)."""


def add_packet_options(p: argparse.ArgumentParser) -> None:
    """PORT and the packet / scenario options `check` and `fix` share."""
    p.add_argument("port", type=_port, metavar="PORT")
    p.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    p.add_argument("--scenario", choices=sorted(SCENARIO_NAMES), default=None,
                   help="who connects (default: windows-localhost-v4, or custom when --src/--dst/--in-iface is given)")
    p.add_argument("--src", type=_address, metavar="ADDR", help="source address (custom scenario; LAN client)")
    p.add_argument("--dst", type=_address, metavar="ADDR", help="destination address (custom scenario)")
    p.add_argument("--in-iface", metavar="IFACE", type=_iface, help="input interface (custom scenario); none = a local connection")


def scenario_from(args: argparse.Namespace):
    """The Scenario the packet options describe; UsageError when they contradict each other."""
    from wsltui.simulation.simulate import Scenario

    name = args.scenario or ("custom" if (args.src or args.dst or args.in_iface) else "windows-localhost-v4")
    if name == "custom" and args.dst is None and args.in_iface:
        raise UsageError("--scenario custom with --in-iface needs --dst (the address the packet is sent to)")
    if args.src and args.dst and args.src.version != args.dst.version:
        raise UsageError("--src and --dst must both be IPv4 or both IPv6")
    return Scenario(name, args.port, args.proto, args.src, args.dst, args.in_iface)


def load_facts(args: argparse.Namespace):
    """(snapshot, facts) from --from, --demo or the live system (with the live-only checks)."""
    from wsltui.facts import build_facts

    snap = load_source(args)
    facts = build_facts(snap)
    if not getattr(args, "source", None) and getattr(args, "demo", None) is None:
        _live_checks(facts)
    return snap, facts


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (seconds == 0 or 1 <= seconds <= 86400):
        raise argparse.ArgumentTypeError(f"{text} is not 0 (never) or 1 to 86400 seconds")
    return seconds


def _address(text: str):
    import ipaddress

    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 or IPv6 address") from None


def _iface(text: str) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.:@+-]{1,15}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an interface name")
    return text


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
            return _check(args)
        if args.cmd in ("fix", "undo"):
            from wsltui import cli_actions

            return cli_actions.run(args)
        if args.cmd == "report":
            return _report(args)
        return _tui(args)
    except (UsageError, SnapshotError) as e:  # a DemoError is a SnapshotError too
        print(f"wsltui: {e}", file=sys.stderr)
        return ExitCode.USAGE
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


def _live_checks(facts) -> None:
    """On the live system only: name the processes ss could not, and cross-check the interfaces
    with netifaces (a disagreement means a parser misread, or the machine changed meanwhile)."""
    from wsltui.probes.netifaces_check import live_cross_check
    from wsltui.probes.process_names import fill_process_names

    if facts.sockets is not None:
        facts.sockets = fill_process_names(facts.sockets)
    if facts.network is not None:
        facts.network.problems += [f"netifaces (live) disagrees: {d}" for d in live_cross_check(facts.network)]


def _facts(args: argparse.Namespace) -> int:
    _, facts = load_facts(args)
    if args.json:
        from wsltui import json_text
        from wsltui.facts import jsonable_one_level

        # converted and written as it goes: a big ruleset's facts never exist twice in memory
        json_text.dump(facts, sys.stdout, convert=jsonable_one_level)
        sys.stdout.write("\n")
    else:
        from wsltui.views.facts_text import print_facts

        print_facts(facts)
    return ExitCode.OK


def _check(args: argparse.Namespace) -> int:
    from wsltui.simulation.simulate import World, simulate

    scenario = scenario_from(args)
    _, facts = load_facts(args)
    trace = simulate(World.from_facts(facts), scenario)
    if args.json:
        json.dump(trace.to_json(), sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        from wsltui.views.trace_text import print_trace

        print_trace(trace)
    if trace.reachable is True:
        return ExitCode.OK
    return ExitCode.BLOCKED if trace.reachable is False else ExitCode.UNKNOWN


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
        print(f"wsltui: {e}", file=sys.stderr)
        return ExitCode.USAGE
    from wsltui.tui.app import make_app

    app = make_app(sources, demo=demo, label=label, refresh=args.refresh, read_only=args.read_only)
    app.run()
    return app.return_code or ExitCode.OK


def _report(args: argparse.Namespace) -> int:
    from wsltui.demos import DemoError

    fmt = args.format or {".md": "md", ".json": "json", ".svg": "svg"}.get(
        os.path.splitext(args.output or "")[1].lower(), "text")
    if fmt != "svg":
        return _report_document(args, fmt)
    if args.redact or args.scenario:
        print(f"wsltui: --format svg is a screenshot of the status screen: no --{'redact' if args.redact else 'scenario'} "
              "(use --format md or json)", file=sys.stderr)
        return ExitCode.USAGE
    if not args.output:
        print("wsltui: --format svg needs -o FILE", file=sys.stderr)
        return ExitCode.USAGE
    try:
        cols, rows = (int(x) for x in args.size.lower().split("x"))
    except ValueError:
        print(f"wsltui: --size {args.size!r}: expected COLSxROWS, e.g. 100x30", file=sys.stderr)
        return ExitCode.USAGE
    try:
        sources, demo, label = _tui_sources(args)
    except DemoError as e:
        print(f"wsltui: {e}", file=sys.stderr)
        return ExitCode.USAGE
    from wsltui.tui.report import render_status

    error = render_status(sources, args.output, size=(cols, rows), ports=tuple(args.port or ()), demo=demo, label=label)
    if error:
        print(f"wsltui: {error}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"wsltui: status screen -> {args.output}", file=sys.stderr)
    return ExitCode.OK


def _report_document(args: argparse.Namespace, fmt: str) -> int:
    """text, md or json (wsltui.report); written to -o FILE or stdout."""
    from wsltui import report

    snap, facts = load_facts(args)
    rep = report.build(snap, tuple(args.port or ()), args.scenario, facts=facts)
    color = fmt == "text" and not args.output and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    text = report.render(rep, fmt, redact=args.redact, color=color)
    if not args.output:
        sys.stdout.write(text)
        return ExitCode.OK
    try:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        print(f"wsltui: {args.output}: {e.strerror}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"wsltui: report ({fmt}{', redacted' if args.redact else ''}) -> {args.output}", file=sys.stderr)
    return ExitCode.OK
