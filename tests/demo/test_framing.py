"""The toolkit's stdio framing: lines however the reads cut them, and a loop turn's answers in one write."""

from __future__ import annotations

import asyncio
import json
import queue
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mcpctl.demo.framing import StdoutWriter
from tests.demo.stdio_peer import StdioPeer
from tests.demo.test_demo_stdio import modern, text_of
from tests.support.host import fixture


def line(request_id: int, method: str, params: dict[str, Any]) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()


def echo_line(request_id: int) -> bytes:
    arguments = {"message": f"m{request_id}"}
    return line(request_id, "tools/call", modern({"name": "echo", "arguments": arguments}))


@pytest.fixture
def echo() -> Iterator[StdioPeer]:
    peer = StdioPeer(fixture("echo.py"))
    yield peer
    assert peer.close() == 0


def write(peer: StdioPeer, data: bytes) -> None:
    """Raw bytes to the child's stdin, cut wherever `data` ends."""
    assert peer.proc.stdin is not None
    peer.proc.stdin.write(data)
    peer.proc.stdin.flush()


def arrivals(peer: StdioPeer, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The next `count` messages the child writes, in the order it wrote them."""
    deadline = time.monotonic() + timeout
    got = []
    while len(got) < count:
        try:
            message = peer.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"{len(got)} of {count} messages within {timeout} s: {got}") from None
        assert message is not None, f"the child closed its stdout after {got}"
        got.append(message)
    return got


def test_lines_cut_anywhere_by_the_reads_are_each_answered_in_order(echo: StdioPeer) -> None:
    lines = [echo_line(n) for n in range(1, 53)]
    write(echo, b"\n".join(lines[:50]) + b"\n" + lines[50][:17])  # fifty lines, then part of one
    first = arrivals(echo, 50)  # all read and answered while the part waits for its end
    write(echo, lines[50][17:] + b"\n" + lines[51])  # its end, then a last line with no newline
    assert echo.proc.stdin is not None
    echo.proc.stdin.close()  # the last line ends with the input
    got = first + arrivals(echo, 2)
    assert [answer["id"] for answer in got] == list(range(1, 53))
    assert [text_of(answer["result"]) for answer in got] == [f"m{n}" for n in range(1, 53)]


def test_a_listen_cancelled_in_the_same_read_as_the_next_request_is_gone_for_it(echo: StdioPeer) -> None:
    listen = modern({"notifications": {"toolsListChanged": True}})
    write(echo, line(1, "subscriptions/listen", listen) + b"\n")
    (acknowledged,) = arrivals(echo, 1)
    assert acknowledged["method"] == "notifications/subscriptions/acknowledged"
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}
    ending = line(2, "tools/call", modern({"name": "end_subscriptions", "arguments": {}}))
    write(echo, json.dumps(cancel).encode() + b"\n" + ending + b"\n")
    (ended,) = arrivals(echo, 1)
    assert (ended["id"], text_of(ended["result"])) == (2, "ended 0")  # the cancelled listen is not counted


def until_answered(peer: StdioPeer, request_id: int) -> list[dict[str, Any]]:
    """What the child writes up to and including its answer to `request_id`."""
    got = arrivals(peer, 1)
    while got[-1].get("id") != request_id or "method" in got[-1]:
        got += arrivals(peer, 1)
    return got


def test_an_id_is_free_again_once_its_request_is_answered_or_cancelled(echo: StdioPeer) -> None:
    listen = modern({"notifications": {"toolsListChanged": True}})
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2}}
    for _ in range(2):  # answered: its id may be used again
        write(echo, echo_line(1) + b"\n")
        until_answered(echo, 1)
    # cancelled in the read it arrived in: on 3.11 its task never starts, so it is never answered
    write(echo, line(2, "subscriptions/listen", listen) + b"\n" + json.dumps(cancel).encode() + b"\n")
    write(echo, echo_line(3) + b"\n")  # a later read: the cancelled task has ended by its answer
    until_answered(echo, 3)
    write(echo, echo_line(2) + b"\n")
    until_answered(echo, 2)
    write(echo, line(4, "subscriptions/listen", listen) + b"\n")  # stays open: 4 is in flight
    arrivals(echo, 1)
    write(echo, echo_line(4) + b"\n")
    until_answered(echo, 4)
    assert echo.close() == 0
    warnings = [text for text in echo.stderr if "reused while in flight" in text]
    assert len(warnings) == 1, echo.stderr  # only for 4, the one really in flight
    assert "request id 4 " in warnings[0]


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
