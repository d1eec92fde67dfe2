"""Where the audit trail lives on disk: the current file, rotated files in order, and the head marker."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mcpctl.audit.schema import unseal

CURRENT: Final = "audit.jsonl"
ROTATED_PREFIX: Final = "audit-"
ROTATED_SUFFIX: Final = ".jsonl"
HEAD: Final = "head.json"
_TAIL_CHUNK: Final = 64 * 1024


def rotated_name(when: float, last_seq: int) -> str:
    """`audit-20261123T101112.345Z-000000000123.jsonl`: when it was rotated (UTC) and the last seq it
    holds; the seq keeps names unique and in order even when two rotations share a millisecond."""
    whole = time.strftime("%Y%m%dT%H%M%S", time.gmtime(when))
    return f"{ROTATED_PREFIX}{whole}.{int((when % 1) * 1000):03d}Z-{last_seq:012d}{ROTATED_SUFFIX}"


def _rotated_order(name: str) -> tuple[int, str]:
    # By the last seq in the name (clocks can step back; seqs cannot), then by name.
    tail = name[: -len(ROTATED_SUFFIX)].rsplit("-", 1)[-1]
    return (int(tail) if tail.isdigit() else -1, name)


def trails(directory: Path) -> list[Path]:
    """The trails under `directory`: itself when it holds one, else its folders that do (a fleet's
    instances write one each, side by side on a shared volume)."""
    if audit_files(directory):
        return [directory]
    try:
        folders = sorted(p for p in directory.iterdir() if p.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [folder for folder in folders if audit_files(folder)]


def audit_files(directory: Path) -> list[Path]:
    """Every audit file, oldest first: rotated ones in the order they were written, then the current one."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    rotated = sorted(
        (n for n in names if n.startswith(ROTATED_PREFIX) and n.endswith(ROTATED_SUFFIX)), key=_rotated_order
    )
    files = [directory / n for n in rotated]
    if CURRENT in names:
        files.append(directory / CURRENT)
    return files


@dataclass(frozen=True)
class Line:
    """One line of an audit file, where it was found, and what it holds."""

    path: Path
    number: int  # 1-based
    raw: bytes
    record: dict[str, Any] | None  # None: not a JSON object
    stored_hash: str | None
    intact: bool  # the stored hash matches the line
    torn: bool = False  # the file's last line, without its end of line


def read_lines(path: Path, *, partial: bool = False) -> Iterator[Line]:
    """Every line of one file; a final line without its newline (still being written, or torn by a
    crash) only when `partial` is set."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n") and not partial:
                return
            if not raw.strip():
                continue
            record, stored, intact = unseal(raw)
            yield Line(path, number, raw.rstrip(b"\n"), record, stored, intact, not raw.endswith(b"\n"))


def last_line(path: Path) -> tuple[bytes, int]:
    """The last complete line of a file (b"" if none) and how many bytes follow it (a torn write)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = size
            data = b""
            while start > 0:
                start = max(0, start - _TAIL_CHUNK)
                handle.seek(start)
                data = handle.read(size - start)
                if data.count(b"\n") >= 2 or (start == 0 and b"\n" in data):
                    break
    except FileNotFoundError:
        return b"", 0
    end = data.rfind(b"\n")
    if end < 0:
        return b"", len(data)
    begin = data.rfind(b"\n", 0, end) + 1
    return data[begin:end], len(data) - end - 1


@dataclass(frozen=True)
class Head:
    """The last record the writer knew it had written: catches records cut off the end of the trail."""

    seq: int
    hash: str
    file: str


def read_head(directory: Path) -> Head | None:
    try:
        data = json.loads((directory / HEAD).read_text(encoding="utf-8"))
        return Head(int(data["seq"]), str(data["hash"]), str(data.get("file", "")))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def write_head(directory: Path, head: Head) -> None:
    tmp = directory / f".{HEAD}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"seq": head.seq, "hash": head.hash, "file": head.file}, handle)
    os.replace(tmp, directory / HEAD)
