"""``run_live``: one live test, bounded in time, everything temporary removed afterwards.

What a test leaves while it runs — the trace table, the ``nft monitor`` and the temporary
listener — is written down first in a private file of the state directory
(``live/run-<pid>.json``), and removed in a ``finally``. A test killed outright (SIGKILL) cannot
run its ``finally``: ``sweep_leftovers`` (called when ``check --live`` and the app start) ends
the processes that file names (only when the PID is still the same process) and deletes every
``wsltui_live_<pid>_*`` table whose wsltui process is gone.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from wsltui import safe_files
from wsltui.facts.live import NOT_SENT, ClientOutcome, LinuxWatch, Observation, to_record
from wsltui.live import client as clients
from wsltui.live import watch as watching
from wsltui.live.plan import WINDOWS, LivePlan, plan
from wsltui.probes.runner import Background, Job, is_root, start, still_running
from wsltui.snapshot import Record

# The time budget of one test, stated: the client's connect gives up after CONNECT_TIMEOUT, then
# waits up to SETTLE for data or a close; setting up and tearing down the watch and the listener
# fit in the rest: the client process is killed when the test reaches TOTAL_BUDGET minus the time
# kept for cleaning up. A whole test takes at most TOTAL_BUDGET (measured: 4-5 s for a drop, under
# 2 s otherwise); only a tool that hangs while the watch or listener is set up or removed adds its
# own timeout (2 s each) to that.
CONNECT_TIMEOUT = 3.0
SETTLE = 1.0
TOTAL_BUDGET = 8.0
_TRACE_SETTLE = 0.3  # the monitor prints the last packets' trace a little after the client returns
_CLOSING = 1.0  # kept for the end: the trace's last lines, stopping the monitor and listener, the table
LISTENER = "temporary"


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
    ``trace`` the model's trace of the same scenario (it tells whether something listens). Never
    raises for a failed test (its ``client.outcome`` is ``error`` / ``not-sent`` with why),
    except KeyboardInterrupt after cleaning up. Blocks for at most TOTAL_BUDGET seconds: call it
    from a worker thread in the app."""
    began, started = time.monotonic(), datetime.now(timezone.utc).isoformat(timespec="seconds")
    p = plan(world, scenario, options.client_netns, trace)
    base = Observation(
        scenario.name,
        scenario.proto,
        scenario.port,
        started,
        ClientOutcome(p.sent_from, NOT_SENT, detail=p.cannot or ""),
        LinuxWatch("none"),
        src=str(scenario.src) if scenario.src else None,
        dst=str(scenario.dst) if scenario.dst else None,
        in_iface=scenario.in_iface,
        skipped=p.untested,
    )
    if p.cannot:
        obs = replace(base, linux=LinuxWatch("none", skipped=p.cannot))
        return LiveResult(obs, to_record(obs, (), round(time.monotonic() - began, 3)))
    skipped = list(p.untested)
    leftovers = _Leftovers()
    watch = listener = None
    lines: list[str] = []
    try:
        listener, listener_state, why = _listener(p, trace, options, leftovers)
        if why:
            skipped.append(why)
        watch, linux_skip = _open_watch(p, options, leftovers)
        client, record = _send(p, TOTAL_BUDGET - _CLOSING - (time.monotonic() - began))
        if watch is not None:
            time.sleep(_TRACE_SETTLE)
    finally:
        if watch is not None:
            lines = watch.close()
        if listener is not None:
            listener.stop()
        for bg in still_running():  # started, but a ctrl+c came before it was handed over
            if bg.job.name.startswith("live."):
                bg.stop()
        leftovers.done()
    if watch is not None:
        linux = watch.read(lines, world)
    else:
        linux = LinuxWatch("none", skipped=linux_skip)
    obs = replace(base, client=client, linux=linux, listener=listener_state, skipped=tuple(skipped))
    return LiveResult(obs, to_record(obs, record.argv, round(time.monotonic() - began, 3)))


def _send(p: LivePlan, limit: float) -> tuple[ClientOutcome, Record]:
    if p.target is None:  # plan() gives every plan without a target a reason in ``cannot``: run stops there
        raise ValueError("a live plan without a target cannot be sent")
    if p.sent_from == WINDOWS:
        return clients.from_windows(p.target, p.port, p.proto, CONNECT_TIMEOUT, SETTLE, limit)
    return clients.from_linux(p.target, p.port, p.proto, CONNECT_TIMEOUT, SETTLE, p.netns, limit)


