"""The live observations kept between runs, read back as snapshot records (a probe of wsltui's
own private state directory).

``check --live`` stores each test's ``live.*`` record in ``$XDG_STATE_HOME/wsltui/live/records``
(one file per flow: the newest test of a flow replaces the older one), and every capture
(``wsltui snapshot``, the app, ``check``, ``report``) adds the stored records to the snapshot, so
``report`` and ``--from`` replays show what was observed. Files are written through
``safe_files`` (0600, never through a link). Reading never raises: an unreadable file is skipped.
"""

from __future__ import annotations

import json
import re

from wsltui import safe_files
from wsltui.records import LIVE_RECORD_PREFIX as RECORD_PREFIX
from wsltui.snapshot import Record

_NAME = re.compile(re.escape(RECORD_PREFIX) + r"(tcp|udp)-[0-9]{1,5}-[a-z0-9-]{1,40}")
MAX_BYTES = 1_000_000


def records_dir():
    return safe_files.state_dir() / "live" / "records"


def save(record: Record) -> None:
    """Keep ``record`` as the newest test of its flow. OSError when the state dir is unusable."""
    if not _NAME.fullmatch(record.name):
        raise ValueError(f"not a live record name: {record.name!r}")
    d = safe_files.private_dir(records_dir())
    safe_files.replace(d / f"{record.name}.json", json.dumps(record.to_json(), ensure_ascii=False))


def load_all() -> list[Record]:
    """Every stored live record (none when the directory is missing or unreadable)."""
    try:
        files = sorted(records_dir().glob(RECORD_PREFIX + "*.json"))
    except OSError:
        return []
    out = []
    for f in files:
        name = f.name[: -len(".json")]
        if not _NAME.fullmatch(name) or f.is_symlink():
            continue
        try:
            if f.stat().st_size > MAX_BYTES:
                continue
            out.append(Record.from_json(name, json.loads(f.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError, KeyError):
            continue
    return out
