"""A live observation read in the trace's words, and set beside the model's trace."""

from __future__ import annotations

from wsltui.facts.live import (CLOSED_AFTER_WAIT, CLOSED_AT_ONCE, CONNECTED, DATA, DENIED, HOST_UNREACHABLE,
                               NET_UNREACHABLE_OUTCOME, OPEN_SILENT, OUTCOME_REFUSED, OUTCOME_TIMEOUT, ClientOutcome)
from wsltui.simulation.trace import (CONNECTS, EMPTY_REPLY, HANGS_THEN_CLOSED, NET_UNREACHABLE, NO_ROUTE,
                                     PERMISSION_DENIED, REFUSED, TIMEOUT)

_SYMPTOM_OF_OUTCOME = {OUTCOME_REFUSED: REFUSED, OUTCOME_TIMEOUT: TIMEOUT, HOST_UNREACHABLE: NO_ROUTE,
                       NET_UNREACHABLE_OUTCOME: NET_UNREACHABLE, DENIED: PERMISSION_DENIED}
_SYMPTOM_AFTER_CONNECT = {DATA: CONNECTS, OPEN_SILENT: CONNECTS, CLOSED_AT_ONCE: EMPTY_REPLY,
                          CLOSED_AFTER_WAIT: HANGS_THEN_CLOSED}


def observed_symptom(client: ClientOutcome) -> str | None:
    """What the client saw, in the trace's symptom vocabulary; None when the test said nothing
    about the path (it failed, or nothing was sent)."""
    if client.outcome == CONNECTED:
        return _SYMPTOM_AFTER_CONNECT.get(client.after_connect or OPEN_SILENT)
    return _SYMPTOM_OF_OUTCOME.get(client.outcome)
