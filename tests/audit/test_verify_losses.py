"""Records removed from the start or the end of a real trail are caught, or said to be unverifiable."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from mcpctl.audit.files import CURRENT, HEAD, read_head
from mcpctl.audit.records import Shaper
from mcpctl.audit.redact import Redactor
from mcpctl.audit.sink import AuditFile
from mcpctl.audit.verify import Problem, verify
from mcpctl.audit.writer import AuditWriter
from mcpctl.tasks import running
from tests.audit.trail import Trail, call_record, lines, rewrite
from tests.support.host import base_env, mcpctl_command
from tests.support.waiting import wait_until


def writer_for(directory: Path) -> AuditWriter:
    shaper = Shaper(Redactor(), output_budget=1024, arguments_budget=4096)
    return AuditWriter(AuditFile(directory, max_file_bytes=1 << 20, retention=0), shaper, queue_size=10_000)


def deleted(problems: list[Problem]) -> Problem:
    assert [p.kind for p in problems] == ["deleted"], problems
    return problems[0]


def closed_trail(directory: Path, count: int) -> Path:
    trail = Trail(directory)
    trail.calls(count)
    trail.close()
    return directory / CURRENT


def restart(directory: Path) -> None:
    """A host starting again on this trail, and stopping."""

    async def run() -> None:
        async with running(writer := writer_for(directory)):
            writer.put(call_record(1000))

    asyncio.run(run())


def test_the_head_marker_catches_up_while_the_host_idles_so_the_last_records_cannot_go_unseen(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "audit"

    async def run() -> None:
        async with running(writer := writer_for(directory)):
            path = directory / CURRENT
            for count in (488, 500):  # two writes, the second less than a second after the first
                for i in range(len(lines(path)), count):
                    writer.put(call_record(i))
                await asyncio.to_thread(wait_until, lambda n=count: len(lines(path)) == n, 10)
            # the host idles: its head marker must come to name the last record written
            await asyncio.to_thread(wait_until, lambda: getattr(read_head(directory), "seq", 0) == 500, 10)
            rewrite(path, lines(path)[:-12])  # the last 12 records, removed while the host runs
            problem = deleted(verify(directory).problems)
            assert "12 record(s) missing after this one" in problem.detail

    asyncio.run(run())


def test_records_written_after_the_head_marker_are_reported_as_unverifiable(tmp_path: Path) -> None:
    trail = Trail(tmp_path)
    trail.calls(30)  # within a second of opening: the head marker still names seq 0
    report = verify(tmp_path)
    assert report.ok, report.problems
    assert any(
        note.startswith("unverifiable: seq 1-30 were written after head.json") for note in report.notes
    )
    trail.close()
    assert not verify(tmp_path).notes


def test_the_first_records_of_a_never_rotated_file_cannot_pass_for_retention(tmp_path: Path) -> None:
    path = closed_trail(tmp_path, 150)
    rewrite(path, lines(path)[100:])
    problem = deleted(verify(tmp_path).problems)
    assert (problem.file, problem.line) == (CURRENT, 1)
    assert "100 record(s) (seq 1-100) missing before this record" in problem.detail


def test_removing_the_head_marker_and_the_last_records_is_caught(tmp_path: Path) -> None:
    path = closed_trail(tmp_path, 60)
    (tmp_path / HEAD).unlink()
    rewrite(path, lines(path)[:-5])
    assert "head.json is missing" in deleted(verify(tmp_path).problems).detail
    restart(tmp_path)  # the host starts again: it writes a new head marker, and says what it found
    problem = deleted(verify(tmp_path).problems)
    assert problem.seq == 56
    assert "head.json was removed while the host was stopped" in problem.detail


def test_records_cut_off_the_end_while_the_host_was_stopped_stay_caught_after_it_starts_again(
    tmp_path: Path,
) -> None:
    path = closed_trail(tmp_path, 60)
    rewrite(path, lines(path)[:-5])
    restart(tmp_path)
    problem = deleted(verify(tmp_path).problems)
    assert "5 record(s) (seq 56-60) removed from the end of the trail while the host was stopped" in (
        problem.detail
    )
    listed = subprocess.run(
        mcpctl_command("logs", "--dir", str(tmp_path), "--kind", "audit.*"),
        env=base_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "seq 56-60 missing from the end" in listed.stdout, listed.stdout


def test_a_torn_last_line_is_a_loss_not_an_intact_trail(tmp_path: Path) -> None:
    path = closed_trail(tmp_path, 10)
    content = lines(path)
    content[-1] = content[-1][: len(content[-1]) // 2]
    rewrite(path, content)
    problems = verify(tmp_path).problems
    assert {p.kind for p in problems} == {"deleted"}
    torn = next(p for p in problems if p.line == 10)
    assert "the last line is cut short" in torn.detail
