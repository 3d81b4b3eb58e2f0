"""Bad inputs: every error names the parameter and says what is allowed."""
import math

import pytest

import tcplesson as tl

F = tl.Flags


# ====================================================================== simulate()
@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(loss=1.5), ValueError, ["loss", "between 0 and 1", "1.5"]),
    (dict(loss=-0.1), ValueError, ["loss", "between 0 and 1", "-0.1"]),
    (dict(delay=-1), ValueError, ["delay", "at least 0"]),
    (dict(delay=math.nan), ValueError, ["delay", "finite"]),
    (dict(delay=math.inf), ValueError, ["delay", "finite"]),
    (dict(jitter=-0.5), ValueError, ["jitter", "at least 0"]),
    (dict(msl=-1), ValueError, ["msl", "at least 0"]),
    (dict(rto=0), ValueError, ["rto", "greater than 0"]),
    (dict(rto=-1), ValueError, ["rto", "greater than 0"]),
    (dict(time_wait=-1), ValueError, ["time_wait", "at least 0"]),
    (dict(delayed_ack=-0.1), ValueError, ["delayed_ack", "at least 0"]),
    (dict(max_retries=-1), ValueError, ["max_retries", "integer between 0 and 100"]),
    (dict(mss=0), ValueError, ["mss", "between 1 and 65535"]),
    (dict(seed=-1), ValueError, ["seed", "at least 0"]),
    (dict(client_isn=2**32), ValueError, ["client_isn", "between 0 and 4294967295"]),
    (dict(server_isn=-1), ValueError, ["server_isn", "between 0 and 4294967295"]),
    (dict(drop=[0]), ValueError, ["drop", "at least 1", "0"]),
    (dict(drop=[3, -2]), ValueError, ["drop", "at least 1"]),
    (dict(handshake="one-way"), ValueError, ["handshake", "'one-way'", "three-way", "two-way"]),
    # wrong types
    (dict(loss="0.1"), TypeError, ["loss", "number", "str"]),
    (dict(delay=None), TypeError, ["delay", "number"]),
    (dict(rto=True), TypeError, ["rto", "number", "bool"]),
    (dict(seed=1.5), TypeError, ["seed", "integer", "float"]),
    (dict(max_retries=1.5), TypeError, ["max_retries", "integer"]),
    (dict(client_isn="100"), TypeError, ["client_isn", "integer"]),
    (dict(drop="3"), TypeError, ["drop", "transmission numbers"]),
    (dict(drop=True), TypeError, ["drop", "transmission numbers"]),
    (dict(drop=[1.5]), TypeError, ["drop", "integer"]),
    (dict(handshake=3), ValueError, ["handshake", "three-way"]),
])
def test_simulate_rejects_bad_parameters_naming_them(kwargs, exc, words):
    with pytest.raises(exc) as info:
        tl.simulate("lifecycle", **kwargs)
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        tl.simulate("no-such-scenario")
    message = str(info.value)
    assert "'no-such-scenario'" in message
    for name in tl.SCENARIOS:
        assert name in message


@pytest.mark.parametrize("scenario", [42, None, {"steps": []}])
def test_scenario_of_the_wrong_type(scenario):
    with pytest.raises(TypeError, match="scenario must be a name, a Scenario, a Network or a list of steps"):
        tl.simulate(scenario)


@pytest.mark.parametrize("loss", [0.0, 1.0])
def test_boundary_values_are_accepted(loss):
    trace = tl.simulate("handshake", loss=loss, delay=0, jitter=0, msl=0, drop=[1], seed=0)
    assert not trace.truncated


@pytest.mark.parametrize("handshake", ["three-way", "two-way"])
@pytest.mark.parametrize("name", sorted(tl.SCENARIOS))
def test_simulate_at_loss_1_terminates(name, handshake):
    trace = tl.simulate(name, loss=1.0, handshake=handshake, max_retries=6)
    assert not trace.truncated
    assert all(tx.lost for tx in trace.transmissions)
    assert trace.end_time <= 1.0 * (2**7 - 1) + 2 * 120.0  # give-up time of the longest retry series + 2MSL


