"""The topology map (wsltui/views/topology_map.py) on the bundled demos: the structure of each
networking mode (adapters and their profiles, relay, portproxy, the switch, loopback0), each hop
of the Flow trace on the gate or item where it happens, the first blocker on the right one, and
what is unknown drawn as unknown. Then the drawing: it fits the width it gets (a row of boxes, or
boxes stacked when narrow), its wires run straight, and hostile names stay inert."""

from __future__ import annotations

import dataclasses
import json

import pytest
from rich.cells import cell_len
from rich.console import Console

from wsltui import demos
from wsltui.snapshot import Record, Snapshot
from wsltui.analysis import analyze
from wsltui.views.topology_map import MapView, _align, _row_of, _wrapped, build_map, fit_widths

HOSTILE = "[red]x\x1b[2J"


def topo(demo, scenario: str, port: int = 8080, proto: str = "tcp"):
    a = analyze(demos.load(demo) if isinstance(demo, str) else demo)
    return build_map(a.facts, a.world, a.trace(scenario, port, proto))


def plain(m, key: str) -> list[str]:
    return [i.text.plain for i in m.box(key).items]


def drawn(m, width: int, styles: bool = False) -> str:
    """What a terminal of ``width`` columns gets (``styles``: with its escape sequences)."""
    console = Console(width=width, record=True, color_system="truecolor", force_terminal=True)
    console.print(MapView(m))
    return console.export_text(styles=styles)


# --- structure per mode ---------------------------------------------------------------------


def test_nat_map_has_the_lan_host_adapters_switch_and_vm():
    m = topo("nat-firewalld-reject", "windows-to-wsl-ip")
    assert [b.key for b in m.boxes] == ["lan", "host", "hv", "vm"]
    host = plain(m, "host")
    assert host[0].startswith("Wi-Fi · Private")  # the LAN adapter and its firewall profile
    assert "IP ?" in host[0]  # Windows' adapter addresses are not captured: unknown, not invented
    assert "wslrelay.exe 127.0.0.1:8080" in host  # the relay on the Flow port
    assert "portproxy: none" in host
    assert host[-1] == "vEthernet (WSL (Hyper-V firewall)) 172.28.160.1 · Public"  # the NAT switch's host side
    assert plain(m, "hv") == ["hvsocket (no IP)", "internal switch + WinNAT", "172.28.160.0/20"]
    vm = plain(m, "vm")
    assert vm[0].startswith("lo 127.0.0.1/8") and vm[1] == "eth0 172.28.165.23/20"
    assert vm[2] == "netfilter: firewalld zone public (default) · nft 1 table"
    assert any("main 0.0.0.0:8080" in line for line in vm)
    assert any("Get-NetIPAddress" in n.plain for n in m.notes)


def test_nat_blocker_is_marked_on_netfilter_and_the_gates_on_their_links():
    m = topo("nat-firewalld-reject", "windows-to-wsl-ip")
    nf = m.box("vm").item("netfilter")
    assert (nf.hop, nf.verdict, nf.first) == (3, "reject", True)
    veth, hv, lan = m.link("veth"), m.link("hv"), m.link("lan")
    assert (veth.gate.hop, veth.gate.verdict, veth.gate.detail, veth.on_path) == (1, "allow", "Public", True)
    assert (hv.gate.hop, hv.gate.verdict, hv.gate.detail) == (2, "assumed", "assumed")  # host->VM: an assumption
    assert not lan.on_path and lan.gate.verdict == ""  # a Windows app: the LAN is not on this path
    assert not m.link("relay").on_path and not m.box("lan").on_path
    assert m.box("vm").item("socket").verdict == "allow"
    assert [(h.number, h.where, h.first) for h in m.hops] == [
        (1, "vEthernet (WSL (Hyper-V firewall))", False),
        (2, "the WSL VM", False),
        (3, "WSL2 VM", True),
        (4, "WSL2 VM", False),
    ]
    assert "blocked at netfilter: no route to host" in m.verdict.plain


