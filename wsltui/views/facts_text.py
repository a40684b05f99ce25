"""`wsltui facts` for people: every section of the Facts, compact and scannable (like
``systemctl status``): a heading per layer, aligned ``key: value`` lines, details dimmed.

Nothing is hidden: a section that could not be read says ``unknown: <reason> (run: <command>)``
in yellow. Text is built with ``rich.text.Text`` (never markup), so rule text such as ``[ufw]`` or
``%%REJECT%%`` prints verbatim; the console (``make_console``) shows control characters as escapes.
No ANSI is printed when piped or when NO_COLOR is set.
"""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.text import Text

from wsltui.views.console import make_console

from wsltui.facts import Facts
from wsltui.facts.base import Unknown
from wsltui.facts.firewalld import Zone
from wsltui.facts.sockets import SocketFacts
from wsltui.records import command_for
from wsltui.vocabulary import NOT_APPLICABLE, ZONE_TARGET_MEANINGS, zone_target

KEY_WIDTH = 19
MAX_PROBLEMS = 3  # problems shown per section (the count says how many there are)
MAX_CHAINS = 5  # user chains named per owner group
MAX_SET_ELEMENTS = 6
# How the snapshot was taken, keyed by meta["root"] (absent: nothing said).
_AS_ROOT: dict[object, str] = {True: "as root", False: "not as root (root-only records are unknown)"}

STATE_STYLE = {
    "running": "green",
    "failed": "bold red",
    "not-running": "dim",
    "no-bus": "dim",
    "not-installed": "dim",
    "unknown": "yellow",
}


def print_facts(facts: Facts, console: Console | None = None) -> None:
    """``console``: one from ``make_console`` (it shows control characters as escapes)."""
    out = _Out(console or make_console())
    _header(out, facts)
    fail = facts.failures.get
    sections = (
        (_wsl, facts.wsl, fail("wsl")),
        (_network, facts.network, fail("network")),
        (_sockets, facts.sockets, fail("sockets")),
        (_iptables, facts.iptables, fail("iptables")),
        (_nft, facts.nft, fail("nft")),
        (_firewalld, facts.firewalld, fail("firewalld")),
        (_ufw, facts.ufw, fail("ufw"), facts.ufw_trap),
    )
    for show, *args in sections:
        try:
            show(out, *args)
        except Exception as e:  # a display bug must not hide the other sections
            out.kv("unknown", Unknown(f"wsltui could not display this ({type(e).__name__}: {e}); please report it"))
    if facts.failures:
        out.heading("Parser failures", "a wsltui bug: please report it with the snapshot")
        for name, why in facts.failures.items():
            out.kv(name, why)


# --- output primitives -------------------------------------------------------------------------


def _v(value) -> Text:
    """A value as text: Unknown in yellow, empty as a dim dash, booleans as yes/no."""
    if isinstance(value, Text):
        return value
    if isinstance(value, Unknown):
        return Text(str(value), style="yellow")
    if value is None or value == "" or value == []:
        return Text("-", style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, (list, tuple)):
        return Text(", ".join(str(v) for v in value))
    return Text(str(value))


def _t(*parts) -> Text:
    """Text from str / (str, style) / Text parts; empty parts are skipped."""
    return Text.assemble(*(p for p in parts if p and (not isinstance(p, tuple) or p[0])))


def _dim(text: str) -> tuple[str, str]:
    return (text, "dim")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


class _Out:
    def __init__(self, console: Console) -> None:
        self.console = console

    def print(self, text: Text) -> None:
        self.console.print(text)

    def heading(self, title: str, note: str = "") -> None:
        self.console.print()
        self.print(_t((title, "bold"), _dim(f"  {note}") if note else ""))

    def line(self, *parts, indent: int = 1) -> None:
        self.print(_t("  " * indent, *parts))

    def kv(self, key: str, value, *more, indent: int = 1) -> None:
        self.line(f"{key}:".ljust(KEY_WIDTH - 2 * (indent - 1)), _v(value), *more, indent=indent)

    def warn(self, text: str, indent: int = 1, style: str = "yellow") -> None:
        self.line(("! ", f"bold {style}"), (text, style), indent=indent)

    def problems(self, problems: list[str], what: str = "", indent: int = 1) -> None:
        if not problems:
            return
        label = f"{_plural(len(problems), 'problem')}" + (f" in {what}" if what else "")
        self.line((label, "yellow"), _dim(" (input not understood; the rest is used)"), indent=indent)
        for p in problems[:MAX_PROBLEMS]:
            self.line(_dim(f"- {p}"), indent=indent + 1)
        if len(problems) > MAX_PROBLEMS:
            self.line(
                _dim(f"... and {len(problems) - MAX_PROBLEMS} more (wsltui facts --json lists them all)"),
                indent=indent + 1,
            )

    def failed(self, failure: Unknown | None) -> None:
        self.kv("unknown", failure or Unknown("this section was not parsed"))


