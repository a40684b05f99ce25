"""A live test for people: the verdict of the reconciliation first ("Model and reality agree", or
the disagreement and its meaning), then the model beside what was observed — what was sent, when,
from where, what the client saw and after how long, whether Linux saw it, which rule decided, and
the reply. Shared by `check --live`, `check --from`, `report` (text and Markdown) and the app.

Every string comes from a record anyone can edit, so each passes ``shown``."""

from __future__ import annotations

from wsltui.facts.base import Unknown
from wsltui.simulation.reconcile import (
    CLIENT_DIFFERS,
    DIFFERENT_RULE,
    NEVER_REACHED_LINUX,
    NO_EVIDENCE,
    WINDOWS_HOP_DIFFERS,
    Reconciliation,
    StoredTest,
)
from wsltui.views.safe_text import shown

# The disagreement classes in words (the headline).
CLASS_WORDS = {
    NEVER_REACHED_LINUX: "never reached Linux",
    WINDOWS_HOP_DIFFERS: "a Windows hop differs",
    DIFFERENT_RULE: "a different rule decided",
    CLIENT_DIFFERS: "the client saw something else",
    NO_EVIDENCE: "nothing observed",
}
SENT_FROM = {"windows": "Windows", "wsl": "WSL"}
MAX_TRACE_LINES = 8  # of the kernel's trace lines, in a report (the record keeps them all)


def headline(rec: Reconciliation) -> str:
    """One line: agree, or the class and what it means."""
    if rec.disagreement is None:
        return shown(rec.meaning)
    return shown(
        f"Model and reality disagree ({CLASS_WORDS.get(rec.disagreement, rec.disagreement)}): {rec.meaning}"
        if rec.disagreement != NO_EVIDENCE
        else rec.meaning
    )


def short(rec: Reconciliation) -> str:
    """A cell's worth: "observed ✓ 12 ms", "observed ✗ timeout", "not observed"."""
    if rec.reachable is None:
        return "not observed"
    ms = f" {rec.obs.client.elapsed_ms} ms" if rec.obs.client.elapsed_ms is not None else ""
    mark = "✓" if rec.reachable else "✗"
    words = ms if rec.reachable else f" {rec.symptom}"
    return shown(f"observed {mark}{words}" + ("" if rec.agrees is not False else " (differs)"))


def rows(rec: Reconciliation, trace_lines: int = 0) -> list[tuple[str, str]]:
    """(label, value) pairs: the model beside the observation."""
    obs, c, linux = rec.obs, rec.obs.client, rec.obs.linux
    out = [("sent", _sent(rec)), ("model", _model(rec)), ("observed", _observed(rec)), ("Linux", _linux(rec))]
    out += [("settled", f"hop {s.index} {s.layer}: {s.model} → {s.label} ({s.because})") for s in rec.settled]
    if c.detail and c.outcome != "connected":
        out.append(("detail", c.detail))
    out += [("skipped", s) for s in obs.skipped]
    out += [("trace", line) for line in linux.lines[:trace_lines]]
    if len(linux.lines) > trace_lines > 0:
        out.append(("trace", f"… {len(linux.lines) - trace_lines} more line(s) in the record {obs.record_name}"))
    return [(label, shown(str(value))) for label, value in out]


def live_lines(rec: Reconciliation, trace_lines: int = 0) -> list[str]:
    """The whole live test as plain lines (check text; report text)."""
    return [f"Live test: {headline(rec)}"] + [f"  {label + ':':<9} {value}" for label, value in rows(rec, trace_lines)]


def stored_lines(test: StoredTest) -> list[str]:
    """A ``live.*`` record of a snapshot: its lines, or why it could not be read."""
    if isinstance(test.result, Unknown):
        return [shown(f"Live test {test.name}: unknown — {test.result.reason}")]
    lines = live_lines(test.result, MAX_TRACE_LINES)
    if test.older:
        lines.insert(1, f"  {'note:':<9} {shown(test.older)}")
    return lines


def _sent(rec: Reconciliation) -> str:
    obs, c = rec.obs, rec.obs.client
    where = SENT_FROM.get(c.sent_from, c.sent_from.replace("netns:", "network namespace "))
    to = c.dst or (f"{obs.dst} port {obs.port}" if obs.dst else f"the scenario's address, port {obs.port}")
    bits = [f"{obs.proto} to {to}", f"from {where}", f"at {obs.started}"]
    if c.src:
        bits.append(f"(the client's socket: {c.src})")
    if obs.in_iface:
        bits.append(f"arriving on {obs.in_iface}")
    listener = {
        "temporary": "a temporary listener stood in for the service",
        "none": "nothing listened on the port",
    }.get(obs.listener)
    return " ".join(bits) + (f"; {listener}" if listener else "")


def _model(rec: Reconciliation) -> str:
    t = rec.trace
    first = next((b for b in t.blockers if not (rec.obs.listener == "temporary" and b.layer == "socket")), None)
    if rec.model_symptom is None:
        return "undecided (see the unknown hops)"
    if first is None:
        assumed = [h.layer for h in t.hops if h.verdict == "assumed"]
        return "connects" + (f" if the assumptions hold ({', '.join(dict.fromkeys(assumed))})" if assumed else "")
    where = f" at {first.location}" if first.location else ""
    return f"{rec.model_symptom} — {first.layer} {first.verdict}{where}"


def _observed(rec: Reconciliation) -> str:
    c = rec.obs.client
    said = [c.outcome if c.outcome != rec.symptom else ""] + [
        f"then {c.after_connect}" if c.after_connect else "",
        f"code {c.code}" if c.code is not None else "",
    ]
    how = ", ".join(h for h in said if h)
    ms = f" after {c.elapsed_ms} ms" if c.elapsed_ms is not None else ""
    return f"{rec.symptom or 'nothing'}{f' ({how})' if how else ''}{ms}"


def _linux(rec: Reconciliation) -> str:
    linux = rec.obs.linux
    if rec.disagreement == NO_EVIDENCE:
        return "nothing to compare: the client's test did not run"
    if linux.reached_linux is None:
        return f"not watched ({linux.skipped or linux.method})"
    if linux.reached_linux is False:
        return f"the packet never reached Linux ({linux.method})"
    unknown_rule = linux.rule_unknown or "the rule is not known"
    decided = (
        f"{linux.verdict}" + (f" by {linux.rule}" if linux.rule else f" ({unknown_rule})")
        if linux.verdict
        else "the verdict was not seen (a capture sees packets, not rules)"
    )
    reply = f"; reply: {linux.reply}" if linux.reply else ""
    return f"reached Linux; {decided}{reply} ({linux.method})"


def print_lines(lines: list[str], console) -> None:
    """``live_lines`` / ``stored_lines`` on a Rich console (markup off: the lines are data)."""
    for i, line in enumerate(lines):
        style = (
            ("bold green" if "Model and reality agree" in line else "bold red" if "disagree" in line else "bold yellow")
            if i == 0
            else None
        )
        console.print(line, markup=False, style=style)
