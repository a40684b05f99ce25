"""Windows rule actions through an elevated PowerShell, against stand-in Windows tools
(tests/standins/uac_windows.py as powershell.exe, cmd.exe, wslpath and clip.exe on PATH) that
record the exact scripts they receive and play success, a declined UAC prompt, a prompt nobody
answers, access denied, and a script that writes no result. No root needed."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from wsltui.actions import (
    ActionError,
    Plan,
    apply,
    clipboard_text,
    copy_to_clipboard,
    hyperv_allow_plan,
    undo,
    windows_allow_plan,
    windows_rule_plan,
)
from wsltui.actions import windows as win
from wsltui.cli import main
from wsltui.facts.windows import FwRule
from wsltui.probes import interop

UAC = Path(__file__).resolve().parents[1] / "standins" / "uac_windows.py"


class Windows:
    """The stand-ins' world: a C: drive in a temp dir, the rules model, the launch log."""

    def __init__(self, tmp_path: Path) -> None:
        self.c = tmp_path / "c"
        self.temp = self.c / "Users" / "tester" / "AppData" / "Local" / "Temp"
        self.temp.mkdir(parents=True)
        self.rules_file = tmp_path / "rules.json"
        self.log_file = tmp_path / "launches.jsonl"
        self.clip = tmp_path / "clipboard.bin"
        self.state = tmp_path / "state"

    def rules(self) -> dict:
        return json.loads(self.rules_file.read_text(encoding="utf-8"))

    def set_rules(self, rules: dict) -> None:
        self.rules_file.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")

    def launches(self, tool: str = "powershell.exe") -> list[dict]:
        if not self.log_file.exists():
            return []
        return [e for e in map(json.loads, self.log_file.read_text(encoding="utf-8").splitlines()) if e["tool"] == tool]


