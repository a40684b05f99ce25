"""The one place in wsltui that runs a command.

Every call is an argv list (never a shell string), has a timeout, and returns a Record that
never raises into the caller: a missing tool, a timeout, a refused sudo or a crash of the tool
becomes ``Record.error``. Output bytes are decoded here, once, so nothing downstream ever sees
bytes: UTF-8, UTF-16 with or without BOM (``wsl.exe``), CRLF line ends and the Windows console's
OEM code page (cp437, cp850, cp936 …) are all handled.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import sh

from wsltui.snapshot import Record

DEFAULT_TIMEOUT = 5.0
NEEDS_ROOT = "needs root: sudo would ask for a password (run wsltui as root, or `sudo -v` first)"

# Linux tools translate their output (ufw, firewall-cmd); parsers read the untranslated form.
_LINUX_LOCALE = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class Job:
    """A command to run: what to call it, the argv, and how."""

    name: str
    argv: tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT
    as_root: bool = False
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: bytes | None = None
    encoding: str | None = None  # an expected legacy code page (e.g. "cp936"), tried after UTF-8
    search_path: tuple[str, ...] = ()  # extra directories to find argv[0] in (Windows tools)


# What runs a Job: ``run`` itself, or a stand-in a test passes to a builder that takes ``runner=``.
Runner = Callable[[Job], Record]


def is_root() -> bool:
    return os.geteuid() == 0


def resolve(program: str, extra_dirs: Iterable[str] = ()) -> str | None:
    """Absolute path of ``program`` from PATH, then ``extra_dirs``; None when not found."""
    if os.sep in program:
        return program if os.access(program, os.X_OK) else None
    found = shutil.which(program)
    if found:
        return found
    for d in extra_dirs:
        candidate = os.path.join(d, program)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def run(job: Job) -> Record:
    """Run one job. Never raises (except KeyboardInterrupt)."""
    start = time.monotonic()

    def record(
        stdout: bytes = b"", stderr: bytes = b"", exit_code: int | None = None, error: str | None = None
    ) -> Record:
        return Record(
            name=job.name,
            argv=tuple(job.argv),
            stdout=decode(stdout, job.encoding),
            stderr=decode(stderr, job.encoding),
            exit_code=exit_code,
            seconds=round(time.monotonic() - start, 4),
            error=error,
        )

    if not job.argv:
        return record(error="empty command")
    program = resolve(job.argv[0], job.search_path)
    if program is None:
        return record(error=f"{job.argv[0]}: command not found")
    argv = [program, *job.argv[1:]]
    if job.as_root and not is_root():
        sudo = resolve("sudo")
        if sudo is None:
            return record(error="needs root: not running as root and sudo is not installed")
        argv = [sudo, "-n", "--", *argv]

    env = {**os.environ, **_LINUX_LOCALE, **job.env}
    # The timeout is our own timer, not sh's ``_timeout``: sh polls for it every 0.1 s, which
    # added ~100 ms to every command, however fast. The command gets its own process group (not
    # session: sudo's timestamp is per session), so a timeout also kills what it started, which
    # would otherwise hold the output pipes open.
    timed_out = threading.Event()
    timer = proc = None
    try:
        proc = sh.Command(argv[0])(
            *argv[1:],
            _bg=True,
            _bg_exc=False,
            _new_group=True,
            _ok_code=list(range(256)),
            _return_cmd=True,
            _tty_out=False,
            _tty_in=False,
            _cwd=job.cwd,
            _env=env,
            _in=job.stdin,
            _decode_errors="replace",
        )
        timer = threading.Timer(job.timeout, _kill, (proc, timed_out))
        timer.daemon = True
        timer.start()
        proc.wait()
        out, err, code = proc.stdout, proc.stderr, proc.exit_code
    except KeyboardInterrupt:  # ctrl+c: what the command started goes too (it has its own process group)
        if proc is not None:
            _kill(proc, threading.Event())
        raise
    except sh.ErrorReturnCode as e:  # killed by a signal (negative exit code): by our timer or not
        if timed_out.is_set():
            return record(
                e.stdout or b"", e.stderr or b"", exit_code=e.exit_code, error=f"timed out after {job.timeout:g} s"
            )
        return record(e.stdout or b"", e.stderr or b"", exit_code=e.exit_code, error=f"killed by signal {-e.exit_code}")
    except OSError as e:
        return record(error=f"{job.argv[0]}: {e.strerror or e}")
    except Exception as e:  # sh raises assorted things on odd failures; a probe must never raise
        return record(error=f"{job.argv[0]}: {type(e).__name__}: {e}")
    finally:
        if timer is not None:
            timer.cancel()

    if job.as_root and not is_root() and code == 1 and _sudo_refused(err):
        return record(out, err, code, error=NEEDS_ROOT)
    return record(out, err, code)


def _kill(proc, timed_out: threading.Event) -> None:
    timed_out.set()
    try:
        proc.signal_group(signal.SIGKILL)
    except (ProcessLookupError, OSError):
        pass  # it ended just now


def _sudo_refused(stderr: bytes) -> bool:
    text = stderr.decode("utf-8", "replace")
    return "password is required" in text or "a terminal is required" in text or "no tty present" in text


SUDO_TIMEOUT = 15.0  # sudo may wait a few seconds after a wrong password (pam_faildelay)


def sudo_validate(password: bytes, timeout: float = SUDO_TIMEOUT) -> Record:
    """Refresh sudo's credential timestamp: ``sudo -S -p '' -v`` with ``password`` on stdin, so
    the probes' ``sudo -n`` calls that follow run without a prompt. ``ok`` means it worked;
    otherwise ``stderr`` says why (wrong password, not in sudoers).

    The password is only ever stdin: never in argv, the environment or the returned Record.
    ``-p ''`` keeps sudo's prompt out of stderr. sudo's default timestamp is per terminal, and
    the child shares wsltui's session (``run`` never starts a new one), so the later probes
    find the fresh timestamp."""
    sudo = resolve("sudo")
    if sudo is None:
        return Record(
            name="sudo.validate",
            argv=("sudo", "-S", "-p", "", "-v"),
            stdout="",
            exit_code=None,
            error="sudo is not installed",
        )
    return run(Job("sudo.validate", (sudo, "-S", "-p", "", "-v"), timeout=timeout, stdin=password + b"\n"))


def run_all(jobs: Sequence[Job]) -> list[Record]:
    """Run independent jobs concurrently; results in the order given."""
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(jobs)), thread_name_prefix="probe") as pool:
        return list(pool.map(run, jobs))


# --- decoding -------------------------------------------------------------------------------


def decode(data: bytes, encoding: str | None = None) -> str:
    """Bytes from any tool -> text with ``\\n`` line ends. Never raises.

    Order: a BOM wins; then UTF-16 without BOM (every other byte NUL, as ``wsl.exe`` writes);
    then strict UTF-8; then the expected legacy code page; then UTF-8 with replacement.
    """
    if not data:
        return ""
    text: str | None = None
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            text = data[len(bom) :].decode(codec, errors="replace")
            break
    if text is None and _looks_utf16(data):
        le = data[1::2].count(0) > data[0::2].count(0)
        text = data.decode("utf-16-le" if le else "utf-16-be", errors="replace")
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    if text is None and encoding:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            text = None
    if text is None:
        text = data.decode("utf-8", errors="replace")
    return _CR_LF.sub("\n", text).replace("\r", "\n")


_CR_LF = re.compile(r"\r+\n")  # netsh writes "\r\r\n"


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 text of mostly ASCII has a NUL in every other byte."""
    n = min(len(data), 400)
    if n < 4:
        return False
    sample = data[:n]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return max(even, odd) >= 0.4 * (n // 2) and min(even, odd) <= 0.05 * (n // 2)


# --- background processes (the live test's watch and temporary listener) --------------------


class Background:
    """A command that runs while something else happens (``nft monitor trace``, a temporary
    listener), started by ``start``. Its stdout is read line by line as it comes (``wait_for``);
    ``stop`` ends its whole process group and returns the Record. ``deadline`` is the timeout:
    it is killed then even if nobody calls ``stop``."""

    def __init__(self, job: Job, proc, argv: list[str]) -> None:
        self.job, self._proc, self._argv = job, proc, argv
        self.pid = proc.pid
        self._start = time.monotonic()
        self._lines: list[str] = []
        self._err = b""
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"bg-{job.name}")
        self._reader.start()
        self._timer = threading.Timer(job.timeout, self._kill)
        self._timer.daemon = True
        self._timer.start()
        self.timed_out = False

    def _read(self) -> None:
        for raw in iter(self._proc.stdout.readline, b""):
            with self._seen:
                self._lines.append(decode(raw, self.job.encoding).rstrip("\n"))
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    @property
    def lines(self) -> list[str]:
        with self._seen:
            return list(self._lines)

    def running(self) -> bool:
        return self._proc.poll() is None

    def wait_for(self, predicate, timeout: float) -> str | None:
        """The first line (seen so far or arriving within ``timeout``) for which ``predicate``
        is true; None when none came (or the command ended)."""
        deadline = time.monotonic() + timeout
        checked = 0
        with self._seen:
            while True:
                for line in self._lines[checked:]:
                    if predicate(line):
                        return line
                checked = len(self._lines)
                left = deadline - time.monotonic()
                if left <= 0 or (not self._reader.is_alive() and checked == len(self._lines)):
                    return None
                self._seen.wait(left)

    def _kill(self, sig: int = signal.SIGKILL) -> None:
        if sig == signal.SIGKILL and self._proc.poll() is None:
            self.timed_out = True
        try:
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self) -> Record:
        """Wait until it ends (or its timeout kills it), then its Record. A ctrl+c meanwhile
        stops it before the KeyboardInterrupt goes on."""
        try:
            self._proc.wait()
        finally:
            record = self.stop()
        return record

    def stop(self, grace: float = 0.5) -> Record:
        """SIGTERM to its process group, SIGKILL after ``grace`` seconds; then the Record."""
        self._timer.cancel()
        _running.discard(self)
        if self._proc.poll() is None:
            self._kill(signal.SIGTERM)
            try:
                self._proc.wait(grace)
            except Exception:
                self._kill(signal.SIGKILL)
                self._proc.wait()
        self._reader.join(2)
        try:
            self._err = self._proc.stderr.read() or b""
        except (OSError, ValueError):
            pass
        for stream in (self._proc.stdout, self._proc.stderr):
            stream.close()
        code = self._proc.returncode
        error = f"timed out after {self.job.timeout:g} s" if self.timed_out else None
        return Record(
            name=self.job.name,
            argv=tuple(self.job.argv),
            stdout="".join(l + "\n" for l in self.lines),
            stderr=decode(self._err, self.job.encoding),
            exit_code=code,
            seconds=round(time.monotonic() - self._start, 4),
            error=error,
        )


