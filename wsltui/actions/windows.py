"""Windows firewall and Hyper-V firewall rule actions, run through an elevated PowerShell.

A Linux process cannot start an elevated Windows program directly; it asks Windows to, and
Windows shows a UAC prompt (docs/windows-firewall.md §5). Each step is::

    powershell.exe -NoProfile -NonInteractive -EncodedCommand <outer>
      outer: Start-Process powershell.exe -Verb RunAs -Wait -ArgumentList '... -EncodedCommand <inner>'
             (a declined prompt makes Start-Process throw: exit 1223 = ERROR_CANCELLED)
      inner: checks the rule's state, changes it, and writes {"ok", "before", "after", "error"}
             as JSON to a file in the user's %TEMP% (an absolute path: with over-the-shoulder UAC
             the elevated process is another user with another %TEMP%)

The elevated child's stdout cannot be captured (ShellExecute), so wsltui reads the result file
back through the Windows drive (/mnt/c/..., via ``wslpath -u``). The outer script's first line
names both paths, so a journalled step (``wsltui undo`` in another process) runs the same way.
Every value put into a script is validated, then single-quoted with PowerShell's own escaping.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsltui.actions.plan import ActionError, Plan, PlannedFix
from wsltui.actions.plan import plan_for_trace as _plan_for_trace
from wsltui.probes import interop
from wsltui.probes.runner import Job, Runner, run
from wsltui.quoting import UnsafeValue, ps_quote
from wsltui.simulation.trace import Fix, Trace, WinAction
from wsltui.simulation.win_commands import PROFILES, display_name, get_command, ps_commands, rule_name
from wsltui.snapshot import Record

if TYPE_CHECKING:
    from wsltui.facts.windows import FwRule, WindowsFacts

WSL_VM_CREATOR = "{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}"
POWERSHELL = ("powershell.exe", "-NoProfile", "-NonInteractive", "-EncodedCommand")
ELEVATION_TIMEOUT = 180.0  # a person has to answer the UAC prompt
PROBE_TIMEOUT = 10.0
EXIT_CANCELLED = 1223  # ERROR_CANCELLED: the UAC prompt was declined or closed
# A Linux exit status has 8 bits, so through interop 1223 arrives as 1223 & 0xFF = 199.
CANCELLED_CODES = (EXIT_CANCELLED, EXIT_CANCELLED & 0xFF)
EXIT_UNKNOWN = 259  # the elevated child's exit code could not be read
DECLINED = "the UAC prompt was declined or closed: nothing was changed on Windows"
_MARKER = re.compile(r"^# wsltui-elevated result=(?P<win>[^\r\n]*) wsl=(?P<wsl>[^\r\n]*)$", re.M)


class WindowsUnavailable(ActionError):
    """No way to run a Windows program from here (no interop, no %TEMP%)."""


# --- PowerShell text ------------------------------------------------------------------------------


def encode(script: str) -> str:
    """What ``-EncodedCommand`` takes: base64 of the UTF-16LE script."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def decode(b64: str) -> str:
    return base64.b64decode(b64).decode("utf-16-le")


def quote(value: str) -> str:
    """A PowerShell single-quoted literal (``wsltui.quoting.ps_quote``); control characters are an
    ActionError (a newline would end the statement)."""
    try:
        return ps_quote(value)
    except UnsafeValue as e:
        raise ActionError(str(e)) from None


def port_number(port: object) -> int:
    """``port`` (whatever a person, a flag or a journal gave) as a port number; ActionError if it is not one."""
    try:
        p = int(str(port))  # the same outcome as int(port) for every value the check below accepts
    except (TypeError, ValueError):
        p = 0
    if isinstance(port, bool) or not 1 <= p <= 65535 or str(port).strip() != str(p):
        raise ActionError(f"not a port: {port!r}")
    return p


def protocol(proto: str) -> str:
    if str(proto).lower() not in ("tcp", "udp"):
        raise ActionError(f"protocol must be tcp or udp, not {proto!r}")
    return proto.upper()


