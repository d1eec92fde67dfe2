"""A legacy server's questions to a 2026-07-28 client: input_required with a sealed state, then a retry."""

from __future__ import annotations

from typing import Any

from mcpctl.protocol import codes
from mcpctl.protocol.eras import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext, Principal
from mcpctl.router.mrtr import SETTLE
from mcpctl.router.servers import INPUT_TTL, ServerRules
from mcpctl.router.streams import Forwarded, Immediate
from mcpctl.sealing import KeyRing
from tests.router.harness import Pair, final, make, streamed, tools

CAPS = {"sampling": {}, "elicitation": {}, "roots": {}}
ELICIT = {
    "jsonrpc": "2.0",
    "id": "e1",
    "method": "elicitation/create",
    "params": {"message": "name?", "requestedSchema": {"type": "object"}},
}
SAMPLE = {"jsonrpc": "2.0", "id": "s1", "method": "sampling/createMessage", "params": {"messages": []}}


def request(pair: Pair, ctx: ClientContext, request_id: Any, **extra: Any) -> Forwarded | Immediate:
    meta = {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: ctx.capabilities}
    params = {"name": "a__greet", "arguments": {"who": "x"}, "_meta": meta, **extra}
    reply = pair.send(ctx, {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})
    assert isinstance(reply, Forwarded | Immediate)
    return reply


def started(
    pair: Pair, caps: dict[str, Any] = CAPS, principal: Principal | None = None
) -> tuple[Any, Call, Any]:
    a = pair.up("a", tools("greet"))
    pair.up("b")
    ctx = pair.modern(caps=caps)
    if principal is not None:
        ctx.principal = principal
    reply = request(pair, ctx, 1)
    assert isinstance(reply, Forwarded)
    [sent] = pair.sent_to(a, pair.take())
    return a, reply.call, sent


def test_a_question_becomes_input_required_and_the_retry_answers_the_server() -> None:
    pair = make()
    a, call, sent = started(pair)
    assert pair.from_backend(a, ELICIT) == []  # settling: more questions may come
    answer = final(pair.tick(SETTLE), call)
    body = answer["result"]
    assert body["resultType"] == "input_required"
    [(key, asked)] = body["inputRequests"].items()
    assert asked == {"method": "elicitation/create", "params": ELICIT["params"]}
    assert body["requestState"].startswith("mcpctl1.")
    assert pair.hooks.ended[-1][2] == "input_required"
    ctx = pair.modern(caps=CAPS)
    retry = request(
        pair,
        ctx,
        2,
        inputResponses={key: {"action": "accept", "content": {"n": "A"}}},
        requestState=body["requestState"],
    )
    assert isinstance(retry, Forwarded)
    assert retry.call is call  # the same call at the server, now answering the retry
    [to_server] = pair.sent_to(a, pair.take())
    assert to_server == {"jsonrpc": "2.0", "id": "e1", "result": {"action": "accept", "content": {"n": "A"}}}
    done = final(pair.from_backend(a, {"jsonrpc": "2.0", "id": sent["id"], "result": {"content": []}}), call)
    assert done["id"] == 2
    assert done["result"]["resultType"] == "complete"


def test_questions_within_the_settle_window_make_one_round() -> None:
    pair = make()
    a, call, _ = started(pair)
    pair.from_backend(a, ELICIT)
    pair.from_backend(a, SAMPLE)
    body = final(pair.tick(SETTLE), call)["result"]
    assert sorted(r["method"] for r in body["inputRequests"].values()) == [
        "elicitation/create",
        "sampling/createMessage",
    ]


def test_a_retry_that_answers_part_of_a_round_gets_the_rest_asked_again() -> None:
    pair = make()
    a, call, _ = started(pair)
    pair.from_backend(a, ELICIT)
    pair.from_backend(a, SAMPLE)
    body = final(pair.tick(SETTLE), call)["result"]
    keys = {r["method"]: k for k, r in body["inputRequests"].items()}
    partial = {keys["elicitation/create"]: {"action": "decline"}, "unknown-key": {"x": 1}}
    retry = request(
        pair, pair.modern(caps=CAPS), 2, inputResponses=partial, requestState=body["requestState"]
    )
    assert isinstance(retry, Forwarded)
    assert [m["id"] for m in pair.sent_to(a, pair.take())] == ["e1"]
    again = final(pair.tick(0.0), call)["result"]
    assert list(again["inputRequests"]) == [keys["sampling/createMessage"]]
    assert again["requestState"] != body["requestState"]


