"""Every command wsltui prints, copies or runs elevated reads back as exactly the arguments it
meant, for hostile names: all of PowerShell's quote characters, $(), backticks, ;, |, &,
newlines, unicode.

PowerShell is modelled by its single-quote rule (the tokenizer's ScanStringLiteral): inside
'...', two characters of the set ' U+2018 U+2019 U+201A U+201B in a row are one literal character
(the second), and any single one of them ends the string. Outside a literal only plain words may
appear in the commands wsltui builds (cmdlet names, -Parameters, numbers, True/False): any
character PowerShell gives a meaning there ($ ` ; | & ( ) { } @ # " < > ,) fails the test.
POSIX commands must ``shlex.split`` back into their argv. A name with control characters must
turn the fix into a manual one: no command at all."""

from __future__ import annotations

import base64
import re
import shlex
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from wsltui.actions import plan as planmod
from wsltui.actions import windows as win
from wsltui.facts.windows import FwRule, PortProxy, WinListener
from wsltui.probes import interop
from wsltui.quoting import PS_QUOTES, has_controls, posix, ps_quote
from wsltui.simulation import attribution
from wsltui.simulation import win_commands as wc
from wsltui.simulation import windows as sim
from wsltui.simulation.trace import Fix, Hop, Trace, WinAction

UAC = Path(__file__).resolve().parents[1] / "standins" / "uac_windows.py"
HOSTILE = (
    "'\u2018\u2019\u201a\u201b\"\u201c\u201d\u201e$()`;|&{}@#<>,=-. \t\n\r\x1b\x00\u0085\u00a0\u2028\u202e"
    "aZ9\u00e9\u4e2d\U0001f600\\/"
)
names = st.text(alphabet=st.sampled_from(HOSTILE), min_size=1, max_size=24) | st.text(min_size=1, max_size=24)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_BARE = re.compile(r"[A-Za-z0-9_.:=-]+")


# --- a model of PowerShell's tokenizer for the commands wsltui builds ------------------------------


def ps_split(line: str) -> tuple[list[str], list[str]]:
    """(tokens, the code between literals) of one PowerShell line: a token is a bare word or the
    value of a single-quoted literal. Raises ValueError for anything wsltui never builds."""
    tokens, code, i = [], [], 0
    while i < len(line):
        c = line[i]
        if c == " ":
            i += 1
            continue
        if c in PS_QUOTES:
            i, value = _literal(line, i + 1)
            tokens.append(value)
            code.append("'?'")
            continue
        j = i
        while j < len(line) and line[j] != " ":
            j += 1
        word = line[i:j]
        if not _BARE.fullmatch(word):
            raise ValueError(f"PowerShell would read {word!r} as code")
        tokens.append(word)
        code.append(word)
        i = j
    return tokens, code


def _literal(line: str, i: int) -> tuple[int, str]:
    out = []
    while True:
        if i >= len(line):
            raise ValueError("an unterminated string")
        if line[i] in PS_QUOTES:
            if i + 1 < len(line) and line[i + 1] in PS_QUOTES:
                out.append(line[i + 1])
                i += 2
                continue
            return i + 1, "".join(out)
        if line[i] in "\r\n":
            raise ValueError("a line break inside a string")
        out.append(line[i])
        i += 1


def ps_literals(script: str) -> tuple[str, list[str]]:
    """(the script with every single-quoted literal replaced by '?', the literals' values): the
    code skeleton of a whole script (statements, braces, $variables, comments)."""
    skeleton, values, i = [], [], 0
    in_comment = False
    while i < len(script):
        c = script[i]
        if c == "\n":
            in_comment = False
        if c == "#" and not in_comment:
            in_comment = True
        if c in PS_QUOTES and not in_comment:
            i, value = _literal(script, i + 1)
            values.append(value)
            skeleton.append("'?'")
            continue
        skeleton.append(c)
        i += 1
    return "".join(skeleton), values


