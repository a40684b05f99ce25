"""`wsltui report --redact` on a snapshot full of one person's private data: the blocked NAT demo
as Jane Doe's laptop (user jdoe, host JANE-LAPTOP.corp.example.com, her e-mail, her Wi-Fi
"DoeFamily-5G", a renamed adapter, SIDs, GUIDs, MACs in every notation, C:\\Users\\jdoe paths,
process and rule names built from her name). Every private token is grepped for in every
format — text, md, json and the svg screenshot — and none may survive, while the report still
explains the blocker."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from wsltui import demos
from wsltui.redact import Redactor

from clirun import plain_env, run  # noqa: F401  (plain_env is an autouse fixture)

BLOCKED = "nat-firewalld-reject"
SID = "S-1-5-21-1004336348-1177238915-682003330-1001"
AAD_SID = "S-1-12-1-2973455523-1109946284-3208433060-2419720330"
RULE_GUID = "{3F2504E0-4F89-11D3-9A0C-0305E82C3301}"
ADAPTER_GUID = "{6B29FC40-CA47-1067-B31D-00DD010662DA}"
WSL_VM_CREATOR = "{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}"
EMAIL = "jane.doe@corp.example.com"
MACS = ("d4-5d-64-12-34-56", "d45d.6412.3457", "D45D64123458", "d4:5d:64:12:34:59")
# Every private value, as a pattern found independently of wsltui.redact.
PRIVATE = {
    "user name": r"(?i)jdoe",
    "first name": r"(?i)(?<![a-z])jane",
    "surname": r"(?<![A-Za-z])(?:[Dd]oe|DOE)(?![a-z])",
    "host": r"(?i)laptop",
    "domain": r"(?i)corp\.example",
    "e-mail": r"(?i)[\w.-]+@[\w-]+\.[\w.-]+",
    "SSID": r"(?i)family-5g",
    "adapter name": r"(?i)thunderbolt",
    "SID": r"(?i)1004336348|1177238915|682003330|2973455523|3208433060",
    "GUID": r"(?i)3f2504e0|0305e82c3301|6b29fc40|00dd010662da",
    "MAC": r"(?i)d4[-:.]?5d[-:.]?64[-:.]?12[-:.]?34[-:.]?5[6-9]",
    "folder": r"(?i)acme-secret",
}


def _jane(tmp_path: Path) -> Path:
    d = tmp_path / "jane"
    shutil.copytree(Path(demos.__file__).parent / BLOCKED, d)
    (d / "snapshot.json").write_text(
        json.dumps(
            {
                "wsltui": "0.1.0",
                "taken": "2026-01-02T03:04:05+00:00",
                "host": "JANE-LAPTOP.corp.example.com",
                "user": "jdoe",
                "root": True,
            }
        )
    )
    (d / "wsl.conf.txt").write_text("[boot]\nsystemd=true\n[network]\nhostname=JANE-LAPTOP\n[user]\ndefault=jdoe\n")
    ps = json.loads((d / "win.powershell.txt").read_text())
    ps["userProfile"] = "C:\\Users\\jdoe"
    ps["conn"] = [
        {"alias": "Wi-Fi", "name": "DoeFamily-5G", "ifIndex": 12, "category": 1},
        {"alias": "Thunderbolt Dock (Jane)", "name": "corp.example.com", "ifIndex": 17, "category": 2},
    ]
    ps["adapters"] = [
        {"alias": "Wi-Fi", "ifIndex": 12, "guid": ADAPTER_GUID, "type": 71},
        {
            "alias": "Thunderbolt Dock (Jane)",
            "ifIndex": 17,
            "guid": "{0B4C3E9A-77D1-4E2B-9F10-5A6B7C8D9E0F}",
            "type": 6,
        },
    ]
    ps["rules"].append(
        {
            "id": RULE_GUID,
            "name": f"Block jdoe-server (Jane Doe, {EMAIL}) on DoeFamily-5G",
            "group": "",
            "enabled": 1,
            "dir": 1,
            "action": 4,
            "profile": 0,
            "edge": 0,
            "primary": 1,
            "enforce": "Enforced",
            "src": "PersistentStore",
            "srcType": 1,
            "proto": "TCP",
            "lport": "8080",
            "rport": "Any",
            "icmp": "Any",
            "laddr": "Any",
            "raddr": "Any",
            "program": "C:\\Users\\jdoe\\src\\acme-secret\\jdoe-server.exe",
            "package": "",
            "service": "Any",
            "ifAlias": "Any",
            "ifType": "Any",
        }
    )
    ps["rules"].append(
        {
            "id": "{9F1A2B3C-4D5E-4F60-8172-839405A6B7C8}",
            "name": f"Printer {MACS[0]} / {MACS[1]} / MAC {MACS[2]} / {MACS[3]}",
            "group": "",
            "enabled": 1,
            "dir": 1,
            "action": 2,
            "profile": 0,
            "edge": 0,
            "primary": 1,
            "enforce": "Enforced",
            "src": "PersistentStore",
            "srcType": 1,
            "proto": "TCP",
            "lport": "9100",
            "rport": "Any",
            "icmp": "Any",
            "laddr": "Any",
            "raddr": "Any",
            "program": "Any",
            "package": "",
            "service": "Any",
            "ifAlias": "Any",
            "ifType": "Any",
        }
    )
    ps["listeners"].append(
        {
            "addr": "0.0.0.0",
            "port": 9000,
            "pid": 7788,
            "process": "jdoe-sync",
            "path": "C:\\Users\\jdoe\\AppData\\Local\\jdoe-sync\\jdoe-sync.exe",
        }
    )
    (d / "win.powershell.txt").write_text(json.dumps(ps))
    policy = (d / "win.fw-policy.txt").read_text()
    policy = policy.replace(
        "\\FirewallRules\n",
        "\\FirewallRules\n    {7D3B1C2A-1E2F-4A5B-8C9D-0E1F2A3B4C5D}    REG_SZ    v2.31|Action=Block|Active=TRUE|Dir=In|"
        f"Protocol=6|LPort=8081|App=C:\\Users\\jdoe\\src\\acme-secret\\tool.exe|Name=Jane Doe's tool|LUOwn={SID}|"
        f"LUAuth=O:LSD:(A;;CC;;;{AAD_SID})|\n",
        1,
    )
    (d / "win.fw-policy.txt").write_text(policy)
    sockets = (d / "net.sockets.txt").read_text()
    (d / "net.sockets.txt").write_text(
        sockets + 'tcp LISTEN 0 4096 0.0.0.0:9000 0.0.0.0:* users:(("jdoe-sync",pid=7788,fd=3)) '
        "uid:1000 ino:4578997 sk:baee cgroup:/user.slice/user-1000.slice <->\n"
    )
    (d / "wsl.wslconfig.meta.json").write_text(
        json.dumps(
            {
                "argv": ["cat", "/mnt/c/Users/jdoe/.wslconfig"],
                "exit_code": 1,
                "stderr": "cat: /mnt/c/Users/jdoe/.wslconfig: No such file",
            }
        )
    )
    _live_record(d)
    return d


def _live_record(d: Path) -> None:
    """A live test of the blocked flow, with her names, addresses and a MAC in its free text."""
    from wsltui.facts.live import ClientOutcome, LinuxWatch, Observation, to_record

    client = ClientOutcome(
        sent_from="windows",
        outcome="host-unreachable",
        elapsed_ms=14,
        code=10065,
        detail=f"jdoe-server on JANE-LAPTOP.corp.example.com ({EMAIL}) via Thunderbolt Dock (Jane)",
        src="172.28.160.1:50123",
        dst="172.28.165.23:8080",
    )
    rule = "nft inet firewalld chain filter_IN_public, rule 9 (handle 72)"
    line = (
        f'trace id 1a2b inet firewalld filter_IN_public packet: iif "eth0" ether saddr {MACS[3]} ip saddr '
        "172.28.160.1 ip daddr 172.28.165.23 tcp dport 8080"
    )
    linux = LinuxWatch(
        method="nft-trace",
        reached_linux=True,
        reply="icmp",
        verdict="reject",
        chain="filter_IN_public",
        rule=rule,
        lines=(line,),
    )
    obs = Observation(
        scenario="windows-to-wsl-ip",
        proto="tcp",
        port=8080,
        started="2026-01-02T03:00:00+00:00",
        client=client,
        linux=linux,
        skipped=("C:\\Users\\jdoe\\src\\acme-secret: not searched",),
    )
    rec = to_record(obs, ("powershell.exe", "-EncodedCommand", "<live connect>"), 0.4)
    (d / f"{rec.name}.txt").write_text(rec.stdout)
    meta = rec.to_json()
    del meta["stdout"], meta["name"]
    (d / f"{rec.name}.meta.json").write_text(json.dumps(meta))


def test_the_live_record_reaches_every_report_unredacted(capsys, jane):
    for fmt in ("text", "md", "json"):
        out = _report(capsys, "--from", str(jane), "--format", fmt)
        assert "jdoe-server on JANE-LAPTOP" in out and "acme-secret" in out, fmt
    md = _report(capsys, "--from", str(jane), "--format", "md", "--redact")
    assert "Model and reality agree" in md and "user-1-server on host-" in md  # redacted, still read


def _report(capsys, *argv: str) -> str:
    code, out, err = run(capsys, "report", *argv)
    assert code == 0, err
    return out


def _leaks(out: str) -> dict[str, list[str]]:
    return {what: sorted(set(re.findall(p, out))) for what, p in PRIVATE.items() if re.search(p, out)}


@pytest.fixture(scope="module")
def jane(tmp_path_factory) -> Path:
    return _jane(tmp_path_factory.mktemp("redact"))


def test_the_case_really_carries_the_private_data(capsys, jane):
    plain = _report(capsys, "--from", str(jane), "--format", "json") + _report(
        capsys, "--from", str(jane), "--format", "md"
    )
    leaks = _leaks(plain)
    assert set(leaks) == set(PRIVATE), set(PRIVATE) - set(leaks)  # every token reaches an unredacted report


@pytest.mark.parametrize("fmt", ["text", "md", "json"])
def test_no_private_value_survives(capsys, jane, fmt):
    out = _report(capsys, "--from", str(jane), "--format", fmt, "--redact")
    assert not _leaks(out), _leaks(out)
    if fmt == "json":
        assert json.loads(out)["redacted"] is True


def test_the_redacted_report_still_explains_the_blocker(capsys, jane):
    md = _report(capsys, "--from", str(jane), "--format", "md", "--redact")
    assert "no route to host (netfilter)" in md and "`firewall-cmd --zone=public --add-port=8080/tcp`" in md
    assert "Wi-Fi" in md  # a generic adapter name is kept: it says which link
    assert "on host-1" in md and "user-1" in md and "Stop user-1-sync (pid 7788)" in md
    doc = json.loads(_report(capsys, "--from", str(jane), "--format", "json", "--redact"))
    rules = doc["facts"]["windows"]["rules"]
    blocks = [r["id"] for r in rules if r["local_ports"] == ["8080"] and r["action"] == "block"]
    assert len(blocks) == 1 and re.fullmatch(r"\{guid-\d+\}", blocks[0])  # the rule's id, by its placeholder
    text = json.dumps(doc)
    assert "sid-" in text and "email-" in text and "network-" in text and "adapter-" in text
    assert "0000.5e00.53" in text and "00-00-5E-00-53-" in text  # MACs keep their notation


def test_svg_is_rendered_from_redacted_data(capsys, jane, tmp_path):
    out = tmp_path / "status.svg"
    code, _, err = run(
        capsys, "report", "--from", str(jane), "--format", "svg", "--redact", "-o", str(out), "--size", "160x50"
    )
    assert code == 0, err
    svg = out.read_text(encoding="utf-8")
    plain_svg = tmp_path / "plain.svg"
    assert (
        run(capsys, "report", "--from", str(jane), "--format", "svg", "-o", str(plain_svg), "--size", "160x50")[0] == 0
    )
    # What a person reads: the text of every line, its spans joined.
    shown = _svg_text(svg)
    assert _leaks(_svg_text(plain_svg.read_text(encoding="utf-8")))  # the screen does show private data
    assert not _leaks(shown) and not _leaks(svg), _leaks(shown) or _leaks(svg)
    assert "8080" in shown


def _svg_text(svg: str) -> str:
    lines: dict[str, list[str]] = {}
    for m in re.finditer(r'<text[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        lines.setdefault(m.group(1), []).append(html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).replace("\xa0", " "))
    return "\n".join("".join(parts) for parts in lines.values())


def test_redactor_notations():
    r = Redactor(users=("jdoe",), hosts=("JANE-LAPTOP.corp.example.com",))
    for mac in MACS:
        assert not re.search(PRIVATE["MAC"], r.text(f"MAC {mac} here")), mac
    assert r.text("link/ether d4:5d:64:12:34:56 brd ff:ff:ff:ff:ff:ff").endswith("brd ff:ff:ff:ff:ff:ff")
    assert (
        r.text("PermanentAddress D45D64123456")
        == "PermanentAddress " + r.mac("d4:5d:64:12:34:56").replace(":", "").upper()
    )
    assert r.text("build 22631.4037 port 123456789012") == "build 22631.4037 port 123456789012"  # not a MAC: no context
    assert r.text(f"owner {SID} and S-1-5-18, S-1-5-32-544") == "owner sid-1 and S-1-5-18, S-1-5-32-544"
    assert r.text(f"VM {WSL_VM_CREATOR}, rule {RULE_GUID}") == f"VM {WSL_VM_CREATOR}, rule {{guid-1}}"
    assert r.text(f"WslCore-Allow-Inbound-ICMPv6-1-{RULE_GUID[1:-1]}") == "WslCore-Allow-Inbound-ICMPv6-1-guid-1"
    assert r.text(f"mail {EMAIL}.") == "mail email-1."
    assert r.text("db.corp.example.com and corp.example.com") == "host-2 and host-1" or "corp.example" not in r.text(
        "db.corp.example.com and corp.example.com"
    )
    assert r.text("jdoe-server and JDOE_tools") == "user-1-server and user-1_tools"
    assert r.text("JANE-LAPT… and corp.exa…") == "host-1… and host-2…"  # a name cut short by a table
    assert (
        r.text("see learn.microsoft.com/windows/wsl and github.com/microsoft/WSL")
        == "see learn.microsoft.com/windows/wsl and github.com/microsoft/WSL"
    )
    assert (
        r.text("server.exe, wsl.conf, wsltui.redact, 5.15.167.4-microsoft")
        == "server.exe, wsl.conf, wsltui.redact, 5.15.167.4-microsoft"
    )
