"""The gateway's side of API keys: verify against stored hashes, notice changes, batch last-used times."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.abc

from mcpctl.auth.apikeys import (
    ID_END,
    KEY_LENGTH,
    PREFIX,
    KeyRecord,
    key_id_of,
    read_records,
    read_usage,
    write_usage,
)
from mcpctl.errors import McpctlError
from mcpctl.fswatch import ChangeWatch

log = logging.getLogger(__name__)

FLUSH_SECONDS = 30.0
STAT_INTERVAL = 0.001  # under load, at most one stat of the key file per millisecond


@dataclass(frozen=True)
class KeyRejected:
    """Why a presented key was refused (the reason goes to audit, never the key)."""

    reason: str
    key_id: str | None = None
    name: str | None = None


class KeyVerifier:
    """Checks presented keys against the records file, re-read whenever it changes.

    While a ChangeWatch tells of the file's changes (KeyWatch starts one: inotify, on a Linux local
    filesystem), a change counts from the first request the loop reads after it, at no cost per
    request. Otherwise, before a request is checked, a `stat` of the file (about 1.5 us here) tells
    whether it changed; under load the stat is skipped for requests less than STAT_INTERVAL after
    the last one, so a change counts from the first request that starts 1 ms after it. Either way a
    revocation, a rotation or a new key counts from the next request in practice, with no restart.
    The re-read itself runs in a worker thread.
    """

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        stat_interval: float = STAT_INTERVAL,
    ) -> None:
        self.path = path
        self._where = os.fspath(path)  # what os.stat takes fastest
        self._clock = clock
        self._monotonic = monotonic
        self._interval = stat_interval
        self._records: dict[str, KeyRecord] = {}
        # A key that matched -> its record and when it stops working. Hashing costs more than the
        # rest of a check together; only keys that matched are kept (one per record at most, so
        # bounded by the file), the same strings every request's headers already hold, and they
        # are forgotten whenever the records are re-read. (A lookup leaks no usable timing: string
        # hashes are keyed per process.)
        self._verified: dict[str, tuple[KeyRecord, float]] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._loaded = False
        self._checked = float("-inf")
        self._lock = asyncio.Lock()
        # While a watch tells of every change (`file_changed`), `current` compares two counters
        # instead of a stat: changes told, and changes told before the last read began.
        self._watched = False
        self._changes = 1  # the file is unread
        self._changes_read = 0
        # Counts re-reads of the file and changes told: what `check` accepted stands only while
        # this is unchanged.
        self.generation = 0
        self.last_used: dict[str, float] = {}  # key id -> time, flushed in batches by UsageFlusher

    def current(self) -> bool:
        """Whether the records in memory are the file's (False: await refresh() first)."""
        if self._watched:
            return self._changes == self._changes_read
        now = self._monotonic()
        if now - self._checked < self._interval:
            return True
        if self._loaded and self._file_stamp() == self._stamp:
            self._checked = now
            return True
        return False

    async def refresh(self) -> None:
        """Re-read the records (in a worker thread) if the file changed since the last read."""
        async with self._lock:
            changes = self._changes  # a change told from here on calls for another read
            stamp = self._file_stamp()
            if self._loaded and stamp == self._stamp and (not self._watched or changes == self._changes_read):
                self._checked = self._monotonic()
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
            self._verified = {}
            self.generation += 1
            self._stamp = stamp
            self._loaded = True
            self._checked = self._monotonic()
            self._changes_read = changes

    def file_changed(self, still_watched: bool) -> None:
        """A ChangeWatch's word: the file may have changed, and whether the watch still sees
        every change (False: back to the stat)."""
        self._changes += 1
        self.generation += 1
        self._watched = still_watched

    async def verify(self, key: str) -> KeyRecord | KeyRejected:
        if not self.current():
            await self.refresh()
        return self.check(key)

    def check(self, key: str) -> KeyRecord | KeyRejected:
        """Verify against the records in memory (call `current`/`refresh` first)."""
        verified = self._verified.get(key)
        if verified is not None:
            now = self._clock()
            if now < verified[1]:
                self.last_used[verified[0].id] = now
                return verified[0]
        # The format is fixed, so slicing finds the id; the hash comparison checks every character.
        if len(key) != KEY_LENGTH or key[ID_END] != "_":
            return KeyRejected("malformed API key")
        key_id = key[len(PREFIX) : ID_END]
        record = self._records.get(key_id)
        if record is None or not record.matches(key):
            return KeyRejected("unknown API key", key_id if key_id_of(key) else None)
        now = self._clock()
        if not record.usable(now):
            return KeyRejected(f"API key {record.status(now)}", key_id, record.name)
        self.last_used[key_id] = now
        end = record.end()
        self._verified[key] = (record, math.inf if end is None else end)
        return record

    def still_works(self, key_id: str, generation: int, ends: float) -> bool:
        """Whether a key `check` accepted while `generation` was current, and that ends at `ends`,
        works now (its use is recorded when it does): the records must be the file's and unchanged
        since, and the key's end not reached."""
        if generation != self.generation or not (self._watched or self.current()):
            return False  # (while watched, a change told has already moved the generation on)
        now = self._clock()
        if now >= ends:
            return False
        self.last_used[key_id] = now
        return True

    def usable(self) -> dict[str, str]:
        """The keys that work now, as of the records in memory: id -> name."""
        now = self._clock()
        return {key_id: r.name for key_id, r in self._records.items() if r.usable(now)}

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self._where)
        except OSError:
            return None
        # the CLI replaces the file atomically, so the inode alone already tells; mtime and size
        # also catch an editor writing it in place
        return stat.st_ino, stat.st_mtime_ns, stat.st_size


class KeyWatch:
    """A service: a key that stops working (revoked, expired, retired, deleted) is noticed within
    `interval` even when no request comes, and `ended(ids, names)` is told, so the streams opened
    with it close (requests already fail from the next one: see KeyVerifier)."""

    name = "apikeys:watch"

    def __init__(
        self, verifier: KeyVerifier, ended: Callable[[set[str], set[str]], None], interval: float = 1.0
    ) -> None:
        self._verifier = verifier
        self._ended = ended
        self._interval = interval

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        watch = ChangeWatch(self._verifier.path, self._verifier.file_changed)
        # started before the first read, so no change falls between the two
        if watch.start():
            self._verifier.file_changed(True)
        try:
            await self._verifier.refresh()
            usable = self._verifier.usable()
            task_status.started()
            while True:
                await anyio.sleep(self._interval)
                if not self._verifier.current():
                    await self._verifier.refresh()
                now = self._verifier.usable()
                gone = usable.keys() - now.keys()
                if gone:
                    # a name whose rotated successor still works keeps its streams (matched by id)
                    self._ended(set(gone), {usable[key_id] for key_id in gone} - set(now.values()))
                usable = now
        finally:
            watch.stop()
            self._verifier.file_changed(False)

    async def drain(self) -> None:
        return None


class UsageFlusher:
    """A service: writes last-used times every FLUSH_SECONDS and at shutdown, never per request."""

    def __init__(self, verifier: KeyVerifier, path: Path, interval: float = FLUSH_SECONDS) -> None:
        self._verifier = verifier
        self._path = path
        self._interval = interval
        self._written: dict[str, float] = {}

    name = "apikeys:usage"

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            await anyio.sleep(self._interval)
            await self.flush()

    async def drain(self) -> None:
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


def _merge_usage(path: Path, pending: dict[str, float]) -> None:
    usage = read_usage(path)
    for key_id, when in pending.items():
        usage[key_id] = max(when, usage.get(key_id, 0.0))
    write_usage(path, usage)
