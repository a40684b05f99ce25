"""Where actions keep what they need to undo: backups and the journal (XDG state directory).

Layout: ``$XDG_STATE_HOME/wsltui`` (default ``~/.local/state/wsltui``)
  journal.jsonl                    one JSON object per line; the last line of an id wins
  backups/<id>/<target>.txt        what each save command printed before the change
  backups/<id>/ufw/ and firewalld/ copies of ufw's user*.rules and firewalld's zone XML
Nothing secret is written: commands run with ``sudo -n`` (never a password) and only their
output is kept.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

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


def state_dir(environ=None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "wsltui"


def read_only(environ=None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("WSLTUI_READ_ONLY", "").lower() in ("1", "true", "yes")


def new_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


class Journal:
    """JSON lines; each change writes a line when it starts (``pending``) and one when it ends."""

    def __init__(self, base: Path | None = None) -> None:
        self.base = base or state_dir()
        self.path = self.base / "journal.jsonl"

    def append(self, entry: dict) -> None:
        _private_dir(self.base)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def entries(self) -> list[dict]:
        """Latest state of every entry, oldest first."""
        if not self.path.exists():
            return []
        latest: dict[str, dict] = {}
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if isinstance(e, dict) and "id" in e:
                latest.pop(e["id"], None)  # keep the order of the last write
                latest[e["id"]] = e
        return sorted(latest.values(), key=lambda e: (e.get("started", e.get("time", "")), e["id"]))

    def last_undoable(self) -> dict | None:
        for e in reversed(self.entries()):
            if e.get("action") == "fix" and e.get("result") in ("applied", "pending"):
                return e
        return None


# --- capturing and comparing state ------------------------------------------------------------

_COUNTERS = re.compile(r"\[\d+:\d+\]")
_NFT_COUNTER = re.compile(r"counter packets \d+ bytes \d+")


def normalise(target: str, text: str) -> str:
    """Text that is equal exactly when the rules are: no comments, timestamps or counters."""
    if target.startswith(("iptables", "nft")):
        lines = [l.rstrip() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
        return "\n".join(_NFT_COUNTER.sub("counter", _COUNTERS.sub("[0:0]", l)) for l in lines)
    return text


@dataclass
class Saved:
    target: str
    text: str
    error: str | None = None  # the save command failed (tool missing, no root, ...)


def _read_file(path: str, as_root: bool) -> tuple[str | None, str | None]:
    """(text, error); a missing file is ("", None)."""
    try:
        return Path(path).read_text(encoding="utf-8"), None
    except FileNotFoundError:
        return "", None
    except PermissionError:
        rec = run(Job(f"backup.{path}", ("cat", path), SAVE_TIMEOUT, as_root=as_root))
        return (rec.stdout, None) if rec.ok else (None, rec.error or rec.stderr.strip())
    except OSError as e:
        return None, str(e)


def capture_state(targets: list[str], as_root: bool = True) -> dict[str, Saved]:
    out: dict[str, Saved] = {}
    savers = [t for t in targets if t in SAVERS]
    for t, rec in zip(savers, run_all([Job(f"backup.{t}", SAVERS[t], SAVE_TIMEOUT, as_root=as_root) for t in savers])):
        err = rec.error or (None if rec.exit_code == 0 else (rec.stderr.strip() or f"exit {rec.exit_code}"))
        out[t] = Saved(t, rec.stdout, err)
    for t in targets:
        if t == "ufw-rules":
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


def differences(before: dict[str, Saved], after: dict[str, Saved]) -> list[str]:
    """Targets whose rules differ (counters and comments aside)."""
    diff = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b is None or a is None:
            diff.append(key)
            continue
        if b.error and a.error:
            continue
        if (b.error is None) != (a.error is None) or normalise(key, b.text) != normalise(key, a.text):
            diff.append(key)
    return diff


def write_backup(backup: Path, saved: dict[str, Saved], plan_json: dict) -> None:
    _private_dir(backup)
    (backup / "plan.json").write_text(json.dumps(plan_json, indent=1, ensure_ascii=False), encoding="utf-8")
    index = {}
    for key, s in saved.items():
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", key) + ".txt"
        (backup / name).write_text(s.text, encoding="utf-8")
        index[key] = {"file": name, "error": s.error}
    (backup / "index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")


def read_backup(backup: Path) -> dict[str, Saved]:
    index = json.loads((backup / "index.json").read_text(encoding="utf-8"))
    return {key: Saved(key, (backup / v["file"]).read_text(encoding="utf-8"), v.get("error")) for key, v in index.items()}


def seconds_since(t0: float) -> float:
    return round(time.monotonic() - t0, 3)
