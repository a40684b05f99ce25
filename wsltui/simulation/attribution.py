"""Who owns a netfilter decision, and the fix written for that front end.

A person fixes firewalld with firewall-cmd, ufw with ufw, and only plain rules with iptables
or nft: a fix written for the wrong front end is undone at the next reload. firewalld's
generated chains changed names across versions, so they are recognised by shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wsltui.facts.iptables import chain_owner
from wsltui.simulation.netfilter.evaluate import Step
from wsltui.simulation.trace import Fix

# filter_IN_public, filter_IN_public_allow (nft backend); IN_public_deny (iptables backend)
_FWD_ZONE_CHAIN = re.compile(r"^(?:(?:filter|nat|mangle|raw)_)?(?:IN|FWD|FWDI|FWDO|PRE|POST|OUT)_(?!policy_)(?P<zone>[^_].*?)"
                             r"(?:_(?P<part>pre|log|deny|allow|post|rule))?$")
_FWD_POLICY_CHAIN = re.compile(r"^(?:filter|nat|mangle|raw)_(?:IN|FWD|OUT|PRE|POST)_policy_(?P<policy>.+?)(?:_(?:pre|log|deny|allow|post))?$")


@dataclass
class Attribution:
    owner: str  # firewalld | ufw | docker | wsl | iptables-nft | iptables-legacy | nft
    edit: str  # the object a person edits
    zone: str | None = None
    part: str | None = None  # firewalld zone sub-chain: pre log deny allow post


def attribute(step: Step) -> Attribution:
    base, out = step.base, step.outcome
    table = base.table
    path = list(out.path)
    if table.source == "nft" and table.name == "firewalld" or any(_is_firewalld_chain(c, table.source) for c in path):
        zone, part = None, None
        for name in reversed(path):
            m = _FWD_ZONE_CHAIN.match(name)
            if m and m.group("zone") not in ("ZONES", "ZONES_SOURCE", "POLICIES", "dispatch", "direct"):
                zone, part = m.group("zone"), m.group("part")
                break
        for name in reversed(path):
            m = _FWD_POLICY_CHAIN.match(name)
            if m and zone is None:
                return Attribution("firewalld", f"firewalld policy {m.group('policy')}")
        if zone is None:
            return Attribution("firewalld", "firewalld (the catch-all reject after zone dispatch)")
        what = {"deny": "a rich rule (deny)", "allow": "a port, service or rich rule (allow)", "pre": "a rich rule (priority < 0)",
                "post": "a rich rule (priority > 0)", "log": "a rich rule (log)"}.get(part or "", "the zone's target")
        return Attribution("firewalld", f"firewalld zone {zone}: {what}", zone, part)
    owners = [chain_owner(out.rule.table if out.rule else "filter", c) for c in path] if table.source != "nft" else []
    last = path[-1] if path else base.chain.name
    if table.source != "nft":
        owner = chain_owner(out.rule.table if out.rule else base.table.name, last)
        if owner == "iptables" and out.rule is None and any(n.startswith("ufw") for n in table.chains):
            return Attribution("ufw", "ufw default incoming policy")
        if owner == "ufw":
            if last in ("ufw-user-input", "ufw6-user-input", "ufw-user-limit", "ufw6-user-limit"):
                return Attribution("ufw", "a ufw rule")
            return Attribution("ufw", f"ufw's built-in rules (chain {last}, from /etc/ufw/before.rules or after.rules)")
        if owner in ("docker", "wsl", "firewalld"):
            return Attribution(owner, f"{owner} chain {last}")
        if "docker" in owners:
            return Attribution("docker", f"chain {last} (reached from Docker's chains)")
        return Attribution(table.source, f"{table.source} {table.family} table {table.name} chain {last}")
    if last.startswith("WSL"):
        return Attribution("wsl", f"WSL's own nft chain {last}")
    if last.startswith("DOCKER") or table.name.startswith("docker"):
        return Attribution("docker", f"Docker's nft table {table.name}")
    return Attribution("nft", f"nft {table.family} {table.name} chain {last}")


def firewalld_zone_for(firewalld_facts, pkt) -> str | None:
    """The zone firewalld puts a packet in: a zone whose source matches, else one bound to the
    input interface, else the default zone (firewalld.zones(5)); None when unknown."""
    import ipaddress

    if firewalld_facts is None or not firewalld_facts.running:
        return None
    for zone in firewalld_facts.active_zones:
        for source in zone.sources:
            try:
                if pkt.src in ipaddress.ip_network(source, strict=False):
                    return zone.name
            except ValueError:
                continue
    for zone in firewalld_facts.active_zones:
        if pkt.iif and pkt.iif in zone.interfaces:
            return zone.name
    return firewalld_facts.default_zone


def _is_firewalld_chain(name: str, source: str) -> bool:
    return source != "nft" and chain_owner("filter", name) == "firewalld"


# --- fixes ------------------------------------------------------------------------------------


def netfilter_fixes(step: Step, attr: Attribution, proto: str, port: int, family: int) -> list[Fix]:
    """Fixes for the base chain that dropped or rejected ``proto/port`` (after NAT)."""
    out = step.outcome
    rule = out.rule
    spec = f"{port}/{proto}"
    if attr.owner == "firewalld":
        zone = attr.zone or "public"
        if attr.part in ("deny", "pre", "post", "log") and rule is not None:
            return [Fix(f"Remove the firewalld rich rule in zone {zone} that matches {spec}",
                        [f"firewall-cmd --zone={zone} --list-rich-rules",
                         f"firewall-cmd --zone={zone} --remove-rich-rule='<the rule listed above that matches {spec}>'"],
                        [f"firewall-cmd --zone={zone} --add-rich-rule='<the same rule>'"], "firewalld",
                        note="runtime change; add --permanent (then firewall-cmd --reload) to keep it")]
        zone_note = "" if attr.zone else " (the zone the interface is in; check with firewall-cmd --get-active-zones)"
        return [Fix(f"Open {spec} in firewalld zone {zone}{zone_note}",
                    [f"firewall-cmd --zone={zone} --add-port={spec}", f"firewall-cmd --permanent --zone={zone} --add-port={spec}"],
                    [f"firewall-cmd --zone={zone} --remove-port={spec}", f"firewall-cmd --permanent --zone={zone} --remove-port={spec}"],
                    "firewalld", note="the first command opens it now, the second keeps it after a reload or reboot")]
    if attr.owner == "ufw":
        if attr.edit == "a ufw rule" and rule is not None and port_specific(rule.text, port):
            return [Fix(f"Delete the ufw rule that blocks {spec}",
                        ["ufw status numbered", "ufw delete <the number of the rule that denies or rejects " + spec + ">"],
                        [f"ufw insert <that number> deny {spec}"], "ufw")]
        return [Fix(f"Allow {spec} in ufw", [f"ufw allow {spec}"], [f"ufw delete allow {spec}"], "ufw",
                    note="ufw rules are persistent")]
    if attr.owner == "wsl":
        return [Fix("This chain belongs to WSL itself; do not edit it", [], [], "wsl", needs_root=False,
                    note="WSL recreates it; check the mode and .wslconfig instead")]
    source, table = step.base.table.source, step.base.table
    if source == "nft":
        cmd_base = f"nft {table.family} {table.name}"
        chain = rule.chain if rule else step.base.chain.name
        match = f"{'tcp' if proto == 'tcp' else 'udp'} dport {port}"
        if rule is not None and rule.handle is not None and port_specific(rule.text, port):
            return [Fix(f"Delete the nft rule that blocks {spec} (handle {rule.handle})",
                        [f"nft delete rule {table.family} {table.name} {chain} handle {rule.handle}"],
                        [f"nft add rule {table.family} {table.name} {chain} {rule.text}  # at its old place: see the backup"],
                        "nft", note="runtime change; persist it in /etc/nftables.conf")]
        where = f" position {rule.handle}" if rule is not None and rule.handle is not None else ""
        verb = "insert" if where else "add"
        return [Fix(f"Accept {spec} in {cmd_base} chain {chain} before it is {'dropped' if out.verdict == 'drop' else 'rejected'}",
                    [f"nft --echo --handle {verb} rule {table.family} {table.name} {chain}{where} {match} accept"],
                    [f"nft delete rule {table.family} {table.name} {chain} handle <the handle printed by the command>"],
                    "nft", note="runtime change; persist it in /etc/nftables.conf")]
    tool = _iptables_tool(source, table.family)
    tflag = "" if table.name == "filter" else f"-t {table.name} "
    chain = rule.chain if rule else step.base.chain.name
    accept = f"-p {proto} --dport {port} -j ACCEPT"
    if rule is not None and port_specific(rule.text, port):
        verbatim = rule.text.split(" -A ", 1)[-1] if rule.text.startswith("-t ") else rule.text[len("-A "):]
        return [Fix(f"Delete the {tool} rule that blocks {spec}",
                    [f"{tool} {tflag}-D {verbatim}"], [f"{tool} {tflag}-I {chain} {rule.position} {verbatim.split(' ', 1)[1]}"],
                    tool, note=_persist_note(tool))]
    pos = f" {rule.position}" if rule is not None else ""
    verb = "-I" if rule is not None else "-A"
    return [Fix(f"Accept {spec} in {tool} chain {chain} before it is {'dropped' if out.verdict == 'drop' else 'rejected'}",
                [f"{tool} {tflag}{verb} {chain}{pos} {accept}"], [f"{tool} {tflag}-D {chain} {accept}"], tool,
                note=_persist_note(tool))]


def established_fixes(step: Step) -> list[Fix]:
    """Accept the packets of connections already let in, first thing in the chain."""
    table, rule = step.base.table, step.outcome.rule
    chain = step.base.chain.name
    if table.source == "nft":
        first = table.chains[chain].rules[0].ref.handle if table.chains[chain].rules else None
        where = f" position {first}" if first is not None else ""
        verb = "insert" if where else "add"
        return [Fix("Accept packets of established connections first",
                    [f"nft --echo --handle {verb} rule {table.family} {table.name} {chain}{where} ct state established,related accept"],
                    [f"nft delete rule {table.family} {table.name} {chain} handle <the handle printed by the command>"], "nft")]
    tool = _iptables_tool(table.source, table.family)
    tflag = "" if table.name == "filter" else f"-t {table.name} "
    spec = "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    return [Fix("Accept packets of established connections first", [f"{tool} {tflag}-I {chain} 1 {spec}"],
                [f"{tool} {tflag}-D {chain} {spec}"], tool, note=_persist_note(tool))]


def nd_fixes(step: Step) -> list[Fix]:
    """Let IPv6 neighbor discovery in before the rule (or policy) that stops it."""
    table, rule = step.base.table, step.outcome.rule
    chain = rule.chain if rule else step.base.chain.name
    if table.source == "nft":
        where = f" position {rule.handle}" if rule is not None and rule.handle is not None else ""
        verb = "insert" if where else "add"
        return [Fix("Accept IPv6 neighbor discovery before it is stopped",
                    [f"nft --echo --handle {verb} rule {table.family} {table.name} {chain}{where} "
                     "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept"],
                    [f"nft delete rule {table.family} {table.name} {chain} handle <the handle printed by the command>"], "nft")]
    tool = _iptables_tool(table.source, table.family)
    pos = f" {rule.position}" if rule is not None else ""
    verb = "-I" if rule is not None else "-A"
    cmds = [f"{tool} {verb} {chain}{pos} -p ipv6-icmp --icmpv6-type {t} -j ACCEPT"
            for t in ("neighbour-solicitation", "neighbour-advertisement")]
    undo = [f"{tool} -D {chain} -p ipv6-icmp --icmpv6-type {t} -j ACCEPT"
            for t in ("neighbour-solicitation", "neighbour-advertisement")]
    return [Fix("Accept IPv6 neighbor discovery before it is stopped", cmds, undo, tool, note=_persist_note(tool))]


def _iptables_tool(source: str, family: str) -> str:
    base = "ip6tables" if family == "ipv6" else "iptables"
    return f"{base}-legacy" if source == "iptables-legacy" else f"{base}-nft"


def _persist_note(tool: str) -> str:
    return (f"runtime change; to keep it, save with {tool}-save into your distro's rules file, or add the command "
            "to the [boot] command of /etc/wsl.conf")


def port_specific(text: str, port: int) -> bool:
    """Does the rule text name this port (so deleting it is the precise fix)?"""
    return re.search(rf"(?<![\d.:]){port}(?![\d.])", text) is not None
