"""Making iptables and nft changes survive a restart, the way this distro does it.

- ``netfilter-persistent`` (Debian/Ubuntu ``iptables-persistent``): restores
  ``/etc/iptables/rules.v4`` / ``rules.v6`` with the ``iptables-restore`` the alternatives system
  points at. Used when it is installed, systemd runs (WSL: ``[boot] systemd=true``) and that
  ``iptables`` is the backend the rules live in.
- ``nftables.service``: loads ``/etc/nftables.conf``. Used when the unit is installed and
  enabled and systemd runs.
- otherwise a ``/etc/wsl.conf`` ``[boot] command`` that restores a rules file wsltui keeps in
  ``/etc/wsltui/`` (WSL runs it as root at every start of the distro).

Every path lives under a root directory (``root=`` or ``WSLTUI_ROOT``, default ``/``) so tests
work on private copies; the commands written into files name the paths as the booted system
sees them. Every file a plan writes is in its backup, and its undo puts the file back exactly
(or removes it when it did not exist).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from wsltui.actions import state as st
from wsltui.actions.plan import IPTABLES_FRONT_ENDS, ActionError, Plan, PlannedFix, iptables_target, restore_of
from wsltui.actions.scopes import Edit, nft_table_block
from wsltui.probes.runner import Job, Runner, run

WSLTUI_DIR = "/etc/wsltui"
WSL_CONF = "/etc/wsl.conf"
NFT_UNIT_DIRS = ("/lib/systemd/system", "/usr/lib/systemd/system", "/etc/systemd/system")


def root_dir(root: str | os.PathLike | None = None) -> Path:
    return Path(root or os.environ.get("WSLTUI_ROOT") or "/")


def under(root: Path, path: str) -> str:
    """``path`` as the booted system names it -> where it is here."""
    return str(root / path.lstrip("/"))


@dataclass
class Persistence:
    mechanism: str  # netfilter-persistent | nftables.service | wsl-boot
    front_end: str
    rules_file: str  # the path the booted system reads (/etc/iptables/rules.v4 ...)
    why: str  # one sentence: why this mechanism
    boot_command: str = ""  # wsl-boot: the command [boot] runs
    notes: list[str] = field(default_factory=list)


def _resolve(root: Path, path: str, depth: int = 0) -> str:
    """Follow symlinks of ``path`` inside ``root`` (absolute link targets stay inside it)."""
    p = Path(under(root, path))
    if depth > 10 or not p.is_symlink():
        return path
    target = os.readlink(p)
    nxt = target if target.startswith("/") else str(Path(path).parent / target)
    return _resolve(root, os.path.normpath(nxt), depth + 1)


def wsl_conf_value(text: str, section: str, key: str) -> str | None:
    cur = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            cur = line[1:-1].strip().lower()
        elif cur == section and "=" in line and not line.startswith(("#", ";")):
            k, v = line.split("=", 1)
            if k.strip().lower() == key:
                return v.strip()
    return None


def _systemd(root: Path) -> tuple[bool, str]:
    if Path(under(root, "/run/systemd/system")).is_dir():
        return True, "systemd runs"
    conf = Path(under(root, WSL_CONF))
    text = conf.read_text(encoding="utf-8", errors="replace") if conf.is_file() else ""
    if (wsl_conf_value(text, "boot", "systemd") or "").lower() == "true":
        return True, "/etc/wsl.conf starts systemd"
    return False, "systemd does not run (WSL without [boot] systemd=true), so no service restores rules at boot"


def _restorer(front_end: str) -> str:
    return f"{front_end}-restore"


def detect(front_end: str, root: str | os.PathLike | None = None) -> Persistence:
    """How this distro would bring ``front_end``'s rules back after a restart."""
    r = root_dir(root)
    systemd, why_systemd = _systemd(r)
    if front_end in IPTABLES_FRONT_ENDS:
        v6 = front_end.startswith("ip6")
        backend = front_end.split("-")[1]
        installed = (
            Path(under(r, "/usr/sbin/netfilter-persistent")).exists()
            or Path(under(r, "/usr/share/netfilter-persistent/plugins.d")).is_dir()
        )
        alt = _resolve(r, "/usr/sbin/ip6tables" if v6 else "/usr/sbin/iptables")
        alt_backend = "legacy" if "legacy" in alt else "nft" if ("nft" in alt or "xtables" in alt) else ""
        if installed and systemd and alt_backend == backend:
            f = "/etc/iptables/rules.v6" if v6 else "/etc/iptables/rules.v4"
            return Persistence(
                "netfilter-persistent",
                front_end,
                f,
                f"netfilter-persistent is installed and {why_systemd}; "
                f"it restores {f} at boot with the {backend} backend",
            )
        notes = []
        if installed and not systemd:
            notes.append(f"netfilter-persistent is installed but {why_systemd}")
        elif installed:
            notes.append(
                f"netfilter-persistent would restore with the {alt_backend or 'unknown'} backend, these rules "
                f"live in {backend}"
            )
        return _wsl_boot(front_end, f"{WSLTUI_DIR}/{front_end}.rules", notes)
    if front_end == "nft":
        unit = any(Path(under(r, f"{d}/nftables.service")).exists() for d in NFT_UNIT_DIRS)
        enabled = any(
            p.name == "nftables.service" for d in ("/etc/systemd/system",) for p in Path(under(r, d)).glob("*.wants/*")
        )
        conf = "/etc/nftables.conf"
        if unit and enabled and systemd and Path(under(r, conf)).is_file():
            return Persistence(
                "nftables.service",
                front_end,
                conf,
                f"nftables.service is enabled and {why_systemd}; it loads {conf} at boot",
            )
        notes = [
            f"nftables.service is {'not enabled' if unit else 'not installed'}"
            + ("" if systemd else f", and {why_systemd}")
        ]
        return _wsl_boot(front_end, f"{WSLTUI_DIR}/nftables.conf", notes)
    raise ActionError(f"wsltui persists iptables and nft rules; {front_end} keeps its own")


