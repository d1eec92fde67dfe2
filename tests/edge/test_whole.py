"""Whole bodies and whole responses in one step: the same bytes and bookkeeping as the ASGI path."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from mcpctl.edge.asgi import BodyTooLarge, Request, send_bytes
from mcpctl.edge.cycle import Cycle
from tests.edge.support import Recorder, answered, connect, request

pytestmark = pytest.mark.anyio
BODY = b'{"jsonrpc":"2.0","id":1,"result":{}}'


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def served(*requests: bytes, whole: bool) -> Recorder:
    """Feed `requests` to mcpctl's protocol, one at a time, answered by send_bytes: in one step
    when `whole`, through ASGI messages otherwise (an empty header list takes ASGI)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send_bytes(send, 200, BODY, headers=None if whole else [])

    protocol, socket = connect(app)
    for raw in requests:
        await answered(protocol, socket, raw)
    protocol.connection_lost(None)
    return socket


@pytest.mark.parametrize(
    "requests",
    [
        pytest.param([request()], id="one POST"),
        pytest.param([request(), request()], id="two on one kept-alive connection"),
        pytest.param([request(extra=b"connection: close\r\n")], id="connection close"),
        pytest.param([request("HEAD")], id="HEAD"),
    ],
)
async def test_a_whole_response_is_what_asgi_writes_in_one_write(
    requests: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    messages: list[str] = []  # what went through ASGI's send
    asgi_send = Cycle.send

    async def counted(self: Cycle, message: Any) -> None:
        messages.append(message["type"])
        await asgi_send(self, message)

    monkeypatch.setattr(Cycle, "send", counted)
    fast = await served(*requests, whole=True)
    assert messages == []  # past ASGI's send
    slow = await served(*requests, whole=False)
    assert messages == ["http.response.start", "http.response.body"] * len(requests)
    assert fast.writes == slow.writes  # the same bytes, and the same number of writes (the cork)
    assert fast.closed == slow.closed
    assert len(fast.writes) == len(requests)  # one write per response: head and body together
    for written in fast.writes:
        head, _, body = written.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\ndate: Thu, 03 Dec 2026 09:00:00 GMT\r\n")
        assert re.search(rb"\r\ncontent-length: %d(\r\n|$)" % len(BODY), head)
        assert body == (b"" if requests[0].startswith(b"HEAD") else BODY)


async def test_connection_close_is_said_and_done() -> None:
    fast = await served(request(extra=b"connection: close\r\n"), whole=True)
    assert b"\r\nconnection: close\r\n" in fast.writes[0]
    assert fast.closed


async def echo_body(protocol_feeds: list[bytes], monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, int]:
    """What an app reading the body with Request.body echoes back, and how often it used `receive`."""
    received = 0
    asgi_receive = Cycle.receive

    async def counted(self: Cycle) -> Any:
        nonlocal received
        received += 1
        return await asgi_receive(self)

    monkeypatch.setattr(Cycle, "receive", counted)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send_bytes(send, 200, await Request(scope, receive).body(1024))

    protocol, socket = connect(app)
    for chunk in protocol_feeds[:-1]:
        protocol.data_received(chunk)
        for _ in range(5):  # the app's task runs, and waits for the rest
            await asyncio.sleep(0)
    await answered(protocol, socket, protocol_feeds[-1])
    protocol.connection_lost(None)
    return socket.writes[-1].partition(b"\r\n\r\n")[2], received


async def test_a_body_that_arrived_whole_is_read_past_receive(monkeypatch: pytest.MonkeyPatch) -> None:
    body = b'{"jsonrpc":"2.0","id":7,"method":"ping"}'
    raw = b"POST /mcp HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % len(body) + body
    assert await echo_body([raw], monkeypatch) == (body, 0)


async def test_a_body_still_arriving_is_read_through_receive(monkeypatch: pytest.MonkeyPatch) -> None:
    body = b'{"jsonrpc":"2.0","id":7,"method":"ping"}'
    head = b"POST /mcp HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % len(body)
    echoed, received = await echo_body([head + body[:10], body[10:]], monkeypatch)
    assert echoed == body
    assert received >= 1


async def test_a_whole_body_over_the_limit_is_refused() -> None:
    caught: list[BaseException] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await Request(scope, receive).body(10)
        except BodyTooLarge as exc:
            caught.append(exc)
        await send_bytes(send, 413, b"")

    protocol, socket = connect(app)
    body = b"x" * 11
    # no content-length to refuse it early: chunked, so only the body's own size can
    head = b"POST /mcp HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
    raw = head + b"b\r\n" + body + b"\r\n0\r\n\r\n"
    await answered(protocol, socket, raw)
    protocol.connection_lost(None)
    assert len(caught) == 1
