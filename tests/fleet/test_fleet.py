"""A fleet of three instances on one Redis: sessions anywhere, live things routed, limits shared, faults."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from mcpctl.protocol import codes
from tests.fleet.conftest import ASKER, ECHO, Fleet, on, start_fleet, stream_call
from tests.support.mcp_http import ACCEPT, LegacyClient, ModernClient
from tests.support.redis import RedisServer
from tests.support.waiting import wait_until


def test_a_session_opened_on_one_instance_works_on_every_other(fleet: Fleet) -> None:
    a, b, c = (host.url for host in fleet.hosts)
    with LegacyClient(a) as client:
        for n in range(100):
            on(client, b if n % 2 else c)
            assert client.call_tool("echo__echo", {"message": str(n)})["content"][0]["text"] == str(n)
        on(client, b)
        assert client.http.delete(b, headers=client.headers()).status_code == 200
        on(client, a)
        gone = client.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert gone.status_code == 404  # ended on b: ended everywhere
        client.session_id = None  # nothing left to DELETE


def test_another_principals_request_for_a_session_finds_nothing(tmp_path: Path, fleet: Fleet) -> None:
    a, b = fleet.hosts[0].url, fleet.hosts[1].url
    with LegacyClient(a, headers={"user-agent": "alice"}) as alice:
        # no auth here: every caller is the same anonymous principal, so the binding is checked on
        # what the record says: a forged id finds nothing
        forged = LegacyClient(b)
        forged.session_id = alice.session_id[::-1]  # type: ignore[index]
        assert forged.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).status_code == 404
        forged.http.close()


def test_a_list_change_through_one_instance_reaches_a_get_stream_held_on_another_once(fleet: Fleet) -> None:
    a, b = fleet.hosts[0].url, fleet.hosts[1].url
    with LegacyClient(a) as client:
        seen: list[dict[str, Any]] = []
        opened = threading.Event()

        def listen() -> None:
            try:
                with httpx.stream(
                    "GET", a, headers={**client.headers(), "accept": "text/event-stream"}, timeout=30
                ) as stream:
                    opened.set()
                    for line in stream.iter_lines():
                        if line.startswith("data: "):
                            seen.append(orjson.loads(line[6:]))
            except httpx.HTTPError:
                return

        threading.Thread(target=listen, daemon=True).start()
        assert opened.wait(10)
        on(client, b)
        assert client.call_tool("echo__add_tool", {"name": "newly"})["content"][0]["text"] == "added newly"
        wait_until(lambda: [m for m in seen if m.get("method") == "notifications/tools/list_changed"], 10)
        # a second change, after the first: the first arrived once (not once per instance)
        assert client.call_tool("echo__add_tool", {"name": "second"})["content"][0]["text"] == "added second"
        wait_until(
            lambda: len([m for m in seen if m.get("method") == "notifications/tools/list_changed"]) >= 2, 10
        )
        changed = [m for m in seen if m.get("method") == "notifications/tools/list_changed"]
        assert len(changed) == 2


def test_a_burst_limit_holds_exactly_across_the_fleet(tmp_path: Path, redis_server: RedisServer) -> None:
    config = """
[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]

