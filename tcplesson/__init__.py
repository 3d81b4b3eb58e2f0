"""tcplesson: learn how a TCP connection opens and closes by running a real RFC 9293 model.

    import tcplesson as tl
    trace = tl.simulate("lifecycle", client_isn=100, server_isn=300)
    print(trace.table())
"""
from .endpoint import Endpoint, ProtocolError
from .link import Link
from .scenarios import SCENARIOS, Scenario, Step
from .segment import Flags, Segment
from .simulator import simulate
from .states import State
from .table import TABLE, TWO_WAY, Transition
from .trace import Trace, Transmission

__all__ = [
    "Endpoint", "Flags", "Link", "ProtocolError", "SCENARIOS", "Scenario", "Segment", "State", "Step",
    "TABLE", "TWO_WAY", "Trace", "Transition", "Transmission", "simulate",
]
__version__ = "0.1.0"
