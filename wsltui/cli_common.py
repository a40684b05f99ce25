"""What the command line's modules share: the packet and source options, the scenario they
describe, and the snapshot a command reads. ``cli`` and ``cli_actions`` both import it (and it
neither of them), so imports flow one way."""

from __future__ import annotations

import argparse
import sys


SCENARIO_NAMES = (
    "windows-localhost-v4",
    "windows-localhost-v6",
    "windows-to-wsl-ip",
    "lan-to-host",
    "wsl-to-windows",
    "windows-to-host-ip",
    "lan-to-wsl-ip",
    "custom",
)


class UsageError(Exception):
    """Arguments that parse but do not make sense together (main prints it, exit code 2)."""


def add_packet_options(p: argparse.ArgumentParser) -> None:
    """PORT and the packet / scenario options `check` and `fix` share."""
    p.add_argument("port", type=port_arg, metavar="PORT")
    p.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    p.add_argument(
        "--scenario",
        choices=sorted(SCENARIO_NAMES),
        default=None,
        help="who connects (default: windows-localhost-v4, or custom when --src/--dst/--in-iface is given)",
    )
    p.add_argument("--src", type=_address, metavar="ADDR", help="source address (custom scenario; LAN client)")
    p.add_argument(
        "--dst",
        type=_address,
        metavar="ADDR",
        help="destination address (custom; the address the client connects to in the other scenarios)",
    )
    p.add_argument(
        "--in-iface", metavar="IFACE", type=_iface, help="input interface (custom scenario); none = a local connection"
    )


def scenario_from(args: argparse.Namespace):
    """The Scenario the packet options describe; UsageError when they contradict each other."""
    from wsltui.simulation.simulate import Scenario

    name = args.scenario or ("custom" if (args.src or args.dst or args.in_iface) else "windows-localhost-v4")
    if name == "custom" and args.dst is None and args.in_iface:
        raise UsageError("--scenario custom with --in-iface needs --dst (the address the packet is sent to)")
    if name != "custom" and args.in_iface:
        raise UsageError(f"--in-iface is for --scenario custom; {name} knows its own interfaces")
    if args.src and args.dst and args.src.version != args.dst.version:
        raise UsageError("--src and --dst must both be IPv4 or both IPv6")
    return Scenario(name, args.port, args.proto, args.src, args.dst, args.in_iface)


def exit_code(trace) -> int:
    """``check``'s exit code: the model's answer (0 reachable, 1 blocked, 3 unknown)."""
    from wsltui.exit_codes import ExitCode

    if trace.reachable is True:
        return ExitCode.OK
    return ExitCode.BLOCKED if trace.reachable is False else ExitCode.UNKNOWN


def port_arg(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def seconds_arg(text: str) -> float:
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


def add_source(p: argparse.ArgumentParser, top_level: bool = False) -> None:
    # Subcommands suppress their defaults so `wsltui --demo facts` keeps the top-level value.
    default = None if top_level else argparse.SUPPRESS
    p.add_argument(
        "--from",
        dest="source",
        metavar="PATH",
        default=default,
        help="read a snapshot file or directory instead of probing",
    )
    p.add_argument(
        "--demo",
        nargs="?",
        const="",
        metavar="NAME",
        default=default,
        help="use a bundled demo snapshot (list them with --demo list)",
    )


def load_source(args: argparse.Namespace):
    """The snapshot a command reads: --from PATH, --demo [NAME], or the live system."""
    from wsltui import demos, snapshot
    from wsltui.probes.capture import capture

    if getattr(args, "source", None):
        snap = snapshot.load(args.source)
        for note in snap.notes:  # file names arrive repr()-quoted: no control character reaches the terminal
            print(f"wsltui: {args.source}: {note}", file=sys.stderr)
        return snap
    if getattr(args, "demo", None) is not None:  # "--demo" alone gives "", the default demo
        return demos.load(args.demo)
    return capture()


def add_live_options(p: argparse.ArgumentParser) -> None:
    """``check --live`` and what goes with it (wsltui.cli_live runs it)."""
    p.add_argument(
        "--live",
        action="store_true",
        help="also send the real connection from where its client is and watch Linux meanwhile (root: an "
        "nft trace of that one flow); at most 8 s; everything temporary is removed afterwards",
    )
    p.add_argument(
        "--client-netns",
        metavar="NAME",
        type=_netns,
        help="--live, custom scenario: connect from this network namespace (/run/netns/NAME)",
    )
    listen = p.add_mutually_exclusive_group()
    listen.add_argument(
        "--listen",
        dest="listen",
        action="store_true",
        default=None,
        help="--live: when nothing listens on the port, start a temporary listener for the test",
    )
    listen.add_argument("--no-listen", dest="listen", action="store_false", help="--live: never start a listener")
    p.add_argument(
        "--save",
        metavar="FILE",
        help="--live: also write a snapshot of this machine with the live test in it (for a ticket)",
    )


def _netns(text: str) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", text) or text in (".", ".."):
        raise argparse.ArgumentTypeError(f"{text!r} is not a network namespace name")
    return text
