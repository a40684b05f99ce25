"""The journal drives `wsltui undo`, which runs its commands as root: only commands wsltui itself
writes run, a person is asked first, a broken line is skipped, two changes never interleave, and
a journal write that fails after the change leaves the journal saying what is applied."""

from __future__ import annotations

import errno
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from realtools import REPO

from wsltui.actions import ActionError, Journal, apply, undo
from wsltui.actions import state as st
from wsltui.actions import undo_check
from wsltui.actions import windows as win
from wsltui.actions.apply import undo_preview
from wsltui.actions.plan import Plan, PlannedFix, restore_of
from wsltui.actions.scopes import Edit
from wsltui.cli import main

# --- a real change without root: persistence writing /etc/wsl.conf under a private root ------------


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict:
    """XDG_STATE_HOME and WSLTUI_ROOT in the test's directory, for the API and for child processes."""
    e = {"XDG_STATE_HOME": str(tmp_path / "state"), "WSLTUI_ROOT": str(tmp_path / "root")}
    for k, v in e.items():
        monkeypatch.setenv(k, v)
    (tmp_path / "root" / "etc").mkdir(parents=True)
    return e


def _plan(env: dict, text: str = "[boot]\n") -> tuple[Plan, Path]:
    path = Path(env["WSLTUI_ROOT"]) / "etc" / "wsl.conf"
    fix = PlannedFix(
        "write it", "file", [["tee", str(path)]], [restore_of(str(path))], needs_root=False, stdin=["text:" + text]
    )
    return Plan(
        0,
        "",
        {"name": "test"},
        [fix],
        kind="persist",
        title="Write wsl.conf",
        edits=[Edit(f"file:{path}", "content", "set", text, before=[])],
    ), path


def _applied(env: dict) -> tuple[dict, Path]:
    plan, path = _plan(env)
    r = apply(plan)
    assert r.ok, r.message
    return Journal().last_undoable(), path


def _child(args: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wsltui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        **kw,
    )


# --- undo runs only what wsltui writes -------------------------------------------------------------


def _tampered(entry: dict, marker: Path) -> list[tuple[str, dict]]:
    backup = entry["backup"]
    cp = entry["undo"][0]  # ["cp", <backup copy>, <path>] or ["rm", "-f", <path>]
    path = cp[-1]
    return [
        ("a shell", {"undo": [["sh", "-c", f"touch {marker}"]]}),
        ("a tool by path", {"undo": [[str(marker.parent / "iptables"), "-D", "INPUT", "1"]]}),
        ("iptables --modprobe", {"undo": [["iptables", "-D", "INPUT", "-p", "tcp", f"--modprobe=touch {marker}"]]}),
        ("two nft commands", {"undo": [["nft", "add", "rule", "inet", "t", "c", "accept; flush ruleset"]]}),
        ("nft -f", {"undo": [["nft", "-f", str(marker)]]}),
        ("firewalld direct", {"undo": [["firewall-cmd", "--direct", "--passthrough", "ipv4", "-F"]]}),
        ("ufw disable", {"undo": [["ufw", "disable"]]}),
        ("cp from elsewhere", {"undo": [["cp", str(marker), path]]}),
        ("cp to /etc/shadow", {"undo": [["cp", f"{backup}/x.txt", "/etc/shadow"]]}),
        ("rm of another file", {"undo": [["rm", "-f", "/etc/passwd"]]}),
        ("a line break", {"undo": [["ufw", "delete", "allow", "80/tcp\nsh"]]}),
        ("another backup", {"backup": str(marker.parent)}),
        (
            "a restored file wsltui never writes",
            {
                "result": "pending",
                "plan": {**entry["plan"], "edits": [{**entry["plan"]["edits"][0], "target": "file:/etc/sudoers"}]},
            },
        ),
        (
            "an nft table that is not one",
            {
                "result": "pending",
                "plan": {
                    **entry["plan"],
                    "fixes": [
                        *entry["plan"]["fixes"],
                        {
                            **entry["plan"]["fixes"][0],
                            "front_end": "nft",
                            "argv": [["nft", "add", "rule", "inet", "t\nflush ruleset", "c", "accept"]],
                        },
                    ],
                },
            },
        ),
    ]


