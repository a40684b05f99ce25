"""Rule actions for the Linux front ends, as Plans: disable (remove, and remember exactly where),
enable (put it back there), delete, and add an allow for a port.

Inputs are the facts' own objects -- an iptables ``Rule``, an ``NftRule``, a ``UfwRule`` row, a
firewalld ``Port``/``RichRule``/``ForwardPort`` or a :class:`FirewalldItem` -- so the TUI passes
the selected row. Each builder reads the live rules once (through the runner), checks the rule is
still where the facts said, and returns a Plan with the exact commands, the exact undo, and
``Edit`` s that ``apply`` checks before changing anything (the plan is stale if the chain moved)
and after (exactly this rule went or came, nothing else moved).

A disabled rule is remembered in the journal (the disable's entry holds a :class:`RuleRef`:
table, chain, index, nft handle, the rules around it). :func:`disabled_rules` lists those not
enabled again; :func:`enable_plan` puts one back after the rule that was before it (or before the
one that was after it, or at its index).

One module per front end (``iptables``, ``nftables``, ``ufw``, ``firewalld``) builds the commands;
``shared`` holds what a rule is and where, ``plans`` the builders, ``disabled`` the journal's
disabled rules.

Building a plan does I/O (about 50-300 ms): call it from a worker, not the UI thread.
"""

from wsltui.actions.rules.disabled import DisabledRule, disabled_rules
from wsltui.actions.rules.iptables import added_iptables_line
from wsltui.actions.rules.plans import add_allow_plan, delete_plan, disable_plan, enable_plan
from wsltui.actions.rules.shared import FIREWALLD_KINDS, FirewalldItem, RuleLike, RuleRef, rule_ref
from wsltui.actions.rules.ufw import UfwTuple

__all__ = [
    "FIREWALLD_KINDS",
    "DisabledRule",
    "FirewalldItem",
    "RuleLike",
    "RuleRef",
    "UfwTuple",
    "add_allow_plan",
    "added_iptables_line",
    "delete_plan",
    "disable_plan",
    "disabled_rules",
    "enable_plan",
    "rule_ref",
]