def test_nat_localhost_goes_through_the_relay_and_hvsocket_to_lo():
    m = topo("nat-firewalld-reject", "windows-localhost-v4")
    assert m.link("relay").on_path and m.link("lo").on_path
    assert not m.link("veth").on_path and not m.link("hv").on_path
    assert m.box("host").item("relay").verdict == "allow"
    assert m.box("vm").item("if:lo").on_path and not m.box("vm").item("if:eth0").on_path
    assert m.verdict.plain == "✓ reachable"


def test_lan_through_a_stale_portproxy_stops_at_the_portproxy():
    m = topo("lan-stale-portproxy", "lan-to-host")
    lan = m.link("lan")
    assert (lan.on_path, lan.gate.hop, lan.gate.verdict, lan.gate.detail, lan.gate.at) == (
        True,
        1,
        "allow",
        "Private",
        "Wi-Fi",
    )
    proxy = m.box("host").item("portproxy")
    assert proxy.first and proxy.verdict == "drop" and "172.23.188.236:8080" in proxy.text.plain
    # the path goes on to the VM, but the packet never gets there
    assert m.link("veth").on_path and not m.link("veth").reached and not m.link("hv").reached
    assert not m.box("vm").item("if:eth0").on_path


def test_the_lan_wire_goes_to_the_adapter_whose_firewall_decided():
    """Two LAN adapters: Wi-Fi (Private) allows 8080, Ethernet (Public) does not: the gate is Ethernet's."""
    snap = demos.load("nat-healthy")
    ps = snap.records["win.powershell"]
    data = json.loads(ps.stdout)
    data["conn"].append({"alias": "Ethernet", "ifIndex": 7, "category": 0})
    data["rules"].append(
        {
            "id": "dev-8080",
            "name": "Dev 8080",
            "enabled": 1,
            "dir": 1,
            "action": 2,
            "profile": 2,
            "proto": "TCP",
            "lport": "8080",
            "rport": "Any",
            "laddr": "Any",
            "raddr": "Any",
            "program": "Any",
            "service": "Any",
            "ifAlias": "Any",
            "ifType": "Any",
            "src": "PersistentStore",
        }
    )
    snap.add(dataclasses.replace(ps, stdout=json.dumps(data)))
    m = topo(snap, "lan-to-host")
    host = plain(m, "host")
    assert host[0].startswith("Wi-Fi · Private") and host[1].startswith("Ethernet · Public")
    lan = m.link("lan")
    assert (lan.right, lan.gate.at, lan.gate.detail, lan.gate.verdict) == (
        (1, "adapter:1"),
        "Ethernet",
        "Public",
        "drop",
    )


def test_mirrored_map_has_mirrored_adapters_loopback0_and_the_hyperv_block():
    m = topo("mirrored-hyperv-lan", "lan-to-host")
    assert [b.key for b in m.boxes] == ["lan", "host", "hv", "vm"]
    assert plain(m, "hv") == [
        "adapters mirrored into the VM",
        "ports Linux bound are steered in",
        "127.0.0.1 → loopback0",
    ]
    vm = plain(m, "vm")
    assert "eth0 192.168.1.23/24 (mirrored)" in vm and "loopback0 ← Windows 127.0.0.1" in vm
    host = plain(m, "host")
    assert not any("vEthernet" in line or "portproxy" in line or "relay" in line for line in host)
    gate = m.link("mirror-in").gate
    assert (gate.name, gate.verdict, gate.first) == ("Hyper-V", "drop", True)
    assert m.box("hv").item("steer").verdict == "allow"
    assert m.link("lan").gate is None  # steered LAN traffic meets the Hyper-V firewall, not Windows'
    assert not m.link("mirror-vm").reached


def test_mirrored_localhost_arrives_on_loopback0():
    m = topo("mirrored-hyperv-lan", "windows-localhost-v4")
    assert m.link("loop-in").gate.verdict == "allow" and m.link("loop-vm").on_path
    assert m.box("vm").item("if:loopback0").on_path and not m.link("mirror-in").on_path


