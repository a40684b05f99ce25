"""Rule actions (disable / enable / delete / add an allow, and undo) against the real
iptables-legacy, iptables-nft, nft, firewalld and ufw, inside network namespaces the tests create.

Many short seeded random sequences per front end, one after another on one setup: every kind of
action at least once per sequence, the rest at random. After every undo the rules are exactly
what they were before the change it undoes; every added allow is confirmed by a real packet from
the client namespace; a failure is injected mid-apply in every sequence (a step that "crashes"
after it changed the rules) and must leave the rules as they were; persistence (iptables, nft)
writes only a private root; after undoing everything the rules, and those files, are identical to
the start (counters aside), and the next sequence starts from there. ``WSLTUI_ACTION_SEQUENCES``
multiplies the number of sequences, for a longer run by hand; the totals are printed at the end
of the run (the "rule actions:" line).

The process stays in the root namespaces; its thread moves into the server namespace for each
action (the commands it starts inherit that). ufw runs through a wrapper that gives it a private
mount namespace with the test's copies of /etc/ufw; firewalld listens on a private bus and keeps
its configuration in a private copy (tests/support/realtools.py).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from oracle import in_netns, listening_pair, probe_many
from realtools import RULE_DUMPS, Firewalld, NetnsPair, Ufw, ns_run, strip_counters

from wsltui.actions import (
    ActionError,
    FirewalldItem,
    add_allow_plan,
    apply,
    delete_plan,
    disable_plan,
    disabled_rules,
    enable_plan,
    undo,
)
from wsltui.actions import rules as rules_mod
from wsltui.actions import state as st
from wsltui.facts import build_facts
from wsltui.probes.capture import capture
from wsltui.records import BY_NAME
from wsltui.probes.runner import run
from wsltui.snapshot import Record

pytestmark = pytest.mark.realtools

PORTS = [22, 2222, 7, 8080, 8081, 8082, 8083, 8084, 8085]
# What each front end's panel shows (the facts the rows come from).
RECORDS = {
    "iptables-legacy": ["nf.iptables-legacy", "nf.ip6tables-legacy", "nf.legacy-tables", "nf.legacy6-tables"],
    "iptables-nft": ["nf.iptables-nft", "nf.ip6tables-nft"],
    "nft": ["nf.nft"],
    "ufw": ["ufw.status"],
    "firewalld": ["firewalld.zones", "firewalld.default-zone"],
}
# Sequences per front end (firewall-cmd and ufw take 0.3-0.6 s a call: fewer there), and actions
# per sequence. WSLTUI_ACTION_SEQUENCES multiplies the sequences, for a longer run by hand.
SEQUENCES = {"iptables-legacy": 8, "iptables-nft": 6, "nft": 6, "ufw": 3, "firewalld": 1}
STEPS = 7
SCALE = float(os.environ.get("WSLTUI_ACTION_SEQUENCES", "1"))
TALLY = {"sequences": 0, "steps": 0, "undo": 0, "crash": 0, "packets": 0, "refused": 0, "covered": 0}

_counter = [0]


@pytest.fixture
def pair():
    _counter[0] += 1
    with listening_pair("wr", 110 + _counter[0] % 20, PORTS) as p:
        yield p


class World:
    """One front end in the server namespace, and what the test compares."""

    def __init__(self, pair: NetnsPair, tmp_path: Path, monkeypatch, front_end: str) -> None:
        self.pair, self.front_end = pair, front_end
        self.base = tmp_path / "state"
        self.root = tmp_path / "root"  # private /, for what persistence writes
        (self.root / "etc").mkdir(parents=True)
        (self.root / "etc" / "wsl.conf").write_text("[network]\nhostname = wsltui-test\n\n[boot]\ncommand = true\n")
        monkeypatch.setenv("WSLTUI_ROOT", str(self.root))
        self.files: list[Path] = []
        self.unordered = front_end == "firewalld"
        self.records = RECORDS[front_end]
        self.fw = None
        self.covered: set[str] = set()  # kinds of rules disabled or deleted (or refused) so far

    def facts(self):
        return build_facts(capture([BY_NAME[r] for r in self.records]))

    def rules(self) -> dict:
        """Every netfilter source of the server namespace, plus the config files in play."""
        jobs = {argv[0]: (lambda a=argv: strip_counters(self.dump(a), self.unordered)) for argv in RULE_DUMPS}
        if self.fw is not None:
            for perm in ([], ["--permanent"]):
                jobs["firewall-cmd" + "".join(perm)] = lambda p=perm: strip_counters(
                    self.fw.cmd(*p, "--list-all-zones").stdout, True
                )
        with ThreadPoolExecutor(len(jobs)) as pool:
            out = dict(zip(jobs, pool.map(lambda f: f(), jobs.values())))
        for p in [*self.files, *sorted(x for x in self.root.rglob("*"))]:
            text = p.read_text() if p.is_file() else "<dir>" if p.is_dir() else "<missing>"
            out[str(p)] = "\n".join(sorted(text.splitlines())) if self.unordered else text
        return out

    def dump(self, argv: list[str]) -> str:
        # From a thread moved into the namespace: cheaper than `ip netns exec`, which remounts /sys.
        with in_netns(self.pair.srv):
            return subprocess.run(argv, capture_output=True, text=True).stdout

    def packet(self, port: int, proto: str, v6: bool = False) -> str:
        host = self.pair.srv_ip6 if v6 else self.pair.srv_ip
        with in_netns(self.pair.cli):
            return probe_many([(host, port, proto)], 0.3, witness=self.pair.listeners)[(host, port, proto)]


# --- front ends -----------------------------------------------------------------------------------

IPT = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:WSLTEST - [0:0]
-A INPUT -p udp -m udp --dport 53 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -j DROP
-A INPUT -p tcp -m tcp --dport 8081 -j REJECT --reject-with tcp-reset
-A INPUT -p tcp -m multiport --dports 8082:8084 -j DROP
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh \\"in\\" (admin)" -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -j DROP
-A INPUT -j WSLTEST
-A WSLTEST -p udp -m udp --dport 8085 -j DROP
-A WSLTEST -p udp -m udp --dport 8080 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22
COMMIT
"""

