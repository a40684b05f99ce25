"""The live Windows probe path end to end with stand-in executables (tests/standins/) on PATH:
reg.exe, netsh.exe, powershell.exe, cmd.exe and wslinfo emit real fixture bytes (CRLF, the OEM
code page the PowerShell batch reports, UTF-8 JSON) or hang, fail, print garbage, deny access.
Each failure must come out as an ``unknown`` with its reason, within the timeout."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import pytest

from wsltui.facts import build_facts
from wsltui.facts import windows as w
from wsltui.probes import capture as cap
from wsltui.probes.powershell import argv_for
from wsltui.records import BY_NAME, WINDOWS_PROBES

STANDINS = Path(__file__).resolve().parents[1] / "standins"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "windows"
GPO_KEY = "SOFTWARE_Policies_Microsoft_WindowsFirewall"
TIMEOUT = 1.5  # for the failure cases: a hanging stand-in must not slow the suite
OK_TIMEOUT = 30.0  # for the cases that must succeed: a loaded CI machine must not turn them into timeouts


HANG = 60.0  # how long a hanging stand-in sleeps


def probes(timeout: float = TIMEOUT, short: str | None = None):
    """The Windows probes with ``timeout``; with ``short`` (a tool: REG, NETSH ...) only that
    tool's probes get the short TIMEOUT and the others OK_TIMEOUT."""
    wanted = [*WINDOWS_PROBES, BY_NAME["wsl.wslconfig"], BY_NAME["wsl.networking-mode"]]
    tool = {
        "reg.exe": "REG",
        "netsh.exe": "NETSH",
        "powershell.exe": "POWERSHELL",
        "cmd.exe": "CMD",
        "wslinfo": "WSLINFO",
    }
    return [
        dataclasses.replace(
            p, timeout=timeout if short is None else TIMEOUT if tool[p.argv[0]] == short else OK_TIMEOUT
        )
        for p in wanted
    ]