def test_a_state_is_good_once_and_only_for_its_own_request() -> None:
    pair = make()
    a, call, _ = started(pair)
    pair.from_backend(a, ELICIT)
    body = final(pair.tick(SETTLE), call)["result"]
    [key] = body["inputRequests"]
    answers = {key: {"action": "accept", "content": {}}}
    state = body["requestState"]
    tampered = state[:-2] + ("A" if state[-2] != "A" else "B") + state[-1]
    for bad, reason in [
        ({"requestState": tampered}, "invalid_request_state"),
        ({"requestState": state, "arguments": {"who": "someone else"}}, "request_mismatch"),
    ]:
        refused = request(pair, pair.modern(caps=CAPS), 3, inputResponses=answers, **bad)
        assert isinstance(refused, Immediate)
        assert refused.message["error"]["code"] == codes.INVALID_PARAMS
        assert refused.message["error"]["data"]["reason"] == reason
    other = pair.modern(caps=CAPS)
    other.principal = Principal("mallory", "api-key")
    stolen = request(pair, other, 4, inputResponses=answers, requestState=state)
    assert isinstance(stolen, Immediate)
    assert stolen.message["error"]["data"]["reason"] == "request_mismatch"
    first = request(pair, pair.modern(caps=CAPS), 5, inputResponses=answers, requestState=state)
    replay = request(pair, pair.modern(caps=CAPS), 6, inputResponses=answers, requestState=state)
    assert isinstance(first, Forwarded)
    assert isinstance(replay, Immediate)
    assert replay.message["error"]["data"]["reason"] == "invalid_request_state"
    assert replay.status == 400


def test_an_abandoned_round_answers_the_servers_questions_and_cancels_the_call() -> None:
    pair = make()
    a, call, sent = started(pair)
    pair.from_backend(a, ELICIT)
    pair.from_backend(a, SAMPLE)
    body = final(pair.tick(SETTLE), call)["result"]
    actions = pair.tick(INPUT_TTL + 1)
    to_server = pair.sent_to(a, actions)
    assert {"jsonrpc": "2.0", "id": "e1", "result": {"action": "cancel"}} in to_server
    assert any(m.get("id") == "s1" and "error" in m for m in to_server)
    assert {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": sent["id"], "reason": "the client did not come back with the input in time"},
    } in to_server
    late = request(pair, pair.modern(caps=CAPS), 2, inputResponses={}, requestState=body["requestState"])
    assert isinstance(late, Immediate)
    assert late.message["error"]["code"] == codes.INVALID_PARAMS


def test_a_question_the_client_did_not_declare_is_refused_and_a_failure_names_the_capability() -> None:
    pair = make()
    a, call, sent = started(pair, caps={"sampling": {}})
    [refusal] = pair.sent_to(a, pair.from_backend(a, ELICIT))
    assert refusal["error"]["code"] == codes.METHOD_NOT_FOUND
    failed = {"jsonrpc": "2.0", "id": sent["id"], "result": {"isError": True, "content": []}}
    answer = final(pair.from_backend(a, failed), call)
    assert answer["error"]["code"] == codes.MISSING_CLIENT_CAPABILITY
    assert answer["error"]["data"] == {"requiredCapabilities": {"elicitation": {}}}


def test_a_url_elicitation_needs_the_url_capability() -> None:
    pair = make()
    a, _, _ = started(pair, caps={"elicitation": {"form": {}}})
    url = {
        "jsonrpc": "2.0",
        "id": "u",
        "method": "elicitation/create",
        "params": {"mode": "url", "url": "https://x", "message": "m", "elicitationId": "1"},
    }
    [refusal] = pair.sent_to(a, pair.from_backend(a, url))
    assert refusal["error"]["code"] == codes.METHOD_NOT_FOUND


def test_a_server_that_answers_between_rounds_has_its_answer_kept_for_the_retry() -> None:
    pair = make()
    a, call, sent = started(pair)
    pair.from_backend(a, ELICIT)
    body = final(pair.tick(SETTLE), call)["result"]
    pair.from_backend(
        a, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "e1"}}
    )
    pair.from_backend(a, {"jsonrpc": "2.0", "id": sent["id"], "result": {"isError": True, "content": []}})
    retry = request(pair, pair.modern(caps=CAPS), 2, inputResponses={}, requestState=body["requestState"])
    assert isinstance(retry, Forwarded)
    answer = final(pair.take(), call)
    assert answer["id"] == 2  # the retry's
    assert answer["result"]["isError"] is True
    assert answer["result"]["resultType"] == "complete"  # shaped for the 2026-07-28 client


def test_progress_after_a_retry_goes_to_the_retrys_token() -> None:
    """The first request asked for no progress, yet the server has a token: the retry may ask."""
    pair = make()
    a, call, sent = started(pair)
    assert sent["params"]["_meta"]["progressToken"] == sent["id"]
    progress = {
        "jsonrpc": "2.0",
        "method": "notifications/progress",
        "params": {"progressToken": sent["id"], "progress": 1},
    }
    assert streamed(pair.from_backend(a, progress), call) == []  # nobody asked for it yet
    pair.from_backend(a, ELICIT)
    body = final(pair.tick(SETTLE), call)["result"]
    [key] = body["inputRequests"]
    meta = {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: CAPS, "progressToken": "p2"}
    retry = request(
        pair,
        pair.modern(caps=CAPS),
        2,
        inputResponses={key: {"action": "cancel"}},
        requestState=body["requestState"],
        _meta=meta,
    )
    assert isinstance(retry, Forwarded)
    pair.take()
    [(note, _)] = streamed(pair.from_backend(a, progress), call)
    assert note["params"]["progressToken"] == "p2"


