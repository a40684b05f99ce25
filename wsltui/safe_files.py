"""Writing files safely: wsltui often runs as root, in directories other users can write to.

- A new file is created with ``O_CREAT|O_EXCL|O_NOFOLLOW``: never through a link planted at its
  name, never over a file that is already there.
- ``create_unique``: the app's `w` and `f8` write time-stamped names into the current directory
  (or WSLTUI_SCREENSHOT_DIR); a name that is taken gets a counter, never overwritten.
- ``replace``: a path a person named (``-o FILE``) replaces an existing regular file, like other
  tools do, but atomically (a new file beside it, then a rename, which replaces a link itself and
  never writes through it); an existing link or non-regular file at that path is refused.
- ``private_dir``: the state directory, 0700, no symbolic link on the way to it; an existing one
  wsltui owns is put back to 0700.

Modes: PRIVATE (0600) for everything unredacted (snapshots, reports, SVG screens, journal,
backups); SHARED (0644) only for a redacted report, which is meant to be passed around.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

PRIVATE = 0o600
SHARED = 0o644
PRIVATE_DIR = 0o700


def state_dir(environ=None) -> Path:
    """wsltui's private state directory: the journal, backups, stored live tests."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "wsltui"


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_UNIQUE_TRIES = 100


def _bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def create_new(path: str | os.PathLike, data: str | bytes, mode: int = PRIVATE, *, sync: bool = False) -> Path:
    """Create ``path`` with ``data``; FileExistsError when anything (a file, a link) is there."""
    p = Path(path)
    fd = os.open(p, _CREATE, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away; never adds any beyond ``mode``
        _write_all(fd, _bytes(data))
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        p.unlink(missing_ok=True)
        raise
    os.close(fd)
    return p


def create_unique(directory: str | os.PathLike, stem: str, suffix: str, data: str | bytes, mode: int = PRIVATE) -> Path:
    """A new file ``<stem><suffix>`` in ``directory``, or ``<stem>-2<suffix>``, ``-3``...
    when that name is taken (by a file or a planted link alike)."""
    where = Path(directory)
    for n in range(1, _UNIQUE_TRIES + 1):
        try:
            return create_new(where / f"{stem}{'' if n == 1 else f'-{n}'}{suffix}", data, mode)
        except FileExistsError:
            continue
    return create_new(where / f"{stem}-{secrets.token_hex(4)}{suffix}", data, mode)


def refuse_link(path: str | os.PathLike) -> None:
    """OSError when ``path`` is a symbolic link or exists and is not a regular file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise OSError(errno.ELOOP, "is a symbolic link: wsltui does not write through links", str(path))
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "exists and is not a regular file", str(path))


def replace(path: str | os.PathLike, data: str | bytes, mode: int = PRIVATE) -> Path:
    """Write ``path`` atomically: a new file in the same directory, fsynced, renamed over it."""
    p = Path(path)
    refuse_link(p)
    tmp = create_new(p.with_name(f".{p.name}.{secrets.token_hex(4)}.tmp"), data, mode, sync=True)
    try:
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


def _no_links_on_the_way(path: Path) -> None:
    """OSError when a component of ``path`` (absolute) is a symbolic link."""
    for part in [*reversed(path.parents), path]:
        if part.is_symlink():
            raise OSError(errno.ELOOP, "is a symbolic link: wsltui keeps its state only in real directories", str(part))


def private_dir(path: str | os.PathLike) -> Path:
    """``path`` as a directory only its owner can use (0700), created if missing; an existing one
    owned by this user is set back to 0700. OSError when a link is on the way or it is not ours."""
    p = Path(os.path.abspath(path))
    _no_links_on_the_way(p)
    p.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _no_links_on_the_way(p)  # nothing swapped in while it was created
    fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if st.st_uid != os.geteuid():
            raise OSError(
                errno.EPERM,
                f"belongs to another user (uid {st.st_uid}): wsltui keeps its state only in its own directory",
                str(p),
            )
        if stat.S_IMODE(st.st_mode) != PRIVATE_DIR:
            os.fchmod(fd, PRIVATE_DIR)
    finally:
        os.close(fd)
    return p


def open_private(path: str | os.PathLike, flags: int) -> int:
    """A file descriptor on ``path`` (in a private_dir), never through a link; opened to write,
    created 0600 if missing. An existing file this user owns is set back to 0600 (older versions
    wrote 0644)."""
    create = os.O_CREAT if flags & (os.O_WRONLY | os.O_RDWR) else 0
    fd = os.open(path, flags | create | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, PRIVATE)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "is not a regular file", str(path))
        if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) != PRIVATE:
            os.fchmod(fd, PRIVATE)
    except BaseException:
        os.close(fd)
        raise
    return fd
