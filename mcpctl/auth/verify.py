"""The gateway's side of API keys: verify against stored hashes, notice changes, batch last-used times."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mcpctl.auth.apikeys import KeyRecord, key_id_of, read_records, read_usage, write_usage
from mcpctl.errors import McpctlError

log = logging.getLogger(__name__)

FLUSH_SECONDS = 30.0


@dataclass(frozen=True)
class KeyRejected:
    """Why a presented key was refused (the reason goes to audit, never the key)."""

    reason: str
    key_id: str | None = None
    name: str | None = None


class KeyVerifier:
    """Checks presented keys against the records file, re-read whenever it changes.

    A `stat` per request (about a microsecond) is what makes a revocation, a rotation or a new key
    count from the very next request, with no restart and no polling delay; the re-read itself runs
    in a worker thread.
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._records: dict[str, KeyRecord] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._loaded = False
        self._lock = asyncio.Lock()
        self.last_used: dict[str, float] = {}  # key id -> time, flushed in batches by UsageFlusher

    async def refresh(self) -> None:
        """Re-read the records if the file changed since the last read."""
        if self._loaded and self._file_stamp() == self._stamp:
            return
        async with self._lock:
            stamp = self._file_stamp()
            if self._loaded and stamp == self._stamp:
                return  # another request re-read it while we waited
            problem = None
            try:
                self._records = await asyncio.to_thread(read_records, self.path)
            except McpctlError as exc:
                problem = exc.message
            if problem is not None:
                # Fail closed: a damaged file must not leave revoked keys working.
                log.error("API keys unusable until %s is fixed: %s", self.path, problem)
                self._records = {}
            self._stamp = stamp
            self._loaded = True

    async def verify(self, key: str) -> KeyRecord | KeyRejected:
        await self.refresh()
        key_id = key_id_of(key)
        if key_id is None:
            return KeyRejected("malformed API key")
        record = self._records.get(key_id)
        if record is None or not record.matches(key):
            return KeyRejected("unknown API key", key_id)
        now = self._clock()
        status = record.status(now)
        if status not in ("active", "retiring"):
            return KeyRejected(f"API key {status}", key_id, record.name)
        self.last_used[key_id] = now
        return record

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        # the CLI replaces the file atomically, so the inode alone already tells; mtime and size
        # also catch an editor writing it in place
        return stat.st_ino, stat.st_mtime_ns, stat.st_size


class UsageFlusher:
    """A service: writes last-used times every FLUSH_SECONDS and at shutdown, never per request."""

    def __init__(self, verifier: KeyVerifier, path: Path, interval: float = FLUSH_SECONDS) -> None:
        self._verifier = verifier
        self._path = path
        self._interval = interval
        self._written: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="apikeys:usage")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> None:
        pending = dict(self._verifier.last_used)
        if pending == self._written:
            return
        try:
            await asyncio.to_thread(_merge_usage, self._path, pending)
            self._written = pending
        except OSError as exc:
            log.warning("could not record API key usage in %s: %s", self._path, exc)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()


def _merge_usage(path: Path, pending: dict[str, float]) -> None:
    usage = read_usage(path)
    for key_id, when in pending.items():
        usage[key_id] = max(when, usage.get(key_id, 0.0))
    write_usage(path, usage)
