"""The snapshot format: one JSON file or one file per record; both read back identically."""

from __future__ import annotations

import json

import pytest

from wsltui import snapshot
from wsltui.snapshot import Record, Snapshot, SnapshotError


def _sample() -> Snapshot:
    s = Snapshot(meta={"host": "h"})
    s.add(Record("net.addr", ("ip", "-j", "addr", "show"), '[{"ifname": "lo"}]\n', seconds=0.01))
    s.add(Record("firewalld.state", ("firewall-cmd", "--state"), "not running\n", exit_code=252))
    s.add(Record("wsl.version", ("wslinfo", "--version"), "", exit_code=None, error="wslinfo: command not found"))
    s.add(Record("wsl.conf", ("cat", "/etc/wsl.conf"), "[boot]\nsystemd=true\n日本\n"))
    return s


def test_file_and_directory_round_trip(tmp_path):
    s = _sample()
    s.save_file(tmp_path / "s.json")
    s.save_dir(tmp_path / "d")
    from_file, from_dir = snapshot.load(tmp_path / "s.json"), snapshot.load(tmp_path / "d")
    assert from_file.records == s.records
    assert from_dir.records == s.records
    assert from_file.meta == {"host": "h"} == from_dir.meta


def test_hand_made_directory_without_meta_means_exit_zero(tmp_path):
    (tmp_path / "ufw.status.txt").write_text("Status: inactive\n")
    s = snapshot.load(tmp_path)
    r = s.get("ufw.status")
    assert r.ok and r.stdout == "Status: inactive\n" and r.exit_code == 0


def test_garbage_in_a_directory_becomes_error_records(tmp_path):
    (tmp_path / "net.addr.txt").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "net.addr.meta.json").write_text("{not json")
    (tmp_path / "nf.nft.txt").write_text("x")
    (tmp_path / "nf.nft.meta.json").write_text("[1, 2]")
    (tmp_path / "../escape.txt").write_text("x")
    (tmp_path / "Bad Name.txt").write_text("x")
    s = snapshot.load(tmp_path)
    assert set(s.records) == {"net.addr", "nf.nft"}
    assert "not valid JSON" in s.get("net.addr").error
    assert "not a JSON object" in s.get("nf.nft").error


@pytest.mark.parametrize(
    "content", ["", "{", "[]", '{"format": "other"}', '{"format": "wsltui-snapshot", "records": 3}']
)
def test_unusable_file_is_a_clear_error(tmp_path, content):
    p = tmp_path / "s.json"
    p.write_text(content)
    with pytest.raises(SnapshotError, match="not a wsltui snapshot"):
        snapshot.load(p)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(SnapshotError, match="no such file"):
        snapshot.load(tmp_path / "nope.json")


def test_bad_record_entries_in_a_file(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(
        json.dumps(
            {"format": "wsltui-snapshot", "records": {"net.addr": 5, "ok.one": {"stdout": "x", "exit_code": "zero"}}}
        )
    )
    s = snapshot.load(p)
    assert s.get("net.addr").error == "malformed record in snapshot file"
    assert s.get("ok.one").exit_code is None and not s.get("ok.one").ok