def test_a_round_left_unanswered_holds_up_only_the_calls_that_could_be_asked_things() -> None:
    """A client that never retries keeps the shared legacy child for the round's lifetime, but only
    from calls whose clients could be asked things: a client without those capabilities goes on."""
    pair = make()
    a, call, _ = started(pair)
    pair.from_backend(a, ELICIT)
    assert final(pair.tick(SETTLE), call)["result"]["resultType"] == "input_required"
    plain = request(pair, pair.modern(caps={}), 2)
    asking = request(pair, pair.modern(caps=CAPS), 3)
    assert isinstance(plain, Forwarded) and isinstance(asking, Forwarded)
    sent = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    assert [m["id"] for m in sent] == [plain.call.backend_id]  # the asking client waits its turn
    # a question while both run cannot be told apart: it waits, for nobody's client yet
    assert pair.from_backend(a, {**SAMPLE, "id": "s2"}) == []
    assert pair.tick(SETTLE) == []


def test_how_long_a_round_waits_for_the_retry_is_set_per_server() -> None:
    pair = make({"a": ServerRules(prefix="a", input_ttl=2.0), "b": ServerRules(prefix="b")})
    a, call, _ = started(pair)
    pair.from_backend(a, ELICIT)
    body = final(pair.tick(SETTLE), call)["result"]
    assert pair.sent_to(a, pair.tick(1.5)) == []
    assert {"jsonrpc": "2.0", "id": "e1", "result": {"action": "cancel"}} in pair.sent_to(a, pair.tick(1.0))
    late = request(pair, pair.modern(caps=CAPS), 2, inputResponses={}, requestState=body["requestState"])
    assert isinstance(late, Immediate)
    assert late.message["error"]["data"]["reason"] == "invalid_request_state"


def test_an_answer_the_request_already_carries_is_given_once_without_a_round() -> None:
    pair = make()
    a = pair.up("a", tools("greet"))
    pair.up("b")
    ctx = pair.modern(caps=CAPS)
    accepted = {"action": "accept", "content": {"name": "Alice"}}
    responses = {"user_name": accepted, "unknown": {"action": "accept"}, "bad": 12345}
    reply = request(pair, ctx, 1, inputResponses=responses)
    assert isinstance(reply, Forwarded)
    [sent] = pair.sent_to(a, pair.take())
    assert "inputResponses" not in sent["params"]  # the server never sees them
    hinted = {**ELICIT, "params": {**ELICIT["params"], "_meta": {"dev.mcpctl/inputKey": "user_name"}}}
    [answer] = pair.sent_to(a, pair.from_backend(a, hinted))
    assert answer == {"jsonrpc": "2.0", "id": "e1", "result": accepted}
    # the same key again, and a key whose offered answer has the wrong shape: asked of the client
    pair.from_backend(a, {**hinted, "id": "e2"})
    pair.from_backend(a, {**ELICIT, "id": "e3", "params": {"_meta": {"dev.mcpctl/inputKey": "bad"}}})
    body = final(pair.tick(SETTLE), reply.call)["result"]
    assert body["resultType"] == "input_required"
    assert len(body["inputRequests"]) == 2 and "bad" in body["inputRequests"]


def test_a_state_another_instance_holds_is_refused_as_owner_unavailable() -> None:
    """Instances that share the sealing key (scale-out) know a state is genuine but not theirs; the
    call it belongs to waits at the instance that minted it (forwarding to it is not built yet)."""
    keys = KeyRing.random()
    first, second = make(keys=keys, instance="A"), make(keys=keys, instance="B")
    a, call, _ = started(first)
    first.from_backend(a, ELICIT)
    body = final(first.tick(SETTLE), call)["result"]
    [key] = body["inputRequests"]
    second.up("a", tools("greet"))
    second.up("b")
    answers = {key: {"action": "accept", "content": {}}}
    elsewhere = request(
        second, second.modern(caps=CAPS), 2, inputResponses=answers, requestState=body["requestState"]
    )
    assert isinstance(elsewhere, Immediate)
    assert elsewhere.message["error"]["code"] == codes.INVALID_PARAMS
    assert elsewhere.message["error"]["data"]["reason"] == "owner_unavailable"
    home = request(
        first, first.modern(caps=CAPS), 3, inputResponses=answers, requestState=body["requestState"]
    )
    assert isinstance(home, Forwarded) and home.call is call  # still good where it was minted
