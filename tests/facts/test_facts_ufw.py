"""ufw facts: golden snapshots from the real ufw (tests/golden/ufw-*, made by
tests/golden/gen_firewalld_ufw.py), the legacy-backend trap, malformed input, and one live run."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsltui import snapshot as snapshot_mod
from wsltui.facts import ufw as U
from wsltui.snapshot import Record, Snapshot


def load(golden, case: str) -> tuple[U.UfwFacts, Snapshot]:
    s = snapshot_mod.load(golden / f"ufw-{case}")
    return U.from_snapshot(s), s


def trap_of(facts: U.UfwFacts, s: Snapshot) -> str | None:
    legacy, save = s.get("nf.legacy-tables"), s.get("nf.iptables-legacy")
    return U.ufw_trap(facts, legacy.stdout if legacy else None, save.stdout if save else None)


def status(stdout: str, code: int | None = 0, stderr: str = "", error: str | None = None) -> U.UfwFacts:
    s = Snapshot()
    s.add(Record(U.STATUS, ("ufw", "status", "verbose"), stdout, exit_code=code, stderr=stderr, error=error))
    return U.from_snapshot(s)


def row(f: U.UfwFacts, text_start: str) -> U.UfwRule:
    found = [r for r in f.rules if r.text.startswith(text_start)]
    assert len(found) == 1, (text_start, [r.text for r in found])
    return found[0]


# --- goldens --------------------------------------------------------------------------------------


def test_active_header(golden):
    f, _ = load(golden, "active")
    assert (f.active, f.installed, f.unknown, f.problems) == (True, True, None, [])
    assert (f.logging, f.logging_level) == ("on", "medium")
    assert (f.default_incoming, f.default_outgoing, f.default_routed) == ("reject", "allow", "allow")
    assert f.new_profiles == "skip"
    json.dumps(dataclasses.asdict(f))


def test_active_rows(golden):
    f, _ = load(golden, "active")
    assert len(f.rules) == 32
    assert [r.position for r in f.rules] == list(range(1, 33))
    assert [r.direction for r in f.rules] == ["in"] * 27 + ["out"] * 3 + ["fwd"] * 2
    assert sum(r.v6 for r in f.rules) == 12  # in: 9 "(v6)" twins + 1 from fd77::/16; out: 1; fwd: 1
    assert all(r.number is None for r in f.rules)

    r = f.rules[0]  # ufw insert 1 deny from 10.66.66.66 comment 'bad host'
    assert (r.action, r.direction, r.src.address, r.dst.anywhere, r.ports, r.proto, r.comment) == (
        "deny",
        "in",
        "10.66.66.66",
        True,
        "",
        "",
        "bad host",
    )

    r = f.rules[1]
    assert (r.action, r.ports, r.port_ranges, r.proto, r.src.anywhere, r.v6, r.comment) == (
        "allow",
        "8080",
        [(8080, 8080)],
        "tcp",
        True,
        False,
        "web dev server",
    )

    r = row(f, "8081/tcp")
    assert (r.action, r.src.address, r.proto) == ("deny", "10.77.65.2", "tcp")
    assert row(f, "22/tcp   ").action == "reject"

    r = row(f, "22/tcp (OpenSSH)           LIMIT")
    assert (r.action, r.dst.app, r.ports, r.proto, r.v6) == ("limit", "OpenSSH", "22", "tcp", False)
    r = row(f, "22/tcp (OpenSSH)           ALLOW")  # allow from 10.33.0.0/16 to any app OpenSSH
    assert (r.action, r.dst.app, r.src.address) == ("allow", "OpenSSH", "10.33.0.0/16")
    r = row(f, "22/tcp (OpenSSH (v6))")
    assert (r.action, r.dst.app, r.v6) == ("limit", "OpenSSH", True)
    r = row(f, "80,443/tcp (WWW Full (v6))")
    assert (r.dst.app, r.port_ranges, r.v6) == ("WWW Full", [(80, 80), (443, 443)], True)

    r = row(f, "60000:61000/udp  ")
    assert (r.ports, r.port_ranges, r.proto) == ("60000:61000", [(60000, 61000)], "udp")

    r = row(f, "8443/tcp on gfw65-a")
    assert (r.iface_in, r.iface_out, r.dst.iface, r.ports) == ("gfw65-a", "", "gfw65-a", "8443")
    r = row(f, "8443/tcp (v6) on gfw65-a")
    assert (r.iface_in, r.v6) == ("gfw65-a", True)

    r = row(f, "Anywhere                   ALLOW IN    192.168.50.0/24")
    assert (r.dst.anywhere, r.src.address, r.ports, r.proto) == (True, "192.168.50.0/24", "", "")

    r = row(f, "10.77.65.1 6000/udp")
    assert (r.dst.address, r.ports, r.proto, r.src.address, r.src.ports, r.src.proto) == (
        "10.77.65.1",
        "6000",
        "udp",
        "10.77.65.2",
        "5000",
        "udp",
    )
    r = row(f, "10.77.65.1 7000")
    assert (r.dst.address, r.ports, r.proto) == ("10.77.65.1", "7000", "")

    r = row(f, "Anywhere on gfw65-a")  # reject in on IF from any port 53 proto udp
    assert (r.action, r.iface_in, r.ports, r.src.ports, r.proto) == ("reject", "gfw65-a", "", "53", "udp")

    r = row(f, "8088/tcp    ")
    assert (r.log, r.comment) == ("log", "")
    r = row(f, "3306/tcp")
    assert (r.action, r.log, r.comment, r.src.address) == ("deny", "log-all", "no db", "10.55.0.0/16")

    r = row(f, "Anywhere                   ALLOW IN    10.44.0.0/16/gre")
    assert (r.src.address, r.proto, r.ports) == ("10.44.0.0/16", "gre", "")

    r = row(f, "9000/tcp")  # from fd77::/16: a v6-only rule, no "(v6)" in the row
    assert (r.src.address, r.v6, r.src.v6) == ("fd77::/16", True, False)

    r = row(f, "8080/tcp (v6)")
    assert (r.v6, r.dst.v6, r.src.v6, r.comment) == (True, True, True, "web dev server")

    out = [r for r in f.rules if r.direction == "out"]
    assert [(r.action, r.dst.address, r.ports, r.proto, r.v6) for r in out] == [
        ("allow", "", "53", "udp", False),
        ("deny", "10.0.0.5", "25", "tcp", False),
        ("allow", "", "53", "udp", True),
    ]

    fwd = [r for r in f.rules if r.direction == "fwd"]
    assert [(r.action, r.iface_in, r.iface_out, r.ports, r.v6) for r in fwd] == [
        ("allow", "gfw65-a", "lo", "3000", False),
        ("allow", "gfw65-a", "lo", "3000", True),
    ]


def test_inactive(golden):
    f, s = load(golden, "inactive")
    assert (f.active, f.installed, f.unknown, f.rules, f.problems) == (False, True, None, [], [])
    assert "inactive" in f.reason
    assert trap_of(f, s) is None  # no legacy ufw chains


def test_legacy_trap(golden):
    f, s = load(golden, "legacy-trap")
    assert f.active is False and f.rules == []
    warning = trap_of(f, s)
    assert warning is not None
    assert "ufw says it is inactive" in warning and "legacy" in warning
    assert "2 user rules" in warning and "INPUT policy there is DROP" in warning and "filter" in warning
    # Same legacy rules, but ufw reports active (or is unknown / not installed): no trap.
    active, _ = load(golden, "active")
    save = s.get("nf.iptables-legacy").stdout
    assert U.ufw_trap(active, "filter\n", save) is None
    assert U.ufw_trap(status("", 1, "ERROR: You need to be root to run this script\n"), "filter\n", save) is None
    assert U.ufw_trap(status("", None, error="ufw: command not found"), "filter\n", save) is None
    # Inactive, but the legacy save has no ufw chains / was not captured.
    assert U.ufw_trap(f, "filter\n", "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DOCKER\nCOMMIT\n") is None
    assert U.ufw_trap(f, None, None) is None
    assert U.ufw_trap(f, None, save) is not None
    assert U.ufw_trap(f, "", "garbage :ufw-user-input\n\x00") is None


def test_other_goldens_have_no_ufw_rules(golden):
    # The firewalld goldens ran the same probes: ufw was installed but never enabled there.
    s = snapshot_mod.load(golden / "firewalld-default")
    f = U.from_snapshot(s)
    assert (f.active, f.rules) == (False, [])


# --- other output forms ------------------------------------------------------------------------------

PLAIN = """\
Status: active

