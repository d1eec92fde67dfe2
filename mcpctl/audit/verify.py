"""`mcpctl logs verify`: walks the hash chain across files and names each break (edited, deleted, ...)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from mcpctl.audit.files import CURRENT, Line, audit_files, last_line, read_head, read_lines
from mcpctl.audit.schema import DROPPED, GENESIS, PRUNED, RECOVERED
from mcpctl.audit.sink import HEAD_EVERY
from mcpctl.errors import McpctlError

SETTLE_SECONDS: Final = 1.0  # a torn last line still torn after this is not a write in progress


class TrailBroken(McpctlError):
    """`mcpctl logs verify` found records changed, removed, added or moved after they were written."""


@dataclass(frozen=True)
class Problem:
    """One break in the trail, where it shows (file and 1-based lines), and what it means."""

    kind: str  # "edited", "deleted", "inserted" or "reordered"
    file: str
    line: int
    seq: int | None
    detail: str
    last_line: int | None = None  # a block of consecutive lines with the same break

    def __str__(self) -> str:
        where = f"lines {self.line}-{self.last_line}" if self.last_line else f"line {self.line}"
        return f"{self.file} {where}: {self.kind}: {self.detail}"


@dataclass
class Report:
    directory: str
    files: list[str] = field(default_factory=list)
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head: str | None = None  # the hash of the last record: anchor it elsewhere to catch a rewrite
    dropped: int = 0  # calls the writer could not record, as its audit.dropped records say
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


@dataclass(frozen=True)
class _Entry:
    line: Line
    seq: int | None
    prev: str
    hash: str


_Finding = tuple[str, _Entry, str]  # kind, the record it shows at, detail


def verify(directory: Path) -> Report:
    report = Report(str(directory))
    files = audit_files(directory)
    report.files = [p.name for p in files]
    entries: list[_Entry] = []
    pruned_through = 0
    for path in files:
        if path.name == CURRENT:
            _settle(path)  # the current file's last line may be a write in progress
        for line in read_lines(path, partial=True):
            entry = _entry(line)
            if line.torn:
                detail = (
                    f"the last line is cut short ({len(line.raw)} byte(s) with no end of line): the rest "
                    "of it was removed, or the host crashed while writing it"
                )
                report.problems.append(Problem("deleted", path.name, line.number, None, detail))
            elif entry is None:
                detail = "not a sealed audit record (unreadable, or its hash was removed)"
                report.problems.append(Problem("edited", path.name, line.number, None, detail))
            elif not line.intact:
                report.problems.append(
                    Problem("edited", path.name, line.number, entry.seq, "changed after it was written")
                )
            if entry is None:
                continue
            entries.append(entry)
            pruned_through = max(pruned_through, _bookkeeping(line, entry.seq, report))
    report.records = len(entries)
    findings: list[_Finding] = []
    if entries:
        report.first_seq, report.last_seq, report.head = entries[0].seq, entries[-1].seq, entries[-1].hash
        findings += _chain(entries)
        findings += _start(entries[0], pruned_through, report)
    findings += _head(directory, entries, report)
    for kind, entry, detail in findings:
        report.problems.append(Problem(kind, entry.line.path.name, entry.line.number, entry.seq, detail))
    report.problems = _collapse(report.problems, report.files)
    return report


def _entry(line: Line) -> _Entry | None:
    record = line.record
    if record is None or line.stored_hash is None or not isinstance(record.get("prev"), str):
        return None
    seq = record.get("seq")
    return _Entry(line, seq if isinstance(seq, int) else None, record["prev"], line.stored_hash)


def _settle(path: Path) -> None:
    """Give a write in progress at the end of the file the moment it needs to finish."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while last_line(path)[1] and time.monotonic() < deadline:
        time.sleep(0.02)


def _bookkeeping(line: Line, seq: int | None, report: Report) -> int:
    """Takes note of the trail's own records; returns the last seq retention removed (or 0)."""
    record = line.record or {}
    kind = record.get("kind")
    if kind == DROPPED and isinstance(record.get("count"), int):
        report.dropped += record["count"]
    elif kind == RECOVERED:
        _recovered(line, record, seq, report)
    elif kind == PRUNED and isinstance(record.get("through_seq"), int):
        return int(record["through_seq"])
    return 0


def _recovered(line: Line, record: dict[str, Any], seq: int | None, report: Report) -> None:
    """What the host found when it started again: a crash's torn write (a note), or an end of the
    trail that was not the one it left (a deletion it could see only then)."""
    cut = record.get("discarded_bytes")
    if cut:
        report.notes.append(f"seq {seq}: {cut} byte(s) of a write cut short by a crash were discarded")
    first, last = record.get("missing_from"), record.get("missing_through")
    if isinstance(first, int) and isinstance(last, int):
        detail = (
            f"{_missing(first - 1, last + 1)} removed from the end of the trail while the host was "
            "stopped (head.json named the last of them when it started again)"
        )
        report.problems.append(Problem("deleted", line.path.name, line.number, seq, detail))
    if record.get("head_missing") is True:
        detail = (
            "head.json was removed while the host was stopped: records removed from the end before "
            "this one cannot be ruled out"
        )
        report.problems.append(Problem("deleted", line.path.name, line.number, seq, detail))


