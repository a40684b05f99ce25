"""What a live test sends, from where, and what Linux will see: or exactly why it cannot be sent.

Per scenario (the packet paths of docs/design.md §3):
- the Windows scenarios connect from Windows through interop (one powershell.exe);
- wsl-to-windows and a custom scenario without ``--client-netns`` connect from this namespace;
  a custom scenario with ``--client-netns NAME`` from that namespace;
- lan-to-host is sent from Windows to its own LAN address only where that takes the same path
  into WSL (the portproxy), and says what that leaves untested (the Windows Firewall inbound rule
  for the LAN: a connection from Windows to its own address is loopback, which it does not filter);
- lan-to-wsl-ip cannot be sent from this machine at all.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wsltui.live.watch import Flow

if TYPE_CHECKING:
    from wsltui.simulation.simulate import Scenario, World
    from wsltui.simulation.trace import Trace

WINDOWS, WSL = "windows", "wsl"


@dataclass(frozen=True)
class LivePlan:
    sent_from: str  # "windows" | "wsl" | "netns:<name>"
    target: str | None  # the address the client connects to
    port: int
    proto: str
    flow: Flow | None  # what Linux sees (None: Linux is not on the path, or it is not known)
    bind: str | None = None  # how a temporary listener binds (None: the service is not in Linux)
    cannot: str | None = None  # why nothing can be sent
    untested: tuple[str, ...] = ()  # what the test does not cover, and why

    @property
    def netns(self) -> str | None:
        return self.sent_from.split(":", 1)[1] if self.sent_from.startswith("netns:") else None


def plan(world: World, scenario: Scenario, client_netns: str | None = None, trace: Trace | None = None) -> LivePlan:
    """``trace``: the model's trace of the scenario; lan-to-host reads from it what the portproxy
    sends into Linux."""
    name, port, proto = scenario.name, scenario.port, scenario.proto
    mode = world.mode
    net = world.facts.network

    def no(why: str, sent_from: str = WINDOWS) -> LivePlan:
        return LivePlan(sent_from, None, port, proto, None, cannot=why)

    if client_netns and name != "custom":
        return no(f"--client-netns is for --scenario custom; {name} has its own client", f"netns:{client_netns}")
    if name == "custom":
        return _custom(world, scenario, client_netns)
    if mode not in ("nat", "mirrored"):
        return no(f"live tests of {name} are sent in NAT and mirrored mode; this machine's mode is {mode}")
    if name in ("windows-localhost-v4", "windows-localhost-v6"):
        v6 = name.endswith("v6")
        addr = "::1" if v6 else "127.0.0.1"
        if mode == "nat":  # wslrelay connects on lo from the loopback address
            flow = Flow(proto, port, 6 if v6 else 4, addr, addr, "lo")
        else:
            flow = Flow(proto, port, 6 if v6 else 4, None, addr, "loopback0")
        return LivePlan(WINDOWS, addr, port, proto, flow, bind="::" if v6 else "0.0.0.0")
    if name == "windows-to-wsl-ip":
        dst = scenario.dst or _addr(net.primary_address if net is not None else None)
        if dst is None:
            return no("the WSL address is not known (ip -j addr show)")
        gw = _addr(None if net is None else net.default_gateway_v4 if dst.version == 4 else net.default_gateway_v6)
        iface = (net.primary_interface if net is not None else None) or "eth0"
        flow = Flow(proto, port, dst.version, str(gw) if gw and mode == "nat" else None, str(dst), iface)
        return LivePlan(WINDOWS, str(dst), port, proto, flow, bind=_wildcard(dst))
    if name == "wsl-to-windows":
        dst = scenario.dst or (
            ipaddress.ip_address("127.0.0.1")
            if mode == "mirrored"
            else _addr(net.default_gateway_v4 if net is not None else None)
        )
        if dst is None:
            return no("the Windows host's address is not known (ip -j route show table all); pass --dst", WSL)
        flow = Flow(proto, port, dst.version, None, str(dst), None, outbound=True)
        return LivePlan(WSL, str(dst), port, proto, flow)
    if name in ("windows-to-host-ip", "lan-to-host"):
        dst = scenario.dst
        if dst is None:
            return no(f"{name} needs the Windows host's address: pass --dst ADDR (its LAN address)")
        if name == "windows-to-host-ip":
            return LivePlan(WINDOWS, str(dst), port, proto, None)
        if mode == "mirrored":
            return no(
                "in mirrored mode a connection from Windows to its own LAN address takes the host's loopback "
                "path (hostAddressLoopback), not the LAN's: test from a LAN device"
            )
        untested = (
            "the Windows Defender Firewall inbound rule for the LAN: this test connects from Windows to its "
            "own LAN address, which is loopback for Windows and not filtered; test from a LAN device for it",
        )
        # NAT: the same path as from the LAN from the portproxy on: it connects into Linux as the trace says.
        return LivePlan(WINDOWS, str(dst), port, proto, _linux_packet(trace), untested=untested)
    return no(f"{name} starts on another machine: wsltui cannot send it from here (test from a LAN device)")


def _custom(world, scenario, client_netns: str | None) -> LivePlan:
    src, dst = scenario.src, scenario.dst
    sent_from = f"netns:{client_netns}" if client_netns else WSL
    target = dst or (
        ipaddress.ip_address("::1") if src is not None and src.version == 6 else ipaddress.ip_address("127.0.0.1")
    )
    if scenario.in_iface and not client_netns:
        return LivePlan(
            sent_from,
            None,
            scenario.port,
            scenario.proto,
            None,
            cannot=f"a connection from this namespace does not arrive on {scenario.in_iface}: pass "
            "--client-netns NAME (a namespace on the other side of that interface)",
        )
    untested: tuple[str, ...] = ()
    if src is not None and not client_netns:
        untested = (f"the source address {src}: the connection is made from this machine's own address",)
    flow = Flow(
        scenario.proto,
        scenario.port,
        target.version,
        str(src) if src and client_netns else None,
        str(target),
        scenario.in_iface,
    )
    return LivePlan(
        sent_from, str(target), scenario.port, scenario.proto, flow, bind=_wildcard(target), untested=untested
    )


_PACKET = re.compile(r"^(tcp|udp) \[?([0-9a-fA-F.:]+)\]?:\d+ -> \[?([0-9a-fA-F.:]+)\]?:(\d+)(?: \(in ([^,)]+)\))?")


def _linux_packet(trace: Trace | None) -> Flow | None:
    """The packet the trace's first netfilter hop sees (``Packet.describe``), as a Flow; None when
    the trace does not reach Linux."""
    hop = next((h for h in (trace.hops if trace is not None else ()) if h.layer == "netfilter" and h.packet), None)
    m = _PACKET.match(hop.packet) if hop is not None else None
    if not m:
        return None
    src, dst = _addr(m[2]), _addr(m[3])
    if src is None or dst is None:
        return None
    return Flow(m[1], int(m[4]), dst.version, str(src), str(dst), m[5])


def _wildcard(addr) -> str:
    return "::" if addr.version == 6 else "0.0.0.0"


def _addr(text):
    if not text:
        return None
    try:
        return ipaddress.ip_address(str(text).split("/")[0])
    except ValueError:
        return None
