"""The simulator: owns time, the two endpoints and the link, and records a Trace.

Time is a heap of timed happenings: user calls from the scenario, segment arrivals and timer
deadlines. The simulator pops the earliest, hands it to the endpoint concerned and puts what that
endpoint sends on the link. It never decides anything about the protocol itself.
"""
from __future__ import annotations

import functools
import gc
import heapq
import itertools
import random

from . import records
from ._check import check_int_range
from .endpoint import KEEPALIVE_ONLY, Endpoint, ProtocolError, keepalive_only
from .link import Link
from .network import NETWORKS, Network, simulate_network
from .scenarios import FAILURES, resolve
from .segment import SEQ_MOD
from .states import State
from .trace import SIDES, Happening, Trace, Transmission

MAX_TRANSMISSIONS = 20_000  # a safety limit far above any lesson; reaching it is reported in the Trace

# At equal times: arrivals first, then user calls, then timers (a segment that arrives exactly at
# a deadline is seen before the timer fires, as it would be by a real stack's receive path).
_ARRIVAL, _CALL, _TIMER = 0, 1, 2
_SENT, _STATE_CHANGE = records.Sent, records.StateChange
_TWO_PARTY_DEFAULTS = dict(client_isn=None, server_isn=None, max_retries=6, handshake="three-way",
                           auto_read=True, isn_clock=True, fin_timeout=None, orphan_retries=None, keepalive=None,
                           linux_timers=None)


def _collector_waits(run):
    """``run`` with the cyclic garbage collector paused until it returns.

    A run keeps every segment and record it makes until it is done: the collector would scan them
    over and over, finding nothing (a third of a flood's time, an eighth of a lifecycle's).
    """
    @functools.wraps(run)
    def paused(*args, **kwargs):
        collecting = gc.isenabled()
        gc.disable()
        try:
            return run(*args, **kwargs)
        finally:
            if collecting:
                gc.enable()
    return paused


