"""Live confirmation: send the scenario's real connection and watch where it stops.

This package touches the live system (it sends packets, may add a temporary nft trace table and a
temporary listener), so it sits beside the probes and actions: it may import facts, simulation and
``probes.runner``; the core never imports it. Every process is started through
``wsltui.probes.runner``.

The one entry point is ``run_live``; ``sweep_leftovers`` removes what a killed run left behind.
"""

from wsltui.live.run import (CONNECT_TIMEOUT, SETTLE, TOTAL_BUDGET, LiveOptions, LiveResult, run_live,
                             sweep_leftovers)

__all__ = ["CONNECT_TIMEOUT", "SETTLE", "TOTAL_BUDGET", "LiveOptions", "LiveResult", "run_live", "sweep_leftovers"]
