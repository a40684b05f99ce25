"""Generate the firewalld and ufw golden snapshots from the REAL daemons (needs root).

Each case builds a namespace pair (prefix ``gfw``, subnets 10.77.60-67.0/24), configures the real
firewalld (private D-Bus, private /etc/firewalld copy) or ufw (private /etc/ufw copies), and captures
a snapshot directory with wsltui's own probes inside the server namespace, into
``tests/golden/firewalld-<case>/`` and ``tests/golden/ufw-<case>/``. The host's own firewall and
configuration are never touched; daemons are stopped by PID and namespaces deleted at the end.

    sudo python tests/golden/gen_firewalld_ufw.py            # rewrites tests/golden/{firewalld,ufw}-*
    sudo python tests/golden/gen_firewalld_ufw.py ufw-active  # only some cases

What each case configured is written to ``<case>/CASE.md`` so a reader of the golden knows what
the parse must show.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "support"))

from realtools import Firewalld, NetnsPair, Ufw, ns_run  # noqa: E402

PREFIX = "gfw"

# Rich rules put on zone public in case firewalld-configured (added with --add-rich-rule, runtime).
# ``{cli}``/``{net}`` are filled with the client address / the pair's /24.
RICH_RULES = (
    'rule family="ipv4" source address="{cli}" port port="8081" protocol="tcp" reject type="tcp-reset"',
    'rule family="ipv4" source NOT address="{net}" service name="ssh" drop',
    'rule priority="-10" family="ipv4" source address="192.168.50.0/24" log prefix="wsl-in " level="info" limit value="3/m" accept',
    'rule priority="5" family="ipv6" destination address="fd77::/16" port port="9000-9010" protocol="udp" accept',
    'rule family="ipv4" forward-port port="8443" protocol="tcp" to-port="443" to-addr="{cli}"',
    'rule protocol value="gre" accept',
    'rule family="ipv4" source address="10.9.9.9" reject',
    'rule family="ipv4" source address="10.8.8.8" audit drop',
    'rule family="ipv6" source address="fd00::/8" destination NOT address="fd77::1" port port="5000" protocol="tcp" reject type="icmp6-adm-prohibited"',
    'rule family="ipv4" source address="10.5.5.5" mark set="0x1/0xff"',
    'rule family="ipv4" source address="10.4.4.4" icmp-block name="echo-request"',
)

POLICY = "wslhost"


def _write_case(out: Path, description: str, timings: dict[str, float], name: str, started: float) -> None:
    (out / "CASE.md").write_text(description.strip() + "\n")
    timings[name] = round(time.monotonic() - started, 2)


def _stop(fw: Firewalld) -> None:
    fw.stop()
    shutil.rmtree(fw.workdir, ignore_errors=True)


# --- firewalld ------------------------------------------------------------------------------


def case_firewalld_default(root: Path, index: int, timings: dict) -> None:
    started = time.monotonic()
    with NetnsPair(f"{PREFIX}{index}", index) as pair:
        fw = Firewalld(pair.srv)
        try:
            out = pair.snapshot(root / "firewalld-default", env=fw.env, binds=fw.binds)
        finally:
            _stop(fw)
    _write_case(
        out,
        """