@pytest.fixture
def standins(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    # The GPO store: the real reg.exe excerpt under its key header, as reg.exe prints it.
    excerpt = (
        FIXTURES / "reg_query_HKLM_Software_Policies_Microsoft_WindowsFirewall_FirewallRules_excerpt.txt"
    ).read_text()
    (data / f"reg_{GPO_KEY}.txt").write_text(
        "\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\WindowsFirewall\\FirewallRules\n    " + excerpt + "\n"
    )
    (data / "reg_SYSTEM_CurrentControlSet_Services_PortProxy.txt").write_text(
        "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\PortProxy\\v4tov4\\tcp\n"
        "    0.0.0.0/8080    REG_SZ    172.28.165.23/8080\n\n"
    )
    (data / "reg_SYSTEM_CurrentControlSet_Services_SharedAccess_Parameters_FirewallPolicy.txt").write_text(
        "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\FirewallRules\n"
        "    {D1}    REG_SZ    v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=8080|Profile=Private|Name=开发服务器|\n\n"
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\PublicProfile\n"
        "    EnableFirewall    REG_DWORD    0x1\n    DoNotAllowExceptions    REG_DWORD    0x0\n\n"
    )
    (data / "powershell.json").write_text(
        json.dumps(
            {
                "v": 2,
                "build": "22631.4037",
                "oemCodePage": 936,
                "userProfile": "C:\\Users\\dev",
                "hvFirewallDisable": None,
                "regKeys": {"gpoFirewall": True, "portProxy": True},
                "profiles": [{"name": "Public", "enabled": 1, "inb": 4, "outb": 2, "allowInboundRules": 1}],
                "rules": [
                    {
                        "id": "{D1}",
                        "name": "开发服务器",
                        "enabled": 1,
                        "dir": 1,
                        "action": 2,
                        "profile": 2,
                        "proto": "TCP",
                        "lport": "8080",
                    }
                ],
                "conn": {"alias": "以太网", "ifIndex": 7, "category": 1},
                "hyperv": {"available": False},
                "listeners": [],
                "iphlpsvc": {"status": 4, "startType": 2},
                "errors": {"hyperv": "Get-NetFirewallHyperVVMSetting is not available"},
            },
            ensure_ascii=False,
        )
    )
    log = tmp_path / "launches.log"
    monkeypatch.setenv("PATH", f"{STANDINS}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("WSLTUI_INTEROP", "force")
    monkeypatch.delenv("WSLTUI_OEM_CODEPAGE", raising=False)  # the code page comes from the batch
    monkeypatch.setenv("STANDIN_DATA", str(data))
    monkeypatch.setenv("STANDIN_LOG", str(log))
    monkeypatch.setattr(cap.interop, "SYSTEM32_DIRS", ())
    return log


def test_powershell_is_sent_encoded_and_the_script_is_package_data():
    argv = argv_for(BY_NAME["win.powershell"])
    assert argv[:4] == ("powershell.exe", "-NoProfile", "-NonInteractive", "-EncodedCommand")
    import base64

    script = base64.b64decode(argv[4]).decode("utf-16-le")
    assert "{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}" in script
    # the console code page is read before the batch switches its own output to UTF-8
    assert script.index("$oem = [Console]::OutputEncoding.CodePage") < script.index("[Console]::OutputEncoding = ")
    for cmdlet in (
        "Get-NetFirewallPortFilter",
        "Get-NetFirewallAddressFilter",
        "Get-NetFirewallApplicationFilter",
        "Get-NetFirewallInterfaceFilter",
        "Get-NetAdapter",
    ):
        assert script.count(cmdlet) == 1  # once for the whole store, never per rule
    assert len(argv[4]) < 32000  # the Windows command-line limit


def test_live_path_with_real_bytes(standins):
    snap = cap.capture(probes(OK_TIMEOUT))
    # the zh-CN fixture, written in code page 936, decoded with the code page PowerShell reported
    assert snap.meta["oem_codepage"] == "cp936"
    assert snap.records["win.excluded-tcp4"].ok and "协议 tcp 端口排除范围" in snap.records["win.excluded-tcp4"].stdout
    assert "\r" not in snap.records["win.fw-policy-gpo"].stdout
    assert snap.records["wsl.networking-mode"].stdout == "nat\n"
    # .wslconfig found through PowerShell's userProfile: no cmd.exe launch
    assert snap.records["wsl.wslconfig"].argv == ("cat", "/mnt/c/Users/dev/.wslconfig")
    launches = standins.read_text().splitlines()
    windows = [l for l in launches if l.split()[0] in ("reg", "netsh", "powershell", "cmd")]
    assert len(windows) == 6 and not any(l.startswith("cmd") for l in windows)
    facts = build_facts(snap)
    win = facts.windows
    assert facts.failures == {} and win.captured
    assert len(win.gpo_policy.rules) == 21 and win.local_policy.rules[0].name == "开发服务器"
    assert len(win.excluded4.ranges) == 18 and win.portproxy.entries[0].connect_address == "172.28.165.23"
    assert win.rules_source == "ActiveStore (PowerShell)" and win.connections[0].alias == "以太网"
    assert win.hyperv.available is False and win.hyperv_disable is None  # the batch v2 shape


def use_spanish_windows(standins_data: Path, monkeypatch) -> None:
    """es-ES Windows: the console writes code page 850; the netsh table is the real es-ES one."""
    monkeypatch.setenv("STANDIN_OEMCP", "850")
    es = (FIXTURES / "netsh_int_ipv4_show_excludedportrange_tcp_es_partial.txt").read_text(encoding="utf-8")
    (standins_data / "netsh_excluded_ipv4.txt").write_text(es, encoding="utf-8")
    (standins_data / "reg_SYSTEM_CurrentControlSet_Services_SharedAccess_Parameters_FirewallPolicy.txt").write_text(
        "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\FirewallRules\n"
        "    {D1}    REG_SZ    v2.31|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=8080|Name=Conexión del servidor|\n\n",
        encoding="utf-8",
    )
    doc = json.loads((standins_data / "powershell.json").read_text(encoding="utf-8"))
    (standins_data / "powershell.json").write_text(json.dumps({**doc, "oemCodePage": 850}), encoding="utf-8")


def test_spanish_windows_code_page_850(standins, monkeypatch):
    data = Path(os.environ["STANDIN_DATA"])
    use_spanish_windows(data, monkeypatch)
    snap = cap.capture(probes(OK_TIMEOUT))
    assert snap.meta["oem_codepage"] == "cp850"
    win = build_facts(snap).windows
    assert win.local_policy.rules[0].name == "Conexión del servidor"  # "ó" is 0xA2 in cp850, not UTF-8
    assert len(win.excluded4.ranges) == 24 and "Puerto de inicio" in snap.records["win.excluded-tcp4"].stdout
    assert win.excluded4.containing(50000) is not None
    # the same bytes read as the zh-CN code page do not give the name back: the code page decides
    monkeypatch.setenv("WSLTUI_OEM_CODEPAGE", "936")  # an explicit override beats what PowerShell says
    snap = cap.capture(probes(OK_TIMEOUT))
    assert snap.meta["oem_codepage"] == "cp936"
    assert build_facts(snap).windows.local_policy.rules[0].name != "Conexión del servidor"


def test_without_a_code_page_the_structure_still_parses(standins, monkeypatch):
    monkeypatch.setenv("STANDIN_POWERSHELL", "fail")  # nobody tells the code page
    snap = cap.capture(probes(OK_TIMEOUT))
    assert snap.meta["oem_codepage"] == "unknown"
    win = build_facts(snap).windows
    assert len(win.excluded4.ranges) == 18 and "\ufffd" in snap.records["win.excluded-tcp4"].stdout
    assert win.local_policy.rules[0].local_ports == ["8080"]
    assert not any("\udc80" <= ch <= "\udcff" for r in snap.records.values() for ch in r.stdout + r.stderr)


@pytest.mark.parametrize(
    "tool,mode,record,reason",
    [
        ("REG", "hang", "win.fw-policy", f"timed out after {TIMEOUT:g} s"),
        ("NETSH", "hang", "win.excluded-tcp4", f"timed out after {TIMEOUT:g} s"),
        ("POWERSHELL", "hang", "win.powershell", f"timed out after {TIMEOUT:g} s"),
        ("REG", "fail", "win.fw-policy", "exit code 87: ERROR: Invalid syntax."),
        ("NETSH", "fail", "win.excluded-tcp6", "exit code 87: ERROR: Invalid syntax."),
        ("POWERSHELL", "fail", "win.powershell", "exit code 87: ERROR: Invalid syntax."),
        ("REG", "denied", "win.fw-policy", "(probably access denied): ERROR: Access is denied."),
        ("POWERSHELL", "denied", "win.powershell", "exit code 1: ERROR: Access is denied."),
        ("NETSH", "garbage", "win.excluded-tcp4", "netsh printed no port table"),
        ("POWERSHELL", "garbage", "win.powershell", "not JSON"),
    ],
)
def test_each_failure_is_unknown_with_its_reason_within_the_timeout(standins, monkeypatch, tool, mode, record, reason):
    monkeypatch.setenv(f"STANDIN_{tool}", mode)
    start = time.monotonic()
    snap = cap.capture(probes(OK_TIMEOUT, short=tool if mode == "hang" else None))  # only a hang waits for a timeout
    assert time.monotonic() - start < HANG / 2  # a hanging tool is given up on, never waited for
    win = build_facts(snap).windows
    part = {
        "win.fw-policy": win.local_policy,
        "win.excluded-tcp4": win.excluded4,
        "win.excluded-tcp6": win.excluded6,
        "win.powershell": win.powershell,
    }[record]
    assert isinstance(part, w.Unknown) and reason in part.reason, part
    assert len(part.command) < 300  # readable: never the base64 script
    if record == "win.powershell":
        assert isinstance(win.hyperv, w.Unknown) and isinstance(win.listeners, w.Unknown)
        # .wslconfig falls back to cmd.exe when PowerShell could not say where the profile is
        assert snap.records["wsl.wslconfig"].argv == ("cat", "/mnt/c/Users/dev/.wslconfig")


def test_without_interop_every_windows_record_says_why_and_nothing_waits(monkeypatch):
    monkeypatch.delenv("WSLTUI_INTEROP", raising=False)
    monkeypatch.setattr(cap.interop, "BINFMT_ENTRIES", ("/nonexistent/WSLInterop",))
    start = time.monotonic()
    snap = cap.capture([*WINDOWS_PROBES, BY_NAME["wsl.wslconfig"]])
    assert time.monotonic() - start < 0.5
    for p in WINDOWS_PROBES:
        assert "no Windows interop" in snap.records[p.name].error
    win = build_facts(snap).windows
    assert isinstance(win.rules, w.Unknown) and "no Windows interop" in win.rules.reason
