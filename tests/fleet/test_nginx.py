"""A real nginx, running exactly what `mcpctl deploy nginx` prints, in front of a fleet of three."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fleet.conftest import Fleet, start_fleet
from tests.support.host import HostProcess, base_env, mcpctl_command
from tests.support.mcp_http import LegacyClient, ModernClient
from tests.support.nginx import Nginx
from tests.support.node import free_port
from tests.support.redis import RedisServer
from tests.support.waiting import wait_until


def deploy_nginx(fleet: Fleet, port: int) -> str:
    """What a user runs: `mcpctl deploy nginx --upstream ... --listen ...` with the fleet's configuration."""
    first = fleet.hosts[0]
    upstreams = [arg for host in fleet.hosts for arg in ("--upstream", host.base_url.removeprefix("http://"))]
    done = subprocess.run(
        mcpctl_command(
            "deploy",
            "nginx",
            "--config",
            str(first.home / "mcpctl.toml"),
            "--listen",
            f"127.0.0.1:{port}",
            *upstreams,
        ),
        env=base_env(first.home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def start_fronted(directory: Path, redis: RedisServer) -> tuple[Fleet, Nginx]:
    fleet = start_fleet(directory, redis)
    nginx = Nginx(directory / "nginx", free_port())
    try:
        nginx.start(deploy_nginx(fleet, nginx.port))
    except BaseException:
        fleet.stop()
        raise
    return fleet, nginx


@pytest.fixture(scope="module")
def fronted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Fleet, Nginx]]:
    """One fleet behind nginx for the tests that leave it as they found it (starting one takes a while)."""
    directory = tmp_path_factory.mktemp("fronted")
    redis = RedisServer(directory / "redis", free_port())
    redis.directory.mkdir()
    redis.start()
    try:
        fleet, nginx = start_fronted(directory, redis)
        try:
            yield fleet, nginx
        finally:
            nginx.stop()
            fleet.stop()
    finally:
        redis.stop()


def calls_served(host: HostProcess, tool: str) -> float:
    """How many calls of `tool` this one instance ran, from its own /metrics."""
    text = httpx.get(host.base_url + "/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "mcp_requests_total" and sample.labels.get("tool") == tool
    )


def test_a_legacy_session_through_nginx_is_spread_over_every_instance(fronted: tuple[Fleet, Nginx]) -> None:
    fleet, nginx = fronted
    before = [calls_served(host, "echo__echo") for host in fleet.hosts]
    with LegacyClient(nginx.url) as client:
        for n in range(60):
            assert client.call_tool("echo__echo", {"message": str(n)})["content"][0]["text"] == str(n)
    served = [calls_served(host, "echo__echo") - b for host, b in zip(fleet.hosts, before, strict=True)]
    assert sum(served) == 60
    assert all(count >= 10 for count in served), served  # round robin: about 20 each


def test_a_get_stream_through_nginx_hears_a_change_made_through_nginx(fronted: tuple[Fleet, Nginx]) -> None:
    _, nginx = fronted
    with LegacyClient(nginx.url) as client:
        seen: list[dict[str, Any]] = []
        opened = threading.Event()

        def listen() -> None:
            headers = {**client.headers(), "accept": "text/event-stream"}
            try:
                with httpx.stream("GET", nginx.url, headers=headers, timeout=30) as stream:
                    assert stream.status_code == 200
                    opened.set()
                    for line in stream.iter_lines():
                        if line.startswith("data: "):
                            seen.append(orjson.loads(line[6:]))
            except httpx.HTTPError:
                return

        threading.Thread(target=listen, daemon=True).start()
        assert opened.wait(10)
        for name in ("first", "second", "third"):  # through nginx: most land on another instance
            text = client.call_tool("echo__add_tool", {"name": name})["content"][0]["text"]
            assert text == f"added {name}"

        def changes() -> int:
            return len([m for m in seen if m.get("method") == "notifications/tools/list_changed"])

        wait_until(lambda: changes() >= 3, 10, message="three list_changed on the GET stream")
        assert changes() == 3


