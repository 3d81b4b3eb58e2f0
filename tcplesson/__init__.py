"""tcplesson: learn how a TCP connection opens and closes by running a real RFC 9293 model.

    import tcplesson as tl
    trace = tl.simulate("lifecycle", client_isn=100, server_isn=300)
    print(trace.table())
"""
from .endpoint import Endpoint, ProtocolError
from .figures import plot_header, plot_ladder, plot_state_diagram, plot_timeline
from .figures.queues import plot_queues
from .figures.what_if import plot_what_if
from . import linux
from .labels import get_language, set_language
from .host import Host
from .link import Link
from .network import NETWORKS, Client, Flood, Network, Server, accept_queue_full, clients, syn_flood
from .nettrace import NetworkTrace
from .pcap import CapturedTrace, PcapError, PcapWarning, read_pcap, write_pcap
from .scenarios import SCENARIOS, Scenario, Step
from .segment import Flags, Packet, Segment
from .simulator import simulate
from .sockets import run_sockets
from .states import State
from .sysctl import Sysctls
from .table import TABLE, TWO_WAY, Transition
from .trace import Trace, Transmission
from .what_if import WhatIfMap, what_if_map

__all__ = [
    "Endpoint", "Flags", "Link", "ProtocolError", "SCENARIOS", "Scenario", "Segment", "State", "Step",
    "TABLE", "TWO_WAY", "Trace", "Transition", "Transmission", "simulate", "run_sockets",
    "plot_header", "plot_ladder", "plot_state_diagram", "plot_timeline", "explore", "Explorer",
    "CapturedTrace", "PcapError", "PcapWarning", "read_pcap", "write_pcap", "linux",
    "set_language", "get_language",
    "Host", "Sysctls", "Packet", "Network", "NetworkTrace", "Server", "Client", "Flood", "NETWORKS",
    "syn_flood", "accept_queue_full", "clients", "plot_queues", "explore_flood", "FloodExplorer",
    "explore_failure", "FailureExplorer", "what_if_map", "WhatIfMap", "plot_what_if",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    # The explorers need ipywidgets; import them on first use so that scripts which only simulate
    # or draw do not pay for it.
    if name in ("explore", "Explorer"):
        from . import explorer
        return getattr(explorer, name)
    if name in ("explore_flood", "FloodExplorer"):
        from . import flood_explorer
        return getattr(flood_explorer, name)
    if name in ("explore_failure", "FailureExplorer"):
        from . import failure_explorer
        return getattr(failure_explorer, name)
    raise AttributeError(f"module 'tcplesson' has no attribute {name!r}")
