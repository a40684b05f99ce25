"""The flow simulator: ``simulate(facts, scenario) -> Trace``. Pure: no I/O, no Textual.

The path a packet takes depends on the effective networking mode (``wslinfo``) and on who
connects (docs/design.md §3, docs/wsl-networking.md). Every layer on that path is a hop; Linux hops are
evaluated from the facts (netfilter, the listening sockets); Windows hops need Windows facts
and say ``unknown`` until those are captured.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice

from wsltui.facts import Facts
from wsltui.facts.base import Unknown, building_many_objects
from wsltui.facts.network import NetworkFacts
from wsltui.facts.windows import WindowsFacts
from wsltui.facts.wsl import WslConfig
from wsltui.simulation import caveats, forward_hop, socket_hop, symptoms
from wsltui.simulation import windows as winsim
from wsltui.simulation.attribution import attribute, established_fixes, firewalld_zone_for, nd_fixes, netfilter_fixes
from wsltui.simulation.decided import netfilter_keys
from wsltui.simulation.netfilter.build import build_host, build_netfilter
from wsltui.simulation.netfilter.data import Netfilter
from wsltui.simulation.netfilter.evaluate import (
    ChainOutcome,
    NetfilterTrace,
    deliver,
    deliver_established,
    deliver_past_blockers,
    run_hook,
)
from wsltui.simulation.packet import Address, HostView, Packet, solicited_node
from wsltui.simulation.trace import NO_ROUTE, REFUSED, TIMEOUT, WRONG_PROGRAM, Fix, Hop, Trace, reject_symptom
from wsltui.vocabulary import Verdict

SCENARIOS = {
    "windows-localhost-v4": "a Windows app connects to 127.0.0.1:PORT",
    "windows-localhost-v6": "a Windows app connects to [::1]:PORT",
    "windows-to-wsl-ip": "a Windows app connects to the WSL VM's IP (eth0)",
    "lan-to-host": "a device on the LAN connects to the Windows host's IP",
    "wsl-to-windows": "a Linux program in WSL connects to a service on Windows (--dst: which Windows address)",
    "windows-to-host-ip": "a Windows app connects to the Windows host's own LAN IP (--dst; mirrored: the IP WSL shares)",
    "lan-to-wsl-ip": "a device on the LAN connects to the WSL VM's IP",
    "custom": "any packet: --src, --dst and --in-iface",
}
NO_WINDOWS_DATA = "no Windows data: the Windows side is not captured yet"
LAN_CLIENT = ipaddress.ip_address("192.168.1.50")  # a stand-in LAN device when --src is not given


@dataclass
class Scenario:
    name: str
    port: int
    proto: str = "tcp"
    src: Address | None = None  # custom, or the LAN client
    dst: Address | None = None
    in_iface: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class World:
    """The facts the simulator reads, compiled once per snapshot (a trace is then cheap)."""

    facts: Facts
    netfilter: Netfilter
    host: HostView
    mode: str  # effective mode, or "unknown"
    mode_reason: str | None
    # Traces of the two localhost scenarios, each walked once (``_seen``); never handed out as such.
    localhost_traces: dict[tuple, Trace] = field(default_factory=dict, repr=False, compare=False)
    # The Linux hops per packet (``_linux``): windows-to-wsl-ip and portproxy's leg to the WSL IP
    # send the same packet into Linux. Handed out as copies (the symptom pass rewrites hops).
    linux_legs: dict[Packet, list[Hop]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_facts(cls, facts: Facts) -> World:
        with building_many_objects():
            nf = build_netfilter(facts.iptables, facts.nft)
            host = build_host(facts.network, facts.forward)
        mode, reason = "unknown", None
        wsl = facts.wsl
        if wsl is None:
            reason = "the WSL facts could not be read"
        elif isinstance(wsl.kind, str) and wsl.kind == "not-wsl":
            mode = "not-wsl"
        elif isinstance(wsl.kind, str) and wsl.kind == "wsl1":
            mode = "wsl1"
        elif isinstance(wsl.networking_mode, Unknown):
            reason = str(wsl.networking_mode)
        else:
            mode = wsl.networking_mode
        return cls(facts, nf, host, mode, reason)

    @property
    def network(self) -> NetworkFacts:
        """The network facts; when they could not be read, none: no address, no interface."""
        return self.facts.network if self.facts.network is not None else NO_NETWORK

    @property
    def wslconfig(self) -> WslConfig | Unknown | None:
        """What .wslconfig asks for (None: the WSL facts could not be read)."""
        return self.facts.wsl.wslconfig if self.facts.wsl is not None else None


NO_NETWORK = NetworkFacts(
    Unknown("the network facts could not be read"), Unknown("the network facts could not be read")
)


def simulate(world: World, sc: Scenario, *, with_caveats: bool = True) -> Trace:
    """The hops of ``sc``, what its client sees (``symptoms.client_view``), then the caveats. A
    caveat may compare with another scenario for the same port (its trace, without caveats)."""
    trace = _seen(world, sc)
    if not with_caveats:
        return trace
    found = caveats.caveats(world, sc, trace, lambda name: _seen(world, dataclasses.replace(sc, name=name)))
    return dataclasses.replace(trace, caveats=[*trace.caveats, *found])


def _seen(world: World, sc: Scenario) -> Trace:
    """The walk as the client sees it. The two localhost scenarios of a port compare with each
    other (a caveat), so each is walked once per World and kept; callers get copies."""
    if sc.name not in caveats.LOCALHOST:
        return symptoms.client_view(world, sc, _walk(world, sc))
    key = (sc.name, sc.port, sc.proto, sc.src, sc.dst, sc.in_iface, tuple(sc.notes))
    if key not in world.localhost_traces:
        world.localhost_traces[key] = symptoms.client_view(world, sc, _walk(world, sc))
    return world.localhost_traces[key]


def _walk(world: World, sc: Scenario) -> Trace:
    mode = world.mode
    trace = Trace(sc.name, mode, sc.proto, sc.port, notes=list(sc.notes))
    if world.netfilter.unknown_sources:
        trace.notes += [f"not read: {s}" for s in world.netfilter.unknown_sources]
    mismatch = world.facts.wsl.mode_mismatch if world.facts.wsl is not None else None
    if mismatch:
        trace.notes.append(mismatch)
    if sc.name == "custom":
        _linux(world, trace, _custom_packet(world, sc))
        return _finish(trace)
    if mode == "unknown":
        wsl = world.facts.wsl
        why = wsl.assumed_mode() if wsl is not None else "the WSL facts could not be read"
        trace.hops.append(
            Hop(
                "path",
                Verdict.ASSUMED,
                f"The networking mode is unknown, so the NAT path is traced: {why}.",
                assumption="networking mode NAT",
                reason=world.mode_reason,
            )
        )
        mode = "nat"
    if mode == "not-wsl":
        trace.hops.append(
            Hop(
                "path",
                Verdict.NOT_APPLICABLE,
                "This machine is not WSL: there is no Windows side. "
                "Use --scenario custom to trace a packet through this machine's firewall.",
                reason="the kernel release does not say microsoft",
            )
        )
        return _finish(trace)
    if mode == "none":
        trace.hops.append(
            Hop("path", Verdict.DROP, "WSL runs with networkingMode=none: the VM has no network.", symptom="timeout")
        )
        return _finish(trace)
    if mode == "wsl1":
        trace.hops.append(
            Hop(
                "path",
                Verdict.NOT_APPLICABLE,
                "WSL1 shares the Windows network stack: Linux programs are "
                "Windows sockets here, and only the Windows firewall applies.",
                reason=NO_WINDOWS_DATA,
            )
        )
        return _finish(trace)
    build = {
        "windows-localhost-v4": _localhost,
        "windows-localhost-v6": _localhost,
        "windows-to-wsl-ip": _to_wsl_ip,
        "lan-to-host": _lan,
        "wsl-to-windows": _to_windows,
        "windows-to-host-ip": _to_host_ip,
        "lan-to-wsl-ip": _lan_to_wsl_ip,
    }[sc.name]
    build(world, trace, sc, mode)
    return _finish(trace)


def _finish(trace: Trace) -> Trace:
    trace.blockers = [b for hop in trace.hops if hop.blocks for b in (hop, *hop.behind)]
    return trace


@contextmanager
def _assuming(trace: Trace, blocker: Hop) -> Iterator[None]:
    """The hops appended inside are traced as if ``blocker``'s fix were in place (``Hop.assumes_fix``):
    the path past a missing piece, so the blockers behind it are named now, not after the user
    fixed the first one. The first blocker and the symptom stay those of the current state."""
    start = len(trace.hops)
    yield
    title = _assumed_fix(blocker)
    for hop in trace.hops[start:]:
        if hop.assumes_fix is None:
            hop.assumes_fix = title


def _assumed_fix(blocker: Hop) -> str:
    """The fix a continued trace assumes: the last of the blocker's own (a stale entry behind a
    stopped service is fixed after it), one that keeps the port and address when there is a choice."""
    hop = blocker.behind[-1] if blocker.behind else blocker
    fix = next((f for f in hop.fixes if f.commands), hop.fixes[0] if hop.fixes else None)
    return fix.title if fix is not None else f"{hop.layer} no longer blocks"


def windows_unknown(layer: str, what: str, command: str) -> Hop:
    return Hop(layer, Verdict.UNKNOWN, what, reason=f"{NO_WINDOWS_DATA} (would tell: {command})")


# --- Windows hops (wsltui.simulation.windows); windows_unknown when nothing was captured ------


def _hyperv(
    world: World, win: WindowsFacts, pkt: winsim.WinPacket, *, what: str, mode: str, host_to_vm: bool = False
) -> Hop:
    """The Hyper-V firewall hop; whether it is there at all also hangs on .wslconfig."""
    cfg = world.wslconfig
    return winsim.hyperv(
        win, pkt, what=what, mode=mode, host_to_vm=host_to_vm, wslconfig=None if isinstance(cfg, Unknown) else cfg
    )


def _lan_firewall(win: WindowsFacts, sc: Scenario, program: str | None, service: str | None, what: str) -> Hop:
    """Windows Defender Firewall inbound on the LAN adapter(s): the first that blocks, else the first."""
    adapters = winsim.lan_adapters(win)
    src = str(sc.src or LAN_CLIENT)
    if isinstance(adapters, Unknown) or not adapters:
        pkt = winsim.WinPacket("in", sc.proto, sc.port, src, program=program, service=service)
        return winsim.firewall(win, pkt, what=what)
    hops = [
        winsim.firewall(
            win,
            winsim.WinPacket("in", sc.proto, sc.port, src, interface=a.alias, program=program, service=service),
            what=what,
        )
        for a in adapters
    ]
    return next((h for h in hops if h.blocks), next((h for h in hops if h.verdict == "unknown"), hops[0]))


# --- scenarios -------------------------------------------------------------------------------


def _localhost(world: World, trace: Trace, sc: Scenario, mode: str) -> None:
    loop = ipaddress.ip_address("::1" if sc.name.endswith("v6") else "127.0.0.1")
    dst = sc.dst or loop
    if not dst.is_loopback or dst.version != loop.version:
        trace.hops.append(
            Hop(
                "path",
                Verdict.NOT_APPLICABLE,
                f"{dst} is not an IPv{loop.version} loopback address: this scenario "
                f"is a Windows app connecting to {loop} (windows-to-host-ip and windows-to-wsl-ip take other "
                "addresses).",
                reason=f"--dst {dst} does not fit {sc.name}",
            )
        )
        return
    trace.hops.append(
        Hop("windows-firewall", Verdict.NOT_APPLICABLE, "Windows Defender Firewall does not filter loopback traffic.")
    )
    {"nat": _relay_localhost, "bridged": _relay_localhost, "consomme": _consomme_localhost}.get(
        mode, _mirrored_localhost
    )(world, trace, sc, dst)


def _relay_localhost(world: World, trace: Trace, sc: Scenario, dst: Address) -> None:
    """NAT and bridged: WSL's relay on Windows loopback (wslrelay.exe, or wslhost.exe before WSL 2.0)."""
    win = winsim.captured(world.facts)
    name = winsim.relay_name(win)
    relay_address = dst in (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
    if win is not None:
        if relay_address:
            trace.hops.append(winsim.relay_excluded(win, sc.proto, sc.port, str(dst)))
        taker, proxied = winsim.relay_listener(win, sc.proto, sc.port, str(dst))
        trace.hops.append(taker)
        if proxied:  # portproxy, not the relay, holds the address: the connection follows its entry
            net = world.network
            hop, target, cport = winsim.portproxy(
                win, sc.port, net.primary_address, sc.proto, dst=str(dst), family=dst.version
            )
            trace.hops.append(hop)
            _through_portproxy(world, trace, sc, hop, target, cport)
            return
        if taker.blocks:  # another Windows program gets the connection: once it is gone, the relay is next
            with _assuming(trace, taker):
                _relay_leg(world, trace, sc.proto, sc.port, dst)
            return
    else:
        trace.hops.append(
            windows_unknown(
                "excluded-ports",
                f"If port {sc.port} is in a Windows excluded port range, the relay cannot bind it (silently).",
                "netsh.exe int ipv4 show excludedportrange protocol=tcp",
            )
        )
        trace.hops.append(
            windows_unknown(
                "windows-listener",
                f"A Windows program already listening on {sc.port} would answer instead of WSL.",
                "netstat.exe -ano",
            )
        )
    if not relay_address:
        trace.hops.append(
            Hop(
                "localhost-relay",
                Verdict.NO_LISTENER,
                f"{name} listens on Windows 127.0.0.1 and [::1] only, never "
                f"on {dst}: nothing of WSL's answers {dst}:{sc.port}.",
                symptom=REFUSED,
                fixes=[_fix_note(f"Connect to 127.0.0.1:{sc.port} (or localhost) instead of {dst}")],
            )
        )
        return
    _relay_leg(world, trace, sc.proto, sc.port, dst)


def _relay_leg(world: World, trace: Trace, proto: str, port: int, loop: Address) -> None:
    """From Windows ``loop``:port through WSL's relay into the VM, where it connects over lo. The
    Windows listener table, when read, says where the relay listens; the Linux binds otherwise."""
    win, v6 = winsim.captured(world.facts), loop.version == 6
    seen = winsim.relay_on(win, port, str(loop))
    linux_side = socket_hop.relay(
        world.facts.sockets,
        world.facts.wsl,
        proto,
        port,
        v6,
        name=winsim.relay_name(win),
        seen=None if isinstance(seen, Unknown) else seen is not None,
    )
    relay = winsim.relay_binds(win, linux_side, proto, port, v6)
    trace.hops.append(relay)
    inner = socket_hop.relay_target(world.facts.sockets, port, v6)
    pkt = Packet(proto, inner, inner, port, oif="lo", locally_generated=True)
    if relay.verdict in ("allow", "assumed"):
        _linux(world, trace, pkt)
        return
    if linux_side.verdict not in ("allow", "assumed"):
        return  # the relay has no reason to listen: Linux's bind is the fix, not a missing piece
    # The Linux listener qualifies, but the relay could not bind on Windows (an excluded range) or
    # stopped: trace on as if the blocker's fix had let it bind.
    blocker = relay if relay.blocks else next((h for h in reversed(trace.hops) if h.blocks), None)
    if blocker is not None:
        with _assuming(trace, blocker):
            _linux(world, trace, pkt)


def _consomme_localhost(world: World, trace: Trace, sc: Scenario, dst: Address) -> None:
    """Consomme: a Windows loopback socket per Linux loopback/unspecified bind, in its own family
    (microsoft/WSL ConsommeNetworking.cpp); no Hyper-V firewall, no excluded-range or ignoredPorts step."""
    if dst not in (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")):
        trace.hops.append(
            Hop(
                "localhost-relay",
                Verdict.UNKNOWN,
                f"Consomme opens Windows loopback sockets for Linux listeners; "
                f"whether it opens them on {dst} too is not documented.",
                reason=f"unknown: undocumented (test from Windows: Test-NetConnection -ComputerName {dst} "
                f"-Port {sc.port})",
            )
        )
        return
    hop = socket_hop.consomme_forward(world.facts.sockets, world.facts.wsl, sc.proto, sc.port, dst=dst)
    trace.hops.append(hop)
    if hop.verdict == "allow":
        _linux(world, trace, Packet(sc.proto, dst, dst, sc.port, iif="loopback0"))


def _mirrored_localhost(world: World, trace: Trace, sc: Scenario, dst: Address) -> None:
    """Mirrored: Windows 127.0.0.1 is steered into the VM's loopback0 for ports Linux reserved."""
    if dst.version == 6:
        trace.hops.append(
            Hop(
                "localhost-relay",
                Verdict.DROP,
                "Mirrored networking does not carry Windows [::1] into WSL: the "
                "connection times out, it is not refused (microsoft/WSL#10803).",
                symptom=TIMEOUT,
                fixes=[_fix_note("Connect to 127.0.0.1 instead of [::1] (or make the client try IPv4 for localhost)")],
            )
        )
        return
    if dst != ipaddress.ip_address("127.0.0.1"):
        trace.hops.append(
            Hop(
                "localhost-relay",
                Verdict.UNKNOWN,
                f"Mirrored mode steers Windows 127.0.0.1 into the VM; whether it steers {dst} is not documented.",
                reason="unknown: undocumented (test from Windows: "
                f"Test-NetConnection -ComputerName {dst} -Port {sc.port})",
            )
        )
        return
    win = winsim.captured(world.facts)
    reserved = _mirrored_port(world, sc, win, dst, loopback=True)
    if reserved.layer != "localhost-relay":  # decided on Windows: a Windows program or range holds the port
        trace.hops.append(reserved)
        return
    if win is not None:
        trace.hops.append(
            _hyperv(
                world,
                win,
                winsim.WinPacket("in", sc.proto, sc.port, "127.0.0.1", loopback=True),
                what=f"Windows to 127.0.0.1:{sc.port}",
                mode="mirrored",
            )
        )
    else:
        trace.hops.append(
            windows_unknown(
                "hyperv-firewall",
                "The Hyper-V firewall's loopback setting (LoopbackEnabled, on "
                "by default) lets Windows reach WSL on 127.0.0.1.",
                "powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore",
            )
        )
    trace.hops.append(reserved)
    if reserved.blocks or reserved.verdict == "unknown":
        return
    _linux(world, trace, Packet(sc.proto, dst, dst, sc.port, iif="loopback0"))


def _mirrored_port(world: World, sc: Scenario, win: WindowsFacts | None, dst: Address, *, loopback: bool) -> Hop:
    """Mirrored mode's steering of ``sc.port`` into Linux, with what Windows holds on that port."""
    reservation = socket_hop.mirrored_reservation(
        world.facts.sockets, world.facts.wsl, sc.proto, sc.port, loopback=loopback
    )
    return winsim.steering_binds(
        win,
        reservation,
        sc.proto,
        sc.port,
        dst.version == 6,
        dst=str(dst),
        linux_bound=socket_hop.bound(world.facts.sockets, sc.proto, sc.port),
    )


def _to_wsl_ip(world: World, trace: Trace, sc: Scenario, mode: str) -> None:
    net = world.network
    if mode in ("mirrored", "consomme"):
        trace.hops.append(
            Hop(
                "path",
                Verdict.NOT_APPLICABLE,
                f"In {mode} mode WSL has no separate IP: Windows apps use 127.0.0.1 or the host's own IP instead.",
            )
        )
        return
    dst = sc.dst or _addr(net.primary_address)
    iface = net.primary_interface or "eth0"
    win = winsim.captured(world.facts)
    if dst is not None and (dst.version != 4 or dst.is_loopback) and mode == "nat":
        trace.hops.append(
            Hop(
                "path",
                Verdict.NOT_APPLICABLE,
                f"{dst} is not a WSL IP: in NAT mode the VM has one IPv4 address on WSL's NAT network.",
                reason=f"--dst {dst} does not fit {sc.name}",
            )
        )
        return
    if mode == "bridged":
        # The VM has its own address on the LAN, through the external switch: no Hyper-V firewall, and the
        # Windows host's own address on that LAN is not in the facts.
        if dst is None:
            trace.hops.append(
                Hop("path", Verdict.UNKNOWN, "wsltui needs the VM's LAN IP.", reason="run ip -j addr show")
            )
            return
        src = sc.src or LAN_CLIENT
        trace.notes.append(f"bridged: the Windows host's LAN address is not known; traced from {src} (pass --src)")
        trace.hops.append(
            winsim.firewall(
                win,
                winsim.WinPacket("out", sc.proto, None, str(dst), remote_port=sc.port),
                what=f"a Windows app connecting to {dst}:{sc.port}",
            )
        )
        _linux(world, trace, Packet(sc.proto, src, dst, sc.port, iif=iface))
        return
    gw = _addr(net.default_gateway_v4)
    if dst is None or gw is None:
        trace.hops.append(
            Hop(
                "path",
                Verdict.UNKNOWN,
                "wsltui needs the WSL IP and the gateway (the Windows host's vEthernet address) to trace this path.",
                reason="net.addr / net.route missing: run ip -j addr show",
            )
        )
        return
    if win is not None:
        alias = winsim.wsl_adapter(win)
        what = f"a Windows app connecting to {dst}:{sc.port}"
        onlink = winsim.subnets(net, (iface,))  # the WSL NAT subnet: vEthernet (WSL)'s LocalSubnet
        trace.hops.append(
            winsim.firewall(
                win,
                winsim.WinPacket("out", sc.proto, None, str(dst), remote_port=sc.port, interface=alias, onlink=onlink),
                what=what,
            )
        )
        trace.hops.append(
            _hyperv(
                world,
                win,
                winsim.WinPacket("in", sc.proto, sc.port, str(gw), interface=alias, onlink=onlink),
                what=what,
                mode=mode,
                host_to_vm=True,
            )
        )
    else:
        trace.hops.append(
            windows_unknown(
                "windows-firewall",
                "Windows Defender Firewall outbound (allows by default).",
                "powershell.exe Get-NetFirewallProfile",
            )
        )
        trace.hops.append(
            windows_unknown(
                "hyperv-firewall",
                "The Hyper-V firewall for the WSL VM, when enabled, may block host-to-VM traffic.",
                "powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore",
            )
        )
    pkt = Packet(sc.proto, gw, dst, sc.port, iif=iface)
    _linux(world, trace, pkt)


def _lan(world: World, trace: Trace, sc: Scenario, mode: str) -> None:
    net = world.network
    iface = net.primary_interface or "eth0"
    dst = _addr(net.primary_address)
    win = winsim.captured(world.facts)
    if mode == "nat" and sc.proto != "tcp":
        # portproxy forwards TCP only: nothing on Windows carries UDP to WSL, whatever the firewall says.
        trace.hops.append(winsim.portproxy(win, sc.port, None, sc.proto)[0])
        return
    family = (sc.src or LAN_CLIENT).version
    if mode == "nat" and win is not None:
        what = f"{sc.proto.upper()} {sc.port} from the LAN to portproxy"
        trace.hops.append(_lan_firewall(win, sc, winsim.SVCHOST, "iphlpsvc", what))
        trace.hops.append(winsim.excluded(win, sc.proto, sc.port, family == 6, who="portproxy (iphlpsvc)"))
        hop, target, cport = winsim.portproxy(
            win,
            sc.port,
            str(dst) if dst is not None else None,
            sc.proto,
            dst=str(sc.dst) if sc.dst is not None else None,
            family=family,
        )
        trace.hops.append(hop)
        _through_portproxy(world, trace, sc, hop, target, cport)
        return
    if mode == "nat":
        trace.hops.append(
            windows_unknown(
                "windows-firewall",
                "Windows Defender Firewall inbound on the LAN adapter's profile needs an allow rule for the port.",
                "powershell.exe Get-NetFirewallRule",
            )
        )
        trace.hops.append(
            windows_unknown(
                "portproxy",
                "In NAT mode the LAN reaches WSL only through `netsh interface portproxy` to the WSL IP.",
                "netsh.exe interface portproxy show all",
            )
        )
        gw = _addr(net.default_gateway_v4)
        if dst is None or gw is None:
            trace.hops.append(
                Hop("path", Verdict.UNKNOWN, "wsltui needs the WSL IP and gateway.", reason="run ip -j addr show")
            )
            return
        # portproxy opens a new connection from the host's vEthernet address.
        _linux(world, trace, Packet(sc.proto, gw, dst, sc.port, iif=iface))
        return
    dst = sc.dst or dst
    src = sc.src or LAN_CLIENT
    if dst is None:
        trace.hops.append(
            Hop(
                "path",
                Verdict.UNKNOWN,
                f"wsltui needs the {'VM' if mode == 'bridged' else 'host'}'s LAN IP.",
                reason="run ip -j addr show, or pass --dst",
            )
        )
        return
    if mode == "bridged":  # the VM's own LAN address: only Linux filters (no Hyper-V firewall on a bridged VM)
        _linux(world, trace, Packet(sc.proto, src, dst, sc.port, iif=iface))
        return
    if mode == "consomme":
        _consomme_lan(world, trace, sc, win, src, dst, iface)
        return
    reserved = _mirrored_port(world, sc, win, dst, loopback=False)
    if reserved.layer != "localhost-relay":  # decided on Windows: a Windows program or range holds the port
        trace.hops.append(_lan_meets_owner(win, sc, reserved, dst))
        return
    if win is not None:
        # Mirrored Linux interfaces carry the Windows adapters' addresses: their prefixes are LocalSubnet.
        trace.hops.append(
            _hyperv(
                world,
                win,
                winsim.WinPacket("in", sc.proto, sc.port, str(src), onlink=winsim.subnets(net)),
                what=f"{sc.proto.upper()} {sc.port} from the LAN",
                mode=mode,
            )
        )
    else:
        trace.hops.append(
            windows_unknown(
                "hyperv-firewall",
                "The Hyper-V firewall blocks inbound LAN traffic to WSL by "
                "default (DefaultInboundAction Block) unless a rule allows the port.",
                "powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore",
            )
        )
    trace.hops.append(reserved)
    if reserved.blocks or reserved.verdict == "unknown":
        return
    _linux(world, trace, Packet(sc.proto, src, dst, sc.port, iif=iface))


def _lan_meets_owner(win: WindowsFacts | None, sc: Scenario, owner: Hop, dst: Address) -> Hop:
    """A Windows program holds the port a LAN client wants (mirrored): the client reaches it only
    through the Windows Defender Firewall's rules for that program."""
    if owner.symptom != WRONG_PROGRAM or win is None:
        return owner
    program, service = winsim.listener_for(win, sc.port, str(dst))
    fw = _lan_firewall(win, sc, program, service, f"{sc.proto.upper()} {sc.port} from the LAN to {program}")
    if fw.blocks:
        owner.symptom, owner.alternatives = fw.symptom, []
        owner.explanation += f" From the LAN the Windows Defender Firewall stops the client first: {fw.explanation}"
    elif fw.verdict not in ("allow", "assumed", "not-applicable"):
        owner.alternatives = [TIMEOUT]
    return owner


def _consomme_lan(
    world: World, trace: Trace, sc: Scenario, win: WindowsFacts | None, src: Address, dst: Address, iface: str
) -> None:
    """Consomme: a non-loopback Linux bind opens a socket on the host's interface, so the LAN meets
    the Windows Defender Firewall like any host program (which program holds those sockets is not
    in the facts, so program rules stay open); no Hyper-V firewall (microsoft/WSL ConsommeNetworking.cpp)."""
    what = f"{sc.proto.upper()} {sc.port} from the LAN to consomme's host socket"
    if win is not None:
        trace.hops.append(_lan_firewall(win, sc, None, None, what))
    else:
        trace.hops.append(
            windows_unknown(
                "windows-firewall",
                "Windows Defender Firewall inbound on the LAN adapter's profile needs an allow rule for the port.",
                "powershell.exe Get-NetFirewallRule",
            )
        )
    hop = socket_hop.consomme_forward(world.facts.sockets, world.facts.wsl, sc.proto, sc.port, dst=dst)
    trace.hops.append(hop)
    if hop.verdict == "allow":
        _linux(world, trace, Packet(sc.proto, src, dst, sc.port, iif=iface))


def _lan_to_wsl_ip(world: World, trace: Trace, sc: Scenario, mode: str) -> None:
    """A LAN device sends to the WSL IP itself: in NAT that address lives on a network inside Windows."""
    if mode in ("mirrored", "consomme"):
        trace.hops.append(
            Hop(
                "path",
                Verdict.NOT_APPLICABLE,
                f"In {mode} mode WSL has no separate IP: LAN devices connect to the Windows host's IP instead.",
            )
        )
        return
    if mode == "bridged":
        _lan(world, trace, sc, mode)
        return
    dst = sc.dst or _addr(world.network.primary_address)
    fixes = [
        Fix(
            "Switch to networkingMode=mirrored under [wsl2] in %UserProfile%\\.wslconfig, then wsl --shutdown",
            front_end="wsl",
            needs_root=False,
        )
    ]
    if sc.proto == "tcp":  # portproxy carries TCP only
        fixes.insert(
            0,
            Fix(
                f"Connect to the Windows host's LAN IP instead and forward port {sc.port} to WSL with portproxy "
                "(wsltui check --scenario lan-to-host shows the command)",
                front_end="windows",
                needs_root=False,
            ),
        )
    trace.hops.append(
        Hop(
            "path",
            Verdict.DROP,
            f"{dst or 'the WSL IP'} is the VM's address on WSL's NAT network, which exists only "
            "inside Windows: no LAN device has a route to it, so the client's packets go to its router and "
            "never arrive.",
            symptom=TIMEOUT,
            alternatives=[NO_ROUTE],
            owner="wsl",
            edit="networkingMode (NAT)",
            fixes=fixes,
        )
    )


def _to_host_ip(world: World, trace: Trace, sc: Scenario, mode: str) -> None:
    """A Windows app connects to the Windows host's own LAN address (mirrored: WSL shares it)."""
    net = world.network
    own = _addr(net.primary_address) if mode in ("mirrored", "consomme") else None
    dst = sc.dst or own
    if dst is None:
        trace.hops.append(
            Hop(
                "path",
                Verdict.UNKNOWN,
                "wsltui needs the Windows host's LAN address for this scenario.",
                reason="unknown: the host's LAN address is not in the facts in this mode: pass --dst ADDR",
            )
        )
        return
    if dst.is_loopback:
        trace.hops.append(
            Hop(
                "path",
                Verdict.NOT_APPLICABLE,
                f"{dst} is a loopback address: see windows-localhost-v4/v6.",
                reason=f"--dst {dst} does not fit {sc.name}",
            )
        )
        return
    trace.hops.append(
        Hop(
            "windows-firewall",
            Verdict.NOT_APPLICABLE,
            "Windows Defender Firewall does not filter a connection to the host's own address (loopback traffic).",
        )
    )
    win = winsim.captured(world.facts)
    if mode == "consomme":
        hop = socket_hop.consomme_forward(world.facts.sockets, world.facts.wsl, sc.proto, sc.port, dst=dst)
        trace.hops.append(hop)
        if hop.verdict == "allow":
            _linux(world, trace, Packet(sc.proto, dst, dst, sc.port, iif=net.primary_interface or "eth0"))
        return
    if mode == "mirrored":
        _mirrored_host_ip(world, trace, sc, win, dst)
        return
    # NAT and bridged: Windows keeps its own address; only portproxy forwards it into WSL.
    taker, proxied = winsim.relay_listener(win, sc.proto, sc.port, str(dst))
    trace.hops.append(taker)
    if taker.blocks or taker.verdict == "unknown" and not proxied:
        return
    hop, target, cport = winsim.portproxy(win, sc.port, net.primary_address, sc.proto, dst=str(dst), family=dst.version)
    trace.hops.append(hop)
    _through_portproxy(world, trace, sc, hop, target, cport)


def _host_address_hop(world: World, dst: Address, port: int, *, keeps: str, steered: str, assumption: str) -> Hop:
    """Mirrored mode: the host's own address crosses between Windows and WSL only with
    [experimental] hostAddressLoopback=true (microsoft/WSL#41284); the hop blocks without it,
    and with it says how the crossing is traced (``assumption``: it is not documented)."""
    config = world.wslconfig
    if config is None or isinstance(config, Unknown):
        return Hop(
            "path",
            Verdict.UNKNOWN,
            f"Windows and WSL reach each other at the host's address {dst} only with hostAddressLoopback=true.",
            reason=f"{config or 'unknown: the WSL facts could not be read'} "
            "(.wslconfig [experimental] hostAddressLoopback)",
        )
    if not config.host_address_loopback:
        return Hop(
            "path",
            Verdict.NO_LISTENER,
            f"In mirrored mode {dst} is both Windows' and Linux's address; without hostAddressLoopback=true {keeps}.",
            symptom=REFUSED,
            owner="wsl",
            edit=".wslconfig [experimental]",
            fixes=[
                Fix(
                    "Set hostAddressLoopback=true under [experimental] in %UserProfile%\\.wslconfig, then "
                    "wsl --shutdown",
                    front_end="wsl",
                    needs_root=False,
                    note="an experimental setting",
                ),
                _fix_note(f"Or connect to 127.0.0.1:{port} instead"),
            ],
        )
    return Hop("path", Verdict.ASSUMED, steered, assumption=assumption, owner="wsl")


def _mirrored_host_ip(world: World, trace: Trace, sc: Scenario, win: WindowsFacts | None, dst: Address) -> None:
    reserved = _mirrored_port(world, sc, win, dst, loopback=False)
    if reserved.layer != "localhost-relay":  # decided on Windows: a Windows program or range holds the port
        trace.hops.append(reserved)
        return
    crossing = _host_address_hop(
        world,
        dst,
        sc.port,
        keeps="Windows keeps the connection: WSL never sees it",
        steered="hostAddressLoopback=true: Windows steers connections to its own address into the VM.",
        assumption="they arrive on loopback0 like Windows' 127.0.0.1 (the interface is not documented)",
    )
    trace.hops.append(crossing)
    if crossing.verdict != "assumed":
        return
    if win is not None:
        trace.hops.append(
            _hyperv(
                world,
                win,
                winsim.WinPacket("in", sc.proto, sc.port, str(dst), loopback=True),
                what=f"Windows to {dst}:{sc.port}",
                mode="mirrored",
            )
        )
    trace.hops.append(reserved)
    if reserved.blocks or reserved.verdict == "unknown":
        return
    _linux(world, trace, Packet(sc.proto, dst, dst, sc.port, iif="loopback0"))


def _through_portproxy(world: World, trace: Trace, sc: Scenario, hop: Hop, target: str | None, cport: int) -> None:
    """After the portproxy hop: portproxy opens a new connection to its target, either Windows
    loopback (the NAT relay carries it into the VM) or the WSL IP (from the host's vEthernet)."""
    if hop.verdict == "unknown" or target is None:
        return
    if hop.blocks:  # no entry, a stale one, or iphlpsvc stopped: trace on as its fix would have it
        with _assuming(trace, hop):
            _portproxy_target(world, trace, sc, target, cport)
        return
    _portproxy_target(world, trace, sc, target, cport)


def _portproxy_target(world: World, trace: Trace, sc: Scenario, target: str, cport: int) -> None:
    net, win = world.network, winsim.captured(world.facts)
    loop = ipaddress.ip_address(target)
    if loop.is_loopback:
        taker, proxied = winsim.relay_listener(win, sc.proto, cport, target)
        trace.hops.append(winsim.portproxy_loop(target, cport) if proxied else taker)
        if proxied or taker.blocks:
            return
        _relay_leg(world, trace, sc.proto, cport, loop)
        return
    dst, gw = _addr(net.primary_address), _addr(net.default_gateway_v4)
    if dst is None or gw is None:
        trace.hops.append(
            Hop("path", Verdict.UNKNOWN, "wsltui needs the WSL IP and gateway.", reason="run ip -j addr show")
        )
        return
    iface = net.primary_interface or "eth0"
    if win is not None:
        # portproxy's new connection is the host -> VM leg of windows-to-wsl-ip: the same Hyper-V answer.
        trace.hops.append(
            _hyperv(
                world,
                win,
                winsim.WinPacket(
                    "in",
                    sc.proto,
                    cport,
                    str(gw),
                    interface=winsim.wsl_adapter(win),
                    onlink=winsim.subnets(net, (iface,)),
                ),
                what=f"portproxy connecting to {dst}:{cport}",
                mode=world.mode,
                host_to_vm=True,
            )
        )
    _linux(world, trace, Packet(sc.proto, gw, dst, cport, iif=iface))


def _stays_in_linux(world: World, sc: Scenario, src: Address, dst: Address, mode: str) -> Hop:
    """A Linux connection to a loopback address that WSL does not carry to Windows: only mirrored
    mode sends 127.0.0.1 to Windows (127.0.0.2 and up, and ::1, stay in Linux: microsoft/WSL#11766)."""
    local = socket_hop.listener(
        world.facts.sockets, Packet(sc.proto, src, dst, sc.port, oif="lo", locally_generated=True)
    )
    where = "the Windows host's address (the default gateway)" if mode != "mirrored" else "127.0.0.1"
    return Hop(
        "path",
        Verdict.NO_LISTENER,
        f"{dst} inside WSL is Linux's own loopback in {mode} mode: the connection never "
        f"reaches Windows{'; a Linux program on that port answers instead' if local.verdict == 'allow' else ''}.",
        symptom=WRONG_PROGRAM if local.verdict == "allow" else REFUSED,
        owner="wsl",
        fixes=[_fix_note(f"Connect to {where} instead of {dst}")],
    )


def _to_windows(world: World, trace: Trace, sc: Scenario, mode: str) -> None:
    net = world.network
    oif = net.default_interface or "eth0"
    dst: Address | None
    if mode == "mirrored":
        dst = sc.dst or ipaddress.ip_address("127.0.0.1")
        if dst.is_loopback:
            oif = "loopback0"
    elif mode == "bridged":
        dst = sc.dst  # the gateway is the LAN's router, not Windows
    else:
        dst = sc.dst or _addr(net.default_gateway_v4)
    src = _addr(net.primary_address) or ipaddress.ip_address("0.0.0.0")
    if dst is None:
        trace.hops.append(
            Hop(
                "path",
                Verdict.UNKNOWN,
                "wsltui needs the Windows host's address.",
                reason="run ip -j route show table all"
                if mode != "bridged"
                else "unknown: in bridged mode the default gateway is the LAN's router: pass --dst with the "
                "Windows host's LAN address",
            )
        )
        return
    if dst.is_loopback and not (mode == "mirrored" and dst == ipaddress.ip_address("127.0.0.1")):
        trace.hops.append(_stays_in_linux(world, sc, src, dst, mode))
        return
    own = mode == "mirrored" and not dst.is_loopback and world.host.is_local(dst) is True
    if own:
        crossing = _host_address_hop(
            world,
            dst,
            sc.port,
            keeps="Linux keeps the connection to itself: Windows never sees it",
            steered="hostAddressLoopback=true: Linux's connections to the host's address go to Windows.",
            assumption="Windows treats them like WSL's 127.0.0.1 "
            "(host-VM loopback: not filtered by the Windows Defender Firewall; the Hyper-V "
            "firewall's LoopbackEnabled applies)",
        )
        if (
            crossing.blocks
            and socket_hop.listener(
                world.facts.sockets, Packet(sc.proto, src, dst, sc.port, oif="lo", locally_generated=True)
            ).verdict
            == "allow"
        ):
            crossing.symptom = WRONG_PROGRAM  # a Linux server on that port answers instead of Windows
        trace.hops.append(crossing)
        if crossing.verdict != "assumed":
            return
        oif = "loopback0"
    pkt = Packet(sc.proto, src, dst, sc.port, oif=oif, locally_generated=True)
    for hook in ("output", "postrouting"):
        res = run_hook(world.netfilter, hook, pkt, world.host)
        pkt = res.packet
        if res.verdict != "accept":
            trace.hops.append(
                _netfilter_hop(NetfilterTrace([res], res.verdict, pkt, res.decisive), sc.proto, sc.port, world)
            )
            return
    trace.hops.append(Hop("netfilter", Verdict.ALLOW, "Linux lets the packet out.", packet=pkt.describe()))
    if mode == "consomme":
        trace.hops.append(
            Hop(
                "path",
                Verdict.UNKNOWN,
                "How consomme carries a Linux connection to Windows is not documented.",
                reason="unknown: consomme's WSL-to-Windows path (test from WSL: curl or nc to the address)",
            )
        )
        return
    win = winsim.captured(world.facts)
    if win is not None:
        what = f"WSL connecting to Windows {dst}:{sc.port}"
        loopback = dst.is_loopback or own
        # NAT: WSL's address is on vEthernet (WSL)'s subnet, the Linux side of the same link.
        onlink = None if loopback else winsim.subnets(net, (oif,))
        alias = None if loopback or mode == "bridged" else winsim.wsl_adapter(win)
        if mode != "bridged":  # a bridged VM has no Hyper-V firewall
            # VM -> host in NAT is the reverse of the host -> VM leg: the same open question, the same answer.
            trace.hops.append(
                _hyperv(
                    world,
                    win,
                    winsim.WinPacket(
                        "out",
                        sc.proto,
                        None,
                        str(dst),
                        remote_port=sc.port,
                        interface=alias,
                        loopback=loopback,
                        onlink=onlink,
                    ),
                    what=what,
                    mode=mode,
                    host_to_vm=not loopback,
                )
            )
        program, service = winsim.listener_for(win, sc.port, str(dst))
        trace.hops.append(
            winsim.firewall(
                win,
                winsim.WinPacket(
                    "in",
                    sc.proto,
                    sc.port,
                    str(src),
                    interface=alias,
                    program=program,
                    service=service,
                    loopback=loopback,
                    onlink=onlink,
                ),
                what=what,
            )
        )
        listener = winsim.service_listener(win, sc.proto, sc.port, str(dst))
        if mode == "mirrored" and dst.is_loopback and listener.symptom == REFUSED:
            listener.alternatives = [TIMEOUT]
            listener.explanation += (
                " On affected WSL builds the connection hangs instead: the reset goes to the wrong "
                "port (microsoft/WSL#10855, #13327)."
            )
        trace.hops.append(listener)
        return
    if mode != "bridged":
        trace.hops.append(
            windows_unknown(
                "hyperv-firewall",
                "The Hyper-V firewall may filter WSL's traffic to the host.",
                "powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore",
            )
        )
    trace.hops.append(
        windows_unknown(
            "windows-firewall",
            "Windows Defender Firewall inbound on the vEthernet (WSL) "
            "adapter, whose profile is Public, must allow the port.",
            "powershell.exe Get-NetFirewallRule",
        )
    )
    trace.hops.append(
        windows_unknown(
            "windows-listener",
            "A Windows program must listen on 0.0.0.0 or the vEthernet address (not only 127.0.0.1).",
            "netstat.exe -ano",
        )
    )


# --- Linux hops ------------------------------------------------------------------------------


def _custom_packet(world: World, sc: Scenario) -> Packet:
    src = sc.src or ipaddress.ip_address("127.0.0.1")
    dst = sc.dst or (ipaddress.ip_address("::1") if src.version == 6 else ipaddress.ip_address("127.0.0.1"))
    if sc.in_iface:
        return Packet(sc.proto, src, dst, sc.port, iif=sc.in_iface)
    # No input interface: a connection made on this machine.
    local = world.host.is_local(dst)
    return Packet(sc.proto, src, dst, sc.port, oif="lo" if local else None, locally_generated=True)


def _linux(world: World, trace: Trace, pkt: Packet) -> None:
    """The Linux hops of ``pkt`` (netfilter, then the socket), walked once per World and packet."""
    if pkt not in world.linux_legs:
        start = len(trace.hops)
        _walk_linux(world, trace, pkt)
        world.linux_legs[pkt] = [_copy(h) for h in trace.hops[start:]]
        return
    trace.hops.extend(_copy(h) for h in world.linux_legs[pkt])


def _copy(hop: Hop) -> Hop:
    """A copy the symptom pass and ``_assuming`` may change without touching the original (they
    assign attributes, of the hop and of the blockers behind it)."""
    copy = Hop.__new__(Hop)
    copy.__dict__.update(hop.__dict__)  # (dataclasses.replace runs __init__: a report copies thousands)
    copy.behind = [_copy(b) for b in hop.behind]
    return copy


def _walk_linux(world: World, trace: Trace, pkt: Packet) -> None:
    if pkt.family == 6 and not pkt.locally_generated and pkt.iif not in (None, "lo"):
        nd = _neighbor_discovery(world, pkt)
        if nd is not None:
            trace.hops.append(nd)
            return
    # The blockers behind the first, so a user fixes them all at once: each one switched off in
    # turn (the rule, or the chain's policy), the packet goes on (one walk, see the function).
    walks = deliver_past_blockers(world.netfilter, pkt, world.host)
    nft = next(walks)
    hop = _netfilter_hop(nft, pkt.proto, pkt.dport, world)
    published = forward_hop.published_by_docker(world, nft)
    if published:
        hop.explanation = f"{published} {hop.explanation}"
    desktop = forward_hop.docker_desktop_note(world, pkt.proto, pkt.dport)
    if desktop:
        trace.notes.append(desktop)
    trace.hops.append(hop)
    past = None  # the walk with every blocker switched off: where the packet goes once they are fixed
    if hop.blocks:
        for again in islice(walks, 8):
            if again.verdict not in ("drop", "reject"):
                past = again
                break
            behind = _netfilter_hop(again, pkt.proto, pkt.dport, world)
            # The same fix reached through another chain is one blocker (a manual fix has no
            # commands to compare, so it never counts as the same).
            known = [f.commands for h in (hop, *hop.behind) for f in h.fixes if f.commands]
            if not behind.fixes or not behind.fixes[0].commands or behind.fixes[0].commands not in known:
                hop.behind.append(behind)
    # A forwarded packet goes on to its destination; one stopped on the way, as its blockers'
    # fixes would let it (so the list of blockers is whole, as for a socket of this machine).
    onward = nft if nft.verdict == "forwarded" else past if past is not None and past.verdict == "forwarded" else None
    if onward is not None and onward.packet.oif and not pkt.locally_generated:
        trace.hops += forward_hop.destination(
            world, pkt, onward.packet, lambda after, proto, port: _netfilter_hop(after, proto, port, world)
        )
        return
    if nft.verdict == "forwarded" or any(h.ambiguity for h in nft.hooks):
        return  # where the packet goes next is not known
    if not pkt.locally_generated and world.host.is_local(nft.packet.dst) is False:
        return  # stopped on its way to another host: no socket of this machine is on its path
    sock = socket_hop.listener(world.facts.sockets, nft.packet)
    proxy = forward_hop.docker_proxy(world, nft.packet, sock)
    if proxy:
        trace.notes.append(proxy)
    if nft.verdict == "accept" and pkt.proto == "tcp" and sock.verdict == "allow":
        after = deliver_established(world.netfilter, pkt, nft.packet, world.host)
        if after.verdict != "accept":
            hop = _netfilter_hop(after, pkt.proto, pkt.dport, world)
            if hop.blocks:
                hop.explanation = (
                    "The connection opens, but the client's next packet (conntrack state established) "
                    f"is stopped: {hop.explanation}"
                )
                if hop.verdict == "drop":
                    hop.symptom = "timeout"
                if after.decisive is not None:
                    hop.fixes = established_fixes(after.decisive) + hop.fixes
            trace.hops.append(hop)
    trace.hops.append(sock)


def _neighbor_discovery(world: World, pkt: Packet) -> Hop | None:
    """Over IPv6 the client first asks for the server's link address with a neighbor
    solicitation (ICMPv6 135, untracked by conntrack). If the firewall stops it, nothing else
    gets through, whatever the rules for the port say. None when it passes."""
    ns = Packet(
        "ipv6-icmp",
        pkt.src,
        solicited_node(pkt.dst),
        0,
        sport=0,
        iif=pkt.iif,
        ct_state="untracked",
        icmp_type=135,
        hop_limit=255,
    )
    nd = deliver(world.netfilter, ns, world.host)
    if nd.verdict not in ("drop", "reject", "unknown"):
        return None
    hop = _netfilter_hop(nd, "ipv6-icmp", 0, world)
    if nd.verdict == "unknown":
        hop.explanation = "wsltui cannot tell whether IPv6 neighbor discovery gets through: " + hop.explanation
        return hop
    hop.symptom = "timeout"
    hop.alternatives = []
    hop.explanation = (
        f"IPv6 neighbor discovery from the client is stopped ({hop.edit}), so the client never learns "
        "this machine's link address: every IPv6 connection times out, whatever the rules for the port say."
    )
    if nd.decisive is not None:
        hop.fixes = nd_fixes(nd.decisive)
    return hop


def _netfilter_hop(nft: NetfilterTrace, proto: str, port: int, world: World) -> Hop:
    hop = _netfilter_verdict(nft, proto, port, world)
    hop.decided_by = netfilter_keys(nft, world.facts.firewalld)
    return hop


def _netfilter_verdict(nft: NetfilterTrace, proto: str, port: int, world: World) -> Hop:
    steps = []
    for hook in nft.hooks:
        for s in hook.steps:
            o = s.outcome
            decided = f"rule {o.rule.position}" if o.rule else "policy"
            steps.append(f"{hook.hook}: {s.base.label} -> {o.verdict} ({decided})")
    pkt = nft.packet
    assumed = (
        "; ".join(dict.fromkeys(a for hook in nft.hooks for s in hook.steps for a in s.outcome.assumptions)) or None
    )
    if nft.verdict == "accept":
        if assumed:
            return Hop(
                "netfilter",
                Verdict.ASSUMED,
                "Every Linux firewall table lets the packet in, under an assumption.",
                packet=pkt.describe(),
                steps=steps,
                assumption=assumed,
            )
        return Hop(
            "netfilter",
            Verdict.ALLOW,
            "Every Linux firewall table lets the packet in.",
            packet=pkt.describe(),
            steps=steps,
        )
    if nft.verdict == "forwarded" and pkt.oif and not pkt.locally_generated:
        return Hop(
            "netfilter",
            Verdict.ASSUMED if assumed else Verdict.ALLOW,
            f"Every Linux firewall table lets the packet through: it is forwarded to {pkt.dst} out {pkt.oif}.",
            packet=pkt.describe(),
            steps=steps,
            assumption=assumed,
        )
    if nft.verdict == "forwarded":
        return Hop(
            "netfilter",
            Verdict.UNKNOWN,
            f"After NAT the packet goes to {pkt.dst}, which is not an address of this "
            "machine: it leaves it, and wsltui does not follow it further.",
            packet=pkt.describe(),
            reason=f"a connection from this machine to another host ({pkt.dst}) is not followed",
            steps=steps,
        )
    step = nft.decisive
    if step is None and nft.stop is not None:
        hop = forward_hop.routing_hop(nft.stop, pkt)
        hop.steps = steps
        return hop
    if step is None:
        return Hop(
            "netfilter",
            Verdict.UNKNOWN,
            "wsltui cannot tell whether this address is local.",
            packet=pkt.describe(),
            reason="the interface addresses are unknown (ip -j addr show)",
            steps=steps,
        )
    o = step.outcome
    attr = attribute(step)
    if attr.owner == "firewalld" and attr.zone is None:
        attr.zone = firewalld_zone_for(world.facts.firewalld, step.before)
    rule_text = o.rule.text if o.rule else step.base.policy_text or f"policy {step.base.policy}"
    location = o.rule.location() if o.rule else f"{step.base.label} (chain policy)"
    if o.verdict == "unknown":
        return Hop(
            "netfilter",
            Verdict.UNKNOWN,
            f"wsltui cannot evaluate a rule in {step.base.label}.",
            packet=step.before.describe(),
            rule=rule_text,
            location=location,
            owner=attr.owner,
            edit=attr.edit,
            reason=f"{o.reason}",
            steps=steps,
        )
    fixes = netfilter_fixes(step, attr, pkt.proto, pkt.dport, pkt.family)
    symptom = _symptom(o, pkt.family)
    if o.verdict == "drop":
        sentence = f"{attr.edit} drops it: the client waits until it times out."
    else:
        sentence = f"{attr.edit} rejects it ({o.reject_with or 'default'}): the client sees '{symptom}'."
    hop = Hop(
        "netfilter",
        Verdict(o.verdict),
        sentence,
        packet=step.before.describe(),
        rule=rule_text,
        location=location,
        owner=attr.owner,
        edit=attr.edit,
        symptom=symptom,
        fixes=fixes,
        steps=steps,
        assumption=assumed,
    )
    alternatives = [a for hook in nft.hooks for a in hook.alternatives]
    if alternatives:
        hop.alternatives = sorted({_symptom(a.outcome, pkt.family) for a in alternatives} - {symptom})
        others = ", ".join(a.base.label for a in alternatives)
        hop.explanation += (
            f" {others} at the same priority would stop it too; iptables-legacy and nf_tables chains "
            "run in the order their tables were created, which no snapshot tells, so the client may "
            f"see {' or '.join(hop.alternatives)} instead."
        )
    return hop


def _symptom(outcome: ChainOutcome, family: int) -> str:
    return "timeout" if outcome.verdict == "drop" else reject_symptom(outcome.reject_with, family)


def _addr(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.split("/")[0])
    except ValueError:
        return None


def _fix_note(title: str) -> Fix:
    return Fix(title, needs_root=False, front_end="client")