def test_the_model_reads_powershell_as_powershell_does():
    assert ps_split("Disable-NetFirewallRule -Name 'a''b'")[0] == ["Disable-NetFirewallRule", "-Name", "a'b"]
    assert ps_split("X -Name '\u2018\u2019'")[0] == ["X", "-Name", "\u2019"]  # a pair is one char: the second
    with pytest.raises(ValueError):
        ps_split("X -Name 'a\u2019; Remove-Item x'")  # U+2019 alone ends the string
    with pytest.raises(ValueError):
        ps_split("X -Name $(evil)")
    # What quoting only ' (the bug this replaces) let through: a typographic quote ends the string.
    with pytest.raises(ValueError):
        ps_split("Disable-NetFirewallRule -Name '" + "x\u2019;calc;\u2019".replace("'", "''") + "'")


# --- PowerShell: every Windows fix the simulator shows ---------------------------------------


def _check_ps_fix(fix: Fix, name: str, expected: list[list[str]]) -> None:
    """``fix`` prints exactly ``expected`` (token lists, with ``name`` where it was used), or
    it is manual without a command when ``name`` holds control characters."""
    if has_controls(name):
        assert fix.manual and not fix.commands and not fix.undo and fix.windows is None, fix
        return
    assert not fix.manual, fix.manual
    assert [ps_split(c)[0] for c in fix.commands + fix.undo] == expected


@SETTINGS
@given(rid=names)
@example(rid="x\u2019; Remove-Item C:\\ -Recurse; \u2019")
@example(rid="a\nStop-Computer")
def test_rule_toggles_name_exactly_the_rule(rid):
    fix = sim.disable_rule_fix(FwRule(rid, "label", "block", True, "in", source="local"))
    _check_ps_fix(fix, rid, [["Disable-NetFirewallRule", "-Name", rid], ["Enable-NetFirewallRule", "-Name", rid]])
    hv = wc.windows_fix("t", WinAction("disable-rule", rule_id=rid, hyperv=True))
    _check_ps_fix(
        hv, rid, [["Disable-NetFirewallHyperVRule", "-Name", rid], ["Enable-NetFirewallHyperVRule", "-Name", rid]]
    )


@SETTINGS
@given(alias=names, port=st.integers(1, 65535), proto=st.sampled_from(["tcp", "udp"]))
def test_allow_rules_on_a_hostile_interface(alias, port, proto):
    pkt = sim.WinPacket("in", proto, port, interface="vEthernet (" + alias + ")")
    fix = sim.allow_rule_fix(pkt, "Public")
    name = f"wsltui-in-{proto}-{port}"
    _check_ps_fix(
        fix,
        alias,
        [
            [
                "New-NetFirewallRule",
                "-Name",
                name,
                "-DisplayName",
                f"wsltui: allow {proto.upper()} {port}",
                "-Direction",
                "Inbound",
                "-Action",
                "Allow",
                "-Protocol",
                proto.upper(),
                "-LocalPort",
                str(port),
                "-Profile",
                "Public",
                "-InterfaceAlias",
                pkt.interface,
            ],
            ["Remove-NetFirewallRule", "-Name", name],
        ],
    )


@pytest.mark.parametrize(
    "action",
    [
        WinAction("new-allow", port=53, proto="udp", direction="out", profile="Private"),
        WinAction("new-hv-allow", port=8080, proto="tcp"),
        WinAction("new-hv-allow", port=9, proto="udp", direction="out"),
        WinAction("profile-inbound-rules", profile="Domain"),
        WinAction("hv-loopback"),
        WinAction("stop-process", pid=4242),
        WinAction("find-service", pid=1132),
    ],
)
def test_every_other_powershell_fix_parses(action):
    fix = wc.windows_fix("t", action)
    assert fix.windows == action and fix.commands
    for c in fix.commands + fix.undo:
        ps_split(c)


@pytest.mark.parametrize(
    "bad",
    [
        WinAction("new-allow", port=0, proto="tcp", profile="Public"),
        WinAction("new-allow", port=80, proto="tcp;x", profile="Public"),
        WinAction("new-allow", port=80, proto="tcp", profile="Public; calc"),
        WinAction("stop-process", pid=None),
        WinAction("new-hv-allow", port=True, proto="tcp"),
        WinAction("disable-rule", rule_id=""),
    ],
)
def test_values_that_are_not_what_they_claim_make_a_manual_fix(bad):
    fix = wc.windows_fix("t", bad)
    assert fix.manual.startswith("wsltui cannot write this command safely") and not fix.commands and fix.windows is None


# --- netsh ---------------------------------------------------------------------------------


