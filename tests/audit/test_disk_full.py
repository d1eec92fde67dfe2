"""A real full disk under a real host: every call it could not record is counted, logged and written."""

from __future__ import annotations

import errno
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mcpctl.audit.verify import verify
from tests.audit.hosting import audit_dir, hosting, server, trail
from tests.support.host import HostProcess
from tests.support.mcp_http import ModernClient
from tests.support.waiting import wait_until

CALLS = 300


@contextmanager
def small_disk(path: Path, size: str = "256k") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` (a real filesystem that runs out of room), unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI and the development machines run as root)")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert mounted.returncode == 0, f"cannot mount a tmpfs at {path}: {mounted.stderr}"
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(directory: Path) -> Path:
    """Take every free block of the filesystem, so the next write fails with ENOSPC."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return filler


def dropped_metric(host: HostProcess) -> float:
    text = httpx.get(host.base_url + "/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "mcp_audit_dropped_total":
                return sample.value
    raise AssertionError("no mcp_audit_dropped_total on /metrics")


def written_lost(directory: Path) -> int:
    return (directory / "audit.jsonl").read_bytes().count(b'"message":"lost ')


def test_every_call_lost_to_a_full_disk_is_counted_in_the_metric_the_log_and_the_trail(home: Path) -> None:
    with small_disk(audit_dir(home)) as directory:
        with hosting(home, {"echo": server("echo.py")}) as host, ModernClient(host.url) as client:
            client.call_tool("echo__echo", {"message": "before"})
            wait_until(lambda: b"before" in (directory / "audit.jsonl").read_bytes(), 10)
            filler = fill(directory)
            for i in range(CALLS):
                client.call_tool("echo__echo", {"message": f"lost {i}"})

            def accounted() -> bool:  # each call is written (in the last block's slack) or counted
                return written_lost(directory) + dropped_metric(host) == CALLS

            # the writer retries once a second; every call it could not write is counted
            wait_until(accounted, 20, message=f"all {CALLS} calls written or counted on /metrics")
            lost = dropped_metric(host)
            assert lost >= CALLS - 20  # the disk really was full
            filler.unlink()  # room again
            client.call_tool("echo__echo", {"message": "after"})
            wait_until(lambda: b"after" in (directory / "audit.jsonl").read_bytes(), 10)
            assert dropped_metric(host) == lost
        records = trail(home)
        log = host.output()
        report = verify(directory)
    messages = [r["arguments"]["message"] for r in records if r["kind"] == "tools/call"]
    assert (messages[0], messages[-1], len(messages)) == ("before", "after", CALLS - lost + 2)
    (dropped,) = [r for r in records if r["kind"] == "audit.dropped"]
    assert dropped["count"] == lost
    assert "No space left on device" in log
    # the log's last word on it is the whole count, not the count at its first warning
    reported = [int(n) for n in re.findall(r"(\d+) call\(s\) could not be recorded", log)]
    assert reported == [lost], log[-2000:]
    assert report.ok, report.problems
    assert report.dropped == lost
