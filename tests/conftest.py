"""Test-wide guards.

- Tests marked ``realtools`` need root, network namespaces and the real firewall tools. Where
  they cannot run they skip with the reason, except in CI (``CI=true``), where any skip fails
  the run: a green CI must never hide a real-component test.
- The host's own firewall (root namespace) and /etc/firewalld, /etc/ufw must be exactly as they
  were when the session started.
- Under pytest-xdist (``scripts/test`` runs ``-n auto --dist loadgroup``) the root-free tests share
  the workers, and the tests marked ``realtools`` or ``serial`` run one at a time in one xdist group:
  the namespaces, firewalld and ufw instances and the xtables lock they use stay out of each other's
  way, and one worker runs them while the others take the rest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from wsltui import demos, snapshot

TESTS = Path(__file__).resolve().parent
# The shared helpers (tests/support/) are imported by bare name (``from realtools import NetnsPair``),
# and one test module borrows from another by its dotted name (``from tests.simulation.test_x import``).
sys.path[:0] = [str(TESTS / "support"), str(TESTS.parent)]

import realtools  # noqa: E402

if os.environ.get("PYTEST_XDIST_WORKER"):
    # xdist's workers get COLUMNS=80 LINES=24; a wsltui started from a test (in tmux, say) would take
    # them for its terminal's size. A worker's tests see the environment a plain run sees.
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_skipped: list[str] = []
_cannot_run: str | None | bool = False  # False = not checked yet


def _realtools_reason() -> str | None:
    global _cannot_run
    if _cannot_run is False:
        _cannot_run = realtools.can_run()
    return _cannot_run  # type: ignore[return-value]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("realtools"):
        reason = _realtools_reason()
        if reason:
            if IN_CI:
                pytest.fail(f"real-component test cannot run in CI: {reason}")
            pytest.skip(f"real components unavailable: {reason}")


@pytest.hookimpl(tryfirst=True)  # before xdist names the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("realtools") or item.get_closest_marker("serial"):
            item.add_marker(pytest.mark.xdist_group("serial"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workeroutput"):  # an xdist worker: its tallies go to the controller
        session.config.workeroutput["tallies"] = _tallies()
    if IN_CI and _skipped and session.exitstatus == 0:
        print(f"\nCI: {len(_skipped)} test(s) skipped; in CI a skip is a failure:", *_skipped, sep="\n  ")
        session.exitstatus = 1


@pytest.fixture(scope="session", autouse=True)
def host_firewall_untouched():
    if os.geteuid() != 0:
        yield
        return
    before = realtools.host_fingerprint()
    yield
    after = realtools.host_fingerprint()
    assert after == before, "a test changed the host's own firewall or /etc/firewalld, /etc/ufw"


@pytest.fixture(scope="session", autouse=True)
def private_state_dir(tmp_path_factory):
    """wsltui's state directory (journal, backups, stored live tests) is the session's own: a
    capture reads stored live tests from it, and none of the user's may leak into a test (nor a
    test's into the user's). A test that needs its own sets XDG_STATE_HOME again."""
    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if saved is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = saved


@pytest.fixture(scope="session")
def snapshot_dir(tmp_path_factory):
    """The one snapshot builder: ``snapshot_dir(base, *records, meta={...})`` writes a new snapshot
    directory and returns its path. ``base`` is a bundled demo's name, a snapshot directory or file
    (a Path), or a Snapshot; each record replaces the base's record of its name; ``meta`` is merged
    into the base's (``taken``, ``host`` ...). Session-wide, so module fixtures can build with it."""

    def build(base: str | Path | snapshot.Snapshot, *records: snapshot.Record, meta: dict | None = None) -> Path:
        if isinstance(base, snapshot.Snapshot):
            snap = snapshot.Snapshot(dict(base.records), dict(base.meta))
        else:
            snap = snapshot.load(base) if isinstance(base, Path) else demos.load(base)
        for record in records:
            snap.add(record)
        snap.meta = {**snap.meta, **(meta or {})}
        path = tmp_path_factory.mktemp("snapshot")
        snap.save_dir(path)
        return path

    return build


GOLDEN = TESTS / "golden"


@pytest.fixture
def golden() -> Path:
    return GOLDEN


# Figures the real-component tests count, summed over the xdist workers (or this process alone).
_worker_tallies: list[dict[str, dict[str, int]]] = []


def _tallies() -> dict[str, dict[str, int]]:
    found = {
        "kernel": getattr(sys.modules.get("kernel"), "TALLY", None),
        "actions": getattr(sys.modules.get("test_actions_rules_realtools"), "TALLY", None),
    }
    return {name: dict(tally) for name, tally in found.items() if tally}


def pytest_testnodedown(node, error) -> None:
    _worker_tallies.append(getattr(node, "workeroutput", {}).get("tallies", {}))


def _summed(name: str) -> dict[str, int]:
    total: dict[str, int] = {}
    for tallies in [_tallies(), *_worker_tallies]:
        for key, count in tallies.get(name, {}).items():
            total[key] = total.get(key, 0) + count
    return total


def pytest_terminal_summary(terminalreporter) -> None:
    tally = _summed("kernel")
    if tally.get("packets"):
        decided = tally["packets"] - tally["unknown"]
        terminalreporter.write_line(
            f"kernel agreement: {tally['agree']}/{decided} packets agree with the kernel ({tally['rulesets']} rulesets; "
            f"{tally['unknown']} more predicted 'unknown', each checked by its own test)"
        )
    actions = _summed("actions")
    if actions.get("sequences"):
        terminalreporter.write_line(
            f"rule actions: {actions['sequences']} seeded sequences of {actions['steps']} actions on the real tools, "
            f"{actions['undo']} undos, {actions['crash']} failures injected mid-apply, "
            f"{actions['packets']} added allows confirmed by a real packet; every sequence undone to the identical start "
            f"(and {actions['covered']} rule kinds the sequences missed, disabled and undone after them)"
        )