@SETTINGS
@given(
    listen=names | st.ip_addresses().map(str),
    connect=names | st.ip_addresses().map(str) | st.just("db.corp.example"),
    port=st.sampled_from(["8080", "1", "65535", "0", "70000", "80-90", "8080; del x"]),
)
def test_portproxy_commands_carry_only_checked_values(listen, connect, port):
    fix = sim.delete_proxy_fix(PortProxy("v4tov4", listen, port, connect, port))
    if fix.manual:
        assert not fix.commands and "cannot write this netsh command safely" in fix.manual
        return
    rm, add = fix.commands[0].split(" "), fix.undo[0].split(" ")
    assert rm == [
        "netsh",
        "interface",
        "portproxy",
        "delete",
        "v4tov4",
        f"listenport={int(port)}",
        f"listenaddress={wc.netsh_address(listen, wildcard=True)}",
    ]
    assert add[:5] == ["netsh", "interface", "portproxy", "add", "v4tov4"] and len(add) == 9
    for word in rm + add:
        assert _BARE.fullmatch(word.replace("*", "")), word  # nothing cmd.exe or PowerShell reads as code


def test_a_host_name_connect_address_must_be_a_host_name():
    assert wc.netsh_address("db.corp.example") == "db.corp.example"
    assert wc.netsh_address("[fe80::1]") == "fe80::1"
    for bad in ("db corp", "a&b", "x|y", "$(x)", "-x", "a..b", "1.2.3.999", "x" * 64, "\u00e9.example"):
        with pytest.raises(ValueError):
            wc.netsh_address(bad)


def test_a_listener_without_a_pid_is_not_stop_process_none():
    fix = sim.stop_fix(WinListener("127.0.0.1", 8080, None, "node"), 8080)
    assert fix.manual and not fix.commands


# --- POSIX ---------------------------------------------------------------------------------


@SETTINGS
@given(zone=names)
def test_firewalld_fixes_quote_the_zone(zone):
    step = SimpleNamespace(outcome=SimpleNamespace(rule=SimpleNamespace(text="rule"), verdict="drop"))
    manual = attribution.netfilter_fixes(
        step, attribution.Attribution("firewalld", "zone", zone, "deny"), "tcp", 8080, 4
    )[0]
    auto = attribution.netfilter_fixes(
        step, attribution.Attribution("firewalld", "zone", zone, "allow"), "tcp", 8080, 4
    )[0]
    if has_controls(zone):
        assert not manual.commands and not auto.commands and not auto.argv and auto.manual
        return
    assert [shlex.split(c) for c in manual.commands] == [
        ["firewall-cmd", f"--zone={zone}", "--list-rich-rules"],
        ["firewall-cmd", f"--zone={zone}", "--remove-rich-rule=<the rule listed above that matches 8080/tcp>"],
    ]
    assert [shlex.split(c) for c in auto.commands] == auto.argv and auto.argv[0][1] == f"--zone={zone}"
    assert [shlex.split(c) for c in auto.undo] == auto.undo_argv
    # ... and the plan that runs it prints the same argv, run and undo.
    trace = Trace("custom", "nat", "tcp", 8080, hops=[Hop("netfilter", "drop", "x", fixes=[auto])])
    trace.blockers = trace.hops
    plan = planmod.plan_for_trace(trace)
    assert [shlex.split(c) for f in plan.fixes for c in f.commands] == auto.argv
    assert [shlex.split(c) for f in plan.fixes for c in f.undo] == list(reversed(auto.undo_argv))
    run_lines = [l.strip()[len("run:") :].strip() for l in plan.describe().splitlines() if l.strip().startswith("run:")]
    assert [shlex.split(l) for l in run_lines] == auto.argv


@SETTINGS
@given(argv=st.lists(names, min_size=1, max_size=5))
def test_any_argv_displays_as_itself_or_not_at_all(argv):
    fix = Fix("t", argv=[["nft", *argv]], undo_argv=[["nft", "x"]], front_end="nft")
    if any(has_controls(a) for a in argv):
        assert not fix.commands and not fix.argv and not fix.automatic and fix.manual
    else:
        assert shlex.split(fix.commands[0]) == ["nft", *argv] and fix.commands[0] == posix(["nft", *argv])


# --- the elevated scripts wsltui runs, and what it copies ------------------------------------


