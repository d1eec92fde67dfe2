"""`mcpctl logs verify`: walks the hash chain across files and names each break (edited, deleted, ...)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from mcpctl.audit.files import CURRENT, Line, audit_files, read_head, read_lines
from mcpctl.audit.schema import DROPPED, GENESIS, PRUNED, RECOVERED


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


def verify(directory: Path) -> Report:
    report = Report(str(directory))
    files = audit_files(directory)
    report.files = [p.name for p in files]
    entries: list[_Entry] = []
    found: set[tuple[str, int, str]] = set()

    def problem(kind: str, line: Line, seq: int | None, detail: str) -> None:
        if (kind, line.path.name, line.number) not in found:
            found.add((kind, line.path.name, line.number))
            report.problems.append(Problem(kind, line.path.name, line.number, seq, detail))

    pruned_through: int | None = None
    for path in files:
        # The current file's last line may be a write in progress; a rotated file's is final.
        for line in read_lines(path, partial=path.name != CURRENT):
            entry = _entry(line)
            record = line.record
            seq = record.get("seq") if record is not None else None
            seq = seq if isinstance(seq, int) else None
            if entry is None:
                problem("edited", line, seq, "not a sealed audit record (unreadable, or its hash was removed)")
                continue
            if not line.intact:
                problem("edited", line, seq, "its content no longer matches its hash")
            entries.append(entry)
            kind = record.get("kind") if record is not None else None
            if kind == DROPPED and isinstance(record, dict) and isinstance(record.get("count"), int):
                report.dropped += record["count"]
            elif kind == PRUNED and isinstance(record, dict) and isinstance(record.get("through_seq"), int):
                pruned_through = max(pruned_through or 0, record["through_seq"])
            elif kind == RECOVERED and isinstance(record, dict):
                report.notes.append(
                    f"seq {seq}: {record.get('discarded_bytes')} byte(s) of an incomplete write were discarded after a crash"
                )
    report.records = len(entries)
    if entries:
        report.first_seq, report.last_seq, report.head = entries[0].seq, entries[-1].seq, entries[-1].hash
        _check_chain(entries, problem)
        _check_start(entries[0], pruned_through, report, problem)
    _check_head(directory, entries, problem, report)
    report.problems = _collapse(report.problems, report.files)
    return report


def _entry(line: Line) -> _Entry | None:
    record = line.record
    if record is None or line.stored_hash is None or not isinstance(record.get("prev"), str):
        return None
    seq = record.get("seq")
    return _Entry(line, seq if isinstance(seq, int) else None, record["prev"], line.stored_hash)


def _check_chain(entries: list[_Entry], problem: Any) -> None:
    """Each record must chain to the one before it; where one does not, say why, from what is found
    elsewhere: the record it chains to (moved?), the record that chains to it, and the numbering."""
    index: dict[str, int] = {}
    successor: dict[str, int] = {}
    for i, entry in enumerate(entries):
        index.setdefault(entry.hash, i)
        successor.setdefault(entry.prev, i)
    last = len(entries) - 1
    for i in range(1, len(entries)):
        cur, before = entries[i], entries[i - 1]
        if cur.prev == before.hash:
            continue
        if index[cur.hash] != i:
            problem("inserted", cur.line, cur.seq, f"a copy of line {entries[index[cur.hash]].line.number}")
            continue
        chained = index.get(cur.prev)  # the record this one says came before it
        follower = successor.get(cur.hash)  # the record that says this one came before it
        if (follower is not None and follower < i) or (chained is not None and chained > i):
            problem("reordered", cur.line, cur.seq, f"seq {cur.seq} is out of its place in the chain")
            continue
        real_next = successor.get(before.hash)
        if real_next is not None and real_next != i:
            if follower is None and i != last:
                problem("inserted", cur.line, cur.seq, f"nothing chains to this record; line "
                        f"{entries[real_next].line.number} is the one that follows line {before.line.number}")  # fmt: skip
            else:
                problem("reordered", cur.line, cur.seq, f"seq {cur.seq} is out of its place in the chain")
            continue
        if chained is not None and chained < i - 1:
            between = entries[chained + 1 : i]
            moved = any(successor.get(e.hash) is not None for e in between)
            first = between[0]
            if moved:
                problem("reordered", first.line, first.seq, f"seq {first.seq} is out of its place in the chain")
            else:
                problem("inserted", first.line, first.seq,
                        f"{len(between)} record(s) that are not part of the chain")  # fmt: skip
            continue
        if chained is None and before.seq is not None and cur.seq == before.seq + 1:
            problem("edited", before.line, before.seq,
                    f"changed and re-hashed: the next record (line {cur.line.number}) chained to another hash")  # fmt: skip
            continue
        if chained is None:
            missing = _missing(before.seq, cur.seq)
            problem("deleted", cur.line, cur.seq, f"{missing} missing before this record")
            continue
        problem("edited", cur.line, cur.seq, "its link to the previous record was changed")


def _missing(before: int | None, after: int | None) -> str:
    if before is None or after is None or after <= before + 1:
        return "record(s)"
    count = after - before - 1
    span = f"seq {before + 1}" if count == 1 else f"seq {before + 1}-{after - 1}"
    return f"{count} record(s) ({span})"


def _check_start(first: _Entry, pruned_through: int | None, report: Report, problem: Any) -> None:
    if first.prev == GENESIS:
        return
    if pruned_through is not None and first.seq is not None and first.seq > pruned_through + 1:
        problem("deleted", first.line, first.seq,
                f"{_missing(pruned_through, first.seq)} missing after the files retention removed")  # fmt: skip
        return
    report.notes.append(f"the trail starts at seq {first.seq}: older records were removed (retention)")


def _check_head(directory: Path, entries: list[_Entry], problem: Any, report: Report) -> None:
    """The head marker names the last record the writer wrote: records cut off the end show here."""
    head = read_head(directory)
    if head is None or head.seq == 0:
        return
    for entry in reversed(entries):
        if entry.seq == head.seq:
            if entry.hash != head.hash:
                problem("edited", entry.line, entry.seq, "differs from the record the writer last wrote (head.json)")
            return
        if entry.seq is not None and entry.seq < head.seq:
            break
    last = entries[-1] if entries else None
    if last is None:
        report.problems.append(Problem("deleted", CURRENT, 0, head.seq, f"every record is missing (head.json says seq {head.seq})"))
    elif last.seq is not None and last.seq < head.seq:
        problem("deleted", last.line, last.seq, f"{head.seq - last.seq} record(s) missing after this, the last one "
                f"(head.json says the writer wrote seq {head.seq})")  # fmt: skip


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
