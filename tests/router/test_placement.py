"""placement = "one" in a fleet: the router sends a server's calls to the instance that runs it."""

from __future__ import annotations

from mcpctl.protocol import codes
from mcpctl.router.actions import CallElsewhere, StreamToClient, SubscribeElsewhere, UpdateElsewhere
from mcpctl.router.servers import ServerRules
from mcpctl.router.streams import Forwarded, Immediate, Listening
from tests.router.harness import Pair, PostToListener, make, of_type, posted, tools

RULES = {"mem": ServerRules(prefix="mem"), "b": ServerRules(prefix="b")}


def elsewhere_pair() -> Pair:
    pair = make(RULES, fleet=True, instance="me")
    pair.up("b", tools("echo"))
    pair.router.backends.server_elsewhere("mem", "owner-1", tools("put", "get"), pair.now)
    pair.take()
    return pair


def test_a_call_for_a_server_another_instance_runs_goes_there_as_the_client_sent_it() -> None:
    pair = elsewhere_pair()
    ctx = pair.legacy()
    msg = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "mem__put", "arguments": {"k": 1}},
    }
    reply = pair.send(ctx, msg)
    assert isinstance(reply, Forwarded)
    [action] = of_type(pair.take(), CallElsewhere)
    assert action.instance == "owner-1"
    assert action.call is reply.call
    assert action.message == msg  # the exposed name: the owner routes it by the same catalog
    assert reply.call.done  # the router keeps nothing of it: the owner's router decides the rest
    assert not pair.router.calls.live
    assert ctx.session is not None and not ctx.session.calls
    assert not pair.hooks.ended  # the owner's hooks see how it ends


def test_its_tools_are_listed_under_its_prefix_and_other_servers_stay_local() -> None:
    pair = elsewhere_pair()
    ctx = pair.modern()
    listed = pair.send(ctx, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert isinstance(listed, Immediate)
    names = {tool["name"] for tool in listed.message["result"]["tools"]}
    assert names == {"mem__put", "mem__get", "b__echo"}
    pair.call(ctx, "b__echo")
    assert not of_type(pair.take(), CallElsewhere)


def test_a_refused_call_is_refused_here_and_never_travels() -> None:
    pair = elsewhere_pair()
    pair.hooks.deny.add("mem__put")
    reply = pair.send(
        pair.modern(), {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "mem__put"}}
    )
    assert isinstance(reply, Immediate)
    assert not of_type(pair.take(), CallElsewhere)


def test_a_call_passed_on_is_never_passed_on_again() -> None:
    pair = elsewhere_pair()
    ctx = pair.modern()
    ctx.forwarded = True
    reply = pair.send(
        ctx, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "mem__get"}}
    )
    assert isinstance(reply, Immediate)
    assert reply.message["error"]["code"] == codes.BACKEND_UNAVAILABLE
    assert not of_type(pair.take(), CallElsewhere)


def test_calls_waiting_for_a_server_that_moved_away_follow_it() -> None:
    pair = make(RULES, fleet=True, instance="me")
    pair.up("b", tools("echo"))
    link = pair.up("mem", tools("put"))
    ctx = pair.modern()
    pair.router.backends.link_down(link, "released", pair.now)  # ours stopped: calls wait for it
    pair.router.backends.server_state("mem", "backoff", pair.now)
    call = pair.call(ctx, "mem__put", arguments={"k": 1})
    assert not of_type(pair.take(), CallElsewhere)
    pair.router.backends.server_elsewhere("mem", "owner-2", tools("put"), pair.now)
    [action] = of_type(pair.take(), CallElsewhere)
    assert action.call is call and action.instance == "owner-2"
    assert action.message["params"] == {"name": "mem__put", "arguments": {"k": 1}}
    later = pair.tick(3600)
    assert not [a for a in later if isinstance(a, StreamToClient) and a.call is call]  # none of its own


def test_a_server_taken_over_here_is_started_and_waited_for_and_late_reports_are_ignored() -> None:
    pair = elsewhere_pair()
    pair.router.backends.server_state("mem", "stopped", pair.now)  # about a child it no longer runs
    assert pair.router.catalog.route_tool("mem__put") is not None
    pair.router.backends.server_here("mem", pair.now)
    slot = pair.router.servers["mem"]
    assert slot.runs_on is None and slot.state == "starting"
    call = pair.call(pair.modern(), "mem__put")
    assert not of_type(pair.take(), CallElsewhere)
    link = pair.up("mem", tools("put"))
    assert [m["method"] for m in pair.sent_to(link, pair.take())] == ["tools/call"]
    assert not call.done


