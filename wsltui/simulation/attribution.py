"""Who owns a netfilter decision, and the fix written for that front end.

A person fixes firewalld with firewall-cmd, ufw with ufw, and only plain rules with iptables
or nft: a fix written for the wrong front end is undone at the next reload. firewalld's
generated chains changed names across versions, so they are recognised by shape.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from wsltui.facts.firewalld import FirewalldFacts
from wsltui.facts.iptables import chain_owner
from wsltui.quoting import posix
from wsltui.simulation.netfilter.data import RuleRef, Table
from wsltui.simulation.netfilter.evaluate import Step
from wsltui.simulation.packet import Packet
from wsltui.simulation.trace import Fix, handle_of

# filter_IN_public, filter_IN_public_allow (nft backend); IN_public_deny (iptables backend)
_FWD_ZONE_CHAIN = re.compile(
    r"^(?:(?:filter|nat|mangle|raw)_)?(?:IN|FWD|FWDI|FWDO|PRE|POST|OUT)_(?!policy_)(?P<zone>[^_].*?)"
    r"(?:_(?P<part>pre|log|deny|allow|post|rule))?$"
)
_FWD_POLICY_CHAIN = re.compile(
    r"^(?:filter|nat|mangle|raw)_(?:IN|FWD|OUT|PRE|POST)_policy_(?P<policy>.+?)(?:_(?:pre|log|deny|allow|post))?$"
)


# What decides in each part of a firewalld zone (its sub-chains); no part: the zone's target.
ZONE_PARTS = {
    "deny": "a rich rule (deny)",
    "allow": "a port, service or rich rule (allow)",
    "pre": "a rich rule (priority < 0)",
    "post": "a rich rule (priority > 0)",
    "log": "a rich rule (log)",
}


@dataclass
class Attribution:
    owner: str  # firewalld | ufw | docker | wsl | iptables-nft | iptables-legacy | nft
    edit: str  # the object a person edits
    zone: str | None = None
    part: str | None = None  # firewalld zone sub-chain: pre log deny allow post
    docker: str | None = None  # on Docker's path: "user" (your DOCKER-USER rule), "policy", "isolation", "chain"


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
        what = ZONE_PARTS.get(part or "", "the zone's target")
        return Attribution("firewalld", f"firewalld zone {zone}: {what}", zone, part)
    owners = [chain_owner(out.rule.table if out.rule else "filter", c) for c in path] if table.source != "nft" else []
    last = path[-1] if path else base.chain.name
    docker = _docker_attribution(step, path, last)
    if docker is not None:
        return docker
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


DOCKER_USER = "DOCKER-USER"


def _docker_attribution(step: Step, path: list[str], last: str) -> Attribution | None:
    """Who stops a packet on Docker's forward path: your own rule in DOCKER-USER (the chain
    Docker runs first and leaves to you), or Docker itself (its isolation between networks, its
    per-port rules, the FORWARD policy DROP it sets, its nftables table). None off that path."""
    table, rule = step.base.table, step.outcome.rule
    if table.source == "nft":
        if table.name.startswith("docker"):
            return Attribution("docker", f"Docker's nft table {table.name} (chain {last})", docker="chain")
        return None
    if DOCKER_USER in path:
        return Attribution(
            table.source,
            f"Your rule in {DOCKER_USER} (Docker runs that chain first and leaves it to you)",
            docker="user",
        )
    if rule is None and step.base.hook == "forward" and DOCKER_USER in table.chains:
        return Attribution(
            "docker",
            "FORWARD's policy DROP, set by Docker: none of Docker's rules lets this connection "
            "through (the port is not published to this container)",
            docker="policy",
        )
    if last.startswith("DOCKER-ISOLATION"):
        return Attribution("docker", f"Docker's isolation between networks (chain {last})", docker="isolation")
    if chain_owner(rule.table if rule else table.name, last) == "docker":
        return Attribution("docker", f"Docker's chain {last}", docker="chain")
    return None


def firewalld_zone_for(firewalld_facts: FirewalldFacts | None, pkt: Packet) -> str | None:
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
    """Fixes for the base chain that dropped or rejected ``proto/port`` (after NAT).

    Each fix carries the exact argv lists (``Fix.argv``/``Fix.undo_argv``) wsltui can run; the
    display strings are derived from them. A fix that needs a person's choice has no argv and
    says why in ``Fix.manual``."""
    out = step.outcome
    rule = out.rule
    spec = f"{port}/{proto}"
    if attr.owner == "firewalld":
        zone = attr.zone
        if attr.part in ("deny", "pre", "post", "log") and rule is not None:
            zone = zone or "public"
            return [
                Fix(
                    f"Remove the firewalld rich rule in zone {zone} that matches {spec}",
                    [
                        posix(["firewall-cmd", f"--zone={zone}", "--list-rich-rules"]),
                        posix(
                            [
                                "firewall-cmd",
                                f"--zone={zone}",
                                f"--remove-rich-rule=<the rule listed above that matches {spec}>",
                            ]
                        ),
                    ],
                    [posix(["firewall-cmd", f"--zone={zone}", "--add-rich-rule=<the same rule>"])],
                    "firewalld",
                    note="runtime change; add --permanent (then firewall-cmd --reload) to keep it",
                    manual="pick the rich rule that matches from the list; nftables does not tell which one it was",
                )
            ]
        zone_note = "" if zone else " (the zone the interface is in; check with firewall-cmd --get-active-zones)"
        argv = [
            ["firewall-cmd", f"--zone={zone or 'public'}", f"--add-port={spec}"],
            ["firewall-cmd", "--permanent", f"--zone={zone or 'public'}", f"--add-port={spec}"],
        ]
        undo = [
            ["firewall-cmd", f"--zone={zone or 'public'}", f"--remove-port={spec}"],
            ["firewall-cmd", "--permanent", f"--zone={zone or 'public'}", f"--remove-port={spec}"],
        ]
        return [
            Fix(
                f"Open {spec} in firewalld zone {zone or 'public'}{zone_note}",
                front_end="firewalld",
                note="the first command opens it now, the second keeps it after a reload or reboot",
                argv=argv,
                undo_argv=undo,
                persistent=True,
                manual="" if zone else "the zone is a guess: check it with firewall-cmd --get-active-zones",
            )
        ]
    if attr.owner == "ufw":
        plain = (
            re.fullmatch(rf"-A ufw6?-user-input -p {proto} -m {proto} --dport {port} -j (DROP|REJECT)\b.*", rule.text)
            if attr.edit == "a ufw rule" and rule is not None
            else None
        )
        if plain:
            # ufw sees "allow 8080/tcp" as the same rule as "deny 8080/tcp": it updates it in place
            # (and skips an insert of it), so the exact fix and undo are an update each way.
            was = "deny" if plain.group(1) == "DROP" else "reject"
            return [
                Fix(
                    f"Change the ufw rule for {spec} from {was} to allow",
                    front_end="ufw",
                    note="ufw rules are persistent; ufw updates the rule where it is",
                    argv=[["ufw", "allow", spec]],
                    undo_argv=[["ufw", was, spec]],
                    persistent=True,
                )
            ]
        if attr.edit == "a ufw rule" and rule is not None:
            fixes = [
                Fix(
                    f"Allow {spec} in ufw ahead of the rule that blocks it",
                    front_end="ufw",
                    note="ufw rules are persistent",
                    argv=[["ufw", "insert", "1", "allow", spec]],
                    undo_argv=[["ufw", "delete", "allow", spec]],
                    persistent=True,
                )
            ]
            if port_specific(rule.text, port):
                fixes.append(
                    Fix(
                        f"Delete the ufw rule that blocks {spec}",
                        [
                            "ufw status numbered",
                            posix(["ufw", "delete", f"<the number of the rule that denies or rejects {spec}>"]),
                        ],
                        [posix(["ufw", "insert", "<that number>", "deny", spec])],
                        "ufw",
                        manual="pick the rule's number from ufw status numbered",
                    )
                )
            return fixes
        return [
            Fix(
                f"Allow {spec} in ufw",
                front_end="ufw",
                note="ufw rules are persistent",
                argv=[["ufw", "allow", spec]],
                undo_argv=[["ufw", "delete", "allow", spec]],
                persistent=True,
            )
        ]
    if attr.docker is not None:
        return docker_fixes(step, attr, proto, port)
    if attr.owner == "wsl":
        return [
            Fix(
                "This chain belongs to WSL itself; do not edit it",
                [],
                [],
                "wsl",
                needs_root=False,
                note="WSL recreates it; check the mode and .wslconfig instead",
                manual="WSL owns this chain and recreates it",
            )
        ]
    source, table = step.base.table.source, step.base.table
    if source == "nft":
        cmd_base = f"nft {table.family} {table.name}"
        chain = rule.chain if rule else step.base.chain.name
        where = [table.family, table.name, chain]
        match = ["tcp" if proto == "tcp" else "udp", "dport", str(port)]
        note = "runtime change; persist it in /etc/nftables.conf"
        if rule is not None and rule.handle is not None and port_specific(rule.text, port):
            return [
                Fix(
                    f"Delete the nft rule that blocks {spec} (handle {rule.handle})",
                    front_end="nft",
                    note=note,
                    argv=[["nft", "delete", "rule", *where, "handle", str(rule.handle)]],
                    undo_argv=[_nft_readd(table, chain, rule)],
                )
            ]
        pos = ["position", str(rule.handle)] if rule is not None and rule.handle is not None else []
        verb = "insert" if pos else "add"
        return [
            Fix(
                f"Accept {spec} in {cmd_base} chain {chain} before it is {'dropped' if out.verdict == 'drop' else 'rejected'}",
                front_end="nft",
                note=note,
                argv=[["nft", "--echo", "--handle", verb, "rule", *where, *pos, *match, "accept"]],
                undo_argv=[["nft", "delete", "rule", *where, "handle", handle_of(0)]],
            )
        ]
    tool = _iptables_tool(source, table.family)
    chain = rule.chain if rule else step.base.chain.name
    tflag = [] if (rule.table if rule else table.name) == "filter" else ["-t", rule.table if rule else table.name]
    accept = ["-p", proto, "--dport", str(port), "-j", "ACCEPT"]
    if rule is not None and port_specific(rule.text, port):
        spec_words = _iptables_spec(rule.text)
        if spec_words is not None:
            return [
                Fix(
                    f"Delete the {tool} rule that blocks {spec}",
                    front_end=tool,
                    note=_persist_note(tool),
                    argv=[[tool, *tflag, "-D", chain, *spec_words]],
                    undo_argv=[[tool, *tflag, "-I", chain, str(rule.position), *spec_words]],
                )
            ]
    pos = [str(rule.position)] if rule is not None else []
    verb = "-I" if rule is not None else "-A"
    return [
        Fix(
            f"Accept {spec} in {tool} chain {chain} before it is {'dropped' if out.verdict == 'drop' else 'rejected'}",
            front_end=tool,
            note=_persist_note(tool),
            argv=[[tool, *tflag, verb, chain, *pos, *accept]],
            undo_argv=[[tool, *tflag, "-D", chain, *accept]],
        )
    ]


def docker_fixes(step: Step, attr: Attribution, proto: str, port: int) -> list[Fix]:
    """Fixes that fit Docker: a rule in DOCKER-USER (Docker rewrites its own chains whenever it
    starts or a container changes, so an edit there does not last), or the ``-p`` binding."""
    table, rule, pkt = step.base.table, step.outcome.rule, step.before
    host_port = pkt.orig_dport if pkt.orig_dport is not None else port
    publish = Fix(
        f"Publish the port with Docker: docker run -p {host_port}:{port}/{proto} … (compose: ports: "
        f'["{host_port}:{port}/{proto}"]); Docker then adds the rules itself',
        front_end="docker",
        needs_root=False,
        manual="the container is recreated with its -p binding",
    )
    if table.source == "nft" or DOCKER_USER not in table.chains:
        return [publish]
    tool = _iptables_tool(table.source, table.family)
    note = "runtime change; Docker keeps DOCKER-USER as it is when it restarts, a reboot does not"
    by_port = ["-p", proto, "-m", "conntrack", "--ctorigdstport", str(host_port)]
    if attr.docker == "user":
        fixes = []
        if (
            rule is not None
            and rule.chain == DOCKER_USER
            and (port_specific(rule.text, host_port) or port_specific(rule.text, port))
        ):
            spec_words = _iptables_spec(rule.text)
            if spec_words is not None:
                fixes.append(
                    Fix(
                        f"Delete your {DOCKER_USER} rule that blocks published port {host_port}/{proto}",
                        front_end=tool,
                        note=note,
                        argv=[[tool, "-D", DOCKER_USER, *spec_words]],
                        undo_argv=[[tool, "-I", DOCKER_USER, str(rule.position), *spec_words]],
                    )
                )
        pos = [str(rule.position)] if rule is not None and rule.chain == DOCKER_USER else ["1"]
        # RETURN, not ACCEPT: the connection goes on to Docker's own rules, which accept published ports.
        fixes.append(
            Fix(
                f"Let published port {host_port}/{proto} through {DOCKER_USER} before your rule stops it",
                front_end=tool,
                note=note,
                argv=[[tool, "-I", DOCKER_USER, *pos, *by_port, "-j", "RETURN"]],
                undo_argv=[[tool, "-D", DOCKER_USER, *by_port, "-j", "RETURN"]],
            )
        )
        return fixes
    dest = ["-d", str(pkt.dst)] if pkt.dst is not None else []
    accept = [*dest, *by_port, "-j", "ACCEPT"]
    return [
        publish,
        Fix(
            f"Accept port {host_port}/{proto} to {pkt.dst}:{port} in {DOCKER_USER}, ahead of Docker's rules",
            front_end=tool,
            note=note + "; an ACCEPT there also skips Docker's isolation for this connection",
            argv=[[tool, "-I", DOCKER_USER, "1", *accept]],
            undo_argv=[[tool, "-D", DOCKER_USER, *accept]],
        ),
    ]


def _iptables_spec(text: str) -> list[str] | None:
    """The match and target words of an iptables-save line (after ``[-t T] -A CHAIN``)."""
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    if words[:1] == ["-t"]:
        words = words[2:]
    if len(words) < 2 or words[0] != "-A":
        return None
    return words[2:]


def _nft_readd(table: Table, chain: str, rule: RuleRef) -> list[str]:
    """argv that puts a deleted nft rule back at its place: after the rule before it, or before
    the rule after it (nft handles never change, so these still name the neighbours)."""
    rules = [r.ref for r in table.chains[chain].rules] if chain in table.chains else []
    idx = next((i for i, r in enumerate(rules) if r.handle == rule.handle), None)
    where = [table.family, table.name, chain]
    if idx is not None and idx > 0 and rules[idx - 1].handle is not None:
        return ["nft", "add", "rule", *where, "position", str(rules[idx - 1].handle), rule.text]
    if idx is not None and idx + 1 < len(rules) and rules[idx + 1].handle is not None:
        return ["nft", "insert", "rule", *where, "position", str(rules[idx + 1].handle), rule.text]
    return ["nft", "add", "rule", *where, rule.text]


def established_fixes(step: Step) -> list[Fix]:
    """Accept the packets of connections already let in, first thing in the chain."""
    table = step.base.table
    chain = step.base.chain.name
    if table.source == "nft":
        first = table.chains[chain].rules[0].ref.handle if table.chains[chain].rules else None
        pos = ["position", str(first)] if first is not None else []
        verb = "insert" if pos else "add"
        where = [table.family, table.name, chain]
        return [
            Fix(
                "Accept packets of established connections first",
                front_end="nft",
                argv=[
                    [
                        "nft",
                        "--echo",
                        "--handle",
                        verb,
                        "rule",
                        *where,
                        *pos,
                        "ct",
                        "state",
                        "established,related",
                        "accept",
                    ]
                ],
                undo_argv=[["nft", "delete", "rule", *where, "handle", handle_of(0)]],
            )
        ]
    tool = _iptables_tool(table.source, table.family)
    tflag = [] if table.name == "filter" else ["-t", table.name]
    spec = ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]
    return [
        Fix(
            "Accept packets of established connections first",
            front_end=tool,
            note=_persist_note(tool),
            argv=[[tool, *tflag, "-I", chain, "1", *spec]],
            undo_argv=[[tool, *tflag, "-D", chain, *spec]],
        )
    ]


def nd_fixes(step: Step) -> list[Fix]:
    """Let IPv6 neighbor discovery in before the rule (or policy) that stops it."""
    table, rule = step.base.table, step.outcome.rule
    chain = rule.chain if rule else step.base.chain.name
    if table.source == "nft":
        pos = ["position", str(rule.handle)] if rule is not None and rule.handle is not None else []
        verb = "insert" if pos else "add"
        where = [table.family, table.name, chain]
        return [
            Fix(
                "Accept IPv6 neighbor discovery before it is stopped",
                front_end="nft",
                argv=[
                    [
                        "nft",
                        "--echo",
                        "--handle",
                        verb,
                        "rule",
                        *where,
                        *pos,
                        "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept",
                    ]
                ],
                undo_argv=[["nft", "delete", "rule", *where, "handle", handle_of(0)]],
            )
        ]
    tool = _iptables_tool(table.source, table.family)
    pos = [str(rule.position)] if rule is not None else []
    verb = "-I" if rule is not None else "-A"
    types = ("neighbour-solicitation", "neighbour-advertisement")
    return [
        Fix(
            "Accept IPv6 neighbor discovery before it is stopped",
            front_end=tool,
            note=_persist_note(tool),
            argv=[[tool, verb, chain, *pos, "-p", "ipv6-icmp", "--icmpv6-type", t, "-j", "ACCEPT"] for t in types],
            undo_argv=[[tool, "-D", chain, "-p", "ipv6-icmp", "--icmpv6-type", t, "-j", "ACCEPT"] for t in types],
        )
    ]


def _iptables_tool(source: str, family: str) -> str:
    base = "ip6tables" if family == "ipv6" else "iptables"
    return f"{base}-legacy" if source == "iptables-legacy" else f"{base}-nft"


def _persist_note(tool: str) -> str:
    return (
        f"runtime change; to keep it, save with {tool}-save into your distro's rules file, or add the command "
        "to the [boot] command of /etc/wsl.conf"
    )


def port_specific(text: str, port: int) -> bool:
    """Does the rule text name this port (so deleting it is the precise fix)?"""
    return re.search(rf"(?<![\d.:]){port}(?![\d.])", text) is not None