def _inner(body: str, result_win: str) -> str:
    return "\n".join(
        [
            "$ErrorActionPreference = 'Stop'",
            "$result = [ordered]@{ ok = $false }",
            "try {",
            *(f"  {l}" for l in body.splitlines()),
            "  $result.ok = $true",
            "} catch {",
            "  $result.error = [string]$_.Exception.Message",
            "  $result.code = $_.Exception.HResult",
            "}",
            "$json = ConvertTo-Json -InputObject $result -Depth 4 -Compress",
            f"[IO.File]::WriteAllText({quote(result_win)}, $json, (New-Object Text.UTF8Encoding $false))",
        ]
    )


def _outer(inner: str, result_win: str, result_wsl: str) -> str:
    args = f"-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {encode(inner)}"
    return "\n".join(
        [
            f"# wsltui-elevated result={result_win} wsl={result_wsl}",
            "$ErrorActionPreference = 'Stop'",
            "try {",
            f"  $p = Start-Process -FilePath powershell.exe -Verb RunAs -Wait -PassThru -WindowStyle Hidden -ArgumentList {quote(args)}",
            "} catch {",
            f"  exit {EXIT_CANCELLED}",
            "}",
            f"if ($null -eq $p.ExitCode) {{ exit {EXIT_UNKNOWN} }}",
            "exit $p.ExitCode",
        ]
    )


def elevated_argv(body: str, temp: tuple[str, str]) -> list[str]:
    """argv that runs ``body`` elevated and leaves its result in a new file in ``temp``
    ((Windows path, the same directory as seen from WSL))."""
    win_dir, wsl_dir = temp
    name = f"wsltui-{secrets.token_hex(6)}.json"
    result_win = win_dir.rstrip("\\") + "\\" + name
    result_wsl = str(Path(wsl_dir) / name)
    for p in (result_win, result_wsl):
        quote(p)  # no control characters in either path
    return [*POWERSHELL, encode(_outer(_inner(body, result_win), result_win, result_wsl))]


def elevated_paths(argv: Sequence[str]) -> tuple[str, str] | None:
    """(Windows path, WSL path) of the result file of an elevated step; None for any other argv."""
    argv = list(argv)
    if len(argv) != len(POWERSHELL) + 1 or tuple(argv[: len(POWERSHELL)]) != POWERSHELL:
        return None
    try:
        m = _MARKER.search(decode(argv[-1]))
    except (ValueError, UnicodeDecodeError):
        return None
    return (m.group("win"), m.group("wsl")) if m else None


# --- running -----------------------------------------------------------------------------------


def run_elevated(job: Job, runner: Runner = run) -> Record:
    """Run an elevated step and turn what came back into a Record: ``error`` says why it failed
    (DECLINED for a declined UAC prompt); ``stdout`` holds the result JSON (the rule's state
    before and after)."""
    paths = elevated_paths(job.argv)
    if paths is None:
        raise ValueError(f"not an elevated step: {job.name}")
    win, wsl = paths
    result = Path(wsl)
    links = interop.detect()
    result.unlink(missing_ok=True)
    rec = runner(
        dataclasses.replace(
            job,
            timeout=ELEVATION_TIMEOUT,
            as_root=False,
            cwd=job.cwd or links.cwd,
            search_path=job.search_path or interop.SYSTEM32_DIRS,
        )
    )
    data, problem = _read_result(result)
    result.unlink(missing_ok=True)

    def out(error: str | None, code: int | None = rec.exit_code) -> Record:
        return Record(
            job.name, job.argv, json.dumps(data) if data is not None else "", code, rec.stderr, rec.seconds, error
        )

    if rec.error:
        timed_out = "timed out" in rec.error
        return out(
            f"{rec.error}: no answer to the UAC prompt, or the elevated PowerShell hung" if timed_out else rec.error
        )
    if rec.exit_code in CANCELLED_CODES and data is None:
        return out(DECLINED)
    if data is None:
        return out(problem or f"the elevated PowerShell wrote no result to {win} (exit code {rec.exit_code})")
    if not data.get("ok"):
        why = str(data.get("error") or "failed without saying why").strip()
        return out(f"Windows refused: {why}", rec.exit_code or 1)
    return out(None, 0)


