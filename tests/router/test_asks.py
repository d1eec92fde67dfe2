"""A backend's requests to clients: to the client whose call caused them, and the answers back."""

from __future__ import annotations

from mcpctl.protocol import codes
from mcpctl.router.servers import ServerRules
from tests.router.harness import SendToBackend, make, of_type, posted, streamed, tools

ASK = {"jsonrpc": "2.0", "id": 77, "method": "sampling/createMessage", "params": {"messages": []}}


def test_an_ask_during_a_call_travels_on_that_calls_stream_and_the_answer_goes_back() -> None:
    pair = make()
    a = pair.up("a", tools("ask"))
    pair.up("b")
    client = pair.legacy()
    call = pair.call(client, "a__ask")
    pair.take()
    actions = pair.from_backend(a, ASK)
    [(asked, last)] = streamed(actions, call)
    assert not last
    assert asked["method"] == "sampling/createMessage"
    assert asked["id"] != 77  # our own id: the client never sees the backend's
    pair.send(client, {"jsonrpc": "2.0", "id": asked["id"], "result": {"role": "assistant"}})
    [back] = pair.sent_to(a, pair.take())
    assert back == {"jsonrpc": "2.0", "id": 77, "result": {"role": "assistant"}}


def test_an_ask_no_client_can_answer_is_refused_to_the_backend() -> None:
    pair = make()
    a = pair.up("a", tools("ask"))
    pair.up("b")
    pair.call(pair.legacy(caps={}), "a__ask")
    pair.take()
    [refusal] = pair.sent_to(a, pair.from_backend(a, ASK))
    assert refusal["id"] == 77
    assert refusal["error"]["code"] == codes.METHOD_NOT_FOUND  # as a client without the capability answers


def test_ping_from_a_backend_is_answered_here() -> None:
    pair = make()
    a = pair.up("a")
    pair.up("b")
    [pong] = pair.sent_to(a, pair.from_backend(a, {"jsonrpc": "2.0", "id": "p", "method": "ping"}))
    assert pong == {"jsonrpc": "2.0", "id": "p", "result": {}}


def test_an_isolated_childs_ask_outside_a_call_goes_to_its_own_session() -> None:
    pair = make({"mem": ServerRules(prefix="mem", isolation="session")})
    pair.up("mem")
    client = pair.legacy()
    assert client.session is not None
    own = pair.up("mem", owner=client.session.id)
    roots = {"jsonrpc": "2.0", "id": 5, "method": "roots/list"}
    [asked] = posted(pair.from_backend(own, roots), client.session)
    assert asked["method"] == "roots/list"


def test_a_backend_that_gives_up_on_its_ask_tells_the_client() -> None:
    pair = make()
    a = pair.up("a", tools("ask"))
    pair.up("b")
    client = pair.legacy()
    assert client.session is not None
    pair.call(client, "a__ask")
    pair.take()
    [call] = a.in_flight()
    [(asked, _)] = streamed(pair.from_backend(a, ASK), call)
    note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 77}}
    [cancelled] = posted(pair.from_backend(a, note), client.session)
    assert cancelled["params"]["requestId"] == asked["id"]
    assert client.session.asks == {}
    # the client's late answer goes nowhere
    pair.send(client, {"jsonrpc": "2.0", "id": asked["id"], "result": {}})
    assert of_type(pair.take(), SendToBackend) == []


def test_in_a_fleet_an_answer_with_a_forged_or_non_ascii_owner_is_dropped_not_raised() -> None:
    pair = make(fleet=True, instance="me")
    client = pair.legacy()
    for forged in ("1.other.\u00e9\u00e9", "1.other.abc", "x.y.z.w", 7):
        answer = {"jsonrpc": "2.0", "id": forged, "result": {}}
        pair.send(client, answer)  # an answer to nothing we asked: nothing to do, and no exception
        assert not [a for a in pair.take() if type(a).__name__ == "AnswerElsewhere"], forged
