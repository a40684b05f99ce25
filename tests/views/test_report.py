"""`wsltui report` in text, md and json on every demo (no root, no live probing), and --redact:
the same value always gets the same placeholder, and no address, MAC, host or user name of the
machine survives in any format while the report still explains the blocker."""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wsltui import demos
from wsltui.facts import build_facts
from wsltui.redact import Redactor, is_well_known

ROOT = Path(__file__).resolve().parents[2]
DEMOS = demos.names()
FORMATS = ("text", "md", "json")
BLOCKED = "nat-firewalld-reject"


from clirun import plain_env, run  # noqa: E402,F401  (plain_env is an autouse fixture)


def report(capsys, *argv: str) -> str:
    code, out, err = run(capsys, "report", *argv)
    assert code == 0, err
    return out


# --- every format on every demo --------------------------------------------------------------


@pytest.mark.parametrize("demo", DEMOS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_on_each_demo(capsys, demo, fmt):
    out = report(capsys, "--demo", demo, "--format", fmt)
    facts = build_facts(demos.load(demo))
    ports = {lst.port for lst in facts.sockets.listeners}
    assert ports, demo
    if fmt == "json":
        doc = json.loads(out)
        assert {(s["proto"], s["port"]) for s in doc["summary"]} >= {
            (lst.proto, lst.port) for lst in facts.sockets.listeners
        }
    else:
        assert "\x1b" not in out  # not a terminal: no ANSI
        for p in ports:
            assert f"/{p}" in out
        assert "networking mode" in out.lower()


def test_default_format_is_text_on_stdout(capsys):
    out = report(capsys, "--demo", BLOCKED)
    assert (
        out.startswith("wsltui report")
        and "Blockers" in out
        and "firewall-cmd --zone=public --add-port=8080/tcp" in out
    )
    # reuses the text views: the check trace and the facts summary
    assert ">>" in out and "Blocked at netfilter" in out and "Listening sockets" in out


def test_markdown_structure(capsys):
    md = report(capsys, "--demo", BLOCKED, "--format", "md")
    order = [
        md.index(s)
        for s in (
            "# wsltui report",
            "## Summary",
            "### Blockers",
            "## Traces",
            "## The facts that decided",
            "## Details",
        )
    ]
    assert order == sorted(order)
    summary = md[md.index("## Summary") : md.index("## Traces")]
    assert "<details>" not in summary and "**Networking mode:** nat" in summary
    assert "| **tcp/8080** |" in summary and "no route to host (netfilter)" in summary
    assert "`firewall-cmd --zone=public --add-port=8080/tcp`" in summary  # one-line fix
    for title in ("Full facts summary", "Raw records: commands and exit codes", "wsltui version and snapshot meta"):
        assert f"<details><summary>{title}</summary>\n\n" in md  # the blank line GitHub needs
    assert md.count("<details>") == md.count("</details>")
    deciding = md[md.index("## The facts that decided") : md.index("## Details")]
    assert "reject with icmpx admin-prohibited" in deciding  # the rule, verbatim
    assert "**firewalld zones**" in deciding and "| public |" in deciding  # the zones
    assert "`0.0.0.0:8080 main (wildcard, IPv4)`" in deciding  # the listener
    raw = md[md.index("Raw records") :]
    assert "| net.sockets | `ss -H -l -n -t -u -p -e` | 0 |" in raw
    assert '"demo": "nat-firewalld-reject"' in raw


def test_json_schema(capsys):
    doc = json.loads(report(capsys, "--demo", BLOCKED, "--format", "json"))
    assert {"schema_version", "wsltui", "meta", "facts", "traces"} <= set(doc)
    assert doc["schema_version"] == 1 and doc["redacted"] is False and doc["meta"]["demo"] == BLOCKED
    assert {"wsl", "network", "sockets", "firewalld", "windows"} <= set(doc["facts"])
    assert len(doc["traces"]) == 2 * 4  # two listeners x the status screen's four scenarios
    t = next(t for t in doc["traces"] if t["port"] == 8080 and t["scenario"] == "windows-to-wsl-ip")
    assert t["reachable"] is False and t["first_blocker"]["layer"] == "netfilter"


def test_port_and_scenario_select_one_trace(capsys):
    doc = json.loads(
        report(capsys, "--demo", BLOCKED, "--format", "json", "--port", "8080", "--scenario", "lan-to-host")
    )
    assert [(t["port"], t["scenario"]) for t in doc["traces"]] == [(8080, "lan-to-host")]
    doc = json.loads(report(capsys, "--demo", BLOCKED, "--format", "json", "--port", "9999"))
    assert {t["port"] for t in doc["traces"]} == {9999} and len(doc["traces"]) == 4  # nobody listens: still traced
    text = report(capsys, "--demo", BLOCKED, "--port", "8080", "--scenario", "windows-localhost-v4")
    assert "a Windows app connects to 127.0.0.1:8080" in text and "3000" not in text.split("Facts")[0]


def test_output_file_and_where_on_stderr(capsys, tmp_path):
    for name, fmt in (("r.md", "md"), ("r.json", "json"), ("r.txt", "text")):
        path = tmp_path / name
        code, out, err = run(capsys, "report", "--demo", BLOCKED, "-o", str(path))  # format from the extension
        assert code == 0 and out == ""
        assert str(path) in err and f"({fmt})" in err
        body = path.read_text(encoding="utf-8")
        assert body.startswith({"md": "# wsltui report", "json": "{", "text": "wsltui report"}[fmt])
        assert "\x1b" not in body


@pytest.mark.parametrize(
    "argv",
    [
        ("--format", "svg"),  # svg needs -o
        ("--format", "pdf"),
        ("--scenario", "custom"),  # needs addresses: use check
        ("--port", "0"),
        ("--port", "http"),
        ("--demo", "no-such-demo"),
        ("--from", "/nonexistent/snapshot.json"),
    ],
)
def test_usage_errors_exit_2(capsys, argv):
    if "--demo" not in argv and "--from" not in argv:
        argv = ("--demo", BLOCKED, *argv)
    code, out, err = run(capsys, "report", *argv)
    assert code == 2 and out == "" and err


def test_unwritable_output_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "report", "--demo", BLOCKED, "-o", str(tmp_path / "no" / "dir" / "r.md"))
    assert code == 2 and "r.md" in err