@pytest.mark.parametrize("case", range(14))
def test_undo_refuses_a_tampered_journal_entry_and_runs_nothing(tmp_path, env, case, capsys):
    entry, path = _applied(env)
    marker = tmp_path / "pwned"
    what, change = _tampered(entry, marker)[case]
    Journal().append({"id": entry["id"], **change})  # a line someone appended
    with pytest.raises(ActionError, match="not what wsltui wrote"):
        undo_preview()
    with pytest.raises(ActionError, match="not what wsltui wrote"):
        undo()
    assert main(["undo", "--yes"]) == 5
    assert "not what wsltui wrote" in capsys.readouterr().err
    assert not marker.exists() and path.read_text() == "[boot]\n", what  # nothing ran, nothing restored
    assert Journal().last_undoable()["result"] in ("applied", "pending")


def test_the_genuine_entry_is_undone(env):
    entry, path = _applied(env)
    assert undo_check.problems(entry, Plan.from_json(entry["plan"]), st.state_dir()) == []
    assert undo().ok and not path.exists()


TEMP = ("C:\\Users\\me\\AppData\\Local\\Temp", "/mnt/c/Users/me/AppData/Local/Temp")


def _windows_undos(monkeypatch) -> list[list[str]]:
    """The undo argv wsltui's own Windows builders make (a rule toggle each way, the removal of
    each kind of allow rule)."""
    from wsltui.facts.windows import FwRule

    monkeypatch.setattr(win, "windows_temp", lambda runner=None: TEMP)
    plans = [
        win.rule_plan(FwRule("{B10C}", "It’s ‘mine’", "unknown", True, "in"), enable=False),
        win.rule_plan(FwRule("x'y", "x'y", "unknown", False, "in", source="hyperv"), enable=True),
        win.allow_plan(8080, "tcp", interface="vEthernet (WSL)"),
        win.hyperv_allow_plan(3000, "udp"),
    ]
    return [p.fixes[0].undo_argv[0] for p in plans]


def test_windows_undo_steps_wsltui_builds_pass(monkeypatch):
    for argv in _windows_undos(monkeypatch):
        assert undo_check.command_problem(argv, Path("/nonexistent")) is None


def _retamper(argv: list[str], edit) -> list[str]:
    """Re-encode an elevated step with its inner script changed by ``edit``, as an attacker would."""
    outer = win.decode(argv[-1])
    b64 = outer.split("-EncodedCommand ")[1].split("'")[0]
    return [*argv[:-1], win.encode(outer.replace(b64, win.encode(edit(win.decode(b64)))))]


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.replace(
            "Enable-NetFirewallRule -Name '{B10C}'", "Enable-NetFirewallRule -Name '{B10C}'; Invoke-Evil"
        ),
        lambda s: s.replace("$result.after", "Invoke-Evil\n$result.after", 1),
        lambda s: s.replace("'{B10C}'", "'x\u2019; Invoke-Evil; \u2018'"),
        lambda s: s.replace("throw", "Invoke-Evil; throw"),
    ],
)
def test_a_tampered_elevated_undo_is_refused(monkeypatch, edit):
    argv = _windows_undos(monkeypatch)[0]
    bad = _retamper(argv, edit)
    assert bad != argv
    assert "PowerShell is not an undo wsltui builds" in undo_check.command_problem(bad, Path("/x"))


def test_an_elevated_step_writing_elsewhere_is_refused(monkeypatch):
    argv = _windows_undos(monkeypatch)[0]
    outer = win.decode(argv[-1]).replace("/mnt/c/Users/me/AppData/Local/Temp/", "/etc/", 1)
    assert undo_check.command_problem([*argv[:-1], win.encode(outer)], Path("/x")) is not None


# --- asking first ------------------------------------------------------------------------------------