def _listener(p: LivePlan, trace, options: LiveOptions, leftovers: _Leftovers):
    """(the running listener or None, Observation.listener, what was skipped and why or None).
    ``existing`` claims nothing: the test met whatever serves the port (on Windows, for a Windows
    service); ``none`` is said only when the model's socket facts say nothing listens."""
    socket_hop = next((h for h in reversed(trace.hops) if h.layer == "socket"), None)
    verdict = socket_hop.verdict if socket_hop is not None else None
    if p.bind is None or verdict == "allow":
        return None, "existing", None
    known = verdict == "no-listener"
    absent = "none" if known else "existing"
    what = (
        f"nothing listens on {p.proto}/{p.port}"
        if known
        else f"whether something listens on {p.proto}/{p.port} is not known (the socket hop says why)"
    )
    if options.read_only:
        return None, absent, f"{what}: --read-only starts no temporary listener"
    if options.listen is not True:
        return (
            None,
            absent,
            (
                f"{what}: no temporary listener was started (pass --listen to test the path before "
                "the service exists; it starts only on a free port)"
                if options.listen is None
                else f"{what}: --no-listen"
            ),
        )
    job = Job(
        "live.listener",
        (
            _python(),
            "-m",
            "wsltui.live.listener",
            "--address",
            p.bind,
            "--port",
            str(p.port),
            "--proto",
            p.proto,
            "--seconds",
            f"{TOTAL_BUDGET:g}",
        ),
        timeout=TOTAL_BUDGET + 1,
    )
    bg = start(job)
    if not isinstance(bg, Background):
        return None, absent, f"{what}: the temporary listener could not start: {bg.error}"
    leftovers.add_process(bg.pid, "listener")
    try:
        answer = bg.wait_for(lambda line: True, 2.0)
    except BaseException:  # ctrl+c while it starts
        bg.stop()
        raise
    if answer == "ready":
        return bg, LISTENER, None
    bg.stop()
    if answer == "busy":  # something holds the port after all: never share it
        return None, "existing", f"{p.proto}/{p.port} is held by another socket: no temporary listener"
    return None, absent, f"{what}: the temporary listener could not bind {p.bind}: {answer or 'no answer'}"


def _open_watch(p: LivePlan, options: LiveOptions, leftovers: _Leftovers):
    """(the watch — an nft trace, else a packet capture — or None, and why Linux is not watched)."""
    if p.flow is None:
        return None, "Linux is not on this path (or its packet is not known): nothing to watch"
    if options.read_only:
        why_not_nft = "--read-only: no nft trace table was made"
    else:
        w = watching.NftWatch(p.flow)
        leftovers.add_table(w.name)
        if w.open(TOTAL_BUDGET, leftovers.add_process):
            return w, None
        why_not_nft = w.skipped or "the nft trace could not be made (it gave no reason)"
    capture = watching.CaptureWatch(p.flow, why_not_nft)
    if capture.open(TOTAL_BUDGET, leftovers.add_process):
        return capture, None
    return None, capture.skipped


def _python() -> str:
    import sys

    return sys.executable


# --- leftovers -------------------------------------------------------------------------------


def live_dir() -> Path:
    from wsltui.safe_files import state_dir

    return state_dir() / "live"


class _Leftovers:
    """The file that names what this test leaves while it runs (for the sweep after a SIGKILL)."""

    def __init__(self) -> None:
        self.items: dict = {"pid": os.getpid(), "tables": [], "processes": []}
        self.path: Path | None = None

    def add_table(self, name: str) -> None:
        self.items["tables"].append(name)
        self._write()

    def add_process(self, pid: int, what: str) -> None:
        self.items["processes"].append({"pid": pid, "start": _start_time(pid), "what": what})
        self._write()

    def _write(self) -> None:
        try:
            d = safe_files.private_dir(live_dir())
            self.path = d / f"run-{os.getpid()}.json"
            safe_files.replace(self.path, json.dumps(self.items))
        except OSError:
            pass  # no state dir: the sweep then finds tables by name only

    def done(self) -> None:
        if self.path is not None:
            try:
                self.path.unlink()
            except OSError:
                pass


def _start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat): a PID reused later has another."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def sweep_leftovers() -> list[str]:
    """Remove what a killed live test left (``wsltui_live_*`` nft tables of a wsltui that is
    gone, the processes its run file names); returns one line per thing removed."""
    import signal

    done: list[str] = []
    try:
        files = sorted(live_dir().glob("run-*.json"))
    except OSError:
        files = []
    for f in files:
        try:
            items = json.loads(f.read_text())
            owner = int(items["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if owner != os.getpid() and _alive(owner):
            continue  # another live test is running now
        for proc in items.get("processes", []):
            pid = proc.get("pid")
            if isinstance(pid, int) and proc.get("start") and _start_time(pid) == proc.get("start"):
                try:
                    os.killpg(pid, signal.SIGKILL)
                    done.append(f"stopped the {proc.get('what', 'process')} a killed live test left (pid {pid})")
                except (ProcessLookupError, PermissionError):
                    pass
        try:
            f.unlink()
        except OSError:
            pass
    if is_root():
        for name in watching.leftover_tables():
            m = re.fullmatch(watching.TABLE_PREFIX + r"(\d+)_[0-9a-f]+", name)
            if m and (int(m[1]) == os.getpid() or not _alive(int(m[1]))) and watching.delete_table(name):
                done.append(f"deleted the nft table inet {name} a killed live test left")
    return done