def _chain(entries: list[_Entry]) -> list[_Finding]:
    """Each record must chain to the one before it; where one does not, say why from what is found
    elsewhere: the record it chains to, the record that chains to it, and the numbering."""
    index: dict[str, int] = {}
    successor: dict[str, int] = {}
    for i, entry in enumerate(entries):
        index.setdefault(entry.hash, i)
        successor.setdefault(entry.prev, i)
    findings: list[_Finding] = []
    seen: set[tuple[str, int]] = set()
    for i in range(1, len(entries)):
        if entries[i].prev != entries[i - 1].hash:
            kind, at, detail = _why(entries, i, index, successor)
            if (kind, id(at)) not in seen:
                seen.add((kind, id(at)))
                findings.append((kind, at, detail))
    return findings


def _why(  # noqa: PLR0911 - one answer per kind of break, in the order they are told apart
    entries: list[_Entry], i: int, index: dict[str, int], successor: dict[str, int]
) -> _Finding:
    """Why record i does not chain to record i-1."""
    cur, before = entries[i], entries[i - 1]
    if index[cur.hash] != i:
        return "inserted", cur, f"a copy of line {entries[index[cur.hash]].line.number}"
    if index[before.hash] != i - 1:  # `before` is a pasted copy, already named: it explains this break
        return "inserted", before, f"a copy of line {entries[index[before.hash]].line.number}"
    chained = index.get(cur.prev)  # the record this one says came before it
    follower = successor.get(cur.hash)  # the record that says this one came before it
    out_of_place = "reordered", cur, f"seq {cur.seq} is out of its place in the chain"
    if (follower is not None and follower < i) or (chained is not None and chained > i):
        return out_of_place
    real_next = successor.get(before.hash)
    if real_next is not None and real_next != i:
        if follower is None and i != len(entries) - 1:
            return (
                "inserted",
                cur,
                f"nothing chains to it; line {entries[real_next].line.number} is what follows line "
                f"{before.line.number}",
            )
        return out_of_place
    if chained is not None and chained < i - 1:
        between = entries[chained + 1 : i]
        first = between[0]
        if any(successor.get(e.hash) is not None for e in between):
            return "reordered", first, f"seq {first.seq} is out of its place in the chain"
        return "inserted", first, f"{len(between)} record(s) that are not part of the chain"
    if chained is None and before.seq is not None and cur.seq == before.seq + 1:
        return (
            "edited",
            before,
            f"changed and re-hashed: line {cur.line.number} chained to a different record",
        )
    if chained is None:
        return "deleted", cur, f"{_missing(before.seq, cur.seq)} missing before this record"
    return "edited", cur, "its link to the previous record was changed"


def _missing(before: int | None, after: int | None) -> str:
    if before is None or after is None or after <= before + 1:
        return "record(s)"
    count = after - before - 1
    span = f"seq {before + 1}" if count == 1 else f"seq {before + 1}-{after - 1}"
    return f"{count} record(s) ({span})"


def _start(first: _Entry, pruned_through: int, report: Report) -> list[_Finding]:
    """The trail starts at seq 1, or where retention's last `audit.pruned` record says it does:
    retention removes whole rotated files and always says so in the chain."""
    if first.prev == GENESIS:
        return []
    if pruned_through and first.seq is not None and first.seq > pruned_through + 1:
        return [
            ("deleted", first, f"{_missing(pruned_through, first.seq)} missing after those retention removed")
        ]
    if pruned_through:
        report.notes.append(f"the trail starts at seq {first.seq}: older records were removed (retention)")
        return []
    detail = (
        f"{_missing(0, first.seq)} missing before this record, and no audit.pruned record says "
        "retention removed them"
    )
    return [("deleted", first, detail)]


def _head(directory: Path, entries: list[_Entry], report: Report) -> list[_Finding]:
    """The head marker names the last record the writer wrote: records cut off the end show here."""
    head = read_head(directory)
    if head is None:
        detail = (
            "head.json is missing (the host keeps it beside the trail from its first start): records "
            "removed from the end cannot be ruled out"
        )
        return [("deleted", entries[-1], detail)] if entries else []
    if not entries:
        if head.seq == 0:
            return []
        detail = f"every record is missing (head.json says the writer wrote seq {head.seq})"
        report.problems.append(Problem("deleted", CURRENT, 0, head.seq, detail))
        return []
    by_seq = {e.seq: e for e in entries if e.seq is not None}
    newest = by_seq[max(by_seq)] if by_seq else entries[-1]
    if newest.seq is not None and newest.seq > head.seq:
        # The head marker lags the file while the host writes (and stays behind if it was killed).
        report.notes.append(
            f"unverifiable: seq {head.seq + 1}-{newest.seq} were written after head.json was last "
            f"updated (at most {HEAD_EVERY:g} s behind a running host): records removed from the very "
            "end since then would not show"
        )
    entry = by_seq.get(head.seq)
    if entry is not None:
        edited = entry.hash != head.hash
        return (
            [("edited", entry, "not the record the writer wrote with this seq (head.json)")] if edited else []
        )
    if newest.seq is None or newest.seq > head.seq:
        return []
    missing = head.seq - newest.seq
    return [
        (
            "deleted",
            newest,
            f"{missing} record(s) missing after this one (head.json: the writer wrote seq {head.seq})",
        )
    ]


def _collapse(problems: list[Problem], files: list[str]) -> list[Problem]:
    """In file order; consecutive lines with the same kind of break (a moved or pasted block) are one."""
    order = {name: i for i, name in enumerate(files)}
    out: list[Problem] = []
    for p in sorted(problems, key=lambda p: (order.get(p.file, len(order)), p.line)):
        prev = out[-1] if out else None
        if (
            prev is not None
            and p.kind in ("reordered", "inserted")
            and (prev.kind, prev.file) == (p.kind, p.file)
            and p.line == (prev.last_line or prev.line) + 1
        ):
            out[-1] = replace(prev, last_line=p.line)
            continue
        out.append(p)
    return out