def _wsl_boot(front_end: str, rules_file: str, notes: list[str]) -> Persistence:
    command = f"nft -f {rules_file}" if front_end == "nft" else f"{_restorer(front_end)} {rules_file}"
    return Persistence(
        "wsl-boot",
        front_end,
        rules_file,
        "a [boot] command in /etc/wsl.conf restores it when WSL starts the distro",
        command,
        notes,
    )


def with_boot_command(text: str, command: str) -> str:
    """/etc/wsl.conf with ``command`` added to ``[boot] command`` (after what is there, joined
    with ``; ``), every other line kept byte for byte."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, l in enumerate(lines) if l.strip().lower() == "[boot]"), None)
    if start is None:
        return "".join(lines) + ("\n" if lines else "") + f"[boot]\ncommand = {command}\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("[")), len(lines))
    for i in range(start + 1, end):
        key, sep, value = lines[i].partition("=")
        if sep and key.strip().lower() == "command" and not lines[i].lstrip().startswith(("#", ";")):
            old = value.strip()
            if command in [c.strip() for c in old.split(";")]:
                return "".join(lines)
            lines[i] = f"{key.rstrip()} = {old}; {command}\n" if old else f"{key.rstrip()} = {command}\n"
            return "".join(lines)
    lines.insert(start + 1, f"command = {command}\n")
    return "".join(lines)


def _file_edit(path: str, op: str, item: str, as_root: bool) -> Edit:
    text, err, missing = st.read_file(path, as_root)
    if err:
        raise ActionError(f"cannot read {path}: {err}")
    return Edit(f"file:{path}", "content", op, item, before=[] if missing else [text or ""])


def fixes(
    front_end: str, root: str | os.PathLike | None = None, as_root: bool = True
) -> tuple[list[PlannedFix], list[Edit]]:
    """The steps that make ``front_end``'s current rules come back at boot, and their edits."""
    r = root_dir(root)
    p = detect(front_end, r)
    rules_path = under(r, p.rules_file)
    spec = "nft-native" if front_end == "nft" else f"save:{iptables_target(front_end)}"
    argv: list[list[str]] = []
    undo: list[list[str]] = []
    stdin: list[str | None] = []
    if p.mechanism == "wsl-boot" and not Path(under(r, WSLTUI_DIR)).is_dir():
        argv.append(["mkdir", "-m", "0755", under(r, WSLTUI_DIR)])
        undo.append(["rmdir", under(r, WSLTUI_DIR)])
        stdin.append(None)
    argv.append(["tee", rules_path])
    undo.append(restore_of(rules_path))
    stdin.append(spec)
    edits = [_file_edit(rules_path, "mirror", spec, as_root)]
    note = p.why + "".join(f"; {n}" for n in p.notes)
    if p.mechanism == "wsl-boot":
        conf = under(r, WSL_CONF)
        e = _file_edit(conf, "set", "", as_root)
        new = with_boot_command(e.before[0] if e.before else "", p.boot_command)
        if [new] != e.before:
            e.item = new
            argv.append(["tee", conf])
            undo.append(restore_of(conf))
            stdin.append("text:" + new)
            edits.append(e)
            note += f"; takes effect at the next start of the distro (wsl --shutdown); [boot] command: {p.boot_command}"
    title = f"Keep the {front_end} rules after a restart ({p.mechanism})"
    return [
        PlannedFix(title, front_end, argv, undo, persistent=True, needs_root=as_root, note=note, stdin=stdin)
    ], edits


