"""Every word of the exercise sheet in English: the checks' messages and each question's texts.

``MESSAGES`` holds the words every question shares (the answer line, the feedback of a check, what
an answer of each kind must look like); ``QUESTIONS`` holds, per question id, its title, setting,
question, hint, explanation, the notes on known mistakes (``trap.*``) and the options of a
multiple choice (``option.*`` and, for wrong options, ``rebut.*``). Templates use ``str.format``
fields for the variant's numbers. Another language is one more module with the same keys
(words_zh.py), listed in words.TABLES; a key it lacks falls back to English.
"""

MESSAGES = {
    # --- the sheet ---
    "heading": "{label}. {title} (lesson {lesson})",
    "answer_with": "Answer with {wanted}.",
    "correct": "{label} correct. {explanation}",
    "head": "{label} ({title})",
    "unanswered": "{head} is not answered yet: replace ... in the answer cell with {wanted}.",
    "wrong": "{head}: {note}",
    "expected": 'Expected: the answer to "{asks}", as {wanted}.',
    "hint": "Hint: {hint}",
    "see": "See lesson {lesson}.",
    "reveal": "Right answer for this variant: {shown}.",
    # --- a number ---
    "number.wanted": "a whole number, e.g. 1234",
    "number.wanted_s": "a time in seconds, e.g. 2.35",
    "number.shown_s": "{value:.3f} s",
    "number.type": "the answer must be a number ({wanted}), not {type} {answer}.",
    "number.finite": "the answer must be a finite number, not {answer}.",
    "number.whole": "sequence and acknowledgement numbers and counts are whole numbers, not {answer}.",
    "number.trap": "{answer} is not right: {note}",
    "number.wrong": "{answer} is not right.",
    # --- a state ---
    "state.wanted": 'a state name, e.g. "FIN-WAIT-1"',
    "state.unknown": "{answer} is not a state name; write one of: {names}.",
    "state.means": '{state} means "{meaning}".',
    "state.wrong": "{state} is not right: {note}",
    # --- multiple choice ---
    "choice.wanted": 'a letter, e.g. "b"',
    "choice.letters": "answer with one of the letters {letters}, not {answer}.",
    "choice.wrong": "({letter}) is not right: {note}",
    "list_sep": ", ",
    # --- words the questions share ---
    "side.client": "client",
    "side.server": "server",
    "handshake.1": "SYN",
    "handshake.2": "SYN,ACK",
    "handshake.3": "ACK",
    "release.4": "the client's FIN",
    "release.5": "the server's ACK of that FIN",
    "release.6": "the server's FIN",
    "release.7": "the client's last ACK",
    # --- the grader's report (for the instructor; also what an LMS shows a student) ---
    "grade.unreadable": "the notebook cannot be read: {error}",
    "grade.missing": "the {parts} cell(s) of this question are missing",
    "grade.and": " and ",
    "grade.changed_check": "the check cell was changed; it must read: {source}",
    "grade.cell_failed": "{kind} cell {result}: {message}",
    "grade.role.ask": "ask",
    "grade.role.answer": "answer",
    "grade.role.check": "check",
    "grade.result.failed": "failed",
    "grade.result.skipped": "skipped",
    "grade.result.not run": "not run",
    "grade.variant_form": "the variant cell must be just: ex = Sheet(seed=...), as released",
    "grade.variant_changed": "the variant cell was changed: {call}",
    "grade.variant_other": "the variant was changed from seed {released} to {seed}: these answers belong "
                           "to another variant",
    "grade.outputs_differ": "its output differs from the stored output (was the notebook saved after a "
                            "different run?)",
}

