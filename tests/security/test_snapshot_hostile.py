"""A snapshot from a stranger is data: it cannot make wsltui read outside it, hang, or run out of
memory. Each bad file becomes a record error (or a note), never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wsltui import snapshot
from wsltui.cli import main
from wsltui.snapshot import MAX_JSON_DEPTH, MAX_RECORD_BYTES, Record, Snapshot

REPO = Path(__file__).resolve().parents[2]


def _dir(tmp_path: Path) -> Path:
    """A real, small snapshot directory (one good record) to plant bad files in."""
    d = tmp_path / "snap"
    Snapshot(
        {
            "kernel.osrelease": Record(
                "kernel.osrelease", ("cat", "/proc/sys/kernel/osrelease"), "5.15.167.4-microsoft-standard-WSL2\n"
            )
        }
    ).save_dir(d)
    return d


def test_a_symlinked_record_is_an_error_not_the_file_it_points_to(tmp_path):
    secret = tmp_path / "id_ed25519"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    d = _dir(tmp_path)
    (d / "net.sockets.txt").symlink_to(secret)
    (d / "wsl.conf.txt").write_text("[boot]\n")
    (d / "wsl.conf.meta.json").symlink_to(secret)
    snap = snapshot.load(d)
    rec = snap.get("net.sockets")
    assert rec.stdout == "" and "symbolic link" in rec.error
    assert "symbolic link" in snap.get("wsl.conf").error
    assert snap.get("kernel.osrelease").ok
    assert all("secret" not in r.stdout + r.stderr for r in snap.records.values())


def test_facts_and_report_never_print_a_linked_file(tmp_path, capsys):
    secret = tmp_path / "id_ed25519"
    secret.write_text("PRIVATE-KEY-MATERIAL\n")
    d = _dir(tmp_path)
    (d / "wsl.conf.txt").symlink_to(secret)
    for argv in (["facts", "--from", str(d)], ["report", "--from", str(d), "--format", "md"]):
        assert main(argv) == 0
        out = capsys.readouterr()
        assert "PRIVATE-KEY-MATERIAL" not in out.out + out.err


def test_a_link_to_dev_zero_is_refused_at_once(tmp_path):
    d = _dir(tmp_path)
    (d / "nf.nft.txt").symlink_to("/dev/zero")
    t0 = time.monotonic()
    rec = snapshot.load(d).get("nf.nft")
    assert time.monotonic() - t0 < 2
    assert "symbolic link" in rec.error


def test_a_device_named_as_the_snapshot_file_is_not_read(tmp_path):
    """The path a person names may be a link (they chose it), but not to a device."""
    link = tmp_path / "snap.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(snapshot.SnapshotError, match="not a regular file"):
        snapshot.load(link)


def test_a_fifo_is_an_error_quickly(tmp_path):
    d = _dir(tmp_path)
    os.mkfifo(d / "net.addr.txt")
    (d / "kernel.osrelease.meta.json").unlink()
    os.mkfifo(d / "kernel.osrelease.meta.json")
    # In a child process with a timeout: a hang must fail the test, not block the suite.
    code = (
        "import sys; from wsltui import snapshot; s = snapshot.load(sys.argv[1]); "
        "print(s.get('net.addr').error); print(s.get('kernel.osrelease').error)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(d)],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("not a regular file (a FIFO)") == 2


def test_a_fifo_snapshot_file_is_refused(tmp_path):
    fifo = tmp_path / "snap.json"
    os.mkfifo(fifo)
    code = "import sys; from wsltui.cli import main; sys.exit(main(['facts', '--from', sys.argv[1]]))"
    r = subprocess.run(
        [sys.executable, "-c", code, str(fifo)],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert r.returncode == 2 and "not a regular file (a FIFO)" in r.stderr and "Traceback" not in r.stderr


def test_an_oversize_record_is_an_error(tmp_path):
    d = _dir(tmp_path)
    with open(d / "nf.iptables-nft.txt", "wb") as f:
        f.truncate(MAX_RECORD_BYTES + 1)  # sparse: costs no disk
    rec = snapshot.load(d).get("nf.iptables-nft")
    assert rec.stdout == "" and "more than the 64 MiB" in rec.error


def test_the_snapshot_total_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "MAX_SNAPSHOT_BYTES", 100)
    d = _dir(tmp_path)
    (d / "a-big.txt").write_text("x" * 90)
    (d / "b-big.txt").write_text("y" * 90)
    snap = snapshot.load(d)
    assert snap.get("a-big").stdout == "x" * 90
    assert "100" not in snap.get("b-big").stdout and snap.get("b-big").error


def test_bad_record_names_are_ignored_with_a_note(tmp_path, capsys):
    d = _dir(tmp_path)
    (d / "Evil\x1b]52;c;aGk=\x07.txt").write_text("x")
    (d / ".hidden.txt").write_text("x")
    (d / "notes.md").write_text("x")
    snap = snapshot.load(d)
    assert set(snap.records) == {"kernel.osrelease"}
    assert len(snap.notes) == 3 and all("ignored" in n for n in snap.notes)
    assert main(["facts", "--from", str(d)]) == 0
    err = capsys.readouterr().err
    assert "ignored" in err and "\x1b" not in err and "\x07" not in err


def test_bad_record_names_in_a_snapshot_file_are_ignored(tmp_path):
    doc = Snapshot({"kernel.osrelease": Record("kernel.osrelease", (), "5.15\n")}).to_json()
    doc["records"]["../../etc/passwd"] = {"stdout": "x"}
    doc["records"]["x" * 100] = {"stdout": "x"}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    snap = snapshot.load(path)
    assert set(snap.records) == {"kernel.osrelease"} and len(snap.notes) == 2


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_an_error_not_a_traceback(tmp_path, depth):
    d = _dir(tmp_path)
    (d / "kernel.osrelease.meta.json").write_text('{"argv": ' + _nested(depth) + "}")
    (d / "snapshot.json").write_text('{"x": ' + _nested(depth) + "}")
    snap = snapshot.load(d)
    assert "nested" in snap.get("kernel.osrelease").error
    assert any("nested" in n for n in snap.notes)
    path = tmp_path / "s.json"
    path.write_text('{"format": "wsltui-snapshot", "version": 1, "records": {}, "meta": ' + _nested(depth) + "}")
    with pytest.raises(snapshot.SnapshotError, match="nested"):
        snapshot.load(path)


def test_json_within_the_depth_limit_loads(tmp_path):
    path = tmp_path / "s.json"
    doc = Snapshot({"kernel.osrelease": Record("kernel.osrelease", (), "5.15\n")}).to_json()
    doc["meta"] = {"deep": json.loads(_nested(MAX_JSON_DEPTH - 3))}
    path.write_text(json.dumps(doc))
    assert snapshot.load(path).get("kernel.osrelease").stdout == "5.15\n"


def test_the_app_loads_a_fifo_snapshot_and_quits(tmp_path):
    """The app's load path cannot block on a FIFO: q ends it (a child with a timeout)."""
    d = _dir(tmp_path)
    os.mkfifo(d / "net.addr.txt")
    code = """
import asyncio, sys
from wsltui.tui.app import file_source, make_app
app = make_app(file_source(sys.argv[1]), label="fifo")
async def go():
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(200):
            if app.settled:
                break
            await pilot.pause(0.05)
        await pilot.press("q")
asyncio.run(go())
print("quit")
"""
    r = subprocess.run(
        [sys.executable, "-c", code, str(d)],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert r.returncode == 0 and "quit" in r.stdout, r.stderr[-2000:]
