"""The watch where an nft trace cannot run (``--read-only``, no nft): a short packet capture.

``python -m wsltui.live.capture`` opens a raw ``AF_PACKET`` socket (it changes nothing on the
machine, but needs CAP_NET_RAW) on the interface the scenario arrives on, or on all of them,
prints ``ready``, then one line per packet of the flow until it is stopped::

    req tcp 10.0.0.2:40000 > 10.0.0.1:8080 flags=0x02
    rep tcp 10.0.0.1:8080 > 10.0.0.2:40000 flags=0x12
    icmp 10.0.0.1 > 10.0.0.2 type=3 code=10

``watch.read_capture`` turns the lines into a ``LinuxWatch``: did the packet arrive, did a reply
leave. Only the standard library is imported here, so the process starts fast.
"""

from __future__ import annotations

import argparse
import ipaddress
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
PROTO = {6: "tcp", 17: "udp"}
ICMP_ERRORS = {(4, 3), (6, 1)}  # (IP version, type): destination unreachable


def parse(packet: bytes, ethertype: int) -> tuple | None:
    """(l4, src, dst, sport, dport, flags) or ("icmp", src, dst, type, code, (inner dport, inner src)); None for others."""
    if ethertype == ETH_P_IP and len(packet) >= 20 and packet[0] >> 4 == 4:
        ihl, proto = (packet[0] & 15) * 4, packet[9]
        src, dst, body, version = packet[12:16], packet[16:20], packet[ihl:], 4
        icmp = proto == 1
    elif ethertype == ETH_P_IPV6 and len(packet) >= 40 and packet[0] >> 4 == 6:
        proto, src, dst, body, version = packet[6], packet[8:24], packet[24:40], packet[40:], 6
        icmp = proto == 58
    else:
        return None
    s, d = str(ipaddress.ip_address(src)), str(ipaddress.ip_address(dst))
    if icmp and len(body) >= 4:
        inner = parse(body[8:], ETH_P_IP if version == 4 else ETH_P_IPV6) if (version, body[0]) in ICMP_ERRORS else None
        return ("icmp", s, d, body[0], body[1], (inner[4], inner[1]) if inner and inner[0] != "icmp" else None)
    if proto in PROTO and len(body) >= 4:
        sport, dport = struct.unpack("!HH", body[:4])
        flags = body[13] if proto == 6 and len(body) >= 14 else 0
        return (PROTO[proto], s, d, sport, dport, flags)
    return None


def line_of(p: tuple, proto: str, port: int, peer: str | None) -> str | None:
    """The packet as a line when it belongs to the flow (request, reply or ICMP error)."""
    kind, src, dst = p[0], p[1], p[2]
    if kind == "icmp":
        inner = p[5]
        if (peer is None or dst == peer) and inner is not None and inner[0] == port:
            return f"icmp {src} > {dst} type={p[3]} code={p[4]}"
        return None
    if kind != proto:
        return None
    if p[4] == port and (peer is None or src == peer):
        return f"req {kind} {_ep(src, p[3])} > {_ep(dst, p[4])} flags=0x{p[5]:02x}"
    if p[3] == port and (peer is None or dst == peer):
        return f"rep {kind} {_ep(src, p[3])} > {_ep(dst, p[4])} flags=0x{p[5]:02x}"
    return None


def _ep(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wsltui.live.capture")
    p.add_argument("--iface", default=None)
    p.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--peer", default=None, help="the client's address, when known")
    p.add_argument("--seconds", type=float, default=8.0)
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        if args.iface:
            s.bind((args.iface, 0))
    except OSError as e:
        print(f"error {e.strerror or e}", flush=True)
        return 1
    s.settimeout(0.2)
    print("ready", flush=True)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        try:
            data, addr = s.recvfrom(65535)
        except TimeoutError:
            continue
        packet = parse(data, addr[1])
        line = line_of(packet, args.proto, args.port, args.peer) if packet else None
        if line:
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
