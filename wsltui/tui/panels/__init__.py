"""The panels, in the order of their number keys (1..8)."""

from wsltui.tui.panels.firewalld import FirewalldPanel
from wsltui.tui.panels.flow import FlowPanel
from wsltui.tui.panels.netfilter import NetfilterPanel
from wsltui.tui.panels.sockets import SocketsPanel
from wsltui.tui.panels.status import StatusPanel
from wsltui.tui.panels.topology import TopologyPanel
from wsltui.tui.panels.ufw import UfwPanel
from wsltui.tui.panels.windows import WindowsPanel

PANELS = (StatusPanel, FlowPanel, TopologyPanel, SocketsPanel, NetfilterPanel, FirewalldPanel, UfwPanel, WindowsPanel)
