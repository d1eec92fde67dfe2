"""A real nginx, running exactly what `mcpctl deploy nginx` prints, in front of a fleet of three."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson
import psutil
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning
from prometheus_client.parser import text_string_to_metric_families

from tests.fleet.conftest import ASKER, ECHO, Fleet, start_fleet
from tests.support.host import HostProcess, base_env, mcpctl_command, start_host, write_config
from tests.support.mcp_http import LegacyClient, ModernClient
from tests.support.nginx import Nginx
from tests.support.node import free_port
from tests.support.redis import RedisServer
from tests.support.sdk import Recorder
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


def start_fronted(directory: Path, redis: RedisServer, config: str = ECHO) -> tuple[Fleet, Nginx]:
    fleet = start_fleet(directory, redis, config=config)
    nginx = Nginx(directory / "nginx", free_port())
    try:
        nginx.start(deploy_nginx(fleet, nginx.port))
    except BaseException:
        fleet.stop()
        raise
    return fleet, nginx


SHARED = ECHO + ASKER  # what the shared fleet serves


@pytest.fixture(scope="module")
def fronted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Fleet, Nginx]]:
    """One fleet behind nginx for the tests that leave it as they found it (starting one takes a while)."""
    directory = tmp_path_factory.mktemp("fronted")
    redis = RedisServer(directory / "redis", free_port())
    redis.directory.mkdir()
    redis.start()
    try:
        fleet, nginx = start_fronted(directory, redis, SHARED)
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


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    """One instance, no fleet, serving what the shared fleet serves: the yardstick."""
    home = tmp_path_factory.mktemp("alone") / "home"
    host = start_host(home, "--config", str(write_config(home, SHARED)))
    yield host
    host.stop()


PROBED = {
    "echo__echo",
    "slow__sleep",
    "slow__log",
    "asker__ask_sampling",
    "asker__ask_elicitation",
    "asker__ask_roots",
}


async def sdk_probe(url: str, mode: str) -> dict[str, Any]:
    """The official Python SDK's client in `mode` against `url`: tools, a call, progress, logging, and
    the server's questions (sampling, elicitation, roots) answered by its callbacks."""
    recorder = Recorder("probe")

    def text(result: Any) -> str:
        return "\n".join(getattr(block, "text", "") for block in result.content)

    async with Client(
        url,
        mode=mode,  # type: ignore[arg-type]
        sampling_callback=recorder.sampling,
        elicitation_callback=recorder.elicitation,
        list_roots_callback=recorder.roots,
        logging_callback=recorder.logging,
        log_level="debug" if mode != "legacy" else None,
    ) as client:
        seen: dict[str, Any] = {"version": client.protocol_version}
        seen["tools"] = {tool.name for tool in (await client.list_tools()).tools} >= PROBED
        seen["echo"] = text(await client.call_tool("echo__echo", {"message": "hi"}))
        sleep = {"seconds": 0.2, "steps": 3}
        seen["sleep"] = text(
            await client.call_tool("slow__sleep", sleep, progress_callback=recorder.on_progress)
        )
        if mode == "legacy":
            with pytest.warns(MCPDeprecationWarning):
                await client.set_logging_level("info")
        seen["log"] = text(
            await client.call_tool("slow__log", {"level": "warning", "message": "disk almost full"})
        )
        seen["sampling"] = text(await client.call_tool("asker__ask_sampling", {"prompt": "q"}))
        seen["elicitation"] = text(await client.call_tool("asker__ask_elicitation", {"message": "who?"}))
        seen["roots"] = text(await client.call_tool("asker__ask_roots", {}))
    seen["progress"] = recorder.progress
    seen["logged"] = [str(entry) for entry in recorder.logs if "disk almost full" in str(entry)]
    seen["asked"] = [len(recorder.sampled), len(recorder.elicited), recorder.roots_asked]
    return seen


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_the_python_sdk_passes_the_same_probe_through_nginx_as_against_one_instance(
    fronted: tuple[Fleet, Nginx], alone: HostProcess, mode: str
) -> None:
    """Its default mode (2026-07-28: a round's retry may land on another instance) and its 2025
    session mode (the session, its log level and the answers to questions cross instances)."""
    nginx = fronted[1]
    yardstick = anyio.run(sdk_probe, alone.url, mode)
    assert yardstick == {
        "version": "2026-07-28" if mode == "auto" else "2025-11-25",
        "tools": True,
        "echo": "hi",
        "sleep": "slept",
        "log": "logged",
        "sampling": "sampled: answer for probe",
        "elicitation": 'elicited: accept {"color": "blue", "name": "probe"}',
        "roots": "roots: file:///work/probe",
        "progress": [1, 2, 3],
        "logged": yardstick["logged"],
        "asked": [1, 1, 1],
    }
    assert len(yardstick["logged"]) == 1
    fleet = fronted[0]

    def probed_calls() -> list[float]:
        return [sum(calls_served(host, tool) for tool in PROBED) for host in fleet.hosts]

    before = probed_calls()
    for _ in range(3):  # round robin: each time the requests fall on the instances differently
        assert anyio.run(sdk_probe, nginx.url, mode) == yardstick
    served = [after - b for after, b in zip(probed_calls(), before, strict=True)]
    assert len([count for count in served if count]) >= 2, served  # it really crossed instances
