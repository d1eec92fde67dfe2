"""The file side of the audit trail: appends sealed lines, rotates by size, prunes by age (a thread)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Final

from mcpctl.audit.chain import Sealed
from mcpctl.audit.files import CURRENT, Head, audit_files, last_line, read_head, rotated_name, write_head
from mcpctl.audit.schema import GENESIS, unseal

log = logging.getLogger(__name__)

HEAD_EVERY: Final = 1.0  # seconds between head markers while writing (and always at rotation and close)
PRUNE_EVERY: Final = 3600.0


@dataclass(frozen=True)
class Recovered:
    """Where the chain stood when the last run stopped, what a crash left half-written, and what is
    missing from the end: records the head marker names that are no longer on disk, or the marker."""

    seq: int
    prev: str
    torn_bytes: int
    missing_through: int = 0  # head.json named this seq, but the files end before it
    head_missing: bool = False  # records on disk, but no head.json to check their end against

    def facts(self) -> dict[str, Any]:
        """The fields of the `audit.recovered` record that says so (empty: nothing to say)."""
        out: dict[str, Any] = {}
        if self.torn_bytes:
            out.update(file=CURRENT, discarded_bytes=self.torn_bytes)
        if self.missing_through:
            out.update(missing_from=self.seq + 1, missing_through=self.missing_through)
        if self.head_missing:
            out["head_missing"] = True
        return out


class AuditFile:
    """Owns the current file; its methods do I/O only and run in the writer's thread, one at a time."""

    def __init__(
        self,
        directory: Path,
        *,
        max_file_bytes: int,
        retention: float,
        clock: Callable[[], float] = time.time,
        mirror: BinaryIO | None = None,
    ) -> None:
        self.directory = directory
        self._mirror = mirror  # a stream that gets every line the file gets (standard output)
        self._max = max_file_bytes
        self._retention = retention
        self._clock = clock
        self._fd: int | None = None
        self._size = 0
        self._head = Head(0, GENESIS, CURRENT)
        self._head_written: Head | None = None
        self._head_failing = False
        self._head_at = 0.0
        self._pruned_at = 0.0
        # what retention removed, for the writer to record (the trail's own `audit.pruned` records)
        self.pruned: list[dict[str, Any]] = []

    @property
    def current(self) -> Path:
        return self.directory / CURRENT

    def open(self) -> Recovered:
        """Create the directory, read back where the chain stood, cut off a torn write, open the file."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        state = self._recover()
        self._head = Head(state.seq, state.prev, CURRENT)
        self._fd = os.open(self.current, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size
        self._write_head()  # from the start: a trail without its head marker is a trail cut short
        self._prune(self._clock())
        return state

    @property
    def head_behind(self) -> bool:
        """Records reached the file since the head marker was last written."""
        return self._head != self._head_written

    def flush_head(self) -> None:
        """Bring the head marker up to the last record written (the writer calls this when idle)."""
        if self.head_behind:
            self._write_head()

    def close(self) -> None:
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None
        self._write_head()

    def append(self, sealed: list[Sealed]) -> int:
        """Write the lines in order, rotating before the file would pass its size; returns how many
        reached the file. A write the disk refused is cut back off: the file holds whole lines only."""
        now = self._clock()
        chunk: list[Sealed] = []
        size = 0
        written = 0
        for item in sealed:
            if self._size + size and self._size + size + len(item[0]) > self._max:
                if chunk and not self._write(chunk):
                    return written
                written += len(chunk)
                chunk, size = [], 0
                self._rotate(now)
            chunk.append(item)
            size += len(item[0])
        if chunk:
            if not self._write(chunk):
                return written
            written += len(chunk)
        if self._retention and now - self._pruned_at > PRUNE_EVERY:
            self._prune(now)
        if now - self._head_at >= HEAD_EVERY:
            self._write_head()
        return written

    # -- internals -------------------------------------------------------------------------------

    def _write(self, chunk: list[Sealed]) -> bool:
        if self._fd is None:
            raise OSError("the audit file is not open")
        data = b"".join([line for line, _, _, _ in chunk])
        before = self._size
        failure: OSError | None = None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            failure = exc
        if failure is None:
            self._size = before + len(data)
            if self._mirror is not None:
                self._copy(data)
            _, seq, digest, _ = chunk[-1]
            self._head = Head(seq, digest, CURRENT)
            return True
        log.error("audit: cannot write to %s: %s", self.current, failure.strerror or failure)
        try:
            os.ftruncate(self._fd, before)
        except OSError:
            log.exception("audit: cannot cut a partial write back off %s", self.current)
        return False

    def _copy(self, data: bytes) -> None:
        assert self._mirror is not None
        try:
            self._mirror.write(data)
            self._mirror.flush()
        except (OSError, ValueError) as exc:  # a closed or broken pipe: the file still has the records
            log.error("audit: cannot copy records to standard output: %s", exc)  # noqa: TRY400 (expected)
            self._mirror = None

    def _rotate(self, now: float) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
        os.rename(self.current, self.directory / rotated_name(now, self._head.seq))
        self._fd = os.open(self.current, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        self._size = 0
        self._write_head()
        self._prune(now)

    def _prune(self, now: float) -> None:
        """Delete rotated files older than the retention (never the current one), and say which."""
        self._pruned_at = now
        if not self._retention:
            return
        cutoff = now - self._retention
        victims = []
        for path in (p for p in audit_files(self.directory) if p.name != CURRENT):
            try:
                if path.stat().st_mtime < cutoff:
                    victims.append(path)
            except FileNotFoundError:
                continue
        if not victims:
            return
        line, _ = last_line(victims[-1])
        record = unseal(line)[0] if line else None
        through = record.get("seq") if record is not None else None
        for path in victims:
            path.unlink(missing_ok=True)
        log.info("audit: removed %d file(s) older than the retention", len(victims))
        self.pruned.append({"files": [p.name for p in victims], "through_seq": through, "when": now})

    def _recover(self) -> Recovered:
        """Where the chain stands, checked against the head marker the last run left."""
        state = self._last_on_disk()
        head = read_head(self.directory)
        if head is None:
            return replace(state, head_missing=state.seq > 0)
        if head.seq > state.seq:  # records the last run wrote are gone from the end
            return replace(state, missing_through=head.seq)
        return state

    def _last_on_disk(self) -> Recovered:
        """The last sealed record on disk (its seq and hash); a torn last write is cut off."""
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
                return Recovered(record["seq"], stored, torn)
            if line:
                # Damaged by hand: go on from the head marker, if any; `logs verify` shows the break.
                log.warning("audit: the last line of %s is not a sealed record", path)
                head = read_head(self.directory)
                if head is not None:
                    return Recovered(head.seq, head.hash, torn)
                return Recovered(0, GENESIS, torn)
        return Recovered(0, GENESIS, torn)

    def _write_head(self) -> None:
        self._head_at = self._clock()
        try:
            write_head(self.directory, self._head)
        except OSError as exc:
            if not self._head_failing:  # once per failing spell, not once a second
                log.warning("audit: cannot write the head marker: %s", exc.strerror or exc)
            self._head_failing = True
        else:
            self._head_written = self._head
            self._head_failing = False
