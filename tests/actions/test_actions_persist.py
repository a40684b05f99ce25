"""Persistence of iptables and nft changes: which mechanism the distro has (netfilter-persistent,
nftables.service, else a /etc/wsl.conf [boot] command), the files a plan writes (always under a
private root here: WSLTUI_ROOT), that what it writes really brings the rules back (loaded into a
fresh namespace with the very command the distro would run), and that undo puts every file back
byte for byte. The host's /etc is checked to be untouched."""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path

import pytest
from oracle import in_netns
from realtools import NetnsPair, netns_pair, ns_run

from wsltui.actions import ActionError, apply, detect_persistence, disable_plan, persist_plan, undo
from wsltui.actions.persist import with_boot_command
from wsltui.facts import build_facts
from wsltui.probes.capture import capture
from wsltui.records import BY_NAME
from wsltui.probes.runner import run
from wsltui.snapshot import Record

HOST_FILES = ("/etc/wsl.conf", "/etc/iptables", "/etc/nftables.conf", "/etc/wsltui")


def _digest(path: str) -> str:
    p = Path(path)
    if not p.exists():
        return "-"
    files = sorted(p.rglob("*")) if p.is_dir() else [p]
    return hashlib.sha256(
        b"".join(str(f).encode() + (f.read_bytes() if f.is_file() else b"") for f in files)
    ).hexdigest()


@pytest.fixture(autouse=True, scope="module")
def host_etc_untouched():
    before = {f: _digest(f) for f in HOST_FILES}
    yield
    assert {f: _digest(f) for f in HOST_FILES} == before, "a test wrote the host's /etc"


