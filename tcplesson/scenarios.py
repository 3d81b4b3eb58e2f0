"""Scenarios: the timed user calls on each side that make a connection's life.

A scenario is a list of steps. Each step is a user call on one side, made either at a fixed time
or a while after that side first reaches a state, so that it still makes sense when a lost segment
delays everything::

    my = tl.Scenario("late-close", [
        ("server", "listen", 0),
        ("client", "connect", 0),
        ("client", "send", "ESTABLISHED+0.5", b"hello"),
        ("client", "close", "ESTABLISHED+2"),
        ("server", "close", "CLOSE-WAIT+0.5"),
    ])
    trace = tl.simulate(my, delay=0.05)

Besides the table's user calls there are the socket calls around them: ``shutdown`` with its
``how`` (``("client", "shutdown", "ESTABLISHED+2", "SHUT_WR")``: FIN, and the client still reads),
``close`` with options (``("client", "close", 2.0, {"linger": 0})``: SO_LINGER 0, an RST) and
``exit`` (the process ends, or is killed: the kernel closes its socket as close() would).

The call ``inject`` puts a given segment on the link as if it were an old duplicate from an
earlier connection (the endpoint itself does not send it).

Things also go wrong on the same footing: ``crash`` (the side's host loses power: its connection
is gone without a segment, and it answers nothing), ``reboot`` (the host is up again, with no
connection: whatever still arrives for the old one gets RST; a reboot of a running host is a
crash and a reboot at once), ``link_down`` and ``link_up`` (the cable is pulled and plugged
back: nothing crosses the link meanwhile, in either direction; the side only says whose state
the step's time is counted from)::

    ("client", "crash", "ESTABLISHED+1"), ("client", "reboot", 30.0),
    ("client", "link_down", "ESTABLISHED+1"), ("client", "link_up", "ESTABLISHED+4")
"""
from __future__ import annotations

from typing import NamedTuple

from ._check import check_bytes, check_choice, check_number
from .endpoint import SHUT_HOWS, shut_how
from .network import NETWORKS
from .segment import Flags, Segment
from .states import State
from .table import USER_CALLS
from .trace import SIDES

FAILURES = ("crash", "reboot", "link_down", "link_up")
CALLS = USER_CALLS + ("shutdown", "exit", "inject") + FAILURES
CLOSE_OPTIONS = ("linger",)


class Step(NamedTuple):
    who: str
    call: str
    at: float | None = None  # absolute time, or
    after: State | None = None  # a while after ``who`` first enters this state
    wait: float = 0.0
    data: bytes = b""
    segment: Segment | None = None
    how: str = ""  # shutdown(): SHUT_RD, SHUT_WR or SHUT_RDWR
    linger: float | None = None  # close(): SO_LINGER's timeout (0: abort with RST)

    def call_text(self) -> str:
        """The call as a program would write it, for the Trace."""
        if self.call == "shutdown":
            return f"shutdown({self.how})"
        if self.linger is not None:
            return f"close() with SO_LINGER {self.linger:g}"
        return f"{self.call}()"


def _state_named(text: str) -> State:
    key = text.strip().upper().replace("_", "-")
    for state in State:
        if state.value == key:
            return state
    raise ValueError(f"unknown state {text!r} in a step's time; use one of: {', '.join(s.value for s in State)}")


def make_step(who: str, call: str, when=0.0, extra=None) -> Step:
    """A Step from the short form (who, call, when[, data, segment, how or close options])."""
    check_choice("side", who, SIDES)
    check_choice("call", call, CALLS)
    at = after = None
    wait = 0.0
    if isinstance(when, str):
        name, _, delay = when.partition("+")
        after = _state_named(name)
        wait = check_number("step wait", float(delay) if delay.strip() else 0.0, low=0.0)
    elif isinstance(when, State):
        after = when
    else:
        at = check_number("step time", when, low=0.0)
    data, segment, how, linger = b"", None, "", None
    if call == "send":
        data = check_bytes("data of a send step", extra if extra is not None else b"")
        if not data:
            raise ValueError("a send step needs data, e.g. ('client', 'send', 1.0, b'hello')")
    elif call == "inject":
        if not isinstance(extra, Segment):
            raise TypeError("an inject step needs a Segment, e.g. ('client', 'inject', 0, tl.Segment(tl.Flags.SYN, 90))")
        segment = extra
    elif call == "shutdown":
        if extra is None:
            raise ValueError(f"a shutdown step needs its how, one of {', '.join(SHUT_HOWS)}, "
                             f"e.g. ('client', 'shutdown', 2.0, 'SHUT_WR')")
        how = shut_how(extra)
    elif call == "close" and extra is not None:
        if not isinstance(extra, dict):
            raise TypeError(f"a close step's options must be a dict like {{'linger': 0}}, got {extra!r}")
        unknown = sorted(set(extra) - set(CLOSE_OPTIONS))
        if unknown:
            raise ValueError(f"unknown close option {unknown[0]!r}; known: {', '.join(CLOSE_OPTIONS)}")
        if "linger" in extra:
            linger = check_number("linger", extra["linger"], low=0.0)
    elif extra is not None:
        raise ValueError(f"a {call} step takes no data")
    return Step(who, call, at, after, wait, data, segment, how, linger)


