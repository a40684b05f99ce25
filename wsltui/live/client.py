"""The client side of a live test: one connect from where the scenario's client really is.

- Windows: ONE ``powershell.exe -NoProfile -NonInteractive -EncodedCommand`` (through interop)
  whose script connects with .NET (``TcpClient.ConnectAsync`` + ``Wait(timeout)``, or
  ``UdpClient``), waits briefly for data or a close, and prints one JSON object. The values it
  needs are put in with ``ps_quote`` (the address) and as validated integers, never built from
  raw input. The Winsock error (``SocketException.ErrorCode``) is mapped to an outcome here.
- Linux: ``python -m wsltui.live.connect`` (``connect.py``), in ``--client-netns`` when given.
"""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import json
import sys

from wsltui.facts.live import (
    CLOSED_AFTER_WAIT,
    CLOSED_AT_ONCE,
    CONNECTED,
    DATA,
    DENIED,
    ERROR,
    HOST_UNREACHABLE,
    NET_UNREACHABLE_OUTCOME,
    OPEN_SILENT,
    OUTCOME_REFUSED,
    OUTCOME_TIMEOUT,
    OUTCOMES,
    ClientOutcome,
)
from wsltui.probes import interop
from wsltui.probes.powershell import encode_powershell
from wsltui.probes.runner import Job, start
from wsltui.quoting import ps_quote
from wsltui.snapshot import Record

SCRIPT_MARK = "# wsltui live connect v1"  # the first line: says what the script is (the stand-in reads it)
SCRIPT_NAME = "<wsltui live connect script>"  # how the encoded script is shown in a record's argv
# WinError.h: the Winsock errors a connect reports.
OUTCOME_OF_WINSOCK = {
    10061: OUTCOME_REFUSED,
    10060: OUTCOME_TIMEOUT,
    10065: HOST_UNREACHABLE,
    10051: NET_UNREACHABLE_OUTCOME,
    10013: DENIED,
    10054: OUTCOME_REFUSED,
}
# errno of the Linux client's connect (connect.py)
OUTCOME_OF_ERRNO = {
    errno.ECONNREFUSED: OUTCOME_REFUSED,
    errno.ETIMEDOUT: OUTCOME_TIMEOUT,
    errno.EHOSTUNREACH: HOST_UNREACHABLE,
    errno.ENETUNREACH: NET_UNREACHABLE_OUTCOME,
    errno.EACCES: DENIED,
    errno.EPERM: DENIED,
}
AFTER_CONNECT = (DATA, CLOSED_AT_ONCE, CLOSED_AFTER_WAIT, OPEN_SILENT)
AT_ONCE_MS = 300  # as connect.py: a close this soon after the connect is "at once"
_SETUP = 4.0  # what starting powershell.exe (or Python in a namespace) may take beyond the test's own time

_WINDOWS_SCRIPT = (
    SCRIPT_MARK
    + r"""
$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = [Text.Encoding]::UTF8
$target = @TARGET@
$port = @PORT@
$proto = @PROTO@
$timeoutMs = @TIMEOUT_MS@
$settleMs = @SETTLE_MS@
$atOnceMs = @AT_ONCE_MS@
$r = [ordered]@{ outcome = 'error'; code = $null; elapsed_ms = $null; after_connect = $null; src = $null; dst = $null; detail = '' }
$sw = [Diagnostics.Stopwatch]::StartNew()
function Get-SocketError($e) {
  while ($e -ne $null -and -not ($e -is [Net.Sockets.SocketException])) { $e = $e.InnerException }
  return $e
}
try {
  $address = [Net.IPAddress]::Parse($target)
  $r.dst = (New-Object Net.IPEndPoint($address, $port)).ToString()
  if ($proto -eq 'tcp') {
    $c = New-Object Net.Sockets.TcpClient($address.AddressFamily)
    $task = $c.ConnectAsync($address, $port)
    if (-not $task.Wait($timeoutMs)) {
      $r.outcome = 'timeout'
    } else {
      $r.outcome = 'connected'
      $r.elapsed_ms = [int]$sw.ElapsedMilliseconds
      $r.src = $c.Client.LocalEndPoint.ToString()
      $stream = $c.GetStream()
      $stream.ReadTimeout = $settleMs
      $opened = [Diagnostics.Stopwatch]::StartNew()
      $probe = [Text.Encoding]::ASCII.GetBytes("wsltui-live`n")
      try {
        $stream.Write($probe, 0, $probe.Length)
        $buf = New-Object byte[] 1024
        $n = $stream.Read($buf, 0, $buf.Length)
        if ($n -gt 0) { $r.after_connect = 'data' }
        elseif ($opened.ElapsedMilliseconds -lt $atOnceMs) { $r.after_connect = 'closed-at-once' }
        else { $r.after_connect = 'closed-after-wait' }
      } catch {
        $se = Get-SocketError $_.Exception
        if ($se -ne $null -and $se.ErrorCode -eq 10060) { $r.after_connect = 'open' } else { $r.after_connect = 'closed-at-once' }
      }
    }
    $c.Close()
  } else {
    $u = New-Object Net.Sockets.UdpClient($address.AddressFamily)
    $u.Client.ReceiveTimeout = $timeoutMs
    $u.Connect($address, $port)
    $probe = [Text.Encoding]::ASCII.GetBytes("wsltui-live`n")
    [void]$u.Send($probe, $probe.Length)
    $from = New-Object Net.IPEndPoint($address, 0)
    [void]$u.Receive([ref]$from)
    $r.outcome = 'connected'
    $r.after_connect = 'data'
    $u.Close()
  }
} catch {
  $se = Get-SocketError $_.Exception
  if ($se -ne $null) { $r.outcome = 'failed'; $r.code = $se.ErrorCode; $r.detail = $se.Message }
  else { $r.detail = $_.Exception.Message }
}
if ($r.elapsed_ms -eq $null) { $r.elapsed_ms = [int]$sw.ElapsedMilliseconds }
$r | ConvertTo-Json -Compress
"""
)