@pytest.fixture(scope="module")
def windows_temp(tmp_path_factory):
    """The stand-in Windows' %TEMP% (tests/standins/uac_windows.py as cmd.exe and wslpath), read
    once by the real windows_temp and then cached, as on a live system."""
    tmp = tmp_path_factory.mktemp("win")
    (tmp / "c" / "Users" / "tester" / "AppData" / "Local" / "Temp").mkdir(parents=True)
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for name in ("cmd.exe", "wslpath"):
        (bin_dir / name).symlink_to(UAC)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
        mp.setenv("WSLTUI_INTEROP", "force")
        mp.setattr(interop, "SYSTEM32_DIRS", ())
        mp.setattr(win, "_temp_cache", {})
        mp.setenv("STANDIN_C_ROOT", str(tmp / "c"))
        win.windows_temp()
        yield


def _scripts(step: list[str]) -> tuple[str, str]:
    """(outer, inner) PowerShell of an elevated argv, the inner taken from the outer's
    -ArgumentList literal as the model reads it."""
    outer = base64.b64decode(step[-1]).decode("utf-16-le")
    start = outer.index("-ArgumentList ") + len("-ArgumentList ")
    _, args = _literal(outer, outer.index("'", start) + 1)
    inner = base64.b64decode(args.split("-EncodedCommand ")[1]).decode("utf-16-le")
    return re.sub(r"wsltui-[0-9a-f]{12}\.json", "wsltui-R.json", outer), re.sub(
        r"wsltui-[0-9a-f]{12}\.json", "wsltui-R.json", inner
    )


def _same_code(plan, benign_plan, benign: str, name: str) -> None:
    """The hostile plan's scripts are the benign plan's, literal for literal, with ``name`` in
    place of ``benign``: no character of ``name`` became code."""
    for f, g in zip(plan.fixes, benign_plan.fixes):
        for a, b in zip(f.argv + f.undo_argv, g.argv + g.undo_argv):
            for script, ref in zip(_scripts(a), _scripts(b)):
                code, values = ps_literals(script)
                ref_code, ref_values = ps_literals(ref)
                # the outer's -ArgumentList literal is the (different) encoded inner, checked as ``inner``
                values = [v for v in values if "-EncodedCommand" not in v]
                ref_values = [v for v in ref_values if "-EncodedCommand" not in v]
                assert code == ref_code
                assert values == [v.replace(benign, name) for v in ref_values]
        assert [ps_split(c)[0] for c in f.script.splitlines()] == [
            [t.replace(benign, name) for t in ps_split(c)[0]] for c in g.script.splitlines()
        ]


BENIGN = "BENIGNNAME"


@SETTINGS
@given(rid=names, hv=st.booleans(), enable=st.booleans())
@example(rid="x\u2019) ; Remove-NetFirewallRule -All ; (\u2019", hv=False, enable=False)
def test_elevated_rule_toggle_scripts(windows_temp, rid, hv, enable):
    assume(BENIGN not in rid)
    source = "hyperv" if hv else "local"
    rule = FwRule(rid, "label", "block", not enable, "in", source=source)
    if has_controls(rid):
        with pytest.raises(planmod.ActionError):
            win.rule_plan(rule, enable)
        return
    plan = win.rule_plan(rule, enable)
    _same_code(
        plan, win.rule_plan(FwRule(BENIGN, "label", "block", not enable, "in", source=source), enable), BENIGN, rid
    )
    assert win.clipboard_text(plan) == plan.fixes[0].script + "\n"
    # The trace's fix for the same rule runs that same script: the id comes from Fix.windows.
    fix = wc.windows_fix("t", WinAction("enable-rule" if enable else "disable-rule", rule_id=rid, hyperv=hv))
    assert win.elevated_fix(fix).script == plan.fixes[0].script == fix.commands[0]


@SETTINGS
@given(alias=names)
def test_elevated_allow_rule_scripts(windows_temp, alias):
    assume(BENIGN not in alias)
    if has_controls(alias):
        with pytest.raises(planmod.ActionError):
            win.allow_plan(8080, "tcp", interface=alias)
        return
    plan = win.allow_plan(8080, "tcp", interface=alias)
    _same_code(plan, win.allow_plan(8080, "tcp", interface=BENIGN), BENIGN, alias)
    fix = sim.allow_rule_fix(sim.WinPacket("in", "tcp", 8080, interface="vEthernet " + alias), "Public")
    assert win.elevated_fix(fix).script == fix.commands[0]