firewalld 1.3.3, FirewallBackend=nftables, the Debian default configuration, untouched.
No interface or source is bound (no NetworkManager, as in WSL), so --get-active-zones is empty
and the default zone `public` applies to every interface. Zones: block dmz drop external home
internal public trusted work.
""",
        timings,
        "firewalld-default",
        started,
    )


def case_firewalld_configured(root: Path, index: int, timings: dict) -> None:
    started = time.monotonic()
    with NetnsPair(f"{PREFIX}{index}", index) as pair:
        net = f"10.77.{index}.0/24"
        fw = Firewalld(pair.srv)
        try:
            p = ("--permanent",)
            # Permanent part (then --reload): a source zone, targets, a policy object.
            fw.cmd(*p, "--new-zone=wsl")
            fw.cmd(*p, "--zone=wsl", f"--add-source={net}")
            fw.cmd(*p, "--zone=wsl", "--add-port=8081/tcp")
            fw.cmd(*p, "--zone=wsl", "--add-port=3000-3005/tcp")
            fw.cmd(*p, "--zone=wsl", "--add-service=http")
            fw.cmd(*p, "--zone=wsl", "--add-masquerade")
            fw.cmd(*p, "--zone=work", "--set-target=DROP")
            fw.cmd(*p, "--zone=work", "--add-source=10.99.0.0/16")
            fw.cmd(*p, "--zone=home", "--set-target=REJECT")
            fw.cmd(*p, "--zone=internal", "--set-target=ACCEPT")
            fw.cmd(*p, "--zone=dmz", "--add-icmp-block-inversion")
            fw.cmd(*p, "--zone=dmz", "--add-icmp-block=echo-request")
            fw.cmd(*p, f"--new-policy={POLICY}")
            fw.cmd(*p, f"--policy={POLICY}", "--add-ingress-zone=wsl")
            fw.cmd(*p, f"--policy={POLICY}", "--add-egress-zone=HOST")
            fw.cmd(*p, f"--policy={POLICY}", "--add-port=9100/tcp")
            fw.cmd("--reload")
            # Runtime part.
            fw.cmd("--zone=public", f"--add-interface={pair.srv_if}")
            fw.cmd("--zone=public", "--add-port=8080/tcp", "--add-port=60000-61000/udp")
            fw.cmd("--zone=public", "--add-service=http", "--add-service=https")
            fw.cmd("--zone=public", "--add-protocol=gre")
            fw.cmd("--zone=public", "--add-source-port=5353/udp")
            fw.cmd("--zone=public", "--add-icmp-block=echo-request", "--add-icmp-block=timestamp-request")
            fw.cmd("--zone=public", "--add-masquerade")
            fw.cmd("--zone=public", "--add-forward-port=port=2222:proto=tcp:toport=22")
            fw.cmd("--zone=public", f"--add-forward-port=port=8000:proto=tcp:toport=80:toaddr={pair.cli_ip}")
            fw.cmd("--zone=public", f"--add-forward-port=port=5353:proto=udp:toaddr={pair.cli_ip}")
            for rule in RICH_RULES:
                fw.cmd("--zone=public", "--add-rich-rule=" + rule.format(cli=pair.cli_ip, net=net))
            out = pair.snapshot(root / "firewalld-configured", env=fw.env, binds=fw.binds)
        finally:
            _stop(fw)
    rules = "\n".join("    " + r.format(cli=pair.cli_ip, net=net) for r in RICH_RULES)
    _write_case(
        out,
        f"""
firewalld 1.3.3, FirewallBackend=nftables, default zone public.

Permanent, then --reload:
  new zone wsl: source {net}, ports 8081/tcp 3000-3005/tcp, service http, masquerade
  work: target DROP, source 10.99.0.0/16
  home: target REJECT (%%REJECT%%)
  internal: target ACCEPT
  dmz: icmp-block-inversion, icmp-block echo-request
  policy {POLICY}: ingress wsl -> egress HOST, port 9100/tcp (only visible in nf.nft)
Runtime:
  public: interface {pair.srv_if}; ports 8080/tcp 60000-61000/udp; services + http https;
          protocol gre; source-port 5353/udp; icmp-blocks echo-request timestamp-request;
          masquerade; forward-ports port=2222:proto=tcp:toport=22,
          port=8000:proto=tcp:toport=80:toaddr={pair.cli_ip}, port=5353:proto=udp:toaddr={pair.cli_ip}
  public rich rules:
{rules}
""",
        timings,
        "firewalld-configured",
        started,
    )


def case_firewalld_iptables(root: Path, index: int, timings: dict) -> None:
    started = time.monotonic()
    with NetnsPair(f"{PREFIX}{index}", index) as pair:
        fw = Firewalld(pair.srv, backend="iptables")
        try:
            fw.cmd("--zone=public", f"--add-interface={pair.srv_if}")
            fw.cmd("--zone=public", "--add-port=8080/tcp")
            fw.cmd("--zone=trusted", f"--add-source={pair.cli_ip}/32")
            fw.cmd(
                "--zone=public",
                "--add-rich-rule="
                + f'rule family="ipv4" source address="{pair.cli_ip}" port port="8081" protocol="tcp" reject type="tcp-reset"',
            )
            out = pair.snapshot(root / "firewalld-iptables", env=fw.env, binds=fw.binds)
        finally:
            _stop(fw)
    _write_case(
        out,
        f"""