QUESTIONS = {
    # ------------------------------------------------------------ lesson 01
    "fin-seq-wrap": {
        "title": "The sequence number of a FIN, across the 2**32 wrap",
        "setting": "The client's initial sequence number (ISN) is {isn}. After the handshake it sends {n} bytes "
                   "of data, then closes its side.",
        "asks": "What sequence number does the client's FIN carry?",
        "trap.no_wrap": "sequence numbers are 32 bits wide: after 4294967295 comes 0, so count modulo 2**32.",
        "trap.no_syn": "the SYN occupies one sequence number too, before the first byte of data.",
        "trap.one_more": "the FIN carries the first number it occupies; one more is what the ACK of the FIN "
                         "acknowledges.",
        "hint": "The SYN takes the ISN, each byte of data the next number, and the FIN the number after the last "
                "byte; all of it modulo 2**32 (RFC 9293 section 3.4).",
        "explanation": "The SYN occupies the ISN, the data the next n numbers, and the FIN carries the one after, "
                       "counted modulo 2**32.",
    },
    # ------------------------------------------------------------ lesson 02
    "synack-ack": {
        "title": "The acknowledgement number of the SYN,ACK",
        "setting": "The client's ISN is {client_isn} and the server's ISN is {server_isn}.",
        "asks": "What acknowledgement number does the server's SYN,ACK carry?",
        "trap.client_isn": "that is the client's ISN itself; the SYN occupies one sequence number, so the server "
                           "expects ISN + 1 next.",
        "trap.third": "that is what the client's ACK (the third segment) acknowledges; the SYN,ACK acknowledges "
                      "the client's SYN.",
        "trap.server_isn": "that is the server's own ISN, the seq of the SYN,ACK, not its ack.",
        "hint": "An acknowledgement number is the next sequence number the sender expects from the other side "
                "(RFC 9293 section 3.4).",
        "explanation": "The SYN occupies one sequence number, so the server acknowledges the client's ISN + 1.",
    },
    "handshake-loss-open": {
        "title": "When the connection opens after a lost handshake segment",
        "setting": "The one-way delay is {delay} s and the initial retransmission timeout (RTO) is {rto} s. "
                   "Handshake segment #{lost} (the {name}) is lost; the table shows the run up to that loss.",
        "asks": "At what time does the {who} reach ESTABLISHED?",
        "trap.no_loss": "that is when it opens without the loss; a lost segment is only repeated when a "
                        "retransmission timer expires.",
        "trap.own_ack": "the client does not wait for its own ACK to arrive: it counts the connection open when "
                        "the SYN,ACK arrives.",
        "trap.travel": "after the timer fires, the repeated segment and the answer to it still have to travel.",
        "hint": "Ask who is waiting for an answer that will never come: that side's timer (one RTO after it sent) "
                "repeats its segment, and then the rest of the handshake runs as usual. The client opens when a "
                "SYN,ACK arrives, the server when the ACK arrives.",
        "explanation": "A lost segment is repeated one RTO after it was sent by whoever waits for its answer; the "
                       "client counts the connection open on the SYN,ACK, the server on the ACK.",
    },
    # ------------------------------------------------------------ lesson 03
    "old-duplicate-rst": {
        "title": "The client's answer to an old duplicate SYN",
        "setting": "A listening server receives an old duplicate SYN (seq={stale}) left over from an earlier "
                   "attempt. It answers with a SYN,ACK (its ISN is {server_isn}). The client has no such connection "
                   "(it is CLOSED), so it answers with RST.",
        "asks": "What sequence number does the RST carry?",
        "trap.stale": "the RST does not repeat the old SYN's number: it takes the acknowledgement number of the "
                      "segment it answers, so that the server finds it acceptable.",
        "trap.server_isn": "that is what an ACK of the server's SYN would carry in its ack field; the RST's seq "
                           "comes from the SYN,ACK's ack field.",
        "trap.zero": "seq=0 is used only to answer a segment that carries no ACK; a SYN,ACK does.",
        "hint": "RFC 9293 section 3.10.7.1: a CLOSED endpoint answers a segment that has the ACK bit on with "
                "<SEQ=SEG.ACK><CTL=RST>. What does the SYN,ACK acknowledge?",
        "explanation": "The RST's seq is the SYN,ACK's acknowledgement number (the stale SYN's seq + 1), so the "
                       "server accepts it and goes back to LISTEN.",
    },
    "why-three-way": {
        "title": "Why three segments to open",
        "asks": "Why does TCP open a connection with three segments and not two (RFC 9293 section 3.5)?",
        "option.old_duplicate": "An old duplicate SYN could otherwise open a connection nobody asked for: with "
                                "three segments the client answers the unexpected SYN,ACK with RST and the server "
                                "goes back to LISTEN.",
        "option.two_cannot": "Two segments cannot open a connection at all: the client would never reach "
                             "ESTABLISHED.",
        "rebut.two_cannot": 'they can: with handshake="two-way" both sides reach ESTABLISHED after two segments. '
                            "The trouble is which connections a two-way handshake opens.",
        "option.third_isn": "The client learns the server's initial sequence number only from the third segment.",
        "rebut.third_isn": "the server's ISN travels on the second segment, the SYN,ACK; the third only "
                           "acknowledges it.",
        "option.lost_syn": "Without a third segment a lost SYN would never be sent again.",
        "rebut.lost_syn": "the client's retransmission timer repeats a lost SYN in either handshake.",
        "hint": 'Run tl.simulate("old-duplicate-syn") with handshake="two-way" and with the normal handshake, and '
                "compare where the server ends up.",
        "explanation": "RFC 9293 section 3.5: the third segment lets the client refuse a SYN,ACK for a SYN it never "
                       "sent (an old duplicate), so the server does not hold a connection for nobody.",
    },
    # ------------------------------------------------------------ lesson 04
    "release-state": {
        "title": "States during the four-way release",
        "setting": "The client closes first; the server closes 1 s after the client's FIN arrives. The table "
                   "shows the run up to release segment {k} (#{index}).",
        "asks": "What state is the {who} in just after segment #{index} has arrived?",
        "hint": "Follow each side through the release: the side that closes goes FIN-WAIT-1, FIN-WAIT-2, "
                "TIME-WAIT; the other CLOSE-WAIT, LAST-ACK, CLOSED. Each step happens when a segment is sent or "
                "arrives.",
        "explanation": "Closing first: FIN sent -> FIN-WAIT-1, its ACK in -> FIN-WAIT-2, the peer's FIN in -> "
                       "TIME-WAIT. The other side: FIN in -> CLOSE-WAIT, own FIN out -> LAST-ACK, last ACK in -> "
                       "CLOSED.",
    },
    "release-loss-next": {
        "title": "What happens after a lost release segment",
        "setting": "The client closes first; the server closes 1 s after the client's FIN arrives. One-way delay "
                   "{delay} s, initial RTO {rto} s. Release segment #{lost} ({name}) is lost; the table shows the "
                   "run up to that loss.",
        "asks": "What happens next?",
        "option.client_fin": "The client sends its FIN again when its retransmission timer expires.",
        "rebut.client_fin": "the client repeats its FIN only while the FIN is unacknowledged and its timer expires "
                            "before anything acknowledges it.",
        "option.server_fin": "The server sends its FIN again when its retransmission timer expires.",
        "rebut.server_fin": "the server repeats its FIN only when its FIN, or the ACK of it, was lost.",
        "option.ack_again": "The side whose ACK was lost sends that ACK again when a timer expires.",
        "rebut.ack_again": "no timer repeats an ACK: the side waiting for it repeats the segment that ACK should "
                           "have acknowledged.",
        "option.nothing": "Nothing is sent again: a later segment makes up for the lost one.",
        "rebut.nothing": "a lost FIN, or the only ACK of a FIN, is made up for only if another segment "
                         "acknowledges the same FIN before the retransmission timer expires.",
        "hint": "Ask which segment is left unacknowledged and who sent it: that side's timer expires one RTO after "
                "it sent it, unless an acknowledgement arrives first (a FIN that carries ACK counts).",
        "explanation": "Only segments that occupy sequence numbers (SYN, data, FIN) are repeated, by their sender, "
                       "when no acknowledgement arrives within one RTO.",
    },
    "release-loss-time": {
        "title": "When the retransmission after a lost release segment is sent",
        "setting": "The client closes first; the server closes 1 s after the client's FIN arrives. One-way delay "
                   "{delay} s, initial RTO {rto} s. Release segment #{lost} ({name}) is lost; the table shows the "
                   "run up to that loss.",
        "asks": "At what time is the first retransmission sent?",
        "trap.doubled": "the first retransmission comes one RTO after the segment was sent; the RTO doubles only "
                        "for the next one.",
        "trap.arrives": "that is when the retransmission arrives; the question asks when it is sent.",
        "trap.ack_timer": "no timer repeats an ACK; the timer that expires is the one on the FIN that ACK should "
                          "have acknowledged.",
        "hint": "The timer runs on the segment that is waiting for an acknowledgement, from the moment it was sent.",
        "explanation": "The sender of the unacknowledged FIN repeats it one RTO after it first sent it.",
    },
    "half-close-ack": {
        "title": "The last ACK after a half-close",
        "setting": "The client closes its sending side first with shutdown(SHUT_WR). The server, now in "
                   "CLOSE-WAIT, still sends {n} bytes to the client (a half-close: data still flows the other "
                   "way), then closes. The server's ISN is {server_isn}.",
        "asks": "What acknowledgement number does the client's last ACK carry?",
        "trap.no_fin": "that acknowledges the data but not the FIN: the FIN occupies one sequence number too.",
        "trap.no_syn_fin": "the server's SYN occupies one number, and its FIN one more.",
        "trap.no_data": "the {n} bytes sent after the client's FIN still count: a half-closed connection carries "
                        "data the other way.",
        "hint": "Count the server's sequence numbers: its SYN, every byte it sent (also after the client's FIN), "
                "and its FIN; the last ACK acknowledges all of them.",
        "explanation": "After a half-close the other side may still send; its SYN, its data and its FIN each occupy "
                       "sequence numbers, and the last ACK acknowledges them all.",
    },
    # ------------------------------------------------------------ lesson 05
    "time-wait-end": {
        "title": "When TIME-WAIT ends",
        "setting": "In this run the maximum segment lifetime (MSL) is {msl:g} s (the RFC's is 120 s; Linux waits a "
                   "fixed 60 s). The table shows every segment.",
        "asks": "When does the client leave TIME-WAIT?",
        "trap.once": "TIME-WAIT lasts twice the MSL.",
        "trap.arrival": "TIME-WAIT starts when the server's FIN arrives and the client sends its ACK, not when that "
                        "ACK arrives.",
        "trap.own_fin": "TIME-WAIT starts at the end of the release, when the peer's FIN arrives, not when the "
                        "client sends its own FIN.",
        "trap.rfc_msl": "this run's MSL is {msl:g} s, not the RFC's 120 s.",
        "hint": "TIME-WAIT begins when the client receives the server's FIN (and sends the last ACK) and lasts 2 x "
                "MSL (RFC 9293 section 3.10.7.4).",
        "explanation": "The side that closed first enters TIME-WAIT on the peer's FIN and stays 2 x MSL.",
    },
    "time-wait-restart": {
        "title": "TIME-WAIT when the last ACK is lost",
        "setting": "MSL = {msl:g} s, initial RTO = {rto} s, one-way delay = {delay} s. The client's last ACK (#7) "
                   "is lost; the table shows the run up to that loss.",
        "asks": "When does the client leave TIME-WAIT?",
        "trap.no_restart": "the server repeats its FIN; the client acknowledges it again and restarts the full "
                           "2MSL (RFC 9293 section 3.10.7.4, TIME-WAIT state).",
        "trap.no_travel": "the repeated FIN is sent one RTO after the first, and still needs the one-way delay to "
                          "reach the client.",
        "trap.once": "TIME-WAIT lasts twice the MSL.",
        "hint": "Who notices the loss, and when does something reach the client again? What does TIME-WAIT do when "
                "a FIN arrives?",
        "explanation": "The server repeats its FIN one RTO later; the client, still in TIME-WAIT, acknowledges it "
                       "and restarts the 2MSL timer from that moment.",
    },
    "why-2msl": {
        "title": "Why TIME-WAIT exists",
        "asks": "Why does the side that closes first wait in TIME-WAIT, for 2 x MSL?",
        "option.last_ack": "If the last ACK is lost, the other side repeats its FIN; the side in TIME-WAIT is still "
                           "there to acknowledge it, and meanwhile old duplicates of the connection die out.",
        "option.waits_fin": "TIME-WAIT is where the side that closed first waits for the other side's FIN.",
        "rebut.waits_fin": "the FIN has already arrived when TIME-WAIT begins: waiting for the peer's FIN is "
                           "FIN-WAIT-2.",
        "option.sends_data": "TIME-WAIT lets the side that closed first finish sending its data.",
        "rebut.sends_data": "after close() a side sends no more data; in TIME-WAIT it only answers a repeated FIN.",
        "option.always_server": "TIME-WAIT is always on the server, whichever side closes first.",
        "rebut.always_server": 'TIME-WAIT is on the side that closes first: in "lifecycle" that is the client.',
        "hint": 'Run tl.simulate("lifecycle", drop=[7]) and the same with time_wait=0, and compare what the server '
                "sees.",
        "explanation": "TIME-WAIT keeps the closing side able to re-acknowledge a repeated FIN (the last ACK may be "
                       "lost), and 2 x MSL lets old segments of the connection die out before the same ports can be "
                       "used again.",
    },
    "no-time-wait": {
        "title": "A lost last ACK, with and without TIME-WAIT",
        "setting": "The client's last ACK (#7) is lost. In this run TIME-WAIT lasts {length}.",
        "length.none": "0 s (no TIME-WAIT at all)",
        "length.2msl": "2 x MSL = {two_msl:g} s",
        "asks": "What does the server's application see in the end?",
        "option.clean": "A clean close: the connection ends without an error.",
        "rebut.clean": "the repeated FIN must reach a side that still knows the connection; a CLOSED endpoint "
                       "answers it with RST.",
        "option.reset": "Connection reset: an RST answers its repeated FIN.",
        "rebut.reset": "the client is still in TIME-WAIT when the repeated FIN arrives, so it answers with an ACK, "
                       "not an RST.",
        "option.timed_out": "Connection timed out: its FIN is never acknowledged.",
        "rebut.timed_out": "the repeated FIN is answered (by an ACK or an RST) long before the server gives up.",
        "option.forever": "No end: the server waits in LAST-ACK forever.",
        "rebut.forever": "the server's retransmission timer repeats its FIN; it never waits forever.",
        "hint": "The server repeats its FIN one RTO later. Where is the client then, and how does an endpoint in "
                "that state answer a FIN?",
        "explanation": "With TIME-WAIT the repeated FIN is acknowledged again and the close is clean; without it the "
                       "client is already CLOSED and answers with RST (RFC 9293 section 3.10.7.1).",
    },
    "who-time-wait": {
        "title": "Which side holds TIME-WAIT",
        "setting": "MSL = {msl:g} s. The table shows every segment of this run.",
        "asks": "What state is the server in at t = {t:g} s?",
        "trap.time_wait": "TIME-WAIT is on the side that closes first; look at who sent the first FIN.",
        "trap.closed": "the server closed first here (it sent the first FIN), so it is the one that waits 2MSL in "
                       "TIME-WAIT.",
        "hint": "Which side sent the first FIN? That side ends in TIME-WAIT for 2 x MSL; the other is CLOSED as soon "
                "as its FIN is acknowledged.",
        "explanation": "TIME-WAIT is on whichever side closes first, not on \"the client\": a server that closes "
                       "first collects TIME-WAIT sockets.",
    },
    # ------------------------------------------------------------ lesson 06
    "next-state": {
        "title": "One step of the state machine",
        "setting": "An endpoint is in {state}. Then {words}.",
        "event.simultaneous_close": "a FIN arrives that does not acknowledge its own FIN (both sides closed at the "
                                    "same moment)",
        "event.peer_fin": "the peer's FIN arrives",
        "event.simultaneous_open": "a SYN without ACK arrives (both sides connected at the same moment)",
        "event.rst_passive": "an RST arrives (it was opened passively, with listen())",
        "event.ack_of_fin": "the ACK of its FIN arrives",
        "event.valid_rst": "a valid RST arrives",
        "event.refused": "an RST that acknowledges its SYN arrives",
        "event.close": "its application calls close()",
        "event.fin_ack_of_fin": "a FIN arrives that also acknowledges its own FIN",
        "asks": "Which state does it move to?",
        "hint": "Find the state in RFC 9293's figure 5 (section 3.3.2), or in tl.plot_state_diagram(), and follow "
                "the arc for this event.",
        "explanation": "Every move of a TCP endpoint is one arc of the state diagram: (state, event) -> next state.",
    },
    # ------------------------------------------------------------ lesson 07
    "three-segment-close": {
        "title": "How many segments close a connection",
        "setting": "Both sides delay a lone ACK by up to {delayed_ack} s, hoping to send it on a later segment "
                   "(Linux delays 40-200 ms). The client closes; the server's application closes {close_after} s "
                   "after the client's FIN arrives.",
        "asks": "How many segments does the release take on the wire (the handshake not counted)?",
        "trap.four": "the ACK of the client's FIN is still waiting when the server closes, so it rides on the "
                     "server's FIN (FIN,ACK).",
        "trap.three": "the delayed ACK goes out on its own before the server closes.",
        "trap.two": "each FIN needs its own acknowledgement.",
        "hint": "The server's ACK of the client's FIN waits up to the delayed-ACK time. Does the server's own FIN "
                "leave before that, so the ACK can ride on it?",
        "explanation": 'The "four-way" release is three segments on the wire whenever the ACK of the first FIN '
                       "rides on the second FIN, as on Linux when the server closes right after reading EOF.",
    },
    "close-unread": {
        "title": "close() with unread data",
        "setting": "The client sends {n} bytes. The server's application never reads them and calls close().",
        "asks": "What does the server's TCP send?",
        "option.fin": "A FIN, as for any close; the unread bytes are silently thrown away.",
        "rebut.fin": "a FIN would tell the client that everything it sent was taken; with unread data RFC 9293 "
                     "(SHLD-3) and Linux send RST instead.",
        "option.rst": 'An RST: closing with unread data aborts the connection, and the client sees "connection '
                      'reset".',
        "option.nothing": "Nothing until the application reads the data.",
        "rebut.nothing": "close() acts at once; the application will never read the data.",
        "option.send_back": "The unread bytes go back to the client, followed by a FIN.",
        "rebut.send_back": "TCP never sends received data back.",
        "hint": "Run it: tl.simulate(..., auto_read=False) with a server that closes without reading, and look at "
                "its last segment.",
        "explanation": "Closing with unread data sends RST, not FIN (RFC 9293 SHLD-3; Linux does this): the peer "
                       "learns that data was lost.",
    },
}

