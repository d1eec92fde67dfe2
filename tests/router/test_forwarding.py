"""Forwarding: ids and tokens mapped per link, answers back to their own call, each call ending once."""

from __future__ import annotations

from mcpctl.protocol import codes
from mcpctl.protocol.eras import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, Era
from mcpctl.router.streams import Forwarded, Immediate
from tests.router.harness import SendToBackend, final, make, of_type, streamed, tools


def test_a_call_goes_to_its_server_under_the_servers_own_name_and_a_link_id() -> None:
    pair = make()
    a = pair.up("a", tools("echo"))
    pair.up("b", tools("echo"))
    client = pair.legacy()
    call = pair.call(client, "a__echo", request_id="client-7", arguments={"x": 1})
    [sent] = pair.sent_to(a, pair.take())
    assert sent["params"]["name"] == "echo"
    assert sent["params"]["arguments"] == {"x": 1}
    assert sent["id"] == call.backend_id
    assert isinstance(sent["id"], int)
    actions = pair.from_backend(a, {"jsonrpc": "2.0", "id": sent["id"], "result": {"content": []}})
    answer = final(actions, call)
    assert answer == {"jsonrpc": "2.0", "id": "client-7", "result": {"content": []}}
    assert [outcome for _, _, outcome in pair.hooks.ended] == ["ok"]


def test_two_clients_with_the_same_ids_and_tokens_never_meet() -> None:
    pair = make()
    a = pair.up("a", tools("echo"))
    one, two = pair.legacy(caps={}), pair.legacy(caps={})  # nothing to ask them: the calls run side by side
    first = pair.call(one, "a__echo", request_id=1, _meta={"progressToken": 1})
    second = pair.call(two, "a__echo", request_id=1, _meta={"progressToken": 1})
    sent = pair.sent_to(a, pair.take())
    assert len({m["id"] for m in sent}) == 2
    assert len({m["params"]["_meta"]["progressToken"] for m in sent}) == 2
    # progress for the second, then both answers in reverse order
    token = sent[1]["params"]["_meta"]["progressToken"]
    progress = {
        "jsonrpc": "2.0",
        "method": "notifications/progress",
        "params": {"progressToken": token, "progress": 1},
    }
    actions = pair.from_backend(a, progress)
    assert streamed(actions, first) == []
    [(note, last)] = streamed(actions, second)
    assert not last
    assert note["params"]["progressToken"] == 1  # the client's own token again
    actions = pair.from_backend(a, {"jsonrpc": "2.0", "id": sent[1]["id"], "result": {"n": 2}})
    actions += pair.from_backend(a, {"jsonrpc": "2.0", "id": sent[0]["id"], "result": {"n": 1}})
    assert final(actions, first)["result"] == {"n": 1}
    assert final(actions, second)["result"] == {"n": 2}


def test_an_unknown_tool_is_refused_once_and_the_hooks_see_it() -> None:
    pair = make()
    pair.up("a", tools("echo"))
    pair.up("b")
    reply = pair.send(
        pair.legacy(), {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "nope"}}
    )
    assert isinstance(reply, Immediate)
    assert reply.message["error"]["code"] == codes.INVALID_PARAMS
    assert "Unknown tool: nope" in reply.message["error"]["message"]
    [refusal] = pair.hooks.refusals
    assert (refusal.server, refusal.name) == ("", "nope")


def test_a_hook_refusal_never_reaches_the_backend() -> None:
    pair = make()
    a = pair.up("a", tools("echo"))
    pair.up("b")
    pair.hooks.deny.add("a__echo")
    msg = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "a__echo"}}
    reply = pair.send(pair.legacy(), msg)
    assert isinstance(reply, Immediate)
    assert reply.message["error"]["code"] == -31003
    assert pair.sent_to(a, pair.take()) == []
    assert [r.server for r in pair.hooks.refusals] == ["a"]


