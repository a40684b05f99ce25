"""Windows hops: Windows Defender Firewall, the Hyper-V firewall, excluded port ranges,
portproxy and Windows listeners, each as a Hop with the deciding rule and the fix.

Pure: ``WindowsFacts`` in, ``Hop`` out. One module per hop (``firewall``, ``hyperv``,
``excluded``, ``windows_listener``, ``relay``, ``portproxy``), on what they share: the packet and
the commands (``shared``), adapters and profiles (``addresses``), rule matching (``rules``) and the
listener table (``listeners``).

A condition wsltui cannot check (an address keyword it cannot resolve, an RPC port keyword, an
IPsec requirement, an unmapped interface GUID) never decides silently: the hop says ``assumed`` and
names the assumption, or ``unknown`` with the keyword and the command that would tell when the
verdict hangs on it.
"""

from wsltui.simulation.windows.addresses import lan_adapters, names_interface, profile_for, subnets, wsl_adapter
from wsltui.simulation.windows.excluded import excluded
from wsltui.simulation.windows.firewall import allow_rule_fix, firewall
from wsltui.simulation.windows.hyperv import HyperVPresence, hyperv, hyperv_presence
from wsltui.simulation.windows.listeners import (
    PortListener,
    delete_proxy_fix,
    listener_for,
    port_listeners,
    relay_name,
    relay_on,
    stop_fix,
)
from wsltui.simulation.windows.portproxy import portproxy, portproxy_loop
from wsltui.simulation.windows.relay import relay_binds, relay_excluded, steering_binds
from wsltui.simulation.windows.rules import disable_rule_fix, rule_matches
from wsltui.simulation.windows.shared import SVCHOST, WinPacket, captured
from wsltui.simulation.windows.windows_listener import relay_listener, service_listener

__all__ = [
    "SVCHOST",
    "HyperVPresence",
    "PortListener",
    "WinPacket",
    "allow_rule_fix",
    "captured",
    "delete_proxy_fix",
    "disable_rule_fix",
    "excluded",
    "firewall",
    "hyperv",
    "hyperv_presence",
    "lan_adapters",
    "listener_for",
    "names_interface",
    "port_listeners",
    "portproxy",
    "portproxy_loop",
    "profile_for",
    "relay_binds",
    "relay_excluded",
    "relay_listener",
    "relay_name",
    "relay_on",
    "rule_matches",
    "service_listener",
    "steering_binds",
    "stop_fix",
    "subnets",
    "wsl_adapter",
]
