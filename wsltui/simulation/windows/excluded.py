"""The excluded-ports hop: a port in a Windows excluded port range cannot be bound there."""

from __future__ import annotations

from wsltui.facts.base import Unknown
from wsltui.facts.windows import ExcludedPorts, WindowsFacts
from wsltui.simulation import win_commands as wc
from wsltui.simulation.trace import REFUSED, Fix, Hop
from wsltui.simulation.windows.shared import EXCL_CMD, unknown_hop
from wsltui.vocabulary import Verdict


def excluded_table(win: WindowsFacts | None, v6: bool) -> ExcludedPorts | Unknown:
    """The TCP excluded ranges of one family (``ExcludedPorts``), or Unknown."""
    if win is None:
        return Unknown("no Windows data in this snapshot", EXCL_CMD.replace("ipv4", "ipv6") if v6 else EXCL_CMD)
    return win.excluded6 if v6 else win.excluded4


def excluded(win: WindowsFacts | None, proto: str, port: int, v6: bool, *, who: str) -> Hop:
    """Can ``who`` (the relay, portproxy) bind TCP ``port`` on Windows?"""
    layer = "excluded-ports"
    if proto != "tcp":
        return Hop(
            layer,
            Verdict.NOT_APPLICABLE,
            f"wsltui reads the TCP excluded ranges only; {who} does not carry {proto.upper()}.",
        )
    table = excluded_table(win, v6)
    if isinstance(table, Unknown):
        return unknown_hop(
            layer, f"If port {port} is in a Windows excluded port range, {who} cannot bind it (silently).", table
        )
    r = table.containing(port)
    if r is None:
        return Hop(layer, Verdict.ALLOW, f"Port {port} is outside every Windows excluded port range.", owner="windows")
    fam = "ipv6" if v6 else "ipv4"
    n = r.end - r.start + 1
    fixes = [
        Fix(
            f"Choose a port outside the excluded ranges (this one is {r.start}-{r.end})",
            [],
            [],
            "socket",
            needs_root=False,
            note="netsh int ipv4 show excludedportrange protocol=tcp lists them",
        )
    ]
    if r.administered:
        fixes.append(
            wc.netsh_fix(
                f"Delete the administered exclusion {r.start}-{r.end}",
                lambda: (
                    [wc.excluded_range("delete", fam, r.start, n)],
                    [wc.excluded_range("add", fam, r.start, n, persistent=True)],
                ),
                note="run in an elevated prompt",
            )
        )
    else:
        fixes.append(
            Fix(
                "Let Windows re-pick its dynamic reservations (Hyper-V/WinNAT)",
                ["net stop winnat", "net start winnat"],
                [],
                "windows",
                note="elevated; the new ranges are random, so the port may be reserved again",
            )
        )
    return Hop(
        layer,
        Verdict.NO_LISTENER,
        f"Port {port} is in the Windows excluded port range {r.start}-{r.end}"
        f"{' (administered)' if r.administered else ' (reserved by Hyper-V/WinNAT)'}: {who} cannot bind it, "
        "and nothing tells you.",
        rule=f"{r.start} {r.end}{' *' if r.administered else ''}",
        location=wc.excluded_range("show", fam),
        owner="windows",
        symptom=REFUSED,
        fixes=fixes,
    )
