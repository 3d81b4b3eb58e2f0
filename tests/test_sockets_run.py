"""tl.run_sockets: a script of socket calls on hosts, with what each call returned and the segments it made."""
import pytest

import tcplesson as tl
from tcplesson.segment import SEQ_MOD, Flags, Segment, flag_names

S = tl.State
OPEN = [(0.0, "server", "listen", 5000, {"reuseaddr": True}),
        (0.0, "client", "connect", "server", 5000, {"local_port": 40001, "name": "first"}),
        (0.2, "server", "accept", 5000)]


def errors(run, who=None):
    return [h.detail for h in run.happenings if h.kind == "call error" and (who is None or h.who == who)]


def flags(trace):
    return [(tx.sender, flag_names(int(tx.segment.flags))) for tx in trace.transmissions]


def test_a_restarted_server_gets_address_already_in_use_without_so_reuseaddr():
    """The server closes first (TIME-WAIT on 10.0.0.1:5000), stops listening, and binds again:
    EADDRINUSE without SO_REUSEADDR, success with it (observed: bind-in-use)."""
    run = tl.run_sockets(OPEN + [(0.3, "server", "close", "first"), (0.4, "client", "close", "first"),
                                 (0.6, "server", "close", 5000), (0.7, "server", "listen", 5000),
                                 (0.8, "server", "listen", 5000, {"reuseaddr": True})])
    assert len(errors(run)) == 1 and "Address already in use" in errors(run)[0]
    assert "TIME-WAIT" in run.ss("server", at=0.9) and "LISTEN" in run.ss("server", at=0.9)


def test_ss_lists_a_listener_only_while_it_listens():
    """Between close() of the listening socket and the next listen() ss has no LISTEN row
    (observed: bind-in-use, the snapshot after the listener is closed)."""
    run = tl.run_sockets(OPEN + [(0.3, "server", "close", "first"), (0.4, "client", "close", "first"),
                                 (0.6, "server", "close", 5000), (0.8, "server", "listen", 5000, {"reuseaddr": True})])
    states = {at: [line.split()[0] for line in run.ss("server", at=at).splitlines()[1:]] for at in (0.5, 0.7, 0.9)}
    assert states == {0.5: ["LISTEN", "TIME-WAIT"], 0.7: ["TIME-WAIT"], 0.9: ["LISTEN", "TIME-WAIT"]}
    assert run.listening[("server", 5000)] == [(0.0, 0.6), (0.8, None)]


def test_a_reconnect_from_the_same_port_is_taken_by_the_time_wait_as_a_new_connection():
    """RFC 9293 3.6.1 MAY-2 as Linux does it: the new SYN,ACK's seq is the old FIN's + 1 + 65537."""
    run = tl.run_sockets(OPEN + [(0.3, "server", "close", "first"), (0.4, "client", "close", "first"),
                                 (1.0, "client", "connect", "server", 5000, {"local_port": 40001, "name": "again"})])
    one = run.connection("first")
    assert run.connection("again") is one  # the same 4-tuple: one ladder, two incarnations
    fin = next(tx.segment for tx in one.transmissions if tx.sender == "server" and tx.segment.flags & Flags.FIN)
    synack = [tx.segment for tx in one.transmissions if flag_names(int(tx.segment.flags)) == "SYN,ACK"][-1]
    assert synack.seq == (fin.seq + 1 + 65535 + 2) % SEQ_MOD
    assert one.states["server"][-1][1] is S.ESTABLISHED
    assert any(h.kind == "host:SYN accepted in TIME-WAIT" for h in run.happenings)


def test_closing_a_connection_before_accept_is_refused_and_an_empty_accept_says_so():
    run = tl.run_sockets([(0.0, "server", "listen", 80), (0.0, "client", "connect", "server", 80, {"name": "c"}),
                          (0.01, "server", "accept", 80), (0.5, "server", "close", "c")])
    assert "no connection is waiting" in errors(run)[0] and "accept() it first" in errors(run)[1]


def test_inject_sends_from_a_port_no_socket_owns():
    """A raw SYN below RCV.NXT into TIME-WAIT: the old ACK, then the client's kernel resets it."""
    run = tl.run_sockets(OPEN + [(0.3, "server", "close", "first"), (0.4, "client", "close", "first"),
                                 (1.0, "client", "inject", "first", Segment(Flags.SYN, 7))],
                         sysctls={"server": {"tcp_timestamps": 0}, "client": {"tcp_timestamps": 0}})
    assert flags(run.connection("first"))[-3:] == [("client", "SYN"), ("server", "ACK"), ("client", "RST")]


def test_the_same_script_gives_the_same_run():
    script = OPEN + [(0.3, "client", "send", "first", b"x" * 3000), (0.5, "client", "close", "first")]
    a, b = (tl.run_sockets(script, loss=0.3, seed=5) for _ in range(2))
    assert a.transmissions == b.transmissions and a.happenings == b.happenings


