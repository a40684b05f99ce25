"""Reconcile: real traces of the bundled demos beside hand-built observations, one per class
(issue: model vs reality). The observations are what ``wsltui.live`` records; the traces are the
simulator's own, so a change in either side that breaks the meaning fails here."""

from __future__ import annotations

import json

import pytest

from wsltui import demos
from wsltui.facts import build_facts
from wsltui.facts.live import CLOSED_AT_ONCE, DATA, ClientOutcome, LinuxWatch, Observation, parse_observation, to_record
from wsltui.simulation.reconcile import (
    CLIENT_DIFFERS,
    DIFFERENT_RULE,
    NEVER_REACHED_LINUX,
    NO_EVIDENCE,
    WINDOWS_HOP_DIFFERS,
    reconcile,
)
from wsltui.simulation.simulate import Scenario, World, simulate

FIREWALLD_REJECT = "nft inet firewalld chain filter_IN_public, rule 9 (handle 72)"
_WORLDS: dict[str, World] = {}


def trace_of(demo: str, scenario: str, port: int = 8080):
    if demo not in _WORLDS:
        _WORLDS[demo] = World.from_facts(build_facts(demos.load(demo)))
    return simulate(_WORLDS[demo], Scenario(scenario, port))


def observation(
    scenario: str,
    outcome: str,
    *,
    after: str | None = None,
    elapsed: int = 12,
    reached=None,
    verdict=None,
    rule=None,
    reply=None,
    method="nft-trace",
    sent_from="windows",
    port: int = 8080,
    listener="existing",
) -> Observation:
    linux = LinuxWatch(
        method=method,
        reached_linux=reached,
        verdict=verdict,
        rule=rule,
        reply=reply,
        chain=rule.split(",")[0] if rule else None,
        skipped=None if method != "none" else "not root: Linux was not watched",
    )
    client = ClientOutcome(sent_from=sent_from, outcome=outcome, elapsed_ms=elapsed, after_connect=after)
    return Observation(
        scenario=scenario,
        proto="tcp",
        port=port,
        started="2026-12-02T06:40:00Z",
        client=client,
        linux=linux,
        listener=listener,
    )


def test_agree_on_a_firewalld_reject_names_the_models_own_hop():
    t = trace_of("nat-firewalld-reject", "windows-to-wsl-ip")
    r = reconcile(
        t,
        observation(
            "windows-to-wsl-ip", "host-unreachable", reached=True, verdict="reject", rule=FIREWALLD_REJECT, reply="icmp"
        ),
    )
    assert (r.agrees, r.disagreement, r.symptom, r.reachable, r.reached_linux) == (
        True,
        None,
        "no route to host",
        False,
        True,
    )
    assert r.deciding_rule == t.to_json()["first_blocker"]
    # the assumed Hyper-V hop is settled by the packet reaching Linux
    assert [(s.index, s.layer, s.model, s.observed) for s in r.settled] == [
        (2, "hyperv-firewall", "assumed", "allowed")
    ]
    assert r.meaning.startswith("Model and reality agree") and "observed: allowed" in r.meaning


def test_a_timeout_is_one_of_the_rejects_alternatives():
    t = trace_of("nat-firewalld-reject", "windows-to-wsl-ip")
    r = reconcile(
        t,
        observation(
            "windows-to-wsl-ip",
            "timeout",
            elapsed=3000,
            reached=True,
            verdict="reject",
            rule=FIREWALLD_REJECT,
            reply="icmp",
        ),
    )
    assert r.agrees is True and r.disagreement is None


def test_never_reached_linux_though_windows_allowed_names_what_to_check():
    t = trace_of("nat-healthy", "windows-localhost-v4")
    r = reconcile(t, observation("windows-localhost-v4", "timeout", elapsed=3001, reached=False, reply="none"))
    assert (r.agrees, r.disagreement, r.reached_linux, r.reachable) == (False, NEVER_REACHED_LINUX, False, False)
    assert "VPN" in r.meaning and "netsh wfp show state" in r.meaning and r.deciding_rule is None
    assert r.settled == ()


def test_never_reached_linux_with_an_assumed_hop_names_it_as_a_candidate_and_settles_nothing():
    t = trace_of("nat-healthy", "windows-to-wsl-ip")
    r = reconcile(t, observation("windows-to-wsl-ip", "timeout", elapsed=3001, reached=False, reply="none"))
    assert r.disagreement == NEVER_REACHED_LINUX and "hyperv-firewall" in r.meaning
    assert r.settled == ()  # it may be the Hyper-V firewall or something unseen: not decided


def test_a_different_rule_decided_is_a_model_bug_with_what_to_attach():
    t = trace_of("nat-firewalld-reject", "windows-to-wsl-ip")
    other = "nft inet firewalld chain filter_INPUT, rule 4 (handle 12)"
    r = reconcile(
        t,
        observation(
            "windows-to-wsl-ip", "timeout", elapsed=3000, reached=True, verdict="drop", rule=other, reply="none"
        ),
    )
    assert (r.agrees, r.disagreement) == (False, DIFFERENT_RULE)
    assert "model bug" in r.meaning and "live record" in r.meaning and other in r.meaning
    # the kernel's rule is not one of the model's hops: shown alone, in the same form
    assert r.deciding_rule["location"] == other and r.deciding_rule["verdict"] == "drop"
    assert set(r.deciding_rule) == set(t.to_json()["first_blocker"])


