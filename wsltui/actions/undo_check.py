"""Is a journal entry's undo what wsltui itself writes? ``wsltui undo`` runs the journal's
commands as root (or elevated on Windows), so each one is checked first against the shapes the
plan builders produce: the same tool (a bare name, found on PATH the way apply ran it), the same
kind of arguments, and for files only the paths persistence writes, copied back only from the
entry's own backup. Anything else refuses the whole undo: a journal that was edited by hand (or
by someone else) never runs.

Pure: reads nothing but the entry (the elevated step's script is decoded from its argv).
"""

from __future__ import annotations

import re
from typing import Any
from pathlib import Path

from wsltui.actions import state as st
from wsltui.actions import windows
from wsltui.actions.plan import IPTABLES_FRONT_ENDS, ActionError, Plan
from wsltui.actions.scopes import nft_handle_ref

_IPT_OPS = ("-A", "-D", "-I", "-R")
_IPT_FORBIDDEN = re.compile(r"^(--modprobe\b|-M$)")  # iptables runs the --modprobe command
_TABLE = re.compile(r"^(filter|nat|mangle|raw|security)$")
_CHAIN = re.compile(r"^[A-Za-z0-9_.:@+-]{1,64}$")
_NFT_FLAGS = ("-a", "--echo", "--handle")
_NFT_VERBS = ("add", "insert", "delete", "replace")
_NFT_FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
_NFT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]{0,63}$")
_UFW_VERBS = ("allow", "deny", "reject", "limit", "delete", "insert", "prepend", "route")
_UFW_WORD = re.compile(r"^[A-Za-z0-9_.:/,*-]{1,100}$")
_FIREWALLD_ARG = re.compile(
    r"^(--permanent|--reload|--zone=[A-Za-z0-9_-]{1,64}|--load-zone-defaults=[A-Za-z0-9_-]{1,64}"
    r"|--(add|remove)-(port|service|source|source-port|protocol|icmp-block|interface|forward-port"
    r"|rich-rule|masquerade)(=[^\n\r]*)?)$"
)
# The files persistence writes (as the booted system names them; see wsltui.actions.persist).
_PERSIST_FILES = re.compile(r"^/etc/(iptables/rules\.v[46]|nftables\.conf|wsl\.conf|wsltui/[A-Za-z0-9_.-]+)$")


def problems(entry: dict[str, Any], plan: Plan, base: Path) -> list[str]:
    """Why ``entry``'s undo is not wsltui's own (empty: it is). ``plan``: the entry's plan, read;
    ``base``: the state directory."""
    out = [
        f"it restores nft table {family!r} {name!r}, not a table name"
        for family, name in plan.nft_tables()
        if family not in _NFT_FAMILIES or not _NFT_NAME.match(name)
    ]
    backup = base / "backups" / str(entry.get("id"))
    if Path(str(entry.get("backup", ""))) != backup:
        out.append(f"its backup {entry.get('backup')!r} is not {backup}")
    for target in plan.backup_targets():
        if target.startswith("file:") and not _persist_path(target[len("file:") :]):
            out.append(f"it restores {target[len('file:') :]!r}, a file wsltui never writes")
    for argv in entry.get("undo") or []:
        why = command_problem(argv, backup)
        if why:
            out.append(f"{' '.join(argv)[:200]!r}: {why}")
    return out


def command_problem(argv: list[str], backup: Path) -> str | None:
    """Why ``argv`` is not an undo step wsltui writes (None when it is)."""
    if not argv:
        return "an empty command"
    if any("\n" in a or "\r" in a or "\0" in a for a in argv):
        return "a line break in an argument"
    tool = argv[0]
    if tool in IPTABLES_FRONT_ENDS or tool in ("iptables", "ip6tables"):
        return _iptables(argv[1:])
    if tool == "nft":
        return _nft(argv[1:])
    if tool == "ufw":
        return _ufw(argv[1:])
    if tool == "firewall-cmd":
        bad = [a for a in argv[1:] if not _FIREWALLD_ARG.match(a)]
        return f"firewall-cmd with {bad[0]!r}, an option wsltui never uses" if bad or len(argv) == 1 else None
    if tool in ("cp", "rm", "rmdir"):
        return _file_step(argv, backup)
    if tool == windows.POWERSHELL[0]:
        return _elevated(argv)
    return f"{tool!r} is not a tool wsltui runs"


def _iptables(args: list[str]) -> str | None:
    if args[:1] == ["-t"]:
        if len(args) < 2 or not _TABLE.match(args[1]):
            return "not an iptables table"
        args = args[2:]
    if len(args) < 2 or args[0] not in _IPT_OPS or not _CHAIN.match(args[1]):
        return "not an iptables rule insert, append, replace or delete"
    if any(_IPT_FORBIDDEN.match(a) for a in args):
        return "an iptables option that runs a program"
    return None


