"""The topology map: the machine as a network engineer sketches it, for the effective networking
mode, with the Flow trace's path on it. Pure: Facts + World + Trace in, a ``TopologyMap`` out,
drawn by ``MapView`` (a Rich renderable: boxes side by side when there is room, stacked when not).

What is drawn per mode (docs: learn.microsoft.com/windows/wsl/networking, microsoft/WSL sources):

- NAT: the LAN, the Windows host (its adapters with their firewall profiles, WSL's localhost relay
  and portproxy on the port, the vEthernet (WSL) adapter), the Hyper-V internal switch with WinNAT
  and hvsocket (the relay's channel, which bypasses the switch), the VM (interfaces, netfilter,
  listeners).
- mirrored: the Windows adapters mirrored into the VM (same addresses) and loopback0, which
  carries Windows' 127.0.0.1; the Hyper-V firewall in front of both.
- consomme: Windows host sockets opened for Linux binds, a virtio-net link, no Hyper-V firewall.
- bridged: an external switch shared by the host and the VM; the relay still runs.

Firewalls sit on the links they guard (Windows Defender Firewall at a host adapter, the Hyper-V
firewall at the VM's switch port); netfilter is drawn at the VM's interfaces. Every hop of the
trace is placed where it happens, numbered as in Flow, with its mark: ✓ passes, ✗ stops, ? unknown,
✓ in the assumed style when it passes on an assumption, – not applicable. What the facts do not
tell is drawn as unknown. Every string from the facts passes ``views.safe_text.shown``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from wsltui.facts import Facts
from wsltui.facts.base import Unknown
from wsltui.simulation import windows as winsim
from wsltui.simulation.simulate import SCENARIOS, World
from wsltui.simulation.trace import Hop, Trace
from wsltui.views.safe_rich import shown_text
from wsltui.views.safe_text import shown
from wsltui.vocabulary import LAYER_NAMES as LAYER_NAME
from wsltui.vocabulary import VERDICT_STYLES as STYLE
from wsltui.vocabulary import VERDICT_WORDS as WORD

MARK = {
    "allow": "✓",
    "drop": "✗",
    "reject": "✗",
    "no-listener": "✗",
    "unknown": "?",
    "assumed": "✓",
    "not-applicable": "–",
}
MODE_TITLE = {"nat": "NAT", "mirrored": "mirrored", "consomme": "consomme", "bridged": "bridged"}
ADDRESSES_CMD = "powershell.exe Get-NetIPAddress"
PATH_TEXT = "bold"  # an item on the path
OFF_STYLE = "dim"  # everything the path does not cross
GAP = 9  # the columns between two boxes: a link, with its gate's wall
MAX_OTHER_IFACES = 3  # VM interfaces beyond lo, loopback0 and the primary one that are drawn
_IFACE = re.compile(r"\((?:in|out) ([^,)]+)")
_MIRRORED_NIC = re.compile(r"eth\d+$")


# --- the map as data ------------------------------------------------------------------------


@dataclass
class Item:
    """One line of a box: an adapter, an interface, a listener, a proxy; maybe a hop of the trace."""

    key: str
    text: Text
    on_path: bool = False
    hop: int | None = None  # the hop's number in Flow (1-based) when this item is one
    verdict: str = ""
    first: bool = False  # the first blocker


@dataclass
class Box:
    key: str
    title: str
    items: list[Item]
    on_path: bool = False

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items if i.key == key), None)


@dataclass
class Gate:
    """A firewall on a link: its short name and detail (profile, "absent") fit the gap between boxes."""

    name: str  # ≤ 7 cells: "WinFW", "Hyper-V", "route"
    detail: str = ""  # ≤ 9 cells: the profile, "assumed", "absent"
    full: str = ""  # the words for the stacked layout
    at: str = ""  # the adapter or interface it guards (the hop list says where a hop was drawn)
    hop: int | None = None
    verdict: str = ""  # "" when the trace does not cross it
    first: bool = False


@dataclass
class Link:
    """A wire between an item of one box and an item of the next (boxes are in a row)."""

    key: str
    left: tuple[int, str]  # (box index, item key)
    right: tuple[int, str]
    gate: Gate | None = None
    on_path: bool = False
    reverse: bool = False  # the packet goes right to left (WSL -> Windows)
    reached: bool = True  # False: on the path, but past the first blocker (the packet never gets here)


@dataclass
class HopLine:
    number: int
    hop: Hop
    where: str  # the box or link it is drawn at ("" when not drawn)
    first: bool


@dataclass
class TopologyMap:
    mode: str
    heading: Text
    verdict: Text = field(default_factory=Text)
    boxes: list[Box] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    hops: list[HopLine] = field(default_factory=list)
    notes: list[Text] = field(default_factory=list)

    def box(self, key: str) -> Box | None:
        return next((b for b in self.boxes if b.key == key), None)

    def link(self, key: str) -> Link | None:
        return next((l for l in self.links if l.key == key), None)


# --- building it ----------------------------------------------------------------------------


def build_map(facts: Facts, world: World, trace: Trace | None) -> TopologyMap:
    """The map for ``world.mode`` with ``trace`` (the Flow panel's) on it."""
    mode = world.mode
    drawn = "nat" if mode == "unknown" else mode
    out = TopologyMap(mode, _heading(mode, trace), verdict_words(trace) if trace is not None else Text())
    if mode == "unknown":
        out.notes.append(
            Text(
                f"The networking mode is unknown ({shown(str(world.mode_reason or 'not read'))}): the NAT "
                "layout is drawn as an assumption.",
                style=STYLE["assumed"],
            )
        )
    mismatch = facts.wsl.mode_mismatch if facts.wsl is not None else None
    if mismatch:
        out.notes.append(Text(shown(mismatch), style="yellow"))
    if drawn not in MODE_TITLE:
        out.notes.append(Text(_no_map(drawn), style="yellow" if drawn == "unknown" else ""))
        _hop_lines(out, trace, {})
        return out
    sketch = _Sketch(facts, world, drawn, trace)
    out.boxes, out.links = sketch.boxes, sketch.links
    placed = sketch.place_trace()
    _hop_lines(out, trace, placed)
    out.notes += sketch.notes
    return out


def _no_map(mode: str) -> str:
    return {
        "wsl1": "WSL1 shares the Windows network stack: there is no VM network to draw.",
        "not-wsl": "This machine is not WSL: there is no Windows side to draw.",
        "none": "networkingMode=none: the VM has no network.",
    }.get(mode, f"No map for networking mode {shown(mode)}.")


def _heading(mode: str, trace: Trace | None) -> Text:
    text = Text()
    if mode == "unknown":
        text.append("NAT networking (assumed: the mode is unknown)", style="bold " + STYLE["assumed"])
    else:
        text.append(f"{MODE_TITLE.get(mode, shown(mode))} networking", style="bold")
    if trace is None:
        text.append("  ·  no Flow trace yet", style=OFF_STYLE)
        return text
    what = SCENARIOS.get(trace.scenario, trace.scenario).replace("PORT", str(trace.port))
    text.append(f"  ·  {trace.proto}/{trace.port}  ·  {shown(what)}")
    return text


def verdict_words(trace: Trace) -> Text:
    """The trace's answer in a few words: reachable, reachable on assumptions, blocked where, undecided where."""
    first = trace.first_blocker
    if trace.reachable is True:
        if any(h.verdict == "assumed" for h in trace.hops):
            return Text("✓ reachable, on assumptions", style="bold " + STYLE["assumed"])
        return Text("✓ reachable", style="bold green")
    if first is not None:
        return Text(
            f"✗ blocked at {LAYER_NAME.get(first.layer, first.layer)}: {first.symptom or first.verdict}",
            style="bold red",
        )
    open_hop = next((h for h in trace.hops if h.verdict == "unknown"), None)
    if open_hop is not None:
        return Text(f"? undecided at {LAYER_NAME.get(open_hop.layer, open_hop.layer)}", style="bold yellow")
    return Text(f"– does not apply in {trace.mode} mode", style=OFF_STYLE)


def _hop_lines(out: TopologyMap, trace: Trace | None, placed: dict[int, str]) -> None:
    if trace is None:
        return
    first = trace.first_blocker
    out.hops = [HopLine(n, h, placed.get(n, ""), h is first) for n, h in enumerate(trace.hops, 1)]


def _interface_of(hop: Hop) -> str | None:
    """The Linux interface a netfilter hop saw the packet on (``Packet.describe``: "(in eth0)")."""
    m = _IFACE.search(hop.packet or "")
    return m.group(1) if m else None


class _Sketch:
    """Boxes and links for one mode, then the trace placed on them."""

    def __init__(self, facts: Facts, world: World, mode: str, trace: Trace | None) -> None:
        self.facts, self.world, self.mode, self.trace = facts, world, mode, trace
        self.win = winsim.captured(facts)
        self.port = trace.port if trace else None
        self.proto = trace.proto if trace else "tcp"
        self.scenario = trace.scenario if trace else ""
        self.notes: list[Text] = []
        self.lan_adapters: list[tuple[str, str, str | None]] = []  # (item key, alias, profile) of the host box
        self.boxes: list[Box] = []
        self.links: list[Link] = []
        {"nat": self._nat, "mirrored": self._mirrored, "consomme": self._consomme, "bridged": self._bridged}[mode]()

    # --- boxes ------------------------------------------------------------------------------

    def _add(self, key: str, title: str, items: list[Item]) -> int:
        self.boxes.append(Box(key, title, items))
        return len(self.boxes) - 1

    def _link(self, key: str, left: tuple[int, str], right: tuple[int, str], gate: Gate | None = None) -> None:
        self.links.append(Link(key, left, right, gate))

    def _lan_box(self) -> int:
        return self._add("lan", "LAN", [Item("client", Text("LAN device"))])

    def _host_items(self, *, relay: bool, portproxy: bool, consomme: bool = False) -> list[Item]:
        items = self._adapters()
        items.append(Item("apps", Text("Windows apps")))
        if consomme:
            items.append(Item("consomme-lo", Text(f"consomme loopback socket{self._on_port()}")))
        if relay:
            items.append(self._relay())
        items.append(self._excluded())
        items.append(self._windows_listeners())
        if consomme:
            items.append(Item("consomme-if", Text(f"consomme host-address socket{self._on_port()}")))
        if portproxy:
            items.append(self._portproxy())
        return items

    def _on_port(self) -> str:
        return f" :{self.port}" if self.port else ""

    def _adapters(self) -> list[Item]:
        win = self.win
        if win is None:
            return [Item("adapter", Text("adapters: unknown (no Windows data)", style="yellow"))]
        adapters = winsim.lan_adapters(win)
        if isinstance(adapters, Unknown):
            return [Item("adapter", Text(f"adapters: {shown(str(adapters))}", style="yellow"))]
        if not adapters:
            return [Item("adapter", Text("no LAN adapter has a connection profile", style="yellow"))]
        out = []
        for n, a in enumerate(adapters):
            profile, _ = winsim.profile_for(win, a.alias)
            text = Text(shown(a.alias), style="bold")
            text.append(f" · {profile or '?'}", style="" if profile else "yellow")
            text.append(" · IP ?", style="yellow")
            key = "adapter" if n == 0 else f"adapter:{n}"
            self.lan_adapters.append((key, a.alias, profile))
            out.append(Item(key, text))
        self.notes.append(
            Text(
                f"The Windows adapters' addresses are not in the snapshot (would tell: {ADDRESSES_CMD}).",
                style=OFF_STYLE,
            )
        )
        return out

    def _excluded(self) -> Item:
        win, port = self.win, self.port
        if win is None or port is None:
            return Item("excluded", Text("excluded port ranges: unknown", style="yellow"))
        known = [t for t in (win.excluded4, win.excluded6) if not isinstance(t, Unknown)]
        if not known:
            return Item("excluded", Text("excluded port ranges: unknown", style="yellow"))
        inside = next((r for t in known for r in [t.containing(port)] if r is not None), None)
        if inside is not None:
            return Item("excluded", Text(f"{port} in excluded range {inside.start}-{inside.end}", style="bold red"))
        return Item("excluded", Text(f"port {port} not excluded"))

    def _windows_listeners(self) -> Item:
        """Windows programs (not WSL's relay) listening on the port."""
        win, port = self.win, self.port
        if win is None or port is None or isinstance(win.listeners, Unknown):
            return Item("listeners", Text("Windows programs: unknown", style="yellow"))
        relays = [winsim.relay_on(win, port, a) for a in ("127.0.0.1", "::1")]
        others = [l for l in win.listeners if l.port == port and not any(l is r for r in relays)]
        if not others:
            return Item("listeners", Text("Windows programs: none", style=OFF_STYLE))
        names = ", ".join(f"{shown(l.process or '?')} {_at(l.address, port)}" for l in others[:3])
        more = f" +{len(others) - 3}" if len(others) > 3 else ""
        return Item("listeners", Text(f"Windows programs: {names}{more}"))

    def _relay(self) -> Item:
        win, port = self.win, self.port
        name = shown(winsim.relay_name(win)) if win is not None else "wslrelay"
        if port is None:
            return Item("relay", Text(f"{name}"))
        if win is None or isinstance(win.listeners, Unknown):
            return Item("relay", Text(f"relay on :{port}: unknown", style="yellow"))
        bound = [a for a in ("127.0.0.1", "::1") if winsim.relay_on(win, port, a) is not None]
        if not bound:
            return Item("relay", Text(f"relay: none on :{port}", style=OFF_STYLE))
        return Item("relay", Text(f"{name} {' '.join(_at(a, port) for a in bound)}"))

    def _portproxy(self) -> Item:
        win, port = self.win, self.port
        if win is None or port is None:
            return Item("portproxy", Text("portproxy: unknown", style="yellow"))
        if isinstance(win.portproxy, Unknown):
            return Item("portproxy", Text(f"portproxy: {shown(str(win.portproxy))}", style="yellow"))
        entries = [e for e in win.portproxy.entries if e.listens_on(port)]
        if not entries:
            return Item("portproxy", Text("portproxy: none", style=OFF_STYLE))
        text = Text("portproxy ")
        text.append(
            shown("; ".join(e.text for e in entries[:2])) + (f" +{len(entries) - 2}" if len(entries) > 2 else "")
        )
        svc = win.iphlpsvc
        if not isinstance(svc, Unknown) and not svc.running:
            text.append(f" (iphlpsvc {shown(svc.status)})", style="bold red")
        return Item("portproxy", text)

    def _vm_items(self, order: tuple[str, ...]) -> list[Item]:
        """The VM: its interfaces in ``order`` (names; "*" = every other one), netfilter, the front
        ends, the listeners on the port."""
        items: list[Item] = []
        ifaces = self.facts.network.interfaces if self.facts.network is not None else None
        if ifaces is None or isinstance(ifaces, Unknown):
            why = shown(str(ifaces)) if ifaces is not None else "the network facts could not be read"
            items.append(Item("if:eth0", Text(f"interfaces: {why}", style="yellow")))
        else:
            named = {i.name: i for i in ifaces}
            rest = [i for i in ifaces if i.name not in order]
            for name in order:
                if name == "*":  # a Docker host has dozens (docker0, br-…, veth…): the first few, then a count
                    primary = [i for i in rest if i.name == self._primary_interface()]
                    others = [i for i in rest if i not in primary]
                    items += [self._iface(i) for i in primary + others[:MAX_OTHER_IFACES]]
                    if len(others) > MAX_OTHER_IFACES:
                        items.append(
                            Item("if:more", Text(f"+{len(others) - MAX_OTHER_IFACES} more interfaces", style=OFF_STYLE))
                        )
                elif name in named:
                    items.append(self._iface(named[name]))
                elif name == "loopback0":
                    items.append(Item("if:loopback0", Text("loopback0: not in ip addr", style="yellow")))
        items.append(Item("netfilter", Text("netfilter: ") + self._front_ends()))
        items.append(self._sockets())
        return items

    def _iface(self, i) -> Item:
        addrs = [
            f"{a.address}/{a.prefix}" if a.prefix is not None else a.address for a in i.addresses if a.scope != "link"
        ]
        text = Text(shown(i.name), style="bold")
        if i.name == "loopback0":
            text.append(" ← Windows 127.0.0.1")
        elif addrs:
            shown_addrs = 1 if i.name == "lo" else 2
            text.append(
                " "
                + shown(" ".join(addrs[:shown_addrs]))
                + (f" +{len(addrs) - shown_addrs}" if len(addrs) > shown_addrs else "")
            )
        if not i.up:
            text.append(" down", style="yellow")
        if self.mode == "mirrored" and _MIRRORED_NIC.match(i.name) and addrs:  # WSL names them ethN; docker0 is not one
            text.append(" (mirrored)", style=OFF_STYLE)
        return Item(f"if:{i.name}", text)

    def _front_ends(self) -> Text:
        """Which Linux firewall front ends hold rules: firewalld (and its zone), ufw, iptables, nft."""
        f = self.facts
        parts: list[Text] = []
        fw = f.firewalld
        if fw is None or fw.unknown:
            parts.append(Text("firewalld ?", style="yellow"))
        elif fw.running:
            zones = ", ".join(f"{z.name} ({' '.join(z.interfaces)})" for z in fw.active_zones if z.interfaces)
            parts.append(Text(f"firewalld zone {shown(zones or (fw.default_zone or '?') + ' (default)')}"))
        u = f.ufw
        if u is None or u.unknown:
            parts.append(Text("ufw ?", style="yellow"))
        elif u.active:
            parts.append(Text("ufw active"))
        parts.append(self._rulesets())
        return Text(" · ").join(parts)

    def _rulesets(self) -> Text:
        f = self.facts
        counts: list[str] = []
        unknown = False
        ipt = f.iptables
        for rs in ipt.rulesets() if ipt is not None else []:
            if rs.unknown is not None:
                unknown = True
            else:
                counts += _ruleset_words(rs)
        nft = f.nft
        if nft is None or nft.unknown is not None:
            unknown = True
        else:
            native = [t for t in nft.tables if not t.managed_by_iptables]
            if native:
                counts.append(f"nft {len(native)} table{'s' if len(native) != 1 else ''}")
        if ipt is None:
            unknown = True
        if unknown:
            return Text(", ".join([*counts, "rulesets not read" if not counts else "some not read"]), style="yellow")
        return Text(", ".join(counts)) if counts else Text("no rules", style=OFF_STYLE)

    def _sockets(self) -> Item:
        socks = self.facts.sockets.listeners if self.facts.sockets is not None else None
        if socks is None or isinstance(socks, Unknown):
            return Item("socket", Text("listeners: unknown", style="yellow"))
        if self.port is None:
            return Item("socket", Text(f"{len(socks)} listening sockets"))
        mine = [l for l in socks if l.port == self.port and l.proto == self.proto]
        if not mine:
            return Item("socket", Text(f"nothing listens on {self.proto}/{self.port}", style="yellow"))
        names = ", ".join(f"{shown(','.join(l.process_names) or '?')} {_at(l.address, l.port)}" for l in mine[:3])
        return Item("socket", Text(f"listening: {names}" + (f" +{len(mine) - 3}" if len(mine) > 3 else "")))

    # --- per mode ---------------------------------------------------------------------------

    def _nat(self) -> None:
        lan = self._lan_box()
        host_items = self._host_items(relay=True, portproxy=True)
        alias = winsim.wsl_adapter(self.win) if self.win is not None else "vEthernet (WSL…)"
        gw = self.facts.network.default_gateway_v4 if self.facts.network is not None else None
        veth = Text(shown(alias), style="bold")
        veth.append(f" {shown(gw)}" if gw else " IP ?", style="" if gw else "yellow")
        profile = winsim.profile_for(self.win, alias)[0] if self.win is not None else None
        veth.append(f" · {profile or '?'}", style="" if profile else "yellow")
        host_items.append(Item("vethernet", veth))
        host = self._add("host", "Windows host", host_items)
        hv = self._add(
            "hv",
            "Hyper-V",
            [
                Item("hvsocket", Text("hvsocket (no IP)")),
                Item("switch", Text("internal switch + WinNAT")),
                Item("subnet", Text(self._subnet() or "subnet ?", style="" if self._subnet() else "yellow")),
            ],
        )
        vm = self._add("vm", "WSL2 VM", self._vm_items(("lo", "eth0", "*")))
        self._link("lan", (lan, "client"), (host, "adapter"), gate=self._lan_gate())
        self._link("relay", (host, "relay"), (hv, "hvsocket"))
        self._link(
            "veth",
            (host, "vethernet"),
            (hv, "switch"),
            gate=Gate("WinFW", profile or "?", f"Windows Defender Firewall on {shown(alias)}", shown(alias)),
        )
        self._link("lo", (hv, "hvsocket"), (vm, "if:lo"))
        self._link("hv", (hv, "switch"), (vm, self._nic(vm)), gate=self._hyperv_gate())

    def _mirrored(self) -> None:
        lan = self._lan_box()
        host = self._add("host", "Windows host", self._host_items(relay=False, portproxy=False))
        hv = self._add(
            "hv",
            "Hyper-V",
            [
                Item("mirror", Text("adapters mirrored into the VM")),
                Item("steer", Text("ports Linux bound are steered in")),
                Item("loop", Text("127.0.0.1 → loopback0")),
            ],
        )
        vm = self._add("vm", "WSL2 VM", self._vm_items(("*", "loopback0", "lo")))
        first_if = self._nic(vm)
        self._link("lan", (lan, "client"), (host, "adapter"))
        self._link("mirror-in", (host, "adapter"), (hv, "mirror"), gate=self._hyperv_gate())
        self._link("loop-in", (host, "apps"), (hv, "loop"), gate=self._hyperv_gate(loopback=True))
        self._link("mirror-vm", (hv, "mirror"), (vm, first_if))
        self._link("loop-vm", (hv, "loop"), (vm, "if:loopback0"))

    def _consomme(self) -> None:
        lan = self._lan_box()
        host = self._add("host", "Windows host", self._host_items(relay=False, portproxy=False, consomme=True))
        link = self._add(
            "cm",
            "virtio-net",
            [
                Item("loop", Text("loopback forward")),
                Item("nic", Text("consomme user-mode NAT")),
                Item("nohv", Text("no Hyper-V firewall", style=OFF_STYLE)),
            ],
        )
        vm = self._add("vm", "WSL2 VM", self._vm_items(("loopback0", "lo", "*")))
        self._link("lan", (lan, "client"), (host, "adapter"), gate=self._lan_gate())
        self._link("loop-in", (host, "consomme-lo"), (link, "loop"))
        self._link("nic-in", (host, "consomme-if"), (link, "nic"))
        self._link("loop-vm", (link, "loop"), (vm, "if:loopback0"))
        self._link("nic-vm", (link, "nic"), (vm, self._nic(vm)))

    def _bridged(self) -> None:
        lan = self._lan_box()
        items = [Item("apps", Text("Windows apps")), self._excluded(), self._relay(), self._windows_listeners()]
        items += self._adapters()
        host = self._add("host", "Windows host", items)
        sw = self._add(
            "hv",
            "Hyper-V",
            [
                Item("hvsocket", Text("hvsocket (no IP)")),
                Item("switch", Text("external switch (the LAN)")),
                Item("nohv", Text("no Hyper-V firewall", style=OFF_STYLE)),
            ],
        )
        vm = self._add("vm", "WSL2 VM", self._vm_items(("lo", "eth0", "*")))
        self._link("lan", (lan, "client"), (host, "adapter"))
        self._link("relay", (host, "relay"), (sw, "hvsocket"))
        # Which host adapter sits on the external switch is not in the facts.
        self._link(
            "ext",
            (host, "adapter"),
            (sw, "switch"),
            gate=Gate(
                "WinFW",
                "?",
                "Windows Defender Firewall on the host's adapter on the external switch",
                "the host's adapter on the external switch",
            ),
        )
        self._link("lo", (sw, "hvsocket"), (vm, "if:lo"))
        self._link("hv", (sw, "switch"), (vm, self._nic(vm)))

    def _primary_interface(self) -> str | None:
        return self.facts.network.primary_interface if self.facts.network is not None else None

    def _nic(self, vm: int) -> str:
        """The VM's item for its network adapter: the primary interface (eth0, else the default
        route's), else the first that is not a loopback."""
        primary = self._primary_interface()
        keys = [
            i.key for i in self.boxes[vm].items if i.key.startswith("if:") and i.key not in ("if:lo", "if:loopback0")
        ]
        return f"if:{primary}" if primary and f"if:{primary}" in keys else (keys[0] if keys else "if:eth0")

    def _subnet(self) -> str | None:
        net = self.facts.network
        iface = net.interface(net.primary_interface or "eth0") if net is not None else None
        for a in iface.addresses if iface is not None else []:
            if a.family == "ipv4" and a.prefix is not None and a.scope == "global":
                try:
                    return str(ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False))
                except ValueError:
                    return None
        return None

    def _lan_gate(self) -> Gate:
        """Windows Defender Firewall at the (first) LAN adapter, with its profile."""
        adapters = winsim.lan_adapters(self.win) if self.win is not None else []
        if self.win is None or isinstance(adapters, Unknown) or not adapters:
            return Gate("WinFW", "?", "Windows Defender Firewall on the LAN adapter", "the LAN adapter")
        alias = adapters[0].alias
        profile = winsim.profile_for(self.win, alias)[0] or "?"
        return Gate("WinFW", profile, f"Windows Defender Firewall on {shown(alias)} ({profile})", shown(alias))

    def _hyperv_gate(self, loopback: bool = False) -> Gate:
        name = "Hyper-V firewall" + (", loopback" if loopback else "")
        if self.win is None:
            return Gate("Hyper-V", "?", f"{name}: no Windows data", "the WSL VM")
        cfg = self.facts.wsl.wslconfig if self.facts.wsl is not None else None
        presence = winsim.hyperv_presence(self.win, self.mode, None if isinstance(cfg, Unknown) else cfg)
        detail = {"attached": "", "absent": "absent", "unknown": "?"}[presence.state]
        if presence.assumed:
            detail = "assumed"
        if detail and not loopback:  # how sure the map is that the firewall is there at all
            self.notes.append(
                Text(
                    f"Hyper-V firewall {presence.state}{' (assumed)' if presence.assumed else ''}: "
                    f"{shown(presence.text)}",
                    style="yellow" if detail != "absent" else OFF_STYLE,
                )
            )
        return Gate("Hyper-V", detail, f"{name} ({presence.state})", "the WSL VM")

    # --- the trace on it --------------------------------------------------------------------

    def place_trace(self) -> dict[int, str]:
        """Mark each hop where it happens and the path it takes; {hop number: where it is drawn}."""
        trace = self.trace
        if trace is None:
            return {}
        first = trace.first_blocker
        placed: dict[int, str] = {}
        stop: float | None = None  # where the first blocker is: a box index, or a link's middle (k + 0.5)
        lanes = self._lanes(trace)
        for key in lanes:
            link = self._find_link(key)
            if link is not None:
                link.on_path = True
                link.reverse = self.scenario == "wsl-to-windows"
        for n, hop in enumerate(trace.hops, 1):
            spot = self._spot(hop, lanes)
            if spot is None:
                continue
            _, where = spot
            if isinstance(where, str):  # on a link
                link = self._find_link(where)
                if link is None:
                    continue
                gate = link.gate or Gate(_short(hop.layer), "", LAYER_NAME.get(hop.layer, hop.layer))
                link.gate = gate
                if where in ("lan", "mirror-in"):
                    self._to_adapter_of(link, gate, hop)
                gate.hop, gate.verdict, gate.first = n, hop.verdict, hop is first
                if hop.verdict == "assumed":
                    gate.detail = "assumed"
                link.on_path = True
                placed[n] = gate.at
                if hop is first:
                    stop = link.left[0] + 0.5
            else:
                box_key, item_key = where
                box = self.box_of(box_key)
                item = box.item(item_key) if box else None
                if box is None or item is None:
                    continue
                item.hop, item.verdict, item.first, item.on_path = n, hop.verdict, hop is first, True
                placed[n] = box.title
                if hop is first:
                    stop = float(self.boxes.index(box))
        if stop is not None:
            for link in self.links:
                middle = link.left[0] + 0.5
                link.reached = not (middle < stop if link.reverse else middle > stop)
        self._mark_ends(lanes)
        return placed

    def _to_adapter_of(self, link: Link, gate: Gate, hop: Hop) -> None:
        """The wire from the LAN to the adapter the firewall hop was decided on (the simulator tries
        every LAN adapter and reports the one that blocks), with that adapter's profile on the gate.
        Found by the adapters' own names in the hop's packet or location; else left as it is."""
        words = f"{hop.packet} {hop.location or ''}"
        for key, alias, profile in self.lan_adapters:
            if f"on {alias} (" in words or f"({alias} is on" in words:
                host_box = self.box_of("host")
                if host_box is None:
                    return
                host = self.boxes.index(host_box)
                if link.left[0] == host:
                    link.left = (host, key)
                else:
                    link.right = (host, key)
                if gate.name == "WinFW" or not gate.detail:  # a Hyper-V gate keeps "assumed" / "?"
                    gate.detail = profile or "?"
                gate.at = shown(alias)
                gate.full = f"{LAYER_NAME[hop.layer]} on {shown(alias)} ({profile or '?'})"
                return

    def box_of(self, key: str) -> Box | None:
        return next((b for b in self.boxes if b.key == key), None)

    def _find_link(self, key: str) -> Link | None:
        return next((l for l in self.links if l.key == key), None)

    def _entry(self) -> str | None:
        """The Linux interface the trace reaches (from its netfilter hop), when it gets that far."""
        hop = next((h for h in self.trace.hops if h.layer == "netfilter"), None) if self.trace else None
        return _interface_of(hop) if hop is not None else None

    def _lanes(self, trace: Trace) -> list[str]:
        """The links the trace's path runs along."""
        sc, layers, entry = self.scenario, {h.layer for h in trace.hops}, self._entry()
        lan = ["lan"] if sc.startswith("lan-") else []
        if self.mode in ("nat", "bridged"):
            if entry == "lo" or (entry is None and "localhost-relay" in layers and "portproxy" not in layers):
                return lan + ["relay", "lo"]
            if self.mode == "bridged":
                # the LAN reaches the VM's own address through the NIC the external switch is bound to
                return ["lan", "ext", "hv"] if sc.startswith("lan-") else ["ext", "hv"]
            if sc == "lan-to-wsl-ip":
                return lan
            return lan + ["veth", "hv"]
        if self.mode == "mirrored":
            loop = entry == "loopback0" or (
                entry is None and sc in ("windows-localhost-v4", "windows-localhost-v6", "wsl-to-windows")
            )
            return lan + (["loop-in", "loop-vm"] if loop else ["mirror-in", "mirror-vm"])
        loop = entry == "loopback0" or (entry is None and sc.startswith("windows-localhost"))
        return lan + (["loop-in", "loop-vm"] if loop else ["nic-in", "nic-vm"])

    def _spot(self, hop: Hop, lanes: list[str]) -> tuple[str, str] | tuple[str, tuple[str, str]] | None:
        """Where ``hop`` is drawn: ("link", key) or ("item", (box, item)); None: only in the list."""
        layer, mode = hop.layer, self.mode
        if hop.verdict == "not-applicable" and layer in ("windows-firewall", "hyperv-firewall", "path"):
            return None
        if layer == "windows-firewall":
            if "lan" in lanes:
                return "link", "lan" if mode != "bridged" else "ext"
            if mode == "nat":
                return "link", "veth"
            if mode == "bridged":
                return "link", "ext"
            return "item", ("host", "apps")
        if layer == "hyperv-firewall":
            if mode == "mirrored":
                return "link", "loop-in" if "loop-in" in lanes else "mirror-in"
            return "link", "hv"
        if layer == "excluded-ports":
            return "item", ("host", "excluded")
        if layer == "windows-listener":
            return "item", ("host", "listeners")
        if layer == "portproxy":
            return "item", ("host", "portproxy")
        if layer == "localhost-relay":
            if mode == "mirrored":
                return "item", ("hv", "steer")
            if mode == "consomme":
                return "item", ("host", "consomme-lo" if "loop-in" in lanes else "consomme-if")
            return "item", ("host", "relay")
        if layer == "netfilter":
            return "item", ("vm", "netfilter")
        if layer == "socket":
            return "item", ("vm", "socket")
        if layer == "path" and hop.blocks and self.scenario != "wsl-to-windows":
            return "item", ("lan", "client") if self.scenario.startswith("lan-") else ("host", "apps")
        return None

    def _mark_ends(self, lanes: list[str]) -> None:
        """The client, the items the path's links touch, and the boxes it crosses, as on the path."""
        if self.scenario.startswith("lan-"):
            self._item("lan", "client", on_path=True)
        elif self.scenario == "wsl-to-windows":  # the client is in Linux; the server a Windows listener
            self._item("host", "listeners", on_path=True)
        else:
            self._item("host", "apps", on_path=True)
        for link in self.links:
            if link.on_path and link.reached:
                for index, key in (link.left, link.right):
                    item = self.boxes[index].item(key)
                    if item is not None:
                        item.on_path = True
        for box in self.boxes:
            box.on_path = any(i.on_path for i in box.items)

    def _item(self, box_key: str, item_key: str, *, on_path: bool) -> None:
        box = self.box_of(box_key)
        item = box.item(item_key) if box else None
        if item is not None:
            item.on_path = on_path


