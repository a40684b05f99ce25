"""Real firewall tools inside network namespaces that the tests create (never the host's own).

Recipes: docs/real-components.md. Everything here runs as root. A namespace is the
unit of cleanup: deleting it removes its veths, rules (nft, legacy and nft iptables), conntrack
and sysctls. Daemons we start are stopped by the PID we got when starting them. firewalld and
ufw get private copies of /etc/firewalld and /etc/ufw bind-mounted inside the private mount
namespace of ``ip netns exec``, so the host's configuration is never written.
"""

from __future__ import annotations

from contextlib import contextmanager

import hashlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def can_run() -> str | None:
    """None when real-component tests can run here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("ip", "nft", "iptables-nft-save", "iptables-legacy-save"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = f"wtprobe{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"cannot create a network namespace: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def host_fingerprint() -> str:
    """Digest of the root namespace's firewall state and of /etc/firewalld, /etc/ufw."""
    h = hashlib.sha256()
    for argv in (
        ["nft", "list", "ruleset"],
        ["iptables-legacy-save"],
        ["ip6tables-legacy-save"],
        ["iptables-nft-save"],
        ["ip6tables-nft-save"],
    ):
        if shutil.which(argv[0]):
            out = subprocess.run(argv, capture_output=True, text=True).stdout
            h.update("\n".join(l for l in out.splitlines() if not l.startswith("#")).encode())
    for f in ("/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"):
        if os.path.exists(f):
            h.update(Path(f).read_bytes())
    for d in ("/etc/firewalld", "/etc/ufw"):
        for p in sorted(Path(d).rglob("*")) if os.path.isdir(d) else ():
            if p.is_file():
                h.update(str(p).encode() + p.read_bytes())
    return h.hexdigest()


def ip_batch(batch: str, ns: str | None = None) -> None:
    argv = ["ip"] + (["-n", ns] if ns else []) + ["-batch", "-"]
    subprocess.run(argv, input=batch.encode(), check=True, capture_output=True)


def ns_argv(ns: str, argv: list[str], binds: list[tuple[str, str]] = ()) -> list[str]:
    """argv that runs ``argv`` inside ``ns``, with bind mounts (src, dst) applied first in the
    private mount namespace that ``ip netns exec`` creates (they never leak to the host)."""
    if not binds:
        return ["ip", "netns", "exec", ns, *argv]
    script = "".join(f'mount --bind "${i * 2 + 1}" "${i * 2 + 2}"\n' for i in range(len(binds)))
    script += f'shift {len(binds) * 2}\nexec "$@"\n'
    flat = [x for pair in binds for x in pair]
    return ["ip", "netns", "exec", ns, "sh", "-c", script, "sh", *flat, *argv]