def test_cancelling_tells_the_backend_by_its_own_id_and_ends_the_call_once() -> None:
    pair = make()
    a = pair.up("a", tools("slow"))
    pair.up("b")
    client = pair.legacy()
    call = pair.call(client, "a__slow", request_id=9)
    [sent] = pair.sent_to(a, pair.take())
    cancel = {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": 9, "reason": "bored"},
    }
    pair.send(client, cancel)
    actions = pair.take()
    [note] = pair.sent_to(a, actions)
    assert note["method"] == "notifications/cancelled"
    assert note["params"]["requestId"] == sent["id"]
    assert final(actions, call)["error"]["message"] == "cancelled: bored"
    # a late answer changes nothing
    actions = pair.from_backend(a, {"jsonrpc": "2.0", "id": sent["id"], "result": {}})
    assert streamed(actions, call) == []
    assert [outcome for _, _, outcome in pair.hooks.ended] == ["cancelled"]


def test_a_silent_backend_times_out_and_is_told_so() -> None:
    pair = make()
    a = pair.up("a", tools("slow"))
    pair.up("b")
    call = pair.call(pair.legacy(), "a__slow")
    [sent] = pair.sent_to(a, pair.take())
    assert call.expires == call.started + 60.0
    assert pair.router.next_deadline <= call.expires
    assert streamed(pair.tick(59.0), call) == []
    actions = pair.tick(2.0)
    answer = final(actions, call)
    assert answer["error"]["code"] == codes.BACKEND_TIMEOUT
    assert "60s without progress" in answer["error"]["message"]
    assert pair.sent_to(a, actions) == [
        {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": sent["id"], "reason": "timed out"},
        }
    ]
    assert pair.hooks.ended[-1][2] == "timeout"