def _header(out: _Out, facts: Facts) -> None:
    meta = facts.meta or {}
    if meta.get("demo"):
        source = f"bundled demo {meta['demo']}"
    else:
        bits = [
            f"host {meta['host']}" if meta.get("host") else "",
            f"taken {meta['taken']}" if meta.get("taken") else "",
            _AS_ROOT.get(meta.get("root"), ""),
        ]
        source = ", ".join(b for b in bits if b) or "snapshot"
    out.print(_t(("wsltui facts", "bold"), _dim(f"  {source}")))
    if facts.ufw_trap:
        out.warn(
            "ufw trap: ufw says inactive, but its legacy iptables rules still filter packets (see ufw below)",
            indent=0,
            style="bold red",
        )


# --- WSL --------------------------------------------------------------------------------------


def _wsl(out: _Out, w, failure: Unknown | None) -> None:
    out.heading("WSL")
    if w is None:
        return out.failed(failure)
    kind = (
        {"wsl2": "WSL2", "wsl1": "WSL1", "not-wsl": "not WSL"}.get(w.kind, w.kind)
        if isinstance(w.kind, str)
        else w.kind
    )
    out.kv("kind", kind)
    out.kv("kernel", w.kernel_release)
    cfg = w.wslconfig
    if isinstance(cfg, Unknown):
        requested = _dim("  requested: unknown (.wslconfig not read)")
    else:
        where = "default" if cfg.networking_mode_source == "default" else f".wslconfig {cfg.networking_mode_source}"
        requested = _dim(f"  requested: {cfg.networking_mode} ({where})")
    mode = w.networking_mode
    raw = _dim(f" (wslinfo: {w.networking_mode_raw})") if w.networking_mode_raw not in (None, mode) else ""
    out.kv(
        "networking mode",
        Text(mode, style="bold") if isinstance(mode, str) else mode,
        raw,
        requested if isinstance(mode, str) and mode != "wsl1" else "",
    )
    if w.mode_mismatch:
        out.warn(w.mode_mismatch, style="red")
    if w.mode_hint:
        out.kv("mode hint", Text(w.mode_hint, style="dim"))
    out.kv("WSL version", w.version)
    conf = w.wsl_conf
    if isinstance(conf, Unknown):
        out.kv("wsl.conf", conf)
    else:
        out.kv(
            "wsl.conf",
            _settings(
                conf.present,
                conf.entries,
                [
                    ("systemd", conf.systemd, "boot.systemd"),
                    ("boot command", conf.boot_command, "boot.command"),
                    ("interop", conf.interop_enabled, "interop.enabled"),
                    ("appendWindowsPath", conf.append_windows_path, "interop.appendwindowspath"),
                ],
            ),
        )
    if isinstance(cfg, Unknown):
        out.kv(".wslconfig", cfg)
    else:
        out.kv(
            ".wslconfig",
            _settings(
                cfg.present,
                cfg.entries,
                [
                    ("localhostForwarding", cfg.localhost_forwarding, "wsl2.localhostforwarding"),
                    ("firewall", cfg.firewall, "wsl2.firewall experimental.firewall"),
                    ("hostAddressLoopback", cfg.host_address_loopback, "experimental.hostaddressloopback"),
                    ("ignoredPorts", ",".join(map(str, cfg.ignored_ports)) or None, "experimental.ignoredports"),
                    ("dnsTunneling", cfg.dns_tunneling, "wsl2.dnstunneling experimental.dnstunneling"),
                ],
            ),
        )
    out.problems(w.problems)
    for name, part in (("wsl.conf", conf), (".wslconfig", cfg)):
        if not isinstance(part, Unknown):
            out.problems(part.problems, name)


def _settings(present: bool, entries, items) -> Text:
    """``key=value`` pairs of a config file; values the file does not set are dimmed."""
    written = {f"{e.section}.{e.key}" for e in entries}
    text = Text() if present else Text("absent, all defaults: ", style="dim")
    for i, (name, value, keys) in enumerate(items):
        shown = "true" if value is True else "false" if value is False else "-" if value is None else str(value)
        explicit = any(k in written for k in keys.split())
        text.append(("  " if i else "") + f"{name}={shown}", style="" if explicit else "dim")
    return text


# --- network ----------------------------------------------------------------------------------


