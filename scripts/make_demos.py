#!/usr/bin/env python3
"""Build the bundled demo snapshots (wsltui/demos/<name>/) from real tools (needs root).

Each demo is a real capture, made with wsltui's own probes inside a network namespace shaped
like a WSL2 VM (eth0 on a 172.x/20 NAT subnet, a default route to the Windows host's vEthernet
address), with the real firewall and real listening sockets. Only what cannot exist on Linux is
written by hand on top — the records of WSL itself (kernel release, ``wslinfo``, ``.wslconfig``,
``/etc/wsl.conf``) and, later, the Windows side — and each demo's ABOUT says which.

Run: ``sudo .venv/bin/python scripts/make_demos.py [NAME...]``
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from realtools import Firewalld, ip_batch, ns_argv, ns_run  # noqa: E402

DEMOS = REPO / "wsltui" / "demos"
WSL_ADDR, WSL_GW, PREFIX = "172.28.165.23", "172.28.160.1", 20
KERNEL = "5.15.167.4-microsoft-standard-WSL2\n"
WSL_VERSION = "2.3.26\n"

# A tiny server that names itself like the developer's program and binds what it is told.
SERVER = r"""
import socket, sys, time
socks = []
for spec in sys.argv[1:]:
    proto, addr, port = spec.split(",")
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((addr, int(port)))
    if proto == "tcp":
        s.listen(16)
    socks.append(s)
print("ready", flush=True)
time.sleep(3600)
"""


class WslVm:
    """A namespace that looks like a WSL2 VM in NAT mode, with a 'Windows host' peer."""

    def __init__(self, name: str) -> None:
        self.ns, self.host_ns = f"demo-{name}", f"demo-{name}-win"
        ip_batch(f"netns add {self.ns}\nnetns add {self.host_ns}\n"
                 f"link add eth0 netns {self.ns} type veth peer name vEthernetWSL netns {self.host_ns}\n")
        ip_batch(f"addr add {WSL_ADDR}/{PREFIX} dev eth0\nlink set lo up\nlink set eth0 up\n"
                 f"route add default via {WSL_GW}\naddr add 10.255.255.254/32 dev lo\n", self.ns)
        ip_batch(f"addr add {WSL_GW}/{PREFIX} dev vEthernetWSL\nlink set lo up\nlink set vEthernetWSL up\n", self.host_ns)
        self.servers: list[subprocess.Popen] = []
        self.bin = Path(tempfile.mkdtemp(prefix="wsltui-demo-bin-"))

    def serve(self, program: str, *specs: str) -> None:
        """Start ``program`` (a python3 symlink, so ss/psutil show that name) with listeners."""
        exe = self.bin / program
        if not exe.exists():
            exe.symlink_to(sys.executable)
        proc = subprocess.Popen(ns_argv(self.ns, [str(exe), "-c", SERVER, *specs]), stdout=subprocess.PIPE, text=True)
        assert proc.stdout and proc.stdout.readline().strip() == "ready"
        self.servers.append(proc)

    def capture(self, out: Path, *, env: dict | None = None, binds=()) -> None:
        if out.exists():
            shutil.rmtree(out)
        ns_run(self.ns, [sys.executable, "-m", "wsltui", "snapshot", "--dir", str(out)],
               env={"PYTHONPATH": str(REPO), **(env or {})}, binds=list(binds))

    def close(self) -> None:
        for proc in self.servers:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        for ns in (self.ns, self.host_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(self.bin, ignore_errors=True)


def dress_as_wsl(out: Path, *, mode: str = "nat", wslconfig: str | None = None, wsl_conf: str = "[boot]\nsystemd=true\n") -> None:
    """Write the WSL records a Linux namespace cannot produce, and drop host-specific noise."""
    (out / "kernel.osrelease.txt").write_text(KERNEL)
    (out / "wsl.networking-mode.txt").write_text(mode + "\n")
    (out / "wsl.version.txt").write_text(WSL_VERSION)
    (out / "wsl.conf.txt").write_text(wsl_conf)
    for name in ("kernel.osrelease", "wsl.networking-mode", "wsl.version", "wsl.conf", "wsl.wslconfig"):
        (out / f"{name}.meta.json").unlink(missing_ok=True)
    if wslconfig is None:
        (out / "wsl.wslconfig.txt").write_text("")
        (out / "wsl.wslconfig.meta.json").write_text(
            '{"argv": ["cat", "/mnt/c/Users/dev/.wslconfig"], "exit_code": 1,'
            ' "stderr": "cat: /mnt/c/Users/dev/.wslconfig: No such file or directory", "seconds": 0.11, "error": null}\n')
    else:
        (out / "wsl.wslconfig.txt").write_text(wslconfig)
    (out / "snapshot.json").unlink(missing_ok=True)


def nat_firewalld_reject(out: Path) -> str:
    vm = WslVm("fwrej")
    fw = None
    try:
        fw = Firewalld(vm.ns)  # default zone public, eth0 falls into it; ssh and dhcpv6-client only
        vm.serve("main", "tcp,0.0.0.0,8080")
        vm.serve("node", "tcp,::,3000")
        vm.capture(out, env=fw.env, binds=fw.binds)
    finally:
        if fw:
            fw.stop()
        vm.close()
    dress_as_wsl(out)
    return ("NAT mode; firewalld rejects the developer's port 8080 on eth0 (public zone allows only ssh)\n"
            "Real capture: firewalld 1.3 (nftables backend) and two listeners, main on 0.0.0.0:8080 and node on [::]:3000.\n"
            "Hand-written: kernel release, wslinfo, /etc/wsl.conf, .wslconfig (absent).\n")


def nat_healthy(out: Path) -> str:
    vm = WslVm("ok")
    try:
        vm.serve("main", "tcp,0.0.0.0,8080", "udp,0.0.0.0,5353")
        vm.capture(out)
    finally:
        vm.close()
    dress_as_wsl(out)
    return ("NAT mode, no Linux firewall, a Go server on 0.0.0.0:8080: reachable from Windows\n"
            "Real capture: empty rulesets, listeners main on 0.0.0.0:8080/tcp and 0.0.0.0:5353/udp.\n"
            "Hand-written: kernel release, wslinfo, /etc/wsl.conf, .wslconfig (absent).\n")


BUILDERS = {"nat-firewalld-reject": nat_firewalld_reject, "nat-healthy": nat_healthy}


def main(names: list[str]) -> None:
    if os.geteuid() != 0:
        sys.exit("make_demos.py needs root (it builds namespaces)")
    for name in names or BUILDERS:
        out = DEMOS / name
        start = time.monotonic()
        about = BUILDERS[name](out)
        (out / "ABOUT").write_text(about)
        print(f"{name}: {len(list(out.glob('*.txt')))} records in {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
