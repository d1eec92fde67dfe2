"""Kept-alive connections: closed once idle past uvicorn's keep-alive timeout, by the deadline sweep."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mcpctl.edge.asgi import send_bytes
from mcpctl.edge.server import ProtocolLimits
from tests.edge.support import answered, closed_within, connect, request

pytestmark = pytest.mark.anyio
KEEP_ALIVE = 1  # seconds (uvicorn's timeout_keep_alive)
LIMITS = ProtocolLimits(header_timeout=0.4, body_timeout=0.4)  # the sweep looks every 0.1 s


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send_bytes(send, 200, b"{}")


async def test_no_timer_is_armed_per_answer_and_an_idle_connection_is_closed_after_the_timeout() -> None:
    loop = asyncio.get_running_loop()
    protocol, socket = connect(app, LIMITS, timeout_keep_alive=KEEP_ALIVE)
    try:
        await answered(protocol, socket, request())
        answered_at = loop.time()
        assert protocol.timeout_keep_alive_task is None  # uvicorn would have armed one here
        assert not socket.closed
        await closed_within(socket, KEEP_ALIVE + 3)
        assert loop.time() - answered_at >= KEEP_ALIVE
    finally:
        protocol.connection_lost(None)


async def test_a_new_request_within_the_timeout_keeps_the_connection_open() -> None:
    loop = asyncio.get_running_loop()
    protocol, socket = connect(app, LIMITS, timeout_keep_alive=KEEP_ALIVE)
    try:
        await answered(protocol, socket, request())
        first = loop.time()
        await asyncio.sleep(KEEP_ALIVE * 0.6)  # the client's pause between two requests
        await answered(protocol, socket, request())
        second = loop.time()
        await closed_within(socket, KEEP_ALIVE + 3)
        assert loop.time() - second >= KEEP_ALIVE  # the deadline moved with the second answer
        assert loop.time() - first >= KEEP_ALIVE * 1.6
        assert len(socket.writes) == 2
    finally:
        protocol.connection_lost(None)
