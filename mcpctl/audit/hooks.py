"""The call hooks that turn every finished or refused call into exactly one audit record."""

from __future__ import annotations

import time
from typing import Any

from mcpctl.audit.records import Shaper
from mcpctl.audit.writer import AuditWriter
from mcpctl.gateway.calls import Call
from mcpctl.gateway.context import ClientContext
from mcpctl.gateway.hooks import NoHooks
from mcpctl.protocol.jsonrpc import Message


class AuditHooks(NoHooks):
    """Records; never admits, hides or refuses anything."""

    def __init__(self, writer: AuditWriter, shaper: Shaper) -> None:
        self._writer = writer
        self._shaper = shaper

    def finished(self, call: Call, response: Message, outcome: str) -> None:
        now = time.monotonic()
        self._writer.put_here(self._shaper.call(call, response, outcome, time.time(), now))

    def refused(
        self,
        ctx: ClientContext,
        method: str,
        server: str,
        name: str,
        params: dict[str, Any],
        error: dict[str, object],
    ) -> None:
        record = self._shaper.refusal(ctx, method, server, name, params=params, error=error, when=time.time())
        self._writer.put_here(record)
