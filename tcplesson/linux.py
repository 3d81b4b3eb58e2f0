"""The real Linux stack next to the model: the socket-call scripts, the model runs of the same calls, the comparison.

Each Script is a list of socket calls on 127.0.0.1 (``python -m tcplesson.capture``
runs it for real, as root, and records the segments with tcpdump and the states with ``ss``)
and, call by call, the model steps that mean the same. ``simulate_linux`` runs those steps in the
model with settings that make it behave like Linux where Linux departs from the bare RFC:

* ``time_wait=60``: Linux holds TIME-WAIT for 60 s (TCP_TIMEWAIT_LEN), not 2*MSL = 240 s.
* ``delayed_ack="linux"``: Linux's quick-ack and pingpong modes (linux_timers.py): the first data
  is ACKed at once, a FIN puts the connection in pingpong mode, and its ACK waits for the
  delayed-ACK timer, which before any data has arrived fires at the next tick (4 ms at HZ=250; the
  shipped captures show 2-4 ms). So a server that closes right after reading end-of-file sends its
  FIN with the ACK on it: three segments close the connection, not four; one that closes 0.1 s
  later has sent a lone ACK first.
* ``linux_timers=True``: Linux's give-up rules (time budgets from tcp_syn_retries and tcp_retries2,
  1 s linear SYN retries) and its 200 ms RTO floor (linux_timers.py).
* ``delay=1e-5``: loopback answers a SYN in about 10 microseconds.
* ``mss=65495``: what Linux announces on loopback (MTU 65536 - 40 bytes of headers).

What the model does not have is said, not hidden: SYN options (MSS, SACK-permitted, timestamps,
window scale) are not modelled, so the model's SYN carries none; ``compare`` sets the segment
lists side by side and names every difference.
"""
from __future__ import annotations

import difflib
from typing import NamedTuple

from .scenarios import Scenario
from .segment import SEQ_MOD, Flags, flag_names
from .simulator import simulate
from . import labels
from .states import State
from .trace import SIDES, Trace, columns, pad

LINUX = dict(delay=1e-5, time_wait=60.0, delayed_ack="linux", linux_timers=True, mss=65495, rto=1.0)

# The socket calls a script may make (capture.py carries them out).
SOCKET_CALLS = ("listen", "connect", "connect_self", "accept", "send", "recv", "recv_eof", "wait_readable",
                "shutdown", "close")


class Call(NamedTuple):
    """One socket call of a script, the pause before it, and the model steps that mean the same.

    ``expect`` names the error the call must end with ("ECONNREFUSED", "ECONNRESET"), if any.
    ``look`` False: no ``ss`` after this call, because the next one must follow at once (running
    ss takes milliseconds, long enough for the delayed ACK of a FIN to go out alone).
    """

    who: str
    action: str
    pause: float = 0.0
    model: tuple = ()
    data: bytes = b""
    expect: str = ""
    look: bool = True


class Script(NamedTuple):
    """A script of socket calls; ``settled`` is the state ``ss`` must show for each side at the end
    (None: no socket left), ``auto_read`` whether the model's applications read what arrives."""

    name: str
    description: str
    calls: tuple
    settled: dict
    auto_read: bool = True

    def model_scenario(self) -> Scenario:
        """The model steps of all calls, as a Scenario for ``tl.simulate``."""
        return Scenario(self.name, [step for call in self.calls for step in call.model], self.description)

    @property
    def self_connect(self) -> bool:
        return any(call.action == "connect_self" for call in self.calls)


def _c(who, action, pause=0.0, *model, data=b"", expect="", look=True) -> Call:
    if who not in SIDES:
        raise ValueError(f"who must be 'client' or 'server', got {who!r}")
    if action not in SOCKET_CALLS:
        raise ValueError(f"unknown socket call {action!r}; the capture script knows: {', '.join(SOCKET_CALLS)}")
    return Call(who, action, pause, tuple(model), data, expect, look)


_OPEN = (_c("server", "listen", 0, ("server", "listen", 0)),
         _c("client", "connect", 0, ("client", "connect", 0)),
         _c("server", "accept"))