def make_root(
    tmp_path: Path, *, systemd: bool = False, persistent: bool = False, alternative: str = "nft", nftables: str = ""
) -> Path:
    """A private / laid out like a distro: what is installed, enabled and running."""
    root = tmp_path / "root"
    for d in ("etc", "usr/sbin", "run"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc" / "wsl.conf").write_text("# my settings\n[network]\nhostname = dev\n")
    if systemd:
        (root / "run" / "systemd" / "system").mkdir(parents=True)
    if persistent:
        (root / "usr/sbin/netfilter-persistent").write_text("#!/bin/sh\n")
        (root / "etc" / "iptables").mkdir()
        (root / "etc" / "iptables" / "rules.v4").write_text("# old rules\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")
    (root / "etc" / "alternatives").mkdir()
    for tool in ("iptables", "ip6tables"):
        (root / "usr/sbin" / tool).symlink_to(f"/etc/alternatives/{tool}")
        (root / "etc/alternatives" / tool).symlink_to(f"/usr/sbin/{tool}-{alternative}")
        (root / "usr/sbin" / f"{tool}-{alternative}").symlink_to(f"xtables-{alternative}-multi")
    if nftables:
        (root / "etc" / "nftables.conf").write_text("#!/usr/sbin/nft -f\nflush ruleset\n")
        (root / "lib/systemd/system").mkdir(parents=True)
        (root / "lib/systemd/system/nftables.service").write_text("[Unit]\n")
        if nftables == "enabled":
            (root / "etc/systemd/system/sysinit.target.wants").mkdir(parents=True)
            (root / "etc/systemd/system/sysinit.target.wants/nftables.service").symlink_to(
                "/lib/systemd/system/nftables.service"
            )
    return root


# --- which mechanism -------------------------------------------------------------------------------


def test_netfilter_persistent_when_installed_under_systemd_with_the_same_backend(tmp_path):
    root = make_root(tmp_path, systemd=True, persistent=True)
    p = detect_persistence("iptables-nft", root)
    assert (p.mechanism, p.rules_file) == ("netfilter-persistent", "/etc/iptables/rules.v4")
    assert detect_persistence("ip6tables-nft", root).rules_file == "/etc/iptables/rules.v6"
    legacy = detect_persistence("iptables-legacy", root)  # netfilter-persistent would restore into nft
    assert legacy.mechanism == "wsl-boot" and "nft backend" in legacy.notes[0]
    assert legacy.boot_command == "iptables-legacy-restore /etc/wsltui/iptables-legacy.rules"


def test_without_systemd_a_wsl_boot_command(tmp_path, monkeypatch):
    root = make_root(tmp_path, persistent=True)
    monkeypatch.setenv("WSLTUI_ROOT", str(root))
    p = detect_persistence("iptables-nft")
    assert p.mechanism == "wsl-boot" and "systemd does not run" in p.notes[0]
    (root / "etc" / "wsl.conf").write_text("[boot]\nsystemd = true\n")
    assert detect_persistence("iptables-nft").mechanism == "netfilter-persistent"


def test_nftables_service_only_when_enabled(tmp_path):
    assert (
        detect_persistence("nft", make_root(tmp_path / "a", systemd=True, nftables="enabled")).mechanism
        == "nftables.service"
    )
    p = detect_persistence("nft", make_root(tmp_path / "b", systemd=True, nftables="installed"))
    assert p.mechanism == "wsl-boot" and p.boot_command == "nft -f /etc/wsltui/nftables.conf"
    assert "not enabled" in p.notes[0]
    with pytest.raises(ActionError, match="keeps its own"):
        detect_persistence("ufw", tmp_path)


@pytest.mark.parametrize(
    "before, after",
    [
        ("", "[boot]\ncommand = X\n"),
        ("[network]\nhostname = a", "[network]\nhostname = a\n\n[boot]\ncommand = X\n"),
        (
            "# c\n[boot]\nsystemd=true\n[user]\ndefault=me\n",
            "# c\n[boot]\ncommand = X\nsystemd=true\n[user]\ndefault=me\n",
        ),
        ("[boot]\ncommand = service ssh start\n", "[boot]\ncommand = service ssh start; X\n"),
        ("[boot]\ncommand=a; X\n", "[boot]\ncommand=a; X\n"),
        ("[Boot]\n# command = old\ncommand =\n", "[Boot]\n# command = old\ncommand = X\n"),
    ],
)
def test_boot_command_keeps_everything_else(before, after):
    assert with_boot_command(before, "X") == after


# --- writing, restoring, undoing (real tools in a namespace) ------------------------------------------

IPT = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 8080 -j DROP
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh in" -j ACCEPT
COMMIT
"""
NFT = """table inet t {
  set ports { type inet_service; elements = { 80, 443 } }
  chain input { type filter hook input priority 0; policy accept; tcp dport 8080 counter drop; tcp dport @ports accept; }
}
"""
FACTS = [BY_NAME[n] for n in ("nf.iptables-nft", "nf.ip6tables-nft", "nf.nft")]


def _tree(root: Path) -> dict:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(root.rglob("*"))
        if not p.is_symlink()
    }


def _strip(text: str) -> str:
    return "\n".join(
        re.sub(r"counter packets \d+ bytes \d+", "counter", re.sub(r"\[\d+:\d+\]", "[0:0]", l))
        for l in text.splitlines()
        if l.strip() and not l.startswith("#")
    )


def _boot(pair: NetnsPair, root: Path, command: str) -> None:
    """Run a [boot] command in a fresh namespace, its paths taken inside the private root."""
    argv = [a if not a.startswith("/etc/") else str(root) + a for a in shlex.split(command)]
    ns_run(pair.cli, argv)


@pytest.mark.realtools
@pytest.mark.parametrize(
    "front_end, layout",
    [
        ("iptables-nft", "wsl-boot"),
        ("iptables-nft", "netfilter-persistent"),
        ("nft", "wsl-boot"),
        ("nft", "nftables.service"),
    ],
)
def test_persisted_rules_come_back_and_undo_restores_every_file(tmp_path, monkeypatch, front_end, layout):
    root = make_root(
        tmp_path,
        systemd=layout != "wsl-boot",
        persistent=layout == "netfilter-persistent",
        nftables="enabled" if layout == "nftables.service" else "",
    )
    monkeypatch.setenv("WSLTUI_ROOT", str(root))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    files_before = _tree(root)
    with netns_pair("wp", 150 + len(layout) + len(front_end)) as pair:
        ns_run(pair.srv, ["iptables-nft-restore"], input=IPT)
        ns_run(pair.srv, ["nft", "-f", "-"], input=NFT)
        with in_netns(pair.srv):
            facts = build_facts(capture(FACTS))
            rule = (
                facts.iptables.iptables_nft.table("filter").chain("INPUT").rules[0]
                if front_end == "iptables-nft"
                else facts.nft.chain("inet", "t", "input").rules[0]
            )
            plan = disable_plan(rule, facts, persist=True)
            assert plan.persistent and plan.fixes[1].title.endswith(f"({layout})")
            r = apply(plan)
            assert r.ok, plan.describe() + r.message
            dump = ["iptables-nft-save"] if front_end == "iptables-nft" else ["nft", "list", "ruleset"]
            now = _strip(run_in(pair.srv, dump))
        p = detect_persistence(front_end)
        # The distro's own way back: the service's command, or the [boot] command wsltui wrote.
        command = (
            p.boot_command
            if layout == "wsl-boot"
            else (
                "iptables-nft-restore /etc/iptables/rules.v4"
                if front_end == "iptables-nft"
                else "nft -f /etc/nftables.conf"
            )
        )
        if layout == "wsl-boot":
            conf = (root / "etc" / "wsl.conf").read_text()
            assert conf.startswith("# my settings\n[network]\nhostname = dev\n") and f"command = {command}\n" in conf
        _boot(pair, root, command)
        back = _strip(ns_run(pair.cli, dump).stdout.decode())
        if front_end == "nft":  # the client namespace has no iptables-nft tables; compare table inet t
            now, back = (re.search(r"table inet t \{.*?\n\}", x, re.S).group(0) for x in (now, back))
        assert back == now and "8080" not in back
        with in_netns(pair.srv):
            assert undo().ok
    assert _tree(root) == files_before


def run_in(ns: str, argv: list[str]) -> str:
    rec = run_job(argv)
    assert rec.ok, rec.error or rec.stderr
    return rec.stdout


def run_job(argv: list[str]) -> Record:
    from wsltui.probes.runner import Job

    return run(Job("test", tuple(argv), 10, as_root=True))


@pytest.mark.realtools
def test_a_crash_while_writing_the_rules_file_puts_everything_back(tmp_path, monkeypatch):
    root = make_root(tmp_path, systemd=True, persistent=True)
    monkeypatch.setenv("WSLTUI_ROOT", str(root))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    files_before = _tree(root)
    with netns_pair("wq", 171) as pair:
        ns_run(pair.srv, ["iptables-nft-restore"], input=IPT)
        start = ns_run(pair.srv, ["iptables-nft-save"]).stdout.decode()
        with in_netns(pair.srv):
            plan = persist_plan(["iptables-nft"])
            assert [f.argv for f in plan.fixes] == [[["tee", str(root / "etc/iptables/rules.v4")]]]

            def crash_at(name: str):
                def runner(job):
                    rec = run(job)  # the file is written (the rule deleted), then the step "dies"
                    return Record(job.name, job.argv, "", None, error="killed by signal 9") if job.name == name else rec

                return runner

            r = apply(plan, runner=crash_at("fix.0.0"))
            assert not r.ok and r.result == "rolled-back", r.message
            assert _tree(root) == files_before
            facts = build_facts(capture(FACTS))
            plan = disable_plan(
                facts.iptables.iptables_nft.table("filter").chain("INPUT").rules[1], facts, persist=True
            )
            assert plan.fixes[1].argv[-1][0] == "tee"
            r = apply(plan, runner=crash_at("fix.1.0"))  # the rule is gone and the file written when it dies
            assert not r.ok and r.result == "rolled-back", r.message
        assert _tree(root) == files_before
        assert _strip(ns_run(pair.srv, ["iptables-nft-save"]).stdout.decode()) == _strip(start)


@pytest.mark.realtools
def test_wsltui_fix_persist_from_the_shell(tmp_path, monkeypatch):
    """`wsltui fix 8080 --persist --yes` opens the port and writes the boot-time rules; `wsltui
    undo` takes back both (run as processes inside the server namespace)."""
    from test_actions_realtools import fix_args, packet, wsltui
    from oracle import Listeners

    root = make_root(tmp_path)
    files_before = _tree(root)
    with netns_pair("wf", 172) as pair:
        with in_netns(pair.srv):
            pair.listeners = Listeners([8080], v6=False)
        try:
            ns_run(pair.srv, ["iptables-nft-restore"], input=IPT)
            start = _strip(ns_run(pair.srv, ["iptables-nft-save"]).stdout.decode())
            env = {"WSLTUI_ROOT": str(root)}
            r = wsltui(pair, tmp_path, *fix_args(pair), "--persist", env=env)
            assert r.returncode == 0, r.stderr + r.stdout
            assert "Keep the iptables-nft rules after a restart (wsl-boot)" in r.stdout
            assert packet(pair) == "accept"
            saved = (root / "etc" / "wsltui" / "iptables-nft.rules").read_text()
            assert (
                "8080" not in saved
                and "command = iptables-nft-restore /etc/wsltui/iptables-nft.rules"
                in (root / "etc" / "wsl.conf").read_text()
            )
            u = wsltui(pair, tmp_path, "undo", "--yes", env=env)
            assert u.returncode == 0, u.stderr + u.stdout
            assert _strip(ns_run(pair.srv, ["iptables-nft-save"]).stdout.decode()) == start
            assert packet(pair) != "accept"
        finally:
            with in_netns(pair.srv):
                pair.listeners.close()
    assert _tree(root) == files_before


def test_fix_persist_needs_the_live_system(capsys):
    from wsltui.cli import main

    assert main(["fix", "8080", "--demo", "nat-firewalld-reject", "--dry-run", "--persist"]) == 2
    assert "--persist" in capsys.readouterr().err
