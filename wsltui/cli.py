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

    c = sub.add_parser("check", help="trace a connection to PORT through every layer and name what blocks it",
                       description="Exit codes: 0 reachable, 1 blocked, 3 unknown, 2 usage error.")
    c.add_argument("port", type=_port, metavar="PORT")
    c.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    c.add_argument("--scenario", choices=sorted(SCENARIO_NAMES), default=None,
                   help="who connects (default: windows-localhost-v4, or custom when --src/--dst/--in-iface is given)")
    c.add_argument("--src", type=_address, metavar="ADDR", help="source address (custom scenario; LAN client)")
    c.add_argument("--dst", type=_address, metavar="ADDR", help="destination address (custom scenario)")
    c.add_argument("--in-iface", metavar="IFACE", type=_iface, help="input interface (custom scenario); none = a local connection")
    c.add_argument("--json", action="store_true", help="print the trace as JSON")
    _add_source(c)
    return p


SCENARIO_NAMES = ("windows-localhost-v4", "windows-localhost-v6", "windows-to-wsl-ip", "lan-to-host", "wsl-to-windows", "custom")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


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
        if args.cmd == "snapshot":
            return _snapshot(args)
        if args.cmd == "facts":
            return _facts(args)
        if args.cmd == "check":
            return _check(args)
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


def _check(args: argparse.Namespace) -> int:
    from wsltui.demos import DemoError
    from wsltui.facts import build_facts
    from wsltui.simulation.simulate import Scenario, World, simulate
    from wsltui.snapshot import SnapshotError

    scenario = args.scenario or ("custom" if (args.src or args.dst or args.in_iface) else "windows-localhost-v4")
    if scenario == "custom" and args.dst is None and args.in_iface:
        print("wsltui: --scenario custom with --in-iface needs --dst (the address the packet is sent to)", file=sys.stderr)
        return ExitCode.USAGE
    if args.src and args.dst and args.src.version != args.dst.version:
        print("wsltui: --src and --dst must both be IPv4 or both IPv6", file=sys.stderr)
        return ExitCode.USAGE
    try:
        snap = load_source(args)
    except (SnapshotError, DemoError) as e:
        print(f"wsltui: {e}", file=sys.stderr)
        return ExitCode.USAGE
    world = World.from_facts(build_facts(snap))
    trace = simulate(world, Scenario(scenario, args.port, args.proto, args.src, args.dst, args.in_iface))
    if args.json:
        json.dump(trace.to_json(), sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        from wsltui.views.trace_text import print_trace

        print_trace(trace)
    if trace.reachable is True:
        return ExitCode.OK
    return ExitCode.BLOCKED if trace.reachable is False else ExitCode.UNKNOWN
