"""A child's stderr: always drained, kept as a ring of recent lines and appended to a log file."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from pathlib import Path
from typing import BinaryIO

RECENT_LINES = 200
MAX_PENDING = 4 * 1024 * 1024  # bytes waiting for the disk before we start dropping (and counting)
MAX_FILE = 10 * 1024 * 1024  # rotate the log file past this size, keeping one older file


class StderrLog:
    """Never lets a child's stderr pipe fill up: reading is unconditional, the disk is best effort.

    Lines go to a ring buffer at once (for `mcpctl servers` and error messages); file writes
    happen on a worker thread so a slow disk never stalls the event loop. If the disk falls
    behind by more than MAX_PENDING bytes the overflow is dropped and the count is written.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self.recent: deque[str] = deque(maxlen=RECENT_LINES)
        self._partial = b""
        self._pending = bytearray()
        self._dropped = 0
        self._flusher: asyncio.Task[None] | None = None
        self._file: BinaryIO | None = None

    def feed(self, data: bytes) -> None:
        self._remember(data)
        if self._path is None:
            return
        if len(self._pending) + len(data) > MAX_PENDING:
            self._dropped += len(data)
        else:
            self._pending += data
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    def note(self, text: str) -> None:
        """A line from mcpctl itself about this child (exit codes, skipped output)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.feed(f"[mcpctl {stamp}] {text}\n".encode())

    @property
    def path(self) -> Path | None:
        """The log file the lines are appended to (None: kept in memory only)."""
        return self._path

    def tail(self, count: int = 20) -> list[str]:
        return list(self.recent)[-count:]

    async def aclose(self) -> None:
        if self._flusher is not None:
            await self._flusher
        if self._file is not None:
            await asyncio.to_thread(self._file.close)
            self._file = None

    def _remember(self, data: bytes) -> None:
        text = self._partial + data
        *lines, self._partial = text.split(b"\n")
        if len(self._partial) > 4096:  # a runaway line without newline: show it in pieces
            lines.append(self._partial)
            self._partial = b""
        for line in lines:
            self.recent.append(line.decode("utf-8", "replace").rstrip("\r")[:4096])

    async def _flush(self) -> None:
        while self._pending or self._dropped:
            data = bytes(self._pending)
            self._pending.clear()
            if self._dropped:
                data += (
                    f"[mcpctl] {self._dropped} bytes of stderr dropped: the disk could not keep up\n".encode()
                )
                self._dropped = 0
            await asyncio.to_thread(self._write, data)

    def _write(self, data: bytes) -> None:
        assert self._path is not None
        if self._file is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self._path.open("ab")
        if self._file.tell() + len(data) > MAX_FILE:
            self._file.close()
            self._path.replace(self._path.with_suffix(self._path.suffix + ".1"))
            self._file = self._path.open("ab")
        self._file.write(data)
        self._file.flush()