firewalld 1.3.3, FirewallBackend=iptables (rules are in iptables-nft-save / ip6tables-nft-save).
Runtime: public gets interface {pair.srv_if} and port 8080/tcp and the rich rule
  rule family="ipv4" source address="{pair.cli_ip}" port port="8081" protocol="tcp" reject type="tcp-reset"
trusted gets source {pair.cli_ip}/32.
""",
        timings,
        "firewalld-iptables",
        started,
    )


def case_firewalld_stopped(root: Path, index: int, timings: dict) -> None:
    """A system bus is there but firewalld is not on it: `--state` says `not running`, exit 252."""
    started = time.monotonic()
    with NetnsPair(f"{PREFIX}{index}", index) as pair:
        fw = Firewalld(pair.srv)
        try:
            fw._fw.kill()  # only the daemon (by the PID we started); the private bus stays up
            fw._fw.wait()
            out = pair.snapshot(root / "firewalld-stopped", env=fw.env, binds=fw.binds)
        finally:
            _stop(fw)
    _write_case(
        out,
        """
A private system bus is running but firewalld is not (killed after start). firewall-cmd --state
prints `not running` (to stderr) and exits 252; the other firewall-cmd commands print
`FirewallD is not running` and exit 252.
""",
        timings,
        "firewalld-stopped",
        started,
    )


def case_firewalld_nobus(root: Path, index: int, timings: dict) -> None:
    """No system bus at all (WSL without systemd): firewall-cmd exits 36 with a DBUS_ERROR."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="wsltui-nobus-"))
    try:
        with NetnsPair(f"{PREFIX}{index}", index) as pair:
            # An empty private /run: the default /run/dbus/system_bus_socket does not exist.
            out = pair.snapshot(root / "firewalld-nobus", binds=[(str(work), "/run")])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _write_case(
        out,
        """
No D-Bus system bus at all (like WSL without systemd). firewall-cmd prints
`Error: DBUS_ERROR: Failed to connect to socket /run/dbus/system_bus_socket: No such file or
directory` (to stderr) and exits 36:
firewalld cannot be running (it needs the system bus) and cannot be asked.
""",
        timings,
        "firewalld-nobus",
        started,
    )


# --- ufw --------------------------------------------------------------------------------------

OPENSSH_PROFILE = """[OpenSSH]
title=Secure shell server, an rshd replacement
description=OpenSSH is a free implementation of the Secure Shell protocol.
ports=22/tcp
"""


