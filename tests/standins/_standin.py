"""Stand-in Windows tools for the live probe path (docs/design.md §6). Each tool emits the REAL fixture
bytes the way Windows writes them (CRLF, the OEM code page 936, UTF-16 for wsl.exe) and can also
misbehave, chosen per tool by the environment:

    STANDIN_<TOOL>=ok|hang|fail|garbage|denied     (TOOL: REG, NETSH, POWERSHELL, CMD, WSLINFO)
    STANDIN_OEMCP=936                              (the console code page reg/netsh/cmd write in)
    STANDIN_DATA=DIR                               (files the tools print; see tests/probes/test_windows_probes.py)
    STANDIN_LOG=FILE                               (one line per launch: the tool and its argv)
    WSLTUI_STANDIN_CLIENT_NETNS=NAME               (powershell.exe, wsltui's live connect script: the
                                                    REAL connect is made from this network namespace)
"""

import base64
import os
import re
import sys
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "windows"
REPO = Path(__file__).resolve().parent.parent.parent


def out(text: str, encoding: str | None = None, stream=None) -> None:
    encoding = encoding or "cp" + os.environ.get("STANDIN_OEMCP", "936")
    data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode(encoding)
    (stream or sys.stdout.buffer).write(data)
    (stream or sys.stdout.buffer).flush()


def misbehave(tool: str) -> None:
    mode = os.environ.get(f"STANDIN_{tool.upper()}", "ok")
    log = os.environ.get("STANDIN_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{tool} {' '.join(sys.argv[1:])[:120]}\n")
    if mode == "hang":
        time.sleep(60)
    if mode == "fail":
        out("ERROR: Invalid syntax.\n", stream=sys.stderr.buffer)
        sys.exit(87)
    if mode == "garbage":
        sys.stdout.buffer.write(bytes(range(256)) * 4)
        sys.exit(0)
    if mode == "denied":
        out("ERROR: Access is denied.\n", stream=sys.stderr.buffer)
        sys.exit(1)


def data(name: str) -> str | None:
    d = os.environ.get("STANDIN_DATA")
    p = Path(d) / name if d else None
    return p.read_text(encoding="utf-8") if p and p.is_file() else None


def reg() -> None:
    misbehave("reg")
    if len(sys.argv) < 4 or sys.argv[1].lower() != "query" or sys.argv[3].lower() != "/s":
        out("ERROR: Invalid syntax.\n", stream=sys.stderr.buffer)
        sys.exit(1)
    key = sys.argv[2]
    leaf = re.sub(r"[^A-Za-z0-9]+", "_", key.split("\\", 1)[-1]).strip("_")
    text = data(f"reg_{leaf}.txt")
    if text is None:
        out("ERROR: The system was unable to find the specified registry key or value.\n", stream=sys.stderr.buffer)
        sys.exit(1)
    out(text)


def netsh() -> None:
    misbehave("netsh")
    args = [a.lower() for a in sys.argv[1:]]
    if args[:1] == ["int"] and "excludedportrange" in args:
        fam = args[1]
        text = data(f"netsh_excluded_{fam}.txt")
        if text is None:
            text = (FIXTURES / "netsh_int_ip_show_excludedportrange_tcp_zh-CN.txt").read_text(encoding="utf-8")
        out(text)
        return
    out("The following command was not found: " + " ".join(sys.argv[1:]) + "\n")
    sys.exit(1)


def powershell() -> None:
    misbehave("powershell")
    args = sys.argv[1:]
    if args[:3] != ["-NoProfile", "-NonInteractive", "-EncodedCommand"] or len(args) != 4:
        out("bad arguments\n", stream=sys.stderr.buffer)
        sys.exit(64)
    script = base64.b64decode(args[3]).decode("utf-16-le")  # must be valid base64 of UTF-16LE
    if script.startswith("# wsltui live connect v1"):
        live_connect(script)
        return
    if "ConvertTo-Json" not in script or "[Console]::OutputEncoding" not in script:
        sys.exit(65)
    text = data("powershell.json")
    sys.stdout.buffer.write((text or "{}").encode("utf-8"))


def cmd() -> None:
    misbehave("cmd")
    if sys.argv[1:] == ["/d", "/c", "echo %USERPROFILE%"]:
        out(os.environ.get("STANDIN_USERPROFILE", r"C:\Users\dev") + "\n")
        return
    sys.exit(1)


def wslinfo() -> None:
    misbehave("wslinfo")
    if sys.argv[1:] == ["--networking-mode"]:
        print(os.environ.get("STANDIN_MODE", "nat"))
    elif sys.argv[1:] == ["--version"]:
        print("2.3.26")
    else:
        sys.exit(1)


def wsl() -> None:
    misbehave("wsl")
    out("WSL version: 2.3.26.0\nKernel version: 5.15.167.4-1\n", encoding="utf-16-le")


# errno of the real Linux connect -> the Winsock error Windows reports for it (WinError.h)
_WINSOCK = {
    "ECONNREFUSED": 10061,
    "ETIMEDOUT": 10060,
    "EHOSTUNREACH": 10065,
    "ENETUNREACH": 10051,
    "EACCES": 10013,
    "EPERM": 10013,
}


def live_connect(script: str) -> None:
    """wsltui's live connect script: read the values it was given, make the real connect from
    the client namespace, and answer in the script's JSON shape (a failure as its Winsock code)."""
    import errno
    import json

    def value(name: str) -> str:
        m = re.search(rf"^\${name} = '?([^'\r\n]*)'?$", script, re.M)
        if not m:
            sys.exit(66)
        return m[1]

    # wsltui's own connect, loaded alone: this runs on the system's Python, without wsltui's dependencies
    import importlib.util

    sys.path.insert(0, str(REPO))
    spec = importlib.util.spec_from_file_location("live_connect", REPO / "wsltui" / "live" / "connect.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    connect, enter_netns = mod.connect, mod.enter_netns

    ns = os.environ.get("WSLTUI_STANDIN_CLIENT_NETNS")
    if ns:
        enter_netns(ns)
    r = connect(
        value("target"),
        int(value("port")),
        value("proto"),
        int(value("timeoutMs")) / 1000,
        int(value("settleMs")) / 1000,
    )
    if r["outcome"] == "failed":
        name = errno.errorcode.get(r["code"], "")
        r.update(code=_WINSOCK.get(name, 10022), detail=f"stand-in: {name}")
    r["src"] = r["src"] and r["src"].replace("[", "").replace("]", "")
    sys.stdout.buffer.write(json.dumps(r).encode("utf-8") + b"\r\n")
