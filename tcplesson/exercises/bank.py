"""The question bank: every question draws its variant's numbers and computes its answer from runs.

Each question is a function of a random generator (seeded by the student's variant and the
question id, so adding a question never changes the others) and of the sheet's words (``t``, a
words.Words: ``t("setting", isn=...)`` is the question's text in the sheet's language). It picks
the numbers (ISNs, which segment is lost, delays, MSL ...), runs the model, and returns a Draft:
the setting with those numbers, the part of the run the student may see, and the expected answer
*read from the run* (never typed in). Multiple-choice options are claims that the question's runs
confirm or refute; the right option is the one confirmed. The words never decide a number: a
variant's numbers and answer are the same in every language.

Prompts never show the part of a run that holds the answer: tables stop at the segment the
question is about, and state paths are never printed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from .. import labels
from ..network import Flood, Network, Server, clients
from ..nettrace import NetworkTrace
from ..sockets import run_sockets
from ..sysctl import LINUX_DEFAULTS
from ..scenarios import Scenario
from ..segment import SEQ_MOD, Flags, Segment
from ..simulator import simulate
from ..states import State
from ..trace import SIDES, Trace
from .answers import TIME_TOLERANCE, Choice, Number, Option, StateName
from .words import Words, title

LESSONS = {
    1: "01_segment_and_flags", 2: "02_three_way_handshake", 3: "03_why_three_way",
    4: "04_four_way_release", 5: "05_time_wait_2msl", 6: "06_state_machine", 7: "07_myths_and_facts",
    10: "10_listen_queues_and_syn_flood", 11: "11_sockets_and_time_wait", 12: "12_when_things_break",
}
DELAYS = (0.02, 0.03, 0.04, 0.05, 0.06, 0.08)  # small enough that the RTO never rises above its floor
RTOS = (1.0, 1.5, 2.0)
MSLS = (10.0, 15.0, 30.0, 60.0)
OPEN = [("server", "listen", 0), ("client", "connect", 0)]


@dataclass
class Draft:
    """What a question builder returns for one variant (texts in the sheet's language)."""

    asks: str  # the question itself, one sentence
    answer: Number | StateName | Choice
    hint: str
    explanation: str  # printed with the confirmation: why the answer is right, with no numbers in it
    setting: str = ""  # what the question is about, with this variant's numbers
    given: dict = field(default_factory=dict)  # the numbers the prompt shows, for solutions to use
    table: str = ""


class Spec(NamedTuple):
    id: str
    lesson: int
    build: Callable[[random.Random, Words], Draft]

    @property
    def title(self) -> str:
        """The title in English (``words.title(id, lang)`` for another language)."""
        return title(self.id)


BANK: dict[str, Spec] = {}


def question(qid: str, lesson: int):
    """Register a builder in BANK, in the order the sheet asks them. Its words (title, setting ...)
    are in words_en.QUESTIONS[qid] and the other languages' tables."""
    def register(build):
        BANK[qid] = Spec(qid, lesson, build)
        return build
    return register


# ---------------------------------------------------------------- helpers

def _run(steps, **params) -> Trace:
    return simulate(Scenario("exercise", steps), **params)


def _isn(rng: random.Random) -> int:
    """An ISN far enough from 2**32 that ISN + a few thousand does not wrap (wrapping is asked on purpose)."""
    return rng.randrange(1000, SEQ_MOD - 10**6)


def _shown(trace: Trace, upto: int, lang: str) -> tuple[str, dict]:
    """The first ``upto`` rows of the run's table (in ``lang``), and their numbers for solutions to use.

    Trace.table() prints a header, one line per transmission, then the state paths; only the
    transmission lines are shown, so no state is given away.
    """
    lines = trace.table(lang).splitlines()[:1 + upto]
    rows = trace.transmissions[:upto]
    given = {
        "sent": {tx.index: tx.sent_at for tx in rows},
        "arrives": {tx.index: tx.arrived_at for tx in rows},
        "sender": {tx.index: tx.sender for tx in rows},
        "segment": {tx.index: str(tx.segment) for tx in rows},
    }
    return "\n".join(lines), given


def _first(trace: Trace, test) -> object:
    return next((tx for tx in trace.transmissions if test(tx)), None)


def _by(side: str, flag: Flags):
    return lambda tx: tx.sender == side and tx.segment.has(flag)


def _shuffled(rng: random.Random, options: list[Option]) -> Choice:
    options = list(options)
    rng.shuffle(options)
    return Choice(options)


def _option(t: Words, key: str, holds: Callable[[], bool], **fields) -> Option:
    """The option ``option.<key>`` of the question's words; its rebuttal is ``rebut.<key>`` ("" for none)."""
    rebuttal = t(f"rebut.{key}", **fields) if t.has(f"rebut.{key}") else ""
    return Option(t(f"option.{key}", **fields), holds, rebuttal, t.en(f"option.{key}", **fields))


def _pure_ack(segment: Segment) -> bool:
    return not segment.payload and not segment.flags & (Flags.SYN | Flags.FIN | Flags.RST)


def _side(t: Words, who: str) -> str:
    return t.message(f"side.{who}")


# ---------------------------------------------------------------- lesson 01: the segment

@question("fin-seq-wrap", 1)
def _fin_seq_wrap(rng: random.Random, t: Words) -> Draft:
    isn = SEQ_MOD - rng.randint(50, 999)
    n = rng.randint(1000, 5000)  # more than the distance to 2**32: the numbers wrap
    trace = _run(OPEN + [("client", "send", "ESTABLISHED+0.5", b"x" * n),
                         ("client", "close", "ESTABLISHED+1"), ("server", "close", "CLOSE-WAIT+0.5")],
                 client_isn=isn, server_isn=_isn(rng))
    fin = _first(trace, _by("client", Flags.FIN))
    return Draft(
        setting=t("setting", isn=isn, n=n),
        asks=t("asks"),
        answer=Number(fin.segment.seq, traps={
            isn + 1 + n: t("trap.no_wrap"),
            (isn + n) % SEQ_MOD: t("trap.no_syn"),
            (isn + n + 2) % SEQ_MOD: t("trap.one_more"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"isn": isn, "n": n},
    )


# ---------------------------------------------------------------- lesson 02: the three-way handshake

@question("synack-ack", 2)
def _synack_ack(rng: random.Random, t: Words) -> Draft:
    client_isn, server_isn = _isn(rng), _isn(rng)
    synack = simulate("handshake", client_isn=client_isn, server_isn=server_isn).transmissions[1]
    return Draft(
        setting=t("setting", client_isn=client_isn, server_isn=server_isn),
        asks=t("asks"),
        answer=Number(synack.segment.ack, traps={
            client_isn: t("trap.client_isn"),
            server_isn + 1: t("trap.third"),
            server_isn: t("trap.server_isn"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"client_isn": client_isn, "server_isn": server_isn},
    )


@question("handshake-loss-open", 2)
def _handshake_loss_open(rng: random.Random, t: Words) -> Draft:
    lost, who = rng.choice((1, 2, 3)), rng.choice(SIDES)
    delay, rto = rng.choice(DELAYS), rng.choice(RTOS)
    trace = simulate("handshake", drop=[lost], delay=delay, rto=rto,
                     client_isn=_isn(rng), server_isn=_isn(rng))
    table, given = _shown(trace, lost, t.lang)
    traps = {{"client": 2 * delay, "server": 3 * delay}[who]: t("trap.no_loss")}
    if who == "client":
        traps[rto + 3 * delay] = t("trap.own_ack")
    else:
        traps[rto + 2 * delay] = t("trap.travel")
    return Draft(
        setting=t("setting", delay=delay, rto=rto, lost=lost, name=t.message(f"handshake.{lost}")),
        asks=t("asks", who=_side(t, who)),
        answer=Number(trace.first_time(who, State.ESTABLISHED), unit="s", traps=traps),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"lost": lost, "who": who, "delay": delay, "rto": rto, **given},
        table=table,
    )


# ---------------------------------------------------------------- lesson 03: why three segments

@question("old-duplicate-rst", 3)
def _old_duplicate_rst(rng: random.Random, t: Words) -> Draft:
    stale, server_isn = _isn(rng), _isn(rng)
    trace = simulate(Scenario("exercise", [("server", "listen", 0),
                                           ("client", "inject", 0, Segment(Flags.SYN, stale))]),
                     client_isn=_isn(rng), server_isn=server_isn)
    rst = _first(trace, _by("client", Flags.RST))
    return Draft(
        setting=t("setting", stale=stale, server_isn=server_isn),
        asks=t("asks"),
        answer=Number(rst.segment.seq, traps={
            stale: t("trap.stale"),
            server_isn + 1: t("trap.server_isn"),
            0: t("trap.zero"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"stale_seq": stale, "server_isn": server_isn},
    )


@question("why-three-way", 3)
def _why_three_way(rng: random.Random, t: Words) -> Draft:
    def old_duplicate_is_refused():
        two = simulate("old-duplicate-syn", handshake="two-way")
        three = simulate("old-duplicate-syn")
        return (two.final_states["server"] is State.ESTABLISHED
                and three.final_states["server"] is State.LISTEN
                and _first(three, _by("client", Flags.RST)) is not None)

    def two_cannot_open():
        return simulate("handshake", handshake="two-way").final_states["client"] is not State.ESTABLISHED

    def third_carries_server_isn():
        trace = simulate("handshake", client_isn=100, server_isn=300)
        return _first(trace, lambda tx: tx.segment.has(Flags.SYN) and tx.segment.seq == 300).index == 3

    def lost_syn_never_repeated():
        trace = simulate("handshake", handshake="two-way", drop=[1])
        return not any(tx.retransmission for tx in trace.transmissions)

    return Draft(
        asks=t("asks"),
        answer=_shuffled(rng, [
            _option(t, "old_duplicate", old_duplicate_is_refused),
            _option(t, "two_cannot", two_cannot_open),
            _option(t, "third_isn", third_carries_server_isn),
            _option(t, "lost_syn", lost_syn_never_repeated),
        ]),
        hint=t("hint"),
        explanation=t("explanation"),
    )


# ---------------------------------------------------------------- lesson 04: the release

@question("release-state", 4)
def _release_state(rng: random.Random, t: Words) -> Draft:
    who, k, delay = rng.choice(SIDES), rng.randint(1, 4), rng.choice(DELAYS)
    trace = simulate("lifecycle", delay=delay, client_isn=_isn(rng), server_isn=_isn(rng))
    segment = trace.transmissions[2 + k]
    table, given = _shown(trace, 3 + k, t.lang)
    return Draft(
        setting=t("setting", k=k, index=3 + k),
        asks=t("asks", who=_side(t, who), index=3 + k),
        answer=StateName(trace.state_at(who, segment.arrived_at)),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"who": who, "k": k, "delay": delay, **given},
        table=table,
    )


def _release_loss(rng: random.Random, choices, lang: str) -> tuple[int, float, float, Trace, str, dict]:
    lost, rto, delay = rng.choice(choices), rng.choice(RTOS), rng.choice(DELAYS)
    trace = simulate("lifecycle", drop=[lost], rto=rto, delay=delay, client_isn=_isn(rng), server_isn=_isn(rng))
    table, given = _shown(trace, lost, lang)
    return lost, rto, delay, trace, table, {"lost": lost, "rto": rto, "delay": delay, **given}


def _release_loss_setting(t: Words, lost: int, rto: float, delay: float) -> str:
    return t("setting", delay=delay, rto=rto, lost=lost, name=t.message(f"release.{lost}"))


@question("release-loss-next", 4)
def _release_loss_next(rng: random.Random, t: Words) -> Draft:
    lost, rto, delay, trace, table, given = _release_loss(rng, (4, 5, 6, 7), t.lang)
    first = _first(trace, lambda tx: tx.retransmission)
    return Draft(
        setting=_release_loss_setting(t, lost, rto, delay),
        asks=t("asks"),
        answer=_shuffled(rng, [
            _option(t, "client_fin",
                    lambda: first is not None and first.sender == "client" and first.segment.has(Flags.FIN)),
            _option(t, "server_fin",
                    lambda: first is not None and first.sender == "server" and first.segment.has(Flags.FIN)),
            _option(t, "ack_again", lambda: first is not None and _pure_ack(first.segment)),
            _option(t, "nothing", lambda: first is None),
        ]),
        hint=t("hint"),
        explanation=t("explanation"),
        given=given,
        table=table,
    )


@question("release-loss-time", 4)
def _release_loss_time(rng: random.Random, t: Words) -> Draft:
    lost, rto, delay, trace, table, given = _release_loss(rng, (4, 6, 7), t.lang)
    first = _first(trace, lambda tx: tx.retransmission)
    sent = given["sent"]
    fin = 4 if lost == 4 else 6
    traps = {
        sent[fin] + 2 * rto: t("trap.doubled"),
        sent[fin] + rto + delay: t("trap.arrives"),
    }
    if lost == 7:
        traps[sent[7] + rto] = t("trap.ack_timer")
    return Draft(
        setting=_release_loss_setting(t, lost, rto, delay),
        asks=t("asks"),
        answer=Number(first.sent_at, unit="s", traps=traps),
        hint=t("hint"),
        explanation=t("explanation"),
        given=given,
        table=table,
    )


@question("half-close-ack", 4)
def _half_close_ack(rng: random.Random, t: Words) -> Draft:
    n, server_isn = rng.randint(1000, 9000), _isn(rng)
    trace = _run(OPEN + [("client", "shutdown", "ESTABLISHED+1", "SHUT_WR"),
                         ("server", "send", "CLOSE-WAIT+0.3", b"y" * n),
                         ("server", "close", "CLOSE-WAIT+1.5")],
                 client_isn=_isn(rng), server_isn=server_isn)
    last = [tx for tx in trace.transmissions if tx.sender == "client"][-1]
    return Draft(
        setting=t("setting", n=n, server_isn=server_isn),
        asks=t("asks"),
        answer=Number(last.segment.ack, traps={
            server_isn + 1 + n: t("trap.no_fin"),
            server_isn + n: t("trap.no_syn_fin"),
            server_isn + 2: t("trap.no_data", n=n),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"n": n, "server_isn": server_isn},
    )


# ---------------------------------------------------------------- lesson 05: TIME-WAIT and 2MSL

@question("time-wait-end", 5)
def _time_wait_end(rng: random.Random, t: Words) -> Draft:
    msl, delay = rng.choice(MSLS), rng.choice(DELAYS)
    trace = simulate("lifecycle", msl=msl, delay=delay, client_isn=_isn(rng), server_isn=_isn(rng))
    table, given = _shown(trace, len(trace.transmissions), t.lang)
    sent, arrives = given["sent"], given["arrives"]
    return Draft(
        setting=t("setting", msl=msl),
        asks=t("asks"),
        answer=Number(trace.time_wait("client")[1], unit="s", traps={
            sent[7] + msl: t("trap.once"),
            arrives[7] + 2 * msl: t("trap.arrival"),
            sent[4] + 2 * msl: t("trap.own_fin"),
            sent[7] + 240: t("trap.rfc_msl", msl=msl),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"msl": msl, "delay": delay, **given},
        table=table,
    )


@question("time-wait-restart", 5)
def _time_wait_restart(rng: random.Random, t: Words) -> Draft:
    msl, rto, delay = rng.choice(MSLS), rng.choice(RTOS), rng.choice(DELAYS)
    trace = simulate("lifecycle", drop=[7], msl=msl, rto=rto, delay=delay,
                     client_isn=_isn(rng), server_isn=_isn(rng))
    table, given = _shown(trace, 7, t.lang)
    sent = given["sent"]
    return Draft(
        setting=t("setting", msl=msl, rto=rto, delay=delay),
        asks=t("asks"),
        answer=Number(trace.time_wait("client")[1], unit="s", traps={
            sent[7] + 2 * msl: t("trap.no_restart"),
            sent[6] + rto + 2 * msl: t("trap.no_travel"),
            sent[6] + rto + delay + msl: t("trap.once"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"msl": msl, "rto": rto, "delay": delay, **given},
        table=table,
    )


@question("why-2msl", 5)
def _why_2msl(rng: random.Random, t: Words) -> Draft:
    def last_ack_is_covered():
        kept = simulate("lifecycle", drop=[7], msl=30)
        none = simulate("lifecycle", drop=[7], msl=30, time_wait=0)
        refin = _first(kept, lambda tx: tx.retransmission and tx.segment.has(Flags.FIN))
        reack = _first(kept, lambda tx: tx.sender == "client" and tx.sent_at >= refin.arrived_at)
        return (kept.outcomes["server"] is None and kept.final_states["server"] is State.CLOSED
                and _pure_ack(reack.segment) and none.outcomes["server"] == "reset")

    def waits_for_fin():
        trace = simulate("lifecycle")
        fin = _first(trace, _by("server", Flags.FIN))
        return trace.time_wait("client")[0] < fin.arrived_at

    def sends_data():
        trace = simulate("half-close")
        closed = trace.first_time("client", State.FIN_WAIT_1)
        return any(tx.sender == "client" and tx.segment.payload and tx.sent_at >= closed
                   for tx in trace.transmissions)

    def always_server():
        return State.TIME_WAIT in simulate("lifecycle").path("server")

    return Draft(
        asks=t("asks"),
        answer=_shuffled(rng, [
            _option(t, "last_ack", last_ack_is_covered),
            _option(t, "waits_fin", waits_for_fin),
            _option(t, "sends_data", sends_data),
            _option(t, "always_server", always_server),
        ]),
        hint=t("hint"),
        explanation=t("explanation"),
    )


@question("no-time-wait", 5)
def _no_time_wait(rng: random.Random, t: Words) -> Draft:
    time_wait, msl = rng.choice((0.0, None)), rng.choice(MSLS)
    trace = simulate("lifecycle", drop=[7], msl=msl, time_wait=time_wait,
                     client_isn=_isn(rng), server_isn=_isn(rng))
    outcome, final = trace.outcomes["server"], trace.final_states["server"]
    length = t("length.none") if time_wait == 0 else t("length.2msl", two_msl=2 * msl)
    return Draft(
        setting=t("setting", length=length),
        asks=t("asks"),
        answer=_shuffled(rng, [
            _option(t, "clean", lambda: outcome is None and final is State.CLOSED),
            _option(t, "reset", lambda: outcome == "reset"),
            _option(t, "timed_out", lambda: outcome == "timed out"),
            _option(t, "forever", lambda: final is State.LAST_ACK),
        ]),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"time_wait": time_wait, "msl": msl},
    )


@question("who-time-wait", 5)
def _who_time_wait(rng: random.Random, t: Words) -> Draft:
    scenario, msl, delay = rng.choice(("lifecycle", "server-closes-first")), rng.choice(MSLS), rng.choice(DELAYS)
    trace = simulate(scenario, msl=msl, delay=delay, client_isn=_isn(rng), server_isn=_isn(rng))
    table, given = _shown(trace, len(trace.transmissions), t.lang)
    when = round(trace.transmissions[-1].sent_at + rng.choice((1, 2, 5)), 3)
    expected = trace.state_at("server", when)
    return Draft(
        setting=t("setting", msl=msl),
        asks=t("asks", t=when),
        answer=StateName(expected, traps={
            State.TIME_WAIT: t("trap.time_wait"),
            State.CLOSED: t("trap.closed"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"msl": msl, "t": when, **given},
        table=table,
    )


# ---------------------------------------------------------------- lesson 06: the state machine

# (scenario, side, state, table event, simulate options, the event's key in the question's words)
_TRANSITIONS = (
    ("simultaneous-close", "client", State.FIN_WAIT_1, "rcv_fin", {}, "simultaneous_close"),
    ("lifecycle", "client", State.FIN_WAIT_2, "rcv_fin", {}, "peer_fin"),
    ("simultaneous-open", "client", State.SYN_SENT, "rcv_syn", {}, "simultaneous_open"),
    ("old-duplicate-syn", "server", State.SYN_RECEIVED, "rcv_rst_passive", {}, "rst_passive"),
    ("lifecycle", "server", State.LAST_ACK, "rcv_ack_of_fin", {}, "ack_of_fin"),
    ("abort", "server", State.ESTABLISHED, "rcv_rst", {}, "valid_rst"),
    ("refused", "client", State.SYN_SENT, "rcv_rst", {}, "refused"),
    ("lifecycle", "server", State.CLOSE_WAIT, "close", {}, "close"),
    ("server-closes-on-eof", "client", State.FIN_WAIT_1, "rcv_fin_ack_of_fin", {"delayed_ack": 0.2},
     "fin_ack_of_fin"),
)


@question("next-state", 6)
def _next_state(rng: random.Random, t: Words) -> Draft:
    scenario, side, state, event, options, words = rng.choice(_TRANSITIONS)
    trace = simulate(scenario, **options)
    step = next(s for s in trace.transitions[side] if s.old is state and s.event == event)
    return Draft(
        setting=t("setting", state=state, words=t(f"event.{words}")),
        asks=t("asks"),
        answer=StateName(step.new),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"state": state.value, "event": event},
    )


# ---------------------------------------------------------------- lesson 07: myths and facts

@question("three-segment-close", 7)
def _three_segment_close(rng: random.Random, t: Words) -> Draft:
    delayed_ack, close_after = 0.2, rng.choice((0.01, 0.05, 0.1, 0.4, 0.5, 1.0))
    trace = _run(OPEN + [("client", "close", "ESTABLISHED+1"), ("server", "close", f"CLOSE-WAIT+{close_after}")],
                 delayed_ack=delayed_ack, client_isn=_isn(rng), server_isn=_isn(rng))
    count = sum(1 for tx in trace.transmissions if tx.index > 3)
    return Draft(
        setting=t("setting", delayed_ack=delayed_ack, close_after=close_after),
        asks=t("asks"),
        answer=Number(count, traps={
            4: t("trap.four"),
            3: t("trap.three"),
            2: t("trap.two"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"delayed_ack": delayed_ack, "close_after": close_after},
    )


@question("close-unread", 7)
def _close_unread(rng: random.Random, t: Words) -> Draft:
    n = rng.randint(100, 3000)
    trace = _run(OPEN + [("client", "send", "ESTABLISHED+0.2", b"z" * n), ("server", "close", "ESTABLISHED+1.5")],
                 auto_read=False, client_isn=_isn(rng), server_isn=_isn(rng))
    closed = next(h.time for h in trace.happenings if h.who == "server" and h.detail == "close()")
    after = _first(trace, lambda tx: tx.sender == "server" and tx.sent_at >= closed)
    return Draft(
        setting=t("setting", n=n),
        asks=t("asks"),
        answer=_shuffled(rng, [
            _option(t, "fin", lambda: after is not None and after.segment.has(Flags.FIN)),
            _option(t, "rst", lambda: after is not None and after.segment.has(Flags.RST)
                    and trace.outcomes["client"] == "reset"),
            _option(t, "nothing", lambda: after is None),
            _option(t, "send_back", lambda: after is not None and bool(after.segment.payload)),
        ]),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"n": n},
    )


# ---------------------------------------------------------------- in the style of the 408 exam
# (考研 408, computer networks): host A closes first, states and numbers of the release in the
# textbook's notation (FIN seq=u; ACK seq=v ack=u+1; FIN seq=w ack=u+1; ACK seq=u+1 ack=w+1), and a
# calculation with the one-way delay (or RTT) and MSL. Asked after the others, so that adding them
# changed no earlier question's number.

# moment -> (whose state is asked, the state RFC 9293 3.6 puts it in, the states offered beside it)
_MOMENTS = {
    "a_fin_sent": ("A", State.FIN_WAIT_1, (State.FIN_WAIT_2, State.CLOSE_WAIT, State.LAST_ACK, State.TIME_WAIT)),
    "a_ack_in": ("A", State.FIN_WAIT_2, (State.FIN_WAIT_1, State.CLOSE_WAIT, State.TIME_WAIT, State.CLOSING)),
    "a_fin_in": ("A", State.TIME_WAIT, (State.CLOSED, State.LAST_ACK, State.FIN_WAIT_2, State.CLOSING)),
    "b_fin_in": ("B", State.CLOSE_WAIT, (State.LAST_ACK, State.FIN_WAIT_1, State.FIN_WAIT_2, State.TIME_WAIT)),
    "b_fin_sent": ("B", State.LAST_ACK, (State.CLOSE_WAIT, State.FIN_WAIT_1, State.CLOSING, State.TIME_WAIT)),
    "b_ack_in": ("B", State.CLOSED, (State.TIME_WAIT, State.LAST_ACK, State.CLOSE_WAIT, State.LISTEN)),
}


def _state_option(t: Words, state: State, holds: Callable[[], bool]) -> Option:
    """A state as an option: its RFC name (and, where the language has one, its textbook name)."""
    textbook = labels.text(f"textbook.{state.value}", t.lang)
    rebuttal = t.message("state.means", state=state.value, meaning=labels.describe(state, t.lang))
    return Option(t("option", state=state.value, textbook=textbook), holds, rebuttal, state.value)


@question("release-state-408", 4)
def _release_state_408(rng: random.Random, t: Words) -> Draft:
    scenario, moment, delay = rng.choice(("lifecycle", "server-closes-first")), rng.choice(list(_MOMENTS)), \
        rng.choice(DELAYS)
    trace = simulate(scenario, delay=delay, client_isn=_isn(rng), server_isn=_isn(rng))
    a = _first(trace, lambda tx: tx.segment.has(Flags.FIN)).sender  # A: the side that sends the first FIN
    b = next(side for side in SIDES if side != a)
    fin_a = _first(trace, _by(a, Flags.FIN))
    ack_a = _first(trace, lambda tx: tx.sender == b and tx.segment.ack == fin_a.segment.seq + 1)
    fin_b = _first(trace, _by(b, Flags.FIN))
    ack_b = _first(trace, lambda tx: tx.sender == a and tx.segment.ack == fin_b.segment.seq + 1)
    when = {"a_fin_sent": fin_a.sent_at, "a_ack_in": ack_a.arrived_at, "a_fin_in": fin_b.arrived_at,
            "b_fin_in": fin_a.arrived_at, "b_fin_sent": fin_b.sent_at, "b_ack_in": ack_b.arrived_at}[moment]
    host, state, others = _MOMENTS[moment]
    side = a if host == "A" else b
    offered = [state, *rng.sample(others, 3)]
    return Draft(
        setting=t("setting", a=_side(t, a), b=_side(t, b), moment=t(f"moment.{moment}")),
        asks=t(f"asks.{host}"),
        answer=_shuffled(rng, [_state_option(t, s, lambda s=s: trace.state_at(side, when) is s) for s in offered]),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"a": a, "b": b, "host": host, "moment": moment, "delay": delay},
    )


@question("release-ack-uvw", 4)
def _release_ack_uvw(rng: random.Random, t: Words) -> Draft:
    client_isn, server_isn = _isn(rng), _isn(rng)
    m = rng.randint(0, 3000)  # bytes the client sends before it closes
    n = rng.randint(100, 4000) if rng.random() < 0.6 else 0  # bytes the server still sends in CLOSE-WAIT
    field_ = rng.choice(("ack", "seq"))
    steps = OPEN + ([("client", "send", "ESTABLISHED+0.5", b"c" * m)] if m else []) + \
        [("client", "shutdown" if n else "close", "ESTABLISHED+1", "SHUT_WR" if n else None)] + \
        ([("server", "send", "CLOSE-WAIT+0.3", b"s" * n)] if n else []) + [("server", "close", "CLOSE-WAIT+1.5")]
    trace = _run(steps, client_isn=client_isn, server_isn=server_isn)
    fin_c = _first(trace, _by("client", Flags.FIN))
    ack_s = _first(trace, lambda tx: tx.sender == "server" and tx.segment.ack == fin_c.segment.seq + 1)
    fin_s = _first(trace, _by("server", Flags.FIN))
    last = _first(trace, lambda tx: tx.sender == "client" and tx.segment.ack == fin_s.segment.seq + 1)
    u, v, w = fin_c.segment.seq, ack_s.segment.seq, fin_s.segment.seq
    traps: dict = {}
    if field_ == "ack":
        for value, key in ((w, "trap.w"), (u + 1, "trap.u1"), (v + 1, "trap.v1")):
            traps.setdefault(value, t(key))
    else:
        for value, key in ((u, "trap.u"), (w + 1, "trap.w1"), (v, "trap.v"), (v + 1, "trap.v")):
            traps.setdefault(value, t(key))
    return Draft(
        setting=t("setting", u=u, v=v, w=w, data=t("data.some", n=n) if n else t("data.none")),
        asks=t(f"asks.{field_}"),
        answer=Number(getattr(last.segment, field_), traps=traps),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"u": u, "v": v, "w": w, "n": n, "field": field_},
    )


@question("close-time-2msl", 5)
def _close_time_2msl(rng: random.Random, t: Words) -> Draft:
    delay, msl = rng.choice(DELAYS), rng.choice(MSLS)
    open_wait, fin_wait = rng.choice((0.5, 1.0, 2.0, 3.0)), rng.choice((0.0, 0.5, 1.0))
    link = rng.choice(("delay", "rtt"))
    rtt = round(2 * delay, 6)
    trace = _run(OPEN + [("client", "close", f"ESTABLISHED+{open_wait:g}"),
                         ("server", "close", f"CLOSE-WAIT+{fin_wait:g}")],
                 delay=delay, msl=msl, client_isn=_isn(rng), server_isn=_isn(rng))
    if any(trace.final_states[side] is not State.CLOSED for side in SIDES):
        raise RuntimeError("close-time-2msl: both sides must end CLOSED")
    closed = max(trace.states[side][-1][0] for side in SIDES)  # when the last side entered CLOSED
    # the usual mistakes, worked out from the legs of the run: open (2d), pauses, FIN there and back (2d)
    legs = 4 * delay + open_wait + fin_wait
    traps: dict = {}
    for value, key in ((legs + delay, "trap.no_2msl"), (legs + msl, "trap.one_msl"),
                       (legs + delay + 2 * msl, "trap.after_arrival"), (legs - 2 * delay + 2 * msl, "trap.from_open"),
                       (legs - 2 * delay - open_wait + 2 * msl, "trap.from_fin"),
                       (4 * delay + 2 * msl, "trap.no_waits"), (legs + 240, "trap.rfc_msl")):
        traps.setdefault(round(value, 6), t(key, msl=msl))
    if link == "rtt":
        traps.setdefault(round(legs + 4 * delay + 2 * msl, 6), t("trap.rtt_one_way"))
    return Draft(
        setting=t("setting", open_wait=open_wait, fin_wait=fin_wait, msl=msl,
                  link=t(f"link.{link}", delay=delay, rtt=rtt)),
        asks=t("asks"),
        answer=Number(closed, unit="s", traps=traps),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"delay": delay, "rtt": rtt, "link": link, "msl": msl, "open_wait": open_wait, "fin_wait": fin_wait},
    )


# ---------------------------------------------------------------- lesson 10: listen queues, backlog, SYN floods
# Asked after the 408-style ones, so that adding them changed no earlier question's number.

EVERY = (0.2, 0.3, 0.5)  # seconds between clients: longer than any round trip of DELAYS, so handshakes never overlap


def _no_accept(rng: random.Random) -> dict:
    """listen(backlog) by an application that never calls accept(), and more clients than can fit."""
    backlog = rng.randint(1, 6)
    return {"backlog": backlog, "n": backlog + rng.randint(2, 4), "every": rng.choice(EVERY),
            "delay": rng.choice(DELAYS)}


def _no_accept_run(g: dict, *, abort: int = 0, syn_retries: int | None = None, rto: float = 1.0) -> NetworkTrace:
    """The run of ``_no_accept``'s numbers; ``syn_retries`` is every client host's tcp_syn_retries."""
    mine = None if syn_retries is None else {"tcp_syn_retries": syn_retries}
    net = Network("accept-queue-full", Server(backlog=g["backlog"], accept_every=None,
                                              sysctls={"tcp_abort_on_overflow": abort}),
                  [c._replace(sysctls=mine) for c in clients(g["n"], every=g["every"], close_after=30.0)])
    run = simulate(net, delay=g["delay"], rto=rto)
    if run.count("ACK dropped (accept queue full)") or run.count("RST (accept queue full)"):
        raise RuntimeError(f"every={g['every']} s must keep the clients one after another, but a handshake's "
                           f"last ACK met a full accept queue")
    return run


@question("accept-queue-admitted", 10)
def _accept_queue_admitted(rng: random.Random, t: Words) -> Draft:
    g = _no_accept(rng)
    run = _no_accept_run(g)
    admitted = sum(row["connected"] is not None for row in run.connect_times())
    b = g["backlog"]
    return Draft(
        setting=t("setting", **g),
        asks=t("asks"),
        answer=Number(admitted, traps={
            b: t("trap.limit"),
            g["n"]: t("trap.everyone"),
            b - 1: t("trap.minus_one"),
            0: t("trap.none"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given=g,
    )


@question("full-queue-client", 10)
def _full_queue_client(rng: random.Random, t: Words) -> Draft:
    g = _no_accept(rng)
    g.update(abort=rng.choice((0, 1)), syn_retries=rng.randint(1, 4), rto=rng.choice(RTOS))
    run = _no_accept_run(g, abort=g["abort"], syn_retries=g["syn_retries"], rto=g["rto"])
    last = run.connect_times()[-1]
    if last["outcome"] is None:
        raise RuntimeError("full-queue-client: the last client must not get in")
    conn = run.connection(last["client"])
    failed = conn.states["client"][-1][0] - last["started"]  # its socket went CLOSED
    last_syn = conn.transmissions[-1].sent_at - last["started"]
    rto, r = g["rto"], g["syn_retries"]
    default, traps = LINUX_DEFAULTS["tcp_syn_retries"], {}
    for value, key in ((2 * g["delay"], "trap.refused"), (last_syn, "trap.last_syn"),
                       (rto * (r + 1), "trap.no_backoff"), (rto * (2**(r + 1) - 1), "trap.rfc_doubling"),
                       (rto * (2**(default + 1) - 1), "trap.linux_default"), (last["started"] + failed, "trap.clock")):
        if round(value, 6) != round(failed, 6):
            traps.setdefault(round(value, 6), t(key, syn_retries=r, default=default))
    return Draft(
        setting=t("setting", **g),
        asks=t("asks", n=g["n"]),
        answer=Number(round(failed, 6), unit="s", traps=traps),
        hint=t("hint"),
        explanation=t("explanation"),
        given={**g, "started": last["started"]},
    )


@question("syn-cookies-flood", 10)
def _syn_cookies_flood(rng: random.Random, t: Words) -> Draft:
    g = {"rate": rng.choice((100, 150, 200)), "start": 1.0, "duration": rng.choice((10, 12, 15)),
         "backlog": rng.choice((16, 32, 64)), "cookies": rng.choice((0, 1)), "n": 4, "first": 2.0,
         "every": rng.choice((1.0, 1.5, 2.0)), "delay": rng.choice(DELAYS)}
    net = Network("syn-flood", Server(backlog=g["backlog"], sysctls={"tcp_syncookies": g["cookies"]}),
                  clients(g["n"], start=g["first"], every=g["every"]),
                  Flood(g["rate"], start=g["start"], duration=g["duration"]))
    run = simulate(net, delay=g["delay"])
    rows, listener = run.connect_times(), ("server", 80)
    if run.queue_at(*listener, g["first"])[0] <= run.limits[listener] or \
            rows[-1]["started"] >= g["start"] + g["duration"]:
        raise RuntimeError(f"syn-cookies-flood: with rate={g['rate']}, backlog={g['backlog']}, first={g['first']} "
                           f"and duration={g['duration']} every client must connect while the SYN queue is full")
    one_rtt = 2 * g["delay"] + TIME_TOLERANCE  # connect() took one round trip, to the table's millisecond

    def waited_for_retransmissions():
        return all(row["connected"] is None or row["connected"] > one_rtt for row in rows) and all(
            any(tx.sender == "client" and tx.retransmission and tx.segment.has(Flags.SYN)
                for tx in run.connection(row["client"]).transmissions) for row in rows)

    return Draft(
        setting=t("setting", meaning=t(f"cookies.{g['cookies']}"), **g),
        asks=t("asks"),
        answer=_shuffled(rng, [
            _option(t, "one_rtt", lambda: all(row["connected"] is not None and row["connected"] <= one_rtt
                                              for row in rows)),
            _option(t, "late", waited_for_retransmissions),
            _option(t, "refused", lambda: any(row["outcome"] == "refused" for row in rows)),
            _option(t, "accept_queue", lambda: max(a for _, _, a in run.queues[listener]) >= run.limits[listener]),
        ]),
        hint=t("hint"),
        explanation=t("explanation"),
        given=g,
    )


# ---------------------------------------------------------------- lesson 11: closing a socket
# Asked after lesson 10's, so that adding them changed no earlier question's number.

@question("rst-after-close", 11)
def _rst_after_close(rng: random.Random, t: Words) -> Draft:
    k, n, server_isn, delay = rng.randint(100, 3000), rng.randint(1, 500), _isn(rng), rng.choice(DELAYS)
    trace = _run(OPEN + [("server", "send", "ESTABLISHED+0.2", b"s" * k), ("server", "close", "ESTABLISHED+1"),
                         ("client", "send", "CLOSE-WAIT+0.5", b"c" * n)],
                 delay=delay, client_isn=_isn(rng), server_isn=server_isn)
    rst = _first(trace, _by("server", Flags.RST))
    if rst is None or trace.outcomes["client"] != "reset":
        raise RuntimeError("rst-after-close: the client's data must be answered with RST")
    fin = (server_isn + 1 + k) % SEQ_MOD  # the server's FIN: after its SYN and its k bytes
    return Draft(
        setting=t("setting", k=k, n=n, server_isn=server_isn),
        asks=t("asks"),
        answer=Number(rst.segment.seq, traps={
            fin: t("trap.fin"),
            (fin + 2) % SEQ_MOD: t("trap.one_more"),
            server_isn: t("trap.isn"),
            0: t("trap.zero"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"k": k, "n": n, "server_isn": server_isn, "delay": delay},
    )


@question("orphan-fin-timeout", 11)
def _orphan_fin_timeout(rng: random.Random, t: Words) -> Draft:
    fin_timeout, delay = rng.choice((5.0, 10.0, 20.0, 30.0, 60.0)), rng.choice(DELAYS)
    late = fin_timeout + rng.choice((2.0, 5.0, 10.0))  # after the client's FIN arrived: beyond the timeout
    trace = _run(OPEN + [("client", "close", "ESTABLISHED+1"), ("server", "send", f"CLOSE-WAIT+{late:g}", b"z")],
                 delay=delay, fin_timeout=fin_timeout, client_isn=_isn(rng), server_isn=_isn(rng))
    entered = trace.first_time("client", State.FIN_WAIT_2)
    byte = _first(trace, lambda tx: tx.sender == "server" and bool(tx.segment.payload))
    if entered is None or byte is None:
        raise RuntimeError("orphan-fin-timeout: the client must reach FIN-WAIT-2 and the server must write")
    meanwhile = [tx for tx in trace.transmissions if tx.sender == "client" and entered <= tx.sent_at < byte.arrived_at]
    answer = _first(trace, lambda tx: tx.sender == "client" and tx.sent_at >= byte.arrived_at)
    return Draft(
        setting=t("setting", fin_timeout=fin_timeout, late=late, delay=delay),
        asks=t("asks"),
        answer=_shuffled(rng, [
            _option(t, "nothing", lambda: not meanwhile and answer is not None and answer.segment.has(Flags.RST)
                    and trace.outcomes["server"] == "reset"),
            _option(t, "rst_now", lambda: any(tx.segment.has(Flags.RST) for tx in meanwhile)),
            _option(t, "fin_again", lambda: any(tx.segment.has(Flags.FIN) for tx in meanwhile)),
            _option(t, "time_wait", lambda: trace.time_wait("client") is not None),
        ]),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"fin_timeout": fin_timeout, "late": late, "delay": delay},
    )


@question("linger-zero", 11)
def _linger_zero(rng: random.Random, t: Words) -> Draft:
    isn, m, delay = _isn(rng), rng.randint(100, 3000), rng.choice(DELAYS)
    trace = _run(OPEN + [("client", "send", "ESTABLISHED+0.2", b"d" * m),
                         ("client", "close", "ESTABLISHED+1", {"linger": 0})],
                 delay=delay, client_isn=isn, server_isn=_isn(rng))
    rst, fin = _first(trace, _by("client", Flags.RST)), _first(trace, _by("client", Flags.FIN))
    seq = (isn + 1 + m) % SEQ_MOD  # the next number the client would use: its SYN and m bytes are taken
    plus = (seq + 1) % SEQ_MOD
    no_time_wait = lambda: all(trace.time_wait(side) is None for side in SIDES)  # noqa: E731
    return Draft(
        setting=t("setting", isn=isn, m=m),
        asks=t("asks"),
        answer=_shuffled(rng, [
            _option(t, "rst", lambda: rst is not None and rst.segment.seq == seq and no_time_wait()
                    and trace.outcomes["server"] == "reset", seq=seq),
            _option(t, "rst_plus", lambda: rst is not None and rst.segment.seq == plus, plus=plus),
            _option(t, "fin", lambda: fin is not None, seq=seq),
            _option(t, "rst_time_wait", lambda: rst is not None and trace.time_wait("client") is not None, seq=seq),
        ]),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"isn": isn, "m": m, "delay": delay},
    )


# ---------------------------------------------------------------- lesson 11, part B: ports and TIME-WAIT

def _connect_and_close_first(name: str, port: int, at: float, **options) -> list[tuple]:
    """One short connection on which the client closes first, so that its TIME-WAIT is on the client."""
    return [(at, "client", "connect", "server", port, {"name": name, **options}), (at + 0.2, "server", "accept", port),
            (at + 0.25, "client", "close", name), (at + 0.4, "server", "close", name)]


@question("tw-reuse-isn", 11)
def _tw_reuse_isn(rng: random.Random, t: Words) -> Draft:
    m, later, seed = rng.randint(1, 3000), rng.choice((1.5, 2.0, 5.0, 10.0, 30.0)), rng.randrange(10**6)
    first = [(0.0, "server", "listen", 80), (0.0, "client", "connect", "server", 80, {"name": "old"}),
             (0.2, "server", "accept", 80), (0.3, "client", "send", "old", b"m" * m),
             (0.5, "client", "close", "old"), (0.7, "server", "close", "old")]
    again = _connect_and_close_first("new", 80, 0.5 + later)
    run = run_sockets(first + again, seed=seed, sysctls={"client": {"ip_local_port_range": (50000, 50000),
                                                                 "tcp_tw_reuse": 1}})
    trace = run.connection("old")
    fin = _first(trace, _by("client", Flags.FIN))
    syns = [tx for tx in trace.transmissions if tx.sender == "client" and tx.segment.has(Flags.SYN)]
    if fin is None or len(syns) != 2 or not run.count("TIME-WAIT taken over by connect()"):
        raise RuntimeError("tw-reuse-isn: the second connect() must take over the first connection's TIME-WAIT")
    f = fin.segment.seq
    return Draft(
        setting=t("setting", m=m, fin=f, later=later),
        asks=t("asks"),
        answer=Number(syns[1].segment.seq, traps={
            (f + 1) % SEQ_MOD: t("trap.snd_nxt"),
            (f + 65537) % SEQ_MOD: t("trap.fin_counts"),
            (f + 1 + 65535) % SEQ_MOD: t("trap.window"),
            syns[0].segment.seq: t("trap.old_isn"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"m": m, "fin": f, "later": later, "seed": seed},
    )


@question("ports-per-destination", 11)
def _ports_per_destination(rng: random.Random, t: Words) -> Draft:
    n = rng.choice((2, 4, 6, 8))  # an even-sized range: Linux leaves one port of an odd-sized range unused
    a, b = n + rng.randint(1, 4), rng.randint(2, n + 3)  # more connections to port 5000 than there are ports
    every, seed = rng.choice((0.5, 1.0)), rng.randrange(10**6)
    order = [5000] * a + [5001] * b
    rng.shuffle(order)
    calls = [(0.0, "server", "listen", 5000), (0.0, "server", "listen", 5001)]
    for k, port in enumerate(order):
        calls += _connect_and_close_first(f"c{k + 1}", port, 0.1 + k * every)
    run = run_sockets(calls, seed=seed, sysctls={"client": {"ip_local_port_range": (40000, 40000 + n - 1),
                                                         "tcp_tw_reuse": 0}})
    opened = sum(1 for name in run.clients if run.connection(name).first_time("client", State.ESTABLISHED) is not None)
    refused = [h for h in run.happenings if h.kind == "call error" and "EADDRNOTAVAIL" in h.detail]
    if len(refused) != a + b - opened:  # every connect() within one TIME-WAIT (60 s) of the first
        raise RuntimeError("ports-per-destination: each connect() that fails must fail for want of a port")
    return Draft(
        setting=t("setting", n=n, low=40000, high=40000 + n - 1, a=a, b=b, total=a + b, every=every),
        asks=t("asks", total=a + b),
        answer=Number(opened, traps={
            min(a + b, n): t("trap.shared", n=n),
            a + b: t("trap.freed"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"n": n, "a": a, "b": b, "every": every, "seed": seed},
    )


@question("syn-meets-time-wait", 11)
def _syn_meets_time_wait(rng: random.Random, t: Words) -> Draft:
    above, gap, seed = rng.random() < 0.5, rng.randint(1000, 10**6), rng.randrange(10**6)
    quiet = {"tcp_timestamps": 0}
    old = [(0.0, "server", "listen", 80, {"reuseaddr": True}),
           (0.0, "client", "connect", "server", 80, {"local_port": 50000, "reuseaddr": True, "name": "old"}),
           (0.2, "server", "accept", 80), (0.4, "server", "close", "old"), (0.6, "client", "close", "old")]
    settings = dict(seed=seed, sysctls={"server": quiet, "client": quiet})
    plain = run_sockets(old, **settings).connection("old")
    rcv_nxt = (_first(plain, _by("client", Flags.FIN)).segment.seq + 1) % SEQ_MOD
    snd_nxt = (_first(plain, _by("server", Flags.FIN)).segment.seq + 1) % SEQ_MOD
    syn_seq = (rcv_nxt + gap if above else rcv_nxt - gap) % SEQ_MOD
    run = run_sockets(old + [(1.0, "client", "inject", "old", Segment(Flags.SYN, syn_seq))], **settings)
    answers = [tx.segment for tx in run.connection("old").transmissions if tx.sender == "server" and tx.sent_at >= 1.0]
    first = answers[0] if answers else None
    new_isn = (snd_nxt + 65537) % SEQ_MOD
    synack = lambda: first is not None and first.flags == Flags.SYN | Flags.ACK and first.seq == new_isn  # noqa: E731
    old_ack = lambda: first is not None and first.flags == Flags.ACK and (first.seq, first.ack) == (snd_nxt, rcv_nxt)  # noqa: E731,E501
    return Draft(
        setting=t("setting", rcv_nxt=rcv_nxt, snd_nxt=snd_nxt, syn=syn_seq),
        asks=t("asks"),
        answer=_shuffled(rng, [
            _option(t, "synack", synack, isn=new_isn),
            _option(t, "old_ack", old_ack, snd_nxt=snd_nxt, rcv_nxt=rcv_nxt),
            _option(t, "rst", lambda: first is not None and first.has(Flags.RST)),
            _option(t, "silent", lambda: first is None),
        ]),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"rcv_nxt": rcv_nxt, "snd_nxt": snd_nxt, "syn": syn_seq, "above": above, "seed": seed},
    )


# ---------------------------------------------------------------- lesson 12: when things break

@question("crash-idle-peer", 12)
def _crash_idle_peer(rng: random.Random, t: Words) -> Draft:
    kind, at, delay = rng.choice(("exit", "crash", "reboot")), rng.choice((0.5, 1.0, 2.0, 5.0)), rng.choice(DELAYS)
    later = rng.choice((600.0, 1800.0, 3600.0))
    steps = OPEN + ([("client", "crash", f"ESTABLISHED+{at:g}"), ("client", "reboot", f"ESTABLISHED+{at + 3:g}")]
                    if kind == "reboot" else [("client", kind, f"ESTABLISHED+{at:g}")])
    trace = _run(steps, delay=delay, client_isn=_isn(rng), server_isn=_isn(rng))
    opened = trace.first_time("server", State.ESTABLISHED)
    expected = trace.state_at("server", opened + later)
    traps = {s: t(f"trap.{s.name}") for s in (State.ESTABLISHED, State.CLOSE_WAIT, State.CLOSED) if s is not expected}
    return Draft(
        setting=t("setting", event=t(f"event.{kind}"), at=at, later=later, delay=delay),
        asks=t("asks", later=later),
        answer=StateName(expected, traps=traps),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"kind": kind, "at": at, "later": later, "delay": delay},
    )


@question("keepalive-gives-up", 12)
def _keepalive_gives_up(rng: random.Random, t: Words) -> Draft:
    idle, interval, probes = rng.choice((60, 300, 600, 7200)), rng.choice((5, 10, 30, 75)), rng.randint(2, 9)
    delay = rng.choice(DELAYS)
    trace = _run(OPEN + [("client", "crash", "ESTABLISHED+1")], delay=delay, keepalive=(idle, interval, probes),
                 client_isn=_isn(rng), server_isn=_isn(rng))
    heard = max(tx.arrived_at for tx in trace.transmissions if tx.sender == "client" and not tx.lost)
    ended = next(h.time for h in trace.happenings if h.who == "server" and h.kind == "outcome")
    if trace.outcomes["server"] != "timed out":
        raise RuntimeError("keepalive-gives-up: the server's keep-alive must time out")
    return Draft(
        setting=t("setting", idle=idle, interval=interval, probes=probes),
        asks=t("asks"),
        answer=Number(round(ended - heard, 6), traps={
            idle + (probes - 1) * interval: t("trap.last_probe"),
            idle: t("trap.first_probe"),
            probes * interval: t("trap.no_idle"),
            idle + (probes + 1) * interval: t("trap.one_more"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"idle": idle, "interval": interval, "probes": probes, "delay": delay},
    )


@question("half-open-reconnect", 12)
def _half_open_reconnect(rng: random.Random, t: Words) -> Draft:
    seed, port, m = rng.randrange(10**6), rng.randint(40000, 60000), rng.randint(1, 3000)
    calls = [(0.0, "server", "listen", 80), (0.0, "client", "connect", "server", 80, {"local_port": port, "name": "old"}),
             (0.2, "server", "accept", 80), (0.3, "client", "send", "old", b"m" * m), (1.0, "client", "crash"),
             (20.0, "client", "reboot"), (21.0, "client", "connect", "server", 80, {"local_port": port, "name": "new"})]
    trace = run_sockets(calls, seed=seed).connection("old")
    client_isn, server_isn = trace.transmissions[0].segment.seq, trace.transmissions[1].segment.seq
    new_syn = next(tx.segment for tx in trace.transmissions if tx.sent_at >= 21.0)
    rst = next((tx.segment for tx in trace.transmissions if tx.sender == "client" and tx.segment.has(Flags.RST)), None)
    if rst is None or trace.outcomes["server"] != "reset":
        raise RuntimeError("half-open-reconnect: the client's RST must reset the server's old connection")
    return Draft(
        setting=t("setting", port=port, m=m, client_isn=client_isn, server_isn=server_isn),
        asks=t("asks"),
        answer=Number(rst.seq, traps={
            0: t("trap.zero"),
            (server_isn + 1) % SEQ_MOD: t("trap.snd_nxt"),
            (client_isn + m) % SEQ_MOD: t("trap.syn_counts"),
            (new_syn.seq + 1) % SEQ_MOD: t("trap.new_syn"),
        }),
        hint=t("hint"),
        explanation=t("explanation"),
        given={"port": port, "m": m, "client_isn": client_isn, "server_isn": server_isn, "seed": seed},
    )
