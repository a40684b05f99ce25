"""The snapshot: the raw output of every probe, exactly as captured.

A snapshot is a mapping of record name -> Record. It is saved either as one JSON file or as a
directory with one ``<record>.txt`` (the decoded stdout) per record plus an optional
``<record>.meta.json`` (argv, exit code, stderr, seconds, error; absent means "exit 0, no error").
The directory form lets a person build a case by hand from pasted command outputs.

Raw records never change meaning between versions: an old snapshot attached to a ticket replays.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from wsltui import safe_files
from wsltui.quoting import posix

FORMAT = "wsltui-snapshot"
FORMAT_VERSION = 1

# Record names are file names in the directory form: keep them boring.
_RECORD_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")


@dataclass(frozen=True)
class Record:
    """One probe's result. ``error`` is set when the command could not tell us anything
    (not found, timed out, needs root, no Windows interop); a non-zero exit code alone is not an
    error, because some tools use it to say something (``firewall-cmd --state`` exits 252)."""

    name: str
    argv: tuple[str, ...]
    stdout: str
    exit_code: int | None = 0
    stderr: str = ""
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.exit_code == 0

    @property
    def command(self) -> str:
        """The command as a person would type it (for messages, never for running)."""
        return posix(list(self.argv))

    def to_json(self) -> dict:
        d = asdict(self)
        d["argv"] = list(self.argv)
        return d

    @classmethod
    def from_json(cls, name: str, d: dict) -> Record:
        """Tolerant: a hand-edited meta file with wrong types still loads; what could not be
        read is said in ``error`` rather than guessed."""
        argv, exit_code, seconds, error = (
            d.get("argv") or (),
            d.get("exit_code", 0),
            d.get("seconds") or 0.0,
            d.get("error"),
        )
        wrong = [
            key
            for key, ok in (
                ("argv", isinstance(argv, (list, tuple))),
                ("exit_code", exit_code is None or (isinstance(exit_code, int) and not isinstance(exit_code, bool))),
                ("seconds", isinstance(seconds, (int, float)) and not isinstance(seconds, bool)),
                ("error", error is None or isinstance(error, str)),
            )
            if not ok
        ]
        if wrong and error is None or not isinstance(error, (str, type(None))):
            error = f"the record's {', '.join(wrong)} could not be read"
        return cls(
            name=name,
            argv=tuple(str(a) for a in argv) if isinstance(argv, (list, tuple)) else (),
            stdout=str(d.get("stdout") or ""),
            exit_code=exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool) else None,
            stderr=str(d.get("stderr") or ""),
            seconds=float(seconds) if isinstance(seconds, (int, float)) else 0.0,
            error=error,
        )


class SnapshotError(Exception):
    """A snapshot file or directory that cannot be read at all (the message says why)."""


@dataclass
class Snapshot:
    records: dict[str, Record] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)  # where/when/how it was taken (free-form)
    notes: list[str] = field(default_factory=list)  # what loading it ignored, and why (not saved)

    def get(self, name: str) -> Record | None:
        return self.records.get(name)

    def add(self, record: Record) -> None:
        self.records[record.name] = record

    # --- one JSON file -------------------------------------------------------------------

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "meta": self.meta,
            "records": {name: self.records[name].to_json() for name in sorted(self.records)},
        }

    def dumps(self) -> str:
        """The one-JSON-file form."""
        return json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n"

    def save_file(self, path: str | os.PathLike) -> None:
        """Write (or atomically replace) ``path``, 0600: the raw outputs name users, hosts and
        rules. An existing link at ``path`` is refused, never followed."""
        safe_files.replace(path, self.dumps(), safe_files.PRIVATE)

    # --- a directory of <record>.txt + <record>.meta.json ----------------------------------

    def save_dir(self, path: str | os.PathLike) -> None:
        """Like save_file, file by file; a new directory is 0700."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True, mode=safe_files.PRIVATE_DIR)
        for name, rec in self.records.items():
            safe_files.replace(root / f"{name}.txt", rec.stdout)
            meta = rec.to_json()
            del meta["stdout"], meta["name"]
            safe_files.replace(root / f"{name}.meta.json", json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
        if self.meta:
            safe_files.replace(root / "snapshot.json", json.dumps(self.meta, indent=1) + "\n")


# A snapshot is data from anywhere (a ticket, a stranger): read it with limits. The largest real
# record, a 100,000-rule iptables-save (bench/bench_netfilter.py), is about 7 MB.
MAX_RECORD_BYTES = 64 << 20
MAX_SNAPSHOT_BYTES = 256 << 20
MAX_JSON_DEPTH = 64  # a snapshot's JSON is a few levels deep; deeper is not one wsltui wrote


class _Unreadable(Exception):
    """A file in a snapshot that is not read (the message says why, for a record's error)."""


def _read_limited(name: str, cap: int, dir_fd: int | None = None) -> str:
    """The text of regular file ``name`` (in ``dir_fd``), at most ``cap`` bytes. Never through a
    link, never blocks (a FIFO), never reads a device (/dev/zero): _Unreadable instead."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _Unreadable(f"{name} is a symbolic link: a snapshot's files are read only as regular files") from None
        raise _Unreadable(f"cannot read {name}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _Unreadable(f"{name} is not a regular file (a {_kind(st.st_mode)}): not read")
        if st.st_size > cap:
            raise _Unreadable(f"{name} is {st.st_size} bytes, more than the {cap >> 20} MiB wsltui reads")
        data = f.read(cap + 1)
    if len(data) > cap:
        raise _Unreadable(f"{name} grew beyond the {cap >> 20} MiB wsltui reads")
    return data.decode("utf-8", errors="replace")


def _kind(mode: int) -> str:
    return (
        "directory"
        if stat.S_ISDIR(mode)
        else "FIFO"
        if stat.S_ISFIFO(mode)
        else "socket"
        if stat.S_ISSOCK(mode)
        else "device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "special file"
    )


def _json(text: str, name: str):
    """Parsed JSON no deeper than MAX_JSON_DEPTH; _Unreadable otherwise."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise _Unreadable(f"{name} is nested too deeply") from None
    except ValueError as e:
        raise _Unreadable(f"{name} is not valid JSON ({e})") from None
    level = [data]
    for _ in range(MAX_JSON_DEPTH):
        level = [c for v in level if isinstance(v, (dict, list)) for c in (v.values() if isinstance(v, dict) else v)]
        if not level:
            return data
    raise _Unreadable(f"{name} is nested more than {MAX_JSON_DEPTH} levels deep")


def load(path: str | os.PathLike) -> Snapshot:
    """Read a snapshot file or directory. Raises SnapshotError with a clear message when the
    path itself is unusable; individual bad records become records with an ``error``. The path
    a person names may be a link; nothing inside a snapshot directory is followed."""
    p = Path(path)
    if p.is_dir():
        return _load_dir(p)
    if not p.exists():
        raise SnapshotError(f"{p}: no such file or directory")
    try:
        data = _json(_read_limited(os.path.realpath(p), MAX_SNAPSHOT_BYTES), p.name)
    except _Unreadable as e:
        raise SnapshotError(f"{p}: not a wsltui snapshot ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("records"), dict):
        raise SnapshotError(f'{p}: not a wsltui snapshot (expected a JSON object with "format": "{FORMAT}")')
    meta = data.get("meta")
    snap = Snapshot(meta=meta if isinstance(meta, dict) else {})
    for name, rd in data["records"].items():
        if not _RECORD_NAME.match(str(name)):
            snap.notes.append(f"ignored a record whose name is not a record name: {str(name)[:80]!r}")
            continue
        if not isinstance(rd, dict):
            snap.add(Record(name, (), "", exit_code=None, error="malformed record in snapshot file"))
        elif len(str(rd.get("stdout") or "")) > MAX_RECORD_BYTES:
            snap.add(
                Record(
                    name,
                    (),
                    "",
                    exit_code=None,
                    error=f"its output is more than the {MAX_RECORD_BYTES >> 20} MiB wsltui reads",
                )
            )
        else:
            snap.add(Record.from_json(name, rd))
    return snap


def _load_dir(root: Path) -> Snapshot:
    try:
        dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise SnapshotError(f"{root}: {e.strerror}") from None
    try:
        return _load_dir_fd(dir_fd)
    finally:
        os.close(dir_fd)


def _load_dir_fd(dir_fd: int) -> Snapshot:
    """Every ``<record>.txt`` (+ ``.meta.json``) in the directory, by name, relative to it."""
    snap = Snapshot()
    files = set(os.listdir(dir_fd))
    left = [MAX_SNAPSHOT_BYTES]

    def read(file: str) -> str:
        if left[0] <= 0:
            raise _Unreadable(
                f"{file} is not read: the snapshot is larger than the {MAX_SNAPSHOT_BYTES >> 20} MiB wsltui reads"
            )
        text = _read_limited(file, min(MAX_RECORD_BYTES, left[0]), dir_fd)
        left[0] -= len(text)
        return text

    if "snapshot.json" in files:
        try:
            m = _json(read("snapshot.json"), "snapshot.json")
            snap.meta = m if isinstance(m, dict) else {}
        except _Unreadable as e:
            snap.notes.append(str(e))
    for file in sorted(files):
        if not file.endswith(".txt"):
            if not (file.endswith(".meta.json") and file[: -len(".meta.json")] + ".txt" in files) and file not in (
                "snapshot.json",
                "ABOUT",
            ):
                snap.notes.append(f"ignored {file[:80]!r}: not a record file")
            continue
        name = file[: -len(".txt")]
        if not _RECORD_NAME.match(name):
            snap.notes.append(f"ignored {file[:80]!r}: not a record name")
            continue
        try:
            stdout = read(file)
        except _Unreadable as e:
            snap.add(Record(name, (), "", exit_code=None, error=str(e)))
            continue
        meta: dict = {}
        if f"{name}.meta.json" in files:
            try:
                loaded = _json(read(f"{name}.meta.json"), f"{name}.meta.json")
                meta = loaded if isinstance(loaded, dict) else {"error": f"{name}.meta.json is not a JSON object"}
            except _Unreadable as e:
                meta = {"error": str(e)}
        meta["stdout"] = stdout
        snap.add(Record.from_json(name, meta))
    return snap
