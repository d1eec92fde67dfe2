"""Following the trail while it is written: across rotation and truncation, in the library and the CLI."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mcpctl.audit.files import CURRENT, audit_files
from mcpctl.audit.follow import Follower
from tests.audit.trail import Trail
from tests.support.host import ROOT, base_env, mcpctl_command
from tests.support.waiting import wait_until


def messages(raw: list[bytes]) -> list[str]:
    return [json.loads(line)["arguments"]["message"] for line in raw]


def test_the_follower_sees_every_record_once_in_order_across_rotations(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    trail = Trail(directory, max_file_bytes=4096)
    follower = Follower(directory)
    seen: list[bytes] = []
    written = 0
    for batch in (5, 5, 30, 1, 45, 5, 9):  # ~10 records fill a file: 0, 1 or several rotations per poll
        trail.calls(batch, start=written)
        written += batch
        seen += follower.poll()
    trail.close()
    seen += follower.poll()
    follower.close()
    assert len(audit_files(directory)) > 8
    assert messages(seen) == [f"call {i}" for i in range(written)]


def test_the_follower_starts_over_when_the_file_is_truncated(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    trail = Trail(directory)
    trail.calls(5)
    follower = Follower(directory, from_start=True)
    assert len(follower.poll()) == 5
    (directory / CURRENT).write_bytes(b"")  # `: > audit.jsonl`, or logrotate's copytruncate
    trail.calls(2, start=5)  # the writer appends (O_APPEND) at the new end
    assert messages(follower.poll()) == ["call 5", "call 6"]
    follower.close()
    trail.close()


def test_a_line_written_in_two_pieces_is_returned_once_whole(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    directory.mkdir()
    path = directory / CURRENT
    path.write_bytes(b"")
    follower = Follower(directory)
    with path.open("ab") as handle:
        handle.write(b'{"a":')
        handle.flush()
        assert follower.poll() == []
        handle.write(b"1}\n")
    assert follower.poll() == [b'{"a":1}']
    follower.close()


class Lines:
    """A subprocess's stdout, line by line, readable with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        stdout = proc.stdout
        threading.Thread(target=lambda: [self._queue.put(line) for line in stdout], daemon=True).start()

    def take(self, count: int, timeout: float = 10.0) -> list[str]:
        got: list[str] = []

        def more() -> bool:
            while not self._queue.empty():
                got.append(self._queue.get_nowait())
            return len(got) >= count

        wait_until(more, timeout, message=f"{count} lines from mcpctl logs --follow (got {len(got)})")
        return got


@contextmanager
def logs_cli(home: Path, *args: str) -> Iterator[Lines]:
    """`mcpctl logs ARGS` running as a subprocess (stdout a pipe: not a terminal), stopped after."""
    with (
        (home / "logs-cli.err").open("w") as err,
        subprocess.Popen(
            mcpctl_command("logs", *args),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=base_env(home),
            cwd=ROOT,
        ) as proc,
    ):
        try:
            yield Lines(proc)
        finally:
            proc.terminate()
            proc.wait(10)


@pytest.fixture
def following(tmp_path: Path, home: Path) -> Iterator[tuple[Trail, Lines]]:
    directory = tmp_path / "audit"
    trail = Trail(directory, max_file_bytes=4096)
    trail.calls(3)
    try:
        with logs_cli(home, "--follow", "--json", "--dir", str(directory), "--tool", "echo__*") as lines:
            yield trail, lines
    finally:
        trail.close()


def test_logs_follow_prints_records_unchanged_across_rotation(following: tuple[Trail, Lines]) -> None:
    trail, lines = following
    backlog = lines.take(3)
    assert [json.loads(line)["seq"] for line in backlog] == [1, 2, 3]
    trail.calls(40, start=3)  # several rotations while it follows
    trail.calls(1, start=43, tool="other__tool")  # filtered out
    trail.calls(1, start=44)
    new = lines.take(41)
    assert [json.loads(line)["arguments"]["message"] for line in new] == [
        f"call {i}" for i in (*range(3, 43), 44)
    ]
    written = {
        json.loads(line)["seq"]: line
        for path in audit_files(trail.directory)
        for line in path.read_text().splitlines()
    }
    assert all(line.rstrip("\n") == written[json.loads(line)["seq"]] for line in new)  # byte for byte


def test_logs_follow_in_plain_text_when_not_a_terminal(tmp_path: Path, home: Path) -> None:
    directory = tmp_path / "audit"
    trail = Trail(directory)
    try:
        with logs_cli(home, "-f", "--dir", str(directory)) as lines:
            trail.calls(1, outcome="tool_error", error="it broke")
            (line,) = lines.take(1)
    finally:
        trail.close()
    assert "\x1b[" not in line
    for part in ("tool_error", "echo__echo", "it broke", "alice"):
        assert part in line


def test_a_folder_of_trails_is_followed_as_one_every_record_once(tmp_path: Path) -> None:
    from mcpctl.audit.follow import Followers, follower_for

    fleet = tmp_path / "audit"  # what a volume the instances share looks like: a trail per instance
    first, second = Trail(fleet / "instance-a"), Trail(fleet / "instance-b")
    first.calls(2)
    follower = follower_for(fleet, from_start=True)
    assert isinstance(follower, Followers)
    seen = follower.poll()
    second.calls(3, start=2)
    first.calls(1, start=5)
    seen += follower.poll()
    follower.close()
    first.close()
    second.close()
    assert sorted(messages(seen)) == [f"call {i}" for i in range(6)]
