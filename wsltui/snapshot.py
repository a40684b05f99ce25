"""The snapshot: the raw output of every probe, exactly as captured.

A snapshot is a mapping of record name -> Record. It is saved either as one JSON file or as a
directory with one ``<record>.txt`` (the decoded stdout) per record plus an optional
``<record>.meta.json`` (argv, exit code, stderr, seconds, error; absent means "exit 0, no error").
The directory form lets a person build a case by hand from pasted command outputs.

Raw records never change meaning between versions: an old snapshot attached to a ticket replays.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from wsltui import safe_files

FORMAT = "wsltui-snapshot"
FORMAT_VERSION = 1

# Record names are file names in the directory form: keep them boring.
_RECORD_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


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
        return " ".join(_quote(a) for a in self.argv)

    def to_json(self) -> dict:
        d = asdict(self)
        d["argv"] = list(self.argv)
        return d

    @classmethod
    def from_json(cls, name: str, d: dict) -> Record:
        """Tolerant: a hand-edited meta file with wrong types still loads; what could not be
        read is said in ``error`` rather than guessed."""
        argv, exit_code, seconds, error = d.get("argv") or (), d.get("exit_code", 0), d.get("seconds") or 0.0, d.get("error")
        wrong = [key for key, ok in (("argv", isinstance(argv, (list, tuple))),
                                     ("exit_code", exit_code is None or (isinstance(exit_code, int) and not isinstance(exit_code, bool))),
                                     ("seconds", isinstance(seconds, (int, float)) and not isinstance(seconds, bool)),
                                     ("error", error is None or isinstance(error, str))) if not ok]
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


def _quote(arg: str) -> str:
    if arg and re.fullmatch(r"[\w@%+=:,./\\{}-]+", arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"


class SnapshotError(Exception):
    """A snapshot file or directory that cannot be read at all (the message says why)."""


@dataclass
class Snapshot:
    records: dict[str, Record] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)  # where/when/how it was taken (free-form)

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


def load(path: str | os.PathLike) -> Snapshot:
    """Read a snapshot file or directory. Raises SnapshotError with a clear message when the
    path itself is unusable; individual bad records become records with an ``error``."""
    p = Path(path)
    if p.is_dir():
        return _load_dir(p)
    if not p.exists():
        raise SnapshotError(f"{p}: no such file or directory")
    try:
        data = json.loads(p.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError) as e:
        raise SnapshotError(f"{p}: not a wsltui snapshot ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("records"), dict):
        raise SnapshotError(f"{p}: not a wsltui snapshot (expected a JSON object with \"format\": \"{FORMAT}\")")
    snap = Snapshot(meta=data.get("meta") if isinstance(data.get("meta"), dict) else {})
    for name, rd in data["records"].items():
        if not _RECORD_NAME.match(str(name)):
            continue
        if isinstance(rd, dict):
            snap.add(Record.from_json(name, rd))
        else:
            snap.add(Record(name, (), "", exit_code=None, error="malformed record in snapshot file"))
    return snap


def _load_dir(root: Path) -> Snapshot:
    snap = Snapshot()
    meta_file = root / "snapshot.json"
    if meta_file.is_file():
        try:
            m = json.loads(meta_file.read_text(encoding="utf-8"))
            snap.meta = m if isinstance(m, dict) else {}
        except (OSError, ValueError):
            pass
    for txt in sorted(root.glob("*.txt")):
        name = txt.name[: -len(".txt")]
        if not _RECORD_NAME.match(name):
            continue
        try:
            stdout = txt.read_bytes().decode("utf-8", errors="replace")
        except OSError as e:
            snap.add(Record(name, (), "", exit_code=None, error=f"cannot read {txt.name}: {e.strerror}"))
            continue
        meta_path = root / f"{name}.meta.json"
        meta: dict = {}
        if meta_path.is_file():
            try:
                loaded = json.loads(meta_path.read_text(encoding="utf-8", errors="replace"))
                meta = loaded if isinstance(loaded, dict) else {"error": f"{meta_path.name} is not a JSON object"}
            except ValueError as e:
                meta = {"error": f"{meta_path.name} is not valid JSON ({e})"}
        meta["stdout"] = stdout
        snap.add(Record.from_json(name, meta))
    return snap
