"""Standard streams: newline-delimited JSON in (any line length) and out, diagnostics on stderr."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable

from mcpctl.demo.wire import JsonObject

_READ_SIZE = 1 << 20
_ENCODER = json.JSONEncoder(separators=(",", ":"))  # one for all: json.dumps makes one per call


def read_stdin(post: Callable[[list[bytes] | None], None]) -> None:
    """Thread body: split stdin into lines of any length, post each read's lines as one list (one
    wake-up of the event loop per read, not per line), then post None at end of file.

    os.read on the raw descriptor keeps this thread off sys.stdin's buffer lock, which a daemon
    thread would still hold at interpreter exit; it also works when stdin is a file, not a pipe.
    """
    buffer = bytearray()
    scan_from = 0
    try:
        while chunk := os.read(0, _READ_SIZE):
            buffer += chunk
            lines = []
            start = 0
            while (end := buffer.find(b"\n", scan_from)) >= 0:
                lines.append(bytes(buffer[start:end]))
                start = scan_from = end + 1
            if start:
                del buffer[:start]
            scan_from = len(buffer)  # never rescan a long partial line
            if lines:
                post(lines)
        if buffer.strip():
            post([bytes(buffer)])
        post(None)
    except (OSError, RuntimeError):  # RuntimeError: the event loop is gone; nothing left to tell
        pass


class StdoutWriter:
    """Writes one JSON message per line; what one turn of the event loop sends goes out in one
    write at the end of that turn, so nothing waits longer in a buffer (a write per message cost a
    system call each)."""

    def __init__(self, noise: str | None, loop: asyncio.AbstractEventLoop) -> None:
        self.noise = noise.encode() + b"\n" if noise else b""
        self.broken = False
        self._loop = loop
        self._pending: list[bytes] = []
        if self.noise:
            self._write(self.noise)

    def send(self, message: JsonObject) -> None:
        # ensure_ascii (the default): only \n may end a line, but some readers also split on U+2028.
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending += (self.noise, _encode(message), b"\n")

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._write(data)

    def _write(self, data: bytes) -> None:
        if self.broken:
            return
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except OSError:  # the client closed our stdout: treat like end of input
            self.broken = True


def _encode(message: JsonObject) -> bytes:
    return _ENCODER.encode(message).encode()


def warn(message: str, *, tag: str = "mcp-server") -> None:
    """Diagnostics go to stderr; stdout carries protocol messages only."""
    with contextlib.suppress(OSError):
        os.write(2, f"[{tag}] {message}\n".encode())
