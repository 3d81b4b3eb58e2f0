"""A script of socket calls on hosts, run in time order: the way to show what the kernel does with them.

    run = tl.run_sockets([
        (0.0, "server", "listen", 5000, {"reuseaddr": True}),
        (0.0, "client", "connect", "server", 5000, {"local_port": 40001, "name": "first"}),
        (0.2, "server", "close", "first"),           # the server closes first: TIME-WAIT is on the server
        (0.3, "client", "close", "first"),
        (0.5, "server", "close", 5000),              # the listening socket too: the server "stops"
        (0.6, "server", "listen", 5000),             # and restarts without SO_REUSEADDR: EADDRINUSE
    ])
    print(run.summary()); print(run.ss("server", at=0.7)); tl.plot_ladder(run.connection("first"))

Each call is ``(time, host, call, *arguments[, {options}])``. A connection is named when it is
opened (``"name"``, else HOST.K for the host's K-th connect()) and every later call on either of
its ends uses that name; a listening socket is named by its port. The calls are those of a Host
(listen, connect, accept, send, shutdown, close, abort, exit) and ``inject``, which puts a segment on
the wire from one end of a connection without any socket behind it (a raw socket); ``crash``,
``reboot``, ``link_down`` and ``link_up`` make the host fail (power lost: its sockets are gone
without a segment; up again with none; its cable pulled and plugged back in). A call that
fails is recorded with what the application would see (``call error`` happenings:
"Address already in use", EADDRNOTAVAIL, ...) and the run goes on. The hosts are Linux's socket
layer (tl.Host, tl.Sysctls), so TIME-WAIT lasts TCP_TIMEWAIT_LEN, 60 s, unless ``time_wait`` says
otherwise, and retransmissions give up as Linux's do (time budgets, 1 s linear SYN retries, a
200 ms RTO floor; ``linux_timers=False`` for the RFC model's counted retries). ``connect`` and
``listen`` take ``user_timeout`` (TCP_USER_TIMEOUT, in seconds).
"""
from __future__ import annotations

from ._check import check_bytes, check_choice, check_int_range, check_number
from .host import Host, check_port
from .hostrun import CALL, HostRun, packet_of
from .link import Link
from .nettrace import NetworkTrace
from .scenarios import FAILURES
from .segment import Segment
from .sysctl import Sysctls
from .trace import Happening

HOSTS = {"server": "10.0.0.1", "client": "10.0.1.1"}
LINUX_TIME_WAIT = 60.0  # include/net/tcp.h TCP_TIMEWAIT_LEN
# call -> (its arguments after the host, its options)
CALLS = {
    "listen": (("port",), ("backlog", "reuseaddr", "keepalive", "user_timeout")),
    "connect": (("host", "port"), ("local_port", "reuseaddr", "keepalive", "user_timeout", "name")),
    "accept": (("port",), ()),
    "send": (("connection", "data"), ()),
    "shutdown": (("connection", "how"), ()),
    "close": (("connection or port",), ("linger",)),
    "abort": (("connection",), ()),
    "exit": ((), ()),
    "inject": (("connection", "segment"), ()),
    # failures of the host, on the same footing (hostrun.HostRun.fail)
    "crash": ((), ()),
    "reboot": ((), ()),
    "link_down": ((), ()),
    "link_up": ((), ()),
}


def run_sockets(calls, *, hosts=None, sysctls=None, delay: float = 0.05, jitter: float = 0.0, loss: float = 0.0,
                drop=(), seed: int = 0, rto: float = 1.0, msl: float = 120.0, time_wait: float = LINUX_TIME_WAIT,
                delayed_ack: float = 0.0, mss: int = 1460, linux_timers: bool = True) -> NetworkTrace:
    """Run ``calls`` on ``hosts`` (name -> address; default a server and a client) joined by one link.

    ``sysctls`` maps a host's name to its settings (``{"client": {"tcp_tw_reuse": 1}}``); the link
    and Endpoint settings are those of tl.simulate.
    """
    hosts = dict(HOSTS if hosts is None else hosts)
    if not hosts or not all(isinstance(n, str) and n for n in hosts):
        raise ValueError(f"hosts must map host names to addresses, got {hosts!r}")
    sysctls = {} if sysctls is None else sysctls
    if not isinstance(sysctls, dict) or set(sysctls) - set(hosts):
        raise ValueError(f"sysctls must map some of the hosts ({', '.join(hosts)}) to their settings, got {sysctls!r}")
    seed = check_int_range("seed", seed, 0)
    link = Link(delay=delay, jitter=jitter, loss=loss, drop=drop, seed=seed)
    options = dict(rto=rto, msl=msl, time_wait=check_number("time_wait", time_wait, low=0.0),
                   delayed_ack=delayed_ack, mss=mss)
    made = {name: Host(name, address, sysctls=Sysctls.of(sysctls.get(name)), seed=seed,
                       linux_timers=linux_timers, **options)
            for name, address in hosts.items()}
    plan = _checked(calls, made)
    params = dict(delay=link.delay, jitter=link.jitter, loss=link.loss, drop=sorted(link.drop), seed=seed,
                  rto=float(rto), msl=float(msl), time_wait=float(time_wait), delayed_ack=delayed_ack,
                  mss=mss, linux_timers=bool(linux_timers), sysctls={name: h.sysctls.as_dict() for name, h in made.items()})
    return _ScriptRun(made, link, params, plan).go()


