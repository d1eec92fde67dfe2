"""The audit record format: version, kinds, outcomes, timestamps, and the hash that seals each line."""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import UTC, datetime
from typing import Any, Final

import orjson

VERSION: Final = 1
GENESIS: Final = "0" * 64  # `prev` of the very first record
CALL_KINDS: Final = frozenset({"tools/call", "prompts/get", "resources/read", "completion/complete"})
# Records the audit trail writes about itself.
DROPPED: Final = "audit.dropped"
PRUNED: Final = "audit.pruned"
RECOVERED: Final = "audit.recovered"
OK: Final = "ok"

_SEAL = re.compile(rb',"hash":"([0-9a-f]{64})"\}\s*$')


def seal(record: dict[str, Any]) -> tuple[bytes, str]:
    """The line to write for `record` (which carries `prev`), and its hash.

    The hash is SHA-256 over the record's JSON exactly as written, before `,"hash":"..."` is
    appended as its last member: a verifier recomputes it from the line's bytes, not by
    re-serialising, so it does not depend on any one JSON library.
    """
    body = dumps(record)
    digest = hashlib.sha256(body).hexdigest()
    return body[:-1] + b',"hash":"' + digest.encode() + b'"}\n', digest


def unseal(line: bytes) -> tuple[dict[str, Any] | None, str | None, bool]:
    """(record, stored hash, whether the hash matches the line) for one line as read from a file."""
    match = _SEAL.search(line)
    record = loads(line)
    if not isinstance(record, dict):
        return None, None, False
    if match is None:
        return record, None, False
    body = line[: match.start()] + b"}"
    stored = match.group(1).decode()
    return record, stored, hashlib.sha256(body).hexdigest() == stored


def loads(line: bytes) -> Any:
    """One JSON value as written to the trail, or None if the line is not JSON.

    orjson refuses integers past a double's range (309 digits and more), which a client's JSON-RPC
    id can be; the standard library reads them, so it takes over where orjson gives up. (Integers
    past 64 bits come back from orjson as floats: fine for reading, since hashes cover the bytes
    and `logs --json` prints lines as written.)
    """
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(line)
    except ValueError:  # not JSON, or a number past the interpreter's int-digits limit
        return None


def dumps(value: Any) -> bytes:
    """Compact JSON of a record or any part of one, integers of any size included."""
    try:
        return orjson.dumps(value, default=str)
    except TypeError:
        # Integers over 64 bits: the standard library writes them; a verifier only hashes bytes.
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


class Clock:
    """RFC 3339 UTC timestamps with milliseconds, formatting each second only once."""

    _MILLIS: Final = tuple(f".{ms:03d}Z" for ms in range(1000))

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def stamp(self, when: float) -> str:
        second, millis = divmod(int(when * 1000), 1000)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return self._prefix + self._MILLIS[millis]


def parse_stamp(value: str) -> float:
    """Seconds since the epoch from an RFC 3339 timestamp (a naive one is taken as local time)."""
    parsed = datetime.fromisoformat(value)
    return parsed.timestamp()


def stamp(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def is_error(record: dict[str, Any]) -> bool:
    outcome = record.get("outcome")
    return outcome is not None and outcome != OK
