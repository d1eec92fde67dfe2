"""The call hooks that turn every finished or refused call into exactly one audit record."""

from __future__ import annotations

import time

from mcpctl.audit.records import Shaper
from mcpctl.audit.writer import AuditWriter
from mcpctl.protocol.jsonrpc import Message
from mcpctl.router.calls import Call
from mcpctl.router.hooks import NoHooks, Refusal


class AuditHooks(NoHooks):
    """Records; never admits, hides or refuses anything."""

    def __init__(self, writer: AuditWriter, shaper: Shaper) -> None:
        self._writer = writer
        self._shaper = shaper

    def finished(self, call: Call, response: Message, outcome: str) -> None:
        now = time.monotonic()
        self._writer.put_here(self._shaper.call(call, response, outcome, time.time(), now))

    def refused(self, refusal: Refusal) -> None:
        self._writer.put_here(self._shaper.refusal(refusal, when=time.time()))