def _network(out: _Out, n, failure: Unknown | None) -> None:
    out.heading("Network")
    if n is None:
        return out.failed(failure)
    if isinstance(n.interfaces, Unknown):
        out.kv("interfaces", n.interfaces)
    else:
        width = max((len(i.name) for i in n.interfaces), default=0) + 2
        states = [
            ("UP", "green") if i.up and i.lower_up else ("UP, no carrier", "yellow") if i.up else ("DOWN", "dim")
            for i in n.interfaces
        ]
        state_w = max((len(s[0]) for s in states), default=0) + 1
        for i, state in zip(n.interfaces, states):
            addrs = Text(", ").join(
                Text(
                    f"{a.address}/{a.prefix}" if a.prefix is not None else a.address,
                    style="dim" if a.scope in ("link", "host") else "",
                )
                for a in i.addresses
            ) or Text("no address", style="dim")
            extra = ", ".join(x for x in (i.kind, f"master {i.master}" if i.master else None) if x)
            out.line(
                (i.name.ljust(width), "bold"),
                (state[0].ljust(state_w), state[1]),
                " ",
                addrs,
                _dim(f"  ({extra})") if extra else "",
            )
    if isinstance(n.routes, Unknown):
        out.kv("routes", n.routes)
    else:
        gws = [f"{gw} ({fam})" for gw, fam in ((n.default_gateway_v4, "IPv4"), (n.default_gateway_v6, "IPv6")) if gw]
        out.kv(
            "default gateway",
            ", ".join(gws) or Text("none (no default route)", style="yellow"),
            _dim(f"  via {n.default_interface}") if n.default_interface else "",
        )
    primary = ", ".join(a for a in (n.primary_address, n.primary_address6) if a)
    out.kv("primary address", primary or None, _dim(f"  on {n.primary_interface}") if n.primary_interface else "")
    out.problems(n.problems)


# --- sockets ----------------------------------------------------------------------------------


def _sockets(out: _Out, s: SocketFacts | None, failure: Unknown | None) -> None:
    listeners = s.listeners if s is not None else None
    out.heading("Listening sockets", f"{len(listeners)}" if isinstance(listeners, list) else "")
    if s is None or listeners is None:
        return out.failed(failure)
    if isinstance(listeners, Unknown):
        return out.kv("listeners", listeners)
    if not listeners:
        out.line(
            _dim("none understood (see the problems)" if s.problems else "none: no TCP or UDP socket is listening")
        )
    rows = sorted(listeners, key=lambda l: (l.port, l.proto, l.family))
    width = max((len(_endpoint(l)) for l in rows), default=0) + 2
    for l in rows:
        owners = ", ".join(f"{_name(p.name)} (pid {p.pid})" for p in l.processes)
        out.line(
            l.proto.ljust(4),
            (_endpoint(l).ljust(width), "bold"),
            l.bind.ljust(9),
            " ",
            _stack(l).ljust(20),
            owners or _dim("owner not visible"),
        )
    if listeners and not s.owners_visible:
        # The snapshot's "root" is about the whole capture, not this record (it may be retaken or pasted).
        out.warn(
            "owners not visible: ss names the processes only when run as root (or they live in another "
            f"PID namespace) (run: sudo {command_for('net.sockets')})"
        )
    out.problems(s.problems)


def _name(name: str | None) -> str:
    """A process name, quoted when it could be misread (ss cuts names at ')')."""
    if not name:
        return "?"
    return f'"{name}"' if any(c in name for c in ' ()",') else name


def _endpoint(l) -> str:
    addr = f"[{l.address}]" if ":" in l.address else l.address
    return f"{addr}{'%' + l.interface if l.interface else ''}:{l.port}"


def _stack(l) -> str:
    if l.family == "ipv4":
        return "IPv4"
    if l.dual_stack:
        return "dual-stack" + ("" if l.v6only_stated else " (assumed)")
    return "IPv6 only (v6only)" if l.v6only else "IPv6"


# --- netfilter: iptables ----------------------------------------------------------------------


