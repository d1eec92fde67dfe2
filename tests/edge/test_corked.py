"""CorkedTransport: writes made in one loop turn leave in one write, in order, before a close."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mcpctl.edge.server import CorkedTransport

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    """A transport that records what reaches it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


async def next_turn() -> None:
    await asyncio.sleep(0)


async def test_writes_within_one_turn_leave_as_one() -> None:
    real = Recorder()
    corked = CorkedTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"HTTP/1.1 200 OK\r\n\r\n")
    corked.write(b"{}")
    assert real.writes == []
    await next_turn()
    assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    corked.write(b"data: 1\n\n")
    await next_turn()
    assert real.writes[1:] == [b"data: 1\n\n"]


async def test_a_close_sends_what_is_held_first_and_nothing_after() -> None:
    real = Recorder()
    corked = CorkedTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"answer")
    corked.close()
    assert real.writes == [b"answer"] and real.closed
    corked.write(b"late")
    await next_turn()
    assert real.writes == [b"answer"]


async def test_everything_else_is_the_transports() -> None:
    real = Recorder()
    corked = CorkedTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    assert corked.get_extra_info("peername") == ("127.0.0.1", 1)
    assert corked.is_closing() is False


async def test_a_real_connections_transport_methods_reach_it() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    transport, _ = await loop.create_connection(asyncio.Protocol, *server.sockets[0].getsockname()[:2])
    try:
        corked = CorkedTransport(transport, loop)  # type: ignore[arg-type]
        assert corked.get_extra_info("peername") == transport.get_extra_info("peername")
        corked.pause_reading()
        assert corked.is_reading() is False and transport.is_reading() is False
        corked.resume_reading()
        assert corked.is_reading() is True
        assert corked.get_write_buffer_size() == 0
        corked.write(b"held")
        corked.close()
        assert transport.is_closing() and corked.is_closing()
    finally:
        transport.close()
        server.close()
        await server.wait_closed()