SCRIPTS: dict[str, Script] = {s.name: s for s in (
    Script("client-closes-first", "the client closes; 0.2 s later the server closes too: four segments", _OPEN + (
        _c("client", "close", 0.1, ("client", "close", "ESTABLISHED+0.1")),
        _c("server", "recv_eof"),
        _c("server", "close", 0.2, ("server", "close", "CLOSE-WAIT+0.2")),
    ), {"client": "TIME-WAIT", "server": None}),
    Script("server-closes-first", "the server closes first; TIME-WAIT is then on the server", _OPEN + (
        _c("server", "close", 0.1, ("server", "close", "ESTABLISHED+0.1")),
        _c("client", "recv_eof"),
        _c("client", "close", 0.2, ("client", "close", "CLOSE-WAIT+0.2")),
    ), {"client": None, "server": "TIME-WAIT"}),
    Script("server-closes-on-eof", "the server closes as soon as it reads end-of-file: the ACK rides "
           "on its FIN, three segments", _OPEN + (
        _c("client", "close", 0.1, ("client", "close", "ESTABLISHED+0.1"), look=False),
        _c("server", "recv_eof", look=False),
        _c("server", "close", 0, ("server", "close", "CLOSE-WAIT+0")),
    ), {"client": "TIME-WAIT", "server": None}),
    Script("half-close", "the client shuts down its sending side; the server still sends 3000 bytes, "
           "then closes", _OPEN + (
        _c("client", "shutdown", 0.1, ("client", "shutdown", "ESTABLISHED+0.1", "SHUT_WR")),
        _c("server", "recv_eof"),
        _c("server", "send", 0.1, ("server", "send", "CLOSE-WAIT+0.1", b"x" * 3000), data=b"x" * 3000),
        _c("client", "recv", 0, data=b"x" * 3000),
        _c("server", "close", 0.1, ("server", "close", "CLOSE-WAIT+0.2")),
        _c("client", "recv_eof"),
        _c("client", "close"),
    ), {"client": "TIME-WAIT", "server": None}),
    Script("close-with-unread-data", "the server closes without reading the 5 bytes that came: RST, "
           "not FIN", _OPEN + (
        _c("client", "send", 0.1, ("client", "send", "ESTABLISHED+0.1", b"hello"), data=b"hello"),
        _c("server", "wait_readable"),
        _c("server", "close", 0.1, ("server", "close", "ESTABLISHED+0.2")),
        _c("client", "recv", 0, expect="ECONNRESET"),
        _c("client", "close"),
    ), {"client": None, "server": None}, auto_read=False),
    Script("refused", "a connect() to a port where nobody listens: RST", (
        _c("client", "connect", 0, ("client", "connect", 0), expect="ECONNREFUSED"),
    ), {"client": None, "server": None}),
    Script("self-connect", "a socket connects to its own port (a simultaneous open), then shuts down "
           "(a simultaneous close)", (
        _c("client", "connect_self", 0, ("client", "connect", 0), ("server", "connect", 0)),
        _c("client", "shutdown", 0.1, ("client", "shutdown", "ESTABLISHED+0.1", "SHUT_WR"),
           ("server", "shutdown", "ESTABLISHED+0.1", "SHUT_WR")),
        _c("client", "close"),
    ), {"client": "TIME-WAIT", "server": "TIME-WAIT"}),
)}


def script(name) -> Script:
    """A Script by name (or the script itself)."""
    if isinstance(name, Script):
        return name
    if not isinstance(name, str):
        raise TypeError(f"script must be a name or a Script, got {type(name).__name__}")
    if name not in SCRIPTS:
        raise ValueError(f"unknown Linux script {name!r}; known: {', '.join(SCRIPTS)}")
    return SCRIPTS[name]


def simulate_linux(name, captured: Trace | None = None, **overrides) -> Trace:
    """The model's run of a Linux scenario's calls, with the Linux-like settings (LINUX).

    With ``captured`` (the Trace read from that scenario's capture) the model uses the same initial
    sequence numbers, so raw numbers can be compared too. ``overrides`` go to ``tl.simulate``.
    """
    sc = script(name)
    params = dict(LINUX, auto_read=sc.auto_read)
    if captured is not None:
        if not isinstance(captured, Trace):
            raise TypeError(f"captured must be a Trace, got {type(captured).__name__}")
        bases = captured.isn_bases()
        params.update(client_isn=bases["client"], server_isn=bases["client"] if sc.self_connect else bases["server"])
    params.update(overrides)
    return simulate(sc.model_scenario(), **params)


