"""Server-Sent Events framing: encode events for the edge, decode a stream for clients."""

from __future__ import annotations

from dataclasses import dataclass

KEEPALIVE = b": keepalive\n\n"


def encode_event(data: bytes, event: str | None = None, event_id: str | None = None) -> bytes:
    """One SSE event. JSON from `dumps` has no newlines, so `data` is a single line."""
    head = b""
    if event_id is not None:
        head += b"id: " + event_id.encode() + b"\n"
    if event is not None:
        head += b"event: " + event.encode() + b"\n"
    return head + b"data: " + data + b"\n\n"


@dataclass
class Event:
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental SSE parser (WHATWG rules): feed text chunks, get complete events.

    Linear in the input however it is chunked: a partial line is kept as pieces, never rescanned.
    """

    def __init__(self) -> None:
        self._partial: list[str] = []  # the current line so far (no line ending seen yet)
        self._skip_lf = False  # the last chunk ended in CR: an LF opening the next one completes a CRLF
        self._started = False  # a byte order mark is ignored once, at the start of the stream
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        # The id to resume from (Last-Event-ID): updated when an event ends, not when its id line
        # arrives, so a stream cut mid-event is resumed from before that event.
        self.last_event_id: str | None = None
        # The server's `retry:` (milliseconds): how long to wait before reconnecting.
        self.reconnect_ms: int | None = None

    def feed(self, chunk: str) -> list[Event]:
        if not chunk:
            return []
        if not self._started:
            self._started = True
            chunk = chunk.removeprefix("\ufeff")
        events: list[Event] = []
        pos, size = 0, len(chunk)
        if self._skip_lf and chunk.startswith("\n"):
            pos = 1
        self._skip_lf = False
        while pos < size:
            end = _line_end(chunk, pos)
            if end < 0:
                self._partial.append(chunk[pos:])
                break
            line = chunk[pos:end]
            if self._partial:
                self._partial.append(line)
                line = "".join(self._partial)
                self._partial.clear()
            if chunk[end] == "\n":
                pos = end + 1
            elif end + 1 < size:
                pos = end + 2 if chunk[end + 1] == "\n" else end + 1
            else:
                # A CR at the end of a chunk ends the line now (the event must not wait for more
                # data); an LF opening the next chunk is then the second half of a CRLF.
                self._skip_lf = True
                pos = size
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> Event | None:
        if line == "":
            if self._id is not None:
                self.last_event_id = self._id
            if not self._data:
                self._event = ""
                return None
            event = Event("\n".join(self._data), self._event or "message", self._id, self._retry)
            self._data, self._event, self._retry = [], "", None
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():  # isdigit alone admits "²"
            self._retry = self.reconnect_ms = int(value)
        return None


def _line_end(text: str, start: int) -> int:
    """Where the first CR or LF at or after `start` is, or -1; never scans past the first LF."""
    lf = text.find("\n", start)
    cr = text.find("\r", start, lf if lf >= 0 else len(text))
    return cr if cr >= 0 else lf
