"""Standard streams: newline-delimited JSON in (any line length) and out, diagnostics on stderr."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable

from mcpctl.demo.wire import JsonObject

_READ_SIZE = 1 << 20


def read_stdin(post: Callable[[bytes | None], None]) -> None:
    """Thread body: split stdin into lines of any length, then post None at end of file.

    os.read on the raw descriptor keeps this thread off sys.stdin's buffer lock, which a daemon
    thread would still hold at interpreter exit; it also works when stdin is a file, not a pipe.
    """
    buffer = bytearray()
    scan_from = 0
    try:
        while chunk := os.read(0, _READ_SIZE):
            buffer += chunk
            while (end := buffer.find(b"\n", scan_from)) >= 0:
                post(bytes(buffer[:end]))
                del buffer[: end + 1]
                scan_from = 0
            scan_from = len(buffer)  # never rescan a long partial line
        if buffer.strip():
            post(bytes(buffer))
        post(None)
    except (OSError, RuntimeError):  # RuntimeError: the event loop is gone; nothing left to tell
        pass


class StdoutWriter:
    """Writes one JSON message per line and flushes it, so nothing sits in a buffer."""

    def __init__(self, noise: str | None) -> None:
        self.noise = noise.encode() + b"\n" if noise else b""
        self.broken = False
        if self.noise:
            self._write(self.noise)

    def send(self, message: JsonObject) -> None:
        # ensure_ascii: only \n may end a line, but some readers also split on U+2028 and friends.
        self._write(self.noise + json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def _write(self, data: bytes) -> None:
        if self.broken:
            return
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except OSError:  # the client closed our stdout: treat like end of input
            self.broken = True


def warn(message: str, *, tag: str = "mcp-server") -> None:
    """Diagnostics go to stderr; stdout carries protocol messages only."""
    with contextlib.suppress(OSError):
        os.write(2, f"[{tag}] {message}\n".encode())