def test_a_2026_07_28_client_works_through_nginx(fronted: tuple[Fleet, Nginx]) -> None:
    fleet, nginx = fronted
    before = [calls_served(host, "echo__echo") for host in fleet.hosts]
    with ModernClient(nginx.url) as client:
        assert "tools" in client.result("server/discover")["capabilities"]
        for n in range(30):
            assert client.call_tool("echo__echo", {"message": f"m{n}"})["content"][0]["text"] == f"m{n}"
    after = [calls_served(host, "echo__echo") for host in fleet.hosts]
    assert all(a > b for a, b in zip(after, before, strict=True))


def test_an_instance_going_away_is_skipped_and_the_session_goes_on(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    fleet, nginx = start_fronted(tmp_path, redis_server)
    try:
        with LegacyClient(nginx.url) as client:
            assert client.call_tool("echo__echo", {"message": "before"})["content"][0]["text"] == "before"
            fleet.hosts[1].stop()
            # a refused connection is retried on the next instance (the POST never reached one)
            for n in range(20):
                assert client.call_tool("echo__echo", {"message": str(n)})["content"][0]["text"] == str(n)
    finally:
        nginx.stop()
        fleet.stop()


def test_http_plus_sse_through_nginx_sticks_to_the_instance_holding_the_stream(
    fronted: tuple[Fleet, Nginx],
) -> None:
    _, nginx = fronted
    with (
        httpx.Client(timeout=10) as http,
        http.stream("GET", nginx.base_url + "/sse", headers={"accept": "text/event-stream"}) as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines) == "event: endpoint"
        post_url = nginx.base_url + next(lines).removeprefix("data: ")
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2024-11-05",
                "capabilities": {},
                "clientInfo": {"name": "old", "version": "1"},
            },
        }
        assert http.post(post_url, json=init).status_code == 202
        for n in range(1, 7):  # round robin would send most of these to instances without the stream
            call = {
                "jsonrpc": "2.0",
                "id": n,
                "method": "tools/call",
                "params": {"name": "echo__echo", "arguments": {"message": f"old{n}"}},
            }
            assert http.post(post_url, json=call).status_code == 202
        answers: dict[int, str] = {}
        for line in lines:
            if line.startswith("data: "):
                message = json.loads(line[6:])
                if message.get("id", 0) > 0:
                    answers[message["id"]] = message["result"]["content"][0]["text"]
                if len(answers) == 6:
                    break
        assert answers == {n: f"old{n}" for n in range(1, 7)}


def test_the_admin_api_is_not_exposed_through_nginx(fronted: tuple[Fleet, Nginx]) -> None:
    fleet, nginx = fronted
    token = fleet.hosts[0].admin_token
    response = httpx.get(nginx.base_url + "/admin/servers", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 404


def slow_child(host: HostProcess) -> psutil.Process:
    children = psutil.Process(host.proc.pid).children(recursive=True)
    return next(child for child in children if any("slow.py" in part for part in child.cmdline()))


def test_a_call_whose_instance_dies_is_not_sent_to_another(tmp_path: Path, redis_server: RedisServer) -> None:
    fleet, nginx = start_fronted(tmp_path, redis_server)
    try:
        children = [slow_child(host) for host in fleet.hosts]
        read_before = [child.io_counters().read_chars for child in children]
        answer: list[httpx.Response | httpx.HTTPError] = []
        with ModernClient(nginx.url) as client:
            body = client.body(
                "tools/call", {"name": "slow__sleep", "arguments": {"seconds": 20, "steps": 1}}
            )

            def call() -> None:
                try:
                    answer.append(client.post(body))
                except httpx.HTTPError as exc:  # the client closed under a call nginx re-sent
                    answer.append(exc)

            thread = threading.Thread(target=call, daemon=True)
            thread.start()

            def executors() -> list[int]:
                return [i for i, c in enumerate(children) if c.io_counters().read_chars > read_before[i]]

            [index] = wait_until(executors, 10, message="a child to read the call")
            fleet.hosts[index].proc.kill()
            thread.join(15)
        assert not thread.is_alive(), "the call was re-sent to another instance"
        [response] = answer
        assert isinstance(response, httpx.Response)
        assert response.status_code == 502  # nginx says the instance went away...
        for other, child in enumerate(children):
            if other != index:  # ...and no other instance's child was asked to run the call again
                assert child.io_counters().read_chars == read_before[other]
    finally:
        nginx.stop()
        fleet.stop()