To                         Action      From
--                         ------      ----
OpenSSH                    ALLOW       Anywhere
WWW Full                   ALLOW       10.0.0.0/8
8080/tcp                   DENY        Anywhere                   # dev
OpenSSH (v6)               ALLOW       Anywhere (v6)
2001:db8::1 443/tcp on eth0 ALLOW      Anywhere (v6)
53                         ALLOW OUT   Anywhere
"""

NUMBERED = """\
Status: active

     To                         Action      From
     --                         ------      ----
[ 1] 22/tcp                     ALLOW IN    Anywhere
[ 2] 53/udp                     ALLOW OUT   Anywhere                   (out)
[10] 8080/tcp (v6)              DENY IN     Anywhere (v6)
"""


def test_plain_status():
    f = status(PLAIN)
    assert f.problems == [] and f.active is True and f.logging == "" and f.default_incoming == ""
    a, b, c, d, e, g = f.rules
    assert (a.dst.app, a.action, a.direction, a.ports) == ("OpenSSH", "allow", "in", "")
    assert (b.dst.app, b.src.address) == ("WWW Full", "10.0.0.0/8")
    assert (c.action, c.comment) == ("deny", "dev")
    assert (d.dst.app, d.v6) == ("OpenSSH", True)
    assert (e.dst.address, e.ports, e.iface_in, e.v6) == ("2001:db8::1", "443", "eth0", True)  # To wider than 26
    assert (g.direction, g.ports, g.proto) == ("out", "53", "")


def test_numbered_status():
    f = status(NUMBERED)
    assert [r.number for r in f.rules] == [1, 2, 10]
    assert f.problems == []
    assert (f.rules[1].direction, f.rules[1].src.anywhere, f.rules[1].log) == ("out", True, "")


# --- malformed input ------------------------------------------------------------------------------


def test_record_problems():
    f = status("", 1, "ERROR: You need to be root to run this script\n")
    assert f.active is None and f.unknown.reason == "ufw status needs root"
    assert f.unknown.command == "ufw status verbose"
    f = status("", None, error="ufw: command not found")
    assert (f.active, f.installed, f.unknown) == (False, False, None)
    f = status("", None, error="timed out after 5 s")
    assert f.active is None and f.unknown.reason == "timed out after 5 s"
    f = status("ERROR: problem running iptables: iptables v1.8.9 (nf_tables): unknown option\n", 1)
    assert f.active is None and "exit code 1" in f.unknown.reason
    f = U.from_snapshot(Snapshot())
    assert f.active is None and f.unknown.reason == "not captured in this snapshot"
    assert U.from_snapshot(None).active is None


@pytest.mark.parametrize("text", ["", "\n\n", "garbage\n", "\x00\xff", "Status: maybe\n", "Status:\n"])
def test_no_status_line(text):
    f = status(text)
    assert f.active is None and f.unknown is not None and f.problems


def test_truncated_and_garbage_rows(golden):
    text = (golden / "ufw-active" / "ufw.status.txt").read_text()
    cut = text[: text.index("60000:61000/udp") + 20]  # inside the Action column
    f = status(cut)
    assert f.active is True and len(f.rules) == 6
    assert any("rule row not understood" in p for p in f.problems)

    f = status(
        "Status: active\nLogging: loud\nDefault: deny (incoming)\nWhat is this\n\nTo Action From\n-- ------ ----\n"
        "!!! ALLOW IN ???\n22/tcp ALLOW IN\nsomething else\n1.2.3.4 abc  DENY IN  Anywhere\n"
    )
    assert f.active is True
    assert [r.action for r in f.rules] == ["allow", "allow", "deny"]
    assert len(f.problems) >= 6, f.problems  # logging, default, stray line, bad row, 2 bad cells...
    assert f.default_incoming == "deny" and f.default_outgoing == ""

    f = status("Status: inactive\n\nTo Action From\n22/tcp ALLOW IN Anywhere\n")
    assert f.active is False and "ufw says inactive but lists rules" in f.problems


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Status: active\n",
                "To Action From\n",
                " ",
                "  ",
                "\n",
                "ALLOW",
                "IN",
                "OUT",
                "FWD",
                "LIMIT",
                "Anywhere",
                "(v6)",
                "on",
                "eth0",
                "22/tcp",
                "80,443",
                "1:2",
                "#",
                "(",
                ")",
                "10.0.0.0/8",
                "::1",
                "/",
                "Default:",
                "(incoming)",
                "Logging:",
                "[ 1]",
            ]
        ),
        max_size=80,
    ).map("".join)
)
def test_parser_never_raises(text):
    f = status(text)
    json.dumps(dataclasses.asdict(f))
    U.ufw_trap(f, text, text)


# --- the real ufw ---------------------------------------------------------------------------------


@pytest.mark.realtools
def test_real_ufw_roundtrip(tmp_path):
    from realtools import Ufw, netns_pair

    with netns_pair("guf", 69) as pair:
        ufw = Ufw(pair.srv)
        try:
            for c in (
                ["--force", "enable"],
                ["default", "deny", "outgoing"],
                ["logging", "high"],
                ["allow", "8080/tcp", "comment", "dev server"],
                ["deny", "proto", "tcp", "from", pair.cli_ip, "to", "any", "port", "8081"],
                ["limit", "22/tcp"],
                ["reject", "out", "25/tcp"],
                ["allow", "in", "on", pair.srv_if, "to", "any", "port", "9000:9100", "proto", "udp"],
            ):
                ufw.cmd(*c)
            out = pair.snapshot(tmp_path / "snap", binds=ufw.binds)
        finally:
            shutil.rmtree(ufw.workdir, ignore_errors=True)
    s = snapshot_mod.load(out)
    f = U.from_snapshot(s)
    assert (f.active, f.problems, f.logging_level, f.default_incoming, f.default_outgoing) == (
        True,
        [],
        "high",
        "deny",
        "deny",
    )
    v4 = [(r.action, r.direction, r.ports, r.proto, r.src.address, r.iface_in, r.comment) for r in f.rules if not r.v6]
    assert v4 == [
        ("allow", "in", "8080", "tcp", "", "", "dev server"),
        ("deny", "in", "8081", "tcp", pair.cli_ip, "", ""),
        ("limit", "in", "22", "tcp", "", "", ""),
        ("allow", "in", "9000:9100", "udp", "", pair.srv_if, ""),
        ("reject", "out", "25", "tcp", "", "", ""),
    ]
    assert len([r for r in f.rules if r.v6]) == 4  # the deny from an IPv4 address has no v6 twin
    assert trap_of(f, s) is None
