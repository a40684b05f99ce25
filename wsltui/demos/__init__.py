"""Bundled demo snapshots: real-tool captures dressed as WSL machines, in the snapshot directory
format, so wsltui runs anywhere (``--demo NAME``) with no live probing."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from wsltui import snapshot

DEFAULT = "nat-firewalld-reject"


class DemoError(snapshot.SnapshotError):
    """No such demo (a kind of unusable snapshot source)."""


def _root() -> Path:
    return Path(str(resources.files(__package__)))


def names() -> list[str]:
    return sorted(p.name for p in _root().iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def describe(name: str) -> str:
    about = _root() / name / "ABOUT"
    return about.read_text(encoding="utf-8").strip() if about.is_file() else ""


def load(name: str | None) -> snapshot.Snapshot:
    name = name or DEFAULT
    if name not in names():
        listing = "\n".join(f"  {n:28} {describe(n).splitlines()[0] if describe(n) else ''}" for n in names())
        if name == "list":
            raise DemoError(f"bundled demos:\n{listing}")
        raise DemoError(f"no demo called {name!r}; bundled demos:\n{listing}")
    snap = snapshot.load(_root() / name)
    snap.meta.setdefault("demo", name)
    return snap
