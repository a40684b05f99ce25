"""Scenario names the app asks about, with short column labels. Light on purpose: imported
before the first frame, so it must not pull in the simulator."""

from __future__ import annotations

# The scenarios the status screen and the sockets table answer for every listener.
STATUS_SCENARIOS: tuple[str, ...] = ("windows-localhost-v4", "windows-localhost-v6", "windows-to-wsl-ip", "lan-to-host")
# The scenarios a user can pick in the flow view (custom needs addresses: use `wsltui check`).
FLOW_SCENARIOS: tuple[str, ...] = STATUS_SCENARIOS + ("wsl-to-windows", "windows-to-host-ip", "lan-to-wsl-ip")
SHORT = {
    "windows-localhost-v4": "Win→127.0.0.1",
    "windows-localhost-v6": "Win→[::1]",
    "windows-to-wsl-ip": "Win→WSL IP",
    "lan-to-host": "LAN→host",
    "wsl-to-windows": "WSL→Win",
    "windows-to-host-ip": "Win→own IP",
    "lan-to-wsl-ip": "LAN→WSL IP",
}


def scenario_text(name: str, port: int | None = None) -> str:
    """The simulator's own description of a scenario (imports it: call after data arrived)."""
    from wsltui.simulation.simulate import SCENARIOS

    text = SCENARIOS.get(name, name)
    return text.replace("PORT", str(port)) if port is not None else text