@pytest.fixture
def windows(tmp_path, monkeypatch) -> Windows:
    w = Windows(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("powershell.exe", "cmd.exe", "wslpath", "clip.exe"):
        (bin_dir / name).symlink_to(UAC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("WSLTUI_INTEROP", "force")
    monkeypatch.setattr(interop, "SYSTEM32_DIRS", ())
    monkeypatch.setattr(win, "_temp_cache", {})
    monkeypatch.setenv("STANDIN_C_ROOT", str(w.c))
    monkeypatch.setenv("STANDIN_UAC_RULES", str(w.rules_file))
    monkeypatch.setenv("STANDIN_UAC_LOG", str(w.log_file))
    monkeypatch.setenv("STANDIN_CLIP", str(w.clip))
    monkeypatch.setenv("XDG_STATE_HOME", str(w.state))
    w.set_rules({"{B10C}": {"enabled": 1}, "node's block": {"enabled": 1}, "HV-1": {"enabled": 2, "hyperv": True}})
    return w


def rule(rid: str, **kw) -> FwRule:
    return FwRule(rid, kw.pop("name", rid), kw.pop("action", "block"), kw.pop("enabled", True), "in", **kw)


def test_disable_runs_elevated_and_undo_runs_the_inverse(windows):
    plan = windows_rule_plan(rule("{B10C}", name="TCP Query User{B10C}node.exe"), enable=False)
    text = plan.describe()
    assert "Disable-NetFirewallRule -Name '{B10C}'" in text and "Enable-NetFirewallRule -Name '{B10C}'" in text
    assert "needs Windows elevation (UAC)" in text and plan.elevated and not plan.needs_root
    assert plan.backup_targets() == []  # nothing on Linux changes
    r = apply(plan)
    assert r.ok and r.result == "applied", r.message
    assert windows.rules()["{B10C}"]["enabled"] == 2
    (launch,) = windows.launches()
    # The exact scripts: an unelevated outer PowerShell that starts an elevated inner one.
    assert launch["argv"][:3] == ["-NoProfile", "-NonInteractive", "-EncodedCommand"]
    assert "Start-Process -FilePath powershell.exe -Verb RunAs -Wait" in launch["outer"]
    assert "exit 1223" in launch["outer"]
    inner = launch["inner"]
    assert "  Disable-NetFirewallRule -Name '{B10C}'" in inner.splitlines()
    assert "if ([int]$r.Enabled -eq 2) { throw 'the rule is already disabled' }" in inner
    result_win = inner.split("[IO.File]::WriteAllText('")[1].split("'")[0]
    assert result_win.startswith("C:\\Users\\tester\\AppData\\Local\\Temp\\wsltui-") and result_win.endswith(".json")
    assert list(windows.temp.iterdir()) == []  # the result file was read back and removed
    assert json.loads(r.steps[0]["stdout"]) == {"ok": True, "before": 1, "after": 2}

    u = undo()
    assert u.ok and u.result == "undone", u.message
    assert windows.rules()["{B10C}"]["enabled"] == 1
    assert "  Enable-NetFirewallRule -Name '{B10C}'" in windows.launches()[-1]["inner"].splitlines()
    with pytest.raises(ActionError, match="nothing to undo"):
        undo()


def test_declined_uac_is_a_clear_refusal_not_an_error(windows, monkeypatch, capsys):
    monkeypatch.setenv("STANDIN_UAC", "declined")
    r = apply(windows_rule_plan(rule("{B10C}"), enable=False))
    assert not r.ok and r.result == "declined"
    assert r.message == win.DECLINED
    assert windows.rules()["{B10C}"]["enabled"] == 1
    assert list(windows.temp.iterdir()) == []
    # `wsltui undo` has nothing to undo; an applied change whose undo is declined stays undoable.
    assert main(["undo", "--yes"]) == 5
    monkeypatch.setenv("STANDIN_UAC", "ok")
    assert apply(windows_rule_plan(rule("{B10C}"), enable=False)).ok
    monkeypatch.setenv("STANDIN_UAC", "declined")
    capsys.readouterr()
    assert main(["undo", "--yes"]) == 5
    err = capsys.readouterr().err
    assert "declined" in err and "Traceback" not in err
    assert windows.rules()["{B10C}"]["enabled"] == 2
    monkeypatch.setenv("STANDIN_UAC", "ok")
    assert main(["undo", "--yes"]) == 0
    assert windows.rules()["{B10C}"]["enabled"] == 1


@pytest.mark.parametrize(
    "mode, says",
    [
        ("denied", "Windows refused: Access is denied."),
        ("noresult", "wrote no result"),
        ("hang", "no answer to the UAC prompt"),
    ],
)
def test_failures_say_why_and_change_nothing(windows, monkeypatch, mode, says):
    monkeypatch.setenv("STANDIN_UAC", mode)
    # Only the hang waits out the timeout: a short one there, and room for a loaded machine elsewhere.
    monkeypatch.setattr(win, "ELEVATION_TIMEOUT", 1.0 if mode == "hang" else 30.0)
    r = apply(windows_rule_plan(rule("{B10C}"), enable=False))
    assert not r.ok and r.result == "rolled-back" and says in r.message, r.message
    assert windows.rules()["{B10C}"]["enabled"] == 1
    assert r.steps[0]["seconds"] < 10


def test_a_rule_already_in_that_state_is_refused_by_the_elevated_script(windows):
    r = apply(windows_rule_plan(rule("HV-1", source="hyperv"), enable=False))
    assert not r.ok and "already disabled" in r.message
    assert "Disable-NetFirewallHyperVRule -Name 'HV-1'" in windows.launches()[-1]["inner"]
    r = apply(windows_rule_plan(rule("HV-1", source="hyperv"), enable=True))
    assert r.ok and windows.rules()["HV-1"]["enabled"] == 1


def test_values_are_quoted_for_powershell(windows):
    plan = windows_rule_plan(rule("node's block"), enable=False)
    assert plan.fixes[0].script == "Disable-NetFirewallRule -Name 'node''s block'"
    assert apply(plan).ok and windows.rules()["node's block"]["enabled"] == 2
    for bad in ("a\nRemove-NetFirewallRule -All", "tab\there"):
        with pytest.raises(ActionError, match="control characters"):
            windows_rule_plan(rule(bad), enable=False)
    assert win.quote("it\u2019s") == "'it\u2019\u2019s'"  # PowerShell treats ’ as a quote too


def test_group_policy_rules_are_refused(windows):
    with pytest.raises(ActionError, match="Group Policy"):
        windows_rule_plan(rule("{G}", source="gpo"), enable=False)
    with pytest.raises(ActionError, match="Group Policy"):
        windows_rule_plan(rule("{G}", source="active", store="Local Group Policy"), enable=False)
    assert windows.launches() == []


def test_a_local_allow_where_group_policy_ignores_local_rules_is_refused():
    from wsltui.actions import refuse_ignored_local_rule
    from types import SimpleNamespace

    from wsltui.facts.windows import ProfileSettings

    facts = SimpleNamespace(
        profiles={
            "Public": ProfileSettings("Public", allow_local_rules=False),
            "Private": ProfileSettings("Private", allow_local_rules=None),
        }
    )
    with pytest.raises(ActionError, match="Group Policy does not apply local firewall rules on the Public profile"):
        refuse_ignored_local_rule(facts, "Public", 8080, "tcp")
    refuse_ignored_local_rule(facts, "Private", 8080, "tcp")  # not configured: local rules apply
    refuse_ignored_local_rule(None, "Public", 8080, "tcp")  # nothing known: nothing refused


def test_add_allow_rules_and_remove_them_again(windows):
    plan = windows_allow_plan(8080, "tcp", profile="Public", interface="vEthernet (WSL)")
    assert plan.fixes[0].script == (
        "New-NetFirewallRule -Name 'wsltui-in-tcp-8080' -DisplayName 'wsltui: allow TCP 8080' "
        "-Direction Inbound -Action Allow -Protocol TCP -LocalPort 8080 -Profile Public "
        "-InterfaceAlias 'vEthernet (WSL)'"
    )
    assert plan.fixes[0].undo_script == "Remove-NetFirewallRule -Name 'wsltui-in-tcp-8080'"
    assert apply(plan).ok
    assert windows.rules()["wsltui-in-tcp-8080"]["script"] == "$null = " + plan.fixes[0].script
    hv = hyperv_allow_plan(3000, "udp")
    assert "-VMCreatorId '{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}' -Protocol UDP -LocalPorts 3000" in hv.fixes[0].script
    assert apply(hv).ok and windows.rules()["wsltui-hv-udp-3000"]["hyperv"]
    again = apply(windows_allow_plan(8080, "tcp"))
    assert not again.ok and "already exists" in again.message  # its undo would remove a rule it did not make
    assert undo().ok and "wsltui-hv-udp-3000" not in windows.rules()
    assert undo().ok and "wsltui-in-tcp-8080" not in windows.rules()
    for bad in ((0, "tcp"), (70000, "tcp"), ("80; calc", "tcp"), (80, "icmp")):
        with pytest.raises(ActionError):
            windows_allow_plan(*bad)
    with pytest.raises(ActionError, match="profile"):
        windows_allow_plan(80, "tcp", profile="Public; Remove-NetFirewallRule")


def test_clipboard_gets_the_command_for_a_person(windows):
    plan = windows_rule_plan(rule("{B10C}"), enable=False)
    rec = copy_to_clipboard(clipboard_text(plan))
    assert rec.ok, rec.error
    data = windows.clip.read_bytes()
    assert data[:2] == b"\xff\xfe"
    assert data[2:].decode("utf-16-le") == "Disable-NetFirewallRule -Name '{B10C}'\r\n"
    assert clipboard_text(plan, undo=True) == "Enable-NetFirewallRule -Name '{B10C}'\n"
    assert windows.launches() == []  # nothing ran elevated


def test_plan_survives_the_journal_and_needs_interop(windows, monkeypatch):
    plan = windows_rule_plan(rule("{B10C}"), enable=False)
    again = Plan.from_json(json.loads(json.dumps(plan.to_json())))
    assert again.to_json() == plan.to_json() and again.elevated
    outer = base64.b64decode(plan.fixes[0].argv[0][-1]).decode("utf-16-le")
    assert win.elevated_paths(plan.fixes[0].argv[0])[1].startswith(str(windows.temp))
    assert outer.splitlines()[0].startswith("# wsltui-elevated result=C:\\Users\\tester")
    assert len(plan.fixes[0].argv[0][-1]) < 32000  # the Windows command-line limit
    monkeypatch.setenv("WSLTUI_INTEROP", "")
    monkeypatch.setattr(interop, "BINFMT_ENTRIES", ())
    monkeypatch.setattr(win, "_temp_cache", {})
    with pytest.raises(ActionError, match="no Windows interop"):
        windows_rule_plan(rule("{B10C}"), enable=False)


def test_a_trace_s_windows_fixes_run_elevated_on_the_live_machine(windows):
    """The simulator's own Windows fixes (not copies of their text) become elevated steps; a
    command wsltui cannot rebuild exactly stays a person's job."""
    from wsltui.actions import plan_for_trace
    from wsltui.simulation import windows as sim
    from wsltui.simulation.trace import Fix, Hop, Trace

    pkt = sim.WinPacket("in", "tcp", 8080, interface="vEthernet (WSL)")
    hops = [
        Hop("windows-firewall", "drop", "a block rule", rule="x", fixes=[sim.disable_rule_fix(rule("node's block"))]),
        Hop("windows-firewall", "drop", "default block", rule="y", fixes=[sim.allow_rule_fix(pkt, "Public")]),
        Hop(
            "portproxy",
            "drop",
            "no portproxy",
            rule="z",
            fixes=[
                Fix(
                    "Forward port 8080",
                    ["netsh interface portproxy add v4tov4 listenport=8080"],
                    ["netsh interface portproxy delete v4tov4 listenport=8080"],
                    "windows",
                )
            ],
        ),
    ]
    trace = Trace("lan-to-windows", "nat", "tcp", 8080, hops=hops)
    trace.blockers = hops
    assert not plan_for_trace(trace).fixes  # without elevation: all three need a person
    plan = plan_for_trace(trace, elevate=True)
    assert [f.script for f in plan.fixes] == [
        "New-NetFirewallRule -Name 'wsltui-in-tcp-8080' -DisplayName 'wsltui: allow TCP 8080' -Direction Inbound "
        "-Action Allow -Protocol TCP -LocalPort 8080 -Profile Public -InterfaceAlias 'vEthernet (WSL)'",
        "Disable-NetFirewallRule -Name 'node''s block'",
    ]
    assert [m.commands for m in plan.manual] == [["netsh interface portproxy add v4tov4 listenport=8080"]]
    plan.manual = []
    r = apply(plan)
    assert r.ok, r.message
    assert windows.rules()["node's block"]["enabled"] == 2 and "wsltui-in-tcp-8080" in windows.rules()
    assert undo().ok
    assert windows.rules()["node's block"]["enabled"] == 1 and "wsltui-in-tcp-8080" not in windows.rules()
    assert len(windows.launches()) == 4  # one UAC prompt per change, and per undo
