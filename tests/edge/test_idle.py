"""Kept-alive connections: closed once idle past the keep-alive timeout, by the deadline sweep."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mcpctl.edge.asgi import send_bytes
from mcpctl.edge.server import EdgeProtocol, ProtocolLimits
from tests.edge.support import Recorder, answered, closed_within, connect, request

pytestmark = pytest.mark.anyio
KEEP_ALIVE = 1  # seconds (uvicorn's Config.timeout_keep_alive)
LIMITS = ProtocolLimits(header_timeout=0.4, body_timeout=0.4)  # the sweep looks every 0.1 s


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send_bytes(send, 200, b"{}")


@pytest.fixture
async def kept_alive() -> AsyncIterator[tuple[EdgeProtocol, Recorder]]:
    """A connection through mcpctl's protocol with a keep-alive timeout of KEEP_ALIVE."""
    protocol, socket = connect(app, LIMITS, timeout_keep_alive=KEEP_ALIVE)
    yield protocol, socket
    protocol.connection_lost(None)


async def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(
    kept_alive: tuple[EdgeProtocol, Recorder],
) -> None:
    loop = asyncio.get_running_loop()
    protocol, socket = kept_alive
    await answered(protocol, socket, request())
    answered_at = loop.time()
    assert not socket.closed
    await closed_within(socket, KEEP_ALIVE + 3)
    assert loop.time() - answered_at >= KEEP_ALIVE


async def test_a_new_request_within_the_timeout_keeps_the_connection_open(
    kept_alive: tuple[EdgeProtocol, Recorder],
) -> None:
    loop = asyncio.get_running_loop()
    protocol, socket = kept_alive
    await answered(protocol, socket, request())
    first = loop.time()
    await asyncio.sleep(KEEP_ALIVE * 0.6)  # the client's pause between two requests
    await answered(protocol, socket, request())
    second = loop.time()
    await closed_within(socket, KEEP_ALIVE + 3)
    assert loop.time() - second >= KEEP_ALIVE  # the deadline moved with the second answer
    assert loop.time() - first >= KEEP_ALIVE * 1.6
    assert len(socket.writes) == 2
