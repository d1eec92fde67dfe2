"""The toolkit's stdio framing: lines however the reads cut them, and a loop turn's answers in one write."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from mcpctl.demo.framing import StdoutWriter
from tests.demo.test_demo_stdio import modern, text_of
from tests.support.host import fixture


def line(request_id: int, method: str, params: dict[str, Any]) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()


def echo_line(request_id: int) -> bytes:
    arguments = {"message": f"m{request_id}"}
    return line(request_id, "tools/call", modern({"name": "echo", "arguments": arguments}))


@pytest.fixture
def echo() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        fixture("echo.py"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None and not stream.closed:
            stream.close()


def write(proc: subprocess.Popen[bytes], data: bytes) -> None:
    assert proc.stdin is not None
    proc.stdin.write(data)
    proc.stdin.flush()


def answers(proc: subprocess.Popen[bytes], count: int) -> list[dict[str, Any]]:
    """The next `count` lines the child writes, parsed (the pipe read blocks until each arrives)."""
    assert proc.stdout is not None
    return [json.loads(proc.stdout.readline()) for _ in range(count)]


def test_lines_cut_anywhere_by_the_reads_are_each_answered_in_order(
    echo: subprocess.Popen[bytes],
) -> None:
    lines = [echo_line(n) for n in range(1, 53)]
    write(echo, b"\n".join(lines[:50]) + b"\n" + lines[50][:17])  # fifty lines, then part of one
    first = answers(echo, 50)  # all read and answered while the part waits for its end
    write(echo, lines[50][17:] + b"\n" + lines[51])  # its end, then a last line with no newline
    assert echo.stdin is not None
    echo.stdin.close()
    assert echo.stdout is not None
    rest = [json.loads(text) for text in echo.stdout.read().splitlines()]
    got = first + rest
    assert [answer["id"] for answer in got] == list(range(1, 53))
    assert [text_of(answer["result"]) for answer in got] == [f"m{n}" for n in range(1, 53)]
    assert echo.wait(10) == 0


def test_a_listen_cancelled_in_the_same_read_as_the_next_request_is_gone_for_it(
    echo: subprocess.Popen[bytes],
) -> None:
    listen = modern({"notifications": {"toolsListChanged": True}})
    write(echo, line(1, "subscriptions/listen", listen) + b"\n")
    (acknowledged,) = answers(echo, 1)
    assert acknowledged["method"] == "notifications/subscriptions/acknowledged"
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}
    ending = line(2, "tools/call", modern({"name": "end_subscriptions", "arguments": {}}))
    write(echo, json.dumps(cancel).encode() + b"\n" + ending + b"\n")
    (ended,) = answers(echo, 1)
    assert (ended["id"], text_of(ended["result"])) == (2, "ended 0")  # the cancelled listen is not counted


class _Stdout:
    """Stands in for sys.stdout: its buffer records each write."""

    def __init__(self) -> None:
        self.buffer = self
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def flush(self) -> None:
        pass


def test_what_one_turn_sends_goes_out_in_one_write_at_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = _Stdout()
    monkeypatch.setattr(sys, "stdout", stdout)

    async def scenario() -> None:
        writer = StdoutWriter("noise", asyncio.get_running_loop())
        assert stdout.writes == [b"noise\n"]  # at start, as before any message
        for n in range(3):
            writer.send({"id": n, "text": "é"})
        assert len(stdout.writes) == 1  # nothing more until the turn ends
        await asyncio.sleep(0)
        expected = b"".join(b'noise\n{"id":%d,"text":"\\u00e9"}\n' % n for n in range(3))
        assert stdout.writes[1:] == [expected]
        writer.send({"id": 3})
        await asyncio.sleep(0)
        assert stdout.writes[2:] == [b'noise\n{"id":3}\n']

    asyncio.run(scenario())
