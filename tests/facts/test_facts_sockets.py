"""Listening sockets from ``ss -H -l -n -t -u -p -e`` (goldens made by tests/golden/gen_sockets.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsltui import snapshot
from wsltui.facts import sockets
from wsltui.facts.base import Unknown
from wsltui.facts.sockets import Listener, SocketFacts, SocketProcess, with_psutil_owners
from wsltui.snapshot import Record, Snapshot

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def load(case: str) -> SocketFacts:
    return sockets.from_snapshot(snapshot.load(GOLDEN / case))


def key(l: Listener) -> tuple:
    return (l.proto, l.family, l.address, l.port, l.interface)


def one(facts: SocketFacts, proto: str, port: int, family: str | None = None) -> Listener:
    found = [l for l in facts.on_port(port, proto) if family is None or l.family == family]
    assert len(found) == 1, found
    return found[0]


def parse(text: str) -> SocketFacts:
    return sockets.parse_ss(text)


# What gen_sockets.py's helper binds (port -> proto, family, address, bind, interface, v6only, dual_stack).
EXPECTED = {
    ("tcp", 8001): ("ipv4", "127.0.0.1", "loopback", None, False, False),
    ("tcp", 8002): ("ipv4", "0.0.0.0", "wildcard", None, False, False),
    ("tcp", 8003): ("ipv6", "::", "wildcard", None, False, True),
    ("tcp", 8004): ("ipv6", "::", "wildcard", None, True, False),
    ("tcp", 8005): ("ipv6", "::1", "loopback", None, True, False),
    ("tcp", 8006): ("ipv4", "10.77.70.1", "specific", None, False, False),
    ("tcp", 8007): ("ipv6", "fd77:46::1", "specific", None, True, False),
    ("tcp", 8008): ("ipv4", "0.0.0.0", "wildcard", "gso-a", False, False),
    ("tcp", 8009): ("ipv6", "::", "wildcard", "lo", False, True),
    ("udp", 8010): ("ipv4", "0.0.0.0", "wildcard", None, False, False),
    ("udp", 8011): ("ipv6", "::", "wildcard", None, False, True),
    ("udp", 8012): ("ipv6", "::", "wildcard", None, True, False),
    ("udp", 53): ("ipv4", "127.0.0.53", "loopback", "lo", False, False),
    ("tcp", 53): ("ipv4", "127.0.0.53", "loopback", "lo", False, False),
    ("tcp", 8013): ("ipv4", "127.0.0.2", "loopback", None, False, False),
}


@pytest.mark.parametrize("case", ["sockets-listeners", "sockets-nonroot"])
def test_golden_every_bind_kind(case):
    f = load(case)
    assert f.problems == []
    got = {(l.proto, l.port): l for l in f.listeners if l.port != 8014}
    assert set(got) == set(EXPECTED)
    for k, (family, address, bind, iface, v6only, dual) in EXPECTED.items():
        l = got[k]
        assert (l.family, l.address, l.bind, l.interface, l.v6only, l.dual_stack) == (
            family,
            address,
            bind,
            iface,
            v6only,
            dual,
        ), k
        assert l.uid == 0 and isinstance(l.inode, int)
        assert l.state == ("LISTEN" if l.proto == "tcp" else "UNCONN")
        if l.family == "ipv6":
            assert l.v6only_stated  # ss -e prints v6only:0/1 for every IPv6 socket
    # 8014: an IPv4 wildcard plus a v6-only IPv6 wildcard on the same port
    both = f.on_port(8014, "tcp")
    assert sorted((l.family, l.v6only) for l in both) == [("ipv4", False), ("ipv6", True)]
    assert one(f, "tcp", 8003).address_raw == "*:8003"
    assert one(f, "tcp", 8009).address_raw == "*%lo:8009"
    assert one(f, "tcp", 8003).accepts("ipv4") and not one(f, "tcp", 8004).accepts("ipv4")
    json.dumps(dataclasses.asdict(f))


def test_golden_owners_as_root():
    f = load("sockets-listeners")
    assert f.owners_visible
    for l in f.listeners:
        # the helper and its forked child share every socket; the child's comm has a space and
        # parentheses, which ss cuts at the first ')' (it reads /proc/PID/stat)
        assert len(l.processes) == 2
        names = sorted(p.name for p in l.processes)
        assert names[0].startswith("gso (worker") and names[1].startswith("python"), names
        assert all(isinstance(p.pid, int) and isinstance(p.fd, int) for p in l.processes)
    assert len({p.pid for l in f.listeners for p in l.processes}) == 2


def test_golden_nonroot_has_no_owners():
    f = load("sockets-nonroot")
    assert f.owners_visible is False
    assert all(l.processes == [] for l in f.listeners)


def test_golden_empty():
    f = load("sockets-empty")
    assert f.listeners == [] and f.problems == []


def test_golden_wsl_nat_hand_written():
    f = load("wsl-nat")
    node = one(f, "tcp", 3000)
    assert node.dual_stack and node.family == "ipv6" and node.uid == 1000 and node.process_names == ["node"]
    # systemd-resolved: 127.0.0.53%lo and 127.0.0.54 both on 53/udp and 53/tcp
    assert len(f.on_port(53, "udp")) == 2
    assert {(l.address, l.interface) for l in f.on_port(53, "udp")} == {("127.0.0.53", "lo"), ("127.0.0.54", None)}
    assert {l.uid for l in f.on_port(53)} == {991}


# --- formats beyond the goldens ---------------------------------------------------------------


def test_older_ss_and_odd_forms():
    text = "\n".join(
        [
            "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess",
            "tcp   LISTEN 0      128         [::]:80        [::]:*",  # no -e: v6only not stated
            "tcp   LISTEN 0      128  [fe80::1]%eth0:22     [::]:* ino:5 sk:1 v6only:1 <->",
            "tcp   LISTEN 0      128  [fe80::2%eth1]:23     [::]:*",  # scope inside the brackets
            "tcp   LISTEN 0      128 [::ffff:127.0.0.1]:24   [::]:* v6only:0",
            'udp   UNCONN 0      0    192.168.1.5:5353  0.0.0.0:* users:(("Web Content",pid=77,fd=9),("(sd-pam)",pid=78,fd=10)) uid:1000 ino:9 sk:2 <->',
            'tcp   LISTEN 0      128        0.0.0.0:22   0.0.0.0:* users:(("sshd",pid=1,fd=3))',
            "",
        ]
    )
    f = parse(text)
    assert f.problems == []
    a, b, c, d, e, g = f.listeners
    assert (a.address, a.v6only, a.v6only_stated, a.dual_stack, a.uid, a.inode) == (
        "::",
        False,
        False,
        True,
        None,
        None,
    )
    assert (b.address, b.interface, b.v6only, b.bind) == ("fe80::1", "eth0", True, "specific")
    assert (c.address, c.interface) == ("fe80::2", "eth1")
    assert (d.address, d.bind, d.family) == ("::ffff:127.0.0.1", "loopback", "ipv6")
    assert [(p.name, p.pid, p.fd) for p in e.processes] == [("Web Content", 77, 9), ("(sd-pam)", 78, 10)]
    assert e.uid == 1000 and e.bind == "specific"
    assert g.process_names == ["sshd"] and g.uid is None  # no -e details: uid not known
    assert f.owners_visible


@pytest.mark.parametrize(
    "line,needle",
    [
        ("LISTEN 0 128 0.0.0.0:22 0.0.0.0:*", "no Netid"),
        ("raw UNCONN 0 0 0.0.0.0:255 0.0.0.0:*", "not tcp/udp"),
        ("tcp LISTEN 0 128 0.0.0.0:http 0.0.0.0:*", "not a number"),
        ("tcp LISTEN 0 128 0.0.0.0:99999 0.0.0.0:*", "not a number"),
        ("tcp LISTEN 0 128 localhost:22 0.0.0.0:*", "not an IP address"),
        ("tcp LISTEN 0 128 noport 0.0.0.0:*", "cannot read"),
        ("tcp LISTEN 0 128 [::1:22 [::]:*", "cannot read"),
        ("tcp LISTEN 0", "too few columns"),
        ("tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(garbage)", "owners"),
        ("tcp LISTEN 0 128 [::]:22 [::]:* v6only:maybe", "odd v6only"),
    ],
)
def test_garbage_lines_become_problems(line, needle):
    f = parse("tcp LISTEN 0 128 127.0.0.1:1 0.0.0.0:*\n" + line + "\n")
    assert f.listeners[0].port == 1
    assert any(needle in p for p in f.problems), f.problems


def test_unbalanced_users_does_not_raise():
    f = parse('tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3) ino:5')
    assert f.listeners[0].processes[0].name == "sshd"


def test_failed_or_missing_record_is_unknown():
    f = sockets.from_snapshot(Snapshot())
    assert isinstance(f.listeners, Unknown) and f.listeners.command == "ss -H -l -n -t -u -p -e"
    assert f.on_port(22) == []
    s = Snapshot()
    s.add(Record("net.sockets", ("ss",), "", exit_code=None, error="ss: command not found"))
    assert sockets.from_snapshot(s).listeners.reason == "ss: command not found"
    s.add(Record("net.sockets", ("ss",), "", exit_code=1, stderr="Cannot open netlink socket"))
    assert "netlink" in sockets.from_snapshot(s).listeners.reason


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(
                [
                    "tcp",
                    "udp",
                    "LISTEN",
                    "UNCONN",
                    "0",
                    "128",
                    "*:80",
                    "[::]:443",
                    "0.0.0.0:*",
                    "[::]:*",
                    "127.0.0.1%lo:53",
                    'users:(("a b",pid=1,fd=2))',
                    "users:((",
                    "))",
                    "ino:1",
                    "uid:x",
                    "v6only:1",
                    "v6only:0",
                    "[",
                    "]",
                    "%",
                    ":",
                    "<->",
                    "[fe80::1]%eth0:22",
                    "::1:5",
                    "*",
                    "x:y:z",
                ]
            ),
            max_size=10,
        ),
        max_size=6,
    )
)
def test_never_raises(lines):
    f = parse("\n".join(" ".join(l) for l in lines))
    json.dumps(dataclasses.asdict(f))


# --- net.psutil-listeners: owners ss could not name ------------------------------------------------


def test_psutil_record_names_the_owners_ss_could_not():
    """The real psutil probe on this process's own socket; the facts take owners from its record."""
    from wsltui.probes import libraries
    from wsltui.records import BY_NAME

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        record = libraries.read(BY_NAME["net.psutil-listeners"])
        bare = Listener("tcp", "ipv4", "127.0.0.1", port, "loopback")
        named_pid = Listener("tcp", "ipv4", "127.0.0.1", 1, "loopback", processes=[SocketProcess(None, os.getpid(), 3)])
        nobody = Listener("udp", "ipv4", "203.0.113.1", 9, "specific")
        facts = SocketFacts(listeners=[bare, named_pid, nobody])
        filled = with_psutil_owners(facts, record)
    assert record.ok, record.error
    assert facts.listeners[0].processes == []  # the input is not modified
    me = filled.listeners[0].processes
    import psutil

    assert [(p.pid, p.name) for p in me] == [(os.getpid(), psutil.Process().name())]
    assert filled.listeners[1].processes[0].name == psutil.Process().name()  # the pid ss gave, named
    assert filled.listeners[2].processes == []
    assert filled.owners_visible
    unknown = SocketFacts(listeners=Unknown("x"))
    assert with_psutil_owners(unknown, record) is unknown
    assert with_psutil_owners(facts, None) is facts


