"""The words wsltui says to people, defined once: `check`, the reports, the app and the README
take them from here, so one thing has one name everywhere.

Verdict ids (``no-listener``, ``not-applicable``) are data: they appear in JSON only. People read
the words below: the blocking verdicts in capitals (they must stand out in a trace), the others
in lower case, and not-applicable as a muted dash (nothing to read there)."""

from __future__ import annotations

NOT_APPLICABLE = "–"  # U+2013: "this layer has no part in this connection"
VERDICT_WORDS = {
    "allow": "ok",
    "drop": "DROP",
    "reject": "REJECT",
    "no-listener": "NO LISTENER",
    "unknown": "unknown",
    "not-applicable": NOT_APPLICABLE,
    "assumed": "assumed",
}
VERDICT_STYLES = {
    "allow": "green",
    "drop": "bold red",
    "reject": "bold red",
    "no-listener": "bold red",
    "unknown": "yellow",
    "not-applicable": "dim",
    "assumed": "cyan",
}
# The layers of a trace (``Hop.layer`` ids, as in JSON) by the names people know them by.
LAYER_NAMES = {
    "windows-firewall": "Windows Defender Firewall",
    "hyperv-firewall": "Hyper-V firewall",
    "excluded-ports": "excluded port ranges",
    "windows-listener": "Windows listener",
    "localhost-relay": "localhost forwarding",
    "portproxy": "portproxy",
    "netfilter": "netfilter",
    "socket": "socket",
    "path": "route",
}
# What a firewalld zone's target does with a packet no entry of the zone allows (by target_action).
ZONE_TARGET_MEANINGS = {
    "default": "reject what is not allowed, allow ICMP",
    "accept": "accept everything",
    "reject": "reject everything not allowed",
    "drop": "drop everything not allowed",
}


def verdict_word(verdict: str) -> str:
    """The word people read for a verdict id (an unknown id is shown as it is)."""
    return VERDICT_WORDS.get(verdict, verdict)


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 rule``, ``2 rules`` (``words``: an irregular plural)."""
    return f"{n} {word if n == 1 else words or word + 's'}"


def zone_target(target: str) -> str:
    """A firewalld zone target as people read it: firewalld prints its REJECT as ``%%REJECT%%``."""
    return "REJECT" if target == "%%REJECT%%" else target or "default"