class Scenario:
    """A named list of steps; ``description`` says in one line what it shows."""

    def __init__(self, name: str, steps, description: str = "") -> None:
        if not isinstance(name, str) or not name:
            raise TypeError("a scenario's name must be a non-empty string")
        self.name = name
        self.description = description
        self.steps = tuple(s if isinstance(s, Step) else make_step(*s) for s in steps)
        if not self.steps:
            raise ValueError("a scenario needs at least one step")

    def __repr__(self) -> str:
        return f"<Scenario {self.name}: {len(self.steps)} steps>"


_OPEN = [("server", "listen", 0), ("client", "connect", 0)]

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("handshake", _OPEN, "the three-way handshake and nothing else"),
    Scenario("lifecycle", _OPEN + [
        ("client", "close", "ESTABLISHED+2"),
        ("server", "close", "CLOSE-WAIT+1"),
    ], "open, then the client closes first and the server a little later"),
    Scenario("server-closes-first", _OPEN + [
        ("server", "close", "ESTABLISHED+2"),
        ("client", "close", "CLOSE-WAIT+1"),
    ], "open, then the server closes first: TIME-WAIT is on the server"),
    Scenario("server-closes-on-eof", _OPEN + [
        ("client", "close", "ESTABLISHED+2"),
        ("server", "close", "CLOSE-WAIT+0.01"),
    ], "the server closes as soon as it reads end-of-file: with a delayed ACK, three segments close"),
    Scenario("half-close", _OPEN + [
        ("client", "shutdown", "ESTABLISHED+2", "SHUT_WR"),
        ("server", "send", "CLOSE-WAIT+0.3", b"x" * 3000),
        ("server", "close", "CLOSE-WAIT+1"),
    ], "the client shuts down its sending side (shutdown(SHUT_WR)); the server still sends 3000 bytes, "
       "then closes"),
    Scenario("simultaneous-open", [
        ("client", "connect", 0),
        ("server", "connect", 0),
        ("client", "close", "ESTABLISHED+2"),
        ("server", "close", "CLOSE-WAIT+1"),
    ], "both sides connect at once: SYNs cross, no listener needed"),
    Scenario("simultaneous-close", _OPEN + [
        ("client", "close", 2.0),
        ("server", "close", 2.0),
    ], "both sides close at the same moment: FINs cross, both go through CLOSING"),
    Scenario("refused", [("client", "connect", 0)], "nobody listens: the SYN is answered with RST"),
    Scenario("old-duplicate-syn", [
        ("server", "listen", 0),
        ("client", "inject", 0, Segment(Flags.SYN, 90)),
    ], "a stale SYN from an earlier attempt reaches a listener; the client asked for nothing"),
    Scenario("abort", _OPEN + [("client", "abort", "ESTABLISHED+2")],
             "the client aborts: RST instead of FIN, the server sees 'connection reset'"),
)}


def resolve(scenario) -> Scenario:
    """A Scenario from a name, a Scenario, or a list of steps."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str):
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; known scenarios: {', '.join(SCENARIOS)}; "
                             f"networks of many hosts: {', '.join(NETWORKS)}")
        return SCENARIOS[scenario]
    if isinstance(scenario, (list, tuple)):
        return Scenario("custom", scenario)
    raise TypeError(f"scenario must be a name, a Scenario, a Network or a list of steps, "
                    f"got {type(scenario).__name__}")