# ---------------------------------------------------------------- in the style of the 408 exam
QUESTIONS.update({
    "release-state-408": {
        "title": "Whose state, at which step of the release",
        "setting": "Host A and host B have a TCP connection, and A closes it first (in this run A is the {a} and "
                   "B the {b}). {moment}",
        "moment.a_fin_sent": "A has just sent its FIN; nothing has come back yet.",
        "moment.a_ack_in": "A has sent its FIN and received B's ACK of it; B's FIN has not come yet.",
        "moment.a_fin_in": "A has received B's FIN and has just sent the ACK of it.",
        "moment.b_fin_in": "B has received A's FIN and acknowledged it; B's application has not closed yet.",
        "moment.b_fin_sent": "B has sent its own FIN; its acknowledgement has not come back yet.",
        "moment.b_ack_in": "B has received the ACK of its FIN.",
        "asks.A": "Which state is A in now?",
        "asks.B": "Which state is B in now?",
        "option": "{state}",
        "hint": "The side that closes first goes FIN-WAIT-1 (its FIN sent), FIN-WAIT-2 (its FIN acknowledged), "
                "TIME-WAIT (the peer's FIN received); the other side CLOSE-WAIT (a FIN received), LAST-ACK (its own "
                "FIN sent), CLOSED (that FIN acknowledged). RFC 9293 section 3.6.",
        "explanation": "A state changes when a FIN is sent or received, or when a FIN is acknowledged; which side "
                       "closes first decides which path it takes, not whether it is the client.",
    },
    "release-ack-uvw": {
        "title": "The last ACK of the release, in u, v, w",
        "setting": "In the textbook notation, the client closes first: its FIN carries seq=u={u}. The server "
                   "acknowledges it with ACK seq=v={v} ack=u+1. {data} Then the server sends its FIN, "
                   "seq=w={w} ack=u+1.",
        "data.none": "The server sends no more data.",
        "data.some": "The client closed with shutdown(SHUT_WR), so it still reads: the server, in CLOSE-WAIT, "
                     "still sends {n} bytes of data (a half-close).",
        "asks.ack": "What acknowledgement number does the client's last ACK, the answer to the server's FIN, "
                    "carry?",
        "asks.seq": "What sequence number does the client's last ACK, the answer to the server's FIN, carry?",
        "trap.w": "the server's FIN occupies one sequence number, w itself; its ACK carries the next one.",
        "trap.u1": "u + 1 is what the server's segments acknowledge (the client's FIN); the last ACK "
                   "acknowledges the server's FIN.",
        "trap.v1": "the server's data and its FIN come after v: the last ACK acknowledges everything up to w and "
                   "the FIN itself.",
        "trap.u": "the client's FIN took the number u; the client's next segment carries u + 1.",
        "trap.w1": "w + 1 is the last ACK's acknowledgement number, not its sequence number.",
        "trap.v": "v is a number of the server's, not the client's: an ACK's seq is the sender's own next number.",
        "hint": "Each FIN occupies one sequence number; a segment's seq is its sender's next number and its ack "
                "the next number it expects from the other side (RFC 9293 section 3.4). The last ACK: seq=u+1, "
                "ack=?",
        "explanation": "The last ACK carries seq=u+1 (the client's FIN took u) and ack=w+1 (the server's FIN took "
                       "w); data sent during the half-close is inside w already.",
    },
    "close-time-2msl": {
        "title": "From the first SYN until both sides are CLOSED",
        "setting": "The client connects (its SYN leaves at t = 0) and closes {open_wait:g} s after it reaches "
                   "ESTABLISHED; the server's application closes {fin_wait:g} s after the client's FIN arrives. "
                   "{link} MSL = {msl:g} s. No segment is lost and no ACK is delayed.",
        "link.delay": "The one-way delay is {delay} s.",
        "link.rtt": "The round-trip time (RTT) is {rtt:g} s, the same both ways.",
        "asks": "How many seconds after the first SYN are both sides CLOSED?",
        "trap.no_2msl": "that is when the server is CLOSED; the client, which closed first, still waits 2 x MSL in "
                        "TIME-WAIT.",
        "trap.one_msl": "TIME-WAIT lasts 2 x MSL, not one MSL.",
        "trap.after_arrival": "TIME-WAIT starts when the server's FIN arrives and the client sends the last ACK, "
                              "not when that ACK arrives.",
        "trap.from_open": "the time counts from the first SYN, not from the moment the connection opened.",
        "trap.from_fin": "the time counts from the first SYN, not from the client's FIN.",
        "trap.no_waits": "the two applications' pauses before close() count too.",
        "trap.rtt_one_way": "the RTT is a round trip: one way takes RTT / 2.",
        "trap.rfc_msl": "this run's MSL is {msl:g} s, not the RFC's 120 s.",
        "hint": "Add the legs one by one: SYN and SYN,ACK until the client is ESTABLISHED, the client's pause, its "
                "FIN to the server, the server's pause, its FIN back; then TIME-WAIT on the side that closed first "
                "(2 x MSL, RFC 9293 section 3.10.7.4). The other side is CLOSED long before.",
        "explanation": "Both sides are CLOSED when the side that closed first leaves TIME-WAIT: 2 x MSL after the "
                       "other side's FIN reached it.",
    },
})

