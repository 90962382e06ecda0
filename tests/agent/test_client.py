import socket

import pytest

from syncs.agent.client import ApiError, NetworkError, ProtocolClient, ServerUnavailable
from tests.agent.fake_server import AGENT_TOKEN, PRODUCT_KEY


def test_429_waits_as_retry_after_says_then_retries(fake):
    fake.interruptions["/heartbeat"] = [(429, {"Retry-After": "7"}), (503, {})]
    waits: list[float] = []
    client = ProtocolClient(fake.url, AGENT_TOKEN, sleep=waits.append)
    assert client.heartbeat({"agent_version": "1.0.0"}) == {"write_jobs_pending": 0}
    assert waits == [7.0, 2]  # Retry-After, then the back-off for a second try (1, 2, 4 ... s)
    assert fake.paths() == ["/heartbeat"] * 3


def test_errors_carry_the_envelope_description(fake):
    client = ProtocolClient(fake.url, "wrong", sleep=lambda _: None)
    with pytest.raises(ApiError) as error:
        client.heartbeat({})
    assert error.value.status == 401 and error.value.description == "Bad agent token."
    client.activate(PRODUCT_KEY, {})
    with pytest.raises(ApiError) as error:
        client.activate(PRODUCT_KEY, {})
    assert error.value.status == 409


def test_network_errors_back_off_then_give_up():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    waits: list[float] = []
    client = ProtocolClient(f"http://127.0.0.1:{port}", retries=3, sleep=waits.append)
    with pytest.raises(NetworkError):
        client.write_jobs()
    assert waits == [1, 2, 4]


def test_503_with_retry_after_waits_as_asked_without_using_up_the_retries(fake):
    fake.interruptions["/heartbeat"] = [(503, {"Retry-After": "15"})] * 6
    waits: list[float] = []
    client = ProtocolClient(fake.url, AGENT_TOKEN, retries=2, sleep=waits.append)

    assert client.heartbeat({"agent_version": "1.0.0"}) == {"write_jobs_pending": 0}
    assert waits == [15.0] * 6  # more waits than retries: the server asked, nothing failed
    assert fake.paths() == ["/heartbeat"] * 7


def test_a_long_outage_hands_the_wait_to_the_loop_instead_of_failing(fake):
    fake.interruptions["/heartbeat"] = [(503, {"Retry-After": "30"})] * 10
    waits: list[float] = []
    client = ProtocolClient(fake.url, AGENT_TOKEN, sleep=waits.append, unavailable_budget_s=60)

    with pytest.raises(ServerUnavailable) as error:
        client.heartbeat({})
    assert waits == [30.0, 30.0]
    assert error.value.retry_after == 30.0
