"""The kernel oracle: send real packets between two namespaces and classify what came back.

From docs/real-components.md §1, extended to IPv6. Classes:
  accept              TCP handshake completed / UDP echo came back
  refused:rst         TCP RST (no listener, or a reject with tcp reset)
  refused:icmp        ICMP(v6) port unreachable
  unreach:icmp-T/C    another ICMP destination-unreachable (type/code)
  drop                nothing came back before the timeout
Every class maps to the symptom a user sees (``symptom``), which is what the simulator predicts.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import selectors
import socket
import struct
import threading
import time

CLONE_NEWNET = 0x40000000
IP_RECVERR = 11
IPV6_RECVERR = 25
SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 2, 3
_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def in_netns(name: str):
    """Move the calling thread into /run/netns/NAME for the block (threads and processes
    started meanwhile inherit it), then back."""
    back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {name}")
        yield
    finally:
        _libc.setns(back, CLONE_NEWNET)
        os.close(fd)
        os.close(back)


def symptom(cls: str, family: int = 4) -> str:
    if cls == "accept":
        return "connects"
    if cls == "drop":
        return "timeout"
    if cls.startswith("refused"):
        return "refused"
    if cls.startswith("error:"):  # an error on an open connection carries no ICMP detail, only errno
        return {
            "EHOSTUNREACH": "no route to host",
            "ENETUNREACH": "network unreachable",
            "ECONNREFUSED": "refused",
            "EACCES": "permission denied",
            "ECONNRESET": "refused",
            "ENOPROTOOPT": "protocol not available",
        }.get(cls[6:], cls)
    if cls.startswith("unreach:icmp-"):
        t, c = (int(x) for x in cls.split("-", 1)[1].split("(")[0].split("/"))
        if family == 6 or t == 1:
            return {
                0: "network unreachable",
                1: "permission denied",
                3: "no route to host",
                5: "permission denied",
                6: "permission denied",
            }.get(c, f"icmp6 {t}/{c}")
        return {
            0: "network unreachable",
            1: "no route to host",
            2: "protocol not available",
            9: "network unreachable",
            10: "no route to host",
            13: "no route to host",
        }.get(c, f"icmp {t}/{c}")
    return cls


def _errqueue(s: socket.socket, v6: bool):
    try:
        _, anc, _, _ = s.recvmsg(1, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
    except OSError:
        return None
    for _lvl, _typ, d in anc:
        _ee_errno, origin, ty, code = struct.unpack_from("IBBB", d)
        if origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
            return ty, code
    return None


def _classify(s, err, v6):
    icmp = _errqueue(s, v6)
    if err == 0:
        return "accept"
    if icmp:
        port_unreach = (1, 4) if v6 else (3, 3)
        if icmp == port_unreach:
            return "refused:icmp"
        return f"unreach:icmp-{icmp[0]}/{icmp[1]}"
    if err == errno.ECONNREFUSED:
        return "refused:rst"
    return f"error:{errno.errorcode.get(err, err)}"


def probe_many(targets, timeout: float = 0.15, witness: Listeners | None = None) -> dict:
    """targets: (host, port, 'tcp'|'udp'). Call with the thread in the client namespace.

    With ``witness`` (the server's listeners), a TCP connect that completes on the client counts
    as accepted only once the server has accepted it too: if the client's next packet (the
    handshake's ACK) is dropped or rejected, the connection opens and then hangs or breaks."""
    sel = selectors.DefaultSelector()
    res = {}
    opened = {}  # socket -> target: connected on the client, waiting for the server's accept
    for t in targets:
        host, port, proto = t
        v6 = ":" in host
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        if v6:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        else:
            s.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
        s.setblocking(False)
        if proto == "tcp":
            rc = s.connect_ex((host, port))
            if rc not in (0, errno.EINPROGRESS):
                res[t] = _classify(s, rc, v6)
                s.close()
                continue
            sel.register(s, selectors.EVENT_WRITE, t)
        else:
            s.connect((host, port))
            s.send(b"wsltui-probe")
            sel.register(s, selectors.EVENT_READ, t)
    deadline = time.monotonic() + timeout
    while sel.get_map():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(left):
            s, t = key.fileobj, key.data
            v6 = ":" in t[0]
            if t[2] == "tcp":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err == 0 and witness is not None:
                    sel.unregister(s)
                    opened[s] = t
                    continue
            else:
                try:
                    s.recv(2048)
                    err = 0
                except OSError as e:
                    err = e.errno
            res[t] = _classify(s, err, v6)
            sel.unregister(s)
            s.close()
    while opened:
        for s, t in list(opened.items()):
            if s.getsockname()[1] in witness.accepted:  # by client port: NAT may change the server's
                res[t] = "accept"
            else:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err == 0:
                    continue
                res[t] = _classify(s, err, ":" in t[0])
            del opened[s]
            s.close()
        if not opened or time.monotonic() > deadline:
            break
        time.sleep(0.002)
    for s, t in opened.items():  # connected, but the server never got the connection: it hangs
        res[t] = "drop"
        s.close()
    for key in list(sel.get_map().values()):
        s, t = key.fileobj, key.data
        icmp = _errqueue(s, ":" in t[0])
        res[t] = f"unreach:icmp-{icmp[0]}/{icmp[1]}(soft)" if icmp else "drop"
        sel.unregister(s)
        s.close()
    sel.close()
    return res


class Listeners:
    """TCP and UDP (echo) listeners on 0.0.0.0 and :: in the server namespace (created while the
    thread is in it), served by one echo thread."""

    def __init__(self, ports: list[int], *, v6: bool = True, udp_ports: list[int] | None = None) -> None:
        self.socks = []
        udp_ports = ports if udp_ports is None else udp_ports
        for fam, addr in ((socket.AF_INET, "0.0.0.0"),) + (((socket.AF_INET6, "::"),) if v6 else ()):
            for p in ports:
                t = socket.socket(fam, socket.SOCK_STREAM)
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                t.bind((addr, p))
                t.listen(64)
                self.socks.append(t)
            for p in udp_ports:
                u = socket.socket(fam, socket.SOCK_DGRAM)
                if fam == socket.AF_INET6:
                    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                u.bind((addr, p))
                u.setblocking(False)
                self.socks.append(u)
        self.accepted: set[int] = set()  # client ports of the connections the server accepted
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._echo, daemon=True)
        self._thread.start()

    def _echo(self) -> None:
        sel = selectors.DefaultSelector()
        for s in self.socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        while not self._stop.is_set():
            for k, _ in sel.select(0.005):
                s = k.fileobj
                try:
                    if s.type == socket.SOCK_STREAM:
                        conn, peer = s.accept()
                        self.accepted.add(peer[1])
                        conn.close()
                    else:
                        d, a = s.recvfrom(2048)
                        s.sendto(d, a)
                except OSError:
                    pass
        sel.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for s in self.socks:
            s.close()


@contextlib.contextmanager
def listening_pair(tag: str, index: int, ports, **listeners):
    """A namespace pair (realtools.netns_pair) whose server listens on ``ports`` (``pair.listeners``),
    closed afterwards."""
    from realtools import netns_pair

    with netns_pair(tag, index) as pair:
        with in_netns(pair.srv):
            pair.listeners = Listeners(ports, **listeners)
        try:
            yield pair
        finally:
            with in_netns(pair.srv):
                pair.listeners.close()
