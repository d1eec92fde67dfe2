"""Server-initiated traffic: list changes to whoever's view changed, updates to subscribers, logs by level."""

from __future__ import annotations

from mcpctl.protocol.eras import META_SUBSCRIPTION_ID, Era
from mcpctl.router.streams import Listening
from tests.router.harness import PostToListener, RefreshLists, make, of_type, posted, streamed, tools

CHANGED = {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}


def test_a_burst_of_list_changed_costs_one_reread_and_one_more() -> None:
    pair = make()
    a = pair.up("a", tools("one"))
    pair.up("b")
    first = of_type(pair.from_backend(a, CHANGED), RefreshLists)
    assert [(r.link, r.kinds) for r in first] == [(a, ("tools",))]
    for _ in range(5):
        assert of_type(pair.from_backend(a, CHANGED), RefreshLists) == []
    pair.router.backends.lists_read(a, ("tools",), tools("one", "two"))
    again = of_type(pair.take(), RefreshLists)
    assert len(again) == 1  # the burst arrived while reading: read once more, not five times


def test_a_changed_view_reaches_sessions_and_the_listeners_that_asked() -> None:
    pair = make()
    a = pair.up("a", tools("one"))
    pair.up("b")
    client = pair.legacy()
    assert client.session is not None
    modern = pair.modern()
    wanted = {
        "jsonrpc": "2.0",
        "id": "L1",
        "method": "subscriptions/listen",
        "params": {"notifications": {"toolsListChanged": True}},
    }
    other = {
        "jsonrpc": "2.0",
        "id": "L2",
        "method": "subscriptions/listen",
        "params": {"notifications": {"promptsListChanged": True}},
    }
    listening = pair.send(modern, wanted)
    pair.send(modern, other)
    assert isinstance(listening, Listening)
    assert listening.ack["params"]["notifications"] == {"toolsListChanged": True}
    pair.take()
    pair.from_backend(a, CHANGED)
    pair.router.backends.lists_read(a, ("tools",), tools("one", "two"))
    actions = pair.take()
    assert [m["method"] for m in posted(actions, client.session)] == ["notifications/tools/list_changed"]
    [note] = of_type(actions, PostToListener)
    assert note.listener is listening.listener
    assert note.message["params"]["_meta"][META_SUBSCRIPTION_ID] == "L1"
    # an unchanged re-read says nothing
    pair.from_backend(a, CHANGED)
    pair.router.backends.lists_read(a, ("tools",), tools("one", "two"))
    assert posted(pair.take(), client.session) == []


def test_resource_subscriptions_are_counted_and_updates_reach_subscribers_only() -> None:
    pair = make()
    resources = {"resources": [{"uri": "file:///x", "name": "x"}]}
    a = pair.up("a", resources)
    pair.up("b")
    one, two, three = pair.legacy(), pair.legacy(), pair.legacy()
    sub = {"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": "file:///x"}}
    pair.send(one, sub)
    pair.send(two, sub)
    assert [m["method"] for m in pair.sent_to(a, pair.take())] == ["resources/subscribe"]
    update = {"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": "file:///x"}}
    actions = pair.from_backend(a, update)
    assert one.session and two.session and three.session
    assert len(posted(actions, one.session)) == len(posted(actions, two.session)) == 1
    assert posted(actions, three.session) == []
    unsub = {"jsonrpc": "2.0", "id": 2, "method": "resources/unsubscribe", "params": {"uri": "file:///x"}}
    pair.send(one, unsub)
    assert pair.sent_to(a, pair.take()) == []
    pair.send(two, unsub)
    assert [m["method"] for m in pair.sent_to(a, pair.take())] == ["resources/unsubscribe"]


def test_a_restarted_backend_gets_the_subscriptions_and_log_level_back() -> None:
    pair = make()
    resources = {"resources": [{"uri": "file:///x", "name": "x"}]}
    a = pair.up("a", resources)
    pair.up("b")
    client = pair.legacy()
    pair.send(
        client, {"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": "file:///x"}}
    )
    pair.send(client, {"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "debug"}})
    pair.take()
    pair.router.backends.link_down(a, "killed", pair.now)
    again = pair.up("a", resources)
    sent = pair.sent_to(again, pair.take())
    assert sorted(m["method"] for m in sent) == ["logging/setLevel", "resources/subscribe"]


def test_a_modern_backend_gets_one_listen_reopened_when_the_filter_changes() -> None:
    pair = make()
    caps = {"tools": {"listChanged": True}, "resources": {"subscribe": True}}
    a = pair.up("a", {"resources": [{"uri": "u:1", "name": "1"}]}, era=Era.MODERN, caps=caps)
    pair.up("b")
    [listen] = pair.sent_to(a, pair.take())
    assert listen["method"] == "subscriptions/listen"
    assert listen["params"]["notifications"] == {"toolsListChanged": True}
    assert listen["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    pair.send(
        pair.legacy(), {"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": "u:1"}}
    )
    cancel, reopened = pair.sent_to(a, pair.take())
    assert cancel["params"]["requestId"] == listen["id"]
    assert reopened["params"]["notifications"]["resourceSubscriptions"] == ["u:1"]


def test_logs_go_to_the_only_call_by_its_level_else_to_sessions_that_asked() -> None:
    pair = make()
    a = pair.up("a", tools("t"))
    pair.up("b")
    quiet, loud = pair.legacy(), pair.legacy()
    pair.send(loud, {"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {"level": "info"}})
    loud.log_level = "info"
    pair.take()
    debug = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "debug", "data": "d"}}
    error = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "error", "data": "e"}}
    assert quiet.session and loud.session
    actions = pair.from_backend(a, debug) + pair.from_backend(a, error)
    assert posted(actions, quiet.session) == []
    assert [m["params"]["data"] for m in posted(actions, loud.session)] == ["e"]
    call = pair.call(loud, "a__t")
    pair.take()
    actions = pair.from_backend(a, debug) + pair.from_backend(a, error)
    assert [m["params"]["data"] for m, _ in streamed(actions, call)] == ["e"]


def test_policy_hides_and_refuses_resources_as_it_does_tools() -> None:
    pair = make()
    listed = {
        "resources": [{"uri": "file:///open", "name": "o"}, {"uri": "file:///secret", "name": "s"}],
        "resourceTemplates": [{"uriTemplate": "file:///secret/{x}", "name": "t"}],
    }
    a = pair.up("a", listed)
    pair.up("b")
    pair.hooks.deny |= {"file:///secret", "file:///secret/{x}"}
    client = pair.legacy()
    resources = pair.send(client, {"jsonrpc": "2.0", "id": 1, "method": "resources/list"})
    templates = pair.send(client, {"jsonrpc": "2.0", "id": 2, "method": "resources/templates/list"})
    assert [r["uri"] for r in resources.message["result"]["resources"]] == ["file:///open"]  # type: ignore[union-attr]
    assert templates.message["result"]["resourceTemplates"] == []  # type: ignore[union-attr]
    sub = {"jsonrpc": "2.0", "id": 3, "method": "resources/subscribe", "params": {"uri": "file:///secret"}}
    refused = pair.send(client, sub)
    assert refused.message["error"]["code"] == -31003  # type: ignore[union-attr]
    assert pair.sent_to(a, pair.take()) == []
    update = {
        "jsonrpc": "2.0",
        "method": "notifications/resources/updated",
        "params": {"uri": "file:///secret"},
    }
    assert client.session is not None
    assert posted(pair.from_backend(a, update), client.session) == []
