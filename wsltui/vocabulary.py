"""The words wsltui says to people, defined once: `check`, the reports, the app and the README
take them from here, so one thing has one name everywhere.

Verdict ids (``no-listener``, ``not-applicable``) are data: they appear in JSON only. People read
the words below: the blocking verdicts in capitals (they must stand out in a trace), the others
in lower case, and not-applicable as a muted dash (nothing to read there)."""

from __future__ import annotations

from enum import Enum

NOT_APPLICABLE = "–"  # U+2013: "this layer has no part in this connection"


class Verdict(str, Enum):
    """What one layer does with the packet: the one vocabulary of the trace.

    A ``str`` enum (``enum.StrEnum`` needs Python 3.11): a member equals, hashes and serialises as
    its id, so JSON, snapshots and comparisons with the plain ids keep working."""

    ALLOW = "allow"
    DROP = "drop"
    REJECT = "reject"
    NO_LISTENER = "no-listener"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not-applicable"
    ASSUMED = "assumed"

    def __str__(self) -> str:
        return self.value

    @property
    def word(self) -> str:
        """What people read: blocking verdicts in capitals, not-applicable as a muted dash."""
        return VERDICT_WORDS[self]

    @property
    def style(self) -> str:
        """The Rich style the verdict is drawn in."""
        return VERDICT_STYLES[self]

    @property
    def blocks(self) -> bool:
        return self in BLOCKING


BLOCKING = frozenset({Verdict.DROP, Verdict.REJECT, Verdict.NO_LISTENER})
VERDICT_WORDS: dict[str, str] = {
    Verdict.ALLOW: "ok",
    Verdict.DROP: "DROP",
    Verdict.REJECT: "REJECT",
    Verdict.NO_LISTENER: "NO LISTENER",
    Verdict.UNKNOWN: "unknown",
    Verdict.NOT_APPLICABLE: NOT_APPLICABLE,
    Verdict.ASSUMED: "assumed",
}
VERDICT_STYLES: dict[str, str] = {
    Verdict.ALLOW: "green",
    Verdict.DROP: "bold red",
    Verdict.REJECT: "bold red",
    Verdict.NO_LISTENER: "bold red",
    Verdict.UNKNOWN: "yellow",
    Verdict.NOT_APPLICABLE: "dim",
    Verdict.ASSUMED: "cyan",
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
