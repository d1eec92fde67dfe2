"""The audit recorder: a bounded queue on the event loop, drained by a writer task into the audit file."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Final

import anyio
import anyio.abc

from mcpctl.audit.chain import Chain
from mcpctl.audit.iothread import FileThread
from mcpctl.audit.records import Shaper
from mcpctl.audit.schema import DROPPED, PRUNED, RECOVERED
from mcpctl.audit.sink import HEAD_EVERY, AuditFile
from mcpctl.errors import McpctlError

log = logging.getLogger(__name__)

LINGER: Final = 0.02  # gather records this long before a write: fewer, larger writes under load
SEAL_SLICE: Final = 256  # records sealed between yields to the loop, so a big batch never stalls it
RETRY_SECONDS: Final = 1.0  # after the disk refused a write (full, gone): try again this much later
STOP_DEADLINE: Final = 10.0
WARN_EVERY: Final = 5.0


@dataclass
class Drops:
    """Records the queue had no room for (or the disk refused), since they were last reported."""

    count: int = 0
    first: float = 0.0
    last: float = 0.0

    def add(self, count: int, when: float) -> None:
        if count <= 0:
            return
        if self.count == 0:
            self.first = when
        self.count += count
        self.last = when


class AuditWriter:
    """`record` and `put` never block: records wait in a bounded queue, and one task seals them in
    batches on the loop and hands the lines to a thread that writes them. When the queue is full a
    record is dropped and counted; the count reaches the file as an `audit.dropped` record and the
    log as a warning, so no record is ever lost silently.

    Sealing (JSON, SHA-256) stays on the loop on purpose: in the thread it would hold the GIL while
    the loop waits for it after every socket call, which costs far more than the work itself.
    """

    def __init__(self, file: AuditFile, shaper: Shaper, *, queue_size: int, linger: float = LINGER) -> None:
        self.file = file
        self.shaper = shaper
        self.chain = Chain()
        self._queue_size = queue_size
        self._linger = linger
        self._pending: list[dict[str, Any]] = []
        self._own: list[dict[str, Any]] = []  # the trail's records about itself, written first
        self._drops = Drops()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._io: FileThread | None = None
        self._closed = False
        self._warned_at = -WARN_EVERY
        # Calls that never reached the file in this run, whatever the cause (a full queue, a disk that
        # refused, the end of the run), for /metrics (mcp_audit_dropped_total) and tests.
        self.dropped = 0

    @property
    def queue_depth(self) -> int:
        """Records waiting for the writer (for /metrics)."""
        return len(self._pending) + len(self._own)

    # -- AuditRecorder ---------------------------------------------------------------------------

    def record(self, kind: str, **fields: Any) -> None:
        self.put(self.shaper.event(kind, fields, time.time()))

    def put(self, record: dict[str, Any]) -> None:
        """Queue one finished record (from the loop, or from any thread)."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            try:
                loop.call_soon_threadsafe(self.put_here, record)
            except RuntimeError:  # the loop has closed: the host is gone
                self.dropped += 1
                log.warning("audit: a %s record arrived after the host stopped; dropped", record.get("kind"))
            return
        self.put_here(record)

    def put_here(self, record: dict[str, Any]) -> None:
        """Queue one finished record, from the event loop's own thread (the call hooks' path)."""
        if self._closed:
            log.warning("audit: a %s record arrived after the trail closed; dropped", record.get("kind"))
            self.dropped += 1
            return
        if len(self._pending) >= self._queue_size:
            self._drops.add(1, time.time())
            self.dropped += 1
            self._warn()
            return
        self._pending.append(record)
        if not self._wake.is_set():
            self._wake.set()

    # -- Service ---------------------------------------------------------------------------------

    name = "audit:writer"

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open the trail, then write batches until cancelled; `drain` writes what is left."""
        loop = asyncio.get_running_loop()
        self._io = FileThread(loop)
        try:
            state = await self._io.run(self.file.open)
        except OSError as exc:
            self._io.close()
            self._io = None
            raise McpctlError(
                f"cannot open the audit trail in {self.file.directory}: {exc.strerror or exc}",
                hint="check that directory's permissions, or set enabled = false under [audit]",
            ) from exc
        self.chain = Chain(state.seq, state.prev)
        facts = state.facts()
        if facts:
            # A crash cut the last write short (those bytes were never a record), or the end of the
            # trail is not what the last run left: the chain says so before it goes on.
            self._own.append(Shaper.own(RECOVERED, facts, time.time()))
            if state.missing_through or state.head_missing:
                log.error("audit: the end of the trail was removed while the host was stopped: %s", facts)
        self._take_pruned()
        self._loop, self._loop_thread = loop, threading.get_ident()
        if self._pending or self._own:
            self._wake.set()
        task_status.started()
        await self._write_until_cancelled()

    async def drain(self) -> None:
        """Write everything queued, then close the file (after the host's children stopped)."""
        if self._io is None:
            return
        with anyio.move_on_after(STOP_DEADLINE) as deadline:
            while (self._pending or self._own or self._drops.count) and await self._shielded_batch():
                pass
        if deadline.cancelled_caught:
            log.error(
                "audit: the writer did not finish within %gs; %d record(s) not written",
                STOP_DEADLINE,
                len(self._pending),
            )
        self._closed = True
        unwritten = len(self._pending) + self._drops.count
        if unwritten:  # the disk still refused at the end, or the writer ran out of time
            self.dropped += len(self._pending)
            log.error("audit: closing with %d record(s) that could not be written", unwritten)
            self._pending = []
        try:
            await self._io.run(self.file.close)
        except OSError:
            log.exception("audit: closing %s failed", self.file.current)
        self._io.close()
        if self.dropped:
            log.warning(
                "audit: %d record(s) were dropped in this run (see audit.dropped records)", self.dropped
            )

    # -- the writer task -------------------------------------------------------------------------

    async def _write_until_cancelled(self) -> None:
        while True:
            if not await self._idle():
                continue
            await anyio.sleep(self._linger)
            if not await self._shielded_batch():
                await anyio.sleep(RETRY_SECONDS)  # the disk refused: don't spin; the queue holds

    async def _shielded_batch(self) -> bool:
        """One batch, which cancellation never cuts in half: a write handed to the file thread
        finishes there anyway, and the chain must know how much of it landed."""
        with anyio.CancelScope(shield=True):
            self._wake.clear()
            try:
                ok = await self._write_batch()
            except Exception:
                log.exception("audit: writing a batch failed")
                ok = False
        return ok

    async def _idle(self) -> bool:
        """Wait for records; True when some arrived. While the head marker lags the file, bring it
        up to date after HEAD_EVERY without records, so an idle host leaves it current."""
        if not self.file.head_behind:
            await self._wake.wait()
            return True
        try:
            await asyncio.wait_for(self._wake.wait(), HEAD_EVERY)
        except TimeoutError:
            assert self._io is not None
            try:
                await self._io.run(self.file.flush_head)
            except Exception:
                log.exception("audit: writing the head marker failed")
            return False
        return True

    async def _write_batch(self) -> bool:
        """Seal what is queued and write it; False when the disk refused some of it."""
        batch, self._pending = self._pending, []
        own, self._own = self._own, []
        drops, self._drops = self._drops, Drops()
        if not (batch or own or drops.count):
            return True
        base = (self.chain.seq, self.chain.prev)
        sealed = [self.chain.seal(record, weight=0) for record in own]
        if drops.count:
            span = {
                "count": drops.count,
                "first": self.chain.stamp(drops.first),
                "last": self.chain.stamp(drops.last),
            }
            sealed.append(self.chain.seal(Shaper.own(DROPPED, span, drops.last), weight=drops.count))
        for i, record in enumerate(batch, start=1):
            sealed.append(self.chain.seal(record))
            if i % SEAL_SLICE == 0:
                await asyncio.sleep(0)  # let requests through between slices of a large batch
        assert self._io is not None
        try:
            written = await self._io.run(self.file.append, sealed)
        except Exception:
            written = 0
            log.exception("audit: writing %d record(s) failed", len(sealed))
        if drops.count and written > len(own):  # the audit.dropped record reached the file
            log.warning(
                "audit: %d call(s) could not be recorded from %s to %s (queue full or disk refused); "
                "an audit.dropped record says so",
                drops.count,
                span["first"],
                span["last"],
            )
        if written < len(sealed):
            self.chain.rewind(*(sealed[written - 1][1:3] if written else base))
            # The trail's own records are written again; the calls lost are counted, so the next
            # write that succeeds says how many never reached the file.
            self._own.extend(own[written:])
            self._drops.add(sum(weight for _, _, _, weight in sealed[written:]), time.time())
            # Calls of this batch that missed the file are new losses (an unwritten audit.dropped
            # record stands for losses already counted): the metric counts each loss once.
            self.dropped += min(len(batch), len(sealed) - written)
            self._warn()
        self._take_pruned()
        if self._own or self._drops.count:
            self._wake.set()
        return written == len(sealed)

    def _take_pruned(self) -> None:
        while self.file.pruned:
            info = self.file.pruned.pop(0)
            when = info.pop("when")
            self._own.append(Shaper.own(PRUNED, info, when))

    def _warn(self) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning(
                "audit: %d record(s) not written yet will be reported as dropped (queue full or disk "
                "refused)",
                self._drops.count,
            )