[[limits.rules]]
scope = "tool"
match = "echo__echo"
requests = 1
per = "1h"
burst = 100
"""
    fleet = start_fleet(tmp_path, redis_server, config=config)
    try:
        outcomes: list[int] = []
        lock = threading.Lock()

        def hammer(url: str) -> None:
            with ModernClient(url) as client:
                for _ in range(60):
                    final = client.request(
                        "tools/call", {"name": "echo__echo", "arguments": {"message": "x"}}
                    )[-1]
                    with lock:
                        outcomes.append(final.get("error", {}).get("code", 0))

        threads = [threading.Thread(target=hammer, args=(host.url,)) for host in fleet.hosts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert len(outcomes) == 180
        assert outcomes.count(0) == 100
        assert outcomes.count(codes.RATE_LIMITED) == 80
    finally:
        fleet.stop()


def test_with_redis_down_sessions_fail_closed_and_stateless_calls_go_on(fleet: Fleet) -> None:
    a = fleet.hosts[0].url
    with LegacyClient(a) as client:
        fleet.redis.stop()
        started = time.monotonic()
        refused = client.post({"jsonrpc": "2.0", "id": 5, "method": "tools/list"})
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) > 0
        assert time.monotonic() - started < 10  # fails, never hangs
        with ModernClient(a) as modern:
            assert modern.call_tool("echo__echo", {"message": "still"})["content"][0]["text"] == "still"
        assert fleet.hosts[0].ready()["state"]["healthy"] is False
        fleet.redis.start()  # empty: the session is gone, the instances recover without a restart
        wait_until(lambda: fleet.hosts[0].ready()["state"]["healthy"], 20, message="the store is back")
        assert client.post({"jsonrpc": "2.0", "id": 6, "method": "tools/list"}).status_code == 404
        client.session_id = None
        with LegacyClient(a) as again:
            assert again.call_tool("echo__echo", {"message": "back"})["content"][0]["text"] == "back"


def test_with_append_only_persistence_sessions_survive_a_redis_restart(tmp_path: Path) -> None:
    from tests.support.node import free_port

    redis = RedisServer(tmp_path / "redis", free_port(), append_only=True)
    redis.directory.mkdir()
    redis.start()
    fleet = start_fleet(tmp_path, redis, count=2)
    try:
        with LegacyClient(fleet.hosts[0].url) as client:
            redis.restart()
            on(client, fleet.hosts[1].url)
            wait_until(lambda: fleet.hosts[1].ready()["state"]["healthy"], 20)
            assert client.call_tool("echo__echo", {"message": "kept"})["content"][0]["text"] == "kept"
    finally:
        fleet.stop()
        redis.stop()


def test_a_redis_restarted_without_persistence_forgets_sessions_and_new_ones_work(fleet: Fleet) -> None:
    a, b, c = (host.url for host in fleet.hosts)
    with LegacyClient(a) as client:
        assert client.call_tool("echo__echo", {"message": "before"})["content"][0]["text"] == "before"
        fleet.redis.restart()  # no append-only file: it comes back empty
        for host in fleet.hosts:
            wait_until(lambda h=host: h.ready()["state"]["healthy"], 20, message="the store is back")
        for url in (b, c, a):  # gone everywhere, also where it was opened (a's local copy goes too)
            on(client, url)
            gone = client.post({"jsonrpc": "2.0", "id": 9, "method": "tools/list"})
            assert gone.status_code == 404, gone.text
        client.session_id = None  # nothing left to DELETE
    with LegacyClient(b) as fresh:  # what a client does on 404: a new session, which works anywhere
        for n, url in enumerate((c, a, b)):
            on(fresh, url)
            assert fresh.call_tool("echo__echo", {"message": f"new{n}"})["content"][0]["text"] == f"new{n}"


def test_an_instance_started_while_redis_is_down_serves_once_it_is_up(tmp_path: Path) -> None:
    from tests.support.node import free_port

    redis = RedisServer(tmp_path / "redis", free_port())  # not started yet
    redis.directory.mkdir()
    fleet = start_fleet(tmp_path, redis, count=2)  # both start (and answer /health and /ready) without it
    try:
        a, b = fleet.hosts
        for host in fleet.hosts:
            state = host.ready()["state"]
            assert state["healthy"] is False
            assert "connect" in str(state["problem"]).lower(), state  # says why
        refused = httpx.post(
            a.url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t"}},
            },
            headers={"accept": ACCEPT},
            timeout=30,
        )
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) > 0
        with ModernClient(b.url) as modern:  # needs no store
            assert modern.call_tool("echo__echo", {"message": "alone"})["content"][0]["text"] == "alone"
        redis.start()
        for host in fleet.hosts:  # no restart: each finds the store by itself
            wait_until(lambda h=host: h.ready()["state"]["healthy"], 20, message="the store found")
        with LegacyClient(a.url) as client:
            for n in range(4):
                on(client, (a, b)[n % 2].url)
                assert client.call_tool("echo__echo", {"message": str(n)})["content"][0]["text"] == str(n)
    finally:
        fleet.stop()
        redis.stop()


def test_ready_reports_the_store_and_metrics_count_the_fleets_sessions(fleet: Fleet) -> None:
    ready = fleet.hosts[2].ready()
    assert ready["state"]["healthy"] is True
    clients = [LegacyClient(host.url) for host in fleet.hosts]
    try:
        for client in clients:
            client.initialize()

        def sessions_on_c() -> float:
            text = httpx.get(fleet.hosts[2].base_url + "/metrics", timeout=5).text
            line = next(row for row in text.splitlines() if row.startswith("mcp_active_sessions "))
            return float(line.split()[1])

        wait_until(lambda: sessions_on_c() == 3, 10, message="every instance counts the fleet's sessions")
    finally:
        for client in clients:
            client.__exit__()


# two shared legacy children that ask: a round holds its child's next asking call (see README)
ECHO_AND_ASKERS = ECHO + "".join(ASKER.replace("asker]", f"{name}]") for name in ("asker", "other", "third"))


def test_an_answer_to_a_question_may_land_on_any_instance(tmp_path: Path, redis_server: RedisServer) -> None:
    fleet = start_fleet(tmp_path, redis_server, config=ASKER)
    try:
        a, b, c = (host.url for host in fleet.hosts)
        with LegacyClient(a, capabilities={"sampling": {}}) as client:
            body = {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "tools/call",
                "params": {"name": "asker__ask_sampling", "arguments": {"prompt": "hi"}},
            }
            thread, seen = stream_call(b, client, body)
            wait_until(lambda: any(m.get("method") == "sampling/createMessage" for m in seen), 20)
            question = next(m for m in seen if m.get("method") == "sampling/createMessage")
            answer = {
                "jsonrpc": "2.0",
                "id": question["id"],
                "result": {"role": "assistant", "model": "m", "content": {"type": "text", "text": "hello"}},
            }
            on(client, c)
            assert client.post(answer).status_code == 202  # on c; the question was b's
            thread.join(30)
            final = seen[-1]
            assert final["id"] == 7
            assert final["result"]["content"][0]["text"] == "sampled: hello"
            tampered = {**answer, "id": question["id"][:-2] + "xx"}
            assert client.post(tampered).status_code == 202  # accepted and dropped: nothing to route
    finally:
        fleet.stop()


def test_an_instance_killed_mid_call_fails_fast_and_the_others_keep_the_session(fleet: Fleet) -> None:
    import signal

    import psutil

    a, b, c = fleet.hosts
    with LegacyClient(a.url) as client:
        children = psutil.Process(b.proc.pid).children(recursive=True)
        body = {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "slow__sleep", "arguments": {"seconds": 30, "steps": 30}},
        }
        thread, _ = stream_call(b.url, client, body)
        b.proc.send_signal(signal.SIGKILL)
        thread.join(15)
        assert not thread.is_alive()  # the stream broke at once; the call is lost with its instance
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive  # its children died with it
        on(client, c.url)
        assert client.call_tool("echo__echo", {"message": "on"})["content"][0]["text"] == "on"


BRIEF = """
[servers.brief]
command = "{python}"
args = ["{fixtures}/asker.py", "--era", "legacy"]
env = { FIXTURE_CANCEL_LOG = "@log@" }
input_ttl = "1s"
"""


def refused(answer: dict[str, Any], reason: str) -> None:
    assert answer["error"]["code"] == codes.INVALID_PARAMS, answer
    assert answer["error"]["data"]["reason"] == reason, answer


def test_a_retry_with_input_may_land_on_any_instance(tmp_path: Path, redis_server: RedisServer) -> None:
    """A round opened on a is finished through b; a tampered, a replayed and an expired requestState
    are refused wherever they land (the expired one on a server with `input_ttl = "1s"`)."""
    cancel_log = tmp_path / "brief-cancelled.log"
    config = ASKER + BRIEF.replace("@log@", str(cancel_log))
    fleet = start_fleet(tmp_path, redis_server, config=config)
    try:
        a, b, c = (host.url for host in fleet.hosts)
        caps = {"elicitation": {}}
        with ModernClient(a, capabilities=caps) as first:
            params = {"name": "asker__ask_elicitation", "arguments": {"message": "who?"}}
            asked = first.request("tools/call", params)[-1]["result"]
            brief = {"name": "brief__ask_elicitation", "arguments": {"message": "quick, who?"}}
            expiring = first.request("tools/call", brief)[-1]["result"]
        assert asked["resultType"] == "input_required"
        [key] = asked["inputRequests"]
        state = asked["requestState"]
        answers = {key: {"action": "accept", "content": {"name": "Ada"}}}
        with ModernClient(c, capabilities=caps) as other:
            tampered = other.request(
                "tools/call", {**params, "inputResponses": answers, "requestState": state + "x"}
            )
            refused(tampered[-1], "invalid_request_state")
            flipped = state[:-5] + ("A" if state[-5] != "A" else "B") + state[-4:]
            refused(
                other.request("tools/call", {**params, "inputResponses": answers, "requestState": flipped})[
                    -1
                ],
                "invalid_request_state",
            )
        with ModernClient(b, capabilities=caps) as retry:
            done = retry.request("tools/call", {**params, "inputResponses": answers, "requestState": state})[
                -1
            ]
            assert "Ada" in done["result"]["content"][0]["text"]
            for url in (b, c, a):  # good once, wherever the replay lands (b and c forward it to a)
                retry.url = url
                replay = retry.request(
                    "tools/call", {**params, "inputResponses": answers, "requestState": state}
                )[-1]
                refused(replay, "invalid_request_state")
            # the brief round expires on a (its child's call is cancelled there); then its state is refused
            wait_until(lambda: cancel_log.exists() and cancel_log.read_text().split(), 20, message="expiry")
            [brief_key] = expiring["inputRequests"]
            late = {brief_key: {"action": "accept", "content": {"name": "Ada"}}}
            for url in (b, c):
                retry.url = url
                expired = retry.request(
                    "tools/call", {**brief, "inputResponses": late, "requestState": expiring["requestState"]}
                )[-1]
                refused(expired, "invalid_request_state")
    finally:
        fleet.stop()


def listen(url: str, client: LegacyClient) -> tuple[threading.Event, list[dict[str, Any]]]:
    """Open the session's GET stream on `url`, in a thread: (opened, what it said)."""
    seen: list[dict[str, Any]] = []
    opened = threading.Event()

    def run() -> None:
        headers = {**client.headers(), "accept": "text/event-stream"}
        try:
            with httpx.stream("GET", url, headers=headers, timeout=60) as stream:
                opened.set()
                for line in stream.iter_lines():
                    if line.startswith("data: "):
                        seen.append(orjson.loads(line[6:]))
            seen.append({"ended": True})
        except httpx.HTTPError as exc:
            seen.append({"ended": str(exc)})

    threading.Thread(target=run, daemon=True).start()
    assert opened.wait(10)
    return opened, seen


