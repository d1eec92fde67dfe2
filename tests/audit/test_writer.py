"""The writer: a bounded queue that never blocks, drops counted and written, a disk that refuses."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from mcpctl.audit.chain import Sealed
from mcpctl.audit.files import audit_files
from mcpctl.audit.records import Shaper
from mcpctl.audit.redact import Redactor
from mcpctl.audit.sink import AuditFile
from mcpctl.audit.verify import verify
from mcpctl.audit.writer import SEAL_SLICE, AuditWriter
from mcpctl.tasks import running
from tests.audit.trail import call_record, lines
from tests.support.host import ROOT
from tests.support.waiting import wait_until


def writer_for(directory: Path, queue_size: int = 10_000) -> AuditWriter:
    shaper = Shaper(Redactor(), output_budget=1024, arguments_budget=4096)
    return AuditWriter(
        AuditFile(directory, max_file_bytes=1 << 20, retention=0), shaper, queue_size=queue_size
    )


def written(directory: Path) -> list[dict[str, object]]:
    return [json.loads(line) for path in audit_files(directory) for line in lines(path)]


def test_a_full_queue_drops_and_the_count_is_written_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = writer_for(tmp_path, queue_size=16)

    async def run() -> None:
        for i in range(100):  # before the writer runs: nothing drains the queue
            writer.put(call_record(i))
        async with running(writer):
            pass

    with caplog.at_level(logging.WARNING, logger="mcpctl.audit.writer"):
        asyncio.run(run())
    records = written(tmp_path)
    assert records[0]["kind"] == "audit.dropped"
    assert records[0]["count"] == 84
    assert [r["kind"] for r in records[1:]] == ["tools/call"] * 16
    assert writer.dropped == 84
    assert any("84 record(s) were dropped" in r.message for r in caplog.records)
    report = verify(tmp_path)
    assert report.ok
    assert report.dropped == 84


def test_records_from_other_threads_and_parts_are_written_once(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)

    async def run() -> None:
        async with running(writer):
            threads = [
                threading.Thread(
                    target=lambda n=n: writer.record(
                        "auth.failure", client=f"10.0.0.{n}", authorization="Bearer abcdefghijklmnop"
                    )
                )
                for n in range(20)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            await asyncio.sleep(0)  # the threads' records arrive through call_soon_threadsafe

    asyncio.run(run())
    records = written(tmp_path)
    assert sorted(r["client"] for r in records) == sorted(f"10.0.0.{n}" for n in range(20))
    assert all(r["outcome"] == "unauthenticated" and r["authorization"] == "[REDACTED]" for r in records)


def test_stop_writes_everything_queued(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)

    async def run() -> None:
        async with running(writer):
            for i in range(5000):
                writer.put(call_record(i))
        writer.put(call_record(9999))  # after close: counted, not written

    asyncio.run(run())
    assert len(written(tmp_path)) == 5000
    assert writer.dropped == 1


class HeldFile(AuditFile):
    """An audit file whose writes wait in the file thread until the test lets them go."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, max_file_bytes=1 << 20, retention=0)
        self.entered = threading.Event()
        self.release = threading.Event()

    def append(self, sealed: list[Sealed]) -> int:
        self.entered.set()
        assert self.release.wait(10), "the test never let the write go"
        return super().append(sealed)


def test_stop_waits_for_the_batch_in_the_file_thread_then_writes_the_rest_once(tmp_path: Path) -> None:
    file = HeldFile(tmp_path)
    shaper = Shaper(Redactor(), output_budget=1024, arguments_budget=4096)
    writer = AuditWriter(file, shaper, queue_size=10_000, linger=0.0)
    calls = SEAL_SLICE + 44  # a batch is at most one slice: the rest waits for the next

    def let_go_once_stopping() -> None:  # the first batch is still in the thread as the stop begins
        wait_until(lambda: writer._draining, 10, interval=0.005, message="the writer began to stop")
        file.release.set()

    async def run() -> None:
        async with running(writer):
            for i in range(calls):
                writer.put(call_record(i))
            assert await asyncio.to_thread(file.entered.wait, 10), "no batch reached the file thread"
            helper.start()

    helper = threading.Thread(target=let_go_once_stopping)
    try:
        asyncio.run(run())
    finally:
        file.release.set()
        helper.join(10)
    records = written(tmp_path)
    assert [r["arguments"]["message"] for r in records] == [f"call {i}" for i in range(calls)]  # type: ignore[index]
    assert [r["seq"] for r in records] == list(range(1, calls + 1))
    assert writer.dropped == 0
    assert verify(tmp_path).ok


DISK_FULL = textwrap.dedent("""
    import asyncio, resource, signal, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from tests.audit.test_writer import writer_for
    from tests.audit.trail import call_record
    from mcpctl.tasks import running

    directory = Path(sys.argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead

    async def main():
        writer = writer_for(directory)
        async with running(writer):
            soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.setrlimit(resource.RLIMIT_FSIZE, (3000, hard))  # the disk is full at 3000 bytes
            for i in range(40):
                writer.put(call_record(i))
            while writer._drops.count == 0:  # the writer has met the full disk
                await asyncio.sleep(0.01)
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # room again
            writer.put(call_record(99))

    asyncio.run(main())
""")


def test_a_disk_that_refuses_writes_never_leaves_half_records_and_the_loss_is_recorded(
    tmp_path: Path,
) -> None:
    script = tmp_path / "disk_full.py"
    script.write_text(DISK_FULL)
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "audit"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "cannot write to" in run.stderr  # the refusal was logged
    records = written(tmp_path / "audit")
    calls = [r for r in records if r["kind"] == "tools/call"]
    dropped = [r for r in records if r["kind"] == "audit.dropped"]
    assert len(dropped) == 1
    # every call is accounted for: written, or counted in the dropped record
    assert len(calls) + dropped[0]["count"] == 41
    assert calls[-1]["arguments"] == {"message": "call 99"}
    report = verify(tmp_path / "audit")
    assert report.ok, report.problems
