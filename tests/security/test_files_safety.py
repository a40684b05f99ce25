"""Every file wsltui writes: never through a link planted at its name, never over someone else's
file, private (0600/0700) unless it is redacted. wsltui runs as root, often in a directory others
can write to: a link there must not let them overwrite any file."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.tui.helpers import demo_app, run, settle
from wsltui import safe_files
from wsltui.actions import ActionError, Journal, apply, undo
from wsltui.actions.plan import Plan, PlannedFix, restore_of
from wsltui.actions.scopes import Edit
from wsltui.cli import main
from wsltui.snapshot import Record, Snapshot

VICTIM_TEXT = "root:x:0:0:root:/root:/bin/bash\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def victim(tmp_path) -> Path:
    """The file a planted link points at (as if /etc/passwd): it must never change."""
    p = tmp_path / "victim"
    p.write_text(VICTIM_TEXT)
    return p


def plant(directory: Path, names: list[str], victim: Path) -> list[Path]:
    links = []
    for name in names:
        link = directory / name
        link.symlink_to(victim)
        links.append(link)
    return links


def stamps(seconds: int = 90) -> list[str]:
    """The time stamps wsltui may put in a name during the next ``seconds``."""
    now = datetime.now()
    return [(now + timedelta(seconds=s)).strftime("%Y%m%d-%H%M%S") for s in range(-1, seconds)]


# --- the helper ---------------------------------------------------------------------------------


def test_create_unique_skips_a_planted_link_and_writes_0600(tmp_path, victim):
    plant(tmp_path, ["r.md"], victim)
    p = safe_files.create_unique(tmp_path, "r", ".md", "data")
    assert p.name == "r-2.md" and p.read_text() == "data" and mode(p) == 0o600
    assert victim.read_text() == VICTIM_TEXT


def test_create_new_keeps_the_mode_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        assert mode(safe_files.create_new(tmp_path / "a", "x")) == 0o600
        assert mode(safe_files.create_new(tmp_path / "b", "x", safe_files.SHARED)) == 0o644
    finally:
        os.umask(old)


def test_replace_refuses_a_link_and_replaces_a_regular_file_atomically(tmp_path, victim):
    link = tmp_path / "out.md"
    link.symlink_to(victim)
    with pytest.raises(OSError, match="symbolic link"):
        safe_files.replace(link, "new")
    assert victim.read_text() == VICTIM_TEXT and link.is_symlink()
    regular = tmp_path / "old.md"
    regular.write_text("old")
    os.chmod(regular, 0o666)
    safe_files.replace(regular, "new")
    assert regular.read_text() == "new" and mode(regular) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.md", "out.md", "victim"]  # no temp file left
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError, match="not a regular file"):
        safe_files.replace(tmp_path / "fifo", "new")


# --- the app's w and f8 -------------------------------------------------------------------------------


def test_app_w_and_f8_never_write_through_planted_links(tmp_path, monkeypatch, victim):
    where = tmp_path / "shared"
    where.mkdir()
    os.chmod(where, 0o1777)  # like /tmp: anyone may plant a link
    monkeypatch.setenv("WSLTUI_SCREENSHOT_DIR", str(where))
    names = [
        n
        for s in stamps()
        for n in (
            f"wsltui-report-{s}.md",
            f"wsltui-report-{s}-redacted.md",
            f"wsltui-snapshot-{s}.json",
            f"wsltui-status-{s}.svg",
        )
    ]
    links = set(plant(where, names, victim))

    async def body(app, pilot):
        await settle(pilot)
        await pilot.press("f8")
        await pilot.pause()
        await pilot.press("w")  # redacted
        for _ in range(300):
            await pilot.pause(0.02)
            if any(n.message.startswith("Wrote") for n in app._notifications):
                break
        app.action_write_report(False)  # raw, with the snapshot
        for _ in range(300):
            await pilot.pause(0.02)
            if sum(n.message.startswith("Wrote") for n in app._notifications) == 2:
                break
        messages = [n.message for n in app._notifications]
        written = [p for p in where.iterdir() if p not in links]
        assert victim.read_text() == VICTIM_TEXT
        assert all(p.is_file() and not p.is_symlink() for p in written)
        kinds = {p.name.split("-")[1] + ("-redacted" if "redacted" in p.name else ""): p for p in written}
        assert set(kinds) == {"status", "report", "report-redacted", "snapshot"}, sorted(p.name for p in written)
        for p in written:  # each notification names the file it really wrote
            assert any(str(p) in m for m in messages), (p, messages)
        assert mode(kinds["status"]) == mode(kinds["report"]) == mode(kinds["snapshot"]) == 0o600
        assert mode(kinds["report-redacted"]) == 0o644
        assert all(p.name.endswith(("-2.md", "-2.json", "-2.svg")) for p in written)  # the link's name was skipped

    run(demo_app(), body)


# --- the command line's -o and --dir ---------------------------------------------------------------


def test_report_o_refuses_a_link_and_replaces_a_regular_file(tmp_path, victim, capsys):
    link = tmp_path / "report.md"
    link.symlink_to(victim)
    assert main(["report", "--demo", "nat-firewalld-reject", "-o", str(link)]) == 2
    assert "symbolic link" in capsys.readouterr().err and victim.read_text() == VICTIM_TEXT
    out = tmp_path / "mine.md"
    out.write_text("old")
    os.chmod(out, 0o644)
    assert main(["report", "--demo", "nat-firewalld-reject", "-o", str(out)]) == 0
    assert out.read_text().startswith("# ") and mode(out) == 0o600
    assert f"-> {out}" in capsys.readouterr().err
    red = tmp_path / "public.json"
    assert main(["report", "--demo", "nat-firewalld-reject", "--redact", "-o", str(red)]) == 0
    assert json.loads(red.read_text()) and mode(red) == 0o644


def test_report_svg_o_refuses_a_link(tmp_path, victim, capsys):
    link = tmp_path / "screen.svg"
    link.symlink_to(victim)
    assert main(["report", "--demo", "nat-firewalld-reject", "-o", str(link)]) == 2
    assert "symbolic link" in capsys.readouterr().err and victim.read_text() == VICTIM_TEXT
    out = tmp_path / "new.svg"
    assert main(["report", "--demo", "nat-firewalld-reject", "-o", str(out)]) == 0
    assert out.read_text().startswith("<svg") and mode(out) == 0o600


def test_snapshot_save_refuses_links_and_writes_0600(tmp_path, victim):
    snap = Snapshot({"net.addr": Record("net.addr", ("ip", "-j", "addr", "show"), "[]")}, {"host": "h"})
    link = tmp_path / "snap.json"
    link.symlink_to(victim)
    with pytest.raises(OSError, match="symbolic link"):
        snap.save_file(link)
    d = tmp_path / "dir"
    d.mkdir()
    (d / "net.addr.txt").symlink_to(victim)
    with pytest.raises(OSError, match="symbolic link"):
        snap.save_dir(d)
    assert victim.read_text() == VICTIM_TEXT
    snap.save_file(tmp_path / "ok.json")
    snap.save_dir(tmp_path / "new")
    assert mode(tmp_path / "ok.json") == 0o600 and mode(tmp_path / "new") == 0o700
    assert {mode(p) for p in (tmp_path / "new").iterdir()} == {0o600}


def test_snapshot_o_through_the_cli_refuses_a_link(tmp_path, victim, capsys):
    link = tmp_path / "snap.json"
    link.symlink_to(victim)
    assert main(["snapshot", "-o", str(link)]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and "Traceback" not in err and victim.read_text() == VICTIM_TEXT


# --- the state directory, the journal and the backups -------------------------------------------------


def _write_plan(root: Path) -> tuple[Plan, Path]:
    """A real change wsltui can make without root: persistence writing /etc/wsl.conf under a root."""
    path = root / "etc" / "wsl.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    fix = PlannedFix(
        "write it", "file", [["tee", str(path)]], [restore_of(str(path))], needs_root=False, stdin=["text:[boot]\n"]
    )
    return Plan(
        0,
        "",
        {"name": "test"},
        [fix],
        kind="persist",
        title="Write a file",
        edits=[Edit(f"file:{path}", "content", "set", "[boot]\n", before=[])],
    ), path


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("WSLTUI_ROOT", str(tmp_path / "root"))
    return tmp_path / "root"


def test_state_dir_journal_and_backups_are_private(tmp_path, root):
    base = tmp_path / "state" / "wsltui"
    plan, _ = _write_plan(root)
    assert apply(plan, base=base).ok
    assert mode(base) == 0o700 and mode(base / "journal.jsonl") == 0o600 and mode(base / "lock") == 0o600
    backups = base / "backups"
    assert mode(backups) == 0o700
    (one,) = backups.iterdir()
    assert mode(one) == 0o700 and {mode(p) for p in one.iterdir()} == {0o600}


def test_an_old_world_readable_state_is_made_private(tmp_path, root):
    base = tmp_path / "state" / "wsltui"
    base.mkdir(parents=True)
    os.chmod(base, 0o755)
    journal = base / "journal.jsonl"
    journal.write_text("")
    os.chmod(journal, 0o644)
    plan, _ = _write_plan(root)
    assert apply(plan, base=base).ok
    assert mode(base) == 0o700 and mode(journal) == 0o600
    (backup,) = (base / "backups").iterdir()
    os.chmod(backup, 0o755)
    for p in backup.iterdir():
        os.chmod(p, 0o644)
    assert undo(base=base).ok
    assert mode(backup) == 0o700 and {mode(p) for p in backup.iterdir()} == {0o600}


@pytest.mark.parametrize("planted", ["journal.jsonl", "lock"])
def test_a_link_in_the_state_dir_is_never_followed(tmp_path, root, victim, planted):
    base = tmp_path / "state" / "wsltui"
    base.mkdir(parents=True, mode=0o700)
    (base / planted).symlink_to(victim)
    plan, path = _write_plan(root)
    with pytest.raises(ActionError):
        apply(plan, base=base)
    assert victim.read_text() == VICTIM_TEXT and not path.exists()  # refused before any change


def test_a_linked_state_dir_or_parent_is_refused(tmp_path, root):
    real = tmp_path / "elsewhere"
    real.mkdir()
    (tmp_path / "state").symlink_to(real)
    plan, path = _write_plan(root)
    with pytest.raises(ActionError, match="symbolic link"):
        apply(plan, base=tmp_path / "state" / "wsltui")
    assert not path.exists() and list(real.iterdir()) == []


def test_a_planted_backup_directory_is_not_written_into(tmp_path, root, victim, monkeypatch):
    """The backup directory has a new name; if something is there already, nothing changes."""
    from wsltui.actions import state as st

    base = tmp_path / "state" / "wsltui"
    (base / "backups").mkdir(parents=True)
    (base / "backups" / "fixed-id").symlink_to(tmp_path)
    monkeypatch.setattr(st, "new_id", lambda: "fixed-id")
    plan, path = _write_plan(root)
    with pytest.raises(ActionError, match="nothing was changed"):
        apply(plan, base=base)
    assert not path.exists() and not (tmp_path / "plan.json").exists()


def test_undo_reads_the_journal_without_following_a_link(tmp_path, root, victim):
    base = tmp_path / "state" / "wsltui"
    plan, _ = _write_plan(root)
    assert apply(plan, base=base).ok
    (base / "journal.jsonl").unlink()
    (base / "journal.jsonl").symlink_to(victim)
    assert Journal(base).read()[0] == []
    with pytest.raises(ActionError):
        undo(base=base)
    assert victim.read_text() == VICTIM_TEXT
