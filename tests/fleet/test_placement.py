"""placement = "one": a server that keeps state in its process runs on one instance; the others forward."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import redis

from mcpctl.fleet.placement import OWN_MS
from mcpctl.protocol import codes
from mcpctl.protocol.headers import standard_headers
from tests.fleet.conftest import start_fleet
from tests.support.host import HostProcess, admin, base_env, mcpctl_command, server_status
from tests.support.mcp_http import ACCEPT, LegacyClient, ModernClient
from tests.support.redis import RedisServer
from tests.support.waiting import wait_until

MEMORY = """
[servers.mem]
command = "{python}"
args = ["{fixtures}/memory.py"]
placement = "one"

[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]
"""


def memory_children(hosts: list[HostProcess], script: str = "memory.py") -> list[tuple[HostProcess, int]]:
    """Every running child of `script` (memory.py) in the fleet, with the instance that started it."""
    found = []
    for host in hosts:
        if host.proc.poll() is not None:
            continue
        for child in psutil.Process(host.proc.pid).children(recursive=True):
            try:
                if child.status() != psutil.STATUS_ZOMBIE and any(
                    a.endswith(script) for a in child.cmdline()
                ):
                    found.append((host, child.pid))
            except psutil.Error:
                continue
    return found


def text_of_resource(result: dict[str, Any]) -> str:
    return str(result["contents"][0]["text"])


def instance(host: HostProcess) -> str:
    state = host.ready()["state"]
    assert isinstance(state, dict)
    return str(state["instance"])


def text(result: dict[str, object]) -> str:
    content = result["content"]
    assert isinstance(content, list)
    return str(content[0]["text"])


def test_one_child_for_the_fleet_reached_from_every_instance(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    fleet = start_fleet(tmp_path, redis_server, config=MEMORY)
    try:
        [(owner, pid)] = memory_children(fleet.hosts)
        others = [host for host in fleet.hosts if host is not owner]
        with ModernClient(others[0].url) as first:
            assert text(first.call_tool("mem__put", {"key": "k", "value": "remembered"})) == "stored k"
            assert text(first.call_tool("mem__pid", {})) == str(pid)  # the one child answered
        with LegacyClient(others[1].url) as second:  # a 2025-era session on another instance
            assert text(second.call_tool("mem__get", {"key": "k"})) == "remembered"
            assert (
                text(second.call_tool("echo__echo", {"message": "local"})) == "local"
            )  # the rest stays local
            listed = {t["name"] for t in second.result("tools/list")["tools"]}
            assert {"mem__put", "mem__get", "echo__echo"} <= listed
        with ModernClient(owner.url) as there:
            assert text(there.call_tool("mem__get", {"key": "k"})) == "remembered"
        # progress and the answer come back through the instance the client talks to
        with ModernClient(others[0].url) as watcher:
            seen = watcher.request(
                "tools/call",
                {"name": "mem__steps", "arguments": {"count": 3}, "_meta": {"progressToken": "p"}},
            )
            assert [m["params"]["progress"] for m in seen if m.get("method") == "notifications/progress"] == [
                1,
                2,
                3,
            ]
            assert all(m["params"]["progressToken"] == "p" for m in seen if "method" in m)
            assert text(seen[-1]["result"]) == "3 steps"
        # a client that goes away from a forwarded call cancels it where it runs
        with ModernClient(others[1].url) as holder:
            hold = holder.body(
                "tools/call", {"name": "mem__hold", "arguments": {"key": "h"}, "_meta": {"progressToken": 1}}
            )
        with httpx.stream(
            "POST", others[1].url, json=hold, headers={"accept": ACCEPT, **standard_headers(hold)}, timeout=30
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and "notifications/progress" in line:
                    break  # it runs there: hang up
        with ModernClient(owner.url) as checker:
            wait_until(lambda: text(checker.call_tool("mem__get", {"key": "h"})) == "cancelled", 15)
        # ... and a 2025-era client's notifications/cancelled, sent to yet another instance, too
        with LegacyClient(others[0].url) as legacy:
            body = {
                "jsonrpc": "2.0",
                "id": 41,
                "method": "tools/call",
                "params": {"name": "mem__hold", "arguments": {"key": "h2"}},
            }
            calling = threading.Thread(target=legacy.post, args=(body,), daemon=True)
            calling.start()
            with ModernClient(owner.url) as checker:
                wait_until(lambda: text(checker.call_tool("mem__get", {"key": "h2"})) == "held", 15)
                legacy.url = others[1].url
                assert legacy.notify("notifications/cancelled", {"requestId": 41}).status_code == 202
                wait_until(lambda: text(checker.call_tool("mem__get", {"key": "h2"})) == "cancelled", 15)
            calling.join(15)
            assert not calling.is_alive()  # its client got an answer at once
            legacy.url = others[0].url
        # a list change on the owner reaches the others' catalogs
        with ModernClient(others[1].url) as changer:
            assert text(changer.call_tool("mem__add_tool", {"name": "fresh"})) == "added fresh"

            def listed_everywhere() -> bool:
                for host in fleet.hosts:
                    with ModernClient(host.url) as lister:
                        if "mem__fresh" not in {t["name"] for t in lister.result("tools/list")["tools"]}:
                            return False
                return True

            wait_until(listed_everywhere, 10, message="the new tool listed on every instance")
            assert text(changer.call_tool("mem__fresh", {})) == "fresh"
        # a subscription through an instance that does not run it reaches the child; its updates
        # reach the session's GET stream (held on yet another instance)
        with LegacyClient(others[0].url) as watcher:
            seen: list[dict[str, Any]] = []
            opened = threading.Event()

            def listen() -> None:
                headers = {**watcher.headers(), "accept": "text/event-stream"}
                try:
                    with httpx.stream("GET", owner.url, headers=headers, timeout=30) as stream:
                        opened.set()
                        for line in stream.iter_lines():
                            if line.startswith("data: "):
                                seen.append(orjson.loads(line[6:]))
                except httpx.HTTPError:
                    return

            threading.Thread(target=listen, daemon=True).start()
            assert opened.wait(10)
            assert watcher.result("resources/subscribe", {"uri": "memory://notes"}) == {}
            with ModernClient(others[1].url) as toucher:

                def updated() -> bool:
                    toucher.call_tool("mem__touch", {})
                    return any(m.get("method") == "notifications/resources/updated" for m in seen)

                wait_until(updated, 15, message="resources/updated on the GET stream")
            assert json.loads(text_of_resource(watcher.result("resources/read", {"uri": "memory://notes"})))[
                "k"
            ] == ("remembered")
        # still one child; every other instance says where it runs
        assert [p for _, p in memory_children(fleet.hosts)] == [pid]
        for host in others:
            status = server_status(host, "mem")
            assert status["runsOn"] == instance(owner)
            assert status["state"] == "ready" and status["pid"] is None
        assert server_status(owner, "mem")["runsOn"] is None
        shown = subprocess.run(
            mcpctl_command("servers"),
            env=base_env(others[0].home),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert f"runs on instance {instance(owner)}" in shown.stdout, shown.stdout + shown.stderr
        # Redis comes back empty: the instance that runs the child takes its lease back first, so
        # what the child remembers stays
        fleet.redis.restart()
        store = redis.Redis.from_url(fleet.redis.url)
        try:
            wait_until(
                lambda: store.get("mcpctl:own:mem") == instance(owner).encode(), 15, message="lease back"
            )
        finally:
            store.close()
        assert [p for _, p in memory_children(fleet.hosts)] == [pid]
        with ModernClient(others[0].url) as after:
            wait_until(
                lambda: (
                    "result"
                    in after.request("tools/call", {"name": "mem__get", "arguments": {"key": "k"}})[-1]
                ),
                15,
            )
            assert text(after.call_tool("mem__get", {"key": "k"})) == "remembered"
        # `mcpctl servers restart` on an instance that does not run it restarts it where it runs
        assert admin(others[1], "/servers/mem/restart", "POST") == {"restarting": "mem"}
        wait_until(lambda: [p for _, p in memory_children(fleet.hosts)] not in ([], [pid]), 15)
        [(still_owner, _)] = memory_children(fleet.hosts)
        assert still_owner is owner
    finally:
        fleet.stop()


def test_when_the_owner_dies_another_instance_takes_the_server_over(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    fleet = start_fleet(tmp_path, redis_server, config=MEMORY)
    try:
        [(owner, pid)] = memory_children(fleet.hosts)
        others = [host for host in fleet.hosts if host is not owner]
        with ModernClient(others[0].url) as client:
            client.call_tool("mem__put", {"key": "k", "value": "v"})
        owner.proc.send_signal(signal.SIGKILL)
        owner.proc.wait(10)
        killed = time.monotonic()
        psutil.wait_procs([psutil.Process(pid)] if psutil.pid_exists(pid) else [], timeout=10)
        # a call meanwhile is answered (by the new owner) or refused with the reason, never left hanging
        with ModernClient(others[1].url) as client:
            answer = client.request("tools/call", {"name": "mem__pid", "arguments": {}})[-1]
        assert time.monotonic() - killed < 15
        if "error" in answer:
            assert answer["error"]["code"] == codes.BACKEND_UNAVAILABLE, answer
        wait_until(
            lambda: len(memory_children(others)) == 1, OWN_MS / 1000 + 10, message="a new owner's child"
        )
        moved = time.monotonic() - killed
        assert moved < OWN_MS / 1000 + 10
        [(new_owner, new_pid)] = memory_children(others)
        follower = next(host for host in others if host is not new_owner)
        wait_until(lambda: server_status(follower, "mem")["runsOn"] == instance(new_owner), 10)
        with ModernClient(follower.url) as client:
            wait_until(
                lambda: "result" in client.request("tools/call", {"name": "mem__pid", "arguments": {}})[-1],
                15,
            )
            assert text(client.call_tool("mem__pid", {})) == str(new_pid)
            lost = client.request("tools/call", {"name": "mem__get", "arguments": {"key": "k"}})[-1]
            assert lost["result"]["isError"] is True  # a new process: what the old one remembered is gone
            client.call_tool("mem__put", {"key": "k", "value": "again"})
        with LegacyClient(new_owner.url) as client:
            assert text(client.call_tool("mem__get", {"key": "k"})) == "again"
        assert len(memory_children(others)) == 1
        # a clean stop gives the server up at once (the lease would otherwise hold for OWN_MS)
        gone = instance(new_owner)
        new_owner.stop()
        store = redis.Redis.from_url(fleet.redis.url)
        try:
            held = store.get("mcpctl:own:mem")
        finally:
            store.close()
        assert held != gone.encode()
        assert held in (None, instance(follower).encode())
        wait_until(
            lambda: len(memory_children([follower])) == 1, OWN_MS / 1000 + 10, message="the last one's child"
        )
    finally:
        fleet.stop()


def test_alone_placement_is_ignored(tmp_path: Path) -> None:
    from tests.support.host import start_host, write_config

    home = tmp_path / "alone"
    host = start_host(home, "--config", str(write_config(home, MEMORY)))
    try:
        assert len(memory_children([host])) == 1
        with ModernClient(host.url) as client:
            client.call_tool("mem__put", {"key": "k", "value": "v"})
            assert text(client.call_tool("mem__get", {"key": "k"})) == "v"
        assert server_status(host, "mem")["runsOn"] is None
    finally:
        host.stop()


ASKER = """
[servers.asker]
command = "{python}"
args = ["{fixtures}/asker.py", "--era", "legacy"]
placement = "one"
"""


def test_questions_during_a_forwarded_call(tmp_path: Path, redis_server: RedisServer) -> None:
    fleet = start_fleet(tmp_path, redis_server, config=ASKER)
    try:
        [(owner, _)] = memory_children(fleet.hosts, "asker.py")
        first, second = [host for host in fleet.hosts if host is not owner]
        # a 2026-07-28 client: a round of input, and its retry through yet another instance
        caps = {"elicitation": {}}
        params = {"name": "asker__ask_elicitation", "arguments": {"message": "who?"}}
        with ModernClient(first.url, capabilities=caps) as client:
            asked = client.request("tools/call", params)[-1]["result"]
        assert asked["resultType"] == "input_required"
        [key] = asked["inputRequests"]
        answers = {key: {"action": "accept", "content": {"name": "Ada"}}}
        with ModernClient(second.url, capabilities=caps) as client:
            done = client.request(
                "tools/call", {**params, "inputResponses": answers, "requestState": asked["requestState"]}
            )[-1]
        assert "Ada" in text(done["result"])
        # a 2025-era session stays where it is: the server's question is refused over there, at once
        with LegacyClient(first.url, capabilities={"sampling": {}}) as legacy:
            started = time.monotonic()
            seen = legacy.request(
                "tools/call", {"name": "asker__ask_sampling", "arguments": {"prompt": "hi"}}
            )
            assert time.monotonic() - started < 10
        assert not [m for m in seen if m.get("method") == "sampling/createMessage"]
        final = seen[-1]
        assert "error" in final or final["result"].get("isError") is True, final
    finally:
        fleet.stop()


BROKEN = """
[servers.broken]
command = "{python}"
args = ["{fixtures}/crashing.py", "--crash-at-start"]
placement = "one"
required = false
restart = { initial_backoff = "100ms", max_failures = 2 }

[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]
"""


def test_the_other_instances_say_how_the_server_is_where_it_runs(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    fleet = start_fleet(tmp_path, redis_server, count=2, config=BROKEN)
    try:

        def runs_on(host: HostProcess) -> object:
            return server_status(host, "broken")["runsOn"]

        wait_until(lambda: any(runs_on(host) for host in fleet.hosts), 20, message="a holder named")
        follower = next(host for host in fleet.hosts if runs_on(host))
        holder = next(host for host in fleet.hosts if host is not follower)
        assert runs_on(follower) == instance(holder)
        wait_until(
            lambda: server_status(follower, "broken")["state"] == "crash-loop", 20, message="crash-loop"
        )
        assert server_status(holder, "broken")["state"] == "crash-loop"
        with ModernClient(follower.url) as client:  # its tools went away everywhere, as they would alone
            assert text(client.call_tool("echo__echo", {"message": "fine"})) == "fine"
            names = {t["name"] for t in client.result("tools/list")["tools"]}
            assert not [n for n in names if n.startswith("broken__")]
    finally:
        fleet.stop()