# ---------------------------------------------------------------- lesson 10: listen queues, backlog, SYN floods
QUESTIONS.update({
    "accept-queue-admitted": {
        "title": "How many connections a full accept queue holds",
        "setting": "A server calls listen() with backlog {backlog} and never calls accept(). {n} clients connect "
                   "one after another, {every:g} s apart; the one-way delay is {delay} s, so each handshake is over "
                   "before the next client starts.",
        "asks": "How many of the clients complete the three-way handshake?",
        "trap.limit": "Linux counts the accept queue full only when it holds more than the backlog "
                      "(sk_acceptq_is_full compares with >), so one more fits.",
        "trap.everyone": "the kernel completes handshakes without accept(), but only while the accept queue has "
                         "room; once it is full, Linux drops every new SYN.",
        "trap.minus_one": "no connection is being served here: the application never calls accept(), so every "
                          "finished handshake stays in the accept queue, and it holds backlog + 1.",
        "trap.none": "the kernel, not the application, completes the handshake: accept() only takes a finished "
                     "connection off the accept queue.",
        "hint": "A finished handshake waits in the accept queue until accept() takes it. When does Linux count that "
                "queue full? Look at the comparison in sk_acceptq_is_full() (include/net/sock.h; lesson 10, "
                "section 3).",
        "explanation": "Linux counts the accept queue full only when it holds more than the backlog "
                       "(sk_acceptq_is_full compares with >), so backlog + 1 handshakes complete; every later SYN "
                       "is dropped and its client times out.",
    },
    "full-queue-client": {
        "title": "When connect() fails at a full accept queue",
        "setting": "A server calls listen() with backlog {backlog} and never calls accept(); its "
                   "tcp_abort_on_overflow is {abort}. {n} clients connect one after another, {every:g} s apart. The "
                   "one-way delay is {delay} s, the initial RTO {rto} s, and every client host has "
                   "tcp_syn_retries = {syn_retries}.",
        "asks": "The last client, client{n}, does not get in. How many seconds after it calls connect() does "
                "connect() fail?",
        "trap.refused": "that is one round trip: connect() fails that fast only when an RST comes back (\"connection "
                        "refused\"). A full accept queue drops the SYN and sends nothing.",
        "trap.last_syn": "that is when the last SYN is sent; connect() still waits for that SYN's timeout to "
                         "expire before it gives up.",
        "trap.no_backoff": "one RTO per SYN is only the first four retransmissions (tcp_syn_linear_timeouts); after "
                           "them each timeout doubles, and tcp_syn_retries is a time budget, not a count.",
        "trap.rfc_doubling": "that is RFC 6298's doubling from the first timeout. Linux 6.x sends the first four "
                             "retransmissions one RTO apart (tcp_syn_linear_timeouts = 4) and only then doubles.",
        "trap.linux_default": "this client's tcp_syn_retries is {syn_retries}, not Linux's default of {default}.",
        "trap.clock": "the question asks how long after the connect() call, not the time on the clock.",
        "hint": "The server answers a dropped SYN with nothing. Linux 6.x sends the SYN again one RTO later, four "
                "times (tcp_syn_linear_timeouts), then with a doubling timeout. connect() gives up at the first "
                "timeout at which either tcp_syn_retries + 4 retransmissions are spent or (2^(tcp_syn_retries+1) - "
                "1) RTOs have passed, the time tcp_syn_retries doubling retransmissions would take "
                "(net/ipv4/tcp_timer.c tcp_write_timeout). tcp_abort_on_overflow acts on the handshake's last ACK, "
                "not on a SYN (lesson 10, sections 3 and 4).",
        "explanation": "A SYN that finds the accept queue full is dropped without an answer (no RST, whatever "
                       "tcp_abort_on_overflow says); the client retransmits it, one RTO apart and then doubling, "
                       "and when its time or its count runs out connect() fails with \"connection timed out\" "
                       "(ETIMEDOUT), never \"connection refused\".",
    },
    "syn-cookies-flood": {
        "title": "What real clients see during a SYN flood",
        "setting": "An attacker sends SYNs from forged addresses that no host uses: {rate:g} per second from t = "
                   "{start:g} s, for {duration:g} s. The server listens with backlog {backlog} and has "
                   "tcp_syncookies = {cookies} ({meaning}). During the flood, {n} legitimate clients connect, from t "
                   "= {first:g} s one every {every:g} s; the one-way delay is {delay} s.",
        "cookies.0": "no SYN cookies",
        "cookies.1": "SYN cookies when the SYN queue is full, the Linux default",
        "asks": "What do these clients see?",
        "option.one_rtt": "Each of them connects within one round trip, as if there were no flood.",
        "rebut.one_rtt": "with tcp_syncookies = 0 every SYN that finds the SYN queue full is dropped, the legitimate "
                         "ones too; a client gets in only when a retransmitted SYN finds room.",
        "option.late": "Their SYNs are dropped at the full SYN queue: connect() waits for its SYN retransmissions, "
                       "and connects late or fails with \"connection timed out\".",
        "rebut.late": "with tcp_syncookies = 1 a SYN that finds the SYN queue full is not dropped: the server answers "
                      "it with a SYN cookie and keeps no state, and the client's ACK creates the connection.",
        "option.refused": "connect() fails at once with \"connection refused\": the server answers the SYNs it has no "
                          "room for with RST.",
        "rebut.refused": "an overloaded Linux listener sends no RST for a SYN it cannot keep: it drops it (no "
                         "cookies) or answers it with a cookie. Nobody sees \"connection refused\".",
        "option.accept_queue": "The forged SYNs fill the accept queue, and the clients' connections wait there until "
                               "the flood ends.",
        "rebut.accept_queue": "forged SYNs never finish the handshake (their SYN,ACKs go to addresses nobody uses), "
                              "so they fill the SYN queue; the accept queue holds only finished handshakes.",
        "hint": "In which queue do the forged SYNs wait, and do they ever leave it? Then: what does the server do "
                "with a SYN that finds that queue full, with tcp_syncookies = 0 and with 1 (lesson 10, section 5)?",
        "explanation": "Forged SYNs fill the SYN queue, not the accept queue. Without cookies Linux drops every SYN "
                       "that finds it full, so real clients wait for their SYN retransmissions; with cookies it "
                       "answers them without keeping state, and a real client is in after one round trip. Nobody "
                       "is refused: an overloaded listener sends no RST.",
    },
})