def plan(front_ends: list[str], root: str | os.PathLike | None = None) -> Plan:
    """A plan that only makes the rules loaded now come back after a restart."""
    out = Plan(
        0,
        "",
        {"name": "persist"},
        kind="persist",
        title="Keep the current " + ", ".join(front_ends) + " rules after a restart",
    )
    for fe in front_ends:
        f, e = fixes(fe, root)
        out.fixes += f
        out.edits += e
    return out


def nft_native_conf(as_root: bool, runner: Runner = run) -> tuple[str, str | None]:
    """An nftables.conf that recreates every native nft table loaded now (not those iptables-nft
    or firewalld own: they restore their own) without touching any other table: each is
    declared, flushed and defined again."""
    from wsltui.facts.nft import parse_nft_json

    js = runner(Job("persist.nft-json", ("nft", "-j", "list", "ruleset"), st.SAVE_TIMEOUT, as_root=as_root))
    text = runner(Job("persist.nft", ("nft", "-s", "list", "ruleset"), st.SAVE_TIMEOUT, as_root=as_root))
    for rec in (js, text):
        if not rec.ok:
            return "", rec.error or rec.stderr.strip() or f"{rec.command} exited {rec.exit_code}"
    out = [
        "#!/usr/sbin/nft -f",
        "# Written by wsltui: the native nft tables that were loaded, each recreated as it was.",
    ]
    for t in parse_nft_json(js.stdout).tables:
        if t.managed_by_iptables or (t.family, t.name) == ("inet", "firewalld"):
            continue
        block = nft_table_block(text.stdout, t.family, t.name)
        if block:
            out += [f"table {t.family} {t.name}", f"flush table {t.family} {t.name}", block]
    return "\n".join(out) + "\n", None


def add_to(plan: Plan, root: str | os.PathLike | None = None) -> Plan:
    """``plan`` with the steps that make its iptables and nft changes survive a restart, after them."""
    for fe in [fe for fe in plan.front_ends if fe in (*IPTABLES_FRONT_ENDS, "nft")]:
        f, e = fixes(fe, root)
        for fix in plan.fixes:
            if fix.front_end == fe:
                fix.persistent = True
        plan.fixes += f
        plan.edits += e
    return plan
