"""A 2025-era remote's calls wait for its GET stream to open, so no answer races the stream."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from tests.cli.conftest import Mcpctl
from tests.support.asgi import read_body
from tests.support.waiting import wait_until

SESSION = "s-1"
GET_DELAY = 0.5  # seconds the server takes to open its GET stream


class SlowStreamServer:
    """A 2025-11-25 server over Streamable HTTP that opens its GET stream slowly and notes, in
    order, when that stream opened and when each request arrived."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            await asyncio.sleep(GET_DELAY)
            self.events.append("GET stream open")
            headers = [(b"content-type", b"text/event-stream"), (b"mcp-session-id", SESSION.encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b": open\n\n", "more_body": True})
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        msg = json.loads(await read_body(receive))
        self.events.append(msg["method"])
        if "id" not in msg:
            await send({"type": "http.response.start", "status": 202, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        result: dict[str, Any] = {"content": [{"type": "text", "text": "done"}]}
        if msg["method"] == "initialize":
            result = {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "slow-stream", "version": "1"},
            }
        elif msg["method"] == "tools/list":
            result = {"tools": [{"name": "work", "inputSchema": {"type": "object"}}]}
        answer = json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}).encode()
        headers = [(b"content-type", b"application/json"), (b"mcp-session-id", SESSION.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


@pytest.fixture
def slow_stream() -> Iterator[tuple[SlowStreamServer, str]]:
    app = SlowStreamServer()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 10, message="the test server to start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield app, f"http://127.0.0.1:{port}/mcp"
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_call_is_sent_once_the_get_stream_is_open(mcpctl: Mcpctl, slow_stream: tuple[Any, str]) -> None:
    app, url = slow_stream
    done = mcpctl("call", "--url", url, "work", "--timeout", "10")
    assert (done.returncode, done.stdout) == (0, "done\n"), done.stderr
    calls = [event for event in app.events if event in ("tools/list", "tools/call")]
    assert calls, app.events
    opened = app.events.index("GET stream open")
    assert all(app.events.index(call) > opened for call in calls), app.events