def test_display_text_no_longer_decides_what_runs(windows_temp):
    """A fix whose display text was changed after it was built still runs its own rule: the
    elevated step comes from Fix.windows; a Windows fix without one stays a person's job."""
    fix = sim.disable_rule_fix(FwRule("HV-1", "label", "block", True, "in", source="local"))
    fix.commands = ["Disable-NetFirewallRule -Name 'SOMETHING-ELSE'"]
    assert "'HV-1'" in win.elevated_fix(fix).script
    assert win.elevated_fix(Fix("t", ["Disable-NetFirewallRule -Name 'x'"], [], "windows")) is None


def test_hostile_rule_ids_through_the_cli(capsys, tmp_path):
    """End to end: a block rule whose id is built to break out of quotes, from a snapshot."""
    import json

    from tests.simulation.test_windows_scenarios import PORTPROXY, WSL_IP, case, check, ps, rule

    rid = "x\u2019; Remove-Item -Recurse C:\\ ; \u2018'$(calc)`"
    d = case(
        tmp_path, powershell=ps(rules=[rule(rid, "evil", "block", 8080)]), portproxy=PORTPROXY.format(target=WSL_IP)
    )
    _, t = check(capsys, d, 8080, "--scenario", "lan-to-host")
    fix = t["first_blocker"]["fixes"][0]
    assert ps_split(fix["commands"][0])[0] == ["Disable-NetFirewallRule", "-Name", rid]
    assert fix["windows"] == {"kind": "disable-rule", "rule_id": rid, "hyperv": False, "direction": "in"}
    assert ps_quote(rid) in fix["commands"][0] and json.dumps(fix)


@pytest.mark.parametrize(
    "make",
    [
        lambda: win.hyperv_allow_plan(8080, "tcp"),
        lambda: win.hyperv_allow_plan(53, "udp", direction="out"),
        lambda: win.allow_plan(53, "udp", profile="Private", direction="out"),
        lambda: win.rule_plan(FwRule("HV-1", "hv", "block", True, "in", source="hyperv"), False),
    ],
)
def test_every_elevated_script_reads_as_meant(windows_temp, make):
    """Each script wsltui runs elevated: the model reads every line's literals, and what a person
    is shown (and copies) is exactly the command in the script."""
    plan = make()
    f = plan.fixes[0]
    for step in f.argv + f.undo_argv:
        outer, inner = _scripts(step)
        ps_literals(outer)
        ps_literals(inner)
        assert f.script in inner or f.undo_script in inner
    for line in (f.script, f.undo_script):
        ps_split(line)
    assert win.clipboard_text(plan, undo=True) == f.undo_script + "\n"


def test_no_command_is_assembled_from_data_outside_the_builders():
    """Commands for people are built by wsltui.simulation.win_commands (PowerShell, netsh) or from
    argv (POSIX): an f-string elsewhere in the simulator that starts like a command and
    interpolates a value (not a module constant, not a quoting call) is the bug this file is
    about, so it fails here."""
    import ast

    command = re.compile(
        r"^(?:(?:Disable|Enable|New|Set|Remove|Stop|Start|Get|Resolve)-[A-Z]\w+ |netsh |net (?:start|stop) |"
        r"firewall-cmd |ufw (?:allow|deny|reject|insert|delete) |nft (?:-\S+ )*(?:add|insert|delete|flush) |"
        r"ip6?tables\S* -)"
    )
    safe = {"ps_quote", "ps_arg", "posix", "display"}
    found = []
    for path in sorted((Path(__file__).resolve().parents[2] / "wsltui" / "simulation").rglob("*.py")):
        if path.name == "win_commands.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.JoinedStr) or not node.values:
                continue
            head = node.values[0]
            if not (isinstance(head, ast.Constant) and command.match(head.value)):
                continue
            for v in node.values:
                e = getattr(v, "value", None)
                if not isinstance(v, ast.FormattedValue) or (isinstance(e, ast.Name) and e.id.isupper()):
                    continue
                func = getattr(e, "func", None)
                if getattr(func, "attr", getattr(func, "id", None)) in safe:
                    continue
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert not found, found