# ====================================================================== scenario steps
@pytest.mark.parametrize("step, exc, words", [
    (("browser", "connect", 0), ValueError, ["side", "'browser'", "client", "server"]),
    (("client", "open", 0), ValueError, ["call", "'open'", "connect", "listen"]),
    (("client", "send", 1.0), ValueError, ["send step needs data"]),
    (("client", "send", 1.0, "text"), TypeError, ["data of a send step", "bytes"]),
    (("client", "close", 1.0, b"x"), TypeError, ["close step's options", "linger"]),
    (("client", "close", 1.0, {"lingr": 0}), ValueError, ["unknown close option", "'lingr'", "linger"]),
    (("client", "close", 1.0, {"linger": -1}), ValueError, ["linger", "at least 0"]),
    (("client", "shutdown", 1.0), ValueError, ["shutdown step needs its how", "SHUT_WR"]),
    (("client", "shutdown", 1.0, "SHUT_WRITE"), ValueError, ["unknown how", "'SHUT_WRITE'", "SHUT_RDWR"]),
    (("client", "shutdown", 1.0, 3), TypeError, ["how must be one of", "SHUT_RD", "0, 1, 2"]),
    (("client", "exit", 1.0, b"x"), ValueError, ["exit step takes no data"]),
    (("client", "inject", 0), TypeError, ["inject step needs a Segment"]),
    (("client", "close", "ESTABLISHD+2"), ValueError, ["unknown state", "'ESTABLISHD", "ESTABLISHED"]),
    (("client", "close", "ESTABLISHED+-1"), ValueError, ["step wait", "at least 0"]),
    (("client", "close", -1), ValueError, ["step time", "at least 0"]),
])
def test_bad_steps_name_what_is_wrong(step, exc, words):
    with pytest.raises(exc) as info:
        tl.simulate([("server", "listen", 0), step])
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)


def test_scenario_needs_a_name_and_steps():
    with pytest.raises(TypeError, match="name"):
        tl.Scenario("", [("client", "connect", 0)])
    with pytest.raises(ValueError, match="at least one step"):
        tl.Scenario("empty", [])


# ====================================================================== the Endpoint
def test_now_going_backwards_is_refused():
    ep = tl.Endpoint("ep", isn=1)
    ep.connect(5.0)
    with pytest.raises(ValueError) as info:
        ep.receive(4.0, tl.Segment(F.SYN | F.ACK, 9, 2))
    message = str(info.value)
    assert "now" in message and "back" in message and "4.0" in message and "5.0" in message
    assert ep.state is tl.State.SYN_SENT  # nothing happened
    for call in (lambda: ep.on_timer(1.0), lambda: ep.close(0.0), lambda: ep.abort(4.999)):
        with pytest.raises(ValueError, match="now must not go back"):
            call()
    assert ep.on_timer(5.0) == []  # the same instant again is fine


@pytest.mark.parametrize("now, exc", [(math.nan, ValueError), ("1", TypeError), (None, TypeError)])
def test_now_must_be_a_finite_number(now, exc):
    ep = tl.Endpoint("ep")
    with pytest.raises(exc, match="now"):
        ep.listen(now)


def test_endpoint_input_errors_name_the_argument():
    ep = tl.Endpoint("ep")
    with pytest.raises(TypeError, match="segment must be a Segment"):
        ep.receive(0.0, (0x02, 1, 0))
    ep.connect(0.0)
    ep.receive(0.1, tl.Segment(F.SYN | F.ACK, 50, ep.iss + 1))
    assert ep.state is tl.State.ESTABLISHED
    with pytest.raises(ValueError, match="data must not be empty"):
        ep.send(0.2, b"")
    with pytest.raises(TypeError, match="data must be bytes"):
        ep.send(0.2, "text")


@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(isn=-1), ValueError, "isn"),
    (dict(isn=2**32), ValueError, "isn"),
    (dict(rto=0), ValueError, "rto"),
    (dict(msl=-1), ValueError, "msl"),
    (dict(time_wait=-1), ValueError, "time_wait"),
    (dict(handshake="four-way"), ValueError, "handshake"),
    (dict(delayed_ack=-1), ValueError, "delayed_ack"),
    (dict(mss=70000), ValueError, "mss"),
    (dict(max_retries=101), ValueError, "max_retries"),
])
def test_endpoint_parameters_are_checked(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        tl.Endpoint("ep", **kwargs)


def test_endpoint_name_must_be_a_string():
    with pytest.raises(TypeError, match="name must be a string"):
        tl.Endpoint(3)


def test_protocol_error_is_distinct_from_input_errors():
    ep = tl.Endpoint("ep")
    with pytest.raises(tl.ProtocolError) as info:
        ep.close(0.0)
    assert not isinstance(info.value, (ValueError, TypeError))
    assert "can't close() in state CLOSED" in str(info.value)