NFT = """table inet t {
  set blocked { type inet_service; elements = { 8083, 8084 } }
  chain input {
    type filter hook input priority 0; policy accept;
    ct state established,related accept
    udp dport 53 accept
    tcp dport 8080 counter drop
    tcp dport 8081 reject with tcp reset
    tcp dport @blocked drop
    ip saddr { 10.77.0.0/16, 10.78.0.0/16 } tcp dport 8082 drop comment "from the lab"
    udp dport 8080-8085 drop
    tcp dport 22 accept comment "ssh in"
    tcp dport 8080 counter drop
  }
  chain other {
    tcp dport 9 drop
  }
}
table ip6 t6 {
  chain input {
    type filter hook input priority 5; policy accept;
    tcp dport { 8080, 8081 } drop
  }
}
table ip other {
  chain input {
    type filter hook input priority 10; policy accept;
    tcp dport 7 drop
  }
}
"""


def setup_iptables(w: World, backend: str) -> None:
    for fam in ("iptables", "ip6tables"):
        ns_run(w.pair.srv, [f"{fam}-{backend}-restore"], input=IPT)


def setup_ufw(w: World, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "ufw").mkdir()
    ufw = Ufw(w.pair.srv, workdir=tmp_path / "ufw")
    apps = ufw.workdir / "etc-ufw" / "applications.d"
    apps.mkdir(exist_ok=True)
    (apps / "wsltui-test").write_text("[WsltuiWeb]\ntitle=test web\ndescription=test\nports=8086,8087/tcp\n")
    ufw.cmd("--force", "enable")
    for args in (
        ["allow", "22/tcp"],
        ["deny", "8081/tcp"],
        ["deny", "proto", "tcp", "from", w.pair.cli_ip, "to", "any", "port", "8082"],
        ["allow", "8083/udp"],
        ["reject", "8084/tcp"],
        ["deny", "from", "fd00::/8"],
        ["allow", "in", "log", "5353/udp", "comment", "mdns, logged"],
        ["allow", "WsltuiWeb"],
        ["route", "allow", "in", "on", "lo", "out", "on", w.pair.srv_if, "to", "any", "port", "3000", "proto", "tcp"],
    ):
        ufw.cmd(*args)
    ufw.cmd("reload")  # ufw fills in rules its enable left out at the first reload
    wd = ufw.workdir
    wrapper = tmp_path / "bin" / "ufw"
    wrapper.parent.mkdir()
    # Every ufw wsltui starts gets its own mount namespace with the test's copies (never the host's).
    wrapper.write_text(
        "#!/bin/sh\nexec unshare -m --propagation private sh -c '"
        'mount --bind "$0/etc-ufw" /etc/ufw && mount --bind "$0/default-ufw" /etc/default/ufw && '
        f'mount --bind "$0/run" /run && exec /usr/sbin/ufw "$@"\' "{wd}" "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(st, "UFW_FILES", (str(wd / "etc-ufw" / "user.rules"), str(wd / "etc-ufw" / "user6.rules")))
    monkeypatch.setattr(rules_mod.ufw, "UFW_DEFAULTS", str(wd / "default-ufw"))
    w.files = [Path(p) for p in st.UFW_FILES]


def setup_firewalld(w: World, tmp_path: Path, monkeypatch) -> None:
    fw = Firewalld(w.pair.srv, workdir=tmp_path / "fw")
    w.fw = fw
    fw.cmd("--permanent", "--zone=public", "--add-port=9090/tcp")
    fw.cmd(
        "--permanent",
        "--zone=public",
        "--add-rich-rule",
        f'rule family="ipv4" source address="{w.pair.cli_ip}" port port="8081" protocol="tcp" reject type="tcp-reset"',
    )
    fw.cmd("--permanent", "--zone=public", "--add-forward-port=port=2222:proto=tcp:toport=22")
    fw.cmd("--permanent", "--zone=public", "--add-icmp-block=echo-request")
    fw.cmd("--reload")
    fw.cmd("--zone=public", "--add-port=8085/udp")  # runtime only
    fw.cmd("--zone=public", "--add-service=http")  # runtime only
    fw.cmd("--zone=public", "--add-source-port=5353/udp")  # runtime only
    for k, v in fw.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(st, "FIREWALLD_ZONES", str(fw.config / "zones"))
    w.files = [fw.config / "zones" / "public.xml"]


# --- choosing actions -----------------------------------------------------------------------------


def candidates(w: World, facts) -> list[tuple[str, object]]:
    """(kind, rule) of every rule a person could select in the front end's panel. The kind (the
    table and verdict, ufw's action or application, firewalld's entry type) is what the test
    makes sure every run disables at least once (see cover_every_kind)."""
    fe = w.front_end
    if fe.startswith("iptables-"):
        backend = fe.split("-")[1]
        return [
            (f"{t.name} {r.target}", r)
            for rs in facts.iptables.rulesets()
            if rs.backend == backend and rs.unknown is None
            for t in rs.tables
            for c in t.chains
            for r in c.rules
        ]
    if fe == "nft":
        return [
            (f"{t.family} {r.text.split()[-1] if r.text else ''}", r)
            for t in facts.nft.tables
            if not t.managed_by_iptables
            for c in t.chains
            for r in c.rules
        ]
    if fe == "ufw":
        return [("app" if r.dst.app else f"{r.action} {r.direction}", r) for r in facts.ufw.rules]
    z = facts.firewalld.zone("public")
    return [
        *(("port", r) for r in z.ports),
        *(("rich-rule", r) for r in z.rich_rules),
        *(("forward-port", r) for r in z.forward_ports),
        *(("source-port", r) for r in z.source_ports),
        *(("service", FirewalldItem("public", "service", s)) for s in z.services),
        *(("icmp-block", FirewalldItem("public", "icmp-block", b)) for b in z.icmp_blocks),
    ]


def add_action(w: World, rng: random.Random, facts):
    for port, proto in rng.sample(
        [(8080, "tcp"), (8081, "tcp"), (8082, "tcp"), (8083, "tcp"), (8084, "tcp"), (8085, "udp"), (8080, "udp")], 7
    ):
        try:
            return _add(w, rng, facts, port, proto)
        except ActionError as e:
            # Allowed already; or (ufw) a disable left the port's v4 and v6 rules different, and
            # one allow for both families would hide that.
            if "already" not in str(e) and "per family" not in str(e):
                raise
    raise ActionError("every port is already allowed")


def _add(w: World, rng: random.Random, facts, port: int, proto: str):
    fe = w.front_end
    if fe.startswith("iptables-"):
        v6 = rng.random() < 0.3
        target_fe = ("ip6tables-" if v6 else "iptables-") + fe.split("-")[1]
        return add_allow_plan(target_fe, port, proto, facts=facts, persist=rng.random() < 0.3), port, proto, v6
    if fe == "nft":
        chains = [
            c
            for t in facts.nft.tables
            if not t.managed_by_iptables
            for c in t.chains
            if c.base and c.hook == "input" and t.family in ("inet", "ip") and t.name == "t"
        ]
        return (
            add_allow_plan("nft", port, proto, facts=facts, at=rng.choice([None, *chains]), persist=rng.random() < 0.3),
            port,
            proto,
            False,
        )
    if fe == "firewalld":
        port = rng.choice([8080, 8082, 8083, 8084])  # 8081 stays rejected by the rich rule from the client
        return add_allow_plan("firewalld", port, proto, facts=facts, persist=rng.random() < 0.5), port, proto, False
    return add_allow_plan("ufw", port, proto), port, proto, False


def crash_after(step_name: str, log: list):
    """A runner whose step ``step_name`` changes the rules for real and then "crashes"."""

    def runner(job):
        rec = run(job)
        if job.name == step_name:
            log.append(job.argv)
            return Record(job.name, job.argv, rec.stdout, None, rec.stderr, rec.seconds, "killed by signal 9")
        return rec

    return runner


# --- the sequences --------------------------------------------------------------------------------


@pytest.mark.parametrize("front_end", ["iptables-legacy", "iptables-nft", "nft", "firewalld", "ufw"])
def test_random_rule_actions_then_undo_everything(pair, tmp_path, monkeypatch, front_end):
    w = World(pair, tmp_path, monkeypatch, front_end)
    if front_end.startswith("iptables-"):
        if front_end == "iptables-legacy" and ns_run(pair.srv, ["iptables-legacy", "-L"], check=False).returncode:
            pytest.skip("this kernel has no legacy xtables (CONFIG_IP_NF_IPTABLES_LEGACY)")
        setup_iptables(w, front_end.split("-")[1])
    elif front_end == "nft":
        ns_run(pair.srv, ["nft", "-f", "-"], input=NFT)
    elif front_end == "ufw":
        setup_ufw(w, tmp_path, monkeypatch)
    else:
        setup_firewalld(w, tmp_path, monkeypatch)
    try:
        start = w.rules()
        for n in range(max(1, round(SEQUENCES[front_end] * SCALE))):
            run_sequence(w, random.Random(f"wsltui-rules-{front_end}-{n}"), start)
        cover_every_kind(w, start)
    finally:
        if w.fw is not None:
            w.fw.stop()


def cover_every_kind(w: World, start: dict) -> None:
    """Disable, then undo, one rule of every kind the random sequences left out."""
    with in_netns(w.pair.srv):
        facts = w.facts()
    for kind, rule in {k: r for k, r in candidates(w, facts) if k not in w.covered}.items():
        with in_netns(w.pair.srv):
            try:
                plan = disable_plan(rule, facts)
            except ActionError as e:
                assert "reads that back" in str(e), f"{kind}: {e}"  # see run_sequence
                continue
            r = apply(plan, base=w.base)
        assert r.ok, plan.describe() + "\n" + r.message
        assert w.rules() != start, f"{plan.title} changed nothing"
        with in_netns(w.pair.srv):
            r = undo(base=w.base)
        assert r.ok, r.message
        assert w.rules() == start, f"undo of {plan.title} did not restore the rules"
        w.covered.add(kind)
        TALLY["covered"] += 1


def run_sequence(w: World, rng: random.Random, start: dict) -> None:
    before = start
    stack: list[tuple[str, dict]] = []  # (journal id, the rules before it) of every applied change
    done = {"disable": 0, "enable": 0, "delete": 0, "add": 0, "undo": 0, "crash": 0, "refused": 0}
    crash_at = rng.randrange(STEPS)  # the first change at or after this step crashes mid-apply
    step = 0
    # STEPS random actions; then, until each kind has happened (an undo with nothing to undo is a
    # disable; a refused action counts for nothing), the kinds still missing.
    while True:
        missing = [k for k in ("add", "undo", "disable", "crash") if not done[k]]
        if step >= STEPS and not missing:
            break
        assert step < 4 * STEPS, f"no complete sequence after {step} actions: {done}"
        if step < STEPS:
            kind = rng.choices(["disable", "enable", "delete", "add", "undo"], [3, 2, 1, 3, 2])[0]
        else:
            kind = "disable" if missing[0] == "crash" else missing[0]
        step += 1
        if kind == "undo" and stack:
            entry, was = stack.pop()
            with in_netns(w.pair.srv):
                r = undo(base=w.base)
            assert r.ok, r.message
            before = w.rules()
            assert before == was, f"step {step}: undo of {entry} did not restore the rules"
            done["undo"] += 1
            continue
        kind = "disable" if kind == "undo" else kind  # nothing to undo yet
        with in_netns(w.pair.srv):
            facts = w.facts() if kind != "enable" else None
            try:
                if kind == "enable":
                    shelf = disabled_rules(w.base)
                    if not shelf:
                        kind, facts = "disable", w.facts()
                    else:
                        plan = enable_plan(rng.choice(shelf))
                if kind in ("disable", "delete"):
                    rules = candidates(w, facts)  # kinds not disabled yet first, so that every kind gets its turn
                    rule_kind, rule = rng.choice([c for c in rules if c[0] not in w.covered] or rules)
                    persist = rng.random() < 0.35
                    plan = (disable_plan if kind == "disable" else delete_plan)(rule, facts, persist=persist)
                if kind == "add":
                    plan, port, proto, v6 = add_action(w, rng, facts)
            except ActionError as e:
                # The allow is there already; or nft would read the rule's text back as another rule
                # (the merged interval set "from the lab"), so it must not be removed.
                assert "already" in str(e) or "reads that back" in str(e), str(e)
                done["refused"] += 1
                if kind in ("disable", "delete"):
                    w.covered.add(rule_kind)  # refused for a reason it keeps: do not prefer it again
                continue
            crash = not done["crash"] and step > crash_at
            if crash:
                last = plan.fixes[-1]
                log: list = []
                r = apply(plan, base=w.base, runner=crash_after(f"fix.{len(plan.fixes) - 1}.{len(last.argv) - 1}", log))
        if crash:
            assert log and not r.ok and r.result == "rolled-back", r.message
            assert w.rules() == before, f"step {step}: a crash mid-apply left the rules changed: {plan.describe()}"
            done["crash"] += 1
            continue
        with in_netns(w.pair.srv):
            r = apply(plan, base=w.base)
        assert r.ok, plan.describe() + "\n" + r.message
        now = w.rules()
        assert now != before, f"step {step}: {plan.title} changed nothing"
        stack.append((r.id, before))
        before = now
        done[kind] += 1
        if kind in ("disable", "delete"):
            w.covered.add(rule_kind)
        if kind == "add":
            assert w.packet(port, proto, v6) == "accept", f"step {step}: {plan.title} did not open {proto}/{port}"
            TALLY["packets"] += 1
    while stack:
        entry, was = stack.pop()
        with in_netns(w.pair.srv):
            r = undo(base=w.base)
        assert r.ok, r.message
        assert w.rules() == was, f"undo of {entry} did not restore the rules"
    assert w.rules() == start
    assert disabled_rules(w.base) == []
    journal = [json.loads(l) for l in (w.base / "journal.jsonl").read_text().splitlines()]
    assert {e["result"] for e in journal} <= {"pending", "applied", "undone", "rolled-back"}
    TALLY["sequences"] += 1
    TALLY["steps"] += step
    for k in ("undo", "crash", "refused"):
        TALLY[k] += done[k]
