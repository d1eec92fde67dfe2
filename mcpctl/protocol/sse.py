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
    """Incremental SSE parser (WHATWG rules): feed text chunks, get complete events."""

    def __init__(self) -> None:
        self._pending = ""
        self._scanned = 0
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self.last_event_id: str | None = None

    def feed(self, chunk: str) -> list[Event]:
        self._pending += chunk
        events: list[Event] = []
        while True:
            cut = self._line_end()
            if cut is None:
                return events
            line, self._pending = self._pending[: cut[0]], self._pending[cut[1] :]
            self._scanned = 0
            event = self._line(line)
            if event is not None:
                events.append(event)

    def _line_end(self) -> tuple[int, int] | None:
        """Where the first line ends (CRLF, LF or CR) and the next begins; resumes its scan."""
        text = self._pending
        lf = text.find("\n", self._scanned)
        cr = text.find("\r", self._scanned, lf if lf >= 0 else len(text))
        if cr < 0:
            if lf < 0:
                self._scanned = len(text)
                return None
            return lf, lf + 1
        if cr + 1 == len(text):
            self._scanned = cr  # a CR at the end may be the first half of a CRLF
            return None
        return cr, cr + (2 if text[cr + 1] == "\n" else 1)

    def _line(self, line: str) -> Event | None:
        if line == "":
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
            self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