def test_consomme_map_has_host_sockets_and_no_hyperv_firewall():
    m = topo("consomme-lan", "windows-localhost-v6")
    assert [b.key for b in m.boxes] == ["lan", "host", "cm", "vm"]
    assert "no Hyper-V firewall" in plain(m, "cm")
    assert not any(l.gate is not None and l.gate.name == "Hyper-V" for l in m.links)
    item = m.box("host").item("consomme-lo")  # no [::1] socket for a 0.0.0.0 bind
    assert item.first and item.verdict == "no-listener"
    m = topo("consomme-lan", "lan-to-host")
    assert m.link("lan").gate.verdict == "unknown" and m.link("nic-vm").on_path  # a program rule: undecided
    assert m.box("host").item("consomme-if").verdict == "allow"
    assert m.verdict.plain.startswith("? undecided at Windows Defender Firewall")


def test_bridged_map_has_an_external_switch_and_no_hyperv_firewall():
    snap = demos.load("nat-healthy")
    snap.add(Record("wsl.networking-mode", ("wslinfo", "--networking-mode"), "bridged\n"))
    m = topo(snap, "windows-localhost-v4")
    assert plain(m, "hv") == ["hvsocket (no IP)", "external switch (the LAN)", "no Hyper-V firewall"]
    assert m.link("relay").on_path and m.link("lo").on_path and m.box("host").item("relay").verdict == "allow"
    assert m.link("hv").gate is None and not any("vEthernet" in line for line in plain(m, "host"))
    m = topo(snap, "lan-to-host")  # the VM's own LAN address: only Linux filters
    assert m.link("lan").on_path and m.link("ext").on_path and m.link("hv").on_path
    assert m.link("ext").gate.verdict == ""  # the NIC the switch is bound to: the host's firewall is not crossed
    assert [h.hop.layer for h in m.hops] == ["netfilter", "socket"]


def test_a_docker_host_shows_a_few_interfaces_then_a_count():
    snap = demos.load("nat-healthy")
    addr = snap.records["net.addr"]
    links = json.loads(addr.stdout)
    links += [
        {"ifindex": 10 + n, "ifname": f"veth{n:04x}", "flags": ["UP"], "operstate": "UP", "addr_info": []}
        for n in range(20)
    ]
    snap.add(dataclasses.replace(addr, stdout=json.dumps(links)))
    m = topo(snap, "windows-to-wsl-ip")
    vm = plain(m, "vm")
    assert vm[:2] == ["lo 127.0.0.1/8 +2", "eth0 172.28.165.23/20"] and "+17 more interfaces" in vm
    assert m.link("hv").right == (3, "if:eth0") and m.link("hv").on_path


def test_without_windows_data_the_host_is_unknown_not_invented():
    snap = demos.load("nat-healthy")
    bare = Snapshot(meta=snap.meta)
    for name, record in snap.records.items():
        if not name.startswith("win."):
            bare.add(record)
    m = topo(bare, "windows-to-wsl-ip")
    host = plain(m, "host")
    assert host[0] == "adapters: unknown (no Windows data)"
    assert "Private" not in " ".join(host) and "excluded port ranges: unknown" in host
    assert m.link("hv").gate.detail == "?" and m.link("hv").gate.verdict == "unknown"
    assert m.link("lan").gate.detail == "?"


def test_unknown_mode_draws_nat_as_an_assumption():
    snap = demos.load("nat-healthy")
    snap.add(
        Record("wsl.networking-mode", ("wslinfo", "--networking-mode"), "", exit_code=None, error="wslinfo: not found")
    )
    m = topo(snap, "windows-localhost-v4")
    assert m.mode == "unknown" and m.box("hv") is not None
    assert any("NAT layout is drawn as an assumption" in n.plain for n in m.notes)


def test_wsl1_has_no_map_only_words():
    snap = demos.load("nat-healthy")
    snap.add(Record("wsl.networking-mode", ("wslinfo", "--networking-mode"), "wsl1\n"))
    m = topo(snap, "windows-localhost-v4")
    assert m.boxes == [] and any("WSL1" in n.plain for n in m.notes)


