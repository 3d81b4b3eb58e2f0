"""Linux losing one segment of the handshake or the release, and the model losing the same one.

    cmp = loss_compare.compare("lose-fin2")
    print(cmp.table()); cmp.differences()

notebooks/data/losses holds what Linux 6.18 did when an nftables rule took one segment away
(tcplesson.loss_capture). For each of the seven single-loss experiments this module replays the
experiment's socket calls on two Hosts at the times the capture records them, on a loopback-like
link (10 microseconds one way) with Linux's ACK timing (``delayed_ack="linux"``) and timers
(linux_timers.py), and loses the model's transmission that is the one Linux lost (same sender,
flags and relative numbers, the first such). ``accept()`` changes nothing on the wire, so the model
accepts when the experiment's last call is made.

The segments are compared as tcplesson.linux.compare does (sender, flags, numbers relative to each
ISN, length) and must be the same; each retransmission's delay after the segment it repeats is
compared too. Every timing difference is named with its cause (CAUSES), and one that is larger than
TOLERANCE, or has no cause, is a difference the tests refuse.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from . import labels, linux, loss_capture, netns_lab
from .nettrace import NetworkTrace
from .pcap import read_pcap
from .segment import SEQ_MOD, Flags, flag_names
from .sockets import run_sockets
from .trace import Trace

DATA = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "losses"
SINGLE_LOSSES = ("lose-syn", "lose-synack", "lose-ack", "lose-fin1", "lose-ack1", "lose-fin2", "lose-ack2")
DELAY = 1e-5  # loopback: about 10 microseconds one way
PORT, CLIENT = loss_capture.PORT, loss_capture.CLIENT
TOLERANCE = 0.03  # seconds: jiffies of 4 ms, timer slack, a Python program's reaction

# Why a retransmission comes later on Linux than in the model (label keys, in both languages):
# a FIN (or LAST-ACK's FIN) lost at the tail of the stream is sent again by the tail loss probe,
# 2 SRTT + TCP_RTO_MIN after it (net/ipv4/tcp_output.c tcp_schedule_loss_probe, RFC 8985), where the
# model's RTO is SRTT + 200 ms; a 1 s handshake timer fires on the next 4 ms jiffy or later. The
# lone ACK of a FIN waits for the delayed-ACK timer's next tick: 0-4 ms on Linux, 4 ms in the model.
CAUSES = {"FIN,ACK": "loss.cause.tlp", "SYN": "loss.cause.jiffies", "SYN,ACK": "loss.cause.jiffies",
          "ACK": "loss.cause.tick"}
# Differences in the segments themselves, by experiment: label key of the explanation.
KNOWN = {"lose-synack": "loss.known.synack_tie"}


def load(name, where=DATA) -> tuple[dict, Trace]:
    """An experiment's JSON record and its capture read as one Trace."""
    if name not in SINGLE_LOSSES:
        raise ValueError(f"unknown single-loss experiment {name!r}; known: {', '.join(SINGLE_LOSSES)}")
    record, _ = netns_lab.shipped(where, name, "tcplesson.loss_capture")
    traces = read_pcap(Path(where) / f"{name}.pcap")
    if len(traces) != 1:
        raise ValueError(f"{name}.pcap must hold one connection, it holds {len(traces)}")
    return record, traces[0]


def calls_of(record: dict) -> list[tuple]:
    """The experiment's socket calls for tl.run_sockets, at the times the record gives (from 0)."""
    events = [e for e in record["events"] if e["what"] in ("listen", "connect start", "connect", "close")]
    end = max(e["at"] for e in record["events"])
    calls, connected = [], False
    for e in events:
        at = round(max(0.0, e["at"]), 6)  # from the first segment; a listen() just before it at 0
        if e["what"] == "listen":
            calls.append((at, "server", "listen", PORT))
        elif e["what"] in ("connect start", "connect") and not connected:
            connected = True
            calls.append((at, "client", "connect", "server", PORT, {"local_port": CLIENT, "name": "c"}))
        elif e["what"] == "close":
            if e["sock"] == "client":
                calls.append((at, "server", "accept", PORT))  # before the first close: the server has it
            calls.append((at, e["sock"], "close", "c"))
    if not any(c[2] == "accept" for c in calls):
        calls.append((round(end, 6), "server", "accept", PORT))
    return calls


def _lost_shape(record: dict) -> tuple:
    """(sender, flags, relative seq, relative ack) of the one segment the rule took."""
    (lost,) = record["dropped"]
    flags = {"S": "SYN", "S.": "SYN,ACK", ".": "ACK", "F.": "FIN,ACK"}[lost["flags"]]
    return ("client" if lost["src"] == CLIENT else "server", flags, lost["rel_seq"],
            lost["rel_ack"] if "." in lost["flags"] else None)


def _shape(trace: Trace, tx) -> tuple:
    bases, seg = trace.isn_bases(), tx.segment
    return (tx.sender, flag_names(seg.flags), (seg.seq - bases[tx.sender]) % SEQ_MOD,
            (seg.ack - bases[tx.receiver]) % SEQ_MOD if seg.has(Flags.ACK) else None)


