"""The Linux client of a live test: one real connect, timed, printed as one JSON object.

Run as its own process (``python -m wsltui.live.connect``) so that it can enter another network
namespace (``--netns NAME``: ``setns`` on /run/netns/NAME, as ``ip netns exec`` does) without
moving wsltui itself. The JSON has the fields of ``facts.live.ClientOutcome`` (without
``sent_from``, which the caller knows), with a failed connect as ``"outcome": "failed"`` and its
errno in ``code``: ``client.py`` maps it, as it maps the Windows client's Winsock code. Only the
standard library is imported here, so the process starts fast.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import json
import os
import socket
import sys
import time
from typing import Any

CLONE_NEWNET = 0x40000000
# A close within this long after the connect is "at once" (a proxy whose own connect was refused
# closes in well under this; one whose connect timed out takes seconds).
AT_ONCE_MS = 300
PROBE_BYTES = b"wsltui-live\n"
# The words of facts.live (ClientOutcome.outcome / after_connect) this process prints.
CONNECTED, TIMEOUT, FAILED, ERROR = "connected", "timeout", "failed", "error"
DATA, CLOSED_AT_ONCE, CLOSED_AFTER_WAIT, OPEN_SILENT = "data", "closed-at-once", "closed-after-wait", "open"


def enter_netns(name: str) -> None:
    fd = os.open(os.path.join("/run/netns", name), os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into network namespace {name}")
    finally:
        os.close(fd)


def connect(host: str, port: int, proto: str, timeout: float, settle: float) -> dict[str, Any]:
    """Connect once; {outcome, code, elapsed_ms, after_connect, src, dst, detail}."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    out: dict[str, Any] = {
        "outcome": ERROR,
        "code": None,
        "elapsed_ms": None,
        "after_connect": None,
        "src": None,
        "dst": _endpoint((host, port)),
        "detail": "",
    }
    start = time.monotonic()
    with socket.socket(family, kind) as s:
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            if proto == "udp":
                s.send(PROBE_BYTES)
                s.recv(2048)
                out.update(outcome=CONNECTED, after_connect=DATA)
            else:
                out.update(outcome=CONNECTED, src=_endpoint(s.getsockname()))
                out["elapsed_ms"] = _ms(start)
                out["after_connect"] = _after_connect(s, settle)
                return out
        except TimeoutError:
            out["outcome"] = TIMEOUT
            if proto == "udp":
                out["detail"] = (
                    f"no UDP reply within {timeout:g} s: the datagram was dropped, or a listener got it "
                    "and did not answer"
                )
        except OSError as e:
            name = errno.errorcode.get(e.errno, "") if e.errno is not None else ""
            out.update(outcome=FAILED, code=e.errno, detail=f"{name or e.errno}: {e.strerror}")
        try:
            out["src"] = out["src"] or _endpoint(s.getsockname())
        except OSError:
            pass
    out["elapsed_ms"] = _ms(start)
    return out


def _after_connect(s: socket.socket, settle: float) -> str:
    """What came after a TCP connect: data, a close (at once or after a wait), or silence. The
    client speaks first too, so a server that waits for a request also answers or closes."""
    opened = time.monotonic()
    s.settimeout(settle)
    try:
        s.send(PROBE_BYTES)
        data = s.recv(1024)
    except TimeoutError:
        return OPEN_SILENT
    except OSError:
        return CLOSED_AT_ONCE  # a reset
    if data:
        return DATA
    return CLOSED_AT_ONCE if _ms(opened) < AT_ONCE_MS else CLOSED_AFTER_WAIT


def _endpoint(addr) -> str:
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _ms(since: float) -> int:
    return int((time.monotonic() - since) * 1000)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wsltui.live.connect")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    p.add_argument("--timeout", type=float, default=3.0)
    p.add_argument("--settle", type=float, default=1.0)
    p.add_argument("--netns", default=None)
    args = p.parse_args(argv)
    try:
        if args.netns:
            enter_netns(args.netns)
        result = connect(args.host, args.port, args.proto, args.timeout, args.settle)
    except OSError as e:
        result = {"outcome": ERROR, "code": e.errno, "detail": f"{e.strerror or e}"}
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
