"""The snapshot contract and the architecture rules that hold the project together."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from wsltui.records import ALL_PROBES, command_for

ROOT = Path(__file__).resolve().parents[2]

# docs/design.md §2: these names and commands are fixed forever.
FIXED = {
    "kernel.osrelease": "cat /proc/sys/kernel/osrelease",
    "wsl.networking-mode": "wslinfo --networking-mode",
    "wsl.version": "wslinfo --version",
    "wsl.conf": "cat /etc/wsl.conf",
    "net.addr": "ip -j addr show",
    "net.route": "ip -j route show table all",
    "net.sockets": "ss -H -l -n -t -u -p -e",
    "nf.iptables-nft": "iptables-nft-save",
    "nf.ip6tables-nft": "ip6tables-nft-save",
    "nf.iptables-legacy": "iptables-legacy-save",
    "nf.ip6tables-legacy": "ip6tables-legacy-save",
    "nf.nft": "nft -j list ruleset",
    "firewalld.state": "firewall-cmd --state",
    "firewalld.zones": "firewall-cmd --list-all-zones",
    "firewalld.active": "firewall-cmd --get-active-zones",
    "firewalld.default-zone": "firewall-cmd --get-default-zone",
    "ufw.status": "ufw status verbose",
}


def _readme_table() -> dict[str, tuple[str, bool, bool]]:
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        m = re.fullmatch(r"\| `([a-z0-9.-]+)` \| `(.+)` \| (yes|no) \| (yes|no) \|", line.strip())
        if m:
            rows[m[1]] = (m[2], m[3] == "yes", m[4] == "yes")
    return rows


def test_readme_record_table_matches_the_code():
    code = {p.name: (command_for(p.name), p.needs_root, p.needs_interop) for p in ALL_PROBES}
    assert _readme_table() == code


def test_readme_names_the_live_records_as_the_code_writes_them():
    from wsltui.facts.live import record_name

    pattern = record_name("<proto>", "<port>", "<scenario>")  # type: ignore[arg-type]
    assert any(line.startswith(f"| `{pattern}` |") for line in (ROOT / "README.md").read_text().splitlines())


def test_fixed_record_names_and_commands_are_kept():
    for name, command in FIXED.items():
        assert command_for(name) == command, name


def test_core_never_imports_textual():
    code = (
        "import sys\n"
        "import wsltui.cli, wsltui.snapshot, wsltui.facts, wsltui.probes.capture, wsltui.demos\n"
        "import wsltui.simulation.simulate, wsltui.actions, wsltui.cli_actions\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


def test_only_the_runner_starts_processes():
    allowed = {ROOT / "wsltui/probes/runner.py"}
    pattern = re.compile(
        r"\b(subprocess|os\.system|os\.popen|os\.exec|os\.spawn|pty\.spawn)\b|^import sh\b|^from sh\b", re.M
    )
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "wsltui").rglob("*.py")
        if p not in allowed and pattern.search(p.read_text())
    ]
    assert offenders == []
