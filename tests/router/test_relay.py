"""A modern backend's input_required answered by a legacy client: asks on the call's stream, then a retry."""

from __future__ import annotations

from mcpctl.protocol import codes
from mcpctl.protocol.eras import Era
from tests.router.harness import final, make, posted, streamed, tools

IRR = {
    "resultType": "input_required",
    "inputRequests": {
        "name": {"method": "elicitation/create", "params": {"message": "who?"}},
        "llm": {"method": "sampling/createMessage", "params": {"messages": []}},
    },
    "requestState": "opaque-state",
}


def test_each_input_request_is_asked_and_the_answers_retry_the_call() -> None:
    pair = make()
    a = pair.up("a", tools("greet"), era=Era.MODERN)
    pair.up("b")
    client = pair.legacy()
    call = pair.call(client, "a__greet", arguments={"x": 1})
    [first] = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    actions = pair.from_backend(a, {"jsonrpc": "2.0", "id": first["id"], "result": IRR})
    asks = [m for m, last in streamed(actions, call) if not last]
    assert sorted(m["method"] for m in asks) == ["elicitation/create", "sampling/createMessage"]
    by_method = {m["method"]: m["id"] for m in asks}
    pair.send(
        client, {"jsonrpc": "2.0", "id": by_method["elicitation/create"], "result": {"action": "accept"}}
    )
    assert pair.sent_to(a, pair.take()) == []  # one answer is not enough
    pair.send(
        client, {"jsonrpc": "2.0", "id": by_method["sampling/createMessage"], "result": {"role": "assistant"}}
    )
    [retry] = pair.sent_to(a, pair.take())
    assert retry["id"] != first["id"]
    assert retry["params"]["arguments"] == {"x": 1}
    assert retry["params"]["requestState"] == "opaque-state"
    assert retry["params"]["inputResponses"] == {"name": {"action": "accept"}, "llm": {"role": "assistant"}}
    done = final(pair.from_backend(a, {"jsonrpc": "2.0", "id": retry["id"], "result": {"content": []}}), call)
    assert done["result"] == {"content": []}


def test_a_client_that_refuses_the_input_fails_the_call() -> None:
    pair = make()
    a = pair.up("a", tools("greet"), era=Era.MODERN)
    pair.up("b")
    client = pair.legacy()
    call = pair.call(client, "a__greet")
    [first] = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    asks = [
        m
        for m, _ in streamed(pair.from_backend(a, {"jsonrpc": "2.0", "id": first["id"], "result": IRR}), call)
    ]
    pair.send(client, {"jsonrpc": "2.0", "id": asks[0]["id"], "error": {"code": -1, "message": "no"}})
    answer = final(pair.take(), call)
    assert answer["error"]["code"] == -1
    assert "could not provide the input" in answer["error"]["message"]


def test_a_client_that_did_not_declare_the_capability_is_not_asked() -> None:
    pair = make()
    a = pair.up("a", tools("greet"), era=Era.MODERN)
    pair.up("b")
    call = pair.call(pair.legacy(caps={"sampling": {}}), "a__greet")
    [first] = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    actions = pair.from_backend(a, {"jsonrpc": "2.0", "id": first["id"], "result": IRR})
    assert [last for _, last in streamed(actions, call)] == [True]
    assert final(actions, call)["error"]["code"] == codes.NO_ROUTE


def test_a_client_that_never_answers_times_out_without_blaming_the_backend() -> None:
    pair = make()
    a = pair.up("a", tools("greet"), era=Era.MODERN)
    pair.up("b")
    call = pair.call(pair.legacy(), "a__greet")
    [first] = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    pair.from_backend(a, {"jsonrpc": "2.0", "id": first["id"], "result": IRR})
    answer = final(pair.tick(61.0), call)
    assert answer["error"]["code"] == codes.BACKEND_TIMEOUT
    assert "did not answer" in answer["error"]["message"]
    assert pair.hooks.ended[-1][2] == "error"  # the breaker must not count a slow person against the server


def test_a_client_that_cancels_while_it_is_asked_gets_no_retry_sent_upstream() -> None:
    pair = make()
    a = pair.up("a", tools("greet"), era=Era.MODERN)
    pair.up("b")
    client = pair.legacy()
    call = pair.call(client, "a__greet", request_id=5)
    [first] = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    asks = [
        m
        for m, _ in streamed(pair.from_backend(a, {"jsonrpc": "2.0", "id": first["id"], "result": IRR}), call)
    ]
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5}}
    pair.send(client, cancel)
    actions = pair.take()
    assert "cancelled" in final(actions, call)["error"]["message"]
    withdrawn = [m["params"]["requestId"] for m in posted(actions, client.session)]
    assert sorted(withdrawn) == sorted(ask["id"] for ask in asks)  # its open questions are withdrawn
    assert client.session.asks == {}
    for ask in asks:  # answers that come anyway go nowhere
        pair.send(client, {"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept"}})
    upstream = [m for m in pair.sent_to(a, actions + pair.take()) if m.get("method") == "tools/call"]
    assert upstream == []
