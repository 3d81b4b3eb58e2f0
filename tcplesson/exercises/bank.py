"""The question bank: every question draws its variant's numbers and computes its answer from runs.

Each question is a function of a random generator (seeded by the student's variant and the
question id, so adding a question never changes the others). It picks the numbers (ISNs, which
segment is lost, delays, MSL ...), runs the model, and returns a Draft: the setting with those
numbers, the part of the run the student may see, and the expected answer *read from the run*
(never typed in). Multiple-choice options are claims that the question's runs confirm or refute;
the right option is the one confirmed.

Prompts never show the part of a run that holds the answer: tables stop at the segment the
question is about, and state paths are never printed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from ..scenarios import Scenario
from ..segment import SEQ_MOD, Flags, Segment
from ..simulator import simulate
from ..states import State
from ..trace import SIDES, Trace
from .answers import Choice, Number, Option, StateName

LESSONS = {
    1: "01_segment_and_flags", 2: "02_three_way_handshake", 3: "03_why_three_way",
    4: "04_four_way_release", 5: "05_time_wait_2msl", 6: "06_state_machine", 7: "07_myths_and_facts",
}
DELAYS = (0.02, 0.03, 0.04, 0.05, 0.06, 0.08)  # small enough that the RTO never rises above its floor
RTOS = (1.0, 1.5, 2.0)
MSLS = (10.0, 15.0, 30.0, 60.0)
OPEN = [("server", "listen", 0), ("client", "connect", 0)]


@dataclass
class Draft:
    """What a question builder returns for one variant."""

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
    title: str
    build: Callable[[random.Random], Draft]


BANK: dict[str, Spec] = {}


def question(qid: str, lesson: int, title: str):
    """Register a builder in BANK, in the order the sheet asks them."""
    def register(build):
        BANK[qid] = Spec(qid, lesson, title, build)
        return build
    return register


# ---------------------------------------------------------------- helpers

def _run(steps, **params) -> Trace:
    return simulate(Scenario("exercise", steps), **params)


def _isn(rng: random.Random) -> int:
    """An ISN far enough from 2**32 that ISN + a few thousand does not wrap (wrapping is asked on purpose)."""
    return rng.randrange(1000, SEQ_MOD - 10**6)


def _shown(trace: Trace, upto: int) -> tuple[str, dict]:
    """The first ``upto`` rows of the run's table, and their numbers for solutions to use.

    Trace.table() prints a header, one line per transmission, then the state paths; only the
    transmission lines are shown, so no state is given away.
    """
    lines = trace.table().splitlines()[:1 + upto]
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


def _pure_ack(segment: Segment) -> bool:
    return not segment.payload and not segment.flags & (Flags.SYN | Flags.FIN | Flags.RST)


_HANDSHAKE_NAMES = {1: "SYN", 2: "SYN,ACK", 3: "ACK"}
_RELEASE_NAMES = {4: "the client's FIN", 5: "the server's ACK of that FIN", 6: "the server's FIN",
                  7: "the client's last ACK"}


# ---------------------------------------------------------------- lesson 01: the segment

@question("fin-seq-wrap", 1, "The sequence number of a FIN, across the 2**32 wrap")
def _fin_seq_wrap(rng: random.Random) -> Draft:
    isn = SEQ_MOD - rng.randint(50, 999)
    n = rng.randint(1000, 5000)  # more than the distance to 2**32: the numbers wrap
    trace = _run(OPEN + [("client", "send", "ESTABLISHED+0.5", b"x" * n),
                         ("client", "close", "ESTABLISHED+1"), ("server", "close", "CLOSE-WAIT+0.5")],
                 client_isn=isn, server_isn=_isn(rng))
    fin = _first(trace, _by("client", Flags.FIN))
    return Draft(
        setting=(f"The client's initial sequence number (ISN) is {isn}. After the handshake it sends "
                 f"{n} bytes of data, then closes its side."),
        asks="What sequence number does the client's FIN carry?",
        answer=Number(fin.segment.seq, traps={
            isn + 1 + n: "sequence numbers are 32 bits wide: after 4294967295 comes 0, so count modulo 2**32.",
            (isn + n) % SEQ_MOD: "the SYN occupies one sequence number too, before the first byte of data.",
            (isn + n + 2) % SEQ_MOD: "the FIN carries the first number it occupies; one more is what the "
                                     "ACK of the FIN acknowledges.",
        }),
        hint="The SYN takes the ISN, each byte of data the next number, and the FIN the number after the "
             "last byte; all of it modulo 2**32 (RFC 9293 section 3.4).",
        explanation="The SYN occupies the ISN, the data the next n numbers, and the FIN carries the one after, "
                    "counted modulo 2**32.",
        given={"isn": isn, "n": n},
    )


# ---------------------------------------------------------------- lesson 02: the three-way handshake

@question("synack-ack", 2, "The acknowledgement number of the SYN,ACK")
def _synack_ack(rng: random.Random) -> Draft:
    client_isn, server_isn = _isn(rng), _isn(rng)
    synack = simulate("handshake", client_isn=client_isn, server_isn=server_isn).transmissions[1]
    return Draft(
        setting=f"The client's ISN is {client_isn} and the server's ISN is {server_isn}.",
        asks="What acknowledgement number does the server's SYN,ACK carry?",
        answer=Number(synack.segment.ack, traps={
            client_isn: "that is the client's ISN itself; the SYN occupies one sequence number, so the "
                        "server expects ISN + 1 next.",
            server_isn + 1: "that is what the client's ACK (the third segment) acknowledges; the SYN,ACK "
                            "acknowledges the client's SYN.",
            server_isn: "that is the server's own ISN, the seq of the SYN,ACK, not its ack.",
        }),
        hint="An acknowledgement number is the next sequence number the sender expects from the other side "
             "(RFC 9293 section 3.4).",
        explanation="The SYN occupies one sequence number, so the server acknowledges the client's ISN + 1.",
        given={"client_isn": client_isn, "server_isn": server_isn},
    )


@question("handshake-loss-open", 2, "When the connection opens after a lost handshake segment")
def _handshake_loss_open(rng: random.Random) -> Draft:
    lost, who = rng.choice((1, 2, 3)), rng.choice(SIDES)
    delay, rto = rng.choice(DELAYS), rng.choice(RTOS)
    trace = simulate("handshake", drop=[lost], delay=delay, rto=rto,
                     client_isn=_isn(rng), server_isn=_isn(rng))
    table, given = _shown(trace, lost)
    traps = {{"client": 2 * delay, "server": 3 * delay}[who]:
             "that is when it opens without the loss; a lost segment is only repeated when a "
             "retransmission timer expires."}
    if who == "client":
        traps[rto + 3 * delay] = ("the client does not wait for its own ACK to arrive: it counts the "
                                  "connection open when the SYN,ACK arrives.")
    else:
        traps[rto + 2 * delay] = "after the timer fires, the repeated segment and the answer to it still have to travel."
    return Draft(
        setting=(f"The one-way delay is {delay} s and the initial retransmission timeout (RTO) is {rto} s. "
                 f"Handshake segment #{lost} (the {_HANDSHAKE_NAMES[lost]}) is lost; the table shows the run "
                 f"up to that loss."),
        asks=f"At what time does the {who} reach ESTABLISHED?",
        answer=Number(trace.first_time(who, State.ESTABLISHED), unit="s", traps=traps),
        hint="Ask who is waiting for an answer that will never come: that side's timer (one RTO after it "
             "sent) repeats its segment, and then the rest of the handshake runs as usual. The client opens "
             "when a SYN,ACK arrives, the server when the ACK arrives.",
        explanation="A lost segment is repeated one RTO after it was sent by whoever waits for its answer; "
                    "the client counts the connection open on the SYN,ACK, the server on the ACK.",
        given={"lost": lost, "who": who, "delay": delay, "rto": rto, **given},
        table=table,
    )


# ---------------------------------------------------------------- lesson 03: why three segments

@question("old-duplicate-rst", 3, "The client's answer to an old duplicate SYN")
def _old_duplicate_rst(rng: random.Random) -> Draft:
    stale, server_isn = _isn(rng), _isn(rng)
    trace = simulate(Scenario("exercise", [("server", "listen", 0),
                                           ("client", "inject", 0, Segment(Flags.SYN, stale))]),
                     client_isn=_isn(rng), server_isn=server_isn)
    rst = _first(trace, _by("client", Flags.RST))
    return Draft(
        setting=(f"A listening server receives an old duplicate SYN (seq={stale}) left over from an earlier "
                 f"attempt. It answers with a SYN,ACK (its ISN is {server_isn}). The client has no such "
                 f"connection (it is CLOSED), so it answers with RST."),
        asks="What sequence number does the RST carry?",
        answer=Number(rst.segment.seq, traps={
            stale: "the RST does not repeat the old SYN's number: it takes the acknowledgement number of the "
                   "segment it answers, so that the server finds it acceptable.",
            server_isn + 1: "that is what an ACK of the server's SYN would carry in its ack field; the RST's "
                            "seq comes from the SYN,ACK's ack field.",
            0: "seq=0 is used only to answer a segment that carries no ACK; a SYN,ACK does.",
        }),
        hint="RFC 9293 section 3.10.7.1: a CLOSED endpoint answers a segment that has the ACK bit on with "
             "<SEQ=SEG.ACK><CTL=RST>. What does the SYN,ACK acknowledge?",
        explanation="The RST's seq is the SYN,ACK's acknowledgement number (the stale SYN's seq + 1), so the "
                    "server accepts it and goes back to LISTEN.",
        given={"stale_seq": stale, "server_isn": server_isn},
    )


@question("why-three-way", 3, "Why three segments to open")
def _why_three_way(rng: random.Random) -> Draft:
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
        asks="Why does TCP open a connection with three segments and not two (RFC 9293 section 3.5)?",
        answer=_shuffled(rng, [
            Option("An old duplicate SYN could otherwise open a connection nobody asked for: with three "
                   "segments the client answers the unexpected SYN,ACK with RST and the server goes back "
                   "to LISTEN.", old_duplicate_is_refused, ""),
            Option("Two segments cannot open a connection at all: the client would never reach ESTABLISHED.",
                   two_cannot_open,
                   'they can: with handshake="two-way" both sides reach ESTABLISHED after two segments. '
                   "The trouble is which connections a two-way handshake opens."),
            Option("The client learns the server's initial sequence number only from the third segment.",
                   third_carries_server_isn,
                   "the server's ISN travels on the second segment, the SYN,ACK; the third only "
                   "acknowledges it."),
            Option("Without a third segment a lost SYN would never be sent again.", lost_syn_never_repeated,
                   "the client's retransmission timer repeats a lost SYN in either handshake."),
        ]),
        hint='Run tl.simulate("old-duplicate-syn") with handshake="two-way" and with the normal handshake, '
             "and compare where the server ends up.",
        explanation="RFC 9293 section 3.5: the third segment lets the client refuse a SYN,ACK for a SYN it "
                    "never sent (an old duplicate), so the server does not hold a connection for nobody.",
    )


# ---------------------------------------------------------------- lesson 04: the release

@question("release-state", 4, "States during the four-way release")
def _release_state(rng: random.Random) -> Draft:
    who, k, delay = rng.choice(SIDES), rng.randint(1, 4), rng.choice(DELAYS)
    trace = simulate("lifecycle", delay=delay, client_isn=_isn(rng), server_isn=_isn(rng))
    segment = trace.transmissions[2 + k]
    table, given = _shown(trace, 3 + k)
    return Draft(
        setting=(f"The client closes first; the server closes 1 s after the client's FIN arrives. The table "
                 f"shows the run up to release segment {k} (#{3 + k})."),
        asks=f"What state is the {who} in just after segment #{3 + k} has arrived?",
        answer=StateName(trace.state_at(who, segment.arrived_at)),
        hint="Follow each side through the release: the side that closes goes FIN-WAIT-1, FIN-WAIT-2, "
             "TIME-WAIT; the other CLOSE-WAIT, LAST-ACK, CLOSED. Each step happens when a segment is sent "
             "or arrives.",
        explanation="Closing first: FIN sent -> FIN-WAIT-1, its ACK in -> FIN-WAIT-2, the peer's FIN in -> "
                    "TIME-WAIT. The other side: FIN in -> CLOSE-WAIT, own FIN out -> LAST-ACK, last ACK in "
                    "-> CLOSED.",
        given={"who": who, "k": k, "delay": delay, **given},
        table=table,
    )


def _release_loss(rng: random.Random, choices) -> tuple[int, float, float, Trace, str, dict]:
    lost, rto, delay = rng.choice(choices), rng.choice(RTOS), rng.choice(DELAYS)
    trace = simulate("lifecycle", drop=[lost], rto=rto, delay=delay, client_isn=_isn(rng), server_isn=_isn(rng))
    table, given = _shown(trace, lost)
    return lost, rto, delay, trace, table, {"lost": lost, "rto": rto, "delay": delay, **given}


def _release_loss_setting(lost: int, rto: float, delay: float) -> str:
    return (f"The client closes first; the server closes 1 s after the client's FIN arrives. One-way "
            f"delay {delay} s, initial RTO {rto} s. Release segment #{lost} ({_RELEASE_NAMES[lost]}) is "
            f"lost; the table shows the run up to that loss.")


@question("release-loss-next", 4, "What happens after a lost release segment")
def _release_loss_next(rng: random.Random) -> Draft:
    lost, rto, delay, trace, table, given = _release_loss(rng, (4, 5, 6, 7))
    first = _first(trace, lambda tx: tx.retransmission)
    return Draft(
        setting=_release_loss_setting(lost, rto, delay),
        asks="What happens next?",
        answer=_shuffled(rng, [
            Option("The client sends its FIN again when its retransmission timer expires.",
                   lambda: first is not None and first.sender == "client" and first.segment.has(Flags.FIN),
                   "the client repeats its FIN only while the FIN is unacknowledged and its timer expires "
                   "before anything acknowledges it."),
            Option("The server sends its FIN again when its retransmission timer expires.",
                   lambda: first is not None and first.sender == "server" and first.segment.has(Flags.FIN),
                   "the server repeats its FIN only when its FIN, or the ACK of it, was lost."),
            Option("The side whose ACK was lost sends that ACK again when a timer expires.",
                   lambda: first is not None and _pure_ack(first.segment),
                   "no timer repeats an ACK: the side waiting for it repeats the segment that ACK should "
                   "have acknowledged."),
            Option("Nothing is sent again: a later segment makes up for the lost one.",
                   lambda: first is None,
                   "a lost FIN, or the only ACK of a FIN, is made up for only if another segment "
                   "acknowledges the same FIN before the retransmission timer expires."),
        ]),
        hint="Ask which segment is left unacknowledged and who sent it: that side's timer expires one RTO "
             "after it sent it, unless an acknowledgement arrives first (a FIN that carries ACK counts).",
        explanation="Only segments that occupy sequence numbers (SYN, data, FIN) are repeated, by their "
                    "sender, when no acknowledgement arrives within one RTO.",
        given=given,
        table=table,
    )


@question("release-loss-time", 4, "When the retransmission after a lost release segment is sent")
def _release_loss_time(rng: random.Random) -> Draft:
    lost, rto, delay, trace, table, given = _release_loss(rng, (4, 6, 7))
    first = _first(trace, lambda tx: tx.retransmission)
    sent = given["sent"]
    fin = 4 if lost == 4 else 6
    traps = {
        sent[fin] + 2 * rto: "the first retransmission comes one RTO after the segment was sent; the RTO "
                             "doubles only for the next one.",
        sent[fin] + rto + delay: "that is when the retransmission arrives; the question asks when it is sent.",
    }
    if lost == 7:
        traps[sent[7] + rto] = ("no timer repeats an ACK; the timer that expires is the one on the FIN that "
                                "ACK should have acknowledged.")
    return Draft(
        setting=_release_loss_setting(lost, rto, delay),
        asks="At what time is the first retransmission sent?",
        answer=Number(first.sent_at, unit="s", traps=traps),
        hint="The timer runs on the segment that is waiting for an acknowledgement, from the moment it was "
             "sent.",
        explanation="The sender of the unacknowledged FIN repeats it one RTO after it first sent it.",
        given=given,
        table=table,
    )


@question("half-close-ack", 4, "The last ACK after a half-close")
def _half_close_ack(rng: random.Random) -> Draft:
    n, server_isn = rng.randint(1000, 9000), _isn(rng)
    trace = _run(OPEN + [("client", "close", "ESTABLISHED+1"),
                         ("server", "send", "CLOSE-WAIT+0.3", b"y" * n),
                         ("server", "close", "CLOSE-WAIT+1.5")],
                 client_isn=_isn(rng), server_isn=server_isn)
    last = [tx for tx in trace.transmissions if tx.sender == "client"][-1]
    return Draft(
        setting=(f"The client closes first. The server, now in CLOSE-WAIT, still sends {n} bytes to the "
                 f"client (a half-close: data still flows the other way), then closes. The server's ISN is "
                 f"{server_isn}."),
        asks="What acknowledgement number does the client's last ACK carry?",
        answer=Number(last.segment.ack, traps={
            server_isn + 1 + n: "that acknowledges the data but not the FIN: the FIN occupies one sequence "
                                "number too.",
            server_isn + n: "the server's SYN occupies one number, and its FIN one more.",
            server_isn + 2: f"the {n} bytes sent after the client's FIN still count: a half-closed "
                            "connection carries data the other way.",
        }),
        hint="Count the server's sequence numbers: its SYN, every byte it sent (also after the client's FIN), "
             "and its FIN; the last ACK acknowledges all of them.",
        explanation="After a half-close the other side may still send; its SYN, its data and its FIN each "
                    "occupy sequence numbers, and the last ACK acknowledges them all.",
        given={"n": n, "server_isn": server_isn},
    )


# ---------------------------------------------------------------- lesson 05: TIME-WAIT and 2MSL

@question("time-wait-end", 5, "When TIME-WAIT ends")
def _time_wait_end(rng: random.Random) -> Draft:
    msl, delay = rng.choice(MSLS), rng.choice(DELAYS)
    trace = simulate("lifecycle", msl=msl, delay=delay, client_isn=_isn(rng), server_isn=_isn(rng))
    table, given = _shown(trace, len(trace.transmissions))
    sent, arrives = given["sent"], given["arrives"]
    return Draft(
        setting=(f"In this run the maximum segment lifetime (MSL) is {msl:g} s (the RFC's is 120 s; Linux "
                 f"waits a fixed 60 s). The table shows every segment."),
        asks="When does the client leave TIME-WAIT?",
        answer=Number(trace.time_wait("client")[1], unit="s", traps={
            sent[7] + msl: "TIME-WAIT lasts twice the MSL.",
            arrives[7] + 2 * msl: "TIME-WAIT starts when the server's FIN arrives and the client sends its "
                                  "ACK, not when that ACK arrives.",
            sent[4] + 2 * msl: "TIME-WAIT starts at the end of the release, when the peer's FIN arrives, "
                               "not when the client sends its own FIN.",
            sent[7] + 240: f"this run's MSL is {msl:g} s, not the RFC's 120 s.",
        }),
        hint="TIME-WAIT begins when the client receives the server's FIN (and sends the last ACK) and lasts "
             "2 x MSL (RFC 9293 section 3.10.7.4).",
        explanation="The side that closed first enters TIME-WAIT on the peer's FIN and stays 2 x MSL.",
        given={"msl": msl, "delay": delay, **given},
        table=table,
    )


@question("time-wait-restart", 5, "TIME-WAIT when the last ACK is lost")
def _time_wait_restart(rng: random.Random) -> Draft:
    msl, rto, delay = rng.choice(MSLS), rng.choice(RTOS), rng.choice(DELAYS)
    trace = simulate("lifecycle", drop=[7], msl=msl, rto=rto, delay=delay,
                     client_isn=_isn(rng), server_isn=_isn(rng))
    table, given = _shown(trace, 7)
    sent = given["sent"]
    return Draft(
        setting=(f"MSL = {msl:g} s, initial RTO = {rto} s, one-way delay = {delay} s. The client's last ACK "
                 f"(#7) is lost; the table shows the run up to that loss."),
        asks="When does the client leave TIME-WAIT?",
        answer=Number(trace.time_wait("client")[1], unit="s", traps={
            sent[7] + 2 * msl: "the server repeats its FIN; the client acknowledges it again and restarts "
                               "the full 2MSL (RFC 9293 section 3.10.7.4, TIME-WAIT state).",
            sent[6] + rto + 2 * msl: "the repeated FIN is sent one RTO after the first, and still needs the "
                                     "one-way delay to reach the client.",
            sent[6] + rto + delay + msl: "TIME-WAIT lasts twice the MSL.",
        }),
        hint="Who notices the loss, and when does something reach the client again? What does TIME-WAIT do "
             "when a FIN arrives?",
        explanation="The server repeats its FIN one RTO later; the client, still in TIME-WAIT, acknowledges it "
                    "and restarts the 2MSL timer from that moment.",
        given={"msl": msl, "rto": rto, "delay": delay, **given},
        table=table,
    )


@question("why-2msl", 5, "Why TIME-WAIT exists")
def _why_2msl(rng: random.Random) -> Draft:
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
        asks="Why does the side that closes first wait in TIME-WAIT, for 2 x MSL?",
        answer=_shuffled(rng, [
            Option("If the last ACK is lost, the other side repeats its FIN; the side in TIME-WAIT is still "
                   "there to acknowledge it, and meanwhile old duplicates of the connection die out.",
                   last_ack_is_covered, ""),
            Option("TIME-WAIT is where the side that closed first waits for the other side's FIN.",
                   waits_for_fin,
                   "the FIN has already arrived when TIME-WAIT begins: waiting for the peer's FIN is FIN-WAIT-2."),
            Option("TIME-WAIT lets the side that closed first finish sending its data.", sends_data,
                   "after close() a side sends no more data; in TIME-WAIT it only answers a repeated FIN."),
            Option("TIME-WAIT is always on the server, whichever side closes first.", always_server,
                   'TIME-WAIT is on the side that closes first: in "lifecycle" that is the client.'),
        ]),
        hint='Run tl.simulate("lifecycle", drop=[7]) and the same with time_wait=0, and compare what the '
             "server sees.",
        explanation="TIME-WAIT keeps the closing side able to re-acknowledge a repeated FIN (the last ACK may "
                    "be lost), and 2 x MSL lets old segments of the connection die out before the same ports "
                    "can be used again.",
    )


@question("no-time-wait", 5, "A lost last ACK, with and without TIME-WAIT")
def _no_time_wait(rng: random.Random) -> Draft:
    time_wait, msl = rng.choice((0.0, None)), rng.choice(MSLS)
    trace = simulate("lifecycle", drop=[7], msl=msl, time_wait=time_wait,
                     client_isn=_isn(rng), server_isn=_isn(rng))
    outcome, final = trace.outcomes["server"], trace.final_states["server"]
    length = "0 s (no TIME-WAIT at all)" if time_wait == 0 else f"2 x MSL = {2 * msl:g} s"
    return Draft(
        setting=f"The client's last ACK (#7) is lost. In this run TIME-WAIT lasts {length}.",
        asks="What does the server's application see in the end?",
        answer=_shuffled(rng, [
            Option("A clean close: the connection ends without an error.",
                   lambda: outcome is None and final is State.CLOSED,
                   "the repeated FIN must reach a side that still knows the connection; a CLOSED endpoint "
                   "answers it with RST."),
            Option("Connection reset: an RST answers its repeated FIN.", lambda: outcome == "reset",
                   "the client is still in TIME-WAIT when the repeated FIN arrives, so it answers with an "
                   "ACK, not an RST."),
            Option("Connection timed out: its FIN is never acknowledged.", lambda: outcome == "timed out",
                   "the repeated FIN is answered (by an ACK or an RST) long before the server gives up."),
            Option("No end: the server waits in LAST-ACK forever.", lambda: final is State.LAST_ACK,
                   "the server's retransmission timer repeats its FIN; it never waits forever."),
        ]),
        hint="The server repeats its FIN one RTO later. Where is the client then, and how does an endpoint "
             "in that state answer a FIN?",
        explanation="With TIME-WAIT the repeated FIN is acknowledged again and the close is clean; without it "
                    "the client is already CLOSED and answers with RST (RFC 9293 section 3.10.7.1).",
        given={"time_wait": time_wait, "msl": msl},
    )


@question("who-time-wait", 5, "Which side holds TIME-WAIT")
def _who_time_wait(rng: random.Random) -> Draft:
    scenario, msl, delay = rng.choice(("lifecycle", "server-closes-first")), rng.choice(MSLS), rng.choice(DELAYS)
    trace = simulate(scenario, msl=msl, delay=delay, client_isn=_isn(rng), server_isn=_isn(rng))
    table, given = _shown(trace, len(trace.transmissions))
    when = round(trace.transmissions[-1].sent_at + rng.choice((1, 2, 5)), 3)
    expected = trace.state_at("server", when)
    return Draft(
        setting=f"MSL = {msl:g} s. The table shows every segment of this run.",
        asks=f"What state is the server in at t = {when:g} s?",
        answer=StateName(expected, traps={
            State.TIME_WAIT: "TIME-WAIT is on the side that closes first; look at who sent the first FIN.",
            State.CLOSED: "the server closed first here (it sent the first FIN), so it is the one that waits "
                          "2MSL in TIME-WAIT.",
        }),
        hint="Which side sent the first FIN? That side ends in TIME-WAIT for 2 x MSL; the other is CLOSED "
             "as soon as its FIN is acknowledged.",
        explanation="TIME-WAIT is on whichever side closes first, not on \"the client\": a server that closes "
                    "first collects TIME-WAIT sockets.",
        given={"msl": msl, "t": when, **given},
        table=table,
    )


# ---------------------------------------------------------------- lesson 06: the state machine

# (scenario, side, state, table event, simulate options, the event in words)
_TRANSITIONS = (
    ("simultaneous-close", "client", State.FIN_WAIT_1, "rcv_fin", {},
     "a FIN arrives that does not acknowledge its own FIN (both sides closed at the same moment)"),
    ("lifecycle", "client", State.FIN_WAIT_2, "rcv_fin", {}, "the peer's FIN arrives"),
    ("simultaneous-open", "client", State.SYN_SENT, "rcv_syn", {},
     "a SYN without ACK arrives (both sides connected at the same moment)"),
    ("old-duplicate-syn", "server", State.SYN_RECEIVED, "rcv_rst_passive", {},
     "an RST arrives (it was opened passively, with listen())"),
    ("lifecycle", "server", State.LAST_ACK, "rcv_ack_of_fin", {}, "the ACK of its FIN arrives"),
    ("abort", "server", State.ESTABLISHED, "rcv_rst", {}, "a valid RST arrives"),
    ("refused", "client", State.SYN_SENT, "rcv_rst", {}, "an RST that acknowledges its SYN arrives"),
    ("lifecycle", "server", State.CLOSE_WAIT, "close", {}, "its application calls close()"),
    ("server-closes-on-eof", "client", State.FIN_WAIT_1, "rcv_fin_ack_of_fin", {"delayed_ack": 0.2},
     "a FIN arrives that also acknowledges its own FIN"),
)


@question("next-state", 6, "One step of the state machine")
def _next_state(rng: random.Random) -> Draft:
    scenario, side, state, event, options, words = rng.choice(_TRANSITIONS)
    trace = simulate(scenario, **options)
    step = next(t for t in trace.transitions[side] if t.old is state and t.event == event)
    return Draft(
        setting=f"An endpoint is in {state}. Then {words}.",
        asks="Which state does it move to?",
        answer=StateName(step.new),
        hint="Find the state in RFC 9293's figure 5 (section 3.3.2), or in tl.plot_state_diagram(), and "
             "follow the arc for this event.",
        explanation="Every move of a TCP endpoint is one arc of the state diagram: (state, event) -> next state.",
        given={"state": state.value, "event": event},
    )


# ---------------------------------------------------------------- lesson 07: myths and facts

@question("three-segment-close", 7, "How many segments close a connection")
def _three_segment_close(rng: random.Random) -> Draft:
    delayed_ack, close_after = 0.2, rng.choice((0.01, 0.05, 0.1, 0.4, 0.5, 1.0))
    trace = _run(OPEN + [("client", "close", "ESTABLISHED+1"), ("server", "close", f"CLOSE-WAIT+{close_after}")],
                 delayed_ack=delayed_ack, client_isn=_isn(rng), server_isn=_isn(rng))
    count = sum(1 for tx in trace.transmissions if tx.index > 3)
    return Draft(
        setting=(f"Both sides delay a lone ACK by up to {delayed_ack} s, hoping to send it on a later segment "
                 f"(Linux delays 40-200 ms). The client closes; the server's application closes "
                 f"{close_after} s after the client's FIN arrives."),
        asks="How many segments does the release take on the wire (the handshake not counted)?",
        answer=Number(count, traps={
            4: "the ACK of the client's FIN is still waiting when the server closes, so it rides on the "
               "server's FIN (FIN,ACK).",
            3: "the delayed ACK goes out on its own before the server closes.",
            2: "each FIN needs its own acknowledgement.",
        }),
        hint="The server's ACK of the client's FIN waits up to the delayed-ACK time. Does the server's own "
             "FIN leave before that, so the ACK can ride on it?",
        explanation='The "four-way" release is three segments on the wire whenever the ACK of the first FIN '
                    "rides on the second FIN, as on Linux when the server closes right after reading EOF.",
        given={"delayed_ack": delayed_ack, "close_after": close_after},
    )


@question("close-unread", 7, "close() with unread data")
def _close_unread(rng: random.Random) -> Draft:
    n = rng.randint(100, 3000)
    trace = _run(OPEN + [("client", "send", "ESTABLISHED+0.2", b"z" * n), ("server", "close", "ESTABLISHED+1.5")],
                 auto_read=False, client_isn=_isn(rng), server_isn=_isn(rng))
    closed = next(h.time for h in trace.happenings if h.who == "server" and h.detail == "close()")
    after = _first(trace, lambda tx: tx.sender == "server" and tx.sent_at >= closed)
    return Draft(
        setting=f"The client sends {n} bytes. The server's application never reads them and calls close().",
        asks="What does the server's TCP send?",
        answer=_shuffled(rng, [
            Option("A FIN, as for any close; the unread bytes are silently thrown away.",
                   lambda: after is not None and after.segment.has(Flags.FIN),
                   "a FIN would tell the client that everything it sent was taken; with unread data "
                   "RFC 9293 (SHLD-3) and Linux send RST instead."),
            Option('An RST: closing with unread data aborts the connection, and the client sees '
                   '"connection reset".',
                   lambda: after is not None and after.segment.has(Flags.RST)
                   and trace.outcomes["client"] == "reset", ""),
            Option("Nothing until the application reads the data.", lambda: after is None,
                   "close() acts at once; the application will never read the data."),
            Option("The unread bytes go back to the client, followed by a FIN.",
                   lambda: after is not None and bool(after.segment.payload),
                   "TCP never sends received data back."),
        ]),
        hint='Run it: tl.simulate(..., auto_read=False) with a server that closes without reading, and look '
             "at its last segment.",
        explanation="Closing with unread data sends RST, not FIN (RFC 9293 SHLD-3; Linux does this): the "
                    "peer learns that data was lost.",
        given={"n": n},
    )
