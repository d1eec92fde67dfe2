"""A child's stderr: always drained, scrubbed of known secrets, kept as recent lines and in a log file."""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from mcpctl.paths import ensure_private_dir

RECENT_LINES = 200
RECENT_CHARS = 4096  # of each line, in the ring
MAX_LINE = 64 * 1024  # a runaway line without a newline is cut into pieces of this size
MAX_PENDING = 4 * 1024 * 1024  # bytes waiting for the disk before we start dropping (and counting)
MAX_FILE = 10 * 1024 * 1024  # rotate the log file past this size, keeping one older file


class StderrLog:
    """Never lets a child's stderr pipe fill up: reading is unconditional, the disk is best effort.

    Each line is scrubbed (`scrub`: the secret values mcpctl gave the child) before it goes
    anywhere: to a ring buffer at once (for `mcpctl servers` and error messages), and to the log
    file (mode 0600) from a worker thread, so a slow disk never stalls the event loop. If the
    disk falls behind by more than MAX_PENDING bytes the overflow is dropped and counted.
    """

    def __init__(self, path: Path | None, scrub: Callable[[str], str] | None = None) -> None:
        self._path = path
        self._scrub = scrub
        self.recent: deque[str] = deque(maxlen=RECENT_LINES)
        self._partial = b""
        self._pending = bytearray()
        self._dropped = 0
        self._flusher: asyncio.Task[None] | None = None
        self._file: BinaryIO | None = None

    def feed(self, data: bytes) -> None:
        text = self._partial + data
        *lines, self._partial = text.split(b"\n")
        while len(self._partial) > MAX_LINE:
            lines.append(self._partial[:MAX_LINE])
            self._partial = self._partial[MAX_LINE:]
        if lines:
            self._take(lines)

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
        if self._partial:  # the last line, without its newline
            partial, self._partial = self._partial, b""
            self._take([partial])
        if self._flusher is not None:
            await self._flusher
        if self._file is not None:
            await asyncio.to_thread(self._file.close)
            self._file = None

    def _take(self, lines: list[bytes]) -> None:
        scrub = self._scrub
        out = bytearray()
        for raw in lines:
            text = raw.decode("utf-8", "replace").rstrip("\r")
            clean = scrub(text) if scrub is not None else text
            self.recent.append(clean[:RECENT_CHARS])
            if self._path is not None:
                out += raw if clean is text else clean.encode()  # the bytes as sent, unless scrubbed
                out += b"\n"
        if self._path is None:
            return
        if len(self._pending) + len(out) > MAX_PENDING:
            self._dropped += len(out)
        else:
            self._pending += out
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

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
            ensure_private_dir(self._path.parent)
            self._file = _open_private(self._path)
        if self._file.tell() + len(data) > MAX_FILE:
            self._file.close()
            self._path.replace(self._path.with_suffix(self._path.suffix + ".1"))
            self._file = _open_private(self._path)
        self._file.write(data)
        self._file.flush()


def _open_private(path: Path) -> BinaryIO:
    """Append to `path`, readable by the user only (what a child prints may be anybody's business)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)  # a file an older version created 0644
    return os.fdopen(fd, "ab")
