"""The one probe runner: argv only, timeouts, never raises, decodes any Windows/Linux bytes."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from wsltui.probes.runner import Job, decode, run, run_all, sudo_validate

PY = sys.executable


def test_runs_argv_and_keeps_exit_code_and_streams():
    r = run(Job("t", (PY, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)")))
    assert (r.stdout, r.stderr, r.exit_code, r.error) == ("out\n", "err\n", 3, None)
    assert r.argv[0] == PY and not r.ok


def test_argument_is_never_interpreted_by_a_shell():
    r = run(Job("t", ("echo", "$(touch /tmp/wsltui-pwned); `id`", "; ls")))
    assert r.stdout == "$(touch /tmp/wsltui-pwned); `id` ; ls\n"


def test_missing_command_is_an_error_record():
    r = run(Job("t", ("wsltui-no-such-tool", "--x")))
    assert r.error == "wsltui-no-such-tool: command not found" and r.exit_code is None


def test_timeout_kills_and_reports_within_the_limit():
    start = time.monotonic()
    r = run(Job("t", ("sleep", "30"), timeout=0.3))
    assert time.monotonic() - start < 10  # killed long before the 30 s sleep ends
    assert r.error == "timed out after 0.3 s"


def test_timeout_also_kills_what_the_command_started(tmp_path):
    """A grandchild holds the output pipe open: the timeout must not wait for it, and must not leave it running."""
    pidfile = tmp_path / "pid"
    start = time.monotonic()
    r = run(Job("t", ("sh", "-c", f"sleep 30 & echo $! > {pidfile}; wait"), timeout=0.5))
    assert time.monotonic() - start < 10 and r.error == "timed out after 0.5 s"
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists() and "Z" not in _state(pid):
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid), "the grandchild still runs"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_killed_by_signal_is_an_error_not_an_exception():
    r = run(Job("t", (PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")))
    assert r.error and "signal 9" in r.error


def test_independent_jobs_run_concurrently(tmp_path):
    """Each job waits until all six have started: run one after another, the first would time out."""
    script = f'touch {tmp_path}/$0; while [ "$(ls {tmp_path} | wc -l)" -lt 6 ]; do sleep 0.01; done'
    jobs = [Job(f"j{i}", ("sh", "-c", script, f"j{i}"), timeout=20) for i in range(6)]
    records = run_all(jobs)
    assert [r.name for r in records] == [f"j{i}" for i in range(6)]
    assert all(r.ok for r in records), [r.error for r in records]


def test_cwd_env_and_stdin():
    r = run(
        Job(
            "t",
            (PY, "-c", "import os,sys; print(os.getcwd(), os.environ['X'], sys.stdin.read())"),
            cwd="/tmp",
            env={"X": "y"},
            stdin=b"in",
        )
    )
    assert r.stdout == "/tmp y in\n"


def test_decode_utf16_with_and_without_bom_and_crlf():
    text = "Windows Subsystem for Linux\r\nVersion: 2.3.26.0\r\n"
    assert decode(text.encode("utf-16")) == "Windows Subsystem for Linux\nVersion: 2.3.26.0\n"
    assert decode(text.encode("utf-16-le")) == "Windows Subsystem for Linux\nVersion: 2.3.26.0\n"
    assert decode(text.encode("utf-16-be")) == "Windows Subsystem for Linux\nVersion: 2.3.26.0\n"


def test_decode_oem_code_page_and_netsh_line_ends():
    zh = "协议 tcp 端口排除范围\r\r\n\r\r\n开始端口    结束端口\r\n"
    assert decode(zh.encode("cp936"), "cp936") == "协议 tcp 端口排除范围\n\n开始端口    结束端口\n"
    assert decode("Ã©".encode()) == "Ã©"  # valid UTF-8 wins over a code page
    assert decode(b"caf\x82", "cp850") == "café"
    assert decode(b"\x80\x81 garbage").endswith(" garbage")  # never raises
    assert decode(b"") == ""


# --- sudo_validate: a stand-in `sudo` on PATH (this machine's real sudo is never called) -------

SUDO_PASSWORD = "correct horse"  # the one the stand-in accepts
SUDO_STANDIN = f"""#!{PY}
import json, os, sys, time
if os.environ.get("STANDIN_HANG"):
    time.sleep(30)
password = sys.stdin.readline().rstrip("\\n")
with open(os.environ["STANDIN_LOG"], "w") as f:
    json.dump({{"argv": sys.argv[1:], "env": dict(os.environ)}}, f)
if sys.argv[1:] != ["-S", "-p", "", "-v"]:
    sys.exit(2)
if password == {SUDO_PASSWORD!r}:
    sys.exit(0)
print("Sorry, try again.", file=sys.stderr)
print("sudo: 1 incorrect password attempt", file=sys.stderr)
sys.exit(1)
"""


def install_fake_sudo(tmp_path, monkeypatch):
    """Put the stand-in first on PATH; returns the file where it writes what it saw."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sudo = bin_dir / "sudo"
    sudo.write_text(SUDO_STANDIN)
    sudo.chmod(0o755)
    log = tmp_path / "sudo-saw.json"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_LOG", str(log))
    return log


@pytest.fixture
def fake_sudo(tmp_path, monkeypatch):
    return install_fake_sudo(tmp_path, monkeypatch)


def test_sudo_validate_sends_the_password_on_stdin_only(fake_sudo):
    r = sudo_validate(SUDO_PASSWORD.encode())
    assert r.ok, (r.error, r.stderr)
    assert r.argv[1:] == ("-S", "-p", "", "-v")
    saw = json.loads(fake_sudo.read_text())
    assert saw["argv"] == ["-S", "-p", "", "-v"]
    assert SUDO_PASSWORD not in json.dumps(saw["env"])
    assert SUDO_PASSWORD not in repr(r) and SUDO_PASSWORD not in json.dumps(r.to_json())


def test_sudo_validate_wrong_password_says_why(fake_sudo):
    r = sudo_validate(b"Tr0ub4dor&3")
    assert not r.ok and r.exit_code == 1 and r.error is None
    assert "incorrect password" in r.stderr
    assert "Tr0ub4dor" not in repr(r)


def test_sudo_validate_times_out(fake_sudo, monkeypatch):
    monkeypatch.setenv("STANDIN_HANG", "1")
    start = time.monotonic()
    r = sudo_validate(SUDO_PASSWORD.encode(), timeout=0.5)
    assert r.error == "timed out after 0.5 s" and time.monotonic() - start < 10


def test_sudo_validate_without_sudo(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    r = sudo_validate(b"x")
    assert r.error == "sudo is not installed" and not r.ok


def test_a_child_whose_parent_died_before_its_prctl_ends_at_once():
    """The race prctl(2) names: a parent SIGKILLed between the fork and PR_SET_PDEATHSIG leaves the
    child reparented, and no signal would ever come. The child sees another parent id and ends."""
    import subprocess

    from wsltui.probes import runner as runner_module

    gone = runner_module._own_group_dying_with(os.getpid() + 4_000_000)  # a parent that is not ours any more
    proc = subprocess.Popen(["sleep", "30"], preexec_fn=gone)
    try:
        assert proc.wait(timeout=10) == 1
    finally:
        proc.kill()
