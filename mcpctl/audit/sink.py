"""The file side of the audit trail: seals and appends records, rotates by size, prunes by age."""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mcpctl.audit.files import CURRENT, Head, audit_files, last_line, read_head, rotated_name, write_head
from mcpctl.audit.records import Shaper
from mcpctl.audit.schema import DROPPED, GENESIS, PRUNED, RECOVERED, Clock, seal, unseal

log = logging.getLogger(__name__)

HEAD_EVERY: Final = 1.0  # seconds between head markers while writing (and always at rotation and close)
PRUNE_EVERY: Final = 3600.0


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


class AuditSink:
    """Owns the current file. Not thread-safe: the writer calls it from one thread at a time."""

    def __init__(
        self, directory: Path, *, max_file_bytes: int, retention: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.directory = directory
        self._max = max_file_bytes
        self._retention = retention
        self._clock = clock
        self._stamp = Clock()
        self._fd: int | None = None
        self._size = 0
        self.seq = 0
        self.prev = GENESIS
        self._head_at = 0.0
        self._pruned_at = 0.0

    @property
    def current(self) -> Path:
        return self.directory / CURRENT

    def open(self) -> None:
        """Create the directory, pick the chain up where the last run left it, open the current file."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        torn = self._recover()
        self._fd = os.open(self.current, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size
        own: list[dict[str, Any]] = []
        if torn:
            # A crash cut the last write short: those bytes were never a record; say so in the chain.
            own.append(Shaper.own(RECOVERED, {"file": CURRENT, "discarded_bytes": torn}, self._clock()))
        self.write(own, None)
        self._prune_now()

    def close(self) -> None:
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None
        self._write_head()

    def write(self, records: list[dict[str, Any]], drops: Drops | None) -> int:
        """Seal and append `records` (after an `audit.dropped` record for `drops`, if any).

        Returns how many records could not be written (the disk refused): the chain is rolled
        back to the last record that reached the file, so it never shows a gap that is not there.
        """
        queue: deque[dict[str, Any]] = deque(records)
        if drops is not None and drops.count:
            queue.appendleft(Shaper.own(DROPPED, {"count": drops.count, "first": self._stamp.stamp(drops.first),
                                                  "last": self._stamp.stamp(drops.last)}, drops.last))  # fmt: skip
        now = self._clock()
        if self._retention and now - self._pruned_at > PRUNE_EVERY:
            queue.extend(self._prune(now))
        chunk: list[bytes] = []
        weights: list[int] = []  # how many calls each pending line stands for (a drop record: its count)
        size = 0
        base = (self.seq, self.prev)  # where the chain stood before the lines not yet on disk
        while queue:
            record = queue.popleft()
            record["seq"] = self.seq + 1
            when = record["ts"]
            record["ts"] = self._stamp.stamp(when) if isinstance(when, float) else when
            record["prev"] = self.prev  # rotation leaves it as is: the chain runs across files
            line, digest = seal(record)
            if chunk and self._size + size + len(line) > self._max:
                if not self._append(chunk, base):
                    return sum(weights) + _weight(record) + sum(_weight(r) for r in queue)
                chunk, weights, size = [], [], 0
                base = (self.seq, self.prev)
                self._rotate(now)
                queue.extend(self._prune(now))
            chunk.append(line)
            weights.append(_weight(record))
            size += len(line)
            self.seq, self.prev = record["seq"], digest
        if chunk and not self._append(chunk, base):
            return sum(weights)
        if now - self._head_at >= HEAD_EVERY:
            self._write_head()
        return 0

    # -- internals -------------------------------------------------------------------------------

    def _append(self, lines: list[bytes], base: tuple[int, str]) -> bool:
        """Write whole lines or nothing: a failed write is cut back off the file and the chain
        rewound to `base`, the last record on disk."""
        assert self._fd is not None
        data = b"".join(lines)
        before = self._size
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            log.error("audit: cannot write to %s: %s", self.current, exc.strerror or exc)
            try:
                os.ftruncate(self._fd, before)
            except OSError:
                log.exception("audit: cannot cut a partial write back off %s", self.current)
            self.seq, self.prev = base
            return False
        self._size = before + len(data)
        return True

    def _rotate(self, now: float) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        target = self.directory / rotated_name(now)
        n = 1
        while target.exists():
            target = self.directory / rotated_name(now).replace(".jsonl", f"-{n}.jsonl")
            n += 1
        os.rename(self.current, target)
        self._fd = os.open(self.current, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        self._size = 0
        self._write_head()

    def _prune_now(self) -> None:
        own = self._prune(self._clock())
        if own:
            self.write(own, None)

    def _prune(self, now: float) -> list[dict[str, Any]]:
        """Delete rotated files older than the retention (never the current one); one record says which."""
        self._pruned_at = now
        if not self._retention:
            return []
        cutoff = now - self._retention
        victims = []
        for path in (p for p in audit_files(self.directory) if p.name != CURRENT):
            try:
                if path.stat().st_mtime < cutoff:
                    victims.append(path)
            except FileNotFoundError:
                continue
        if not victims:
            return []
        line, _ = last_line(victims[-1])
        record = unseal(line)[0] if line else None
        through = record.get("seq") if record is not None else None
        for path in victims:
            path.unlink(missing_ok=True)
        log.info("audit: removed %d file(s) older than the retention", len(victims))
        return [Shaper.own(PRUNED, {"files": [p.name for p in victims], "through_seq": through}, now)]

    def _recover(self) -> int:
        """Read the last sealed record (seq and hash) back from disk; cut a torn last write off.

        Returns the number of bytes cut off the current file.
        """
        torn = 0
        for path in reversed(audit_files(self.directory)):
            line, after = last_line(path)
            if path == self.current and after:
                with path.open("r+b") as handle:
                    size = handle.seek(0, os.SEEK_END)
                    handle.truncate(size - after)
                torn = after
            record, stored, _ = unseal(line) if line else (None, None, False)
            if record is not None and stored is not None and isinstance(record.get("seq"), int):
                self.seq, self.prev = record["seq"], stored
                return torn
            if line:
                # Damaged by hand: continue from the head marker, if any; `logs verify` shows the break.
                log.warning("audit: the last line of %s is not a sealed record", path)
                head = read_head(self.directory)
                if head is not None:
                    self.seq, self.prev = head.seq, head.hash
                return torn
        return torn

    def _write_head(self) -> None:
        self._head_at = self._clock()
        try:
            write_head(self.directory, Head(self.seq, self.prev, CURRENT))
        except OSError as exc:
            log.warning("audit: cannot write the head marker: %s", exc.strerror or exc)


def _weight(record: dict[str, Any]) -> int:
    kind = record.get("kind")
    if kind == DROPPED:
        count = record.get("count")
        return count if isinstance(count, int) else 0
    return 0 if kind in (PRUNED, RECOVERED) else 1