def _read_result(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        return None, None
    except OSError as e:
        return None, f"cannot read the result file {path}: {e}"
    try:
        data = json.loads(text)
    except ValueError:
        return None, f"the result file {path} is not JSON: {text[:200]!r}"
    return (data, None) if isinstance(data, dict) else (None, f"the result file {path} is not a JSON object")


_temp_cache: dict[str, tuple[str, str]] = {}


def windows_temp(runner: Runner = run) -> tuple[str, str]:
    """The user's %TEMP% as (Windows path, path from WSL). Raises WindowsUnavailable."""
    if "temp" not in _temp_cache:
        _temp_cache["temp"] = windows_dir("TEMP", runner)
    return _temp_cache["temp"]


def windows_dir(variable: str, runner: Runner = run) -> tuple[str, str]:
    """The directory in the Windows environment variable ``variable`` (TEMP, LOCALAPPDATA) as
    (Windows path, path from WSL), asked from cmd.exe through interop. Raises WindowsUnavailable."""
    links = interop.detect()
    if not links.available:
        raise WindowsUnavailable(links.reason)
    name = variable.lower()
    echo = ("cmd.exe", "/d", "/c", f"echo %{variable}%")
    rec = runner(Job(f"windows.{name}", echo, PROBE_TIMEOUT, cwd=links.cwd, search_path=interop.SYSTEM32_DIRS))
    win = rec.stdout.strip().splitlines()[-1].strip() if rec.ok and rec.stdout.strip() else ""
    if not win or "%" in win or not re.match(r"^[A-Za-z]:\\", win):
        raise WindowsUnavailable(
            f"cannot tell the Windows %{variable}% directory ({rec.error or rec.stderr.strip() or win!r})"
        )
    conv = runner(Job(f"windows.{name}.wslpath", ("wslpath", "-u", win), timeout=PROBE_TIMEOUT))
    wsl = conv.stdout.strip() if conv.ok else ""
    if not wsl:
        wsl = interop.windows_to_wsl_path(win) or ""
    if not wsl or not Path(wsl).is_dir():
        raise WindowsUnavailable(
            f"the Windows %{variable}% directory {win} is not reachable from WSL ({wsl or 'no path'})"
        )
    return win, wsl


def copy_to_clipboard(text: str, runner: Runner = run) -> Record:
    """Put ``text`` on the Windows clipboard (``clip.exe``), for a person to paste into an
    elevated PowerShell. UTF-16LE with a BOM, so clip.exe keeps non-ASCII rule names."""
    links = interop.detect()
    if not links.available:
        return Record("windows.clip", ("clip.exe",), "", None, error=links.reason)
    data = b"\xff\xfe" + text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-16-le")
    return runner(
        Job("windows.clip", ("clip.exe",), PROBE_TIMEOUT, cwd=links.cwd, stdin=data, search_path=interop.SYSTEM32_DIRS)
    )


def clipboard_text(plan: Plan, undo: bool = False) -> str:
    """What a person pastes into an elevated PowerShell to apply (or undo) a Windows plan."""
    scripts = [
        f.undo_script if undo else f.script for f in (reversed(plan.fixes) if undo else plan.fixes) if f.elevated
    ]
    return "\n".join(scripts) + "\n"


# --- plans -------------------------------------------------------------------------------------


def _state_body(get: str, change: str, want: int) -> str:
    """Read the rule's Enabled (1 True, 2 False), refuse when it is already ``want`` (its undo
    would then change a rule this action never touched), change it, read it again."""
    word = "enabled" if want == 1 else "disabled"
    return "\n".join(
        [
            f"$r = {get}",
            "$result.before = [int]$r.Enabled",
            f"if ([int]$r.Enabled -eq {want}) {{ throw 'the rule is already {word}' }}",
            change,
            f"$result.after = [int]({get}).Enabled",
        ]
    )


def _plan(
    kind: str,
    title: str,
    front_end: str,
    command: str,
    undo_command: str,
    body: str,
    undo_body: str,
    note: str,
    temp: tuple[str, str],
    ref: dict[str, Any],
) -> Plan:
    fix = PlannedFix(
        title,
        front_end,
        [elevated_argv(body, temp)],
        [elevated_argv(undo_body, temp)],
        persistent=True,
        needs_root=False,
        note=note,
        elevated=True,
        script=command,
        undo_script=undo_command,
    )
    return Plan(0, "", {"name": "windows"}, [fix], kind=kind, title=title, ref=ref)


def _commands(action: WinAction) -> tuple[str, str, str]:
    """(command, undo, the command that reads the rule) of ``action``, from the same builders as
    the fixes the simulator shows; a value that cannot be quoted is an ActionError."""
    try:
        command, undo = ps_commands(action)
        return command, undo or "", get_command(action)
    except UnsafeValue as e:
        raise ActionError(str(e)) from None


def rule_action(rule: FwRule, enable: bool) -> tuple[WinAction, str]:
    """(the action, its title) that enables or disables a Windows Defender Firewall rule, or a
    Hyper-V firewall rule (``rule.source == "hyperv"``): a ``FwRule`` from wsltui.facts.windows.
    Raises ActionError for a rule wsltui cannot change."""
    if rule.source == "gpo" or "group policy" in (rule.store or "").lower():
        raise ActionError(
            f"'{rule.label}' comes from Group Policy: it cannot be changed on this computer "
            "(ask the administrator; a local change is overwritten at the next policy refresh)"
        )
    if not rule.id:
        raise ActionError("the rule has no Name (InstanceID), so it cannot be addressed exactly")
    action = WinAction("enable-rule" if enable else "disable-rule", rule_id=rule.id, hyperv=rule.source == "hyperv")
    return action, _toggle_title(action, rule.label)


def rule_plan(rule: FwRule, enable: bool, *, runner: Runner = run) -> Plan:
    """Enable or disable a Windows Defender Firewall rule or a Hyper-V firewall rule (see rule_action)."""
    action, _ = rule_action(rule, enable)
    return _toggle_plan(action, rule.label, runner)


def _toggle_title(action: WinAction, label: str) -> str:
    verb = "Enable" if action.kind == "enable-rule" else "Disable"
    return f"{verb} the {'Hyper-V firewall' if action.hyperv else 'Windows Defender Firewall'} rule '{label}'"


def _toggle_plan(action: WinAction, label: str, runner: Runner = run) -> Plan:
    command, undo_command, get = _commands(action)
    enable = action.kind == "enable-rule"
    verb = "Enable" if enable else "Disable"
    want = 1 if enable else 2
    front_end = "hyperv-firewall" if action.hyperv else "windows-firewall"
    return _plan(
        verb.lower(),
        _toggle_title(action, label),
        front_end,
        command,
        undo_command,
        _state_body(get, command, want),
        _state_body(get, undo_command, 3 - want),
        f"checks the rule is not already {verb.lower()}d first; persistent (Windows keeps it)",
        windows_temp(runner),
        {"front_end": front_end, "id": action.rule_id, "name": label},
    )


def _new_rule_body(new: str, get: str, remove_name: str) -> str:
    return "\n".join(
        [
            f"if ({get} -ErrorAction SilentlyContinue) {{ throw {quote('a rule named ' + remove_name + ' already exists')} }}",
            "$result.before = 0",
            f"$null = {new}",
            f"$result.after = [int]({get}).Enabled",
        ]
    )


def _remove_rule_body(remove: str, get: str) -> str:
    return "\n".join([f"$result.before = [int]({get}).Enabled", remove, "$result.after = 0"])


def _new_rule_plan(action: WinAction, title: str, noun: str, runner: Runner = run) -> Plan:
    new, remove, get = _commands(action)
    name = rule_name(action)
    front_end = "hyperv-firewall" if action.kind == "new-hv-allow" else "windows-firewall"
    return _plan(
        "add",
        title,
        front_end,
        new,
        remove,
        _new_rule_body(new, get, name),
        _remove_rule_body(remove, get),
        f"a new {noun} named {name}; persistent",
        windows_temp(runner),
        {"front_end": front_end, "id": name, "name": display_name(action)},
    )


def allow_action(
    port: object, proto: str = "tcp", *, profile: str = "Public", interface: str | None = None, direction: str = "in"
) -> tuple[WinAction, str]:
    """(the action, its title) of a new Windows Defender Firewall allow rule for ``proto/port``
    on ``profile`` (inbound: optionally only on adapter ``interface``, e.g. ``vEthernet (WSL)``;
    outbound: to that remote port)."""
    p, pr = port_number(port), protocol(proto)
    if profile not in PROFILES:
        raise ActionError(f"profile must be one of {', '.join(PROFILES)}")
    action = WinAction("new-allow", port=p, proto=pr.lower(), direction=direction, profile=profile, interface=interface)
    where = ", ".join([f"{profile} profile", *([interface] if interface else [])])
    return (
        action,
        f"Allow {'inbound' if direction == 'in' else 'outbound'} {pr} {p} in Windows Defender Firewall ({where})",
    )


def allow_plan(
    port: object,
    proto: str = "tcp",
    *,
    profile: str = "Public",
    interface: str | None = None,
    direction: str = "in",
    runner: Runner = run,
) -> Plan:
    """The plan of :func:`allow_action`."""
    action, title = allow_action(port, proto, profile=profile, interface=interface, direction=direction)
    return _new_rule_plan(action, title, "rule", runner)


def refuse_ignored_local_rule(
    windows_facts: WindowsFacts | None, profile: str, port: object, proto: str = "tcp"
) -> None:
    """A local allow rule on a profile where Group Policy does not apply local rules would be
    listed but never enforced: refuse it (ActionError) and say who can help."""
    profiles = windows_facts.profiles if windows_facts is not None else None  # None: nothing known
    settings = profiles.get(profile) if isinstance(profiles, dict) else None
    if settings is not None and settings.allow_local_rules is False:
        raise ActionError(
            f"Group Policy does not apply local firewall rules on the {profile} profile "
            f"(AllowLocalFirewallRules=False): a rule added here would be listed but ignored. Ask your "
            f"administrator for a Group Policy rule allowing {protocol(proto)} {port_number(port)} inbound."
        )


def hyperv_allow_action(port: object, proto: str = "tcp", *, direction: str = "in") -> tuple[WinAction, str]:
    """(the action, its title) of a new Hyper-V firewall rule that lets ``proto/port`` in to the
    WSL VM (mirrored mode, or NAT where the Hyper-V firewall applies), or out of it (``direction="out"``)."""
    p, pr = port_number(port), protocol(proto)
    action = WinAction("new-hv-allow", port=p, proto=pr.lower(), direction=direction)
    return (
        action,
        f"Allow {'inbound' if direction == 'in' else 'outbound'} {pr} {p} through the Hyper-V firewall for WSL",
    )


def hyperv_allow_plan(port: object, proto: str = "tcp", *, direction: str = "in", runner: Runner = run) -> Plan:
    """The plan of :func:`hyperv_allow_action`."""
    action, title = hyperv_allow_action(port, proto, direction=direction)
    return _new_rule_plan(action, title, "Hyper-V rule", runner)


# --- a trace's Windows fixes -----------------------------------------------------------------------


def elevated_fix(fix: Fix, runner: Runner = run) -> PlannedFix | None:
    """The elevated step for a trace's Windows fix, built from the fix's structured action
    (``Fix.windows``: the data its shown command was built from, never the display text) by the
    builders above (validated, quoted, with the state check): a rule toggle or a wsltui allow
    rule; None for any other fix (it stays a person's job). Raises WindowsUnavailable when
    Windows cannot be reached from here."""
    a = fix.windows
    if a is None or fix.manual:
        return None
    if a.kind in ("disable-rule", "enable-rule"):
        plan = _toggle_plan(a, a.rule_id or "", runner)
    elif a.kind == "new-allow":
        plan = allow_plan(
            a.port, a.proto or "", profile=a.profile or "", interface=a.interface, direction=a.direction, runner=runner
        )
    elif a.kind == "new-hv-allow":
        plan = hyperv_allow_plan(a.port, a.proto or "", direction=a.direction, runner=runner)
    else:
        return None
    out = plan.fixes[0]
    out.title = fix.title or out.title
    return out


def plan_for_trace(trace: Trace, scenario: dict[str, Any] | None = None, *, elevate: bool = False) -> Plan:
    """``wsltui.actions.plan.plan_for_trace``, with the Windows fixes run elevated when
    ``elevate`` (a live system with Windows interop; never for a snapshot of another machine)."""
    return _plan_for_trace(trace, scenario, elevate=elevated_fix if elevate else None)