def test_a_list_asked_while_nobody_knows_the_owner_yet_waits_for_its_lists() -> None:
    pair = make(RULES, fleet=True, instance="me")
    pair.up("b", tools("echo"))
    reply = pair.send(pair.modern(), {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert isinstance(reply, Forwarded)  # "mem" is still starting, for all it knows
    pair.router.backends.server_elsewhere("mem", "owner-1", tools("put"), pair.now)
    answers = [a.message for a in pair.take() if isinstance(a, StreamToClient) and a.call is reply.call]
    assert {t["name"] for t in answers[-1]["result"]["tools"]} == {"mem__put", "b__echo"}


NOTES = {"resources": [{"uri": "mem://notes", "name": "notes"}], **tools("put")}


def test_subscriptions_to_a_server_another_instance_runs_are_passed_there_and_updates_come_back() -> None:
    pair = make(RULES, fleet=True, instance="me")
    pair.up("b", tools("echo"))
    pair.router.backends.server_elsewhere("mem", "owner-1", NOTES, pair.now)
    pair.take()
    ctx = pair.legacy()
    subscribe = {"jsonrpc": "2.0", "id": 3, "method": "resources/subscribe", "params": {"uri": "mem://notes"}}
    assert isinstance(pair.send(ctx, subscribe), Immediate)
    [wish] = of_type(pair.take(), SubscribeElsewhere)
    assert (wish.instance, wish.server, wish.uri, wish.wanted) == ("owner-1", "mem", "mem://notes", True)
    # the instance that runs it says the resource changed: the session here hears it
    updated = {
        "jsonrpc": "2.0",
        "method": "notifications/resources/updated",
        "params": {"uri": "mem://notes"},
    }
    pair.router.backends.updated_elsewhere(updated)
    assert ctx.session is not None
    assert posted(pair.take(), ctx.session) == [updated]
    # the server moves: the new instance hears what clients here watch
    pair.router.backends.server_elsewhere("mem", "owner-2", NOTES, pair.now)
    [again] = of_type(pair.take(), SubscribeElsewhere)
    assert (again.instance, again.uri, again.wanted) == ("owner-2", "mem://notes", True)
    unsubscribe = {**subscribe, "method": "resources/unsubscribe"}
    pair.send(ctx, unsubscribe)
    [done] = of_type(pair.take(), SubscribeElsewhere)
    assert (done.instance, done.wanted) == ("owner-2", False)


def test_the_instance_running_a_server_subscribes_its_child_for_the_others_and_passes_updates_on() -> None:
    pair = make(RULES, fleet=True, instance="owner-1")
    link = pair.up("mem", NOTES)
    pair.take()
    pair.router.backends.subscribe_for("mem", "mem://notes", "me", True)
    sent = pair.sent_to(link, pair.take())
    assert [(m["method"], m["params"]["uri"]) for m in sent] == [("resources/subscribe", "mem://notes")]
    pair.router.backends.subscribe_for("mem", "mem://notes", "other", True)
    assert not pair.sent_to(link, pair.take())  # subscribed already
    updated = {
        "jsonrpc": "2.0",
        "method": "notifications/resources/updated",
        "params": {"uri": "mem://notes"},
    }
    [passed] = of_type(pair.from_backend(link, updated), UpdateElsewhere)
    assert passed.instances == ("me", "other") and passed.message == updated
    pair.router.backends.subscribe_for("mem", "mem://notes", "me", False)
    assert not pair.sent_to(link, pair.take())  # "other" still watches it
    pair.router.backends.subscribe_for("mem", "mem://notes", "other", False)
    sent = pair.sent_to(link, pair.take())
    assert [m["method"] for m in sent] == ["resources/unsubscribe"]
    assert not of_type(pair.from_backend(link, updated), UpdateElsewhere)


def test_a_2026_listen_on_a_resource_another_instance_runs_works_the_same() -> None:
    pair = make(RULES, fleet=True, instance="me")
    pair.router.backends.server_elsewhere("mem", "owner-1", NOTES, pair.now)
    pair.take()
    listen = {
        "jsonrpc": "2.0",
        "id": "L",
        "method": "subscriptions/listen",
        "params": {"notifications": {"resourceSubscriptions": ["mem://notes"]}},
    }
    reply = pair.send(pair.modern(), listen)
    assert isinstance(reply, Listening)
    [wish] = of_type(pair.take(), SubscribeElsewhere)
    assert (wish.instance, wish.uri, wish.wanted) == ("owner-1", "mem://notes", True)
    updated = {
        "jsonrpc": "2.0",
        "method": "notifications/resources/updated",
        "params": {"uri": "mem://notes"},
    }
    pair.router.backends.updated_elsewhere(updated)
    [note] = [a for a in pair.take() if isinstance(a, PostToListener) and a.listener is reply.listener]
    assert note.message["params"]["uri"] == "mem://notes"
    pair.router.remove_listener(reply.listener)
    [gone] = of_type(pair.take(), SubscribeElsewhere)
    assert gone.wanted is False
