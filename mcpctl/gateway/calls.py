"""One client request on its way through a backend, and what comes back for it."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

from mcpctl.gateway.mailbox import Mailbox
from mcpctl.protocol.jsonrpc import Message, RequestId

if TYPE_CHECKING:
    from mcpctl.gateway.context import ClientContext
    from mcpctl.gateway.upstream import Upstream

# Interim messages (progress, logs, server->client requests) held for a client that reads slowly;
# past this, progress and log notifications are dropped (and counted), never the response.
MAX_INTERIM = 1000


class Call(Mailbox):
    """A forwarded request: its ids on both sides, and a small mailbox the edge reads from.

    The upstream's reader puts messages in (synchronously, never blocking); the edge takes
    them out with `next`, which wakes on a new message or on its timeout.
    """

    __slots__ = (
        "_final",
        "_items",
        "asking",
        "backend_id",
        "client_id",
        "ctx",
        "dropped",
        "method",
        "name",
        "params",
        "progress_token",
        "sent",
        "server",
        "started",
        "upstream",
    )

    def __init__(
        self,
        ctx: ClientContext | None,
        client_id: RequestId | None,
        method: str,
        server: str,
        name: str | None = None,
        progress_token: Any = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.ctx = ctx
        self.client_id = client_id
        self.method = method
        self.server = server
        self.name = name  # the exposed tool/prompt name or resource URI, for logs and audit
        self.progress_token = progress_token
        self.params = params  # the client's params as sent (arguments for audit); not copied
        self.backend_id: int = 0
        self.sent: Message | None = None  # the request as last sent to the backend (for MRTR retries)
        self.upstream: Upstream | None = None
        self.started = time.monotonic()
        self.dropped = 0
        self.asking = 0  # server->client requests routed to this call's client, not yet answered
        self._items: deque[Message] = deque()
        self._final: Message | None = None
        self._waiter = None

    @property
    def finished(self) -> bool:
        return self._final is not None

    def push(self, msg: Message) -> None:
        """An interim message for the client (progress, log, server->client request)."""
        if self._final is not None:
            return
        if len(self._items) >= MAX_INTERIM and "id" not in msg:
            self.dropped += 1
            return
        self._items.append(msg)
        self._wake()

    def finish(self, msg: Message) -> None:
        """The response (or an error standing in for it); later calls are ignored."""
        if self._final is None:
            self._final = msg
            self._wake()

    def reopen(self) -> None:
        """Ready the mailbox for a retry of the same call (a multi round-trip request)."""
        self._final = None

    async def next(self, timeout: float) -> tuple[Message, bool] | None:
        """The next message and whether it is the final one; None when `timeout` passes first."""
        if not self._items and self._final is None:
            await self._wait(timeout)
        if self._items:
            return self._items.popleft(), False
        if self._final is not None:
            return self._final, True
        return None