# ---------------------------------------------------------------- lesson 11: closing a socket
QUESTIONS.update({
    "rst-after-close": {
        "title": "The RST that answers data sent after close()",
        "setting": "The server's ISN is {server_isn}. After the handshake the server sends {k} bytes to the client, "
                   "which reads them, and then calls close() (nothing is left unread): its FIN goes out and is "
                   "acknowledged. The client, now in CLOSE-WAIT, writes {n} more bytes to the server.",
        "asks": "Nobody can read them any more, so the server's TCP answers with RST. What sequence number does the "
                "RST carry?",
        "trap.fin": "that is the sequence number of the server's FIN; the FIN occupies that number itself, and the "
                    "client's data acknowledges it, so the RST carries the next one.",
        "trap.one_more": "the RST takes the acknowledgement number of the segment it answers; it does not add one of "
                         "its own (an RST occupies no sequence number).",
        "trap.isn": "the ISN is taken by the server's SYN; after it come the data and the FIN.",
        "trap.zero": "seq=0 is used only to answer a segment that carries no ACK; the client's data does carry one.",
        "hint": "RFC 9293 section 3.10.7.1: a segment with the ACK bit on is answered with <SEQ=SEG.ACK><CTL=RST>; "
                "Linux does the same for data that reaches a close()d socket (lesson 11, section 1). What does the "
                "client's data segment acknowledge? Count the server's SYN, its data and its FIN.",
        "explanation": "The RST carries the acknowledgement number of the data it answers: everything the server "
                       "ever sent (its SYN, its data and its FIN) plus one, the number the client expects next, so "
                       "the client accepts the RST.",
    },
    "orphan-fin-timeout": {
        "title": "When an orphan's FIN-WAIT-2 timer runs out",
        "setting": "The client calls close() with nothing unread; the server acknowledges the client's FIN, but the "
                   "server's application never closes. The client's host has tcp_fin_timeout = {fin_timeout:g} s "
                   "(3.5 RTOs are less). {late:g} s after the client's FIN arrived, the server's application writes "
                   "one byte to the client. The one-way delay is {delay} s.",
        "asks": "What does the client's TCP send when its FIN-WAIT-2 timer runs out, and what answers the server's "
                "byte?",
        "option.nothing": "Nothing when the timer runs out: the connection simply disappears from the client. The "
                          "server's byte then meets no connection and is answered with an RST.",
        "option.rst_now": "An RST when the timer runs out, so that the server learns at once that the connection is "
                          "gone.",
        "rebut.rst_now": "Linux drops the orphan without a segment, and RFC 9293 has no such timer at all: there is "
                         "nobody to tell. The server learns of it only when its own byte is answered.",
        "option.fin_again": "Its FIN again, as a last try, and then it waits another tcp_fin_timeout.",
        "rebut.fin_again": "the client's FIN was acknowledged, which is why the client is in FIN-WAIT-2: there is "
                           "nothing left to retransmit.",
        "option.time_wait": "Nothing; the client moves to TIME-WAIT, so the server's byte is acknowledged.",
        "rebut.time_wait": "TIME-WAIT follows only the peer's FIN; without it the orphan goes straight to CLOSED, and "
                           "data for a connection that does not exist gets an RST (RFC 9293 section 3.10.7.1).",
        "hint": "FIN-WAIT-2 waits for the peer's FIN. What is left to send once the client's FIN is acknowledged? "
                "And how does a host answer a segment for a connection it no longer has (RFC 9293 section "
                "3.10.7.1; lesson 11, section 5)?",
        "explanation": "An orphan's FIN-WAIT-2 ends without a segment: its FIN is acknowledged and there is nothing "
                       "to send. The peer learns of it only when its next segment reaches a host that has no such "
                       "connection and is answered with RST.",
    },
    "linger-zero": {
        "title": "close() with SO_LINGER 0",
        "setting": "The client's ISN is {isn}. After the handshake the client sends {m} bytes, all of them "
                   "acknowledged; the server sends nothing. Then the client sets SO_LINGER to {{l_onoff=1, "
                   "l_linger=0}} and calls close() while the connection is ESTABLISHED.",
        "asks": "What does close() send, and what follows?",
        "option.rst": "An RST with seq = {seq}; no TIME-WAIT on either side, and the server's application is told "
                      "\"connection reset\".",
        "option.rst_plus": "An RST with seq = {plus}, the number after the one a FIN would have taken; no TIME-WAIT "
                           "on either side.",
        "rebut.rst_plus": "an RST carries SND.NXT, the next number not yet used (RFC 9293 section 3.10.5: "
                          "<SEQ=SND.NXT><CTL=RST>); it replaces the FIN, it does not follow one.",
        "option.fin": "A FIN with seq = {seq}, as for any close(); only the TIME-WAIT that would follow is left "
                      "out.",
        "rebut.fin": "with a zero linger time close() sends no FIN at all: Linux aborts the connection "
                     "(__tcp_close calls tcp_disconnect) and sends RST.",
        "option.rst_time_wait": "An RST with seq = {seq}, and then the client stays 2 x MSL in TIME-WAIT, so that "
                                "old duplicates die out.",
        "rebut.rst_time_wait": "TIME-WAIT follows a FIN exchange; an abort deletes the connection at once, on both "
                               "sides (RFC 9293 section 3.10.5).",
        "hint": "SO_LINGER with a zero timeout turns close() into RFC 9293's ABORT (section 3.10.5). Which segment "
                "is that, which sequence number does it carry, and which state follows it (lesson 11, section 3)?",
        "explanation": "With SO_LINGER 0, close() aborts: an RST with seq = SND.NXT instead of a FIN; the "
                       "connection is deleted on both sides at once, so neither has TIME-WAIT, and the peer is told "
                       "\"connection reset\".",
    },
})