def case_ufw_active(root: Path, index: int, timings: dict) -> None:
    started = time.monotonic()
    with NetnsPair(f"{PREFIX}{index}", index) as pair:
        ufw = Ufw(pair.srv)
        (ufw.workdir / "etc-ufw" / "applications.d" / "openssh-server").write_text(OPENSSH_PROFILE)
        cli, srv, ifc = pair.cli_ip, pair.srv_ip, pair.srv_if
        # Forwarding on in this namespace, so `Default:` shows the routed policy (else "disabled").
        ns_run(pair.srv, ["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])
        commands = [
            ["--force", "enable"],
            ["default", "reject", "incoming"],
            ["default", "allow", "routed"],
            ["logging", "medium"],
            ["allow", "8080/tcp", "comment", "web dev server"],
            ["deny", "proto", "tcp", "from", cli, "to", "any", "port", "8081"],
            ["reject", "22/tcp"],
            ["limit", "OpenSSH"],
            ["allow", "WWW Full"],
            ["allow", "60000:61000/udp"],
            ["allow", "proto", "tcp", "to", "any", "port", "80,443"],
            ["allow", "in", "on", ifc, "to", "any", "port", "8443", "proto", "tcp"],
            ["allow", "out", "53/udp"],
            ["deny", "out", "to", "10.0.0.5", "port", "25", "proto", "tcp"],
            ["allow", "from", "192.168.50.0/24"],
            ["allow", "from", "fd77::/16", "to", "any", "port", "9000", "proto", "tcp"],
            ["allow", "from", cli, "port", "5000", "to", srv, "port", "6000", "proto", "udp"],
            ["route", "allow", "in", "on", ifc, "out", "on", "lo", "to", "any", "port", "3000", "proto", "tcp"],
            ["allow", "to", srv, "port", "7000"],
            ["insert", "1", "deny", "from", "10.66.66.66", "comment", "bad host"],
            ["reject", "in", "on", ifc, "from", "any", "port", "53", "proto", "udp"],
            ["allow", "log", "8088/tcp"],
            [
                "deny",
                "log-all",
                "from",
                "10.55.0.0/16",
                "to",
                "any",
                "port",
                "3306",
                "proto",
                "tcp",
                "comment",
                "no db",
            ],
            ["allow", "proto", "gre", "from", "10.44.0.0/16"],
            ["allow", "from", "10.33.0.0/16", "to", "any", "app", "OpenSSH"],
        ]
        try:
            for c in commands:
                ufw.cmd(*c)
            out = pair.snapshot(root / "ufw-active", binds=ufw.binds)
        finally:
            shutil.rmtree(ufw.workdir, ignore_errors=True)
    listing = "\n".join("  ufw " + " ".join(f"'{a}'" if " " in a else a for a in c) for c in commands)
    _write_case(
        out,
        f"""
ufw 0.36.2 (iptables-nft backend), enabled, with a private OpenSSH app profile, forwarding on
in the namespace. Commands:
{listing}
""",
        timings,
        "ufw-active",
        started,
    )


def case_ufw_inactive(root: Path, index: int, timings: dict) -> None:
    started = time.monotonic()
    with NetnsPair(f"{PREFIX}{index}", index) as pair:
        ufw = Ufw(pair.srv)
        try:
            ufw.cmd("allow", "8080/tcp")  # written to user.rules, but ufw is not enabled
            out = pair.snapshot(root / "ufw-inactive", binds=ufw.binds)
        finally:
            shutil.rmtree(ufw.workdir, ignore_errors=True)
    _write_case(
        out,
        """
ufw 0.36.2 never enabled (`ufw allow 8080/tcp` was run, which only writes user.rules):
`Status: inactive`, no ufw chains anywhere.
""",
        timings,
        "ufw-inactive",
        started,
    )


def case_ufw_legacy_trap(root: Path, index: int, timings: dict) -> None:
    started = time.monotonic()
    with NetnsPair(f"{PREFIX}{index}", index) as pair:
        legacy = Ufw(pair.srv, legacy=True)
        try:
            legacy.cmd("--force", "enable")
            legacy.cmd("allow", "8080/tcp")
            legacy.cmd("deny", "22/tcp")
            # Same private config, but the normal (nft) iptables: ufw asks the nft backend for
            # ufw-user-input, does not find it, and says inactive while the legacy rules filter.
            normal = Ufw(pair.srv, workdir=legacy.workdir)
            out = pair.snapshot(root / "ufw-legacy-trap", binds=normal.binds)
        finally:
            shutil.rmtree(legacy.workdir, ignore_errors=True)
    _write_case(
        out,
        """
ufw 0.36.2 enabled through the LEGACY iptables backend (xtables-legacy-multi bind-mounted over
xtables-nft-multi), `ufw allow 8080/tcp`, `ufw deny 22/tcp`; then captured with the normal
iptables-nft: `ufw status` says `Status: inactive` although iptables-legacy-save shows the ufw
chains (default INPUT DROP) actively filtering. nf.legacy-tables lists `filter`.
""",
        timings,
        "ufw-legacy-trap",
        started,
    )


CASES: dict[str, tuple[int, Callable[[Path, int, dict], None]]] = {
    "firewalld-default": (60, case_firewalld_default),
    "firewalld-configured": (61, case_firewalld_configured),
    "firewalld-iptables": (62, case_firewalld_iptables),
    "firewalld-stopped": (63, case_firewalld_stopped),
    "firewalld-nobus": (64, case_firewalld_nobus),
    "ufw-active": (65, case_ufw_active),
    "ufw-inactive": (66, case_ufw_inactive),
    "ufw-legacy-trap": (67, case_ufw_legacy_trap),
}
# 68 and 69 are used by the realtools tests in tests/facts/test_facts_{firewalld,ufw}.py.


def generate(root: Path, only: list[str] | None = None) -> dict[str, float]:
    """Generate the cases (all, or those named in ``only``) under ``root``; returns seconds per case."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    for name, (index, fn) in CASES.items():
        if only and name not in only:
            continue
        fn(root, index, timings)
    return timings


if __name__ == "__main__":
    names = sys.argv[1:]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.exit(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(CASES)}")
    t0 = time.monotonic()
    for case, secs in generate(HERE, names or None).items():
        print(f"{case:24} {secs:6.2f} s")
    print(f"{'total':24} {time.monotonic() - t0:6.2f} s")