def test_progress_keeps_a_call_alive_until_its_total_limit() -> None:
    pair = make(
        {
            "a": __import__("mcpctl.router.servers", fromlist=["ServerRules"]).ServerRules(
                prefix="a", call_timeout=10.0, max_call_timeout=25.0
            )
        }
    )
    a = pair.up("a", tools("slow"))
    call = pair.call(pair.legacy(), "a__slow", _meta={"progressToken": "p"})
    [sent] = pair.sent_to(a, pair.take())
    token = sent["params"]["_meta"]["progressToken"]
    for _ in range(2):
        pair.tick(8.0)
        pair.from_backend(
            a, {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": token}}
        )
    assert not call.done
    actions = pair.tick(10.0)
    assert "25s in total" in final(actions, call)["error"]["message"]


def test_a_backend_that_goes_away_fails_what_it_owed_with_the_reason() -> None:
    pair = make()
    a = pair.up("a", tools("echo"))
    pair.up("b")
    calls = [pair.call(pair.legacy(), "a__echo", request_id=n) for n in range(3)]
    pair.take()
    pair.router.backends.link_down(a, "the server was killed by SIGKILL", pair.now)
    actions = pair.take()
    for call in calls:
        error = final(actions, call)["error"]
        assert error["code"] == codes.BACKEND_UNAVAILABLE
        assert "SIGKILL" in error["message"]
    assert a.pending == {}
    assert [o for _, _, o in pair.hooks.ended] == ["unavailable"] * 3


def test_a_message_the_pump_could_not_send_releases_its_call_at_once() -> None:
    pair = make()
    a = pair.up("a", tools("echo"))
    pair.up("b")
    call = pair.call(pair.legacy(), "a__echo")
    [send] = of_type(pair.take(), SendToBackend)
    pair.router.backends.send_failed(a, send.message, "RecursionError", pair.now)
    answer = final(pair.take(), call)
    assert answer["error"]["code"] == codes.BACKEND_UNAVAILABLE
    assert a.pending == {}
    assert call not in pair.router.calls.live
    assert pair.hooks.ended[-1][2] == "unavailable"


def test_a_modern_client_reaches_a_legacy_backend_without_modern_meta_and_gets_result_type() -> None:
    pair = make()
    a = pair.up("a", tools("echo"))
    pair.up("b")
    client = pair.modern(caps={"sampling": {}})
    meta = {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {"sampling": {}}}
    call = pair.call(client, "a__echo", _meta=meta)
    [sent] = pair.sent_to(a, pair.take())
    # nothing modern; a progress token of ours, for a retry after a round of input that may want progress
    assert sent["params"]["_meta"] == {"progressToken": sent["id"]}
    answer = final(
        pair.from_backend(a, {"jsonrpc": "2.0", "id": sent["id"], "result": {"content": []}}), call
    )
    assert answer["result"]["resultType"] == "complete"


def test_a_legacy_client_reaches_a_modern_backend_with_the_sessions_meta() -> None:
    pair = make()
    a = pair.up("a", tools("echo"), era=Era.MODERN)
    pair.up("b")
    client = pair.legacy()
    pair.send(client, {"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {"level": "info"}})
    client.log_level = "info"
    pair.call(client, "a__echo")
    [sent] = [m for m in pair.sent_to(a, pair.take()) if m.get("method") == "tools/call"]
    meta = sent["params"]["_meta"]
    assert meta[META_PROTOCOL_VERSION] == "2026-07-28"
    assert meta[META_CLIENT_CAPABILITIES] == client.capabilities
    assert meta["io.modelcontextprotocol/logLevel"] == "info"


def test_requests_the_gateway_answers_itself() -> None:
    pair = make()
    pair.up("a", tools("echo"))
    pair.up("b", tools("other"))
    client = pair.legacy()
    listed = pair.send(client, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert isinstance(listed, Immediate)
    assert [t["name"] for t in listed.message["result"]["tools"]] == ["a__echo", "b__other"]
    pong = pair.send(client, {"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert isinstance(pong, Immediate)
    assert pong.message["result"] == {}
    modern = pair.modern()
    gone = pair.send(modern, {"jsonrpc": "2.0", "id": 3, "method": "ping"})
    assert isinstance(gone, Immediate)
    assert gone.message["error"]["code"] == codes.METHOD_NOT_FOUND
    listed = pair.send(modern, {"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
    assert isinstance(listed, Immediate)
    assert listed.message["result"]["resultType"] == "complete"
    assert listed.message["result"]["ttlMs"] > 0


def test_a_bridge_forwards_what_it_does_not_know() -> None:
    from mcpctl.router.servers import ServerRules

    pair = make({"only": ServerRules(prefix="")}, bridge="only")
    link = pair.up("only", tools("echo"))
    reply = pair.send(pair.legacy(), {"jsonrpc": "2.0", "id": 5, "method": "custom/thing", "params": {}})
    assert isinstance(reply, Forwarded)
    [sent] = pair.sent_to(link, pair.take())
    assert sent["method"] == "custom/thing"


def test_results_fit_the_clients_era_both_ways() -> None:
    pair = make()
    legacy_backend = pair.up("a", {"resources": [{"uri": "file:///a", "name": "a"}]})
    modern_backend = pair.up("b", tools("t"), era=Era.MODERN)
    modern = pair.modern()
    meta = {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {}}
    read = pair.send(
        modern,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "resources/read",
            "params": {"uri": "file:///a", "_meta": meta},
        },
    )
    assert isinstance(read, Forwarded)
    [sent] = pair.sent_to(legacy_backend, pair.take())
    answer = final(
        pair.from_backend(legacy_backend, {"jsonrpc": "2.0", "id": sent["id"], "result": {"contents": []}}),
        read.call,
    )
    assert answer["result"] == {"contents": [], "resultType": "complete", "ttlMs": 0, "cacheScope": "private"}
    legacy = pair.legacy()
    call = pair.call(legacy, "b__t")
    [sent] = [m for m in pair.sent_to(modern_backend, pair.take()) if m.get("method") == "tools/call"]
    modern_result = {
        "content": [],
        "resultType": "complete",
        "ttlMs": 5,
        "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "b"}, "x": 1},
    }
    answer = final(
        pair.from_backend(modern_backend, {"jsonrpc": "2.0", "id": sent["id"], "result": modern_result}), call
    )
    assert answer["result"] == {"content": [], "_meta": {"x": 1}}