def test_report_modules_never_import_textual():
    code = (
        "import sys\nimport wsltui.report, wsltui.redact\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


# --- redaction ---------------------------------------------------------------------------------

_ADDR_TOKEN = re.compile(r"[0-9A-Fa-f:.]+")
_MAC = re.compile(r"(?i)\b[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}\b")


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _addresses(text: str) -> set:
    """Every IPv4/IPv6 address in ``text`` (normalised), found independently of wsltui.redact."""
    found = set()
    for tok in _ADDR_TOKEN.findall(text):
        head, _, port = tok.rpartition(":")
        for cand in {tok, tok.strip(":."), head if port.isdigit() else tok}:
            try:
                found.add(ipaddress.ip_address(cand))
            except ValueError:
                pass
    return found


def _sensitive(snap) -> dict[str, set]:
    """What the facts (and the snapshot's records) say about this machine."""
    facts = build_facts(snap).to_json()
    addrs = set()
    for s in _strings(facts):
        addrs |= {a for a in _addresses(s) if not is_well_known(a)}
    wsl = facts.get("wsl") or {}
    addrs -= _addresses(" ".join(str(wsl.get(k) or "") for k in ("kernel_release", "version")))  # 5.15.167.4: a version
    macs = {m.lower() for s in _strings(facts) for m in _MAC.findall(s)} - {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}
    raw = "\n".join(
        [json.dumps(snap.meta)] + [r.stdout + " " + " ".join(r.argv) + " " + r.stderr for r in snap.records.values()]
    )
    users = set(re.findall(r"(?i)(?:/home/|/mnt/[a-z]/Users/|[A-Z]:\\+Users\\+)([\w.-]+)", raw)) - {"Public", "Default"}
    hosts = {snap.meta[k] for k in ("host", "hostname") if snap.meta.get(k)}
    hosts |= set(
        re.findall(r"(?im)^\s*hostname\s*=\s*(\S+)", (snap.get("wsl.conf").stdout if snap.get("wsl.conf") else ""))
    )
    return {"addresses": addrs, "macs": macs, "users": users, "hosts": hosts}


def _assert_clean(out: str, secret: dict[str, set], where: str) -> None:
    leaked = {a for a in _addresses(out) if a in secret["addresses"]}
    assert not leaked, f"{where}: addresses survive: {sorted(map(str, leaked))}"
    for a in secret["addresses"]:
        assert not re.search(rf"(?<![\w.:]){re.escape(str(a))}(?![\w:]|\.\d)", out), f"{where}: {a} survives"
    low = out.lower()
    for m in secret["macs"]:
        assert m not in low and m.replace(":", "-") not in low, f"{where}: MAC {m} survives"
    for u in secret["users"]:  # "dev" is also iproute2's word: check it where it is a user name
        assert not re.search(rf"(?i)(/home/|users[\\/]+){re.escape(u)}\b", out), f"{where}: user {u} survives"
        if len(u) > 3:
            assert u.lower() not in low, f"{where}: user {u} survives"
    for h in secret["hosts"]:
        assert h.lower() not in low, f"{where}: host {h} survives"


@pytest.mark.parametrize("demo", DEMOS)
def test_redaction_leaves_no_original_value(capsys, demo):
    secret = _sensitive(demos.load(demo))
    assert secret["addresses"] and secret["macs"], demo  # the demo has something to hide
    for fmt in FORMATS:
        out = report(capsys, "--demo", demo, "--format", fmt, "--redact")
        _assert_clean(out, secret, f"{demo} {fmt}")
        if fmt == "json":
            assert json.loads(out)["redacted"] is True


def test_redacted_report_still_explains_the_blocker(capsys):
    md = report(capsys, "--demo", BLOCKED, "--format", "md", "--redact")
    summary = md[: md.index("## Traces")]
    assert "**Networking mode:** nat" in summary
    assert "**WSL address:** 192.0.2.1 on eth0, gateway 192.0.2.2" in summary
    assert "no route to host (netfilter)" in summary
    assert "`firewall-cmd --zone=public --add-port=8080/tcp`" in summary  # the fix command's shape
    assert re.search(r"connectaddress=192\.0\.2\.\d+`", summary)  # portproxy still names (a placeholder of) the WSL IP
    assert "reject with icmpx admin-prohibited" in md and "filter_IN_public" in md
    assert "`tcp 192.0.2.2:50000 -> 192.0.2.1:8080 (in eth0)`" in md  # the packet still reads
    assert "node (pid" in md and "main (wildcard, IPv4)" in md  # process names are not user names


def _pairs(a, b):
    """(original, redacted) string pairs of two JSON documents of the same shape."""
    if isinstance(a, str):
        yield a, b
    elif isinstance(a, dict):
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            yield ka, kb
            yield from _pairs(va, vb)
    elif isinstance(a, list):
        for va, vb in zip(a, b):
            yield from _pairs(va, vb)


@pytest.mark.parametrize("demo", DEMOS)
def test_redaction_is_consistent(capsys, demo):
    plain = json.loads(report(capsys, "--demo", demo, "--format", "json"))
    red = json.loads(report(capsys, "--demo", demo, "--format", "json", "--redact"))
    seen: dict[str, set[str]] = {}
    for orig, new in _pairs(plain, red):
        try:
            addr = ipaddress.ip_address(orig)
        except ValueError:
            continue
        if not is_well_known(addr):
            seen.setdefault(str(addr), set()).add(new)
    assert seen, demo
    assert all(len(v) == 1 for v in seen.values()), seen  # same value -> same placeholder
    placeholders = [next(iter(v)) for v in seen.values()]
    assert len(set(placeholders)) == len(placeholders)  # different values -> different placeholders
    # ... and the same placeholders in every format of one snapshot
    md = report(capsys, "--demo", demo, "--format", "md", "--redact")
    text = report(capsys, "--demo", demo, "--format", "text", "--redact")
    primary = plain["facts"]["network"]["primary_address"]
    if primary:
        mapped = next(iter(seen[primary]))
        assert f"WSL address:** {mapped}" in md and f"WSL address:      {mapped}" in text


def _named_case(tmp_path: Path) -> Path:
    """The blocked demo as Jane's machine: host name, user name, Windows paths and a program rule."""
    d = tmp_path / "case"
    shutil.copytree(Path(demos.__file__).parent / BLOCKED, d)
    (d / "snapshot.json").write_text(
        json.dumps({"wsltui": "0.1.0", "taken": "2025-01-02T03:04:05+00:00", "host": "JANE-LAPTOP", "root": True})
    )
    (d / "wsl.conf.txt").write_text(
        "[boot]\nsystemd=true\n[network]\nhostname=janes-devbox\n[user]\ndefault=jane.doe\n"
    )
    ps = json.loads((d / "win.powershell.txt").read_text())
    ps["userProfile"] = "C:\\Users\\jane.doe"
    ps["rules"].append(
        {
            "id": "{c0ffee}",
            "name": "Block test server",
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
            "raddr": "10.20.30.40-10.20.30.50",
            "program": "C:\\Users\\jane.doe\\src\\acme-secret\\server.exe",
            "package": "",
            "service": "Any",
            "ifAlias": "Any",
            "ifType": "Any",
        }
    )
    (d / "win.powershell.txt").write_text(json.dumps(ps))
    (d / "wsl.wslconfig.meta.json").write_text(
        json.dumps(
            {
                "argv": ["cat", "/mnt/c/Users/jane.doe/.wslconfig"],
                "exit_code": 1,
                "stderr": "cat: /mnt/c/Users/jane.doe/.wslconfig: No such file",
            }
        )
    )
    return d


def test_redaction_of_names_and_windows_paths(capsys, tmp_path):
    d = _named_case(tmp_path)
    plain = report(capsys, "--from", str(d), "--format", "json")
    for value in ("JANE-LAPTOP", "jane.doe", "acme-secret", "10.20.30.40"):
        assert value in plain  # the case really carries them
    secret = _sensitive(demos.load(BLOCKED))
    secret["users"] |= {"jane.doe", "jane"}
    secret["hosts"] |= {"JANE-LAPTOP", "janes-devbox"}
    secret["addresses"] |= {ipaddress.ip_address("10.20.30.40"), ipaddress.ip_address("10.20.30.50")}
    for fmt in FORMATS:
        out = report(capsys, "--from", str(d), "--format", fmt, "--redact")
        _assert_clean(out, secret, fmt)
        assert "acme" not in out.lower(), fmt  # a user's folder names are not kept
    md = report(capsys, "--from", str(d), "--format", "md", "--redact")
    assert "cat /mnt/c/Users/user-1/.wslconfig" in md.replace("`", "") or "Users/user-" in md
    assert "on host-1" in md  # the host name, by its placeholder


def test_redactor_unit():
    r = Redactor(users=("jane.doe",), hosts=("box.corp.example",))
    a = r.text("from 172.28.165.23:8080 to [fe80::215:5dff:fea3:7c19%eth0]:22 via 00:15:5D:A3:7C:19 on box")
    b = r.text("172.28.165.23 again, MAC 00-15-5D-A3-7C-19, host box.corp.example")
    assert "172.28" not in a + b and "7c19" not in (a + b).lower() and "box" not in a + b
    assert a.startswith("from 192.0.2.1:8080 to [fe80::db8:1%eth0]:22 via 00:00:5e:00:53:01 on host-1")
    assert b == "192.0.2.1 again, MAC 00-00-5E-00-53-01, host host-1"
    kept = (
        "127.0.0.1 ::1 0.0.0.0 :: 255.255.240.0 ff02::1 10.255.255.254 fe80::/64 version: 2.3.26.0 5.15.167.4-microsoft"
    )
    assert r.text(kept) == kept
    assert (
        r.text("C:\\Users\\jane.doe\\go\\bin\\srv.exe and %SystemRoot%\\system32\\svchost.exe")
        == "C:\\Users\\user-1\\go\\bin\\file-1.exe and %SystemRoot%\\system32\\svchost.exe"
    )
    assert r.text("ff02::1:ffa3:7c19").startswith("2001:db8::")  # solicited-node: derived from an address
    assert r.text("10.0.0.1-10.0.0.9") == "192.0.2.2-192.0.2.3"  # a Windows address range is not a version