def _in_a_terminal(args: list[str], env: dict, answer: str) -> tuple[int, str]:
    """Run wsltui with a pseudo-terminal as stdin/stdout, answer the question, return (exit, output)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(
        [sys.executable, "-m", "wsltui", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
            if not answered and b"[y/N]" in out:
                os.write(master, answer.encode() + b"\n")
                answered = True
        elif p.poll() is not None:
            break
    code = p.wait(timeout=30)
    os.close(master)
    return code, out.decode(errors="replace")


def test_undo_shows_the_plan_and_asks(env):
    _, path = _applied(env)
    code, out = _in_a_terminal(["undo"], env, "n")
    assert code == 5 and "Undo: Write wsl.conf" in out and "rm -f" in out and "nothing was changed" in out
    assert path.read_text() == "[boot]\n"
    r = _child(["undo"], env, stdin=subprocess.DEVNULL)  # no terminal, no --yes: refused
    assert r.returncode == 5 and "pass --yes" in r.stderr and path.read_text() == "[boot]\n"
    code, out = _in_a_terminal(["undo"], env, "y")
    assert code == 0 and "undone" in out and not path.exists()


# --- a damaged journal ---------------------------------------------------------------------------------


def test_corrupt_lines_are_skipped_with_a_message(env, capsys):
    base = st.state_dir()
    base.mkdir(parents=True)
    _applied(env)
    good = (base / "journal.jsonl").read_text()
    junk = [
        "not json",
        "[1, 2]",
        '{"id": 5}',
        '{"id": "../x", "result": "applied"}',
        '{"id": "x1", "result": "applied", "undo": "rm -rf /"}',
        '{"id": "x2", "result": "applied", "undo": [[1]]}',
        '{"id": "x3", "plan": "a string"}',
        "[" * 100_000,
        '{"id": "cut short", "resu',
    ]
    (base / "journal.jsonl").write_text("\n".join(junk) + "\n" + good + '{"id": "the last line, cut short", "re')
    entries, skipped = Journal().read()
    assert len(entries) == 1 and len(skipped) == len(junk) + 1
    assert main(["undo", "--list"]) == 0
    out = capsys.readouterr()
    assert out.err.count("skipped: line") == len(junk) + 1 and "Traceback" not in out.err
    assert main(["undo", "--yes"]) == 0
    assert "undone" in capsys.readouterr().err


def test_a_wrongly_typed_plan_is_a_refusal_not_a_traceback(env):
    entry, _ = _applied(env)
    Journal().append({"id": entry["id"], "plan": {"port": 0, "proto": "", "fixes": [{"nope": 1}]}})
    with pytest.raises(ActionError, match="cannot be read"):
        undo()


def test_append_continues_after_a_line_cut_short(tmp_path):
    j = Journal(tmp_path)
    j.append({"id": "a", "result": "applied"})
    with open(j.path, "a") as f:
        f.write('{"id": "b", "res')  # a crash mid-line
    j.append({"id": "c", "result": "applied"})
    entries, skipped = j.read()
    assert [e["id"] for e in entries] == ["a", "c"] and len(skipped) == 1


# --- one change at a time -------------------------------------------------------------------------------


HOLD = """
import sys, time
from pathlib import Path
from wsltui.actions.state import change_lock
with change_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(base: Path, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(base), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_second_change_says_who_holds_the_lock(env, capsys):
    plan, path = _plan(env)
    holder = _holder(st.state_dir(), 30)
    try:
        t0 = time.monotonic()
        with pytest.raises(ActionError, match=f"another wsltui change is running \\(pid {holder.pid}\\)"):
            apply(plan)
        assert st.LOCK_WAIT <= time.monotonic() - t0 < st.LOCK_WAIT + 2  # it waited briefly first
        assert not path.exists()
        with pytest.raises(ActionError, match="another wsltui change is running"):
            undo()
        assert main(["undo", "--yes"]) == 5
        assert f"another wsltui change is running (pid {holder.pid})" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert apply(plan).ok and path.exists()


def test_a_second_change_waits_for_a_short_one(env):
    plan, path = _plan(env)
    holder = _holder(st.state_dir(), 1)
    try:
        assert apply(plan).ok
    finally:
        holder.wait()


@pytest.mark.realtools
def test_two_fixes_at_once_apply_once(tmp_path):
    """Two `wsltui fix` processes on the same blocker at the same moment (real nft in a namespace):
    one applies, the other waits and finds nothing to fix (or refuses); one undo restores all."""
    from tests.actions.test_actions_realtools import CASES, fix_args, listening_pair, load, packet, ruleset, wsltui

    from realtools import ns_argv

    with listening_pair("wj", 188, [8080], v6=False) as pair:
        load(pair, *CASES["nft-policy"])
        start = ruleset(pair.srv)
        environ = {**os.environ, "PYTHONPATH": str(REPO), "XDG_STATE_HOME": str(tmp_path / "state")}
        argv = ns_argv(pair.srv, [sys.executable, "-m", "wsltui", *fix_args(pair)], [])
        procs = [
            subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ, stdin=subprocess.DEVNULL
            )
            for _ in range(2)
        ]
        results = [(p.wait(timeout=120), p.stderr.read() + p.stdout.read()) for p in procs]
        assert sorted(code for code, _ in results) in ([0, 0], [0, 5]), results
        assert sum("verified" in out for _, out in results) == 1, results
        second = next(out for _, out in results if "verified" not in out)
        assert "nothing to fix" in second or "another wsltui change is running" in second
        assert packet(pair) == "accept"
        applied = [e for e in Journal(tmp_path / "state" / "wsltui").entries() if e.get("result") == "applied"]
        assert len(applied) == 1
        u = wsltui(pair, tmp_path, "undo", "--yes")
        assert u.returncode == 0, u.stderr
        assert ruleset(pair.srv) == start and packet(pair) != "accept"


