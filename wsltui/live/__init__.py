"""Live confirmation: send the scenario's real connection and watch where it stops.

This package touches the live system (it sends packets, may add a temporary nft trace table and a
temporary listener), so it sits beside the probes and actions: it may import facts, simulation and
``probes.runner``; the core never imports it. Every process is started through
``wsltui.probes.runner``.

The one entry point is ``run_live``; ``sweep_leftovers`` removes what a killed run left behind.
"""

__all__ = ["CONNECT_TIMEOUT", "SETTLE", "TOTAL_BUDGET", "LiveOptions", "LiveResult", "run_live", "sweep_leftovers"]


def __getattr__(name: str):
    """The names of ``run``, imported when first used: the small processes a test starts
    (``python -m wsltui.live.connect`` …) then start without importing the rest of wsltui."""
    if name in __all__:
        from wsltui.live import run

        return getattr(run, name)
    raise AttributeError(f"module 'wsltui.live' has no attribute {name!r}")
