"""The one small interface every backend transport implements."""

from __future__ import annotations

from typing import Protocol

from mcpctl.protocol.jsonrpc import Message


class MessageSink(Protocol):
    """Receives what a transport reads. Called on the event loop; must not block."""

    def message_received(self, msg: Message) -> None: ...

    def transport_closed(self, reason: str) -> None: ...

    def message_lost(self, request_id: object, reason: str) -> None:
        """A response for `request_id` arrived but could not be used (e.g. over max_line_bytes)."""


class Transport(Protocol):
    """start / send / close; received messages go to the sink given at construction."""

    async def start(self) -> None:
        """Open the connection (spawn the child); raises UnavailableError when that fails."""

    def send(self, msg: Message) -> None:
        """Queue one message; never blocks. Raises UnavailableError when the transport is closed."""

    async def close(self, grace: float | None = None) -> None:
        """Shut down gracefully within `grace` seconds (default: the transport's own), then forcibly."""

    @property
    def pid(self) -> int | None:
        """The child's process id, for transports that have one."""

    def describe(self) -> str:
        """One line for logs and `mcpctl servers`: what is connected."""
