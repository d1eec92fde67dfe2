"""Calls that wait: for a server starting or restarting, a session's own child, or a name not known yet."""

from __future__ import annotations

from mcpctl.protocol import codes
from mcpctl.router.servers import ServerRules
from mcpctl.router.streams import Forwarded, Immediate
from tests.router.harness import OpenLink, final, make, of_type, streamed, tools


def test_a_call_for_a_restarting_server_waits_for_it_and_then_goes() -> None:
    pair = make()
    a = pair.up("a", tools("echo"))
    pair.up("b")
    pair.router.backends.link_down(a, "the server exited with code 1", pair.now)
    call = pair.call(pair.legacy(), "a__echo")
    assert call.link is None
    assert streamed(pair.take(), call) == []
    again = pair.up("a", tools("echo"))
    [sent] = pair.sent_to(again, pair.take())
    assert sent["params"]["name"] == "echo"
    assert call.link is again


def test_a_call_waits_only_so_long_for_a_server_in_backoff() -> None:
    pair = make()
    a = pair.up("a", tools("echo"))
    pair.up("b")
    pair.router.backends.link_down(a, "gone", pair.now)
    pair.router.backends.server_state(
        "a", "backoff", pair.now, "the server exited with code 1", pair.now + 30
    )
    call = pair.call(pair.legacy(), "a__echo")
    pair.take()
    answer = final(pair.tick(5.5), call)
    assert answer["error"]["code"] == codes.BACKEND_UNAVAILABLE
    assert "backoff" in answer["error"]["message"]
    assert "exited with code 1" in answer["error"]["message"]


def test_a_crash_looping_server_forgets_its_tools_and_fails_waiting_calls() -> None:
    pair = make()
    a = pair.up("a", tools("echo"))
    pair.up("b")
    pair.router.backends.link_down(a, "gone", pair.now)
    call = pair.call(pair.legacy(), "a__echo")
    pair.router.backends.server_state("a", "crash-loop", pair.now, "E404 Not Found", pair.now + 300)
    actions = pair.take()
    assert "E404" in final(actions, call)["error"]["message"]
    assert pair.router.catalog.route_tool("a__echo") is None


def test_a_call_during_the_first_start_waits_for_the_name_it_asks_for() -> None:
    pair = make({"a": ServerRules(prefix="a", startup_timeout=20.0)})
    client = pair.legacy()
    msg = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "a__add"}}
    reply = pair.send(client, msg)
    assert isinstance(reply, Forwarded)
    pair.tick(2.0)
    link = pair.up("a", tools("add"))
    [sent] = pair.sent_to(link, pair.take())
    assert sent["params"]["name"] == "add"
    assert not pair.hooks.refusals


def test_an_unknown_name_is_refused_once_no_server_is_starting() -> None:
    pair = make()
    client = pair.legacy()
    reply = pair.send(client, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "zzz"}})
    assert isinstance(reply, Forwarded)
    pair.up("a", tools("echo"))
    assert streamed(pair.take(), reply.call) == []  # b is still starting
    pair.router.backends.server_state("b", "crash-loop", pair.now, "no such command")
    answer = final(pair.take(), reply.call)
    assert answer["error"]["message"] == "Unknown tool: zzz"
    assert len(pair.hooks.refusals) == 1


def test_a_list_during_the_first_start_waits_for_the_servers_or_a_few_seconds() -> None:
    pair = make()
    client = pair.legacy()
    reply = pair.send(client, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert isinstance(reply, Forwarded)
    pair.up("a", tools("echo"))
    assert streamed(pair.take(), reply.call) == []
    answer = final(pair.tick(5.0), reply.call)
    assert [t["name"] for t in answer["result"]["tools"]] == ["a__echo"]
    later = pair.send(client, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert isinstance(later, Forwarded)  # b is still in its first start: it waits again


def test_a_session_gets_its_own_child_of_an_isolated_server() -> None:
    pair = make({"mem": ServerRules(prefix="mem", isolation="session")})
    pair.up("mem", tools("remember"))
    one, two = pair.legacy(), pair.legacy()
    assert one.session is not None
    assert two.session is not None
    first = pair.call(one, "mem__remember")
    second = pair.call(two, "mem__remember")
    opens = of_type(pair.take(), OpenLink)
    assert [(o.server, o.owner) for o in opens] == [("mem", one.session.id), ("mem", two.session.id)]
    pair.call(one, "mem__remember", request_id=2)
    assert of_type(pair.take(), OpenLink) == []  # one opening per session
    own = pair.up("mem", tools("remember"), owner=one.session.id)
    sent = pair.sent_to(own, pair.take())
    assert len(sent) == 2
    pair.router.backends.link_failed("mem", two.session.id, "cannot start 'npx': command not found", pair.now)
    assert "command not found" in final(pair.take(), second)["error"]["message"]
    assert not first.done


def test_closing_a_session_cancels_its_calls_and_ends_it() -> None:
    pair = make()
    a = pair.up("a", tools("slow"))
    pair.up("b")
    client = pair.legacy()
    assert client.session is not None
    call = pair.call(client, "a__slow")
    pair.take()
    pair.router.keeper.close(client.session, pair.now)
    actions = pair.take()
    assert final(actions, call)["error"]["message"] == "cancelled: the session ended"
    assert [m["method"] for m in pair.sent_to(a, actions)] == ["notifications/cancelled"]
    assert pair.router.sessions.peek(client.session.id) is None


def test_idle_sessions_end_after_their_ttl_busy_ones_do_not() -> None:
    pair = make(session_ttl=60.0)
    pair.up("a", tools("slow"))
    pair.up("b")
    idle, busy = pair.legacy(), pair.legacy()
    pair.call(busy, "a__slow")
    pair.take()
    pair.tick(31.0)
    pair.tick(31.0)
    assert idle.session is not None
    assert busy.session is not None
    assert pair.router.sessions.peek(idle.session.id) is None
    assert pair.router.sessions.peek(busy.session.id) is busy.session
    reply = pair.send(idle, {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert isinstance(reply, Immediate)  # the edge checks the session; the router answers what it is given


def test_a_call_that_waited_for_the_first_start_gets_its_servers_timeouts_once_sent() -> None:
    pair = make({"a": ServerRules(prefix="a", startup_timeout=20.0, call_timeout=3.0)})
    reply = pair.send(
        pair.legacy(), {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "a__x"}}
    )
    assert isinstance(reply, Forwarded)
    pair.tick(1.0)
    pair.up("a", tools("x"))
    pair.take()
    answer = final(pair.tick(3.5), reply.call)
    assert "3s without progress" in answer["error"]["message"]
