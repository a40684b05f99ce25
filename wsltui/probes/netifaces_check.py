"""Live cross-check of the parsed interfaces (``ip -j addr show``) against ``netifaces``.

This reads the live system (the calling process's network namespace), so it lives in probes/.
It is a sanity check for a live snapshot: a disagreement means the snapshot is stale, was taken
in another namespace, or a parser misread something. Never raises.
"""

from __future__ import annotations

import ipaddress

from wsltui.facts.base import Unknown
from wsltui.facts.network import NetworkFacts


def _norm(addr: str) -> str | None:
    try:
        return str(ipaddress.ip_address(addr.split("%", 1)[0]))
    except ValueError:
        return None


def live_cross_check(facts: NetworkFacts) -> list[str]:
    """Disagreements between ``facts`` and what netifaces sees now (empty list: they agree)."""
    if isinstance(facts.interfaces, Unknown):
        return [f"cannot cross-check: interfaces are {facts.interfaces}"]
    try:
        import netifaces  # netifaces-plus
    except ImportError as e:
        return [f"cannot cross-check: netifaces is not installed ({e})"]
    out: list[str] = []
    try:
        live_names = list(netifaces.interfaces())
    except Exception as e:  # a live check never raises into the caller
        return [f"cannot cross-check: netifaces.interfaces() failed: {e}"]
    parsed = {i.name: i for i in facts.interfaces}
    for name in sorted(set(live_names) - set(parsed)):
        out.append(f"interface {name} exists now but is not in the snapshot")
    for name in sorted(set(parsed) - set(live_names)):
        out.append(f"interface {name} is in the snapshot but does not exist now")
    for name in sorted(set(parsed) & set(live_names)):
        try:
            live = netifaces.ifaddresses(name)
        except Exception as e:
            out.append(f"{name}: netifaces.ifaddresses failed: {e}")
            continue
        for fam, af in (("ipv4", netifaces.AF_INET), ("ipv6", netifaces.AF_INET6)):
            now = {a for a in (_norm(d.get("addr", "")) for d in live.get(af, []) if isinstance(d, dict)) if a}
            snap = {a for a in (_norm(x.address) for x in parsed[name].addresses if x.family == fam) if a}
            for a in sorted(now - snap):
                out.append(f"{name}: {fam} address {a} exists now but is not in the snapshot")
            for a in sorted(snap - now):
                out.append(f"{name}: {fam} address {a} is in the snapshot but not on the interface now")
        mac_now = next((d.get("addr") for d in live.get(netifaces.AF_LINK, []) if isinstance(d, dict)), None)
        mac_snap = parsed[name].mac
        if mac_now and mac_snap and mac_now.lower() != mac_snap.lower() and parsed[name].link_type == "ether":
            out.append(f"{name}: MAC {mac_snap} in the snapshot, {mac_now} now")
    return out
