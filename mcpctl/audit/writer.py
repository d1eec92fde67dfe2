"""The audit recorder: a bounded queue on the event loop, drained by a writer task into the file sink."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from mcpctl.audit.records import Shaper
from mcpctl.audit.sink import AuditSink, Drops
from mcpctl.errors import McpctlError

log = logging.getLogger(__name__)

LINGER: Final = 0.01  # gather records this long before a write: fewer, larger writes under load
STOP_DEADLINE: Final = 10.0
WARN_EVERY: Final = 5.0


class AuditWriter:
    """`record` and `put` never block: records wait in a bounded queue, and one task hands them in
    batches to the sink, which writes them from its own thread. When the queue is full a record is
    dropped and counted; the count reaches the file as an `audit.dropped` record and the log as a
    warning, so no record is ever lost silently.
    """

    def __init__(self, sink: AuditSink, shaper: Shaper, *, queue_size: int, linger: float = LINGER) -> None:
        self.sink = sink
        self.shaper = shaper
        self._queue_size = queue_size
        self._linger = linger
        self._pending: list[dict[str, Any]] = []
        self._drops = Drops()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closing = False
        self._closed = False
        self._warned_at = 0.0
        self.dropped = 0  # in this run, for metrics and tests

    # -- AuditRecorder ---------------------------------------------------------------------------

    def record(self, kind: str, **fields: Any) -> None:
        self.put(self.shaper.event(kind, fields, time.time()))

    def put(self, record: dict[str, Any]) -> None:
        """Queue one finished record (from the loop, or from any thread)."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            loop.call_soon_threadsafe(self.put, record)
            return
        if self._closed:
            log.warning("audit: a %s record arrived after the audit trail closed; dropped", record.get("kind"))
            self.dropped += 1
            return
        if len(self._pending) >= self._queue_size:
            self._drop(1, time.time())
            return
        self._pending.append(record)
        if not self._wake.is_set():
            self._wake.set()

    # -- Service ---------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcpctl-audit")
        try:
            await loop.run_in_executor(self._executor, self.sink.open)
        except OSError as exc:
            self._executor.shutdown(wait=False)
            raise McpctlError(
                f"cannot open the audit trail in {self.sink.directory}: {exc.strerror or exc}",
                hint="check that directory's permissions, or set enabled = false under [audit]",
            ) from exc
        self._loop, self._loop_thread = loop, threading.get_ident()
        self._task = loop.create_task(self._run(), name="mcpctl-audit-writer")
        if self._pending:
            self._wake.set()

    async def stop(self) -> None:
        """Write everything queued, then close the file (the host calls this after its children stop)."""
        if self._task is None or self._executor is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_DEADLINE)
        except TimeoutError:
            log.error("audit: the writer did not finish within %gs; %d record(s) not written",
                      STOP_DEADLINE, len(self._pending))  # fmt: skip
            self._task.cancel()
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self.sink.close)
        except OSError as exc:
            log.error("audit: closing %s failed: %s", self.sink.current, exc.strerror or exc)
        self._executor.shutdown(wait=False)
        if self.dropped:
            log.warning("audit: %d record(s) were dropped in this run (see audit.dropped records)", self.dropped)

    # -- the writer task -------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            if not self._closing:
                await asyncio.sleep(self._linger)
            self._wake.clear()
            batch, self._pending = self._pending, []
            drops, self._drops = self._drops, Drops()
            if batch or drops.count:
                try:
                    lost = await loop.run_in_executor(self._executor, self.sink.write, batch, drops)
                except Exception:
                    log.exception("audit: writing %d record(s) failed", len(batch))
                    lost = len(batch) + drops.count
                if lost:
                    # Counted again, so the next write that succeeds says how many never reached the file.
                    self._drops.add(lost, time.time())
                    self._warn()
            if self._closing and not self._pending:
                return

    def _drop(self, count: int, when: float) -> None:
        self._drops.add(count, when)
        self.dropped += count
        self._warn()

    def _warn(self) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning("audit: %d record(s) waiting to be reported as dropped (queue full or disk refused)",
                        self._drops.count)  # fmt: skip