@_collector_waits
def simulate(scenario="lifecycle", *, delay: float = 0.05, jitter: float = 0.0, loss: float = 0.0,
             drop=(), seed: int = 0, client_isn: int | None = None, server_isn: int | None = None,
             rto: float = 1.0, max_retries: int = 6, msl: float = 120.0, time_wait: float | None = None,
             handshake: str = "three-way", delayed_ack: float = 0.0, mss: int = 1460,
             auto_read: bool = True, isn_clock: bool = True, fin_timeout: float | None = None,
             orphan_retries: int | None = None, keepalive=None, linux_timers=None, sysctls=None) -> Trace:
    """Run a scenario (a name from SCENARIOS or NETWORKS, a Scenario, a Network, or a list of steps).

    ``delay`` one-way seconds, ``jitter`` extra random delay up to this many seconds, ``loss``
    probability that a transmission is lost, ``drop`` transmission numbers to lose for certain,
    ``seed`` for every random choice (loss, jitter, and the ISNs when not given). The other
    parameters go to both Endpoints (see Endpoint; ``keepalive=True`` is SO_KEEPALIVE on both sides
    with Linux's 7200 s, 75 s, 9 probes; ``linux_timers=True`` Linux's give-up rules, see
    linux_timers.py; ``delayed_ack="linux"`` its quick-ack and delayed ACKs). A Network (many hosts) returns a NetworkTrace;
    ``sysctls`` then overrides its server's settings by name (see Sysctls).
    """
    if isinstance(scenario, Network) or (isinstance(scenario, str) and scenario in NETWORKS):
        two_party = dict(client_isn=client_isn, server_isn=server_isn, max_retries=max_retries,
                         handshake=handshake, auto_read=auto_read, isn_clock=isn_clock,
                         fin_timeout=fin_timeout, orphan_retries=orphan_retries, keepalive=keepalive,
                         linux_timers=linux_timers)
        given = [k for k, v in two_party.items() if v != _TWO_PARTY_DEFAULTS[k]]
        if given:
            raise ValueError(f"{given[0]} applies to two-endpoint scenarios only; a network's hosts take "
                             f"their settings from sysctls (e.g. sysctls={{'tcp_syn_retries': 3}})")
        net = NETWORKS[scenario] if isinstance(scenario, str) else scenario
        return simulate_network(net, delay=delay, jitter=jitter, loss=loss, drop=drop, seed=seed, rto=rto,
                                msl=msl, time_wait=time_wait, delayed_ack=delayed_ack, mss=mss, sysctls=sysctls)
    if sysctls is not None:
        raise ValueError("sysctls apply to runs with hosts (a Network such as tl.syn_flood()), "
                         "not to a two-endpoint scenario")
    plan = resolve(scenario)
    seed = check_int_range("seed", seed, 0)
    link = Link(delay=delay, jitter=jitter, loss=loss, drop=drop, seed=seed)
    isns = {"client": client_isn, "server": server_isn}
    if client_isn is None or server_isn is None:  # both drawn, so one given ISN never shifts the other
        drawn = dict(zip(SIDES, _drawn_isns(seed)))
        isns = {who: drawn[who] if isns[who] is None else isns[who] for who in SIDES}
    endpoints = {}
    for who in SIDES:
        isn = isns[who]
        endpoints[who] = Endpoint(who, isn=check_int_range(f"{who}_isn", isn, 0, SEQ_MOD - 1), rto=rto,
                                  max_retries=max_retries, msl=msl, time_wait=time_wait,
                                  handshake=handshake, delayed_ack=delayed_ack, mss=mss,
                                  auto_read=auto_read, isn_clock=isn_clock, fin_timeout=fin_timeout,
                                  orphan_retries=orphan_retries, keepalive=keepalive, linux_timers=linux_timers)
    params = dict(delay=link.delay, jitter=link.jitter, loss=link.loss, drop=sorted(link.drop), seed=seed,
                  client_isn=endpoints["client"].isn, server_isn=endpoints["server"].isn,
                  rto=endpoints["client"].rto_initial, max_retries=max_retries, msl=float(msl),
                  time_wait=endpoints["client"].time_wait, handshake=handshake,
                  delayed_ack="linux" if endpoints["client"].linux_acks else endpoints["client"].delayed_ack, mss=mss, auto_read=bool(auto_read),
                  isn_clock=bool(isn_clock))
    if fin_timeout is not None or orphan_retries is not None:  # only runs that set them show them
        params.update(fin_timeout=endpoints["client"].fin_timeout, orphan_retries=orphan_retries)
    if endpoints["client"].keepalive is not None:
        params.update(keepalive=endpoints["client"].keepalive)
    if endpoints["client"].timers is not None:
        params.update(linux_timers=endpoints["client"].timers._asdict())
    return _Run(plan, endpoints, link, params).go()


@functools.lru_cache(maxsize=256)
def _drawn_isns(seed: int) -> tuple[int, int]:
    """The client's and server's ISNs a seed draws (kept: seeding a Random from text costs more than a run)."""
    isn_rng = random.Random(f"isn-{seed}")
    return tuple(isn_rng.randrange(SEQ_MOD) for _ in SIDES)


