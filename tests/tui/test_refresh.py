"""Live mode without a live system: sources marked as probing (``probing``) that count their
calls. Periodic refresh (only the Linux source, never over a dialog, nothing redrawn when
nothing changed, cursor and scroll kept when something did) and the sudo password dialog."""

from __future__ import annotations

from wsltui import demos
from wsltui.probes.runner import NEEDS_ROOT
from wsltui.snapshot import Record, Snapshot
from wsltui.tui.app import make_app, probing
from wsltui.tui.help import HelpScreen
from wsltui.tui.panels.flow import HopBox
from wsltui.tui.sudo import SudoScreen

from tests.probes.test_runner import SUDO_PASSWORD, install_fake_sudo
from tests.tui.helpers import BLOCKED, run, settle


def split(name: str = BLOCKED) -> tuple[Snapshot, Snapshot]:
    """A demo as the live app gets it: the Linux records, and the Windows ones."""
    snap = demos.load(name)
    linux, windows = Snapshot(meta=snap.meta), Snapshot()
    for record in snap.records.values():
        (windows if record.name.startswith("win.") else linux).add(record)
    return linux, windows


class Source:
    """A live source: returns ``snapshots[i]`` on its i-th call (the last one after that, or
    round and round with ``cycle``)."""

    def __init__(self, *snapshots: Snapshot, cycle: bool = False) -> None:
        self.snapshots = snapshots
        self.cycle = cycle
        self.calls = 0

    def __call__(self) -> Snapshot:
        self.calls += 1
        if self.cycle:
            return self.snapshots[(self.calls - 1) % len(self.snapshots)]
        return self.snapshots[min(self.calls, len(self.snapshots)) - 1]


def changed(snap: Snapshot, record: str, edit) -> Snapshot:
    """``snap`` with one record's output passed through ``edit``."""
    out = Snapshot(meta=snap.meta)
    for r in snap.records.values():
        out.add(
            Record(r.name, r.argv, edit(r.stdout), r.exit_code, r.stderr, r.seconds, r.error) if r.name == record else r
        )
    assert out.records[record].stdout != snap.records[record].stdout
    return out