def _nft(args: list[str]) -> str | None:
    if args in (["-a", "list", "ruleset"], ["list", "ruleset"]):
        return None  # the harmless placeholder apply records for a step whose handle it lost
    while args[:1] and args[0] in _NFT_FLAGS:
        args = args[1:]
    if (
        len(args) < 5
        or args[0] not in _NFT_VERBS
        or args[1] != "rule"
        or args[2] not in _NFT_FAMILIES
        or not (_NFT_NAME.match(args[3]) and _NFT_NAME.match(args[4]))
    ):
        return "not an nft rule add, insert, replace or delete"
    rest = [a for a in args[5:] if nft_handle_ref(a) is None]
    if any(";" in a or "include" in a.split() or a.startswith("-") for a in rest):
        return "more than one nft rule (a ';', an include or an option)"
    return None


def _ufw(args: list[str]) -> str | None:
    if args[:1] == ["--force"]:
        args = args[1:]
    if not args or args[0] not in _UFW_VERBS:
        return "not a ufw rule change"
    if not all(_UFW_WORD.match(a) for a in args):
        return "a ufw argument wsltui never writes"
    return None


def _persist_path(path: str) -> bool:
    from wsltui.actions.persist import root_dir

    root = str(root_dir())
    booted = "/" + path[len(root) :].lstrip("/") if root != "/" and path.startswith(root.rstrip("/") + "/") else path
    return ".." not in Path(booted).parts and bool(_PERSIST_FILES.match(booted) or booted == "/etc/wsltui")


def _file_step(argv: list[str], backup: Path) -> str | None:
    tool, args = argv[0], argv[1:]
    if tool == "rmdir" and len(args) == 1 and _persist_path(args[0]) and args[0].rstrip("/").endswith("/etc/wsltui"):
        return None
    if tool == "rm" and len(args) == 2 and args[0] == "-f" and _persist_path(args[1]):
        return None
    if (
        tool == "cp"
        and len(args) == 2
        and _persist_path(args[1])
        and args[0] == str(backup / st.backup_name(f"file:{args[1]}"))
    ):
        return None
    return "not a file wsltui writes, or not put back from this change's backup"


def _elevated(argv: list[str]) -> str | None:
    """The step must be exactly what wsltui.actions.windows builds for an undo: a rule toggle
    (with its state check) or the removal of a wsltui allow rule, the result file in %TEMP%."""
    paths = windows.elevated_paths(argv)
    if paths is None:
        return "not an elevated step wsltui builds"
    win, wsl = paths
    # The result file: a wsltui name, and the WSL path is the Windows one through the drive mount
    # (whatever the mount root), so undo never reads or deletes another file.
    m = re.fullmatch(r"([A-Za-z]):\\(.*\\wsltui-[0-9a-f]{12}\.json)", win)
    if (
        m is None
        or ".." in m.group(2).split("\\")
        or not wsl.endswith(f"/{m.group(1).lower()}/" + m.group(2).replace("\\", "/"))
    ):
        return "its result file is not a wsltui file in %TEMP%"
    outer = windows.decode(argv[-1])
    m = re.search(r"-EncodedCommand ([A-Za-z0-9+/=]+)'", outer)
    if m is None:
        return "not an elevated step wsltui builds"
    try:
        inner = windows.decode(m.group(1))
    except ValueError:
        return "not an elevated step wsltui builds"
    for body in _undo_bodies(inner):
        try:
            rebuilt = [*windows.POWERSHELL, windows.encode(windows._outer(windows._inner(body, win), win, wsl))]
        except ActionError:
            continue
        if rebuilt == list(argv):
            return None
    return "its PowerShell is not an undo wsltui builds (a rule toggle or the removal of a wsltui rule)"


# What an undo body's change line looks like; the name is unquoted here and quoted again by
# wsltui's own quoting when the body is rebuilt, so only what wsltui would write compares equal.
_QUOTED = "'((?:[^'\u2018-\u201b\n]|['\u2018-\u201b]{2})*)'"
_TOGGLE = re.compile(rf"^  (Enable|Disable)-(NetFirewall(?:HyperV)?Rule) -Name {_QUOTED}$", re.M)
_REMOVE = re.compile(rf"^  Remove-(NetFirewall(?:HyperV)?Rule) -Name {_QUOTED}$", re.M)


def _unquote(text: str) -> str:
    return re.sub("(['\u2018-\u201b])\\1", "\\1", text)


def _undo_bodies(inner: str) -> list[str]:
    """The bodies wsltui would write for the change the script names (rebuilt, not copied)."""
    out = []
    for m in _TOGGLE.finditer(inner):
        name = windows.quote(_unquote(m.group(3)))
        out.append(
            windows._state_body(
                f"Get-{m.group(2)} -Name {name}",
                f"{m.group(1)}-{m.group(2)} -Name {name}",
                1 if m.group(1) == "Enable" else 2,
            )
        )
    for m in _REMOVE.finditer(inner):
        name = windows.quote(_unquote(m.group(2)))
        if re.fullmatch(r"'wsltui-(in|hv)-(tcp|udp)-\d{1,5}'", name):
            out.append(windows._remove_rule_body(f"Remove-{m.group(1)} -Name {name}", f"Get-{m.group(1)} -Name {name}"))
    return out