def _ruleset_words(rs) -> list[str]:
    """An iptables ruleset in a few words when it holds anything: its rules, a policy that is not ACCEPT."""
    if not rs.is_active():
        return []
    n = rs.rule_count()
    policies = sorted({c.policy for t in rs.tables for c in t.chains if c.builtin and c.policy not in (None, "ACCEPT")})
    words = f"{rs.record.removeprefix('nf.')} {n} rule{'' if n == 1 else 's'}"
    return [words + (f" (policy {'/'.join(policies)})" if policies else "")]


def _short(layer: str) -> str:
    return {"windows-firewall": "WinFW", "hyperv-firewall": "Hyper-V", "path": "route"}.get(layer, layer[:7])


def _at(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


# --- drawing it -----------------------------------------------------------------------------

BOX_WIDTH = {"lan": (12, 16), "hv": (16, 30), "cm": (16, 30)}  # key -> (least, most) cells; others below
OTHER_WIDTH = (24, 64)
PATH_BORDER = "bold cyan"
FIRST_STYLE = "bold reverse red"
BEYOND_STYLE = "cyan"  # the path past the first blocker: where the packet would go (dashed)
LEGEND = (
    "✓ passes (in the assumed colour: on an assumption)  ✗ stops  ? unknown  – does not apply  "
    "┨·┠ a firewall this connection does not cross  ▶ the path  ╌▶ the path past the first blocker  "
    "N: hop N in Flow"
)


class MapView:
    """A ``TopologyMap`` drawn at the width it gets: boxes in a row, wires and gates between them;
    boxes stacked when the row does not fit. Then the hops in Flow's order, and the notes."""

    def __init__(self, topo: TopologyMap) -> None:
        self.topo = topo

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        lines = [self.topo.heading, self.topo.verdict]
        if self.topo.boxes:
            lines.append(Text())
            widths = fit_widths(self.topo.boxes, width)
            lines += row_layout(self.topo, widths, console) if widths else stacked_layout(self.topo, width, console)
        if self.topo.hops:
            lines.append(Text())
            lines += hop_list(self.topo, width)
        if self.topo.notes or self.topo.boxes:
            lines.append(Text())
            lines += self.topo.notes
        if self.topo.boxes:
            lines.append(Text(LEGEND, style=OFF_STYLE))
        for line in lines:
            yield shown_text(line, multiline=False)


def item_text(item: Item) -> Text:
    """An item as it reads: the hop's mark and number first, the path in bold, the rest dimmed."""
    text = Text()
    if item.hop is not None:
        mark = MARK.get(item.verdict, "?")
        text.append(f"{mark}{item.hop} ", style=FIRST_STYLE if item.first else STYLE.get(item.verdict, ""))
    body = item.text.copy()
    body.stylize(PATH_TEXT if item.on_path else OFF_STYLE)
    text.append_text(body)
    if item.first:
        text.append(" ◀", style="bold red")
    return text


def _bounds(box: Box) -> tuple[int, int]:
    return BOX_WIDTH.get(box.key, OTHER_WIDTH)


def fit_widths(boxes: list[Box], width: int) -> list[int] | None:
    """Each box's width for a row layout in ``width`` cells, or None when the row does not fit."""
    room = width - GAP * (len(boxes) - 1)
    least = [_bounds(b)[0] for b in boxes]
    if sum(least) > room:
        return None
    wanted = [
        min(_bounds(b)[1], max(lo, cell_len(b.title) + 6, *(item_text(i).cell_len + 4 for i in b.items)))
        for b, lo in zip(boxes, least)
    ]
    while sum(wanted) > room:  # take from the widest until it fits
        i = max(range(len(wanted)), key=lambda k: wanted[k] - least[k])
        wanted[i] -= 1
    return wanted


def _wrapped(box: Box, inner: int, console: Console) -> list[tuple[Text | None, str | None]]:
    """The box's rows: (text, key of the item that starts on it)."""
    rows: list[tuple[Text | None, str | None]] = []
    for item in box.items:
        for n, line in enumerate(item_text(item).wrap(console, inner, overflow="fold")):
            rows.append((line, item.key if n == 0 else None))
    return rows


def _row_of(rows: list, key: str) -> int | None:
    return next((n for n, (_, k) in enumerate(rows) if k == key), None)


def _align(topo: TopologyMap, columns: list[list]) -> None:
    """Push items down (blank rows above them) until every wire runs straight across its gap."""
    for _ in range(200):
        moved = False
        for link in topo.links:
            (lb, lk), (rb, rk) = link.left, link.right
            lr, rr = _row_of(columns[lb], lk), _row_of(columns[rb], rk)
            if lr is None or rr is None or lr == rr:
                continue
            low, at, by = (columns[lb], lr, rr - lr) if lr < rr else (columns[rb], rr, lr - rr)
            low[at:at] = [(None, None)] * by
            moved = True
        if not moved:
            return


def row_layout(topo: TopologyMap, widths: list[int], console: Console) -> list[Text]:
    columns = [_wrapped(b, w - 4, console) for b, w in zip(topo.boxes, widths)]
    _align(topo, columns)
    height = max(len(c) for c in columns)
    for c in columns:
        c += [(None, None)] * (height - len(c))
    wires: dict[tuple[int, int], Link] = {}  # (gap, row) -> link
    for link in topo.links:
        row = _row_of(columns[link.left[0]], link.left[1])
        if row is not None and _row_of(columns[link.right[0]], link.right[1]) == row:
            wires[(link.left[0], row)] = link
    gaps = [_gap_column(k, height, wires) for k in range(len(topo.boxes) - 1)]
    out = []
    for line in range(height + 2):
        text = Text()
        for k, (box, w) in enumerate(zip(topo.boxes, widths)):
            text.append_text(_box_line(box, w, columns[k], line, k, wires, len(topo.boxes)))
            if k < len(gaps):
                text.append_text(gaps[k][line])
        out.append(text)
    return out


def _box_line(box: Box, width: int, rows: list, line: int, k: int, wires: dict, count: int) -> Text:
    border = PATH_BORDER if box.on_path else OFF_STYLE
    if line == 0:
        title = Text(f" {box.title} ", style=border if box.on_path else "")
        title.truncate(width - 4, overflow="ellipsis")
        return Text.assemble(("┌─", border), title, ("─" * max(0, width - 3 - title.cell_len) + "┐", border))
    if line == len(rows) + 1:
        return Text("└" + "─" * (width - 2) + "┘", style=border)
    row = line - 1
    content, _ = rows[row]
    left = "┤" if (k - 1, row) in wires else "│"
    right = "├" if (k, row) in wires and k < count - 1 else "│"
    body = content.copy() if content is not None else Text()
    body.truncate(width - 4, overflow="ellipsis", pad=True)
    return Text.assemble((left + " ", border), body, (" " + right, border))


def _gap_column(k: int, height: int, wires: dict) -> list[Text]:
    """The gap right of box ``k``, one Text per line (border lines included): wires with their
    gates, each gate's name above its wall and its detail below."""
    lines: list[Text | None] = [None] * (height + 2)
    links = sorted((row, link) for (gap, row), link in wires.items() if gap == k)
    for row, link in links:
        lines[row + 1] = _wire(link)
    for row, link in links:
        gate = link.gate
        above = ((f"{gate.hop} " if gate.hop else "") + gate.name) if gate else ""
        below = gate.detail if gate else ""
        style = _gate_style(link)
        for at, words in ((row, above), (row + 2, below)):
            if words and 0 <= at < len(lines) and lines[at] is None:
                lines[at] = Text(words[:GAP].center(GAP), style=style if gate and gate.verdict else OFF_STYLE)
    return [line or Text(" " * GAP) for line in lines]


def _gate_style(link: Link) -> str:
    gate = link.gate
    if gate is None or not gate.verdict:
        return PATH_BORDER if link.on_path else OFF_STYLE
    return FIRST_STYLE if gate.first else STYLE.get(gate.verdict, "")


def _wire(link: Link) -> Text:
    wire_style = (PATH_BORDER if link.reached else BEYOND_STYLE) if link.on_path else OFF_STYLE
    cells = ["─" if link.reached or not link.on_path else "╌"] * GAP
    if link.on_path:
        if link.reverse:
            cells[0] = "◀"
        else:
            cells[-1] = "▶"
    text = Text("".join(cells), style=wire_style)
    gate = link.gate
    if gate is not None:
        mark = MARK.get(gate.verdict, "?") if gate.verdict else "·"
        wall = Text(f"┨{mark}┠", style=_gate_style(link))
        text = Text.assemble(text[:3], wall, text[6:])
    return text


def stacked_layout(topo: TopologyMap, width: int, console: Console) -> list[Text]:
    """Boxes one under the other, full width; between two boxes, each wire that matters as a line."""
    out: list[Text] = []
    for k, box in enumerate(topo.boxes):
        rows = _wrapped(box, max(8, width - 4), console)
        out.append(_box_line(box, width, rows, 0, k, {}, len(topo.boxes)))
        out += [_box_line(box, width, rows, n + 1, k, {}, len(topo.boxes)) for n in range(len(rows))]
        out.append(_box_line(box, width, rows, len(rows) + 1, k, {}, len(topo.boxes)))
        for link in (l for l in topo.links if l.left[0] == k and (l.on_path or l.gate is not None)):
            out.append(_stacked_wire(link))
    return out


def _stacked_wire(link: Link) -> Text:
    arrow = "▲" if link.reverse else "▼"
    text = Text(f"  {arrow if link.on_path else '│'} ", style=PATH_BORDER if link.on_path else OFF_STYLE)
    gate = link.gate
    if gate is None:
        return text
    mark = MARK.get(gate.verdict, "?") if gate.verdict else "·"
    text.append(f"┨{mark}┠ ", style=_gate_style(link))
    text.append(
        (f"{gate.hop}. " if gate.hop else "") + (gate.full or gate.name), style=PATH_TEXT if link.on_path else OFF_STYLE
    )
    if gate.detail:
        text.append(f" · {gate.detail}", style=OFF_STYLE)
    return text


def hop_list(topo: TopologyMap, width: int) -> list[Text]:
    """The trace's hops as Flow numbers them: mark, layer, what it does to the client, where on the
    map, what decided. One line each (Flow has the whole story); the first blocker's line whole."""
    out = []
    for line in topo.hops:
        hop = line.hop
        text = Text(f"{line.number:>2} ")
        text.append(
            f"{MARK.get(hop.verdict, '?')} {WORD.get(hop.verdict, hop.verdict)}",
            style=FIRST_STYLE if line.first else STYLE.get(hop.verdict, ""),
        )
        text.append(f"  {LAYER_NAME.get(hop.layer, hop.layer)}", style="bold")
        if hop.blocks and hop.symptom:
            text.append(f" → {shown(hop.symptom)}", style="bold red")
        if line.first:
            text.append("  ◀ first blocker", style="bold red")
        if line.where:
            text.append(f" · at {shown(line.where)}", style=OFF_STYLE)
        detail = hop.edit or hop.location or ""
        if hop.verdict == "assumed" and hop.assumption:
            detail = f"assumed: {hop.assumption}"
        elif hop.verdict == "unknown" and hop.reason:
            detail = hop.reason
        if detail:
            text.append(f" · {shown(detail)}")
        if not line.first:
            text.truncate(width, overflow="ellipsis")
            text.no_wrap = True
        out.append(text)
    return out