# ---------------------------------------------------------------- lesson 11, part B: ports and TIME-WAIT
QUESTIONS.update({
    "tw-reuse-isn": {
        "title": "The ISN of a connection that takes over a TIME-WAIT",
        "setting": "A Linux client with a single ephemeral port (ip_local_port_range = 50000 50000), tcp_tw_reuse = 1 "
                   "and timestamps on connects to a server's port 80, sends {m} bytes and closes first; its FIN has "
                   "seq = {fin}. The server closes too, and the client's side of the connection enters TIME-WAIT. "
                   "{later:g} s after its close() the client calls connect() to the same server port again.",
        "asks": "The only port is in TIME-WAIT, more than tcp_tw_reuse_delay (1 s) old, and the old connection used "
                "timestamps, so connect() takes the TIME-WAIT over. What sequence number does the new SYN carry?",
        "trap.snd_nxt": "that is the old SND.NXT itself; Linux starts the new connection 65535 + 2 above it, so that "
                        "its numbers stay clear of anything the old connection might still have in flight.",
        "trap.fin_counts": "the FIN occupies its own sequence number: the old SND.NXT is the FIN's seq + 1, and the "
                           "gap of 65535 + 2 comes on top of that.",
        "trap.window": "the gap is 65535 + 2, not 65535: tcp_twsk_unique writes tw_snd_nxt + 65535 + 2.",
        "trap.old_isn": "a new connection never starts from the old ISN: those numbers were used by the old one.",
        "hint": "net/ipv4/tcp_ipv4.c, tcp_twsk_unique: the new connection's write_seq is tw_snd_nxt + 65535 + 2, "
                "where tw_snd_nxt is the old connection's SND.NXT. What is SND.NXT after a FIN (lesson 11, "
                "section 10)?",
        "explanation": "A TIME-WAIT that connect() takes over gives the new connection ISN = old SND.NXT + 65537 "
                       "(the FIN's seq + 1, then 65535 + 2): above every number the old connection used, so that "
                       "even without PAWS an old segment cannot be taken for new data.",
    },
    "ports-per-destination": {
        "title": "How many connect()s succeed with a few ports and TIME-WAIT",
        "setting": "A Linux client has ip_local_port_range = {low} {high} ({n} ports) and tcp_tw_reuse = 0. It "
                   "opens {total} short connections one after another, {every:g} s apart: {a} of them to port 5000 "
                   "of a server and {b} to port 5001 of the same server, in mixed order. On each connection the "
                   "client closes first, so every connection leaves a TIME-WAIT (60 s) on the client. The client "
                   "never calls bind().",
        "asks": "How many of the {total} connect() calls succeed?",
        "trap.shared": "a TIME-WAIT holds a 4-tuple, not a port: a port in TIME-WAIT towards port 5000 is still free "
                       "towards port 5001, so each destination has all {n} ports.",
        "trap.freed": "a port whose connection is in TIME-WAIT cannot be used again towards the same destination "
                      "for 60 s (tcp_tw_reuse is 0), and all the connections come within 60 s.",
        "hint": "What does a TIME-WAIT keep taken: a port, or a 4-tuple? Count for each destination port separately "
                "(lesson 11, sections 7 and 9).",
        "explanation": "connect() needs a free 4-tuple. Each TIME-WAIT holds one 4-tuple for 60 s, so towards one "
                       "destination the client has as many connections as ports in its range; towards another "
                       "destination port it has the whole range again. The connect()s beyond that fail with "
                       "EADDRNOTAVAIL.",
    },
    "syn-meets-time-wait": {
        "title": "A SYN that meets TIME-WAIT, without timestamps",
        "setting": "The server closed first and is in TIME-WAIT for 10.0.1.1:50000 -> 10.0.0.1:80; timestamps are "
                   "off on both hosts, and the server still listens on port 80. In the old connection the server's "
                   "SND.NXT was {snd_nxt} and its RCV.NXT {rcv_nxt}. A SYN from 10.0.1.1:50000 to port 80 arrives "
                   "with seq = {syn}.",
        "asks": "What does the server answer?",
        "option.synack": "A SYN,ACK: the SYN opens a new connection, and the server's ISN is {isn}.",
        "rebut.synack": "Linux takes a SYN in TIME-WAIT as new only if its seq is above the old RCV.NXT (or, with "
                        "timestamps, its TSval is newer); this one is below: it may be an old duplicate.",
        "option.old_ack": "An ACK of the old connection, seq = {snd_nxt}, ack = {rcv_nxt}; no new connection.",
        "rebut.old_ack": "a SYN whose seq is above the old RCV.NXT cannot be an old duplicate of that connection, so "
                         "the TIME-WAIT hands it to the listener (RFC 9293 3.6.1, MAY-2).",
        "option.rst": "An RST: the 4-tuple is still in use, so the SYN is refused.",
        "rebut.rst": "a TIME-WAIT never answers a SYN with RST: it either takes it as a new connection or answers "
                     "with an ACK of the old one (tcp_timewait_state_process).",
        "option.silent": "Nothing: a TIME-WAIT drops every segment until it ends.",
        "rebut.silent": "a TIME-WAIT answers what arrives: it re-acknowledges a retransmitted FIN, and a SYN gets a "
                        "SYN,ACK or an ACK.",
        "hint": "Compare the SYN's seq with the old RCV.NXT. Linux's tcp_timewait_state_process takes a SYN as new "
                "when it is after RCV.NXT (TCP_TW_SYN), and otherwise answers with the old ACK (TCP_TW_ACK) "
                "(lesson 11, section 13).",
        "explanation": "Without timestamps the sequence number is all a TIME-WAIT can judge by: a SYN above the old "
                       "RCV.NXT is new, and the listener answers it with ISN = old SND.NXT + 65537; a SYN below it "
                       "may be an old duplicate and gets an ACK of the old connection.",
    },
})