def test_the_kernel_accepting_what_the_model_rejects_is_a_different_rule():
    t = trace_of("nat-firewalld-reject", "windows-to-wsl-ip")
    r = reconcile(
        t, observation("windows-to-wsl-ip", "connected", after=DATA, reached=True, verdict="accept", reply="syn-ack")
    )
    assert r.disagreement == DIFFERENT_RULE and r.reachable is True


def test_reached_linux_past_a_windows_block_is_a_windows_hop_difference():
    t = trace_of("nat-healthy", "lan-to-host")  # Windows firewall drops, no portproxy
    r = reconcile(
        t, observation("lan-to-host", "connected", after=DATA, reached=True, verdict="accept", reply="syn-ack")
    )
    assert r.disagreement == WINDOWS_HOP_DIFFERS and "windows-firewall" in r.meaning
    assert {s.layer for s in r.settled} >= {"windows-firewall"}


def test_client_differs_while_linux_agrees_names_the_relay():
    t = trace_of("nat-healthy", "windows-localhost-v4")  # connects through the relay
    r = reconcile(
        t,
        observation(
            "windows-localhost-v4", "connected", after=CLOSED_AT_ONCE, reached=True, verdict="accept", reply="rst"
        ),
    )
    assert (r.agrees, r.disagreement, r.symptom, r.reachable) == (False, CLIENT_DIFFERS, "empty reply", False)
    assert "relay" in r.meaning and "Linux saw the packet" in r.meaning


def test_unwatched_linux_is_never_claimed():
    t = trace_of("nat-healthy", "windows-to-wsl-ip")
    r = reconcile(t, observation("windows-to-wsl-ip", "timeout", elapsed=3000, method="none"))
    assert r.reached_linux is None and r.disagreement == CLIENT_DIFFERS
    assert "Linux was not watched" in r.meaning and r.settled == ()


def test_data_end_to_end_settles_the_assumed_hop_without_a_linux_watch():
    t = trace_of("nat-healthy", "windows-to-wsl-ip")
    r = reconcile(t, observation("windows-to-wsl-ip", "connected", after=DATA, method="none"))
    assert r.agrees is True and r.reached_linux is None
    assert [(s.layer, s.observed, s.because) for s in r.settled] == [
        ("hyperv-firewall", "allowed", "data came back end to end")
    ]


@pytest.mark.parametrize("outcome", ["error", "not-sent"])
def test_a_failed_or_unsent_test_is_no_evidence(outcome):
    t = trace_of("nat-firewalld-reject", "windows-to-wsl-ip")
    obs = observation("windows-to-wsl-ip", outcome, reached=False)
    r = reconcile(t, obs)
    assert (r.agrees, r.disagreement, r.reachable, r.reached_linux, r.symptom) == (None, NO_EVIDENCE, None, None, None)
    assert r.settled == ()


def test_a_temporary_listener_stands_in_for_the_missing_service():
    t = trace_of("nat-healthy", "windows-to-wsl-ip", port=9999)  # nothing listens on 9999
    assert t.first_blocker is not None and t.first_blocker.layer == "socket"
    r = reconcile(
        t,
        observation(
            "windows-to-wsl-ip",
            "connected",
            after=DATA,
            reached=True,
            verdict="accept",
            reply="syn-ack",
            port=9999,
            listener="temporary",
        ),
    )
    assert r.agrees is True and r.model_symptom == "connects"


def test_to_json_is_the_documented_observed_object_and_survives_a_record_round_trip():
    t = trace_of("nat-firewalld-reject", "windows-to-wsl-ip")
    obs = observation(
        "windows-to-wsl-ip", "host-unreachable", reached=True, verdict="reject", rule=FIREWALLD_REJECT, reply="icmp"
    )
    back = parse_observation(to_record(obs, ("powershell.exe", "<live connect>"), 0.5).stdout)
    assert back == obs
    doc = json.loads(json.dumps(reconcile(t, back).to_json()))
    assert {
        "symptom",
        "reachable",
        "reached_linux",
        "deciding_rule",
        "agrees",
        "elapsed_ms",
        "disagreement",
        "meaning",
        "settled",
        "sent_from",
        "method",
        "started",
    } <= set(doc)
    assert doc["elapsed_ms"] == 12 and doc["settled"][0]["layer"] == "hyperv-firewall"


def test_a_connection_linux_sends_is_compared_at_its_own_chains():
    t = trace_of("nat-healthy", "wsl-to-windows")  # netfilter lets it out; the Windows firewall drops it
    out = "nft inet filter chain output, rule 1 (handle 4)"
    dropped = observation(
        "wsl-to-windows", "timeout", elapsed=3000, verdict="drop", rule=out, reply="none", sent_from="wsl"
    )
    r = reconcile(t, dropped)
    assert r.reached_linux is None and r.disagreement == DIFFERENT_RULE and out in r.meaning
    let_out = observation("wsl-to-windows", "timeout", elapsed=3000, verdict="accept", reply="none", sent_from="wsl")
    assert reconcile(t, let_out).agrees is True
