"""The temporary listener of a live test: ``python -m wsltui.live.listener``.

It binds the port the way the user's service would (0.0.0.0, :: or 127.0.0.1), never with
SO_REUSEPORT, so the bind itself is the test that nothing else holds the port: when it fails, it prints ``busy`` and exits and wsltui never touches that port. Otherwise it
prints ``ready``, answers every TCP connection and UDP datagram with a short banner, and runs
until wsltui stops it (by its PID) or ``--seconds`` pass.
"""

from __future__ import annotations

import argparse
import errno
import selectors
import socket
import sys
import time

BANNER = b"wsltui live test listener\n"
READY, BUSY = "ready", "busy"


def bind(address: str, port: int, proto: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    try:
        if proto == "tcp":
            # Linux refuses the bind anyway while another socket listens on the port; this only
            # lets it reuse a port whose last connections are in TIME_WAIT. (For UDP it would
            # share someone's port, so UDP never sets it.)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # like a dual-stack service on [::]
        s.bind((address, port))
        if proto == "tcp":
            s.listen(16)
    except OSError:
        s.close()
        raise
    return s


def serve(s: socket.socket, seconds: float) -> None:
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _key, _ in sel.select(0.2):
            try:
                if s.type == socket.SOCK_STREAM:
                    conn, _peer = s.accept()
                    with conn:
                        conn.sendall(BANNER)
                else:
                    _data, peer = s.recvfrom(2048)
                    s.sendto(BANNER, peer)
            except OSError:
                pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wsltui.live.listener")
    p.add_argument("--address", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args(argv)
    try:
        s = bind(args.address, args.port, args.proto)
    except OSError as e:
        print(BUSY if e.errno == errno.EADDRINUSE else f"error {e.strerror}", flush=True)
        return 1
    print(READY, flush=True)
    with s:
        serve(s, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