def _checked(calls, hosts: dict[str, Host]) -> list[tuple]:
    """The calls in time order, each checked: (time, host, call, arguments, options)."""
    if not isinstance(calls, (list, tuple)) or not calls:
        raise ValueError("calls must be a non-empty list of (time, host, call, *arguments[, {options}])")
    plan, names, counts = [], set(), {}
    for k, entry in sorted(enumerate(calls), key=lambda e: (_time_of(e[1]), e[0])):
        time, who, call, *args = entry
        check_choice("host", who, hosts)
        check_choice("call", call, CALLS)
        wanted, allowed = CALLS[call]
        options = args.pop() if args and isinstance(args[-1], dict) else {}
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ValueError(f"unknown option {unknown[0]!r} of {call}(); known: {', '.join(allowed) or 'none'}")
        if len(args) != len(wanted):
            raise ValueError(f"{call}() takes {len(wanted)} arguments ({', '.join(wanted) or 'none'}), "
                             f"got {len(args)}: {entry!r}")
        if call == "connect":
            check_choice("host to connect to", args[0], hosts)
            check_port("port", args[1])
            counts[who] = counts.get(who, 0) + 1
            options = {**options, "name": options.get("name", f"{who}.{counts[who]}")}
            names.add(options["name"])
        elif call in ("send", "shutdown", "abort", "inject") or (call == "close" and isinstance(args[0], str)):
            if args[0] not in names:
                raise ValueError(f"{call}(): unknown connection {args[0]!r}; opened before it: "
                                 f"{', '.join(sorted(names)) or 'none'}")
        if call == "send":
            check_bytes("data", args[1])
        if call == "inject" and not isinstance(args[1], Segment):
            raise TypeError(f"inject needs a Segment, got {type(args[1]).__name__}")
        plan.append((time, who, call, tuple(args), options))
    return plan


def _time_of(entry) -> float:
    if not isinstance(entry, (tuple, list)) or len(entry) < 3:
        raise ValueError(f"a call is (time, host, call, *arguments[, {{options}}]), got {entry!r}")
    return check_number("time of a call", entry[0], low=0.0)


class _ScriptRun(HostRun):
    def __init__(self, hosts: dict[str, Host], link: Link, params: dict, plan: list[tuple]) -> None:
        super().__init__("sockets", hosts, link, params)
        self.named: dict[str, tuple] = {}  # connection name -> 4-tuple
        for time, who, call, args, options in plan:
            self.push(time, CALL, who, self._caller(who, call, args, options))

    def _caller(self, who: str, call: str, args: tuple, options: dict):
        host = self.hosts[who]

        def run(now: float) -> None:
            if call in FAILURES:
                return self.fail(now, who, call)
            shown = [_shown(a) for a in args] + [f"{k}={v!r}" for k, v in options.items() if k != "name"]
            text = f"{call}({', '.join(shown)})"
            self.trace.happenings.append(Happening(now, who, "call", text))
            if who in self.down:
                raise OSError(f"{text}: {who} is down since it crashed at {self.down[who]:g} s (reboot it first)")
            getattr(self, "_" + call)(now, host, args, options)
        return run

    def _listen(self, now, host, args, options):
        host.listen(now, args[0], options.get("backlog", 128), reuseaddr=options.get("reuseaddr", False),
                    keepalive=options.get("keepalive", False), user_timeout=options.get("user_timeout", 0.0))

    def _connect(self, now, host, args, options):
        peer = self.hosts[args[0]]
        conn = host.connect(now, peer.address, args[1], local_port=options.get("local_port"),
                            reuseaddr=options.get("reuseaddr", False), keepalive=options.get("keepalive", False),
                            user_timeout=options.get("user_timeout", 0.0))
        self.named[options["name"]] = conn
        self.trace.clients.setdefault(options["name"], []).append(conn)
        self.conn_trace(conn, now)

    def _accept(self, now, host, args, options):
        if host.accept(now, args[0]) is None:
            raise OSError(f"accept() on port {args[0]}: no connection is waiting (EAGAIN, as a non-blocking "
                          f"accept() says; a blocking one would wait)")

    def _send(self, now, host, args, options):
        host.send(now, self._conn(args[0]), args[1])

    def _shutdown(self, now, host, args, options):
        host.shutdown(now, self._conn(args[0]), args[1])

    def _close(self, now, host, args, options):
        target = args[0] if isinstance(args[0], int) else self._conn(args[0])
        host.close(now, target, options.get("linger"))

    def _abort(self, now, host, args, options):
        host.abort(now, self._conn(args[0]))

    def _exit(self, now, host, args, options):
        host.exit(now)

    def _inject(self, now, host, args, options):
        conn = self._conn(args[0])
        side = "client" if conn[0] == host.address else "server"
        self.transmit(now, host.name, packet_of(conn, side, args[1]), False, conn, side)

    def _conn(self, name: str) -> tuple:
        if name not in self.named:
            raise OSError(f"connection {name!r} was never opened (its connect() failed)")
        return self.named[name]


def _shown(arg) -> str:
    return repr(arg) if isinstance(arg, (bytes, str)) else str(arg)