# --- drawing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "demo,scenario",
    [
        ("nat-firewalld-reject", "windows-to-wsl-ip"),
        ("lan-stale-portproxy", "lan-to-host"),
        ("mirrored-hyperv-lan", "lan-to-host"),
        ("consomme-lan", "lan-to-host"),
    ],
)
def test_wires_run_straight_and_every_line_fits(demo, scenario):
    m = topo(demo, scenario)
    console = Console(width=116)
    widths = fit_widths(m.boxes, 116)
    assert widths is not None and sum(widths) + 9 * (len(widths) - 1) <= 116
    columns = [_wrapped(b, w - 4, console) for b, w in zip(m.boxes, widths)]
    _align(m, columns)
    for link in m.links:
        assert _row_of(columns[link.left[0]], link.left[1]) == _row_of(columns[link.right[0]], link.right[1]), link.key
    for width in (116, 196, 76):
        assert all(cell_len(line) <= width for line in drawn(m, width).splitlines())


def test_narrow_terminals_stack_the_boxes():
    m = topo("mirrored-hyperv-lan", "lan-to-host")
    assert fit_widths(m.boxes, 76) is None
    text = drawn(m, 76)
    lines = [l for l in text.splitlines() if l.startswith("┌─ ")]
    assert [l.split(" ")[1] for l in lines] == ["LAN", "Windows", "Hyper-V", "WSL2"]  # one box per line
    assert "┨✗┠ 1. Hyper-V firewall on Wi-Fi (Private)" in text
    wide = drawn(m, 116)
    assert any(l.count("┌─ ") == 4 for l in wide.splitlines())  # one row of four boxes


def test_the_first_blocker_is_named_in_the_hop_list():
    text = drawn(topo("lan-stale-portproxy", "lan-to-host"), 116)
    assert " 3 ✗ DROP  portproxy → timeout  ◀ first blocker" in text


def test_hostile_names_stay_inert():
    snap = demos.load("nat-firewalld-reject")
    ps = snap.records["win.powershell"]
    data = json.loads(ps.stdout)
    data["conn"][0]["alias"] = HOSTILE  # the LAN adapter
    data["listeners"].append({"addr": "0.0.0.0", "port": 8080, "pid": 66, "process": HOSTILE})
    snap.add(dataclasses.replace(ps, stdout=json.dumps(data)))
    addr = snap.records["net.addr"]
    links = json.loads(addr.stdout)
    links[1]["ifname"] = "eth0\x1b]52;c;SGk=\x07"
    snap.add(dataclasses.replace(addr, stdout=json.dumps(links)))
    m = topo(snap, "lan-to-host")
    raw = drawn(m, 116, styles=True) + drawn(m, 76, styles=True)
    assert "\x1b[2J" not in raw and "\x1b]52" not in raw and "\x07" not in raw
    text = drawn(m, 116) + drawn(m, 76)
    assert "[red]x\\x1b[2J" in text  # shown as what it is, never read as markup
    assert "\\x1b]52;c;SGk=\\x07" in text


def test_the_map_builder_never_imports_textual():
    import subprocess
    import sys

    code = "import sys, wsltui.views.topology_map\nprint(any(m.split('.')[0] == 'textual' for m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("broken", ["nothing", "parser-crash"])
def test_nothing_known_still_draws_and_invents_nothing(broken):
    from wsltui.simulation.simulate import World
    from wsltui.views.scenarios import FLOW_SCENARIOS

    a = analyze(Snapshot(meta={}) if broken == "nothing" else demos.load("nat-firewalld-reject"))
    facts = a.facts
    if broken == "parser-crash":  # what build_facts leaves when a parser raises: the section is None
        facts = dataclasses.replace(
            facts, network=None, sockets=None, firewalld=None, ufw=None, iptables=None, nft=None
        )
    world = World.from_facts(facts)
    for scenario in FLOW_SCENARIOS:
        m = build_map(facts, world, a.trace(scenario, 8080) if broken == "nothing" else None)
        text = drawn(m, 116) + drawn(m, 76)
        if broken == "nothing":  # no Windows data: no profile is claimed, not even vEthernet (WSL)'s usual Public
            assert "Private" not in text and "Public" not in text
        if m.boxes:
            vm = plain(m, "vm")
            assert any("unknown" in line or "could not be read" in line for line in vm), vm
