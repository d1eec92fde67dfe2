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


URL_CAPS: dict[str, object] = {"elicitation": {"url": {}}}


def url_ask(elicitation_id: str | None = None) -> dict[str, object]:
    params: dict[str, object] = {"mode": "url", "message": "sign in", "url": "https://example.com/login"}
    if elicitation_id is not None:
        params["elicitationId"] = elicitation_id
    return {
        "resultType": "input_required",
        "inputRequests": {"login": {"method": "elicitation/create", "params": params}},
        "requestState": "state-1",
    }


def test_a_url_elicitation_reaches_a_legacy_client_with_an_elicitation_id() -> None:
    pair = make()
    a = pair.up("a", tools("greet"), era=Era.MODERN)
    pair.up("b")
    client = pair.legacy(caps=URL_CAPS)
    call = pair.call(client, "a__greet", arguments={"x": 1})
    [first] = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    actions = pair.from_backend(a, {"jsonrpc": "2.0", "id": first["id"], "result": url_ask()})
    [(ask, last)] = streamed(actions, call)
    assert not last
    assert ask["method"] == "elicitation/create"
    assert ask["params"]["mode"] == "url"
    assert ask["params"]["url"] == "https://example.com/login"
    assert ask["params"]["message"] == "sign in"
    # 2025-11-25 requires an elicitationId for URL mode: the router makes one from the ask id and the key
    assert ask["params"]["elicitationId"] == f"{ask['id']}.login"
    pair.send(client, {"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept"}})
    [retry] = pair.sent_to(a, pair.take())
    assert retry["params"]["inputResponses"] == {"login": {"action": "accept"}}  # under the backend's key
    assert retry["params"]["requestState"] == "state-1"
    assert retry["params"]["arguments"] == {"x": 1}
    done = final(pair.from_backend(a, {"jsonrpc": "2.0", "id": retry["id"], "result": {"content": []}}), call)
    assert done["result"] == {"content": []}


def test_each_url_elicitation_gets_its_own_elicitation_id() -> None:
    pair = make()
    a = pair.up("a", tools("greet"), era=Era.MODERN)
    pair.up("b")
    client = pair.legacy(caps=URL_CAPS)
    call = pair.call(client, "a__greet")
    [first] = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    params = {"mode": "url", "message": "m", "url": "https://example.com/"}
    both = {
        "resultType": "input_required",
        "inputRequests": {
            "one": {"method": "elicitation/create", "params": dict(params)},
            "two": {"method": "elicitation/create", "params": dict(params)},
        },
    }
    asks = [
        m
        for m, _ in streamed(
            pair.from_backend(a, {"jsonrpc": "2.0", "id": first["id"], "result": both}), call
        )
    ]
    ids = {m["params"]["elicitationId"] for m in asks}
    assert len(ids) == 2
    by_key = {m["params"]["elicitationId"].rsplit(".", 1)[1]: m["id"] for m in asks}
    pair.send(client, {"jsonrpc": "2.0", "id": by_key["two"], "result": {"action": "decline"}})
    pair.send(client, {"jsonrpc": "2.0", "id": by_key["one"], "result": {"action": "accept"}})
    [retry] = pair.sent_to(a, pair.take())
    assert retry["params"]["inputResponses"] == {"one": {"action": "accept"}, "two": {"action": "decline"}}
    assert "requestState" not in retry["params"]


def test_a_url_elicitation_keeps_the_backends_own_elicitation_id() -> None:
    pair = make()
    a = pair.up("a", tools("greet"), era=Era.MODERN)
    pair.up("b")
    call = pair.call(pair.legacy(caps=URL_CAPS), "a__greet")
    [first] = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    actions = pair.from_backend(a, {"jsonrpc": "2.0", "id": first["id"], "result": url_ask("backend-42")})
    [(ask, _)] = streamed(actions, call)
    assert ask["params"]["elicitationId"] == "backend-42"


def test_a_form_elicitation_gets_no_elicitation_id() -> None:
    pair = make()
    a = pair.up("a", tools("greet"), era=Era.MODERN)
    pair.up("b")
    call = pair.call(pair.legacy(), "a__greet")
    [first] = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    asks = [
        m
        for m, _ in streamed(pair.from_backend(a, {"jsonrpc": "2.0", "id": first["id"], "result": IRR}), call)
    ]
    [elicit] = [m for m in asks if m["method"] == "elicitation/create"]
    assert "elicitationId" not in elicit["params"]


def test_a_url_elicitation_is_not_put_to_a_client_that_declared_forms_only() -> None:
    pair = make()
    a = pair.up("a", tools("greet"), era=Era.MODERN)
    pair.up("b")
    call = pair.call(pair.legacy(), "a__greet")  # elicitation: {} means form only
    [first] = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    actions = pair.from_backend(a, {"jsonrpc": "2.0", "id": first["id"], "result": url_ask()})
    assert [last for _, last in streamed(actions, call)] == [True]
    assert final(actions, call)["error"]["code"] == codes.NO_ROUTE