def model_run(name, where=DATA) -> tuple[NetworkTrace, int]:
    """The model's run of experiment ``name`` and the number of the transmission it loses."""
    record, _ = load(name, where)
    calls = calls_of(record)
    settings = dict(delay=DELAY, delayed_ack="linux", mss=65495)
    clean = run_sockets(calls, **settings).connection("c")
    want = _lost_shape(record)
    index = next((tx.index for tx in clean.transmissions if _shape(clean, tx) == want), None)
    if index is None:
        raise ValueError(f"{name}: the model sends no {' '.join(map(str, want))}, the segment Linux lost")
    return run_sockets(calls, drop=[index], **settings), index


class Delay(NamedTuple):
    """How long after a segment its retransmission came, on Linux and in the model, and why they differ."""

    segment: str
    linux: float
    model: float
    cause: str  # a label key, or "" if none is known
    words: str = "loss.delay"  # how differences() says it

    @property
    def explained(self) -> bool:
        return abs(self.linux - self.model) <= TOLERANCE and bool(self.cause or abs(self.linux - self.model) < 0.005)


class LossComparison:
    """One single-loss experiment: the segments side by side (``segments``, a linux.Comparison), the
    segment each side lost, and each retransmission's delay (``delays``)."""

    def __init__(self, name: str, record: dict, real: Trace, model: Trace, lost_index: int) -> None:
        self.name, self.record, self.real, self.model = name, record, real, model
        self.segments = linux.compare(real, model)
        frame = record["dropped"][0]["frame"]
        self.lost_real = real.transmissions[frame]
        self.lost_model = next(tx for tx in model.transmissions if tx.lost)
        self.delays = [self._delay(tx) for tx in self.real.transmissions if tx.retransmission]
        self.delays += [self._ack_delay(tx) for tx in self.real.transmissions if self._acks_fin(real, tx)]
        self.known = KNOWN.get(name)

    @staticmethod
    def _acks_fin(trace: Trace, tx) -> bool:
        """The first lone ACK of the first FIN (the one that finds the connection ESTABLISHED)."""
        fin = next((f for f in trace.transmissions if f.segment.has(Flags.FIN)), None)
        if fin is None or tx.sender == fin.sender or flag_names(tx.segment.flags) != "ACK":
            return False
        return tx is next((a for a in trace.transmissions if a.sender == tx.sender
                           and a.segment.ack == (fin.segment.seq + 1) % SEQ_MOD), None)

    def _ack_delay(self, ack) -> Delay:
        def after_fin(trace, tx, lost):
            fin = [f for f in trace.transmissions if f.sender != tx.sender and f.segment.has(Flags.FIN)
                   and f.sent_at <= tx.sent_at and f is not lost]
            return tx.sent_at - fin[-1].sent_at
        model = next(tx for tx in self.model.transmissions if self._acks_fin(self.model, tx))
        return Delay(f"{ack.sender} ACK", round(after_fin(self.real, ack, self.lost_real), 4),
                     round(after_fin(self.model, model, self.lost_model), 4), CAUSES["ACK"], "loss.ack_delay")

    def _delay(self, again) -> Delay:
        text = flag_names(again.segment.flags)
        first_real = next(tx for tx in self.real.transmissions if tx.segment == again.segment)
        model_again = [tx for tx in self.model.transmissions if tx.retransmission and tx.sender == again.sender
                       and flag_names(tx.segment.flags) == text]
        first_model = next(tx for tx in self.model.transmissions if tx.sender == again.sender
                           and flag_names(tx.segment.flags) == text)
        model = model_again[0].sent_at - first_model.sent_at if model_again else float("nan")
        return Delay(f"{again.sender} {text}", round(again.sent_at - first_real.sent_at, 4), round(model, 4),
                     CAUSES.get(text, ""))

    @property
    def same(self) -> bool:
        """The same segments (but for a KNOWN difference), the same one lost, every delay within
        TOLERANCE and explained."""
        return ((self.segments.same or self.known is not None)
                and _shape(self.real, self.lost_real) == _shape(self.model, self.lost_model)
                and all(d.explained for d in self.delays))

    def differences(self, lang: str | None = None) -> list[str]:
        """Every difference, one sentence each, with its cause where one is known."""
        out = list(self.segments.differences)
        if out and self.known:
            out.append(labels.text(self.known, lang))
        for d in self.delays:
            if abs(d.linux - d.model) >= 0.0005:
                cause = labels.text(d.cause, lang) if d.cause else labels.text("loss.cause.unknown", lang)
                sender, flags = d.segment.split(" ")
                out.append(labels.text(d.words, lang, segment=f"{labels.text(sender, lang)} {flags}", linux=d.linux * 1000,
                                       model=d.model * 1000, cause=cause))
        return out

    def table(self, lang: str | None = None) -> str:
        lost = labels.text("loss.lost", lang)
        lines = self.segments.table(lang).splitlines()
        rows = self.segments.rows
        out = [lines[0]]
        for row, line in zip(rows, lines[1:]):
            marks = (row.real is not None and row.real.sent_at == self.lost_real.sent_at
                     and row.real.segment == self.lost_real.segment, row.model is self.lost_model)
            out.append(line + ("  " + lost if any(marks) else ""))
        return "\n".join(out)

    def __repr__(self) -> str:
        return f"<LossComparison {self.name}: {'same' if self.same else 'different'}>"


def compare(name, where=DATA) -> LossComparison:
    """Experiment ``name`` as Linux did it and as the model does it (see LossComparison)."""
    record, real = load(name, where)
    run, index = model_run(name, where)
    return LossComparison(name, record, real, run.connection("c"), index)
