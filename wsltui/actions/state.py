"""Where actions keep what they need to undo: backups and the journal (XDG state directory).

Layout: ``$XDG_STATE_HOME/wsltui`` (default ``~/.local/state/wsltui``)
  journal.jsonl                    one JSON object per line; the last line of an id wins
  backups/<id>/<target>.txt        what each save command printed before the change, and copies of
                                   the files a plan changes (ufw's user*.rules, firewalld's zone
                                   XML, rules files and /etc/wsl.conf written for persistence)
Nothing secret is written: commands run with ``sudo -n`` (never a password) and only their
output is kept.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import secrets
import threading
import time
from contextlib import contextmanager
from typing import Any
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from wsltui import safe_files
from wsltui.safe_files import state_dir
from wsltui.actions.scopes import normalised_text, scopes
from wsltui.probes.runner import Job, run, run_all

SAVE_TIMEOUT = 30.0

# target -> argv that prints it
SAVERS: dict[str, tuple[str, ...]] = {
    "iptables-legacy-4": ("iptables-legacy-save",),
    "iptables-legacy-6": ("ip6tables-legacy-save",),
    "iptables-nft-4": ("iptables-nft-save",),
    "iptables-nft-6": ("ip6tables-nft-save",),
    "nft": ("nft", "list", "ruleset"),
    "firewalld-runtime": ("firewall-cmd", "--list-all-zones"),
    "firewalld-permanent": ("firewall-cmd", "--permanent", "--list-all-zones"),
}
RESTORERS: dict[str, tuple[str, ...]] = {
    "iptables-legacy-4": ("iptables-legacy-restore",),
    "iptables-legacy-6": ("ip6tables-legacy-restore",),
    "iptables-nft-4": ("iptables-nft-restore",),
    "iptables-nft-6": ("ip6tables-nft-restore",),
}
UFW_FILES = ("/etc/ufw/user.rules", "/etc/ufw/user6.rules")
FIREWALLD_ZONES = "/etc/firewalld/zones"


def read_only(environ=None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("WSLTUI_READ_ONLY", "").lower() in ("1", "true", "yes")


def new_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _private_dir(path: Path) -> Path:
    return safe_files.private_dir(path)


LOCK_WAIT = 3.0  # seconds a change waits for another one to finish before it refuses
_held: dict[tuple[str, int], int] = {}  # (lock file, thread) -> depth: `wsltui fix` holds it around apply


@contextmanager
def change_lock(base: Path | None = None, wait: float | None = None):
    """Held for a whole change (the command's trace, question and apply, or undo): one change
    at a time, so a second ``wsltui fix`` neither applies over the first nor has its undo revert
    both. The holder's pid is in the lock file, for the message. Reentrant within a thread.
    Raises ActionError when another change still runs after ``wait`` seconds."""
    from wsltui.actions.plan import ActionError

    try:
        path = _private_dir(base or state_dir()) / "lock"
    except OSError as e:
        raise ActionError(
            f"cannot use the state directory ({e.filename}: {e.strerror}), so nothing was changed"
        ) from None
    key = (str(path), threading.get_ident())
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    try:
        fd = safe_files.open_private(path, os.O_RDWR)
    except OSError as e:
        raise ActionError(f"cannot use the lock file ({path}: {e.strerror}), so nothing was changed") from None
    try:
        deadline = time.monotonic() + (LOCK_WAIT if wait is None else wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = re.sub(r"\D", "", os.pread(fd, 32, 0).decode("ascii", "replace"))
                    raise ActionError(
                        f"another wsltui change is running (pid {holder or 'unknown'}); nothing was "
                        "changed: try again when it has finished"
                    ) from None
                time.sleep(0.1)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same, only the message loses the pid
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
    finally:
        os.close(fd)  # releases the lock


class Journal:
    """JSON lines; each change writes a line when it starts (``pending``) and one when it ends.
    A line is written whole or not at all (one write, cut back on failure) and fsynced; a later
    line with the same id updates the fields it names."""

    def __init__(self, base: Path | None = None) -> None:
        self.base = base or state_dir()
        self.path = self.base / "journal.jsonl"

    def append(self, entry: dict[str, Any]) -> None:
        """Raises OSError (e.g. ENOSPC) with the journal as it was."""
        _private_dir(self.base)
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        fd = safe_files.open_private(self.path, os.O_RDWR | os.O_APPEND)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a line cut short by a crash stays alone (and is skipped)
            try:
                if os.write(fd, line) != len(line):
                    raise OSError(errno.ENOSPC, "the journal line was written only in part")
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)

    def read(self) -> tuple[list[dict[str, Any]], list[str]]:
        """(latest state of every entry, oldest first; why each unreadable line was skipped).
        Entries are in the order they were first written (the file only grows; timestamps have
        one-second resolution, so two changes in one second would tie)."""
        try:
            fd = safe_files.open_private(self.path, os.O_RDONLY) if self.path.exists() else None
        except OSError as e:
            return [], [f"{self.path}: {e.strerror}"]
        if fd is None:
            return [], []
        with os.fdopen(fd, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        latest: dict[str, dict[str, Any]] = {}
        skipped = []
        # Split at line feeds only: an entry may hold U+0085 or U+2028, where splitlines would cut it.
        for n, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):
                skipped.append(f"line {n} is not JSON")
                continue
            why = _entry_problem(entry)
            if why:
                skipped.append(f"line {n} {why}")
                continue
            latest[entry["id"]] = {**latest.get(entry["id"], {}), **entry}  # updates the entry where it first appeared
        return list(latest.values()), skipped

    def entries(self) -> list[dict[str, Any]]:
        return self.read()[0]

    def last_undoable(self) -> dict[str, Any] | None:
        return last_undoable(self.entries())


def last_undoable(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last change in ``entries`` that is applied (or was interrupted) and not undone."""
    for e in reversed(entries):
        if e.get("action") != "undo" and e.get("result") in ("applied", "pending"):
            return e
    return None


_ENTRY_TYPES = {
    "id": str,
    "action": str,
    "time": str,
    "result": str,
    "backup": str,
    "plan": dict,
    "undo": list,
    "steps": list,
    "after": dict,
    "message": str,
}


def _entry_problem(e) -> str | None:
    """Why a journal line is not an entry wsltui wrote (None when it is)."""
    if not isinstance(e, dict):
        return "is not a JSON object"
    if not isinstance(e.get("id"), str) or not re.fullmatch(r"[0-9A-Za-z-]{1,64}", e["id"]):
        return "has no valid id"
    wrong = [k for k, t in _ENTRY_TYPES.items() if k in e and e[k] is not None and not isinstance(e[k], t)]
    if (
        "undo" in e
        and isinstance(e["undo"], list)
        and not all(isinstance(a, list) and all(isinstance(w, str) for w in a) for a in e["undo"])
    ):
        wrong.append("undo")
    return f"has fields of the wrong type: {', '.join(wrong)}" if wrong else None


# --- capturing and comparing state ------------------------------------------------------------


def normalise(target: str, text: str, unordered: bool = False) -> str:
    """Text that is equal exactly when the rules are: no comments, timestamps or counters; for
    firewalld, whose zone entries are sets, no order either (a port removed and added again is
    listed last, and nothing else changed). ``unordered``: the netfilter rules firewalld
    generates from those sets are compared chain by chain without their order, too."""
    if target.startswith(("iptables", "nft")):
        text = normalised_text(target, text)
        return _sorted_within_chains(text) if unordered else text
    if target in ("firewalld-runtime", "firewalld-permanent"):
        return "\n".join(f"{k}: {' | '.join(v)}" for k, v in sorted(scopes(target, text).items()))
    if target.startswith("firewalld-zone:"):
        return "\n".join(sorted(l.strip() for l in text.splitlines() if l.strip()))
    return text


def _sorted_within_chains(text: str) -> str:
    """iptables-save or nft text with the rules of each chain sorted (the chains stay in place)."""
    out: list[str] = []
    run_: list[str] = []
    for line in text.splitlines():
        rule = line.startswith("-A ") or (line.startswith("\t\t") and not line.rstrip().endswith(("{", "}")))
        if rule:
            run_.append(line)
            continue
        out += sorted(run_) + [line]
        run_ = []
    return "\n".join(out + sorted(run_))


@dataclass
class Saved:
    target: str
    text: str
    error: str | None = None  # the save command failed (tool missing, no root, ...)
    missing: bool = False  # a file target that does not exist (not the same as an empty file)


def _read_file(path: str, as_root: bool) -> tuple[str | None, str | None]:
    """(text, error); a missing file is ("", None)."""
    text, err, _ = read_file(path, as_root)
    return text, err


def read_file(path: str, as_root: bool) -> tuple[str | None, str | None, bool]:
    """(text, error, missing); a missing file is ("", None, True)."""
    try:
        return Path(path).read_text(encoding="utf-8"), None, False
    except FileNotFoundError:
        return "", None, True
    except PermissionError:
        rec = run(Job(f"backup.{path}", ("cat", path), SAVE_TIMEOUT, as_root=as_root))
        if rec.ok:
            return rec.stdout, None, False
        if rec.exit_code == 1 and "No such file" in rec.stderr:
            return "", None, True
        return None, rec.error or rec.stderr.strip(), False
    except OSError as e:
        return None, str(e), False


def capture_state(targets: list[str], as_root: bool = True) -> dict[str, Saved]:
    out: dict[str, Saved] = {}
    savers = [t for t in targets if t in SAVERS]
    for t, rec in zip(savers, run_all([Job(f"backup.{t}", SAVERS[t], SAVE_TIMEOUT, as_root=as_root) for t in savers])):
        err = rec.error or (None if rec.exit_code == 0 else (rec.stderr.strip() or f"exit {rec.exit_code}"))
        out[t] = Saved(t, rec.stdout, err)
    for t in targets:
        if t.startswith("file:"):
            text, err, missing = read_file(t[len("file:") :], as_root)
            out[t] = Saved(t, text or "", err, missing)
        elif t == "ufw-rules":
            for path in UFW_FILES:
                text, err = _read_file(path, as_root)
                out[f"ufw:{path}"] = Saved(f"ufw:{path}", text or "", err)
        elif t == "firewalld-zones":
            names = zone_files()
            for name in names:
                if name.endswith(".xml"):
                    text, err = _read_file(f"{FIREWALLD_ZONES}/{name}", as_root)
                    out[f"firewalld-zone:{name}"] = Saved(f"firewalld-zone:{name}", text or "", err)
            out["firewalld-zones"] = Saved("firewalld-zones", "\n".join(names))
    return out


def zone_files() -> list[str]:
    """Every file in /etc/firewalld/zones (zone XML and firewalld's .xml.old copies)."""
    try:
        return sorted(p.name for p in Path(FIREWALLD_ZONES).iterdir() if p.is_file())
    except OSError:
        return []


def differences(before: dict[str, Saved], after: dict[str, Saved], unordered: bool = False) -> list[str]:
    """Targets whose rules differ (counters and comments aside; see normalise for ``unordered``)."""
    diff = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b is None or a is None:
            diff.append(key)
            continue
        if b.error and a.error:
            continue
        if (
            (b.error is None) != (a.error is None)
            or b.missing != a.missing
            or normalise(key, b.text, unordered) != normalise(key, a.text, unordered)
        ):
            diff.append(key)
    return diff


def write_backup(backup: Path, saved: dict[str, Saved], plan_json: dict[str, Any]) -> None:
    """A new backup directory (0700) of new files (0600): they may hold any rule or file."""
    _private_dir(backup.parent)
    backup.mkdir(mode=safe_files.PRIVATE_DIR)  # a new id: an existing directory is an error
    safe_files.create_new(backup / "plan.json", json.dumps(plan_json, indent=1, ensure_ascii=False), sync=True)
    index = {}
    for key, s in saved.items():
        name = backup_name(key)
        safe_files.create_new(backup / name, s.text, sync=True)
        index[key] = {"file": name, "error": s.error, "missing": s.missing}
    safe_files.create_new(backup / "index.json", json.dumps(index, indent=1), sync=True)


def backup_name(key: str) -> str:
    """The file in a backup directory that holds target ``key``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key) + ".txt"


def read_backup(backup: Path) -> dict[str, Saved]:
    """Raises OSError or ValueError (a missing, linked or malformed backup file). A backup
    directory an older wsltui left 0755 is made private."""
    if backup.is_dir():
        _private_dir(backup)
        for f in os.scandir(backup):
            if f.is_file(follow_symlinks=False):
                os.close(safe_files.open_private(f.path, os.O_RDONLY))  # sets our own file back to 0600
    index = json.loads(_read_private(backup / "index.json"))
    out = {}
    for key, v in index.items():
        if v["file"] != backup_name(key):
            raise ValueError(f"index.json names {v['file']!r} for {key}")
        out[key] = Saved(key, _read_private(backup / v["file"]), v.get("error"), bool(v.get("missing")))
    return out


def _read_private(path: Path) -> str:
    with os.fdopen(safe_files.open_private(path, os.O_RDONLY), "rb") as f:
        return f.read().decode("utf-8")


def seconds_since(t0: float) -> float:
    return round(time.monotonic() - t0, 3)