# ---------------------------------------------------------------- lesson 12: when things break
QUESTIONS.update({
    "crash-idle-peer": {
        "title": "The server's state after its idle client goes away",
        "setting": "A connection opens and neither application sends anything. {at:g} s after it opens, {event}. "
                   "The server's application never calls close(), and neither side uses keep-alive. The one-way "
                   "delay is {delay} s.",
        "event.exit": "the client's process is killed (its host keeps running)",
        "event.crash": "the client's host loses power and stays off",
        "event.reboot": "the client's host loses power and is back up 3 s later",
        "asks": "In which state is the server's side of the connection {later:g} s after it opened?",
        "trap.ESTABLISHED": "that is where a server stays when nothing reaches it; but a killed process's kernel "
                            "closes its socket as close() would, and sends a FIN.",
        "trap.CLOSE_WAIT": "CLOSE-WAIT follows the peer's FIN; a host that loses power sends nothing at all, not "
                           "even a FIN.",
        "trap.CLOSED": "the server would close only if something told it to: an RST, or a timer; an idle "
                       "connection has no timer without keep-alive, and nothing is sent to it.",
        "hint": "What does each of the three put on the wire: a killed process (the kernel is alive), a host "
                "without power, a host that has rebooted but was never sent anything? And does an idle connection "
                "have any timer (RFC 9293 3.5.1, 3.10.8; lesson 12, sections 1 and 2)?",
        "explanation": "A killed process's kernel sends a FIN, so the server enters CLOSE-WAIT and stays there until "
                       "its own application closes. A host that loses power sends nothing, rebooted or not; with "
                       "no data to send and no keep-alive the server never learns: its connection stays "
                       "ESTABLISHED, half-open.",
    },
    "keepalive-gives-up": {
        "title": "When keep-alive gives up on a dead peer",
        "setting": "A Linux server has SO_KEEPALIVE with tcp_keepalive_time = {idle} s, tcp_keepalive_intvl = "
                   "{interval} s and tcp_keepalive_probes = {probes}. The connection is idle, and shortly after it "
                   "opens the client's host loses power for good.",
        "asks": "How many seconds after the last segment the server received from the client is its application "
                "told \"connection timed out\"?",
        "trap.last_probe": "that is when the last probe is sent; Linux waits one more interval for its answer, and "
                           "resets at the next expiry.",
        "trap.first_probe": "that is the first probe; the connection is given up only after all probes have gone "
                            "unanswered.",
        "trap.no_idle": "the probes begin only after tcp_keepalive_time of silence.",
        "trap.one_more": "after the last unanswered probe, the next expiry ends the connection; there is no extra "
                         "interval after that.",
        "hint": "net/ipv4/tcp_timer.c tcp_keepalive_timer: the first probe after the idle time, then one per "
                "interval; at the expiry after the last probe, if none was answered, RST and ETIMEDOUT "
                "(lesson 12, section 2).",
        "explanation": "Keep-alive gives up at tcp_keepalive_time + tcp_keepalive_probes x tcp_keepalive_intvl after "
                       "the peer was last heard: the probes go out at the idle time and every interval after, and "
                       "the expiry after the last one resets the connection.",
    },
    "half-open-reconnect": {
        "title": "The RST that clears a half-open connection",
        "setting": "A client connected from port {port} to a server's port 80 (client ISN {client_isn}, server "
                   "ISN {server_isn}) and sent {m} bytes, all acknowledged; the server sent nothing. Then the "
                   "client's host lost power, and later rebooted; the server's side is still ESTABLISHED. The "
                   "rebooted client connects again from port {port}. The server answers its SYN with an ACK of its "
                   "old connection, and the client answers that ACK with RST.",
        "asks": "What sequence number does the client's RST carry?",
        "trap.zero": "seq=0 is for an RST that answers a segment without ACK; the server's challenge ACK has one.",
        "trap.snd_nxt": "that is the server's own SND.NXT, the challenge ACK's seq; an RST takes the ack number "
                        "of the segment it answers.",
        "trap.new_syn": "the RST answers the server's ACK, not the client's own SYN: it takes that ACK's ack field.",
        "trap.syn_counts": "the SYN takes a sequence number of its own: the server expects ISN + 1 + the bytes.",
        "hint": "The challenge ACK carries <SEQ=SND.NXT><ACK=RCV.NXT> of the server's old connection; what is the "
                "server's RCV.NXT after the client's SYN and its bytes? A client in "
                "SYN-SENT answers an ACK that acknowledges nothing it sent with <SEQ=SEG.ACK><CTL=RST> (RFC 9293 "
                "3.10.7.3; lesson 12, section 5).",
        "explanation": "The RST's seq is the challenge ACK's ack, the server's old RCV.NXT: exactly the number the "
                       "server expects, so it accepts the RST (even under RFC 5961) and aborts the old connection; "
                       "the client's next SYN then finds only the listener.",
    },
})