class _Run:
    def __init__(self, plan, endpoints: dict[str, Endpoint], link: Link, params: dict) -> None:
        self.plan, self.endpoints, self.link = plan, endpoints, link
        self.trace = Trace(plan.name, params,
                           states={"client": [(0.0, State.CLOSED)], "server": [(0.0, State.CLOSED)]},
                           transitions={"client": [], "server": []},
                           outcomes={"client": None, "server": None},
                           delivered={"client": b"", "server": b""})
        self.heap: list = []
        self.order = itertools.count(1)  # ties at equal times and kinds go in the order pushed
        self.down: dict[str, float] = {}  # side -> when its host crashed (until it reboots)
        self.link_down_since: float | None = None
        self.armed: dict[str, float | None] = {"client": None, "server": None}
        # Steps that wait for a side to enter a state, by (side, state), in the scenario's order.
        self.waiting: dict[tuple[str, State], list] = {}
        for step in plan.steps:
            if step.at is None:
                self.waiting.setdefault((step.who, step.after), []).append(step)
            else:
                self._push(step.at, _CALL, step.who, step)

    def _push(self, time: float, kind: int, who: str, item) -> None:
        heapq.heappush(self.heap, (time, kind, next(self.order), who, item))

    def go(self) -> Trace:
        trace, heap, endpoints, armed, waiting = self.trace, self.heap, self.endpoints, self.armed, self.waiting
        transmissions, record, transmit, order = trace.transmissions, trace.record, self._transmit, self.order
        pop, push = heapq.heappop, heapq.heappush
        probing = any(e.keepalive for e in endpoints.values())  # only then can a run go on for ever
        while heap:
            if probing and all(kind == _TIMER for _, kind, *_ in heap) and self._keepalive_only():
                trace.happenings.append(Happening(trace.end_time, "client", "stopped", KEEPALIVE_ONLY))
                break
            if len(transmissions) >= MAX_TRANSMISSIONS:
                trace.truncated = True
                trace.happenings.append(Happening(trace.end_time, "client", "stopped",
                                                  f"stopped after {MAX_TRANSMISSIONS} transmissions"))
                break
            now, kind, _, who, item = pop(heap)
            endpoint = endpoints[who]
            if kind == _ARRIVAL:
                if who in self.down:  # a host without power answers nothing
                    trace.happenings.append(Happening(now, who, "dropped", f"{item}: the host is down"))
                    continue
                endpoint.receive(now, item)
            elif kind == _TIMER:
                if armed[who] != now:
                    continue  # a deadline that was moved or cancelled meanwhile
                armed[who] = None
                endpoint.on_timer(now)
            else:
                self._call(now, who, item)
            trace.end_time = now
            # Hand what the endpoint logged to the Trace; put what it sent on the link.
            log = endpoint.log
            for rec in log:
                kind = type(rec)
                if kind is _SENT:
                    transmit(rec.time, who, rec.segment, rec.retransmission)
                    continue
                record(who, rec)
                if kind is _STATE_CHANGE and waiting:
                    for step in waiting.pop((who, rec.state), ()):
                        push(heap, (rec.time + step.wait, _CALL, next(order), who, step))
            log.clear()
            deadline = endpoint.next_deadline()
            if deadline is not None and deadline != armed[who]:
                push(heap, (deadline, _TIMER, next(order), who, None))
            armed[who] = deadline
        return trace

    def _call(self, now: float, who: str, step) -> None:
        endpoint = self.endpoints[who]
        if step.call == "inject":
            self._transmit(now, who, step.segment, retransmission=False, stale=True)
            return
        if step.call in FAILURES:
            return self._fail(now, who, step.call)
        self.trace.happenings.append(Happening(now, who, "call", step.call_text()))
        if who in self.down:
            self.trace.happenings.append(Happening(now, who, "call error",
                                                   f"{step.call_text()}: the {who}'s host is down since "
                                                   f"{self.down[who]:g} s (reboot it first)"))
            return
        try:
            if step.call == "send":
                endpoint.send(now, step.data)
            elif step.call == "shutdown":
                endpoint.shutdown(now, step.how)
            elif step.call == "close":
                endpoint.close(now, step.linger)
            else:
                getattr(endpoint, step.call)(now)
        except ProtocolError as error:  # the application would see this error; the run goes on
            self.trace.happenings.append(Happening(now, who, "call error", str(error)))

    def _keepalive_only(self) -> bool:
        return not self.down and self.link_down_since is None and keepalive_only(self.endpoints.values())

    def _fail(self, now: float, who: str, failure: str) -> None:
        """A crash, a reboot, or the cable pulled or plugged back (see scenarios.FAILURES)."""
        self.trace.happenings.append(Happening(now, who, "failure", failure))
        if failure == "crash" or (failure == "reboot" and who not in self.down):
            self.endpoints[who].crash(now)
            self.down[who] = now
        if failure == "reboot":
            del self.down[who]
        elif failure == "link_down" and self.link_down_since is None:
            self.link_down_since = now
        elif failure == "link_up":
            self.link_down_since = None

    def _transmit(self, now: float, who: str, segment, retransmission: bool, stale: bool = False) -> None:
        transmissions = self.trace.transmissions
        index = len(transmissions) + 1
        delay = self.link.carry(index)
        to = "server" if who == "client" else "client"
        if self.link_down_since is not None or to in self.down:  # the cable is out, or nobody is there
            delay = None
        if delay is None:
            transmissions.append(Transmission(index, who, segment, now, None, True, retransmission, stale))
            return
        arrived = now + delay
        transmissions.append(Transmission(index, who, segment, now, arrived, False, retransmission, stale))
        heapq.heappush(self.heap, (arrived, _ARRIVAL, next(self.order), to, segment))