# ------------------------------------------------------------------------------- comparison
class Row(NamedTuple):
    """One line of a comparison: a captured and a model transmission, or only one of them."""

    mark: str  # "=" same, "~" different, "<" only in the capture, ">" only in the model
    real: object  # a Transmission or None
    model: object
    real_text: str
    model_text: str


class Comparison:
    """The captured and the model's segments side by side, aligned, with numbers relative to each ISN.

    A segment is (sender, flags, relative seq, relative ack, payload length); ``differences`` says
    in words where the two lists part. For a socket connected to itself the model runs two
    endpoints with the same ISN that send every segment twice, identically; on the one socket's
    wire each is seen once, so the model's pairs count as one.
    """

    def __init__(self, real: Trace, model: Trace) -> None:
        for name, value in (("real", real), ("model", model)):
            if not isinstance(value, Trace):
                raise TypeError(f"{name} must be a Trace, got {type(value).__name__}")
        self.real, self.model = real, model
        self.self_connect = getattr(real, "self_connect", False)
        real_txs = list(real.transmissions)
        model_txs = _one_of_each_pair(model) if self.self_connect else list(model.transmissions)
        a = [_shape(real, tx, self.self_connect) for tx in real_txs]
        b = [_shape(model, tx, self.self_connect) for tx in model_txs]
        self.rows: list[Row] = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if op == "equal":
                self.rows += [Row("=", real_txs[i], model_txs[j], _text(a[i]), _text(b[j]))
                              for i, j in zip(range(i1, i2), range(j1, j2))]
                continue
            pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
            for k in range(pairs):
                self.rows.append(Row("~", real_txs[i1 + k], model_txs[j1 + k], _text(a[i1 + k]), _text(b[j1 + k])))
            self.rows += [Row("<", real_txs[i], None, _text(a[i]), "") for i in range(i1 + pairs, i2)]
            self.rows += [Row(">", None, model_txs[j], "", _text(b[j])) for j in range(j1 + pairs, j2)]

    @property
    def same(self) -> bool:
        return all(row.mark == "=" for row in self.rows)

    @property
    def differences(self) -> list[str]:
        """One sentence per row where Linux and the model differ (in tl.set_language()'s language)."""
        keys = {"~": "compare.both", "<": "compare.linux_only", ">": "compare.model_only"}
        return [labels.text(keys[row.mark], real=self._words(row.real_text), model=self._words(row.model_text))
                for row in self.rows if row.mark in keys]

    def table(self, lang: str | None = None) -> str:
        """A plain-text table: time (ms) and segment for Linux, then for the model, and a mark between."""
        t = lambda key: labels.text(key, lang)  # noqa: E731
        real = [self._words(r.real_text, lang) for r in self.rows]
        width = max([columns(text) for text in real] + [columns(t("compare.linux"))])
        lines = [f"{'ms':>9}  {pad(t('compare.linux'), width)}     {'ms':>9}  {t('compare.model')}"]
        for row, real_text in zip(self.rows, real):
            left = f"{_ms(row.real):>9}  {pad(real_text, width)}"
            right = f"{_ms(row.model):>9}  {self._words(row.model_text, lang)}" if row.model is not None else ""
            lines.append(f"{left}  {row.mark}  {right}".rstrip())
        return "\n".join(lines)

    @staticmethod
    def _words(text: str, lang: str | None = None) -> str:
        """A row's segment text with its sender ("client", "server", "socket") in the reader's language."""
        sender, _, rest = text.partition(" ")
        return f"{labels.text(sender, lang)} {rest}" if sender in ("client", "server", "socket") else text

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<Comparison: {len(self.rows)} rows, {len(self.differences)} differences>"


def compare(real: Trace, model: Trace) -> Comparison:
    """Set a captured Trace and the model's Trace of the same calls side by side (see Comparison)."""
    return Comparison(real, model)


def _one_of_each_pair(model: Trace) -> list:
    """A self-connect's model run: the two endpoints send the same segment at the same time; keep one."""
    out, seen = [], set()
    for tx in model.transmissions:
        key = (round(tx.sent_at, 9), tx.segment)
        if key in seen:
            seen.discard(key)
            continue
        seen.add(key)
        out.append(tx)
    return out


def _shape(trace: Trace, tx, self_connect: bool) -> tuple:
    bases = trace.isn_bases()
    if self_connect:
        bases = {who: bases["client"] for who in SIDES}
    seg = tx.segment
    ack = (seg.ack - bases[tx.receiver]) % SEQ_MOD if seg.flags & Flags.ACK else None
    sender = "socket" if self_connect else tx.sender
    return sender, flag_names(seg.flags), (seg.seq - bases[tx.sender]) % SEQ_MOD, ack, len(seg.payload)


