"""mcpctl's HTTP protocol in-process: a recording transport, and requests fed one at a time."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from mcpctl.edge.server import EdgeProtocol, ProtocolLimits, edge_protocol

DATE = (b"date", b"Thu, 03 Dec 2026 09:00:00 GMT")


class Recorder(asyncio.Transport):
    """The socket's side: what reached it, and whether it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8765)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def request(method: str = "POST", extra: bytes = b"") -> bytes:
    return f"{method} /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2\r\n".encode() + extra + b"\r\n{}"


def connect(app: Any, limits: ProtocolLimits | None = None, **config: Any) -> tuple[EdgeProtocol, Recorder]:
    """A connection to `app` through mcpctl's protocol (uvicorn Config options in `config`)."""
    settings = Config(app, lifespan="off", log_config=None, access_log=False, server_header=False, **config)
    settings.load()
    state = ServerState()
    state.default_headers = [DATE]
    protocol = edge_protocol(limits or ProtocolLimits())(config=settings, server_state=state, app_state={})
    socket = Recorder()
    protocol.connection_made(socket)
    return protocol, socket


async def answered(protocol: EdgeProtocol, socket: Recorder, raw: bytes) -> None:
    """Feed one request and wait, by the loop's turns, until its answer has reached the socket."""
    writes = len(socket.writes)
    protocol.data_received(raw)
    for _ in range(1000):
        await asyncio.sleep(0)
        if len(socket.writes) > writes or socket.closed:
            return
    raise AssertionError("no answer after 1000 turns of the loop")


async def closed_within(socket: Recorder, timeout: float) -> None:
    """Wait until the protocol closes the socket; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not socket.closed:
        if loop.time() > deadline:
            raise AssertionError(f"the connection is still open after {timeout}s")
        await asyncio.sleep(0.02)