async def until(pilot, condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the condition never held")


def test_only_the_linux_source_refreshes_and_unchanged_data_redraws_nothing():
    linux, windows = split()
    lin, win = Source(linux), Source(windows)
    app = make_app({"linux": probing(lin, periodic=True), "windows": probing(win, periodic=False)}, refresh=0.2)

    async def body(app, pilot):
        first = app.analysis
        await until(pilot, lambda: lin.calls >= 4)
        await settle(pilot)
        assert win.calls == 1
        assert app.analysis is first  # the same records: no new analysis, nothing redrawn
        assert all(state.startswith("ok") for state in app.states.values())  # never "loading" again
        assert "every 0.2s" in str(app.query_one("#topbar").content)

    run(app, body)


def test_refresh_waits_while_a_dialog_is_open_and_data_still_lands_behind_it():
    linux, _ = split()
    lin = Source(linux, changed(linux, "net.sockets", lambda text: text.replace('"node"', '"server"')), cycle=True)
    app = make_app({"linux": probing(lin, periodic=True)}, refresh=0.1)

    async def body(app, pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await until(pilot, lambda: not app.refreshing)  # a run started before the dialog may finish
        calls = lin.calls
        await pilot.pause(0.6)
        assert lin.calls == calls
        # A run that finishes while the dialog is open (one started just before it, or `r`)
        # updates the panels behind the dialog.
        before = app.analysis
        app.start_sources(["linux"], background=True)
        await until(pilot, lambda: not app.refreshing and app.analysis is not before)
        await until(pilot, lambda: app.panel("status").analysis is app.analysis)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await until(pilot, lambda: lin.calls > calls + 1)

    run(app, body)


def test_no_periodic_refresh_for_demos_or_with_zero():
    linux, _ = split()
    for source, make in (
        (Source(linux), lambda src: make_app({"linux": probing(src, periodic=True)}, refresh=0)),
        (Source(demos.load(BLOCKED)), lambda src: make_app(src, refresh=0.1)),
    ):

        async def body(app, pilot):
            await pilot.pause(0.6)
            assert source.calls == 1

        run(make(source), body)


def test_a_changed_refresh_keeps_the_tree_cursor_the_flow_focus_and_the_status_scroll():
    linux, windows = split()
    # Every other run reads different nf.* output (a comment line): the netfilter tree is rebuilt.
    # Then the program on 3000 (the Flow port) is renamed: the trace of the same question changes.
    commented = changed(linux, "nf.iptables-nft", lambda text: text + "# refreshed\n")
    renamed = changed(commented, "net.sockets", lambda text: text.replace('"node"', '"server"'))
    lin = Source(linux, commented, linux, commented, renamed)
    app = make_app({"linux": probing(lin, periodic=False), "windows": probing(Source(windows), periodic=False)})

    async def refresh(pilot) -> None:
        before, calls = app.analysis, lin.calls
        app.start_sources(["linux"], background=True)  # what the periodic timer does
        await settle(pilot)
        await pilot.pause()
        assert lin.calls == calls + 1 and app.analysis is not before

    async def body(app, pilot):
        status = app.query_one("#status-scroll")
        status.scroll_end(animate=False)
        await pilot.pause()
        status_y = status.scroll_y
        assert status_y > 0
        await refresh(pilot)
        assert status.scroll_y == status_y

        await pilot.press("5")
        await settle(pilot)
        tree = app.query_one("#netfilter-tree")
        for _ in range(30):
            await pilot.press("j")
        tree.scroll_to(y=tree.scroll_y + 3, animate=False)  # as a mouse wheel would: the cursor stays
        await pilot.pause()
        line, scroll = tree.cursor_line, tree.scroll_y
        assert line == 30 and scroll > 3
        await refresh(pilot)
        assert (app.focused, tree.cursor_line, tree.scroll_y) == (tree, line, scroll)

        await pilot.press("2")
        await settle(pilot)
        boxes = list(app.query(HopBox))
        boxes[-1].focus()
        await pilot.pause()
        await refresh(pilot)
        assert app.focused is boxes[-1]  # the same trace: the hops were not even redrawn
        hop = boxes[-1].hop
        await refresh(pilot)  # the listener's program has another name: the hops are redrawn in place
        redrawn = list(app.query(HopBox))
        assert redrawn[-1] is boxes[-1] and redrawn[-1].hop is not hop  # the same box shows the new hop
        assert "server" in str(redrawn[-1].hop) + str(app.panel("flow").trace)
        assert app.focused is redrawn[-1]  # the same question: the focus stays on the same hop

    run(app, body, size=(80, 24))


# --- sudo -------------------------------------------------------------------------------------


def needing_root(snap: Snapshot, record: str) -> Snapshot:
    """``snap`` as a non-root user without a sudo timestamp captures it: ``record`` needs root."""
    out = Snapshot(meta=snap.meta)
    for r in snap.records.values():
        out.add(
            Record(r.name, r.argv, "", None, "sudo: a password is required", error=NEEDS_ROOT)
            if r.name == record
            else r
        )
    return out


def test_sudo_dialog_refreshes_the_timestamp_and_probes_again(tmp_path, monkeypatch):
    install_fake_sudo(tmp_path, monkeypatch)
    linux, _ = split()
    lin = Source(needing_root(linux, "nf.iptables-nft"), linux)
    app = make_app({"linux": probing(lin, periodic=False)})

    async def body(app, pilot):
        assert app.needs_root == {"linux": ["nf.iptables-nft"]}
        assert any("Press R" in n.message and "nf.iptables-nft" in n.message for n in app._notifications)
        assert app.check_action("sudo", ()) is True
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, SudoScreen)
        box = app.screen.query_one("#sudo-password")
        assert box.password  # shown as dots
        await pilot.press(*"Tr0ub4dor&3", "enter")
        await until(pilot, lambda: "incorrect password" in str(app.screen.query_one("#sudo-status").content))
        assert isinstance(app.screen, SudoScreen) and box.value == "" and lin.calls == 1
        await pilot.press(*SUDO_PASSWORD, "enter")
        await until(pilot, lambda: not isinstance(app.screen, SudoScreen))
        await settle(pilot)
        assert lin.calls == 2 and app.needs_root == {}
        assert app.check_action("sudo", ()) is False  # nothing needs root any more: the key is hidden
        messages = " ".join(n.message for n in app._notifications)
        assert "sudo accepted the password" in messages
        assert SUDO_PASSWORD not in messages and "Tr0ub4dor" not in messages

    run(app, body)


def test_periodic_refresh_pauses_while_probes_need_root():
    """Every run would log sudo's "a password is required" again: wait for the password (or r)."""
    linux, _ = split()
    lin = Source(needing_root(linux, "nf.nft"))

    async def body(app, pilot):
        await pilot.pause(0.6)
        assert lin.calls == 1
        assert "auto-refresh paused: probes need root (R)" in str(app.query_one("#topbar").content)
        await pilot.press("r")
        await until(pilot, lambda: lin.calls == 2)

    run(make_app({"linux": probing(lin, periodic=True)}, refresh=0.1), body)


def test_sudo_dialog_escape_cancels_and_probes_nothing(tmp_path, monkeypatch):
    install_fake_sudo(tmp_path, monkeypatch)
    linux, _ = split()
    lin = Source(needing_root(linux, "nf.nft"))

    async def body(app, pilot):
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SudoScreen) and lin.calls == 1
        assert app.check_action("sudo", ()) is True  # still offered

    run(make_app({"linux": probing(lin, periodic=False)}), body)


def test_no_sudo_offer_for_snapshots_that_are_not_live():
    linux, _ = split()
    snap = needing_root(linux, "nf.nft")

    async def body(app, pilot):
        assert app.needs_root == {} and app.check_action("sudo", ()) is False

    run(make_app(lambda: snap), body)