def list_changes(seen: list[dict[str, Any]]) -> int:
    return len([m for m in seen if m.get("method") == "notifications/tools/list_changed"])


def test_an_instance_stopped_for_20_s_is_routed_around_and_writes_nothing_stale_after(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """SIGSTOP a for 20 s: its lease lapses, retries forwarded to it fail fast (also one sent before
    the lapse), its session goes on through b and c (a GET there takes its stream over). After SIGCONT
    it drops the retry whose client was told owner_unavailable, writes nothing on the stream b took
    over, and serves again."""
    import signal

    import redis

    fleet = start_fleet(tmp_path, redis_server, config=ECHO_AND_ASKERS)
    store = redis.Redis(port=redis_server.port)
    a, b, c = fleet.hosts
    lease = f"mcpctl:inst:{a.ready()['state']['instance']}"
    caps = {"elicitation": {}}

    def ask(url: str, server: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """A round opened on `url` (held there): (the call's params, its input_required result)."""
        params = {"name": f"{server}__ask_elicitation", "arguments": {"message": "who?"}}
        with ModernClient(url, capabilities=caps) as modern:
            return params, modern.request("tools/call", params)[-1]["result"]

    def retry(url: str, round_: tuple[dict[str, Any], dict[str, Any]]) -> tuple[dict[str, Any], float]:
        params, asked = round_
        [key] = asked["inputRequests"]
        answers = {key: {"action": "accept", "content": {"name": "Ada"}}}
        started = time.monotonic()
        with ModernClient(url, capabilities=caps) as modern:
            final = modern.request(
                "tools/call", {**params, "inputResponses": answers, "requestState": asked["requestState"]}
            )[-1]
        return final, time.monotonic() - started

    try:
        with LegacyClient(a.url) as client:
            early, late = ask(a.url, "asker"), ask(a.url, "other")
            _, on_a = listen(a.url, client)  # the session's GET stream, held by a
            a.proc.send_signal(signal.SIGSTOP)
            stopped = time.monotonic()
            try:
                # sent at once, while a's lease still runs: forwarded to a, refused once the lease lapses
                answer, took = retry(b.url, early)
                assert answer["error"]["data"]["reason"] == "owner_unavailable", answer
                assert took < 12, took
                assert not store.exists(lease)
                answer, took = retry(c.url, late)  # after the lapse: refused at once
                assert answer["error"]["data"]["reason"] == "owner_unavailable", answer
                assert took < 5, took
                for n in range(10):  # a's session, through b and c
                    on(client, (b, c)[n % 2].url)
                    assert client.call_tool("echo__echo", {"message": str(n)})["content"][0]["text"] == str(n)
                _, on_b = listen(b.url, client)  # takes the stream over from a
                on(client, c.url)
                client.call_tool("echo__add_tool", {"name": "while_a_sleeps"})
                wait_until(lambda: list_changes(on_b) == 1, 10, message="b's stream hears the change")
                wait_until(lambda: time.monotonic() - stopped >= 20, 25, message="20 s of SIGSTOP")
            finally:
                a.proc.send_signal(signal.SIGCONT)
            wait_until(lambda: store.exists(lease), 10, message="a renews its lease")
            wait_until(lambda: a.ready()["state"]["healthy"], 10, message="a healthy again")
            # a round of a's, retried through b: a reads its inbox in order, so the stale retry is
            # behind it by now; it was dropped (a ran no call for it: no reply stream was written)
            answer, _ = retry(b.url, ask(a.url, "third"))
            assert "Ada" in answer["result"]["content"][0]["text"], answer
            assert list(store.scan_iter(match="mcpctl:reply:*")) == []
            assert "lease lapsed" in a.output() and "dropped a retry forwarded before" in a.output()
            # a's old stream ended without a word: what b delivered was not delivered twice
            wait_until(lambda: on_a and "ended" in on_a[-1], 10, message="a's old stream ends")
            assert list_changes(on_a) == 0, on_a
            client.call_tool("echo__add_tool", {"name": "after"})
            wait_until(lambda: list_changes(on_b) == 2, 10, message="b's stream goes on")
            on(client, a.url)  # and a serves the session again
            assert client.call_tool("echo__echo", {"message": "back"})["content"][0]["text"] == "back"
            assert list_changes(on_a) == 0
    finally:
        if a.proc.poll() is None:
            a.proc.send_signal(signal.SIGCONT)
        store.close()
        fleet.stop()


def test_the_fleets_trails_read_as_one_and_each_verifies(fleet: Fleet, tmp_path: Path) -> None:
    import json as jsonlib
    import subprocess

    from tests.support.host import base_env, mcpctl_command

    a, b = fleet.hosts[0], fleet.hosts[1]
    with LegacyClient(a.url) as client:
        for n in range(6):
            on(client, (a if n % 2 else b).url)
            client.call_tool("echo__echo", {"message": f"m{n}"})
    shared = tmp_path / "shared-audit"  # what a volume every instance writes its trail to looks like
    shared.mkdir()
    for host in (a, b):
        [trail] = [d for d in (host.home / "logs" / "audit").iterdir() if d.is_dir()]
        (shared / trail.name).symlink_to(trail)

    def logs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            mcpctl_command("logs", *args, "--dir", str(shared)),
            capture_output=True,
            text=True,
            timeout=60,
            env=base_env(tmp_path / "reader"),
            check=False,
        )

    listed = logs("--json", "--tool", "echo__echo")
    records = [jsonlib.loads(line) for line in listed.stdout.splitlines()]
    assert len(records) == 6
    assert [r["ts"] for r in records] == sorted(r["ts"] for r in records)  # one ordered view
    verified = logs("verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.count("audit trail intact") == 2
