"""Reading the trail for people: filters (time, server, tool, principal, outcome) and per-tool stats."""

from __future__ import annotations

import heapq
import math
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, TypeVar

from mcpctl.audit.files import CURRENT, Line, audit_files, read_lines, trails
from mcpctl.audit.schema import CALL_KINDS, DROPPED, OK, parse_stamp, stamp
from mcpctl.config.fields import parse_duration

_K = TypeVar("_K")


def parse_when(value: str, now: float) -> float:
    """`1h`, `30m`, `7d` (that long ago) or an RFC 3339 / ISO 8601 time (local if it has no offset)."""
    try:
        return now - float(parse_duration(value))
    except (ValueError, TypeError):
        pass
    try:
        return parse_stamp(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a duration (30m, 1h, 7d) nor a time (2026-11-23T10:00:00Z)"
        ) from None


@dataclass(frozen=True)
class Filter:
    """Which records to show; every field left empty matches everything."""

    since: float | None = None
    until: float | None = None
    servers: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()  # globs over the tool name, prompt name or resource URI
    principals: tuple[str, ...] = ()  # globs
    outcomes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()  # globs: "tools/call", "auth.*"
    errors: bool = False
    # Timestamps are fixed-width RFC 3339 UTC, so comparing the strings compares the times.
    since_stamp: str | None = field(init=False, default=None)
    until_stamp: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.since is not None:
            object.__setattr__(self, "since_stamp", stamp(self.since))
        if self.until is not None:
            object.__setattr__(self, "until_stamp", stamp(self.until))

    def match(self, record: dict[str, Any]) -> bool:
        ts = record.get("ts")
        if not isinstance(ts, str) or not self._in_time(ts):
            return False
        outcome = record.get("outcome")
        return not (
            (self.servers and record.get("server") not in self.servers)
            or (self.tools and not _glob(record.get("tool"), self.tools))
            or (self.principals and not _glob(record.get("principal"), self.principals))
            or (self.kinds and not _glob(record.get("kind"), self.kinds))
            or (self.outcomes and outcome not in self.outcomes)
            or (self.errors and (outcome is None or outcome == OK))
        )

    def _in_time(self, ts: str) -> bool:
        return (self.since_stamp is None or ts >= self.since_stamp) and (
            self.until_stamp is None or ts <= self.until_stamp
        )


def _glob(value: Any, patterns: tuple[str, ...]) -> bool:
    return isinstance(value, str) and any(fnmatchcase(value, p) for p in patterns)


def matching(directory: Path, flt: Filter) -> Iterator[Line]:
    """Matching records, oldest first; files last written before `since` are not even opened.

    Several trails under `directory` (a fleet's) read as one, in the order of the records' times.
    """
    found = trails(directory)
    if len(found) > 1:
        yield from heapq.merge(*(_matching(trail, flt) for trail in found), key=_when)
    else:
        yield from _matching(found[0] if found else directory, flt)


def _when(line: Line) -> str:
    return str((line.record or {}).get("ts", ""))


def _matching(directory: Path, flt: Filter) -> Iterator[Line]:
    for path in audit_files(directory):
        if flt.since is not None and path.name != CURRENT:
            try:
                if os.stat(path).st_mtime < flt.since:
                    continue
            except FileNotFoundError:
                continue
        for line in read_lines(path):
            if line.record is not None and flt.match(line.record):
                yield line


def last(directory: Path, flt: Filter, count: int, *, rotated_only: bool = False) -> list[Line]:
    """The last `count` matching records, reading files newest first and stopping when it has them
    (of several trails: the last `count` of their last `count`, in the order of their times)."""
    several = trails(directory)
    if len(several) > 1:
        merged = heapq.merge(*(_last(t, flt, count, rotated_only=rotated_only) for t in several), key=_when)
        return list(deque(merged, maxlen=count))
    return _last(several[0] if several else directory, flt, count, rotated_only=rotated_only)


def _last(directory: Path, flt: Filter, count: int, *, rotated_only: bool) -> list[Line]:
    found: deque[Line] = deque()
    files = audit_files(directory)
    if rotated_only:
        files = [p for p in files if p.name != CURRENT]
    for path in reversed(files):
        if flt.since is not None and path.name != CURRENT and _older(path, flt.since):
            break
        hits = (ln for ln in read_lines(path) if ln.record is not None and flt.match(ln.record))
        chunk = deque(hits, maxlen=count)
        found.extendleft(reversed(chunk))
        if len(found) >= count:
            break
    while len(found) > count:
        found.popleft()
    return list(found)


def _older(path: Path, when: float) -> bool:
    try:
        return os.stat(path).st_mtime < when
    except FileNotFoundError:
        return True


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of values already sorted."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def stats(records: Iterable[dict[str, Any]], flt: Filter) -> dict[str, Any]:
    """Calls, errors, error rate and p50/p95 duration overall, per tool and per principal."""
    by_tool: dict[tuple[str, str], _Group] = {}
    by_principal: dict[str, _Group] = {}
    total = _Group()
    outcomes: dict[str, int] = {}
    dropped = 0
    for record in records:
        kind = record.get("kind")
        if kind == DROPPED and isinstance(record.get("count"), int):
            dropped += record["count"]
        if kind not in CALL_KINDS:
            continue
        outcome = str(record.get("outcome"))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        duration = record.get("duration_ms")
        ms = float(duration) if isinstance(duration, int | float) else None
        failed = outcome != OK
        total.add(failed, ms)
        key = (str(record.get("server") or ""), str(record.get("tool") or ""))
        by_tool.setdefault(key, _Group()).add(failed, ms)
        by_principal.setdefault(str(record.get("principal") or ""), _Group()).add(failed, ms)
    return {
        "since": stamp(flt.since) if flt.since is not None else None,
        "until": stamp(flt.until if flt.until is not None else time.time()),
        **total.summary(),
        "dropped": dropped,
        "by_outcome": dict(sorted(outcomes.items(), key=lambda kv: -kv[1])),
        "by_tool": [{"tool": t, "server": s or None, **g.summary()} for (s, t), g in _busiest(by_tool)],
        "by_principal": [{"principal": p, **g.summary()} for p, g in _busiest(by_principal)],
    }


def _busiest(groups: dict[_K, _Group]) -> list[tuple[_K, _Group]]:
    return sorted(groups.items(), key=lambda kv: -kv[1].calls)


class _Group:
    __slots__ = ("calls", "durations", "errors")

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.durations: list[float] = []

    def add(self, failed: bool, ms: float | None) -> None:
        self.calls += 1
        self.errors += failed
        if ms is not None:
            self.durations.append(ms)

    def summary(self) -> dict[str, Any]:
        self.durations.sort()
        return {
            "calls": self.calls,
            "errors": self.errors,
            "error_rate": round(self.errors / self.calls, 4) if self.calls else 0.0,
            "p50_ms": percentile(self.durations, 50),
            "p95_ms": percentile(self.durations, 95),
        }
