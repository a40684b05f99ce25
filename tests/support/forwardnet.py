"""A server namespace with a container behind a bridge, for the forward-path kernel tests.

    client ns --veth-- server ns (the ruleset; ip_forward=1) --bridge BR--veth-- container ns

The container runs a real listener process (so wsltui's own netns probe finds its sockets the
way it finds a Docker container's): TCP and UDP echo on ``CONTAINER_PORTS``; other ports are
closed. It prints the client port of every TCP connection it accepts (the oracle's witness).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field

from realtools import NetnsPair, ip_batch, netns_pair, ns_run

CONTAINER_PORTS = (80, 5353)

LISTENER = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in map(int, sys.argv[1:]):
    t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", port)); t.listen(64)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port))
    for s in (t, u):
        s.setblocking(False); sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            if s.type == socket.SOCK_STREAM:
                conn, peer = s.accept(); print(peer[1], flush=True); conn.close()
            else:
                data, peer = s.recvfrom(2048); s.sendto(data, peer)
        except OSError:
            pass
"""


@dataclass
class Behind:
    """A NetnsPair plus a container namespace behind bridge ``br`` in the server."""

    pair: NetnsPair
    ctr: str = ""
    br: str = ""
    net: str = ""  # "172.N.I" (the container subnet without the last part)
    accepted: set = field(default_factory=set)

    @property
    def bridge_ip(self) -> str:
        return f"{self.net}.1"

    @property
    def container_ip(self) -> str:
        return f"{self.net}.2"

    def fill(self, text: str) -> str:
        return (
            text.replace("@BR@", self.br)
            .replace("@CTR@", self.container_ip)
            .replace("@CTRNET@", f"{self.net}.0/24")
            .replace("@BRIP@", self.bridge_ip)
        )


def behind(tag: str, index: int):
    """Context manager: a Behind (its pair from realtools.netns_pair), torn down with its namespaces
    and its listener process."""
    return _Setup(tag, index)


class _Setup:
    def __init__(self, tag: str, index: int) -> None:
        self.tag, self.index = tag, index

    def __enter__(self) -> Behind:
        pair = netns_pair(self.tag, self.index)
        prefix = pair.prefix
        b = Behind(pair, ctr=f"{prefix}-k", br=f"{prefix}-br", net=f"172.{16 + os.getpid() % 16}.{self.index}")
        self.b, self.proc = b, None
        try:
            host_if, ctr_if = f"{prefix}-h", f"{prefix}-v"
            ip_batch(f"netns add {b.ctr}\n")
            ip_batch(
                f"link add {b.br} type bridge\nlink add {host_if} type veth peer name {ctr_if} netns {b.ctr}\n"
                f"link set {host_if} master {b.br}\naddr add {b.bridge_ip}/24 dev {b.br}\n"
                f"link set {b.br} up\nlink set {host_if} up\n",
                pair.srv,
            )
            ip_batch(
                f"link set {ctr_if} name eth0\naddr add {b.container_ip}/24 dev eth0\nlink set eth0 up\n"
                f"link set lo up\nroute add default via {b.bridge_ip}\n",
                b.ctr,
            )
            ns_run(pair.srv, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
            ns_run(b.ctr, ["sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"])
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", b.ctr, sys.executable, "-c", LISTENER, *map(str, CONTAINER_PORTS)],
                stdout=subprocess.PIPE,
                text=True,
            )
            if self.proc.stdout.readline().strip() != "ready":
                raise RuntimeError("the container's listener did not start")
            threading.Thread(target=self._read, daemon=True).start()
        except BaseException:
            self.__exit__()
            raise
        return b

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.strip().isdigit():
                self.b.accepted.add(int(line))

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["ip", "netns", "del", self.b.ctr], capture_output=True)
        self.b.pair.close()
