"""A backend in the same process: the transport twin for tests (httpx's MockTransport is the model)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mcpctl.backends.base import MessageSink
from mcpctl.errors import UnavailableError
from mcpctl.protocol.jsonrpc import Message, dumps, loads

Reply = Callable[[Message], None]
# Called with each message the client sends and a function to send messages back (at once, later,
# or several times: a server->client request, progress, then the response).
Handler = Callable[[Message, Reply], None]


class MemoryTransport:
    """Delivers in both directions on later turns of the event loop, as a pipe would."""

    def __init__(self, handler: Handler, sink: MessageSink, name: str = "memory") -> None:
        self._handler = handler
        self._sink = sink
        self._name = name
        self._closed = False
        self.sent: list[Message] = []  # everything the client sent, for assertions

    @property
    def pid(self) -> int | None:
        return None

    def describe(self) -> str:
        return f"in-memory server {self._name!r}"

    async def start(self) -> None:
        if self._closed:
            raise UnavailableError(f"{self.describe()} is closed")

    def send(self, msg: Message) -> None:
        if self._closed:
            raise UnavailableError("the server process is not running")
        wire = loads(dumps(msg))  # what a real wire carries: a copy, and only what JSON can say
        self.sent.append(wire)
        asyncio.get_running_loop().call_soon(self._handler, wire, self._reply)

    def _reply(self, msg: Message) -> None:
        if not self._closed:
            asyncio.get_running_loop().call_soon(self._deliver, msg)

    def _deliver(self, msg: Message) -> None:
        if not self._closed:
            self._sink.message_received(msg)

    async def close(self, grace: float | None = None) -> None:
        self.crash("the connection was closed")

    def crash(self, reason: str) -> None:
        """The server goes away (as a child killed with SIGKILL would)."""
        if not self._closed:
            self._closed = True
            self._sink.transport_closed(reason)
