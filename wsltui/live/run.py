"""``run_live``: one live test, bounded in time, everything temporary removed afterwards."""

from __future__ import annotations

from dataclasses import dataclass

from wsltui.facts.live import Observation
from wsltui.snapshot import Record

# The time budget of one test, stated: the client's connect gives up after CONNECT_TIMEOUT, then
# waits up to SETTLE for data or a close; setting up and tearing down the watch and the listener
# fit in the rest. A whole test never takes longer than TOTAL_BUDGET.
CONNECT_TIMEOUT = 3.0
SETTLE = 1.0
TOTAL_BUDGET = 8.0


@dataclass(frozen=True)
class LiveOptions:
    """What the person asked for.

    ``client_netns``: send from this network namespace (custom scenario; ``--client-netns``).
    ``listen``: True = start a temporary listener when nothing listens on the port; False = never;
    None = not decided (a non-interactive run: the test goes on without one and says it skipped it).
    ``read_only``: change nothing (no trace table, no listener; a capture-only watch is allowed)."""

    client_netns: str | None = None
    listen: bool | None = None
    read_only: bool = False


@dataclass(frozen=True)
class LiveResult:
    observation: Observation
    record: Record  # the ``live.*`` snapshot record of ``observation`` (facts.live.to_record)


def run_live(world, scenario, trace, options: LiveOptions = LiveOptions()) -> LiveResult:
    """Send ``scenario``'s real connection from where its client is, watch Linux meanwhile, and
    return what was observed. ``world`` is the simulation's World (facts of this machine),
    ``trace`` the model's trace of the same scenario (what to watch for). Never raises for a
    failed test (its ``client.outcome`` is ``error`` / ``not-sent`` with why), except
    KeyboardInterrupt after cleaning up. Blocks for at most TOTAL_BUDGET seconds: call it from a
    worker thread in the app."""
    raise NotImplementedError


def sweep_leftovers() -> list[str]:
    """Remove what a killed live test left (``wsltui_live_*`` nft tables, a temporary listener
    recorded in the private state dir); returns one line per thing removed."""
    return []
