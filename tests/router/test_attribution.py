"""Whose question is it: a call that may be asked about runs alone on a shared legacy child."""

from __future__ import annotations

from mcpctl.protocol import codes
from mcpctl.router.servers import QUIET_AFTER, ServerRules
from tests.router.harness import make, streamed, tools

ASK = {"jsonrpc": "2.0", "id": 9, "method": "sampling/createMessage", "params": {"messages": []}}


def test_a_call_that_may_be_asked_about_waits_for_the_others_then_runs_alone() -> None:
    pair = make()
    a = pair.up("a", tools("t"))
    pair.up("b")
    quiet = pair.legacy(caps={})
    asker, other = pair.legacy(), pair.legacy()
    first = pair.call(quiet, "a__t", request_id=1)
    mine = pair.call(asker, "a__t", request_id=2)
    theirs = pair.call(other, "a__t", request_id=3)
    assert [m["id"] for m in pair.sent_to(a, pair.take())] == [first.backend_id]  # the others wait
    actions = pair.from_backend(a, {"jsonrpc": "2.0", "id": first.backend_id, "result": {}})
    [sent] = [m for m in pair.sent_to(a, actions) if m.get("method") == "tools/call"]
    assert sent["id"] == mine.backend_id
    [(question, _)] = streamed(pair.from_backend(a, ASK), mine)  # it can only be the call running alone
    assert question["method"] == "sampling/createMessage"
    assert streamed(pair.take(), theirs) == []
    pair.send(asker, {"jsonrpc": "2.0", "id": question["id"], "result": {"role": "assistant", "content": {}}})
    pair.take()
    actions = pair.from_backend(a, {"jsonrpc": "2.0", "id": mine.backend_id, "result": {}})
    [last] = [m for m in pair.sent_to(a, actions) if m.get("method") == "tools/call"]
    assert last["id"] == theirs.backend_id


def test_a_question_while_several_calls_run_waits_until_it_can_only_be_one_of_them() -> None:
    pair = make()
    a = pair.up("a", tools("t"))
    pair.up("b")
    one, two = pair.legacy(caps={}), pair.legacy()
    pair.router.servers["a"].quiet.add("a__t")  # learned: it never asked, so it runs beside others
    first = pair.call(one, "a__t", request_id=1)
    second = pair.call(two, "a__t", request_id=2)
    pair.take()
    assert pair.from_backend(a, ASK) == []  # two calls in flight: whose is it?
    actions = pair.from_backend(a, {"jsonrpc": "2.0", "id": first.backend_id, "result": {}})
    [(question, _)] = streamed(actions, second)
    assert question["method"] == "sampling/createMessage"
    assert "a__t" not in pair.router.servers["a"].quiet  # it asks after all


def test_a_question_nobody_can_be_sure_of_is_refused_and_its_tools_run_alone_from_then_on() -> None:
    pair = make()
    a = pair.up("a", tools("t"))
    pair.up("b")
    pair.router.servers["a"].quiet.add("a__t")
    one, two = pair.legacy(), pair.legacy()
    pair.call(one, "a__t", request_id=1)
    pair.call(two, "a__t", request_id=2)
    pair.take()
    pair.from_backend(a, ASK)
    [refusal] = pair.sent_to(a, pair.tick(6.0))
    assert refusal["id"] == 9
    assert refusal["error"]["code"] == codes.METHOD_NOT_FOUND
    assert "a__t" not in pair.router.servers["a"].quiet


def test_a_tool_that_ran_alone_without_asking_learns_to_run_beside_others() -> None:
    pair = make()
    a = pair.up("a", tools("t"))
    pair.up("b")
    client, other = pair.legacy(), pair.legacy()
    for n in range(QUIET_AFTER):
        call = pair.call(client, "a__t", request_id=n)
        pair.take()
        pair.from_backend(a, {"jsonrpc": "2.0", "id": call.backend_id, "result": {}})
    pair.call(client, "a__t", request_id=10)
    pair.call(other, "a__t", request_id=11)
    assert len([m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]) == 2


def test_a_question_outside_any_call_gets_the_configured_roots_or_a_refusal() -> None:
    pair = make({"a": ServerRules(prefix="a", roots=("file:///work",)), "b": ServerRules(prefix="b")})
    a, b = pair.up("a"), pair.up("b")
    roots = {"jsonrpc": "2.0", "id": 1, "method": "roots/list"}
    [answer] = pair.sent_to(a, pair.from_backend(a, roots))
    assert answer["result"] == {"roots": [{"uri": "file:///work"}]}
    [refusal] = pair.sent_to(b, pair.from_backend(b, roots))
    assert refusal["error"]["code"] == codes.METHOD_NOT_FOUND


def test_a_client_that_did_not_declare_a_capability_is_never_asked() -> None:
    pair = make()
    a = pair.up("a", tools("t"))
    pair.up("b")
    call = pair.call(pair.legacy(caps={"roots": {}}), "a__t")
    pair.take()
    [refusal] = pair.sent_to(a, pair.from_backend(a, ASK))
    assert refusal["error"]["code"] == codes.METHOD_NOT_FOUND
    assert streamed(pair.take(), call) == []
    assert not call.done  # the call goes on: the server decides what a refusal means
