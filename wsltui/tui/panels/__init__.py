"""The panels, in the order of their number keys (1..8).

``PANEL_INFO`` names each panel without importing it: the app builds its tabs, keys and palette
from it, and imports a panel's module only when the panel is first shown (Status, which the
first frame shows, is the only one imported before it). ``PANELS`` (the classes) imports them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class PanelInfo:
    key: str
    title: str
    module: str
    cls: str

    def load(self) -> type:
        """The panel class (imports its module)."""
        return getattr(import_module(f"wsltui.tui.panels.{self.module}"), self.cls)


PANEL_INFO: tuple[PanelInfo, ...] = (
    PanelInfo("status", "Status", "status", "StatusPanel"),
    PanelInfo("flow", "Flow", "flow", "FlowPanel"),
    PanelInfo("topology", "Topology", "topology", "TopologyPanel"),
    PanelInfo("sockets", "Sockets", "sockets", "SocketsPanel"),
    PanelInfo("netfilter", "Netfilter", "netfilter", "NetfilterPanel"),
    PanelInfo("firewalld", "firewalld", "firewalld", "FirewalldPanel"),
    PanelInfo("ufw", "ufw", "ufw", "UfwPanel"),
    PanelInfo("windows", "Windows", "windows", "WindowsPanel"),
)


def __getattr__(name: str):
    if name == "PANELS":
        return tuple(info.load() for info in PANEL_INFO)
    raise AttributeError(name)
