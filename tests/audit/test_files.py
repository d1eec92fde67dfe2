"""The audit file on disk: rotation keeps the chain, retention prunes, restarts and crashes resume it."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import time
from pathlib import Path

from mcpctl.audit.files import CURRENT, audit_files, read_head
from mcpctl.audit.records import Shaper
from mcpctl.audit.redact import Redactor
from mcpctl.audit.sink import AuditFile
from mcpctl.audit.verify import verify
from mcpctl.audit.writer import AuditWriter
from mcpctl.tasks import running
from tests.audit.trail import Trail, lines


def records(directory: Path) -> list[dict[str, object]]:
    return [json.loads(line) for path in audit_files(directory) for line in lines(path)]


def test_rotation_renames_by_size_and_the_chain_runs_across_files(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    trail = Trail(directory, max_file_bytes=4096)
    trail.calls(50)
    trail.close()
    files = audit_files(directory)
    assert len(files) >= 4
    assert files[-1].name == CURRENT
    for f in files[:-1]:
        match = re.match(r"^audit-\d{8}T\d{6}\.\d{3}Z-(\d{12})\.jsonl$", f.name)
        assert match, f.name
        assert int(match.group(1)) == json.loads(lines(f)[-1])["seq"]  # the last seq it holds
    assert all(f.stat().st_size <= 4096 for f in files)
    assert all(oct(f.stat().st_mode & 0o777) == "0o600" for f in files)
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    for before, after in itertools.pairwise(files):
        assert json.loads(lines(after)[0])["prev"] == json.loads(lines(before)[-1])["hash"]
    assert [r["seq"] for r in records(directory)] == list(range(1, 51))
    head = read_head(directory)
    assert head is not None
    assert head.seq == 50
    assert verify(directory).ok


def test_a_restart_continues_the_chain(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    first = Trail(directory)
    first.calls(3)
    first.close()
    second = Trail(directory)
    second.calls(2, start=3)
    second.close()
    assert [r["seq"] for r in records(directory)] == [1, 2, 3, 4, 5]
    assert verify(directory).ok


def test_a_write_torn_by_a_crash_is_cut_off_and_recorded(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    trail = Trail(directory)
    trail.calls(3)
    trail.close()
    torn = b'{"v":1,"seq":4,"ts":"2026-'  # a crash in the middle of a write
    with (directory / CURRENT).open("ab") as handle:
        handle.write(torn)

    async def restart() -> None:
        writer = AuditWriter(
            AuditFile(directory, max_file_bytes=1 << 20, retention=0),
            Shaper(Redactor(), output_budget=100, arguments_budget=100),
            queue_size=16,
        )
        async with running(writer):
            pass

    asyncio.run(restart())
    written = records(directory)
    assert written[-1]["kind"] == "audit.recovered"
    assert written[-1]["discarded_bytes"] == len(torn)
    report = verify(directory)
    assert report.ok
    assert any("cut short by a crash" in note for note in report.notes)


def test_retention_removes_old_rotated_files_never_the_current_one_and_says_so(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    trail = Trail(directory, max_file_bytes=4096)
    trail.calls(40)
    trail.close()
    files = audit_files(directory)
    old = time.time() - 10 * 86400
    for path in files:  # everything, the current file included, looks ten days old
        os.utime(path, (old, old))
    last_old_seq = json.loads(lines(files[-2])[-1])["seq"]
    trail = Trail(directory, max_file_bytes=4096, retention=86400)
    trail.write(*trail_own(trail))
    trail.close()
    left = audit_files(directory)
    assert [p.name for p in left] == [CURRENT]
    pruned = [r for r in records(directory) if r["kind"] == "audit.pruned"]
    assert pruned
    assert pruned[0]["files"] == [p.name for p in files[:-1]]
    assert pruned[0]["through_seq"] == last_old_seq
    report = verify(directory)
    assert report.ok, report.problems
    assert any("older records were removed" in note for note in report.notes)


def trail_own(trail: Trail) -> list[dict[str, object]]:
    """The `audit.pruned` records the writer would write for what the file side removed."""
    out = []
    while trail.file.pruned:
        info = trail.file.pruned.pop(0)
        out.append(Shaper.own("audit.pruned", info, info.pop("when")))
    return out