@pytest.mark.parametrize("calls, error, words", [
    ([], ValueError, ["non-empty list"]),
    ([(0.0, "router", "listen", 80)], ValueError, ["unknown host", "'router'", "client", "server"]),
    ([(0.0, "server", "bind", 80)], ValueError, ["unknown call", "'bind'", "listen"]),
    ([(-1.0, "server", "listen", 80)], ValueError, ["time of a call", "at least 0"]),
    ([(0.0, "server", "listen")], ValueError, ["listen() takes 1 arguments", "port"]),
    ([(0.0, "server", "listen", 80, {"backlg": 3})], ValueError, ["unknown option 'backlg'", "backlog"]),
    ([(0.0, "client", "close", "nope")], ValueError, ["unknown connection 'nope'", "none"]),
    ([(0.0, "client", "connect", "server", 70000)], ValueError, ["port", "65535"]),
    ([(0.0, "client", "connect", "server", 80), (1.0, "client", "send", "client.1", "text")], TypeError, ["data"]),
    ([(0.0, "client", "connect", "server", 80), (1.0, "client", "inject", "client.1", b"x")], TypeError, ["Segment"]),
    ([("soon", "server", "listen", 80)], TypeError, ["time of a call", "number"]),
])
def test_bad_scripts_name_what_is_wrong(calls, error, words):
    with pytest.raises(error) as info:
        tl.run_sockets(calls)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_bad_settings_name_themselves():
    with pytest.raises(ValueError, match="sysctls must map"):
        tl.run_sockets(OPEN, sysctls={"router": {}})
    with pytest.raises(ValueError, match="tcp_tw_reuse"):
        tl.run_sockets(OPEN, sysctls={"client": {"tcp_tw_reuse": 3}})
    with pytest.raises(ValueError, match="time_wait"):
        tl.run_sockets(OPEN, time_wait=-1)


# --- random scripts -------------------------------------------------------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

_NAMES = ("a", "b", "c")
_STEP = st.one_of(
    st.tuples(st.just("client"), st.just("connect"), st.sampled_from(_NAMES), st.sampled_from([None, 40001, 40002]),
              st.booleans()),
    st.tuples(st.sampled_from(["client", "server"]), st.sampled_from(["close", "abort", "shutdown", "send"]),
              st.sampled_from(_NAMES)),
    st.tuples(st.just("server"), st.sampled_from(["accept", "unlisten", "listen", "exit"])),
    st.tuples(st.just("client"), st.just("exit")),
)


def _script(steps, times):
    calls, opened = [(0.0, "server", "listen", 5000, {"reuseaddr": True})], set()
    for (who, call, *rest), t in zip(steps, sorted(times)):
        if call == "connect":
            name, port, reuse = rest
            options = {"name": f"{name}{len(calls)}", "reuseaddr": reuse}
            if port is not None:
                options["local_port"] = port
            opened.add(options["name"])
            calls.append((t, who, "connect", "server", 5000, options))
        elif call in ("close", "abort", "shutdown", "send"):
            if not opened:
                continue
            name = sorted(opened)[len(calls) % len(opened)]
            extra = {"shutdown": ("SHUT_WR",), "send": (b"data",)}.get(call, ())
            calls.append((t, who, call, name, *extra))
        elif call == "unlisten":
            calls.append((t, who, "close", 5000))
        elif call == "listen":
            calls.append((t, who, "listen", 5000, {"reuseaddr": True}))
        else:
            calls.append((t, who, call, 5000) if call == "accept" else (t, who, call))
    return calls


@settings(max_examples=120, deadline=None)
@given(steps=st.lists(_STEP, max_size=10), times=st.lists(st.floats(0.0, 5.0), min_size=10, max_size=10),
       loss=st.sampled_from([0.0, 0.25]), seed=st.integers(0, 20),
       sysctls=st.sampled_from([{}, {"tcp_timestamps": 0}, {"tcp_tw_reuse": 1, "ip_local_port_range": (40000, 40003)},
                                {"tcp_max_tw_buckets": 1}]))
def test_any_script_of_socket_calls_runs_to_its_end(steps, times, loss, seed, sysctls):
    """Whatever the applications call, in any order: only the errors an application would see
    (recorded as call errors), the run ends, no connection is left in a state with a timer running,
    and the same script gives the same run."""
    calls = _script(steps, times)
    run = tl.run_sockets(calls, loss=loss, seed=seed, sysctls={"client": sysctls, "server": sysctls})
    assert not run.truncated
    waiting = {S.SYN_SENT, S.SYN_RECEIVED, S.FIN_WAIT_1, S.CLOSING, S.LAST_ACK, S.TIME_WAIT}
    for conn_trace in run.connections.values():
        for who in ("client", "server"):
            assert conn_trace.states[who][-1][1] not in waiting, conn_trace.summary()
    again = tl.run_sockets(calls, loss=loss, seed=seed, sysctls={"client": sysctls, "server": sysctls})
    assert again.transmissions == run.transmissions
