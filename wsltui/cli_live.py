"""``wsltui check PORT … --live``: the model's trace, then the real connection, side by side.

The live test runs on this machine only (not with --from or --demo). Its ``live.*`` record is kept
in the private state directory (the newest per flow; every later capture includes it, so
``wsltui snapshot``, ``report`` and ``--from`` replays show it) and, with ``--save FILE``, written
with a fresh snapshot. Exit codes are those of ``check`` (from the model's trace).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

from wsltui.cli_common import UsageError, exit_code, scenario_from
from wsltui.exit_codes import ExitCode
from wsltui.views.safe_text import json_text, shown


def check(args: argparse.Namespace) -> int:
    from wsltui.cli import load_facts
    from wsltui.facts.live import observation_json
    from wsltui.live import LiveOptions, run_live, sweep_leftovers
    from wsltui.probes import live_records
    from wsltui.simulation.reconcile import reconcile
    from wsltui.simulation.simulate import World, simulate

    if getattr(args, "source", None) or getattr(args, "demo", None) is not None:
        raise UsageError("--live sends a real connection on this machine: it cannot run with --from or --demo")
    scenario = scenario_from(args)
    if not args.read_only:  # the sweep deletes things: not under --read-only
        for line in sweep_leftovers():
            _say(line)
    snap, facts = load_facts(args)
    world = World.from_facts(facts)
    trace = simulate(world, scenario)
    options = LiveOptions(client_netns=args.client_netns, listen=args.listen, read_only=args.read_only)
    with _sigterm_interrupts():
        result = run_live(world, scenario, trace, options)
    obs = result.observation
    if args.json:  # the text says it under the trace
        for why in obs.skipped:
            _say(f"live test: skipped {why}")
    try:
        live_records.save(result.record)
    except OSError as e:
        _say(f"the live test could not be kept in the state directory: {e.strerror or e}")
    if args.save:
        snap.add(result.record)
        try:
            snap.save_file(args.save)
        except OSError as e:
            _say(f"{args.save}: {e.strerror}")
            return ExitCode.USAGE
        _say(f"snapshot with the live test -> {args.save}")
    rec = reconcile(trace, obs)
    if args.json:
        doc = trace.to_json()
        doc["observed"] = rec.to_json()
        doc["live"] = json.loads(observation_json(obs))  # the raw observation, as the record keeps it
        sys.stdout.write(json_text(doc) + "\n")
    else:
        from wsltui.views.console import make_console
        from wsltui.views.live_text import live_lines, print_lines
        from wsltui.views.trace_text import print_trace

        print_trace(trace)
        console = make_console()
        console.print()
        print_lines(live_lines(rec), console)
    return exit_code(trace)


class _sigterm_interrupts:
    """SIGTERM during the test is handled like ctrl+c, so its ``finally`` cleans up."""

    def __enter__(self):
        self._old = None
        try:
            self._old = signal.signal(signal.SIGTERM, _interrupt)
        except ValueError:  # not the main thread
            pass
        return self

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _say(message: str) -> None:
    print(f"wsltui: {shown(message, multiline=True)}", file=sys.stderr)