def test_a_broken_psutil_record_is_a_problem_not_a_crash():
    broken = Record("net.psutil-listeners", ("psutil.net_connections", "inet"), '[{"pid": 5, "proto": "tcp"}]')
    facts = with_psutil_owners(SocketFacts(listeners=[Listener("tcp", "ipv4", "127.0.0.1", 1, "loopback")]), broken)
    assert any("net.psutil-listeners not understood" in p for p in facts.problems)


# --- real: a fresh namespace, our capture vs psutil and ss -ltnup ------------------------------

_PSUTIL = r"""
import json, psutil, socket
rows = []
for c in psutil.net_connections(kind="inet"):
    if c.status in (psutil.CONN_LISTEN, psutil.CONN_NONE):
        rows.append(["tcp" if c.type == socket.SOCK_STREAM else "udp",
                     "ipv4" if c.family == socket.AF_INET else "ipv6", c.laddr.ip, c.laddr.port, c.pid])
print(json.dumps(rows))
"""


@pytest.mark.realtools
def test_real_capture_matches_psutil_and_ss(tmp_path):
    sys.path.insert(0, str(GOLDEN))
    from gen_sockets import Helper
    from realtools import netns_pair, ns_run

    with netns_pair("gso", 72) as pair, Helper(pair) as helper:
        out = pair.snapshot(tmp_path / "snap")
        ps = json.loads(ns_run(pair.srv, [sys.executable, "-c", _PSUTIL]).stdout)
        ss = ns_run(pair.srv, ["ss", "-ltnup"]).stdout.decode()
        pids = {helper.pid, helper.child}
    facts = sockets.from_snapshot(snapshot.load(out))
    assert facts.problems == [] and facts.owners_visible
    ours = sorted((l.proto, l.family, l.address, l.port) for l in facts.listeners)
    assert ours == sorted((p, f, a, port) for p, f, a, port, _ in ps)
    for l in facts.listeners:
        assert {p.pid for p in l.processes} == pids
    theirs = {(p, f, a, port): pid for p, f, a, port, pid in ps}
    assert all(theirs[(l.proto, l.family, l.address, l.port)] in pids for l in facts.listeners)
    # ss -ltnup: same number of sockets and the same port/proto multiset
    rows = [line.split() for line in ss.splitlines()[1:] if line.strip()]
    assert sorted((r[0], int(r[4].rsplit(":", 1)[1])) for r in rows) == sorted(
        (l.proto, l.port) for l in facts.listeners
    )