def ns_run(
    ns: str,
    argv: list[str],
    *,
    input: str | bytes | None = None,
    env: dict | None = None,
    binds: list[tuple[str, str]] = (),
    check: bool = True,
) -> subprocess.CompletedProcess:
    data = input.encode() if isinstance(input, str) else input
    r = subprocess.run(ns_argv(ns, argv, binds), input=data, capture_output=True, env={**os.environ, **(env or {})})
    if check and r.returncode != 0:
        raise RuntimeError(f"{argv} in {ns} failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
    return r


@contextmanager
def nft_table(ns: str, table: str, chain: str):
    """A temporary nft ``table`` ("inet win") holding one ``chain`` in namespace ``ns``, deleted afterwards."""
    ns_run(ns, ["nft", "-f", "-"], input=f"table {table} {{\n {chain}\n}}\n")
    try:
        yield
    finally:
        ns_run(ns, ["nft", "delete", "table", *table.split()])


@dataclass
class NetnsPair:
    """A server and a client namespace joined by a veth pair on 10.77.<index>.0/24."""

    prefix: str
    index: int
    srv: str = field(init=False)
    cli: str = field(init=False)

    def __post_init__(self) -> None:
        self.srv, self.cli = f"{self.prefix}-s", f"{self.prefix}-c"
        self.srv_if, self.cli_if = f"{self.prefix}-a", f"{self.prefix}-b"
        self.srv_ip, self.cli_ip = f"10.77.{self.index}.1", f"10.77.{self.index}.2"
        self.srv_ip6, self.cli_ip6 = f"fd77:{self.index:x}::1", f"fd77:{self.index:x}::2"
        ip_batch(
            f"netns add {self.srv}\nnetns add {self.cli}\n"
            f"link add {self.srv_if} netns {self.srv} type veth peer name {self.cli_if} netns {self.cli}\n"
        )
        for ns, ifname, v4, v6 in (
            (self.srv, self.srv_if, self.srv_ip, self.srv_ip6),
            (self.cli, self.cli_if, self.cli_ip, self.cli_ip6),
        ):
            ip_batch(
                f"addr add {v4}/24 dev {ifname}\naddr add {v6}/64 dev {ifname} nodad\n"
                f"link set lo up\nlink set {ifname} up\n",
                ns,
            )
        # Without these the kernel rate-limits ICMP errors and a reject looks like a drop.
        ns_run(
            self.srv,
            [
                "sysctl",
                "-qw",
                "net.ipv4.icmp_ratelimit=0",
                "net.ipv4.icmp_msgs_per_sec=100000",
                "net.ipv4.icmp_msgs_burst=100000",
                "net.ipv6.icmp.ratelimit=0",
            ],
        )

    def close(self) -> None:
        for ns in (self.srv, self.cli):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def __enter__(self) -> NetnsPair:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def snapshot(self, out_dir: Path, *, env: dict | None = None, binds: list[tuple[str, str]] = ()) -> Path:
        """Capture a snapshot directory with wsltui's own probes, inside the server namespace."""
        if Path(out_dir).exists():
            shutil.rmtree(out_dir)
        ns_run(
            self.srv,
            [sys.executable, "-m", "wsltui", "snapshot", "--dir", str(out_dir)],
            env={"PYTHONPATH": str(REPO), **(env or {})},
            binds=binds,
        )
        return Path(out_dir)


_pairs_made = itertools.count()


def netns_pair(tag: str, index: int) -> NetnsPair:
    """The one way tests make a namespace pair (``with netns_pair("wk", 80) as pair:``): under a
    name no other pair on this machine has, so xdist workers and other runs side by side never
    meet. The name is ``tag`` (at most 3 letters), this process's id in 5 base-36 digits and a
    count of the pairs this process made: at most 11 characters, leaving room for the interface
    suffixes (``-br``) within the kernel's 15. ``index`` picks the subnet, 10.77.<index>.0/24."""
    if not (tag.isalpha() and len(tag) <= 3):
        raise ValueError(f"a pair's tag is 1 to 3 letters, not {tag!r}")
    return NetnsPair(f"{tag}{_base36(os.getpid()):0>5}{_base36(next(_pairs_made))}", index)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, d = divmod(n, 36)
        out = digits[d] + out
        if not n:
            return out


# --- firewalld with its own D-Bus --------------------------------------------------------

_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=@SOCK@</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


class Firewalld:
    """firewalld in namespace ``ns`` on a private bus, with a private copy of /etc/firewalld."""

    def __init__(self, ns: str, *, backend: str = "nftables", workdir: Path | None = None) -> None:
        self.ns = ns
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="wsltui-fw-"))
        self.config = self.workdir / "etc-firewalld"
        self.run_dir = self.workdir / "run"
        if not self.config.exists():
            shutil.copytree("/etc/firewalld", self.config, symlinks=True)
        self.run_dir.mkdir(exist_ok=True)
        conf = self.config / "firewalld.conf"
        text = conf.read_text()
        lines = [l for l in text.splitlines() if not l.startswith("FirewallBackend=")]
        conf.write_text("\n".join(lines + [f"FirewallBackend={backend}"]) + "\n")
        sock = self.workdir / "bus.sock"
        (self.workdir / "bus.conf").write_text(_BUS_CONF.replace("@SOCK@", str(sock)))
        self.env = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={sock}"}
        self.binds = [(str(self.config), "/etc/firewalld"), (str(self.run_dir), "/run")]
        self._dbus = subprocess.Popen(
            ["dbus-daemon", f"--config-file={self.workdir / 'bus.conf'}", "--nofork", "--nopidfile"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            if sock.exists():
                break
            time.sleep(0.02)
        self._log = open(self.workdir / "firewalld.log", "wb")
        self._fw = subprocess.Popen(
            ns_argv(
                ns,
                ["firewalld", "--nofork", "--nopid", "--log-target", "console", "--system-config", "/etc/firewalld"],
                self.binds,
            ),
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.cmd("--state", check=False).stdout.strip() == "running":
                return
            if self._fw.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"firewalld did not start: {(self.workdir / 'firewalld.log').read_text()[-2000:]}")

    def cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(["firewall-cmd", *args], capture_output=True, text=True, env={**os.environ, **self.env})
        if check and r.returncode != 0:
            raise RuntimeError(f"firewall-cmd {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def stop(self) -> None:
        # SIGKILL: instant; the rules it leaves die with the namespace.
        for proc in (self._fw, self._dbus):
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait()
        self._log.close()


# --- ufw with private config ---------------------------------------------------------------


class Ufw:
    """ufw in namespace ``ns`` with private copies of /etc/ufw, /etc/default/ufw and /run.
    ``legacy=True`` makes every iptables in that mount namespace the legacy backend (the
    "ufw says inactive but legacy rules still filter" trap)."""

    def __init__(self, ns: str, *, legacy: bool = False, workdir: Path | None = None) -> None:
        self.ns = ns
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="wsltui-ufw-"))
        (self.workdir / "run").mkdir(exist_ok=True)
        if not (self.workdir / "etc-ufw").exists():
            shutil.copytree("/etc/ufw", self.workdir / "etc-ufw", symlinks=True)
            shutil.copy2("/etc/default/ufw", self.workdir / "default-ufw")
        self.binds = [
            (str(self.workdir / "etc-ufw"), "/etc/ufw"),
            (str(self.workdir / "default-ufw"), "/etc/default/ufw"),
            (str(self.workdir / "run"), "/run"),
        ]
        if legacy:
            self.binds.append(("/usr/sbin/xtables-legacy-multi", "/usr/sbin/xtables-nft-multi"))

    def cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return ns_run(self.ns, ["ufw", *args], binds=self.binds, check=check)


# --- what the action tests compare: every netfilter source, comments and counters out -----------

RULE_DUMPS = (
    ["iptables-legacy-save"],
    ["ip6tables-legacy-save"],
    ["iptables-nft-save"],
    ["ip6tables-nft-save"],
    ["nft", "list", "ruleset"],
)


def strip_counters(text: str, unordered: bool = False) -> str:
    """Comments and counters out; with ``unordered``, the lines of each block sorted (firewalld
    keeps its entries as sets and regenerates its chains in any order)."""
    lines = [
        re.sub(r"counter packets \d+ bytes \d+", "counter", re.sub(r"\[\d+:\d+\]", "[0:0]", l.rstrip()))
        for l in text.splitlines()
        if l.strip() and not l.lstrip().startswith("#")
    ]
    if not unordered:
        return "\n".join(lines)
    blocks, cur = [], []
    for l in lines:
        if l.rstrip().endswith(("{", "}")) or not l.startswith(("\t", " ")):
            blocks.append(sorted(cur))
            cur = []
            blocks.append([l])
        else:
            cur.append(" ".join(sorted(l.split())) if ": " in l and "rule " not in l else l)
    return "\n".join("\n".join(b) for b in blocks + [sorted(cur)])