def _text(shape: tuple) -> str:
    sender, flags, seq, ack, length = shape
    text = f"{sender} {flags} seq={seq}"
    if ack is not None:
        text += f" ack={ack}"
    if length:
        text += f" len={length}"
    return text


def _ms(tx) -> str:
    return "" if tx is None else f"{tx.sent_at * 1000:.3f}"


# ------------------------------------------------------------------------ states seen by ss
SS_STATES = {"ESTAB": State.ESTABLISHED, "SYN-SENT": State.SYN_SENT, "SYN-RECV": State.SYN_RECEIVED,
             "FIN-WAIT-1": State.FIN_WAIT_1, "FIN-WAIT-2": State.FIN_WAIT_2, "TIME-WAIT": State.TIME_WAIT,
             "CLOSE-WAIT": State.CLOSE_WAIT, "LAST-ACK": State.LAST_ACK, "CLOSING": State.CLOSING,
             "LISTEN": State.LISTEN, "CLOSE": State.CLOSED, "UNCONN": State.CLOSED}


def ss_state(name: str) -> State:
    """The model State for a state name as ``ss`` prints it (ESTAB, SYN-RECV, TIME-WAIT ...)."""
    if name not in SS_STATES:
        raise ValueError(f"unknown ss state {name!r}; ss prints one of: {', '.join(SS_STATES)}")
    return SS_STATES[name]


def state_problems(record: dict, trace: Trace, *, model: bool) -> list[str]:
    """Where ``trace`` disagrees with the states ``ss`` showed after each call of a capture ``record``.

    ``record`` is what ``tcplesson.capture`` wrote (the JSON beside the pcap). For each snapshot,
    each side's state as ``ss`` showed it (no socket counts as CLOSED, or LISTEN before a
    connection exists) must be one the trace's side was in during the same stretch: for a
    captured trace the snapshot's own time span, for the model's run (``model=True``) the time
    from the model's step for that call to the model's step for the next call; the last snapshot,
    taken once the sockets had settled, runs to the end of the trace.
    """
    if not isinstance(record, dict) or "steps" not in record or "final" not in record:
        raise TypeError("record must be a capture record (the dict in the .json next to the .pcap)")
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a Trace, got {type(trace).__name__}")
    snapshots = record["steps"] + [record["final"]]
    if model:
        windows = _model_windows(record, trace)
    else:
        windows = [tuple(step["ss_at"]) if step["ss_at"] else None for step in snapshots]
        windows[-1] = (windows[-1][0], max(windows[-1][1], trace.end_time))
    problems = []
    for step, window in zip(snapshots, windows):
        if step["states"] is None:
            continue  # no ss after this call (see Call.look)
        for who in SIDES:
            seen = step["states"].get(who)
            allowed = {ss_state(seen)} if seen else {State.CLOSED, State.LISTEN}
            passed = _states_during(trace, who, *window)
            if not allowed & passed:
                problems.append(f"after {step['who']} {step['call']}: ss showed the {who} {seen or 'with no socket'}; "
                                f"the {'model' if model else 'capture'} has it in "
                                f"{', '.join(sorted(s.value for s in passed))} then")
    return problems


def _states_during(trace: Trace, who: str, start: float, end: float) -> set:
    states = trace.states[who]
    out = {trace.state_at(who, start)}
    out.update(s for t, s in states if start <= t <= end)
    return out


def _model_windows(record: dict, model: Trace) -> list[tuple[float, float]]:
    """For each call of the record, the model time of its steps and of the next call's steps."""
    unused = [h for h in model.happenings if h.kind == "call"]
    times = []
    last = 0.0
    for call in script(record["scenario"]).calls:
        for who, name, *_ in call.model:
            happening = next((h for h in unused if h.who == who and h.detail.startswith(f"{name}(")), None)
            if happening is None:
                raise ValueError(f"the model run has no {name}() by the {who}: is it the run of {record['scenario']!r}?")
            unused.remove(happening)
            last = happening.time
        times.append(last)
    times.append(last)  # the settled snapshot
    ends = []
    for k in range(len(times)):
        later = [t for t in times[k + 1:] if t > times[k]]
        ends.append(later[0] if later else model.end_time)
    return list(zip(times, ends))
