"""The flow simulator: ``simulate(facts, scenario) -> Trace``. Pure: no I/O, no Textual.

The path a packet takes depends on the effective networking mode (``wslinfo``) and on who
connects (DESIGN §3, docs/wsl-networking.md). Every layer on that path is a hop; Linux hops are
evaluated from the facts (netfilter, the listening sockets); Windows hops need Windows facts
and say ``unknown`` until those are captured.
"""

from __future__ import annotations

import ipaddress
from itertools import islice
from dataclasses import dataclass, field

from wsltui.facts.base import Unknown, building_many_objects
from wsltui.simulation import socket_hop
from wsltui.simulation import windows as winsim
from wsltui.simulation.attribution import attribute, established_fixes, firewalld_zone_for, nd_fixes, netfilter_fixes
from wsltui.simulation.netfilter.build import build_host, build_netfilter
from wsltui.simulation.netfilter.evaluate import NetfilterTrace, deliver, deliver_established, deliver_past_blockers, run_hook
from wsltui.simulation.packet import Address, HostView, Packet, solicited_node
from wsltui.simulation.trace import Fix, Hop, Trace, reject_symptom

SCENARIOS = {
    "windows-localhost-v4": "a Windows app connects to 127.0.0.1:PORT",
    "windows-localhost-v6": "a Windows app connects to [::1]:PORT",
    "windows-to-wsl-ip": "a Windows app connects to the WSL VM's IP (eth0)",
    "lan-to-host": "a device on the LAN connects to the Windows host's IP",
    "wsl-to-windows": "a Linux program in WSL connects to a service on Windows",
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

    facts: object
    netfilter: object
    host: HostView
    mode: str  # effective mode, or "unknown"
    mode_reason: str | None

    @classmethod
    def from_facts(cls, facts) -> World:
        with building_many_objects():
            nf = build_netfilter(facts.iptables, facts.nft)
            host = build_host(facts.network)
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


def simulate(world: World, sc: Scenario) -> Trace:
    mode = world.mode
    trace = Trace(sc.name, mode, sc.proto, sc.port, notes=list(sc.notes))
    if world.netfilter.unknown_sources:
        trace.notes += [f"not read: {s}" for s in world.netfilter.unknown_sources]
    mismatch = getattr(world.facts.wsl, "mode_mismatch", None) if world.facts.wsl is not None else None
    if mismatch:
        trace.notes.append(mismatch)
    if sc.name == "custom":
        _linux(world, trace, _custom_packet(world, sc))
        return _finish(trace)
    if mode == "unknown":
        trace.hops.append(Hop("path", "assumed", "The networking mode is unknown, so the NAT path (the default) is traced.",
                              assumption="networking mode NAT", reason=world.mode_reason))
        mode = "nat"
    if mode == "not-wsl":
        trace.hops.append(Hop("path", "not-applicable", "This machine is not WSL: there is no Windows side. "
                              "Use --scenario custom to trace a packet through this machine's firewall.",
                              reason="the kernel release does not say microsoft"))
        return _finish(trace)
    if mode == "none":
        trace.hops.append(Hop("path", "drop", "WSL runs with networkingMode=none: the VM has no network.",
                              symptom="timeout"))
        return _finish(trace)
    if mode == "wsl1":
        trace.hops.append(Hop("path", "not-applicable", "WSL1 shares the Windows network stack: Linux programs are "
                              "Windows sockets here, and only the Windows firewall applies.", reason=NO_WINDOWS_DATA))
        return _finish(trace)
    build = {
        "windows-localhost-v4": _localhost, "windows-localhost-v6": _localhost,
        "windows-to-wsl-ip": _to_wsl_ip, "lan-to-host": _lan, "wsl-to-windows": _to_windows,
    }[sc.name]
    build(world, trace, sc, mode)
    return _finish(trace)


def _finish(trace: Trace) -> Trace:
    trace.blockers = [b for hop in trace.hops if hop.blocks for b in (hop, *hop.behind)]
    return trace


def windows_unknown(layer: str, what: str, command: str) -> Hop:
    return Hop(layer, "unknown", what, reason=f"{NO_WINDOWS_DATA} (would tell: {command})")


# --- Windows hops (wsltui/simulation/windows.py); windows_unknown when nothing was captured ------


def _win(world: World):
    """The Windows facts, or None when the snapshot holds no Windows record at all."""
    win = getattr(world.facts, "windows", None)
    return win if win is not None and getattr(win, "captured", False) else None


def _wsl_adapter(win) -> str:
    """The host side of WSL's NAT switch: vEthernet (WSL) or vEthernet (WSL (Hyper-V firewall))."""
    conns = [] if isinstance(win.connections, Unknown) else win.connections
    return next((c.alias for c in conns if c.alias.lower().startswith("vethernet (wsl")), "vEthernet (WSL)")


def _hyperv(world: World, win, pkt, *, what: str, mode: str, host_to_vm: bool = False) -> Hop:
    """The Hyper-V firewall hop; whether it is there at all also hangs on .wslconfig."""
    wsl = world.facts.wsl
    cfg = getattr(wsl, "wslconfig", None) if wsl is not None else None
    return winsim.hyperv(win, pkt, what=what, mode=mode, host_to_vm=host_to_vm,
                         wslconfig=None if isinstance(cfg, Unknown) else cfg)


def _lan_firewall(win, sc: Scenario, program: str | None, service: str | None, what: str) -> Hop:
    """Windows Defender Firewall inbound on the LAN adapter(s): the first that blocks, else the first."""
    adapters = winsim.lan_adapters(win)
    src = str(sc.src or LAN_CLIENT)
    if isinstance(adapters, Unknown) or not adapters:
        pkt = winsim.WinPacket("in", sc.proto, sc.port, src, program=program, service=service)
        return winsim.firewall(win, pkt, what=what)
    hops = [winsim.firewall(win, winsim.WinPacket("in", sc.proto, sc.port, src, interface=a.alias, program=program,
                                                  service=service), what=what) for a in adapters]
    return next((h for h in hops if h.blocks), next((h for h in hops if h.verdict == "unknown"), hops[0]))


# --- scenarios -------------------------------------------------------------------------------


def _localhost(world: World, trace: Trace, sc: Scenario, mode: str) -> None:
    v6 = sc.name.endswith("v6")
    loop = ipaddress.ip_address("::1" if v6 else "127.0.0.1")
    trace.hops.append(Hop("windows-firewall", "not-applicable", "Windows Defender Firewall does not filter loopback traffic."))
    win = _win(world)
    if mode in ("nat", "bridged") and win is not None:
        trace.hops.append(winsim.excluded(win, sc.proto, sc.port, v6, who="wslrelay.exe (the localhost relay)"))
        taker, proxied = winsim.relay_listener(win, sc.proto, sc.port, str(loop))
        trace.hops.append(taker)
        if proxied:  # portproxy, not the relay, holds the address: the connection follows its entry
            net = world.facts.network
            hop, target, cport = winsim.portproxy(win, sc.port, getattr(net, "primary_address", None), sc.proto,
                                                  dst=str(loop), family=loop.version)
            trace.hops.append(hop)
            _through_portproxy(world, trace, sc, hop, target, cport)
            return
        if taker.blocks:
            return  # another Windows program gets the connection
    elif mode in ("nat", "bridged"):
        trace.hops.append(windows_unknown("excluded-ports", f"If port {sc.port} is in a Windows excluded port range, "
                                          "the relay cannot bind it (silently).", "netsh.exe int ipv4 show excludedportrange protocol=tcp"))
        trace.hops.append(windows_unknown("windows-listener", f"A Windows program already listening on {sc.port} would "
                                          "answer instead of WSL.", "netstat.exe -ano"))
    if mode in ("nat", "bridged"):
        relay = winsim.relay_binds(win, socket_hop.relay(world.facts.sockets, world.facts.wsl, sc.proto, sc.port, v6),
                                   sc.proto, sc.port, v6)
        trace.hops.append(relay)
        if relay.verdict not in ("allow", "assumed"):
            return
        # The relay connects from inside the VM: a local connection over lo.
        pkt = Packet(sc.proto, loop, loop, sc.port, oif="lo", locally_generated=True)
        _linux(world, trace, pkt)
        return
    # mirrored and consomme: Windows loopback is steered into the VM's loopback0.
    if v6:
        trace.hops.append(Hop("localhost-relay", "no-listener", f"{mode} networking does not forward [::1] to Linux: "
                              f"only 127.0.0.1 reaches WSL.", symptom="refused",
                              fixes=[_fix_note("Connect to 127.0.0.1 instead of [::1] (or make the client try IPv4 for localhost)")]))
        return
    if win is not None:
        trace.hops.append(_hyperv(world, win, winsim.WinPacket("in", sc.proto, sc.port, "127.0.0.1", loopback=True),
                                  what=f"Windows to 127.0.0.1:{sc.port}", mode=mode))
    else:
        trace.hops.append(windows_unknown("hyperv-firewall", "The Hyper-V firewall's loopback setting (LoopbackEnabled, on "
                                          "by default) lets Windows reach WSL on 127.0.0.1.",
                                          "powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore"))
    reserved = winsim.steering_binds(win, socket_hop.mirrored_reservation(world.facts.sockets, world.facts.wsl, sc.proto,
                                                                          sc.port, loopback=True), sc.proto, sc.port, False)
    trace.hops.append(reserved)
    if reserved.blocks or reserved.verdict == "unknown":
        return
    pkt = Packet(sc.proto, loop, loop, sc.port, iif="loopback0")
    _linux(world, trace, pkt)


def _to_wsl_ip(world: World, trace: Trace, sc: Scenario, mode: str) -> None:
    net = world.facts.network
    if mode in ("mirrored", "consomme"):
        trace.hops.append(Hop("path", "not-applicable", f"In {mode} mode WSL has no separate IP: Windows apps use "
                              "127.0.0.1 (see windows-localhost-v4), or the host's own IP with hostAddressLoopback=true."))
        return
    dst = _addr(getattr(net, "primary_address", None))
    gw = _addr(getattr(net, "default_gateway_v4", None))
    iface = getattr(net, "primary_interface", None) or "eth0"
    if dst is None or gw is None:
        trace.hops.append(Hop("path", "unknown", "wsltui needs the WSL IP and the gateway (the Windows host's vEthernet "
                              "address) to trace this path.", reason="net.addr / net.route missing: run ip -j addr show"))
        return
    win = _win(world)
    if win is not None:
        alias = _wsl_adapter(win)
        what = f"a Windows app connecting to {dst}:{sc.port}"
        onlink = winsim.subnets(net, (iface,))  # the WSL NAT subnet: vEthernet (WSL)'s LocalSubnet
        trace.hops.append(winsim.firewall(win, winsim.WinPacket("out", sc.proto, None, str(dst), remote_port=sc.port,
                                                                interface=alias, onlink=onlink), what=what))
        trace.hops.append(_hyperv(world, win, winsim.WinPacket("in", sc.proto, sc.port, str(gw), interface=alias,
                                                               onlink=onlink), what=what, mode=mode, host_to_vm=True))
    else:
        trace.hops.append(windows_unknown("windows-firewall", "Windows Defender Firewall outbound (allows by default).",
                                          "powershell.exe Get-NetFirewallProfile"))
        trace.hops.append(windows_unknown("hyperv-firewall", "The Hyper-V firewall for the WSL VM, when enabled, may block "
                                          "host-to-VM traffic.", "powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore"))
    pkt = Packet(sc.proto, gw, dst, sc.port, iif=iface)
    _linux(world, trace, pkt)


def _lan(world: World, trace: Trace, sc: Scenario, mode: str) -> None:
    net = world.facts.network
    iface = getattr(net, "primary_interface", None) or "eth0"
    dst = _addr(getattr(net, "primary_address", None))
    win = _win(world)
    if mode == "nat" and sc.proto != "tcp":
        # portproxy forwards TCP only: nothing on Windows carries UDP to WSL, whatever the firewall says.
        trace.hops.append(winsim.portproxy(win, sc.port, None, sc.proto)[0])
        return
    family = (sc.src or LAN_CLIENT).version
    if mode == "nat" and win is not None:
        what = f"{sc.proto.upper()} {sc.port} from the LAN to portproxy"
        trace.hops.append(_lan_firewall(win, sc, winsim.SVCHOST, "iphlpsvc", what))
        trace.hops.append(winsim.excluded(win, sc.proto, sc.port, family == 6, who="portproxy (iphlpsvc)"))
        hop, target, cport = winsim.portproxy(win, sc.port, str(dst) if dst is not None else None, sc.proto,
                                              dst=str(sc.dst) if sc.dst is not None else None, family=family)
        trace.hops.append(hop)
        _through_portproxy(world, trace, sc, hop, target, cport)
        return
    if mode == "nat":
        trace.hops.append(windows_unknown("windows-firewall", "Windows Defender Firewall inbound on the LAN adapter's "
                                          "profile needs an allow rule for the port.", "powershell.exe Get-NetFirewallRule"))
        trace.hops.append(windows_unknown("portproxy", "In NAT mode the LAN reaches WSL only through `netsh interface "
                                          "portproxy` to the WSL IP.", "netsh.exe interface portproxy show all"))
        gw = _addr(getattr(net, "default_gateway_v4", None))
        if dst is None or gw is None:
            trace.hops.append(Hop("path", "unknown", "wsltui needs the WSL IP and gateway.", reason="run ip -j addr show"))
            return
        # portproxy opens a new connection from the host's vEthernet address.
        _linux(world, trace, Packet(sc.proto, gw, dst, sc.port, iif=iface))
        return
    if mode == "bridged":
        src = sc.src or LAN_CLIENT
        if dst is None:
            trace.hops.append(Hop("path", "unknown", "wsltui needs the VM's LAN IP.", reason="run ip -j addr show"))
            return
        _linux(world, trace, Packet(sc.proto, src, dst, sc.port, iif=iface))
        return
    # mirrored / consomme
    if win is not None:
        # Mirrored Linux interfaces carry the Windows adapters' addresses: their prefixes are LocalSubnet.
        onlink = winsim.subnets(net) if mode == "mirrored" else None
        trace.hops.append(_hyperv(world, win, winsim.WinPacket("in", sc.proto, sc.port, str(sc.src or LAN_CLIENT),
                                                               onlink=onlink),
                                  what=f"{sc.proto.upper()} {sc.port} from the LAN", mode=mode))
    else:
        trace.hops.append(windows_unknown("hyperv-firewall", "The Hyper-V firewall blocks inbound LAN traffic to WSL by "
                                          "default (DefaultInboundAction Block) unless a rule allows the port.",
                                          "powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore"))
    reserved = winsim.steering_binds(win, socket_hop.mirrored_reservation(world.facts.sockets, world.facts.wsl, sc.proto,
                                                                          sc.port, loopback=False),
                                     sc.proto, sc.port, family == 6)
    trace.hops.append(reserved)
    if reserved.blocks or reserved.verdict == "unknown" or dst is None:
        return
    _linux(world, trace, Packet(sc.proto, sc.src or LAN_CLIENT, dst, sc.port, iif=iface))


def _through_portproxy(world: World, trace: Trace, sc: Scenario, hop: Hop, target: str | None, cport: int) -> None:
    """After the portproxy hop: portproxy opens a new connection to its target, either Windows
    loopback (the NAT relay carries it into the VM) or the WSL IP (from the host's vEthernet)."""
    if hop.blocks or hop.verdict == "unknown" or target is None:
        return
    net, win = world.facts.network, _win(world)
    loop = ipaddress.ip_address(target)
    if loop.is_loopback:
        v6 = loop.version == 6
        taker, proxied = winsim.relay_listener(win, sc.proto, cport, target)
        trace.hops.append(winsim.portproxy_loop(target, cport) if proxied else taker)
        if proxied or taker.blocks:
            return
        relay = winsim.relay_binds(win, socket_hop.relay(world.facts.sockets, world.facts.wsl, sc.proto, cport, v6),
                                   sc.proto, cport, v6)
        trace.hops.append(relay)
        if relay.verdict not in ("allow", "assumed"):
            return
        _linux(world, trace, Packet(sc.proto, loop, loop, cport, oif="lo", locally_generated=True))
        return
    dst, gw = _addr(getattr(net, "primary_address", None)), _addr(getattr(net, "default_gateway_v4", None))
    if dst is None or gw is None:
        trace.hops.append(Hop("path", "unknown", "wsltui needs the WSL IP and gateway.", reason="run ip -j addr show"))
        return
    iface = getattr(net, "primary_interface", None) or "eth0"
    if win is not None:
        # portproxy's new connection is the host -> VM leg of windows-to-wsl-ip: the same Hyper-V answer.
        trace.hops.append(_hyperv(world, win, winsim.WinPacket("in", sc.proto, cport, str(gw), interface=_wsl_adapter(win),
                                                               onlink=winsim.subnets(net, (iface,))),
                                  what=f"portproxy connecting to {dst}:{cport}", mode=world.mode, host_to_vm=True))
        if trace.hops[-1].blocks:
            return
    _linux(world, trace, Packet(sc.proto, gw, dst, cport, iif=iface))


def _to_windows(world: World, trace: Trace, sc: Scenario, mode: str) -> None:
    net = world.facts.network
    if mode in ("mirrored",):
        dst = ipaddress.ip_address("127.0.0.1")
        oif = "loopback0"
    else:
        dst = _addr(getattr(net, "default_gateway_v4", None))
        oif = getattr(net, "default_interface", None) or "eth0"
    src = _addr(getattr(net, "primary_address", None)) or ipaddress.ip_address("0.0.0.0")
    if dst is None:
        trace.hops.append(Hop("path", "unknown", "wsltui needs the default gateway (the Windows host).",
                              reason="run ip -j route show table all"))
        return
    pkt = Packet(sc.proto, src, dst, sc.port, oif=oif, locally_generated=True)
    for hook in ("output", "postrouting"):
        res = run_hook(world.netfilter, hook, pkt, world.host)
        pkt = res.packet
        if res.verdict != "accept":
            trace.hops.append(_netfilter_hop(NetfilterTrace([res], res.verdict, pkt, res.decisive), sc.proto, sc.port, world))
            return
    trace.hops.append(Hop("netfilter", "allow", "Linux lets the packet out.", packet=pkt.describe()))
    win = _win(world)
    if win is not None:
        what = f"WSL connecting to Windows {dst}:{sc.port}"
        loopback = dst.is_loopback
        # NAT: WSL's address is on vEthernet (WSL)'s subnet, the Linux side of the same link.
        onlink = None if loopback else winsim.subnets(net, (oif,))
        alias = None if loopback else _wsl_adapter(win)
        # VM -> host in NAT is the reverse of the host -> VM leg: the same open question, the same answer.
        trace.hops.append(_hyperv(world, win, winsim.WinPacket("out", sc.proto, None, str(dst), remote_port=sc.port,
                                                               interface=alias, loopback=loopback, onlink=onlink),
                                  what=what, mode=mode, host_to_vm=not loopback))
        program, service = winsim.listener_for(win, sc.port, str(dst))
        trace.hops.append(winsim.firewall(win, winsim.WinPacket("in", sc.proto, sc.port, str(src), interface=alias,
                                                                program=program, service=service, loopback=loopback,
                                                                onlink=onlink), what=what))
        trace.hops.append(winsim.service_listener(win, sc.proto, sc.port, str(dst)))
        return
    trace.hops.append(windows_unknown("hyperv-firewall", "The Hyper-V firewall may filter WSL's traffic to the host.",
                                      "powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore"))
    trace.hops.append(windows_unknown("windows-firewall", "Windows Defender Firewall inbound on the vEthernet (WSL) "
                                      "adapter, whose profile is Public, must allow the port.", "powershell.exe Get-NetFirewallRule"))
    trace.hops.append(windows_unknown("windows-listener", "A Windows program must listen on 0.0.0.0 or the vEthernet "
                                      "address (not only 127.0.0.1).", "netstat.exe -ano"))


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
    trace.hops.append(hop)
    if hop.blocks:
        for again in islice(walks, 8):
            if again.verdict not in ("drop", "reject"):
                break
            behind = _netfilter_hop(again, pkt.proto, pkt.dport, world)
            known = [f.commands for h in (hop, *hop.behind) for f in h.fixes]
            if not behind.fixes or [f.commands for f in behind.fixes][0] not in known:
                hop.behind.append(behind)
    if nft.verdict == "forwarded" or any(h.ambiguity for h in nft.hooks):
        return  # where the packet goes next is not known
    sock = socket_hop.listener(world.facts.sockets, nft.packet)
    if nft.verdict == "accept" and pkt.proto == "tcp" and sock.verdict == "allow":
        after = deliver_established(world.netfilter, pkt, nft.packet, world.host)
        if after.verdict != "accept":
            hop = _netfilter_hop(after, pkt.proto, pkt.dport, world)
            if hop.blocks:
                hop.explanation = ("The connection opens, but the client's next packet (conntrack state established) "
                                   f"is stopped: {hop.explanation}")
                if hop.verdict == "drop":
                    hop.symptom = "timeout"
                hop.fixes = established_fixes(after.decisive) + hop.fixes
            trace.hops.append(hop)
    trace.hops.append(sock)


def _neighbor_discovery(world: World, pkt: Packet) -> Hop | None:
    """Over IPv6 the client first asks for the server's link address with a neighbor
    solicitation (ICMPv6 135, untracked by conntrack). If the firewall stops it, nothing else
    gets through, whatever the rules for the port say. None when it passes."""
    ns = Packet("ipv6-icmp", pkt.src, solicited_node(pkt.dst), 0, sport=0, iif=pkt.iif, ct_state="untracked",
                icmp_type=135, hop_limit=255)
    nd = deliver(world.netfilter, ns, world.host)
    if nd.verdict not in ("drop", "reject", "unknown"):
        return None
    hop = _netfilter_hop(nd, "ipv6-icmp", 0, world)
    if nd.verdict == "unknown":
        hop.explanation = "wsltui cannot tell whether IPv6 neighbor discovery gets through: " + hop.explanation
        return hop
    hop.symptom = "timeout"
    hop.alternatives = []
    hop.explanation = (f"IPv6 neighbor discovery from the client is stopped ({hop.edit}), so the client never learns "
                       "this machine's link address: every IPv6 connection times out, whatever the rules for the port say.")
    hop.fixes = nd_fixes(nd.decisive)
    return hop


def _netfilter_hop(nft: NetfilterTrace, proto: str, port: int, world: World) -> Hop:
    steps = []
    for hook in nft.hooks:
        for s in hook.steps:
            o = s.outcome
            decided = f"rule {o.rule.position}" if o.rule else "policy"
            steps.append(f"{hook.hook}: {s.base.label} -> {o.verdict} ({decided})")
    pkt = nft.packet
    assumed = "; ".join(dict.fromkeys(a for hook in nft.hooks for s in hook.steps for a in s.outcome.assumptions)) or None
    if nft.verdict == "accept":
        if assumed:
            return Hop("netfilter", "assumed", "Every Linux firewall table lets the packet in, under an assumption.",
                       packet=pkt.describe(), steps=steps, assumption=assumed)
        return Hop("netfilter", "allow", "Every Linux firewall table lets the packet in.", packet=pkt.describe(), steps=steps)
    if nft.verdict == "forwarded":
        return Hop("netfilter", "unknown", f"After NAT the packet goes to {pkt.dst}, which is not an address of this "
                   "machine: it is forwarded, and wsltui does not follow it further.", packet=pkt.describe(),
                   reason="forwarded traffic (e.g. to a container) is not traced yet", steps=steps)
    step = nft.decisive
    if step is None:
        return Hop("netfilter", "unknown", "wsltui cannot tell whether this address is local.", packet=pkt.describe(),
                   reason="the interface addresses are unknown (ip -j addr show)", steps=steps)
    o = step.outcome
    attr = attribute(step)
    if attr.owner == "firewalld" and attr.zone is None:
        attr.zone = firewalld_zone_for(world.facts.firewalld, step.before)
    rule_text = o.rule.text if o.rule else step.base.policy_text or f"policy {step.base.policy}"
    location = o.rule.location() if o.rule else f"{step.base.label} (chain policy)"
    if o.verdict == "unknown":
        return Hop("netfilter", "unknown", f"wsltui cannot evaluate a rule in {step.base.label}.", packet=step.before.describe(),
                   rule=rule_text, location=location, owner=attr.owner, edit=attr.edit,
                   reason=f"{o.reason}", steps=steps)
    fixes = netfilter_fixes(step, attr, pkt.proto, pkt.dport, pkt.family)
    symptom = _symptom(o, pkt.family)
    if o.verdict == "drop":
        sentence = f"{attr.edit} drops it: the client waits until it times out."
    else:
        sentence = f"{attr.edit} rejects it ({o.reject_with or 'default'}): the client sees '{symptom}'."
    hop = Hop("netfilter", o.verdict, sentence, packet=step.before.describe(), rule=rule_text, location=location,
              owner=attr.owner, edit=attr.edit, symptom=symptom, fixes=fixes, steps=steps, assumption=assumed)
    alternatives = [a for hook in nft.hooks for a in hook.alternatives]
    if alternatives:
        hop.alternatives = sorted({_symptom(a.outcome, pkt.family) for a in alternatives} - {symptom})
        others = ", ".join(a.base.label for a in alternatives)
        hop.explanation += (f" {others} at the same priority would stop it too; iptables-legacy and nf_tables chains "
                            "run in the order their tables were created, which no snapshot tells, so the client may "
                            f"see {' or '.join(hop.alternatives)} instead.")
    return hop


def _symptom(outcome, family: int) -> str:
    return "timeout" if outcome.verdict == "drop" else reject_symptom(outcome.reject_with, family)


def _addr(text: str | None):
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.split("/")[0])
    except ValueError:
        return None


def _fix_note(title: str):
    return Fix(title, needs_root=False, front_end="client")
