"""WSL facts: kind, effective mode, version, requested .wslconfig and /etc/wsl.conf."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsltui import snapshot
from wsltui.facts import wsl
from wsltui.facts.base import Unknown
from wsltui.snapshot import Record, Snapshot

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def load(case: str) -> wsl.WslFacts:
    return wsl.from_snapshot(snapshot.load(GOLDEN / case))


def snap(**records: Record | str) -> Snapshot:
    s = Snapshot()
    for name, r in records.items():
        name = name.replace("_", ".", 1).replace("_", "-")
        s.add(r if isinstance(r, Record) else Record(name, (), r))
    return s


def rec(name: str, stdout: str = "", **kw) -> Record:
    return Record(name, kw.pop("argv", ()), stdout, **kw)


def absent(name: str, path: str) -> Record:
    return Record(name, ("cat", path), "", exit_code=1, stderr=f"cat: {path}: No such file or directory")


def json_roundtrip(facts) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(facts)))


# --- goldens ---------------------------------------------------------------------------------


def test_golden_nat_without_wslconfig():
    f = load("wsl-nat")
    assert f.kind == "wsl2"
    assert f.kernel_release == "5.15.167.4-microsoft-standard-WSL2"
    assert f.networking_mode == "nat" and f.networking_mode_raw == "nat"
    assert f.version == "2.4.13"
    # .wslconfig absent = every default, a known fact
    assert isinstance(f.wslconfig, wsl.WslConfig) and f.wslconfig.present is False
    assert f.wslconfig.networking_mode == "nat" and f.wslconfig.networking_mode_source == "default"
    assert f.wslconfig.localhost_forwarding and f.wslconfig.firewall and f.wslconfig.dns_tunneling
    assert f.wsl_conf.present and f.wsl_conf.systemd is True and f.wsl_conf.default_user == "alice"
    assert f.mode_mismatch is None
    assert f.mode_hint.startswith("heuristic:") and "NAT" in f.mode_hint
    assert f.problems == []
    json_roundtrip(f)


def test_golden_mirrored():
    f = load("wsl-mirrored")
    assert (f.kind, f.networking_mode) == ("wsl2", "mirrored")
    c = f.wslconfig
    assert c.present and c.networking_mode == "mirrored" and c.networking_mode_source == "[wsl2]"
    assert c.host_address_loopback is True
    assert c.ignored_ports == [3000, 8080]
    assert c.problems == []
    assert "wsl2.networkingMode" in c.explicit
    conf = f.wsl_conf
    assert conf.hostname == "devbox" and conf.append_windows_path is False and conf.automount_root == "/win/"
    assert conf.interop_enabled is True and conf.generate_resolv_conf is True
    assert f.mode_mismatch is None
    assert "loopback0" in f.mode_hint and f.mode_hint.startswith("heuristic:")


def test_golden_wsl1():
    f = load("wsl-wsl1")
    assert f.kind == "wsl1" and f.kernel_release == "4.4.0-19041-Microsoft"
    assert f.networking_mode == "wsl1"
    assert f.wsl_conf.present is False and f.wsl_conf.interop_enabled  # absent = defaults
    # .wslconfig only configures the WSL2 VM: no mismatch for a WSL1 distro
    assert f.wslconfig.networking_mode == "mirrored"
    assert f.mode_mismatch is None


def test_golden_requested_mirrored_effective_nat():
    f = load("wsl-mismatch")
    assert f.networking_mode == "nat"
    c = f.wslconfig
    # Notepad file: BOM + CRLF, legacy [experimental] placement, an inline ; comment, a junk line
    assert c.networking_mode == "mirrored" and c.networking_mode_source == "[experimental]"
    assert c.localhost_forwarding is True
    assert any("line 9" in p and "junk" in p for p in c.problems)
    assert f.mode_mismatch is not None
    assert "mirrored" in f.mode_mismatch and "nat" in f.mode_mismatch and "Windows 10" in f.mode_mismatch
    assert f.wsl_conf.systemd is True  # CRLF in wsl.conf too


def test_golden_no_wslinfo_mode_is_unknown_not_guessed():
    f = load("wsl-no-wslinfo")
    assert f.kind == "wsl2"
    assert isinstance(f.networking_mode, Unknown)
    assert "command not found" in f.networking_mode.reason and "2.0" in f.networking_mode.reason
    assert f.networking_mode.command == "wslinfo --networking-mode"
    assert isinstance(f.version, Unknown)
    # .wslconfig asks for mirrored; that is *requested* only, and there is nothing to compare with
    assert f.wslconfig.networking_mode == "mirrored"
    assert f.mode_mismatch is None
    assert "NAT" in f.mode_hint


def test_golden_real_capture_not_wsl():
    # captured by gen_firewalld_ufw.py on plain Debian: not WSL, no wslinfo, no interop
    f = load("firewalld-default")
    assert f.kind == "not-wsl"
    assert isinstance(f.networking_mode, Unknown) and "not running under WSL" in f.networking_mode.reason
    json_roundtrip(f)


# --- kind and mode ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "release,kind",
    [
        ("5.15.167.4-microsoft-standard-WSL2\n", "wsl2"),
        ("6.6.87.2-microsoft-standard-WSL2+", "wsl2"),
        ("4.4.0-22621-Microsoft", "wsl1"),
        ("6.1.0-18-amd64", "not-wsl"),
    ],
)
def test_kind(release, kind):
    assert wsl.from_snapshot(snap(kernel_osrelease=rec("kernel.osrelease", release))).kind == kind


def test_kind_missing_or_empty_is_unknown():
    f = wsl.from_snapshot(Snapshot())
    assert isinstance(f.kind, Unknown) and f.kind.command == "cat /proc/sys/kernel/osrelease"
    for u in (f.networking_mode, f.version, f.wslconfig, f.wsl_conf):
        assert isinstance(u, Unknown) and "not captured" in u.reason
    assert isinstance(wsl.from_snapshot(snap(kernel_osrelease=rec("kernel.osrelease", "  \n"))).kind, Unknown)


@pytest.mark.parametrize(
    "word,mode",
    [
        ("nat", "nat"),
        ("mirrored\n", "mirrored"),
        ("bridged", "bridged"),
        ("none", "none"),
        ("wsl1", "wsl1"),
        ("consomme", "consomme"),
        ("virtioproxy", "consomme"),
        ("VirtioProxy", "consomme"),
    ],
)
def test_modes(word, mode):
    f = wsl.from_snapshot(snap(wsl_networking_mode=rec("wsl.networking-mode", word)))
    assert f.networking_mode == mode
    assert f.networking_mode_raw == word.strip()


def test_unknown_mode_word_is_kept_with_a_problem():
    f = wsl.from_snapshot(snap(wsl_networking_mode=rec("wsl.networking-mode", "quantum\n")))
    assert f.networking_mode == "quantum" and any("quantum" in p for p in f.problems)


@pytest.mark.parametrize(
    "record",
    [
        rec("wsl.networking-mode", "", exit_code=None, error="wslinfo: command not found"),
        rec("wsl.networking-mode", "", exit_code=1, stderr="wslinfo: unrecognized option '--networking-mode'"),
        rec("wsl.networking-mode", ""),
        rec("wsl.networking-mode", "%%% garbage ###"),
        rec("wsl.networking-mode", "", exit_code=None, error="timed out after 5 s"),
    ],
)
def test_mode_failures_are_unknown(record):
    f = wsl.from_snapshot(
        snap(wsl_networking_mode=record, wsl_wslconfig=rec("wsl.wslconfig", "[wsl2]\nnetworkingMode=nat\n"))
    )
    assert isinstance(f.networking_mode, Unknown)
    assert f.mode_mismatch is None


@pytest.mark.parametrize(
    "text,version",
    [
        ("2.4.13\n", "2.4.13"),
        ("2.5.10.0", "2.5.10.0"),
        ("WSL version: 2.3.26.0\nKernel version: 5.15.167.4-1\nWSLg version: 1.0.65\n", "2.3.26.0"),
    ],
)
def test_version(text, version):
    assert wsl.from_snapshot(snap(wsl_version=rec("wsl.version", text))).version == version


def test_version_garbage_is_unknown():
    assert isinstance(wsl.from_snapshot(snap(wsl_version=rec("wsl.version", "no idea"))).version, Unknown)
    assert isinstance(wsl.from_snapshot(snap(wsl_version=rec("wsl.version", ""))).version, Unknown)


# --- .wslconfig -----------------------------------------------------------------------------------


def test_wslconfig_absent_is_defaults_not_unknown():
    f = wsl.from_snapshot(
        snap(
            wsl_wslconfig=absent("wsl.wslconfig", "/mnt/c/Users/bob/.wslconfig"),
            wsl_networking_mode=rec("wsl.networking-mode", "nat"),
        )
    )
    assert f.wslconfig == wsl.WslConfig(present=False)
    assert f.mode_mismatch is None


def test_wslconfig_unreadable_is_unknown():
    r = Record(
        "wsl.wslconfig",
        ("cat", "/mnt/c/Users/bob/.wslconfig"),
        "",
        exit_code=1,
        stderr="cat: /mnt/c/Users/bob/.wslconfig: Permission denied",
    )
    u = wsl.from_snapshot(snap(wsl_wslconfig=r)).wslconfig
    assert isinstance(u, Unknown) and "Permission denied" in u.reason
    r = Record("wsl.wslconfig", ("cmd.exe",), "", exit_code=None, error="no Windows interop")
    assert isinstance(wsl.from_snapshot(snap(wsl_wslconfig=r)).wslconfig, Unknown)


def test_wslconfig_tolerant_ini():
    text = (
        '\ufeff; comment\r\n# another\r\n[WSL2]\r\n  NetworkingMode = "Mirrored"  # quoted\r\n'
        "firewall=false\r\nfirewall=true\r\nlocalhostForwarding = maybe\r\n"
        "dnsProxy=0\r\n[experimental]\r\nhostAddressLoopback=TRUE\r\nignoredPorts = 53, abc, 70000, 8080\r\n"
        "garbage line\r\n[broken\r\n=novalue\r\nkey with space = 1\r\n[wsl2]\r\nhostAddressLoopback=true\r\n"
        "[unknownsection]\r\nfoo=bar\r\n"
    )
    c = wsl.parse_wslconfig(text)
    assert c.networking_mode == "mirrored" and c.networking_mode_raw == "Mirrored"
    assert c.firewall is True  # the last duplicate wins
    assert c.localhost_forwarding is True  # not a boolean: default
    assert c.dns_proxy is False
    assert c.host_address_loopback is True
    assert c.ignored_ports == [53, 8080]
    joined = "\n".join(c.problems)
    for needle in (
        "set again",
        "maybe",
        "'abc'",
        "'70000'",
        "garbage line",
        "section header",
        "invalid key",
        "belongs in [experimental]",
        "[unknownsection]",
    ):
        assert needle in joined, needle


def test_wslconfig_moved_keys_last_line_wins():
    c = wsl.parse_wslconfig("[experimental]\nnetworkingMode=mirrored\ndnsTunneling=false\n[wsl2]\nnetworkingMode=nat\n")
    assert c.networking_mode == "nat" and c.networking_mode_source == "[wsl2]"
    assert c.dns_tunneling is False  # honoured from [experimental]
    c = wsl.parse_wslconfig("[wsl2]\nnetworkingMode=nat\n[experimental]\nnetworkingMode=mirrored\n")
    assert c.networking_mode == "mirrored" and c.networking_mode_source == "[experimental]"


def test_wslconfig_modes_and_values():
    assert wsl.parse_wslconfig("[wsl2]\nnetworkingMode=virtioproxy\n").networking_mode == "consomme"
    c = wsl.parse_wslconfig("[wsl2]\nnetworkingMode=turbo\n")
    assert c.networking_mode == "nat" and any("turbo" in p for p in c.problems)
    c = wsl.parse_wslconfig("[experimental]\ndnsTunnelingIpAddress=10.0.0.999\n")
    assert c.dns_tunneling is False and c.problems
    c = wsl.parse_wslconfig(
        "[experimental]\ndnsTunnelingIpAddress=10.255.0.1\n[general]\ninstanceIdleTimeout=-1\n"
        "[wsl2]\nvmIdleTimeout=abc\nkernelCommandLine = ipv6.disable=1\n"
    )
    assert c.dns_tunneling_ip_address == "10.255.0.1" and c.instance_idle_timeout_ms == -1
    assert c.vm_idle_timeout_ms is None and any("vmIdleTimeout" in p for p in c.problems)
    assert c.kernel_command_line == "ipv6.disable=1"


def test_wslconfig_empty_file_is_present_defaults():
    c = wsl.parse_wslconfig("")
    assert c.present and c.networking_mode == "nat" and c.problems == []


def test_keys_outside_a_section():
    c = wsl.parse_wslconfig("networkingMode=mirrored\n")
    assert c.networking_mode == "nat" and any("outside any [section]" in p for p in c.problems)


# --- /etc/wsl.conf --------------------------------------------------------------------------------


def test_wsl_conf_values_and_problems():
    conf = wsl.parse_wsl_conf(
        '[boot]\nsystemd = true\ncommand = "service ssh start; iptables-restore < /etc/ipt"\n'
        "[network]\ngenerateResolvConf=false\ngenerateHosts = false\nhostname=box\n"
        "[interop]\nenabled=false\nappendWindowsPath=false\n[automount]\nroot=/\n"
        "[user]\ndefault=root\n[boot]\nsystemd=yes\n[network]\nbogus=1\n"
    )
    assert conf.boot_command == "service ssh start; iptables-restore < /etc/ipt"
    assert conf.generate_resolv_conf is False and conf.generate_hosts is False and conf.hostname == "box"
    assert conf.interop_enabled is False and conf.append_windows_path is False
    assert conf.automount_root == "/" and conf.default_user == "root"
    assert conf.systemd is False  # "yes" is not a boolean WSL reads: default
    joined = "\n".join(conf.problems)
    assert "'yes'" in joined and "bogus" in joined and "set again" in joined


def test_wsl_conf_absent_and_failed():
    f = wsl.from_snapshot(snap(wsl_conf=absent("wsl.conf", "/etc/wsl.conf")))
    assert f.wsl_conf == wsl.WslConf(present=False)
    r = Record("wsl.conf", ("cat", "/etc/wsl.conf"), "", exit_code=1, stderr="cat: /etc/wsl.conf: Is a directory")
    assert isinstance(wsl.from_snapshot(snap(wsl_conf=r)).wsl_conf, Unknown)


# --- mismatch and hint ----------------------------------------------------------------------------


def test_mismatch_messages():
    nat_requested = wsl.WslConfig(present=False)
    assert "Consomme" in wsl.mode_mismatch(nat_requested, "consomme")
    assert "none" in wsl.mode_mismatch(nat_requested, "none")
    assert wsl.mode_mismatch(nat_requested, "nat") is None
    assert wsl.mode_mismatch(nat_requested, Unknown("x")) is None
    assert wsl.mode_mismatch(Unknown("x"), "mirrored") is None
    mirrored = wsl.parse_wslconfig("[wsl2]\nnetworkingMode=mirrored\n")
    assert "networkingMode=mirrored" in wsl.mode_mismatch(mirrored, "nat")
    assert wsl.mode_mismatch(mirrored, "mirrored") is None
    assert "default nat" in wsl.mode_mismatch(nat_requested, "mirrored")


@pytest.mark.parametrize("text", ["", "not json", "{}", "[1, 2, null]", '[{"ifname": 3}]', "[[[[]]]]"])
def test_hint_garbage(text):
    assert wsl.mode_hint(text) is None


# --- never raises ---------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[]=#;\"' \t\r\nabcWSL2xperimntalwork-Mode\ufeff01")), max_size=200))
def test_ini_never_raises(text):
    c = wsl.parse_wslconfig(text)
    json.dumps(dataclasses.asdict(c))
    wsl.parse_wsl_conf(text)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["kernel.osrelease", "wsl.networking-mode", "wsl.version", "wsl.conf", "wsl.wslconfig", "net.addr"]
        ),
        st.tuples(
            st.text(max_size=60), st.sampled_from([0, 1, 2, None]), st.sampled_from(["", "No such file or directory"])
        ),
    )
)
def test_from_snapshot_never_raises(records):
    s = Snapshot()
    for name, (out, code, err) in records.items():
        s.add(Record(name, (), out, exit_code=code, stderr=err))
    json.dumps(dataclasses.asdict(wsl.from_snapshot(s)))
