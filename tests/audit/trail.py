"""Build real audit trails on disk for tests: the writer's own chain and file code, driven directly."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mcpctl.audit.chain import Chain
from mcpctl.audit.files import audit_files
from mcpctl.audit.sink import AuditFile


def call_record(i: int, **fields: Any) -> dict[str, Any]:
    """A tools/call record as the shaper makes them (only the fields the readers look at)."""
    record: dict[str, Any] = {
        "v": 1,
        "seq": 0,
        "ts": time.time(),
        "kind": "tools/call",
        "outcome": "ok",
        "principal": "alice",
        "server": "echo",
        "tool": "echo__echo",
        "arguments": {"message": f"call {i}"},
        "duration_ms": 1.0 + i % 7,
    }
    record.update(fields)
    return record


class Trail:
    """An audit directory written record by record, rotating like the host does."""

    def __init__(self, directory: Path, *, max_file_bytes: int = 1 << 20, retention: float = 0.0) -> None:
        self.directory = directory
        self.file = AuditFile(directory, max_file_bytes=max_file_bytes, retention=retention)
        state = self.file.open()
        self.chain = Chain(state.seq, state.prev)

    def write(self, *records: dict[str, Any]) -> None:
        sealed = [self.chain.seal(r) for r in records]
        assert self.file.append(sealed) == len(sealed)

    def calls(self, count: int, start: int = 0, **fields: Any) -> None:
        for i in range(start, start + count):
            self.write(call_record(i, **fields))

    def close(self) -> None:
        self.file.close()

    def files(self) -> list[Path]:
        return audit_files(self.directory)


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def rewrite(path: Path, new_lines: list[bytes]) -> None:
    path.write_bytes(b"".join(new_lines))
