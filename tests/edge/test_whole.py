"""Whole responses: the same bytes uvicorn's ASGI path writes, in one write, with its bookkeeping."""

from __future__ import annotations

import re
from typing import Any

import pytest
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from mcpctl.edge.asgi import send_bytes
from tests.edge.support import Recorder, answered, connect, request

pytestmark = pytest.mark.anyio
BODY = b'{"jsonrpc":"2.0","id":1,"result":{}}'


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def served(*requests: bytes, whole: bool) -> Recorder:
    """Feed `requests` to mcpctl's protocol, one at a time, answered by send_bytes: past uvicorn's
    per-message handling when `whole`, through it otherwise (an empty header list takes ASGI)."""

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
async def test_a_whole_response_is_what_uvicorn_writes_in_one_write(
    requests: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    messages: list[str] = []  # what went through uvicorn's own send
    asgi_send = RequestResponseCycle.send

    async def counted(self: RequestResponseCycle, message: Any) -> None:
        messages.append(message["type"])
        await asgi_send(self, message)

    monkeypatch.setattr(RequestResponseCycle, "send", counted)
    fast = await served(*requests, whole=True)
    assert messages == []  # past uvicorn's send
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
