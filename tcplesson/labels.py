"""Every word the library shows a student, in one table per language: English here, Chinese in
labels_zh.py, so that a third language is one more table (and a font in ``FONTS`` if it needs one).

Drawing, table and widget code never writes a visible word itself: it asks ``text(key, lang)`` (or
one of the small helpers below). ``lang=None``, the default everywhere, means the language
``set_language()`` chose ("en" until it is called). Every key has an entry in every language (a
test checks it); a key a language lacked would fall back to English rather than fail a student.

Keys are dotted: ``state.<RFC name>`` (the name shown), ``textbook.<RFC name>`` (the language's
textbook name shown beside it, "" in English), ``describe.<RFC name>`` (one line saying what
the state means), ``event.<table event>``, ``action.<table action>``, ``outcome.<outcome>``,
``flag.<FLAG>``, ``header.<field>``, ``summary.*`` and ``table.*`` (Trace.summary() and table()),
``control.*`` and ``choice.*`` (the explorer) and plain words (``lost``, ``client``...). Templates use
``str.format`` fields: ``text("rto_wait", seconds=1)`` -> ``"RTO 1 s"``.
"""
from __future__ import annotations

from .labels_zh import ZH
from .states import State

DEFAULT_LANG = "en"

_EN = {
    # --- the two ends and common words ---
    "client": "client",
    "server": "server",
    "closes first": "the {who} closes first",
    "lost": "lost",
    "retransmission": "retransmission",
    "old duplicate": "old duplicate",
    "host drop brief": "dropped: queue full",
    "host drop": "dropped: {why}",
    "queue_full.SYN dropped (SYN queue full)": "SYN queue full",
    "queue_full.SYN dropped (accept queue full)": "accept queue full",
    "queue_full.SYN dropped (tcp_max_syn_backlog)": "tcp_max_syn_backlog",
    "queue_full.ACK dropped (accept queue full)": "accept queue full",
    "2MSL": "2MSL",
    "time_axis": "time (s)",
    "later": "\u2026 {seconds} later \u2026",
    "seconds": "{value} s",
    "skip": "+{seconds}",
    "rto_wait": "RTO {seconds}",
    "rto_give_up": "RTO {seconds},\nthen give up",
    "time_wait_2msl": "2MSL = {seconds}",
    "time_wait_n": "TIME-WAIT = {seconds}",
    "restarted": "(restarted)",
    "relative_note": "numbers relative to each side's ISN",
    "arc": "{event} / {actions}",
    "action_sep": ", ",
    "header_title": "TCP header (20 bytes): {segment}",
    "bit": "bit",
    "step": "step {k} of {n}",
    "diagram_title": "the {who}'s path in \"{scenario}\" (arcs numbered in order)",
    "two_way_mark": "(two-way handshake)",
    # --- the eleven states: name as shown, and one line saying what it means ---
    **{f"state.{s.value}": s.value for s in State},
    **{f"textbook.{s.value}": "" for s in State},  # a language's textbook name beside the RFC's
    "describe.CLOSED": "no connection",
    "describe.LISTEN": "waiting for a SYN from any peer",
    "describe.SYN-SENT": "our SYN sent, waiting for the peer's SYN,ACK",
    "describe.SYN-RECEIVED": "peer's SYN received and answered, waiting for the ACK of ours",
    "describe.ESTABLISHED": "open: data can flow both ways",
    "describe.FIN-WAIT-1": "our FIN sent, waiting for its ACK or the peer's FIN",
    "describe.FIN-WAIT-2": "our FIN acknowledged, waiting for the peer's FIN",
    "describe.CLOSE-WAIT": "peer's FIN received, waiting for our application to close",
    "describe.CLOSING": "FINs crossed: waiting for the ACK of our FIN",
    "describe.LAST-ACK": "our FIN sent after the peer's, waiting for its ACK",
    "describe.TIME-WAIT": "all done, waiting 2MSL for old segments to die out",
    # --- events of the transition table (state diagram arcs) ---
    "event.listen": "passive open",
    "event.connect": "active open",
    "event.send": "send",
    "event.close": "close",
    "event.abort": "abort",
    "event.close_unread": "close, unread data",
    "event.rcv_segment": "rcv segment",
    "event.rcv_syn": "rcv SYN",
    "event.rcv_syn_ack": "rcv SYN,ACK",
    "event.rcv_ack": "rcv ACK",
    "event.rcv_bad_ack": "rcv bad ACK",
    "event.rcv_ack_of_syn": "rcv ACK of SYN",
    "event.rcv_cookie_ack": "rcv ACK with a SYN cookie",
    "event.rcv_dup_syn": "rcv SYN again",
    "event.rcv_syn_passive": "rcv new SYN",
    "event.rcv_syn_embryonic": "rcv new SYN",
    "event.rcv_rst": "rcv RST",
    "event.rcv_rst_passive": "rcv RST",
    "event.rcv_rst_active": "rcv RST",
    "event.rcv_rst_in_window": "rcv RST in window, not at RCV.NXT",
    "event.rcv_fin": "rcv FIN",
    "event.rcv_ack_of_fin": "rcv ACK of FIN",
    "event.rcv_fin_ack_of_fin": "rcv FIN + ACK of FIN",
    "event.rcv_unacceptable": "rcv unacceptable segment",
    "event.rcv_out_of_order": "rcv out-of-order data",
    "event.rcv_data_after_close": "rcv data after close()",
    "event.rto": "timeout (RTO)",
    "event.give_up": "give up (timeout)",
    "event.give_up_passive": "give up (timeout)",
    "event.time_wait_expired": "timeout = 2MSL",
    "event.delayed_ack": "delayed-ACK timer",
    "event.fin_timeout": "tcp_fin_timeout (orphan)",
    "event.tw_overflow": "no room: tcp_max_tw_buckets",
    "event.listener_closed": "its listener closed",
    "event.crash": "host crash (power lost)",
    "event.keepalive": "keep-alive timer",
    "event.keepalive_timeout": "no answer to keep-alive",
    # --- actions: what an arc label says after the slash ("" = not shown on arcs) ---
    "action.learn_isn": "",
    "action.cookie_sent": "",
    "action.syn": "snd SYN",
    "action.syn_ack": "snd SYN,ACK",
    "action.assume_acked": "",
    "action.ack": "snd ACK",
    "action.ack_now": "snd ACK",
    "loss.lost": "(lost)",
    "loss.delay": "the {segment} again {linux:.0f} ms after it on Linux, {model:.0f} ms in the model: {cause}",
    "loss.cause.tlp": "Linux sent it as a tail loss probe, 2 SRTT + 200 ms after the FIN (RFC 8985, "
                      "tcp_schedule_loss_probe); the model's RTO is SRTT + 200 ms",
    "loss.cause.jiffies": "the same 1 s timer; Linux's fires on a 4 ms jiffy, a little late",
    "loss.cause.unknown": "no known cause",
    "loss.cause.tick": "the delayed-ACK timer fires at the next 4 ms tick (no data came before the FIN): "
                       "anywhere from 0 to 4 ms on Linux, 4 ms in the model",
    "loss.known.synack_tie": "both 1 s timers are due together. Linux's 4 ms jiffies let them fire in one tick, "
                             "the request's first: its SYN,ACK completes the handshake, and the client's repeated "
                             "SYN then gets one more SYN,ACK, which the client answers with a challenge ACK. In the "
                             "model the client's timer is 10 us earlier, so its SYN reaches the server at the very "
                             "moment the server's timer is due and is answered first: that SYN,ACK replaces the "
                             "timer's one (one SYN,ACK and one ACK fewer)",
    "loss.ack_delay": "the {segment} of the FIN {linux:.0f} ms after it on Linux, {model:.0f} ms in the model: {cause}",
    "loss.same": "the same, but for the differences named",
    "loss.different": "DIFFERENT",
    "action.ack_limited": "snd ACK",
    "action.challenge_ack": "challenge ACK",
    "action.deliver": "",
    "action.hold": "",
    "action.data": "snd data",
    "action.fin": "snd FIN",
    "action.reset": "snd RST",
    "action.rst": "snd RST",
    "action.retransmit": "retransmit",
    "action.probe": "snd probe",
    "action.start_2msl": "",
    "action.restart_2msl": "restart 2MSL",
    "action.refused": "",
    "action.reset_by_peer": "",
    "action.timed_out": "",
    # --- what the user is told ---
    "outcome.refused": "connection refused",
    "outcome.reset": "connection reset",
    "outcome.timed out": "connection timed out",
    # --- Trace.summary() and Trace.table() ---
    # --- runs with many hosts (NetworkTrace.summary, ss, the queue plot) ---
    "net.clients": "{ok} of {n} legitimate connections established",
    "net.connect_times": "connect() took {fastest}-{slowest} s (median {median} s)",
    "net.failed": "{n} failed: {outcome}",
    "net.flood": "{n} forged SYNs from {start} to {end} s",
    "net.event": "{n} x {what}",
    "host.cookie sent": "SYN cookie sent",
    "host.cookie accepted": "SYN cookie accepted",
    "host.cookie rejected": "bad cookie answered with RST",
    "host.SYN dropped (SYN queue full)": "SYN dropped, SYN queue full",
    "host.SYN dropped (accept queue full)": "SYN dropped, accept queue full",
    "host.SYN dropped (tcp_max_syn_backlog)": "SYN dropped by tcp_max_syn_backlog",
    "host.ACK dropped (accept queue full)": "handshake ACK dropped, accept queue full",
    "host.RST (accept queue full)": "handshake ACK answered with RST, accept queue full",
    "host.no socket": "RST: no socket",
    "host.accepted": "accept() took the connection",
    "ss.more": "... and {n} more sockets",
    "queues.title": "{host}: listen queues on port {port}",
    "queues.syn": "SYN queue (half-open)",
    "queues.accept": "accept queue (waiting for accept())",
    "queues.limit": "limit min(backlog, somaxconn) = {limit}",
    "queues.flood": "SYN flood",
    "queues.y": "connections",
    "queues.x": "time (s)",
    "queues.connect": "legitimate client connected",
    "queues.failed": "legitimate client failed",
    "flood.rate": "forged SYNs per second",
    "flood.backlog": "listen() backlog",
    "flood.synack_retries": "tcp_synack_retries",
    "flood.cookies0": "0: off",
    "flood.cookies1": "1: when full",
    "flood.cookies2": "2: always",
    "flood.repr": "SYN-flood explorer (run the cell in Jupyter to see the sliders)",
    "summary.open": "connection open at {time} s",
    "summary.only": "only the {who} reached ESTABLISHED",
    "summary.none": "no connection",
    "summary.counts": "{n} segments, {lost} lost, {again} retransmitted",
    "summary.time_wait": "{who} in TIME-WAIT {start}-{end} s",
    "summary.outcome": "{who}: {outcome}",
    "summary.ends": "ends {states}",
    "summary.side_state": "{who} {state}",
    "summary.sep": "; ",
    "list_sep": ", ",
    "table.sent": "sent",
    "table.arrives": "arrives",
    "table.direction": "direction",
    "table.segment": "segment",
    "table.note": "note",
    "table.arrow": "{sender} -> {receiver}",
    "table.path": "{who}: {path}",
    # --- a Linux capture (tl.read_pcap) and the model next to it (tl.linux.compare) ---
    "capture.between": "captured {client} -> {server}",
    "capture.open": "open at {time} s",
    "capture.never_open": "never open on both sides",
    "capture.counts": "{n} segments, {again} retransmitted",
    "capture.time_wait": "{who} in TIME-WAIT from {start} s to past the end of the capture",
    "capture.mismatches": "the model disagrees with {n} segment(s)",
    "socket": "socket",
    "compare.linux": "Linux (captured)",
    "compare.model": "model (same calls)",
    "compare.both": "Linux sent {real} where the model sent {model}",
    "compare.linux_only": "Linux sent {real}; the model sends nothing there",
    "compare.model_only": "the model sent {model}; Linux sent nothing there",
    # --- the explorer's controls ---
    "control.loss": "loss probability",
    "control.drop": "drop segment #",
    "control.delay": "one-way delay (s)",
    "control.jitter": "jitter (s)",
    "control.seed": "seed",
    "control.rto": "initial RTO (s)",
    "control.msl": "MSL (s)",
    "control.time_wait": "TIME-WAIT",
    "control.handshake": "handshake",
    "control.step": "step",
    "control.play": "play",
    "control.failure": "what breaks",
    "control.who": "whose side",
    "control.at": "when (s after open)",
    "control.back_after": "cable back after (s, 0 = never)",
    "control.keepalive": "keep-alive (5 s idle, 3 probes)",
    "control.sends": "the other side sends data",
    "failure.exit": "the process is killed",
    "failure.crash": "the host loses power",
    "failure.reboot": "power lost, back after 3 s",
    "failure.link_down": "the cable is pulled",
    "choice.two_msl": "2 x MSL",
    "choice.no_time_wait": "none (0 s)",
    "choice.three-way": "three-way",
    "choice.two-way": "two-way",
    "control.drop_example": "e.g. 4, 7 then Enter",
    "explorer.bad_drop": "drop segment #: {word!r} is not a transmission number (1 to {top}); type numbers such as 4, 7",
    "whatif.data": "data lost or delivered twice",
    "whatif.reset": "reset",
    "whatif.timed_out": "timed out",
    "whatif.half_open": "half-open at the end",
    "whatif.ghost": "ghost connection",
    "whatif.later": "ends as planned, later",
    "whatif.clean": "ends as without loss",
    "whatif.not_sent": "the second segment is never sent",
    "whatif.title": "What if segments {lost} are lost? {scenario}",
    "whatif.axis": "lose segment # (and #)",
    "whatif.caption": "row i, column j: lose segments i and j of the lossless run; the diagonal: i alone",
    "explorer.showing": "showing {upto} of {n} segments",
    "explorer.repr": "<tcplesson explorer of {scenario!r}: run the cell to see its sliders>",
    # --- the header figure ---
    **{f"flag.{name}": name for name in ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")},
    "header.src_port": "Source Port",
    "header.dst_port": "Destination Port",
    "header.seq": "Sequence Number",
    "header.ack": "Acknowledgment Number",
    "header.ack_ignored": "Acknowledgment Number (ignored: ACK bit off)",
    "header.offset": "Data Offset",
    "header.reserved": "Rsrvd",
    "header.window": "Window",
    "header.checksum": "Checksum",
    "header.urgent": "Urgent Pointer",
    "header.checksum_value": "(computed over the segment)",
    "header.payload": "data: {n} bytes",
    "header.no_payload": "no data",
    "header.offset_value": "{words} ({bytes} bytes)",
}

TEXTS: dict[str, dict[str, str]] = {"en": _EN, "zh": ZH}

# Font families per language, first choice first (None: matplotlib's default). The figures add a
# system CJK font after these where the machine has one (tcplesson/figures/_fonts.py).
FONTS: dict[str, list[str] | None] = {"en": None, "zh": ["DejaVu Sans", "tcplesson CJK SC"]}


_current = [DEFAULT_LANG]  # the language set_language() chose; a list so nothing rebinds a global


def languages() -> list[str]:
    return sorted(TEXTS)


def set_language(lang: str) -> None:
    """Show every word of the library (figures, tables, summaries, explorers, exercises) in ``lang``.

    ``tl.set_language("zh")`` at the top of a notebook; ``tl.set_language("en")`` switches back.
    """
    _current[0] = _check_lang(lang)


def get_language() -> str:
    """The language set_language() chose ("en" until it is called)."""
    return _current[0]


def resolve(lang: str | None) -> str:
    """``lang`` checked, or the current language when it is None (the default of every ``lang=``)."""
    return _current[0] if lang is None else _check_lang(lang)


def _check_lang(lang) -> str:
    if not isinstance(lang, str) or lang not in TEXTS:
        raise ValueError(f"lang must be one of {', '.join(sorted(TEXTS))}, got {lang!r}")
    return lang


def text(key: str, lang: str | None = None, **fields) -> str:
    """The words for ``key`` in ``lang`` (English when that language lacks the key), formatted."""
    table = TEXTS[resolve(lang)]
    if key in table:
        template = table[key]
    elif key in TEXTS[DEFAULT_LANG]:
        template = TEXTS[DEFAULT_LANG][key]
    else:
        raise KeyError(f"no label {key!r}; add it to tcplesson.labels.TEXTS['en']")
    return template.format(**fields) if fields else template


def state_name(state: State | str, lang: str | None = None) -> str:
    return text(f"state.{_state_value(state)}", lang)


def state_label(state: State | str, lang: str | None = None, sep: str = "\n") -> str:
    """The RFC name with the language's textbook name after ``sep`` ("SYN-SENT\n同步已发送"), or
    just the RFC name where the language has none (English)."""
    name, textbook = state_name(state, lang), text(f"textbook.{_state_value(state)}", lang)
    return f"{name}{sep}{textbook}" if textbook else name


def describe(state: State | str, lang: str | None = None) -> str:
    """One line saying what a state means ("our FIN sent, waiting for its ACK")."""
    return text(f"describe.{_state_value(state)}", lang)


def event_label(event: str, lang: str | None = None) -> str:
    return text(f"event.{event}", lang)


def action_label(action: str, lang: str | None = None) -> str:
    """The words for an action on a diagram arc; "" for actions an arc does not show."""
    return text(f"action.{action}", lang)


def arc_label(event: str, actions, lang: str | None = None) -> str:
    """'rcv SYN / snd SYN,ACK': an event and what it makes the endpoint send."""
    shown = []
    for action in actions:
        words = action_label(action, lang)
        if words and words not in shown:
            shown.append(words)
    if not shown:
        return event_label(event, lang)
    return text("arc", lang, event=event_label(event, lang), actions=text("action_sep", lang).join(shown))


def segment_label(segment, seq_base: int = 0, ack_base: int = 0, lang: str | None = None) -> str:
    """'SYN,ACK seq=300 ack=101': flag names and numbers are the same in every language."""
    resolve(lang)
    return segment.label(seq_base=seq_base, ack_base=ack_base)


def seconds(value: float, lang: str | None = None) -> str:
    """'240 s', '0.5 s', '1.25 s': a duration as a reader wants it (no float noise)."""
    return text("seconds", lang, value=_number(value))


def _number(value: float) -> str:
    value = float(value)
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.3g}" if value != int(value) else f"{value:.0f}"
    if 0 < abs(value) < 0.0005:  # loopback times: microseconds, not "0"
        return f"{value:.6f}".rstrip("0") if abs(value) >= 5e-7 else f"{value:.1g}"
    return f"{round(value, 3):g}"


def _state_value(state: State | str) -> str:
    return state.value if isinstance(state, State) else str(state)