def _iptables(out: _Out, f, failure: Unknown | None) -> None:
    out.heading(
        "Netfilter: iptables", "both backends x IPv4/IPv6; built-in chains as NAME POLICY RULES, user chains by [owner]"
    )
    if f is None:
        return out.failed(failure)
    for rs in f.rulesets():
        label = rs.record.removeprefix("nf.") or f"{rs.backend} {rs.family}"
        if rs.unknown is not None:
            out.kv(label, rs.unknown)
            continue
        if not rs.tables:
            out.kv(label, Text("no tables", style="dim"))
        else:
            out.kv(
                label,
                f"{_plural(len(rs.tables), 'table')}, {_plural(rs.rule_count(), 'rule')}",
                _dim(f"  {rs.generated_by}") if rs.generated_by else "",
            )
        for t in rs.tables:
            _iptables_table(out, t)
        if rs.legacy_tables_present:
            out.warn(f"{label} says legacy iptables tables are present as well (see iptables-legacy)", indent=2)
        out.problems(rs.problems, label, indent=2)
    legacy = [
        f"{fam}: {', '.join(names) if names else 'none'}" if names is not None else f"{fam}: unknown"
        for fam, names in (("IPv4", f.legacy_tables), ("IPv6", f.legacy6_tables))
    ]
    out.kv(
        "legacy in kernel",
        "; ".join(legacy),
        _dim("  (/proc/net/ip*_tables_names)")
        if f.legacy_loaded is not None
        else Text("  (not known whether legacy tables are loaded)", style="yellow"),
    )
    for w in f.warnings:
        out.warn(w)


def _iptables_table(out: _Out, t) -> None:
    builtin = Text(", ").join(
        _t(c.name, " ", (c.policy or "-", "" if c.policy == "ACCEPT" else "bold red"), _dim(f" {len(c.rules)}"))
        for c in t.chains
        if c.builtin
    )
    out.line(
        (t.name.ljust(9), "bold"),
        builtin or _dim("no built-in chains"),
        ("   holds nft base chains only `nft list ruleset` shows", "yellow") if t.incompatible else "",
        indent=2,
    )
    groups: dict[str, list] = defaultdict(list)
    for c in t.chains:
        if not c.builtin:
            groups[c.owner].append(c)
    for owner, chains in groups.items():
        busy = sorted(chains, key=lambda c: -len(c.rules))[:MAX_CHAINS]
        names = ", ".join(f"{c.name} {len(c.rules)}" for c in busy)
        more = f", +{len(chains) - len(busy)} more" if len(chains) > len(busy) else ""
        out.line(
            " " * 9,
            (f"[{owner}] ", "cyan"),
            f"{_plural(len(chains), 'chain')}, {_plural(sum(len(c.rules) for c in chains), 'rule')}: ",
            _dim(names + more),
            indent=2,
        )


# --- netfilter: nftables ----------------------------------------------------------------------

HOOK_ORDER = {"ingress": 0, "prerouting": 1, "input": 2, "forward": 3, "output": 4, "postrouting": 5, "egress": 6}


def _nft(out: _Out, rs, failure: Unknown | None) -> None:
    out.heading("Netfilter: nftables", f"nft {rs.version}" if rs is not None and rs.version else "")
    if rs is None:
        return out.failed(failure)
    if rs.unknown is not None:
        out.kv("ruleset", rs.unknown)
    elif not rs.tables:
        out.line(_dim("no tables"))
    for t in rs.tables:
        base = [c for c in t.chains if c.base]
        owner = ("managed by iptables-nft", "cyan") if t.managed_by_iptables else ("native", "green")
        out.line(
            (f"table {t.family} {t.name}", "bold"),
            "  ",
            owner,
            _dim(
                f"  {_plural(len(t.chains), 'chain')} ({len(base)} base), "
                f"{_plural(sum(len(c.rules) for c in t.chains), 'rule')}, {_plural(len(t.sets), 'set')}"
                + (f"; flags {','.join(t.flags)}" if t.flags else "")
            ),
        )
        rows = [
            (c, f"{c.type} hook {c.hook}", f"priority {c.priority_text}")
            for c in sorted(base, key=lambda c: (HOOK_ORDER.get(c.hook, 9), c.priority or 0))
        ]
        width = max([len(c.name) for c in base] + [len(s.name) + 4 for s in t.sets], default=0) + 2
        hook_w = max((len(r[1]) for r in rows), default=0) + 2
        prio_w = max((len(r[2]) for r in rows), default=0) + 2
        for c, hook, prio in rows:
            out.line(
                c.name.ljust(width),
                hook.ljust(hook_w),
                prio.ljust(prio_w),
                "policy ",
                (c.policy, "bold red" if c.policy == "drop" else ""),
                _dim(f"  {_plural(len(c.rules), 'rule')}"),
                indent=2,
            )
        for s in t.sets:
            kind = f"map {s.name}" if s.is_map else f"set {s.name}"
            typ = s.type + (f" : {s.map_type}" if s.is_map else "")
            elems = ", ".join(e.text for e in s.elements[:MAX_SET_ELEMENTS])
            if len(s.elements) > MAX_SET_ELEMENTS:
                elems += f", +{len(s.elements) - MAX_SET_ELEMENTS} more"
            out.line(
                kind.ljust(width),
                typ.ljust(max(hook_w, len(typ) + 2)),
                _plural(len(s.elements), "element"),
                _dim(f"  {{ {elems} }}") if elems else "",
                _dim(f"  flags {','.join(s.flags)}") if s.flags else "",
                indent=2,
            )
    out.problems(rs.problems)