def windows_script(target: str, port: int, proto: str, timeout: float, settle: float) -> str:
    address = ipaddress.ip_address(target)  # only an address reaches the script
    if proto not in ("tcp", "udp") or not 0 < int(port) < 65536:
        raise ValueError("bad port or protocol")
    values = {
        "@TARGET@": ps_quote(str(address)),
        "@PORT@": str(int(port)),
        "@PROTO@": ps_quote(proto),
        "@TIMEOUT_MS@": str(int(timeout * 1000)),
        "@SETTLE_MS@": str(int(settle * 1000)),
        "@AT_ONCE_MS@": str(AT_ONCE_MS),
    }
    script = _WINDOWS_SCRIPT
    for key, value in values.items():
        script = script.replace(key, value)
    return script


def from_windows(
    target: str, port: int, proto: str, timeout: float, settle: float, limit: float | None = None
) -> tuple[ClientOutcome, Record]:
    """``limit``: the most the process may take in all (it is killed then: the test's budget)."""
    links = interop.detect()
    shown = ("powershell.exe", "-NoProfile", "-NonInteractive", "-EncodedCommand", SCRIPT_NAME)
    if not links.available:
        return (
            ClientOutcome("windows", "not-sent", detail=links.reason),
            Record("live.client", shown, "", exit_code=None, error=links.reason),
        )
    encoded = encode_powershell(windows_script(target, port, proto, timeout, settle))
    record = _run(
        Job(
            "live.client",
            (*shown[:-1], encoded),
            timeout=_limit(timeout, settle, limit),
            cwd=links.cwd,
            search_path=interop.SYSTEM32_DIRS,
        )
    )
    record = dataclasses.replace(record, argv=shown)  # the script by name, not as base64
    return parse_client(record, "windows", OUTCOME_OF_WINSOCK), record


def from_linux(
    target: str,
    port: int,
    proto: str,
    timeout: float,
    settle: float,
    netns: str | None = None,
    limit: float | None = None,
) -> tuple[ClientOutcome, Record]:
    argv = [
        sys.executable,
        "-m",
        "wsltui.live.connect",
        "--host",
        str(ipaddress.ip_address(target)),
        "--port",
        str(int(port)),
        "--proto",
        proto,
        "--timeout",
        f"{timeout:g}",
        "--settle",
        f"{settle:g}",
    ]
    if netns:
        argv += ["--netns", netns]
    record = _run(Job("live.client", tuple(argv), timeout=_limit(timeout, settle, limit), as_root=bool(netns)))
    return parse_client(record, f"netns:{netns}" if netns else "wsl", OUTCOME_OF_ERRNO), record


def _run(job: Job) -> Record:
    """The client runs to its end; a ctrl+c meanwhile stops it first (``Background.wait``)."""
    bg = start(job)
    return bg if isinstance(bg, Record) else bg.wait()


def _limit(timeout: float, settle: float, limit: float | None) -> float:
    own = timeout + settle + _SETUP
    return own if limit is None else max(0.5, min(own, limit))


def parse_client(record: Record, sent_from: str, codes: dict[int, str]) -> ClientOutcome:
    """The client's JSON as a ClientOutcome; an unreadable answer is ``error`` with why."""
    if record.error:
        return ClientOutcome(sent_from, ERROR, detail=f"the client did not answer: {record.error}")
    try:
        d = json.loads(record.stdout.strip().splitlines()[-1])
        if not isinstance(d, dict):
            raise ValueError("not an object")
    except (ValueError, IndexError) as e:
        return ClientOutcome(
            sent_from,
            ERROR,
            detail=f"the client's answer is not JSON ({e}): {(record.stdout + record.stderr).strip()[:200]}",
        )
    outcome, code, detail = d.get("outcome"), _int(d.get("code")), str(d.get("detail") or "")
    if outcome == "failed":  # the error code (Winsock, or errno) says which
        outcome = codes.get(code, ERROR) if code is not None else ERROR
        if outcome == ERROR:
            detail = f"error {code}: {detail}"
    if outcome not in OUTCOMES:
        detail = f"the client answered an outcome wsltui does not know: {str(outcome)[:40]!r}"
        outcome = ERROR
    if outcome == ERROR and not detail:
        detail = "the client failed without saying why"
    after = d.get("after_connect") if outcome == CONNECTED and d.get("after_connect") in AFTER_CONNECT else None
    return ClientOutcome(
        sent_from,
        outcome,
        elapsed_ms=_int(d.get("elapsed_ms")),
        after_connect=after,
        code=code,
        detail=detail[:300],
        src=_str(d.get("src")),
        dst=_str(d.get("dst")),
    )


def _int(v) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _str(v) -> str | None:
    return str(v)[:80] if isinstance(v, str) and v else None
