"""The one probe runner: argv only, timeouts, never raises, decodes any Windows/Linux bytes."""

from __future__ import annotations

import sys
import time

from wsltui.probes.runner import Job, decode, run, run_all

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
    r = run(Job("t", (PY, "-c", "import os,sys; print(os.getcwd(), os.environ['X'], sys.stdin.read())"),
                cwd="/tmp", env={"X": "y"}, stdin=b"in"))
    assert r.stdout == "/tmp y in\n"


def test_decode_utf16_with_and_without_bom_and_crlf():
    text = "Windows Subsystem for Linux\r\nVersion: 2.3.26.0\r\n"
    assert decode(text.encode("utf-16")) == "Windows Subsystem for Linux\nVersion: 2.3.26.0\n"
    assert decode(text.encode("utf-16-le")) == "Windows Subsystem for Linux\nVersion: 2.3.26.0\n"
    assert decode(text.encode("utf-16-be")) == "Windows Subsystem for Linux\nVersion: 2.3.26.0\n"


def test_decode_oem_code_page_and_netsh_line_ends():
    zh = "协议 tcp 端口排除范围\r\r\n\r\r\n开始端口    结束端口\r\n"
    assert decode(zh.encode("cp936"), "cp936") == "协议 tcp 端口排除范围\n\n开始端口    结束端口\n"
    assert decode("Ã©".encode("utf-8")) == "Ã©"  # valid UTF-8 wins over a code page
    assert decode(b"caf\x82", "cp850") == "café"
    assert decode(b"\x80\x81 garbage").endswith(" garbage")  # never raises
    assert decode(b"") == ""