# --- a full disk ----------------------------------------------------------------------------------------


def _full_after(monkeypatch, failures: int) -> list[dict]:
    """Journal writes after the "pending" line fail with ENOSPC ``failures`` times (a disk that
    filled up while the change ran); returns the lines that were refused."""
    real = Journal.append
    refused: list[dict] = []

    def append(self, entry):
        if entry.get("result") != "pending" and len(refused) < failures:
            refused.append(entry)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(self, entry)

    monkeypatch.setattr(Journal, "append", append)
    return refused


def test_a_full_disk_after_the_change_leaves_a_short_record(env, monkeypatch):
    plan, path = _plan(env)
    refused = _full_after(monkeypatch, 1)
    r = apply(plan)
    assert r.ok and path.read_text() == "[boot]\n" and len(refused) == 1
    assert "short record" in r.message and "No space left" in r.message
    entry = Journal().last_undoable()
    assert entry["result"] == "applied" and entry["undo"] == refused[0]["undo"]
    assert entry["plan"]["title"] == "Write wsl.conf"  # the rest from the "pending" line
    assert undo().ok  # the disk has room again and not path.exists()


def test_a_full_disk_for_every_record_says_so_and_undo_still_works(env, monkeypatch):
    plan, path = _plan(env)
    _full_after(monkeypatch, 2)
    r = apply(plan)
    assert r.ok and path.read_text() == "[boot]\n"
    assert "the journal could not record it" in r.message and "wsltui undo" in r.message
    assert Journal().last_undoable()["result"] == "pending"  # undo restores the backup
    assert undo().ok  # the disk has room again and not path.exists()


@pytest.fixture
def tiny_tmpfs(tmp_path):
    where = tmp_path / "tiny"
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", str(where)], capture_output=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


@pytest.mark.realtools
def test_a_line_that_does_not_fit_is_not_left_half_written(tiny_tmpfs):
    j = Journal(tiny_tmpfs / "wsltui")
    j.append({"id": "a", "result": "applied"})
    before = j.path.read_bytes()
    filler = tiny_tmpfs / "filler"
    with open(filler, "wb") as f:
        try:
            f.write(b"x" * (64 << 10))
        except OSError:
            pass
    with pytest.raises(OSError) as e:
        j.append({"id": "b", "result": "applied", "undo": [["x" * 20_000]]})
    assert e.value.errno == errno.ENOSPC
    assert j.path.read_bytes() == before and [x["id"] for x in j.entries()] == ["a"]


@pytest.mark.realtools
def test_a_full_disk_before_the_change_changes_nothing(tiny_tmpfs, env, monkeypatch):
    base = tiny_tmpfs / "wsltui"
    base.mkdir(mode=0o700)
    with open(tiny_tmpfs / "filler", "wb") as f:
        try:
            f.write(b"x" * (64 << 10))
        except OSError:
            pass
    plan, path = _plan(env)
    with pytest.raises(ActionError, match="nothing was changed"):
        apply(plan, base=base)
    assert not path.exists()
    assert not json.dumps(Journal(base).entries()).count("pending")


def test_an_entry_holding_line_separators_is_read_back_whole(env):
    """JSON keeps U+0085 and U+2028 raw (ensure_ascii=False): the journal splits at line feeds only."""
    st.state_dir().mkdir(parents=True)
    Journal().append({"id": "sep1", "result": "applied", "message": "a\u2028b\x85c\x1cd"})
    entries, skipped = Journal().read()
    assert skipped == [] and [e["message"] for e in entries] == ["a\u2028b\x85c\x1cd"]