def _own_group_dying_with(parent: int) -> Callable[[], None]:
    """What the child runs before exec: its own process group, not session (sudo's timestamp is
    per session), and SIGKILL when the thread that started it ends — so even a SIGKILLed wsltui
    leaves no background process behind (prctl PR_SET_PDEATHSIG, Linux). A parent that died
    between the fork and the prctl is seen as a changed parent id: the child ends at once
    (prctl(2) names this race)."""

    def in_child() -> None:
        os.setpgrp()
        _libc().prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(1)

    return in_child


def _libc() -> ctypes.CDLL:
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None)
    return _LIBC


_LIBC: ctypes.CDLL | None = None


def start(job: Job) -> Background | Record:
    """Start ``job`` in the background, in its own process group (so ``stop`` ends what it
    started too, and a ctrl+c at the terminal reaches wsltui, which then stops it). Returns the
    Record of the failure when it cannot start (never raises)."""
    import subprocess

    program = resolve(job.argv[0], job.search_path) if job.argv else None
    if program is None:
        return Record(
            name=job.name,
            argv=tuple(job.argv),
            stdout="",
            exit_code=None,
            error=f"{job.argv[0] if job.argv else ''}: command not found" if job.argv else "empty command",
        )
    argv = [program, *job.argv[1:]]
    if job.as_root and not is_root():
        sudo = resolve("sudo")
        if sudo is None:
            return Record(
                name=job.name,
                argv=tuple(job.argv),
                stdout="",
                exit_code=None,
                error="needs root: not running as root and sudo is not installed",
            )
        argv = [sudo, "-n", "--", *argv]
    _libc()  # loaded here, not in the child between fork and exec
    with _Deferred() as deferred:  # a ctrl+c now would leave the process running, unknown to anyone
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=job.cwd,
                env={**os.environ, **_LINUX_LOCALE, **job.env},
                preexec_fn=_own_group_dying_with(os.getpid()),
            )
        except OSError as e:
            return Record(
                name=job.name,
                argv=tuple(job.argv),
                stdout="",
                exit_code=None,
                error=f"{job.argv[0]}: {e.strerror or e}",
            )
        bg = Background(job, proc, argv)
        _running.add(bg)
    if deferred.signals:  # it came meanwhile: stop what was started, then let it act
        bg.stop()
        for sig in deferred.signals:
            signal.raise_signal(sig)
    return bg


_running: set[Background] = set()


def still_running() -> list[Background]:
    """The background processes started and not stopped yet (for a ``finally`` that must end them)."""
    return [bg for bg in list(_running)]


class _Deferred:
    """Holds SIGINT and SIGTERM back for a few lines (main thread only; elsewhere they cannot
    interrupt anyway) and says which came."""

    def __init__(self) -> None:
        self.signals: list[int] = []
        self._old: dict = {}

    def __enter__(self) -> _Deferred:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, lambda s, _f: self.signals.append(s))
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
