"""Newline framing for stdio: split a byte stream into lines, with a bound but no small limit."""

from __future__ import annotations

from dataclasses import dataclass

HEAD_KEPT = 256  # bytes of a discarded line kept, so the reader can still find its id


@dataclass(frozen=True)
class Oversized:
    """A line over the limit was discarded; `size` is how many bytes it had, `head` its start."""

    size: int
    head: bytes = b""


class LineSplitter:
    """Feed bytes, get complete lines back (without the newline).

    Peers break on stdio lines over 64 KiB; here the only limit is `max_line` (32 MiB by default),
    and a line over it is skipped and reported rather than ending the stream.
    """

    def __init__(self, max_line: int = 32 * 1024 * 1024) -> None:
        self._max = max_line
        self._buffer = bytearray()
        self._discarding = 0  # bytes skipped so far of an oversized line
        self._head = b""

    def feed(self, data: bytes) -> list[bytes | Oversized]:
        out: list[bytes | Oversized] = []
        start = 0
        while True:
            newline = data.find(b"\n", start)
            if newline < 0:
                self._keep(data[start:])
                return out
            piece = data[start:newline]
            if self._discarding:
                out.append(Oversized(self._discarding + len(piece), self._head))
                self._discarding = 0
            elif len(self._buffer) + len(piece) > self._max:
                out.append(
                    Oversized(len(self._buffer) + len(piece), bytes((self._buffer + piece)[:HEAD_KEPT]))
                )
                self._buffer.clear()
            elif self._buffer:
                self._buffer += piece
                out.append(_strip_cr(bytes(self._buffer)))
                self._buffer.clear()
            else:
                out.append(_strip_cr(piece))
            start = newline + 1

    def _keep(self, rest: bytes) -> None:
        if self._discarding:
            self._discarding += len(rest)
        elif len(self._buffer) + len(rest) > self._max:
            self._discarding = len(self._buffer) + len(rest)
            self._head = bytes((self._buffer + rest)[:HEAD_KEPT])
            self._buffer.clear()
        else:
            self._buffer += rest


def _strip_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line
