"""mcpctl's HTTP/1.1 protocol against uvicorn's: the same requests get the same bytes back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from tests.edge.support import DATE, Recorder, connect
from tests.support.asgi import read_body

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """Answers with what it saw: the scope's request fields and the body, read through receive."""
    body = await read_body(receive)
    seen = {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "version": scope["http_version"],
        "headers": [[n.decode(), v.decode()] for n, v in scope["headers"]],
        "client": list(scope["client"]),
        "body": body.decode(),
    }
    answer = json.dumps(seen).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


async def stream(scope: Any, receive: Any, send: Any) -> None:
    """A response without a length: chunked, in three events and an end."""
    await receive()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
    )
    for n in range(3):
        await send({"type": "http.response.body", "body": b"data: %d\n\n" % n, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def fails(scope: Any, receive: Any, send: Any) -> None:
    raise ValueError("boom")


async def silent(scope: Any, receive: Any, send: Any) -> None:
    await receive()


async def injects(scope: Any, receive: Any, send: Any) -> None:
    """A header value that would split the head: refused, and the connection closed."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1\r\nx-b: 2")]})


async def no_body_status(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def post(body: bytes = b"{}", path: bytes = b"/mcp", extra: bytes = b"", version: bytes = b"1.1") -> bytes:
    head = b"POST %s HTTP/%s\r\nhost: 127.0.0.1\r\ncontent-length: %d\r\n" % (path, version, len(body))
    return head + extra + b"\r\n" + body


CHUNKED = (
    b"POST /mcp HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
)
CONTINUE_HEAD = b"POST /mcp HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n"
SCENARIOS: dict[str, tuple[Callable[..., Any], list[bytes]]] = {
    "one POST": (echo, [post()]),
    "two kept alive": (echo, [post(b"[1]"), post(b"[2]")]),
    "two pipelined in one read": (echo, [post(b"[1]") + post(b"[2]")]),
    "a body in pieces": (echo, [post(b"0123456789")[:-6], b"4567", b"89"]),
    "a chunked body": (echo, [CHUNKED]),
    "query and percent-escapes": (echo, [post(path=b"/m%20cp?a=1&b=%2F")]),
    "an absolute URL": (echo, [post(path=b"http://127.0.0.1/mcp?x")]),
    "a byte past ASCII in the query": (echo, [post(path=b"/mcp?x=\xff")]),
    "a byte past ASCII in the path": (echo, [post(path=b"/m\xffcp")]),
    "connection close": (echo, [post(extra=b"connection: close\r\n"), post()]),
    "HTTP/1.0": (echo, [post(version=b"1.0")]),
    "HTTP/1.0 kept alive": (echo, [post(version=b"1.0", extra=b"connection: keep-alive\r\n")]),
    "HEAD": (echo, [b"HEAD /mcp HTTP/1.1\r\nhost: x\r\n\r\n"]),
    "trailing spaces in a header": (echo, [post(extra=b"x-pad: v \t\r\n")]),
    "expect 100-continue": (echo, [CONTINUE_HEAD, b"hello"]),
    "a stream": (stream, [post()]),
    "a stream to HEAD": (stream, [b"HEAD /mcp HTTP/1.1\r\nhost: x\r\n\r\n"]),
    "the app fails": (fails, [post(), post()]),
    "the app answers nothing": (silent, [post()]),
    "a header that would split the head": (injects, [post()]),
    "204": (no_body_status, [post(), post()]),
    "not HTTP": (echo, [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"]),
    "a bad header": (echo, [b"POST /mcp HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n"]),
}


async def settle() -> None:
    for _ in range(50):  # the request's task runs, and what it wrote leaves at the end of a turn
        await asyncio.sleep(0)


async def served_by(protocol: Any, socket: Recorder, feeds: list[bytes]) -> tuple[bytes, bool]:
    for data in feeds:
        if socket.closed:
            break
        protocol.data_received(data)
        await settle()
    protocol.connection_lost(None)
    await settle()
    return b"".join(socket.writes), socket.closed


async def uvicorns(app: Any, feeds: list[bytes]) -> tuple[bytes, bool]:
    config = Config(app, lifespan="off", log_config=None, access_log=False, server_header=False, ws="none")
    config.load()
    state = ServerState()
    state.default_headers = [DATE]
    protocol = HttpToolsProtocol(config=config, server_state=state, app_state={})
    socket = Recorder()
    protocol.connection_made(socket)
    return await served_by(protocol, socket, feeds)


async def ours(app: Any, feeds: list[bytes]) -> tuple[bytes, bool]:
    protocol, socket = connect(app)
    return await served_by(protocol, socket, feeds)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_the_same_bytes_as_uvicorns_protocol(scenario: str) -> None:
    app, feeds = SCENARIOS[scenario]
    expected, expected_closed = await uvicorns(app, feeds)
    written, closed = await ours(app, feeds)
    assert expected or expected_closed  # the scenario is answered, refused, or cut off
    assert written == expected
    assert closed == expected_closed


async def test_pipelined_requests_are_answered_in_order() -> None:
    written, closed = await ours(echo, [post(b"[1]") + post(b"[2]") + post(b"[3]")])
    bodies = [
        json.loads(part.partition(b"\r\n\r\n")[2] or b"{}") for part in written.split(b"HTTP/1.1 200")[1:]
    ]
    assert [body["body"] for body in bodies] == ["[1]", "[2]", "[3]"]
    assert closed  # (by connection_lost)


async def test_a_client_that_leaves_is_seen_by_a_waiting_receive() -> None:
    seen: list[str] = []

    async def waits(scope: Any, receive: Any, send: Any) -> None:
        seen.append((await receive())["type"])  # the body
        seen.append((await receive())["type"])  # waits: the next thing is the client leaving

    protocol, _ = connect(waits)
    protocol.data_received(post())
    await settle()
    assert seen == ["http.request"]
    protocol.connection_lost(None)
    await settle()
    assert seen == ["http.request", "http.disconnect"]


async def test_shutdown_closes_an_idle_connection_and_lets_a_busy_one_finish() -> None:
    gate = asyncio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"{}"})

    idle, idle_socket = connect(slow)
    idle.shutdown()
    assert idle_socket.closed
    busy, busy_socket = connect(slow)
    busy.data_received(post())
    await settle()
    busy.shutdown()
    assert not busy_socket.closed
    assert len(busy.server_state.tasks) == 1  # what uvicorn's drain waits for
    gate.set()
    await settle()
    assert busy.server_state.tasks == set()
    answer = b"".join(busy_socket.writes)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nconnection: close\r\n" in answer
    assert busy_socket.closed
    for protocol in (idle, busy):
        protocol.connection_lost(None)


async def test_a_full_socket_buffer_holds_the_stream_until_it_drains() -> None:
    protocol, socket = connect(stream)
    protocol.pause_writing()
    protocol.data_received(post())
    await settle()
    assert socket.writes == []  # the app waits in send
    protocol.resume_writing()
    await settle()
    assert b"".join(socket.writes).endswith(b"0\r\n\r\n")
    protocol.connection_lost(None)


def answers(socket: Recorder) -> int:
    return b"".join(socket.writes).count(b"HTTP/1.1 200 OK\r\n")


async def test_a_kept_alive_connections_requests_share_one_task_that_the_drain_waits_for_while_busy() -> None:
    ran_in: list[asyncio.Task[Any] | None] = []

    async def records(scope: Any, receive: Any, send: Any) -> None:
        ran_in.append(asyncio.current_task())
        await echo(scope, receive, send)

    protocol, socket = connect(records)
    for _ in range(3):
        protocol.data_received(post())
        await settle()
        assert protocol.server_state.tasks == set()  # answered: an idle connection holds up no drain
    assert answers(socket) == 3
    assert len(set(ran_in)) == 1
    worker = ran_in[0]
    assert worker is not None and not worker.done()  # waiting for the connection's next request
    protocol.connection_lost(None)
    await settle()
    assert worker.done() and not worker.cancelled()


async def test_a_request_that_comes_while_the_one_before_is_still_finishing_is_served_beside_it() -> None:
    gate = asyncio.Event()
    ran_in: list[asyncio.Task[Any] | None] = []

    async def lingers(scope: Any, receive: Any, send: Any) -> None:
        ran_in.append(asyncio.current_task())
        await echo(scope, receive, send)
        if len(ran_in) == 1:
            await gate.wait()  # answered, but the app has not returned yet

    protocol, socket = connect(lingers)
    protocol.data_received(post())
    await settle()
    protocol.data_received(post())
    await settle()
    assert answers(socket) == 2  # the second did not wait for the first to return
    assert len(set(ran_in)) == 2
    assert len(protocol.server_state.tasks) == 1  # the first, still running: the drain waits for it
    gate.set()
    await settle()
    assert protocol.server_state.tasks == set()
    protocol.data_received(post())  # and the connection's worker takes the next one again
    await settle()
    assert answers(socket) == 3 and ran_in[2] is ran_in[0]
    protocol.connection_lost(None)
    await settle()
    assert all(task is not None and task.done() for task in ran_in)
