"""The hash chain: numbers, stamps and seals records in order, and rewinds when the disk refused some."""

from __future__ import annotations

from hashlib import sha256
from typing import Any

import orjson

from mcpctl.audit.schema import GENESIS, Clock, seal

# One record ready for the file: its line, its seq and hash (where the chain stands after it), and
# how many calls it stands for (1; an audit.dropped record's count; 0 for the trail's own records).
# A plain tuple: a NamedTuple's constructor costs twice as much, once per call through the host.
Sealed = tuple[bytes, int, str, int]


class Chain:
    """Runs on the event loop (sealing is CPU work: in a thread it would fight the loop for the GIL)."""

    def __init__(self, seq: int = 0, prev: str = GENESIS) -> None:
        self.seq = seq
        self.prev = prev
        self._clock = Clock()

    def stamp(self, when: float) -> str:
        return self._clock.stamp(when)

    def seal(self, record: dict[str, Any], weight: int = 1) -> Sealed:
        """Give `record` its seq, its RFC 3339 time and the previous record's hash, then seal it."""
        self.seq = seq = self.seq + 1
        record["seq"] = seq
        when = record["ts"]
        if type(when) is float:
            record["ts"] = self._clock.stamp(when)
        record["prev"] = self.prev
        # What schema.seal does, inlined: this runs once per call through the host.
        try:
            body = orjson.dumps(record, default=str)
        except TypeError:
            line, self.prev = seal(record)  # integers over 64 bits: the slow, general path
            return (line, seq, self.prev, weight)
        self.prev = digest = sha256(body).hexdigest()
        return (body[:-1] + b',"hash":"' + digest.encode() + b'"}\n', seq, digest, weight)

    def rewind(self, seq: int, prev: str) -> None:
        """Back to the last record that reached the file, so the chain never shows a gap that is not there."""
        self.seq, self.prev = seq, prev
