"""The app applies and undoes a change for real: wsltui's full-screen app, live, inside a network
namespace the test creates, with a real iptables rule that drops tcp/8080. The keys a person
presses (space, y, then u, y) must open the path for a real packet from the client namespace, and
the undo must give back the identical ruleset, and the drop.

The test's thread moves into the server namespace for the whole app run, so the app's workers,
the probes they start and the plan's commands all run there (tests/oracle.in_netns).
"""

from __future__ import annotations


import pytest
from oracle import in_netns, listening_pair, probe_many
from realtools import RULE_DUMPS, ns_run, strip_counters

from wsltui.probes.capture import capture
from wsltui.records import LINUX_PROBES
from wsltui.tui.app import make_app
from wsltui.tui.changes import PlanScreen

from tests.tui.helpers import run, settle, until

pytestmark = pytest.mark.realtools

RULES = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -j DROP
-A INPUT -p udp -m udp --dport 53 -j ACCEPT
COMMIT
"""


def _rules(ns: str) -> dict:
    return {argv[0]: strip_counters(ns_run(ns, argv, check=False).stdout.decode()) for argv in RULE_DUMPS}


def _packet(pair) -> str:
    with in_netns(pair.cli):
        return probe_many([(pair.srv_ip, 8080, "tcp")], 0.3, witness=pair.listeners)[(pair.srv_ip, 8080, "tcp")]


def _live_source(ns: str):
    """The live Linux probes (firewalld's are left out: they would ask the host's system bus)."""

    def linux():
        with in_netns(ns):
            return capture([p for p in LINUX_PROBES if not p.name.startswith("firewalld.")])

    linux.live = True  # as live_sources() marks the live probes
    return linux


def test_space_y_disables_the_dropping_rule_then_u_y_puts_it_back(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with listening_pair("wu", 201, [8080, 22], v6=False) as pair:
        ns_run(pair.srv, ["iptables-nft-restore"], input=RULES)
        start = _rules(pair.srv)
        assert _packet(pair) == "drop"

        async def body(app, pilot):
            await pilot.press("5")  # Netfilter
            await settle(pilot)
            panel = app.panel("netfilter")
            tree = panel.query_one("#netfilter-tree")

            def drop_node():
                for node_id, rule in panel.rules.items():
                    if getattr(rule, "verbatim", "") == "-A INPUT -p tcp -m tcp --dport 8080 -j DROP":
                        return tree.get_node_by_id(node_id)
                return None

            node = await until(pilot, drop_node, "the DROP rule in the tree")
            parent = node.parent
            while parent is not None:  # the chains start collapsed
                parent.expand()
                parent = parent.parent
            await pilot.pause()
            tree.move_cursor(node)
            await pilot.pause()
            assert tree.cursor_node is node
            await pilot.press("space")
            screen = await until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen, "the plan")
            assert "iptables-nft -D INPUT -p tcp -m tcp --dport 8080 -j DROP" in screen.plan.describe()
            assert screen.refusal is None
            await pilot.press("y")
            await until(pilot, lambda: not isinstance(app.screen, PlanScreen), "the apply to finish", 30)
            messages = [n.message for n in app._notifications]
            assert any(m.startswith("applied") for m in messages), messages

            assert _packet(pair) == "accept"  # the kernel lets it through now
            assert "--dport 8080 -j DROP" not in _rules(pair.srv)["iptables-nft-save"]

            await pilot.press("u")
            screen = await until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen, "the undo dialog")
            assert screen.undoing and "iptables-nft -I INPUT 2" in screen.plan.describe()
            await pilot.press("y")
            await until(pilot, lambda: not isinstance(app.screen, PlanScreen), "the undo to finish", 30)
            messages = [n.message for n in app._notifications]
            assert any(m.startswith("undone") for m in messages), messages

        with in_netns(pair.srv):
            run(make_app({"linux": _live_source(pair.srv)}, refresh=0), body)

        assert _rules(pair.srv) == start
        assert _packet(pair) == "drop"
