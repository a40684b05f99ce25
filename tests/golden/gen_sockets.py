"""Generate the ``sockets-*`` golden snapshots with real sockets, real ``ss`` and wsltui's own probes.

Run as root from the repo root: ``python tests/golden/gen_sockets.py`` (rewrites
tests/golden/sockets-*/). Namespaces use the prefix ``gso`` and subnet indices 70-79.

A helper process (and a forked child sharing its sockets, so ss shows two owners) binds one
listener of every kind inside the server namespace; the snapshot is taken; the helper and its
child are killed by PID; the namespaces are deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent / "support"))

from realtools import NetnsPair, ns_argv, ns_run  # noqa: E402

PREFIX = "gso"

# port -> what the helper binds there (kept in one place: tests read it back).
HELPER = r"""
import ctypes, json, os, socket, sys, time
SRV4, SRV6, DEV = sys.argv[1], sys.argv[2], sys.argv[3]
socks = []
def bind(kind, fam, addr, port, v6only=None, dev=None):
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.bind((addr, port))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    socks.append(s)
T, U, A4, A6 = socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.AF_INET, socket.AF_INET6
bind(T, A4, "127.0.0.1", 8001)
bind(T, A4, "0.0.0.0", 8002)
bind(T, A6, "::", 8003, v6only=0)         # dual-stack (Go/Node style)
bind(T, A6, "::", 8004, v6only=1)
bind(T, A6, "::1", 8005)
bind(T, A4, SRV4, 8006)
bind(T, A6, SRV6, 8007)
bind(T, A4, "0.0.0.0", 8008, dev=DEV)     # SO_BINDTODEVICE
bind(T, A6, "::", 8009, v6only=0, dev="lo")
bind(U, A4, "0.0.0.0", 8010)
bind(U, A6, "::", 8011, v6only=0)
bind(U, A6, "::", 8012, v6only=1)
bind(U, A4, "127.0.0.53", 53, dev="lo")   # systemd-resolved style
bind(T, A4, "127.0.0.53", 53, dev="lo")
bind(T, A4, "127.0.0.2", 8013)
bind(T, A4, "0.0.0.0", 8014)              # the same port twice: IPv4 wildcard ...
bind(T, A6, "::", 8014, v6only=1)         # ... plus a v6-only wildcard (both relays in NAT)
child = os.fork()
if child == 0:
    # A name with a space and parentheses (comm, max 15 bytes), like "(sd-pam)".
    ctypes.CDLL(None).prctl(15, b"gso (worker) 1", 0, 0, 0)
    while True:
        time.sleep(60)
print(json.dumps({"pid": os.getpid(), "child": child}), flush=True)
while True:
    time.sleep(60)
"""


class Helper:
    """The listener process inside namespace ``ns``; stopped by its PIDs."""

    def __init__(self, pair: NetnsPair) -> None:
        self.script = Path(tempfile.mkdtemp(prefix="gso-")) / "helper.py"
        self.script.write_text(HELPER)
        self.proc = subprocess.Popen(
            ns_argv(pair.srv, [sys.executable, str(self.script), pair.srv_ip, pair.srv_ip6, pair.srv_if]),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise RuntimeError(f"listener helper failed: {self.proc.stderr.read()}")
        info = json.loads(line)
        self.pid, self.child = int(info["pid"]), int(info["child"])

    def stop(self) -> None:
        for pid in (self.child, self.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(self.child, os.WNOHANG)
        except ChildProcessError:
            pass
        self.proc.wait()
        shutil.rmtree(self.script.parent, ignore_errors=True)

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


CASES = {
    "sockets-listeners": "Real `ss -H -l -n -t -u -p -e` as root in namespace gso-s (veth gso-a, 10.77.70.1/24, "
    "fd77:46::1/64): one listener of every kind (see HELPER in gen_sockets.py); every socket "
    "is shared by the helper and a forked child named \"gso (worker) 1\" (ss cuts comm at ')').",
    "sockets-nonroot": "The same sockets; `ss` retaken as uid 65534: no users:(...), so no owners.",
    "sockets-empty": "A fresh namespace with no listener: ss prints nothing and exits 0.",
}


def _tidy(out: Path, keep: tuple[str, ...] = ("net.sockets", "net.addr", "net.route")) -> None:
    """Keep only the records this golden is about (other parsers have their own goldens)."""
    for p in out.iterdir():
        name = p.name.split(".txt")[0].split(".meta.json")[0]
        if p.name != "snapshot.json" and name not in keep:
            p.unlink()


def generate(root: Path | str = HERE) -> list[Path]:
    root = Path(root)
    made: list[Path] = []
    with NetnsPair(PREFIX, 70) as pair, Helper(pair):
        time.sleep(0.1)
        # As root: ss names every owner.
        out = pair.snapshot(root / "sockets-listeners")
        _tidy(out)
        made.append(out)
        # As nobody: ss sees the same sockets but no owners (no users:(...)). Only the ss
        # record is retaken as uid 65534 (the interpreter's site-packages may be unreadable
        # for nobody); the other records are the root capture's.
        r = ns_run(
            pair.srv,
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "ss",
                "-H",
                "-l",
                "-n",
                "-t",
                "-u",
                "-p",
                "-e",
            ],
        )
        dest = root / "sockets-nonroot"
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(out, dest)
        (dest / "net.sockets.txt").write_text(r.stdout.decode(), encoding="utf-8")
        meta = json.loads((dest / "net.sockets.meta.json").read_text())
        meta["stderr"] = r.stderr.decode(errors="replace")
        (dest / "net.sockets.meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        info = json.loads((dest / "snapshot.json").read_text()) if (dest / "snapshot.json").exists() else {}
        info["note"] = "net.sockets retaken with setpriv --reuid=65534 (not root)"
        (dest / "snapshot.json").write_text(json.dumps(info, indent=1) + "\n")
        made.append(dest)
    # Empty: a namespace with no listener at all (ss prints nothing, exit 0).
    with NetnsPair(PREFIX, 71) as pair:
        out = pair.snapshot(root / "sockets-empty")
        _tidy(out)
        made.append(out)
    for p in made:
        (p / "CASE.md").write_text(CASES[p.name] + "\n")
    return made


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    for p in generate():
        print(p)
