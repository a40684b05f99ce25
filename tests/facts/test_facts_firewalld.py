"""firewalld facts: golden snapshots from the real daemon (tests/golden/firewalld-*, made by
tests/golden/gen_firewalld_ufw.py), malformed input, and one live run in a fresh namespace."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsltui import snapshot as snapshot_mod
from wsltui.facts import firewalld as F
from wsltui.snapshot import Record, Snapshot


def load(golden, case: str) -> F.FirewalldFacts:
    return F.from_snapshot(snapshot_mod.load(golden / f"firewalld-{case}"))


def snap(**records: tuple) -> Snapshot:
    """snap(state=("running\\n", 0, "")) -> a Snapshot with firewalld.<name> records."""
    s = Snapshot()
    names = {"state": F.STATE, "zones": F.ZONES, "active": F.ACTIVE, "default": F.DEFAULT_ZONE}
    for key, value in records.items():
        name = names[key]
        if isinstance(value, Record):
            s.add(value)
            continue
        stdout, code, stderr = (tuple(value) + (0, ""))[:3]
        s.add(Record(name, ("firewall-cmd",), stdout, exit_code=code, stderr=stderr))
    return s


def assert_jsonable(facts) -> None:
    json.dumps(dataclasses.asdict(facts))


# --- goldens --------------------------------------------------------------------------------------


def test_default_config(golden):
    f = load(golden, "default")
    assert (f.running, f.state, f.unknown) == (True, "running", None)
    assert f.default_zone == "public"
    assert f.active_zones == [] and f.active_unknown is None  # nothing bound: no NetworkManager
    assert [z.name for z in f.zones] == [
        "block",
        "dmz",
        "drop",
        "external",
        "home",
        "internal",
        "public",
        "trusted",
        "work",
    ]
    assert f.zones_unknown is None and f.problems == []
    public = f.zone("public")
    assert public.services == ["dhcpv6-client", "ssh"]
    assert (public.target, public.target_action, public.active, public.flags) == ("default", "default", False, [])
    assert public.forward is True and public.masquerade is False and public.icmp_block_inversion is False
    assert public.ports == [] and public.rich_rules == [] and public.interfaces == []
    assert f.zone("block").target == "%%REJECT%%" and f.zone("block").target_action == "reject"
    assert f.zone("drop").target_action == "drop"
    assert f.zone("trusted").target_action == "accept"
    assert f.zone("external").masquerade is True
    assert f.zone("home").services == ["dhcpv6-client", "mdns", "samba-client", "ssh"]
    assert f.zone("nope") is None
    assert_jsonable(f)


def test_configured_zones(golden):
    f = load(golden, "configured")
    assert f.running is True and f.problems == []
    assert [(a.name, a.interfaces, a.sources) for a in f.active_zones] == [
        ("public", ["gfw61-a"], []),
        ("work", [], ["10.99.0.0/16"]),
        ("wsl", [], ["10.77.61.0/24"]),
    ]
    assert "wsl" in [z.name for z in f.zones]

    public = f.zone("public")
    assert public.active and public.flags == ["active"]
    assert public.interfaces == ["gfw61-a"] and public.sources == []
    assert public.services == ["dhcpv6-client", "http", "https", "ssh"]
    assert [(p.port, p.proto, p.low, p.high) for p in public.ports] == [
        ("8080", "tcp", 8080, 8080),
        ("60000-61000", "udp", 60000, 61000),
    ]
    assert public.protocols == ["gre"]
    assert [p.text for p in public.source_ports] == ["5353/udp"]
    assert public.icmp_blocks == ["echo-request", "timestamp-request"]
    assert public.masquerade is True
    assert [(fp.port, fp.proto, fp.toport, fp.toaddr) for fp in public.forward_ports] == [
        ("2222", "tcp", "22", ""),
        ("8000", "tcp", "80", "10.77.61.2"),
        ("5353", "udp", "", "10.77.61.2"),
    ]
    assert len(public.rich_rules) == 11 and all(r.parsed for r in public.rich_rules)

    wsl = f.zone("wsl")
    assert wsl.active and wsl.sources == ["10.77.61.0/24"] and wsl.interfaces == []
    assert [p.text for p in wsl.ports] == ["8081/tcp", "3000-3005/tcp"] and wsl.ports[1].high == 3005
    assert wsl.services == ["http"] and wsl.masquerade is True and wsl.forward is False
    assert wsl.target_action == "default"

    work = f.zone("work")
    assert work.target == "DROP" and work.sources == ["10.99.0.0/16"] and work.active
    assert f.zone("home").target == "%%REJECT%%"
    assert f.zone("internal").target == "ACCEPT"
    dmz = f.zone("dmz")
    assert dmz.icmp_block_inversion is True and dmz.icmp_blocks == ["echo-request"]
    assert_jsonable(f)


def test_configured_rich_rules(golden):
    rules = {r.text: r for r in load(golden, "configured").zone("public").rich_rules}

    r = rules['rule family="ipv4" source address="10.77.61.2" port port="8081" protocol="tcp" reject type="tcp-reset"']
    assert (r.family, r.source.address, r.source.invert, r.element) == ("ipv4", "10.77.61.2", False, "port")
    assert (r.port.port, r.port.proto, r.port.low) == ("8081", "tcp", 8081)
    assert (r.action, r.reject_type, r.priority) == ("reject", "tcp-reset", 0)

    r = rules['rule family="ipv4" source NOT address="10.77.61.0/24" service name="ssh" drop']
    assert r.source.invert and r.source.address == "10.77.61.0/24"
    assert (r.element, r.service, r.action) == ("service", "ssh", "drop")

    r = rules[
        'rule priority="-10" family="ipv4" source address="192.168.50.0/24" log prefix="wsl-in " level="info" limit value="3/m" accept'
    ]
    assert r.priority == -10 and r.action == "accept" and r.action_limit == ""
    assert [(l.kind, l.prefix, l.level, l.limit) for l in r.logs] == [("log", "wsl-in ", "info", "3/m")]

    r = rules[
        'rule priority="5" family="ipv6" destination address="fd77::/16" port port="9000-9010" protocol="udp" accept'
    ]
    assert (r.priority, r.family, r.destination.address, r.source) == (5, "ipv6", "fd77::/16", None)
    assert (r.port.low, r.port.high, r.port.proto) == (9000, 9010, "udp")

    r = rules['rule family="ipv4" forward-port port="8443" protocol="tcp" to-port="443" to-addr="10.77.61.2"']
    assert (r.element, r.port.port, r.port.proto, r.to_port, r.to_addr, r.action) == (
        "forward-port",
        "8443",
        "tcp",
        "443",
        "10.77.61.2",
        "",
    )

    r = rules['rule protocol value="gre" accept']
    assert (r.family, r.element, r.protocol, r.action) == ("", "protocol", "gre", "accept")

    r = rules['rule family="ipv4" source address="10.9.9.9" reject']
    assert (r.action, r.reject_type, r.element) == ("reject", "", "")

    r = rules['rule family="ipv4" source address="10.8.8.8" audit drop']
    assert [l.kind for l in r.logs] == ["audit"] and r.action == "drop"

    r = rules[
        'rule family="ipv6" source address="fd00::/8" destination NOT address="fd77::1" port port="5000" protocol="tcp" reject type="icmp6-adm-prohibited"'
    ]
    assert r.destination.invert and not r.source.invert and r.reject_type == "icmp6-adm-prohibited"

    r = rules['rule family="ipv4" source address="10.5.5.5" mark set=0x1/0xff']
    assert (r.action, r.mark_set) == ("mark", "0x1/0xff")

    r = rules['rule family="ipv4" source address="10.4.4.4" icmp-block name="echo-request"']
    assert (r.element, r.icmp, r.action) == ("icmp-block", "echo-request", "")

    # firewall-cmd prints rich rules sorted by priority.
    prios = [r.priority for r in rules.values()]
    assert prios == sorted(prios)


def test_iptables_backend(golden):
    f = load(golden, "iptables")
    assert f.running is True and f.problems == []
    assert [(a.name, a.interfaces, a.sources) for a in f.active_zones] == [
        ("public", ["gfw62-a"], []),
        ("trusted", [], ["10.77.62.2/32"]),
    ]
    public = f.zone("public")
    assert [p.text for p in public.ports] == ["8080/tcp"] and public.rich_rules[0].reject_type == "tcp-reset"
    assert f.zone("trusted").target_action == "accept"


def test_stopped_daemon(golden):
    f = load(golden, "stopped")
    assert (f.running, f.state) == (False, "not-running")
    assert f.unknown is None and "not running" in f.reason
    assert f.zones == [] and f.active_zones == [] and f.default_zone is None
    assert f.zones_unknown and "not running" in f.zones_unknown.reason
    assert f.zones_unknown.command == "firewall-cmd --list-all-zones"


def test_no_system_bus(golden):
    f = load(golden, "nobus")
    assert (f.running, f.state, f.unknown) == (False, "no-bus", None)
    assert "/run/dbus/system_bus_socket does not exist" in f.reason and "D-Bus system bus" in f.reason
    assert f.zones == [] and f.zones_unknown is not None and f.default_zone_unknown is not None
    assert_jsonable(f)


# --- firewalld >= 2.0 output (not installed here; text from the zone-priority docs) -------------

ZONES_2X = """\
internal (active)
  target: default
  ingress-priority: -10
  egress-priority: 100
  icmp-block-inversion: no
  interfaces: dummy0
  sources:
  services: dhcpv6-client mdns samba-client ssh
  ports:
  protocols:
  forward: yes
  masquerade: no
  forward-ports:
  source-ports:
  icmp-blocks:
  rich rules:

public (default, active)
  target: default
  ingress-priority: 0
  egress-priority: 0
  icmp-block-inversion: no
  interfaces: eth0
  sources: ipset:block_country 192.0.2.0/24
  services: ssh
  ports: 8080/tcp
  protocols:
  forward: yes
  masquerade: no
  forward-ports:
\tport=80:proto=tcp:toport=8080:toaddr=fd00::2
  source-ports:
  icmp-blocks:
  rich rules:
\trule family="ipv4" source ipset="block_country" log prefix="bc" level="warning" limit value="1/m" burst="5" drop
\trule family="ipv4" source mac="00:11:22:33:44:55" nflog group="3" prefix="x" queue-size="10" reject limit value="2/s"
\trule priority="-32768" tcp-mss-clamp value="pmtu"
\trule family="ipv4" masquerade

"""


def test_firewalld_2x_text():
    f = F.from_snapshot(
        snap(
            state=("running\n",),
            zones=(ZONES_2X,),
            default=("public\n",),
            active=("internal\n  interfaces: dummy0\npublic (default)\n  interfaces: eth0\n  sources: 192.0.2.0/24\n",),
        )
    )
    assert f.problems == []
    internal, public = f.zones
    assert (internal.ingress_priority, internal.egress_priority, internal.default) == (-10, 100, False)
    assert public.flags == ["default", "active"] and public.default and public.active
    assert public.sources == ["ipset:block_country", "192.0.2.0/24"]
    assert public.forward_ports[0].toaddr == "fd00::2"
    r1, r2, r3, r4 = public.rich_rules
    assert (
        r1.source.ipset == "block_country"
        and r1.logs[0].limit == "1/m"
        and r1.logs[0].burst == "5"
        and r1.action == "drop"
    )
    assert r2.source.mac == "00:11:22:33:44:55" and r2.logs[0].kind == "nflog" and r2.logs[0].queue_size == "10"
    assert r2.action == "reject" and r2.action_limit == "2/s"
    assert (r3.priority, r3.element, r3.mss) == (-32768, "tcp-mss-clamp", "pmtu")
    assert r4.element == "masquerade" and r4.parsed
    assert [a.flags for a in f.active_zones] == [[], ["default"]]
    assert f.active_zones[1].sources == ["192.0.2.0/24"]


# --- malformed input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record, running, state, reason_part",
    [
        (("", 252, "not running\n"), False, "not-running", "not running"),
        (("not running\n", 252, ""), False, "not-running", "not running"),
        (("failed\n", 251, ""), True, "failed", "FAILED"),
        (
            (
                "",
                36,
                "Error: DBUS_ERROR: Failed to connect to socket /run/dbus/system_bus_socket: No such file or directory\n",
            ),
            False,
            "no-bus",
            "no D-Bus system bus",
        ),
        (
            (
                "",
                36,
                "Error: DBUS_ERROR: Failed to connect to socket /run/dbus/system_bus_socket: Connection refused\n",
            ),
            False,
            "no-bus",
            "refuses connections",
        ),
        (
            ("", 36, "Error: DBUS_ERROR: org.freedesktop.DBus.Error.AccessDenied: Rejected send message\n"),
            None,
            "unknown",
            "D-Bus error",
        ),
        (
            (
                "",
                253,
                "Authorization failed.\n    Make sure polkit agent is running or run the application as superuser.\n",
            ),
            None,
            "unknown",
            "not authorized",
        ),
        (("garbage\n", 0, ""), None, "unknown", "unexpected output"),
        (("", 0, ""), None, "unknown", "printed nothing"),
        (("", 1, "Traceback (most recent call last):\n"), None, "unknown", "exit code 1"),
        (("running\n", None, ""), None, "unknown", "exit code None"),
    ],
)
def test_state_variants(record, running, state, reason_part):
    f = F.from_snapshot(snap(state=record))
    assert (f.running, f.state) == (running, state)
    assert reason_part in f.reason
    assert (f.unknown is None) == (running is not None)


def test_state_record_errors():
    f = F.from_snapshot(
        snap(
            state=Record(
                F.STATE, ("firewall-cmd", "--state"), "", exit_code=None, error="firewall-cmd: command not found"
            )
        )
    )
    assert (f.running, f.state) == (False, "not-installed")
    f = F.from_snapshot(
        snap(state=Record(F.STATE, ("firewall-cmd", "--state"), "", exit_code=None, error="timed out after 5 s"))
    )
    assert f.running is None and f.unknown.reason == "timed out after 5 s"


def test_nothing_captured():
    f = F.from_snapshot(Snapshot())
    assert f.running is None and f.unknown.reason == "not captured in this snapshot"
    assert f.unknown.command == "firewall-cmd --state"
    assert f.zones_unknown.command == "firewall-cmd --list-all-zones"
    assert f.active_unknown and f.default_zone_unknown
    assert F.from_snapshot(None).running is None  # not even a snapshot: unknown, no exception


def test_running_but_other_records_fail():
    f = F.from_snapshot(snap(state=("running\n",), zones=("", 124, "timeout"), active=("", 0), default=("\n", 0)))
    assert f.running is True
    assert f.zones_unknown.reason.startswith("exit code 124")
    assert f.active_zones == [] and f.active_unknown is None
    assert f.default_zone is None and f.default_zone_unknown is not None
    assert any("default zone" in p for p in f.problems)


def test_garbage_and_truncated_zones(golden):
    text = (golden / "firewalld-configured" / "firewalld.zones.txt").read_text()
    cut = text[: text.index('rule family="ipv4" source address="10.9.9.9"') + 40]  # inside a quoted value
    f = F.from_snapshot(snap(state=("running\n",), zones=(cut,), default=("public\n",), active=("",)))
    assert f.zone("public") is not None and f.zone("wsl") is None
    assert f.zone("public").rich_rules[-1].parsed is False  # the cut rule: unbalanced quote
    assert any("cannot split" in p for p in f.problems)

    f = F.from_snapshot(snap(state=("running\n",), zones=("\x00\x01 garbage\n  ports: 80\n\tzzz\n: :\n",)))
    assert f.zones == [] or all(z.name for z in f.zones)
    assert f.problems and f.zones_unknown is not None

    f = F.from_snapshot(
        snap(
            state=("running\n",),
            zones=(
                "public\n  target: WEIRD\n  forward: maybe\n  ports: 80 x/tcp 70000/tcp\n"
                "  ingress-priority: high\n  summary: Public\n  forward-ports: port=1\n",
            ),
        )
    )
    z = f.zone("public")
    assert z.target == "WEIRD" and z.target_action == "" and z.forward is None
    # Kept verbatim, without a range: "80" has no protocol (dropped), "x" and 70000 are no ports.
    assert [(p.text, p.low) for p in z.ports] == [("x/tcp", None), ("70000/tcp", None)]
    assert z.extra == {"summary": "Public"} and z.forward_ports == []
    assert len(f.problems) == 7, f.problems  # target, forward, 3 ports, priority, forward-port


def test_active_zones_malformed():
    problems: list[str] = []
    zones = F.parse_active_zones(
        "  interfaces: eth0\npublic\n  colour: blue\n(bad line)\npublic\n  sources: 10.0.0.0/8\n", problems
    )
    assert [z.name for z in zones] == ["public", "public"] and zones[1].sources == ["10.0.0.0/8"]
    assert len(problems) == 3


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "does not start with 'rule'"),
        ("accept", "does not start with 'rule'"),
        ('rule family="ipv4 source address="1.2.3.4" accept', "cannot split"),
        ('rule family="ipv5" accept', "unknown family"),
        ('rule priority="high" accept', "priority is not a number"),
        ('rule priority="40000" accept', "priority out of range"),
        ("rule source accept", "source without address"),
        ('rule port port="80" accept', "port without port and protocol"),
        ('rule port port="x" protocol="tcp" accept', "not a number or range"),
        ('rule service name="ssh" port port="1" protocol="tcp" accept', "more than one element"),
        ("rule accept drop", "more than one action"),
        ("rule frobnicate accept", "unknown word"),
        ('rule NOT source address="1.1.1.1" accept', "NOT outside"),
        ('rule address="1.1.1.1" accept', "outside of any element"),
        ('rule service nmae="ssh" accept', "unknown attribute"),
        ('rule limit value="1/m" accept', "limit without"),
        ("rule mark", "mark without set"),
        ("rule =x accept", "attribute without a name"),
    ],
)
def test_rich_rule_malformed(text, problem):
    r = F.parse_rich_rule(text)
    assert r.parsed is False and r.text == text.strip()
    assert any(problem in p for p in r.problems), r.problems


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            list('rule family="ipv4" source NOT address port=80 protocol tcp accept\t\n:()-/%')
            + ["rich rules:", "  ", "\n\t", "public (active)\n", "  ports: ", "forward-ports:", "limit"]
        ),
        max_size=120,
    ).map("".join)
)
def test_parsers_never_raise(text):
    F.parse_rich_rule(text)
    F.parse_zones(text, [])
    F.parse_active_zones(text, [])
    F.parse_default_zone(text, [])
    f = F.from_snapshot(snap(state=(text, 0, text), zones=(text,), active=(text,), default=(text,)))
    assert_jsonable(f)


# --- the real daemon --------------------------------------------------------------------------------


@pytest.mark.realtools
def test_real_firewalld_roundtrip(tmp_path):
    from realtools import Firewalld, netns_pair

    with netns_pair("gfw", 68) as pair:
        fw = Firewalld(pair.srv)
        try:
            fw.cmd("--zone=public", f"--add-interface={pair.srv_if}")
            fw.cmd("--zone=public", "--add-port=8080/tcp", "--add-port=9000-9005/udp")
            fw.cmd("--zone=internal", f"--add-source={pair.cli_ip}/32")
            fw.cmd("--zone=public", "--add-forward-port=port=2222:proto=tcp:toport=22")
            rule = f'rule family="ipv4" source NOT address="{pair.cli_ip}" port port="8081" protocol="tcp" reject type="tcp-reset"'
            fw.cmd("--zone=public", "--add-rich-rule=" + rule)
            fw.cmd("--set-default-zone=work")
            out = pair.snapshot(tmp_path / "snap", env=fw.env, binds=fw.binds)
        finally:
            fw.stop()
            shutil.rmtree(fw.workdir, ignore_errors=True)
    f = F.from_snapshot(snapshot_mod.load(out))
    assert (f.running, f.default_zone, f.problems) == (True, "work", [])
    assert {a.name: (a.interfaces, a.sources) for a in f.active_zones} == {
        "public": ([pair.srv_if], []),
        "internal": ([], [f"{pair.cli_ip}/32"]),
    }
    public = f.zone("public")
    assert [p.text for p in public.ports] == ["8080/tcp", "9000-9005/udp"]
    assert [(x.port, x.toport, x.toaddr) for x in public.forward_ports] == [("2222", "22", "")]
    (r,) = public.rich_rules
    assert (r.text, r.source.invert, r.source.address, r.port.low, r.reject_type) == (
        rule,
        True,
        pair.cli_ip,
        8081,
        "tcp-reset",
    )
    assert f.zone("internal").active and not f.zone("work").active
