"""The audit recorder: a bounded queue on the event loop, sealed in batches and written by a file thread."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import anyio
import anyio.abc

from mcpctl.audit.chain import Chain, Sealed
from mcpctl.audit.iothread import FileThread
from mcpctl.audit.records import Shaper
from mcpctl.audit.schema import DROPPED, PRUNED, RECOVERED
from mcpctl.audit.sink import HEAD_EVERY, AuditFile
from mcpctl.errors import McpctlError

log = logging.getLogger(__name__)

LINGER: Final = 0.02  # gather records this long before a write: fewer, larger writes under load
SEAL_SLICE: Final = 256  # the most calls in one batch, so that sealing one never stalls the loop long
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
    """`record` and `put` never block: records wait in a bounded queue, and batches of them are
    sealed on the loop and handed to a thread that writes them. When the queue is full a record is
    dropped and counted; the count reaches the file as an `audit.dropped` record and the log as a
    warning, so no record is ever lost silently.

    The batches run on timer callbacks, not in a task: the first record of a batch arms a timer
    (LINGER), which seals the batch and hands it to the thread, and the thread's answer arms the next.
    A batch then costs a timer and a trip to the thread, without a task to wake, a cancel scope to
    shield it or a future to wait on; at a few calls a second every call is a batch of its own.

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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._io: FileThread | None = None
        self._next: asyncio.Handle | None = None  # the timer of the next batch
        self._writing = False  # a batch is in the file thread
        self._head_timer: asyncio.Handle | None = None  # brings the head marker up to date when idle
        self._landing: asyncio.Future[bool] | None = None  # what `drain` waits on
        self._draining = False
        self._closed = False
        self._warned_at = -WARN_EVERY
        # Calls that never reached the file in this run, whatever the cause (a full queue, a disk that
        # refused, the end of the run), for /metrics (mcp_audit_dropped_total) and tests.
        self.dropped = 0

    @property
    def queue_depth(self) -> int:
        """Records waiting for the writer (for /metrics)."""
        return len(self._pending) + len(self._own)

    @property
    def _waiting(self) -> bool:
        """Anything for the next batch: calls, the trail's own records, or drops to report."""
        return bool(self._pending or self._own or self._drops.count)

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
        if self._next is None and not self._writing and self._loop is not None and not self._draining:
            self._next = self._loop.call_later(self._linger, self._write_batch)

    # -- Service ---------------------------------------------------------------------------------

    name = "audit:writer"

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open the trail, then let the timers write batches until cancelled; `drain` writes what is left."""
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
        self._schedule(ok=True)
        task_status.started()
        await anyio.sleep_forever()

    async def drain(self) -> None:
        """Write everything queued, then close the file (after the host's children stopped)."""
        if self._io is None:
            return
        self._draining = True  # from here on this method writes the batches, not the timers
        for handle in (self._next, self._head_timer):
            if handle is not None:
                handle.cancel()
        self._next = self._head_timer = None
        with anyio.move_on_after(STOP_DEADLINE) as deadline:
            if self._writing:  # the batch the timers started
                await self._landed()
            while self._waiting and self._write_batch():
                if not await self._landed():
                    break
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
            await self._io.run(self.file.close)  # the thread does it after the batch it may still write
        except OSError:
            log.exception("audit: closing %s failed", self.file.current)
        self._io.close()
        if self.dropped:
            log.warning(
                "audit: %d record(s) were dropped in this run (see audit.dropped records)", self.dropped
            )

    # -- batches ---------------------------------------------------------------------------------

    def _write_batch(self) -> bool:
        """Seal what is queued (a slice of it, if it is long) and hand it to the file thread; True
        when a batch went. A timer's callback, or `drain`'s."""
        self._next = None
        if self._writing or self._io is None:
            return False  # the batch in the thread schedules the next when it lands
        batch, self._pending = self._pending[:SEAL_SLICE], self._pending[SEAL_SLICE:]
        own, self._own = self._own, []
        drops, self._drops = self._drops, Drops()
        if not (batch or own or drops.count):
            return False
        base = (self.chain.seq, self.chain.prev)
        try:
            sealed = self._seal(batch, own, drops)
        except Exception:
            log.exception("audit: sealing a batch failed")
            self.chain.rewind(*base)
            self._own[:0] = own
            self._drops.add(drops.count + len(batch), drops.last or time.time())
            self.dropped += len(batch)
            self._schedule(ok=False)
            return False
        self._writing = True
        self._io.submit(
            self.file.append, (sealed,), partial(self._wrote, sealed, own, len(batch), drops, base)
        )
        return True

    def _seal(self, batch: list[dict[str, Any]], own: list[dict[str, Any]], drops: Drops) -> list[Sealed]:
        sealed = [self.chain.seal(record, weight=0) for record in own]
        if drops.count:
            span = {
                "count": drops.count,
                "first": self.chain.stamp(drops.first),
                "last": self.chain.stamp(drops.last),
            }
            sealed.append(self.chain.seal(Shaper.own(DROPPED, span, drops.last), weight=drops.count))
        seal = self.chain.seal
        sealed.extend([seal(record) for record in batch])
        return sealed

    def _wrote(
        self,
        sealed: list[Sealed],
        own: list[dict[str, Any]],
        calls: int,
        drops: Drops,
        base: tuple[int, str],
        written: int | None,
        failure: BaseException | None,
    ) -> None:
        """The file thread's answer to a batch (on the loop): where the chain stands, what was lost."""
        self._writing = False
        if failure is not None or written is None:
            written = 0
            log.error("audit: writing %d record(s) failed", len(sealed), exc_info=failure)
        if drops.count and written > len(own):  # the audit.dropped record reached the file
            log.warning(
                "audit: %d call(s) could not be recorded from %s to %s (queue full or disk refused); "
                "an audit.dropped record says so",
                drops.count,
                self.chain.stamp(drops.first),
                self.chain.stamp(drops.last),
            )
        ok = written == len(sealed)
        if not ok:
            self.chain.rewind(*(sealed[written - 1][1:3] if written else base))
            # The trail's own records are written again; the calls lost are counted, so the next
            # write that succeeds says how many never reached the file.
            self._own[:0] = own[written:]
            self._drops.add(sum(weight for _, _, _, weight in sealed[written:]), time.time())
            # Calls of this batch that missed the file are new losses (an unwritten audit.dropped
            # record stands for losses already counted): the metric counts each loss once.
            self.dropped += min(calls, len(sealed) - written)
            self._warn()
        self._take_pruned()
        landing, self._landing = self._landing, None
        if landing is not None and not landing.done():
            landing.set_result(ok)
        self._schedule(ok)

    def _schedule(self, ok: bool) -> None:
        """Arm the timer of the next batch, if anything waits: at once when a whole slice does, after
        RETRY_SECONDS when the disk just refused (the queue holds), else after the linger."""
        if self._draining or self._loop is None:
            return
        if self._waiting:
            if not ok:
                delay = RETRY_SECONDS
            elif len(self._pending) >= SEAL_SLICE:
                delay = 0.0
            else:
                delay = self._linger
            self._next = self._loop.call_later(delay, self._write_batch)
        elif self.file.head_behind and self._head_timer is None:
            self._head_timer = self._loop.call_later(HEAD_EVERY, self._flush_head)

    def _flush_head(self) -> None:
        """After HEAD_EVERY without records, bring the head marker up to the last record written,
        so an idle host leaves it current (a batch in the meantime writes it when due)."""
        self._head_timer = None
        if self._writing or self._next is not None or self._io is None or self._draining:
            return  # the next batch's answer arms this again
        self._io.submit(self.file.flush_head, (), _log_head_failure)

    async def _landed(self) -> bool:
        """Wait for the batch in the file thread; True when all of it reached the file."""
        assert self._loop is not None
        landing: asyncio.Future[bool] = self._loop.create_future()
        self._landing = landing
        return await landing

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


def _log_head_failure(_: None, failure: BaseException | None) -> None:
    if failure is not None:
        log.error("audit: writing the head marker failed", exc_info=failure)