# --- firewalld --------------------------------------------------------------------------------


def _firewalld(out: _Out, f, failure: Unknown | None) -> None:
    out.heading("firewalld")
    if f is None:
        return out.failed(failure)
    out.kv(
        "state",
        f.unknown or Text(f.state, style=STATE_STYLE.get(f.state, "")),
        _dim(f"  {f.reason}") if f.reason and not f.unknown else "",
    )
    if f.running is False:
        out.kv("zones", Text(f"{NOT_APPLICABLE} firewalld is not running", style="dim"))
        return out.problems(f.problems)
    out.kv("default zone", f.default_zone_unknown or f.default_zone)
    if f.active_unknown:
        out.kv("active zones", f.active_unknown)
    elif not f.active_zones:
        out.kv("active zones", Text("none bound (the default zone applies to every interface)", style="dim"))
    for az in f.active_zones:
        out.kv(
            "active zone",
            Text(az.name, style="bold"),
            f"  interfaces: {' '.join(az.interfaces) or '-'}",
            f"  sources: {' '.join(az.sources) or '-'}",
        )
    if f.zones_unknown:
        out.kv("zones", f.zones_unknown)
    active = {az.name for az in f.active_zones}
    shown: list[Zone] = []
    others: list[Zone] = []
    for z in f.zones:
        (shown if z.active or z.default or z.name in active or z.name == f.default_zone else others).append(z)
    for z in shown:
        _zone(out, z, f.default_zone, active)
    if others:
        out.kv(
            "other zones", Text(" ".join(z.name for z in others), style="dim"), _dim(f"  ({len(others)}, not in use)")
        )
    out.problems(f.problems)


def _zone(out: _Out, z, default_zone: str | None, active: set[str]) -> None:
    flags = [
        w
        for w, on in (("default", z.default or z.name == default_zone), ("active", z.active or z.name in active))
        if on
    ]
    out.line(("zone ", "bold"), (z.name, "bold"), _dim(f"  ({', '.join(flags)})"), indent=1)
    meaning = ZONE_TARGET_MEANINGS.get(z.target_action, "")
    out.kv("target", zone_target(z.target) if z.target else None, _dim(f"  ({meaning})") if meaning else "", indent=2)
    for key, value in (("interfaces", z.interfaces), ("sources", z.sources)):
        if value:
            out.kv(key, " ".join(value), indent=2)
    out.kv("services", " ".join(z.services) or None, indent=2)
    out.kv("ports", " ".join(p.text for p in z.ports) or None, indent=2)
    for key, value in (
        ("protocols", z.protocols),
        ("source-ports", [p.text for p in z.source_ports]),
        ("forward-ports", [p.text for p in z.forward_ports]),
        ("icmp-blocks", z.icmp_blocks),
    ):
        if value:
            out.kv(key, " ".join(value), indent=2)
    if z.masquerade:
        out.kv("masquerade", True, indent=2)
    out.kv("rich rules", len(z.rich_rules) if z.rich_rules else None, indent=2)
    for r in z.rich_rules:
        out.line(r.text, ("" if r.parsed else "  (not understood)", "yellow"), indent=3)


# --- ufw --------------------------------------------------------------------------------------


def _ufw(out: _Out, u, failure: Unknown | None, trap: str | None) -> None:
    out.heading("ufw")
    if trap:
        out.warn(f"TRAP: {trap}", style="bold red")
    if u is None:
        return out.failed(failure)
    if u.unknown is not None:
        status = u.unknown
    elif u.installed is False:
        status = Text("not installed", style="dim")
    else:
        status = Text("active", style="green") if u.active else Text("inactive", style="dim")
    out.kv("status", status, _dim(f"  {u.reason}") if u.reason and u.unknown is None else "")
    defaults = ", ".join(
        f"{v} ({k})"
        for k, v in (("incoming", u.default_incoming), ("outgoing", u.default_outgoing), ("routed", u.default_routed))
        if v
    )
    if defaults:
        out.kv("defaults", defaults)
    if u.logging:
        out.kv("logging", u.logging + (f" ({u.logging_level})" if u.logging_level else ""))
    if u.rules or u.active:
        out.kv("rules", len(u.rules) or None)
    for r in u.rules:
        out.line(_dim(f"[{r.number or r.position:>2}] "), r.text, indent=2)
    out.problems(u.problems)
