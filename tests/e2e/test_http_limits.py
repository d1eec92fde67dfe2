"""Hostile HTTP clients against a real `mcpctl serve`: huge and many headers, slowloris, stalled bodies."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.host import HostProcess, start_host, write_config
from tests.support.mcp_http import ModernClient
from tests.support.waiting import wait_until


@pytest.fixture
def host(home: Path) -> Iterator[HostProcess]:
    config = write_config(
        home,
        """
[gateway]
header_timeout = "1s"
body_timeout = "1s"

[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]
""",
    )
    running = start_host(home, "--config", str(config))
    yield running
    running.stop()


def address(host: HostProcess) -> tuple[str, int]:
    hostport = host.base_url.removeprefix("http://")
    name, _, port = hostport.rpartition(":")
    return name, int(port)


@contextlib.contextmanager
def connection(host: HostProcess, timeout: float = 10.0) -> Iterator[socket.socket]:
    sock = socket.create_connection(address(host), timeout=timeout)
    try:
        yield sock
    finally:
        sock.close()


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or a reset ends it)."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_and_error(raw: bytes) -> tuple[int, str]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)["error"]["message"]


def request_head(host: HostProcess, extra: bytes = b"") -> bytes:
    name, port = address(host)
    return f"POST /mcp HTTP/1.1\r\nHost: {name}:{port}\r\ncontent-type: application/json\r\n".encode() + extra


def test_headers_over_the_size_limit_get_431_and_a_closed_connection(host: HostProcess) -> None:
    with connection(host) as sock:
        sock.sendall(request_head(host, b"x-big: " + b"a" * (1024 * 1024) + b"\r\n\r\n"))
        status, message = status_and_error(answer(sock))
    assert status == 431
    assert "gateway.max_header_bytes" in message and "65536" in message


def test_too_many_header_fields_get_431(host: HostProcess) -> None:
    many = b"".join(b"x-h%d: v\r\n" % i for i in range(150))
    with connection(host) as sock:
        sock.sendall(request_head(host, many + b"content-length: 2\r\n\r\n{}"))
        status, message = status_and_error(answer(sock))
    assert status == 431
    assert "gateway.max_headers" in message


def test_eight_clients_streaming_50_mib_headers_cost_the_gateway_nothing(host: HostProcess) -> None:
    gateway = psutil.Process(host.proc.pid)
    before = gateway.memory_info().rss
    peak = before
    refused: list[float] = []

    def attack() -> None:
        started = time.monotonic()
        with connection(host, timeout=30) as sock:
            sock.sendall(request_head(host, b"x-huge: "))
            chunk = b"a" * (1024 * 1024)
            with contextlib.suppress(OSError):  # the gateway closes the connection under us
                for _ in range(50):
                    sock.sendall(chunk)
            answer(sock)
        refused.append(time.monotonic() - started)

    threads = [threading.Thread(target=attack) for _ in range(8)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, gateway.memory_info().rss)
        time.sleep(0.01)
    for thread in threads:
        thread.join()
    assert len(refused) == 8
    assert peak - before < 32 * 1024 * 1024, f"RSS grew by {(peak - before) >> 20} MiB"
    with ModernClient(host.url) as client:
        assert client.call_tool("echo__echo", {"message": "fine"})["content"][0]["text"] == "fine"


def test_slowloris_sockets_are_answered_408_and_closed_at_the_header_deadline(host: HostProcess) -> None:
    socks = [socket.create_connection(address(host), timeout=10) for _ in range(50)]
    idle = socket.create_connection(address(host), timeout=10)  # never sends a byte
    done = threading.Event()

    def trickle() -> None:
        """A header line now and then, never the blank line that ends the headers."""
        while not done.is_set():
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.sendall(b"x-slow: 1\r\n")
            done.wait(0.2)

    trickler = threading.Thread(target=trickle)
    try:
        started = time.monotonic()
        for sock in socks:
            sock.sendall(request_head(host))
        trickler.start()
        answers = [answer(sock) for sock in socks]
        took = time.monotonic() - started
        assert took < 6, f"slowloris sockets held for {took:.1f}s with header_timeout = 1s"
        for raw in answers:
            status, message = status_and_error(raw)
            assert status == 408 and "gateway.header_timeout" in message
        assert answer(idle) == b""  # closed without an answer: it never asked anything
    finally:
        done.set()
        if trickler.is_alive():
            trickler.join()
        for sock in [*socks, idle]:
            sock.close()
    assert httpx.get(host.base_url + "/health").status_code == 200


def test_a_stalled_body_is_answered_408_at_the_body_deadline(host: HostProcess) -> None:
    with connection(host) as sock:
        sock.sendall(request_head(host, b'accept: application/json\r\ncontent-length: 1000\r\n\r\n{"js'))
        started = time.monotonic()
        status, message = status_and_error(answer(sock))
        took = time.monotonic() - started
    assert status == 408 and "gateway.body_timeout" in message
    assert 0.5 < took < 5


def test_ordinary_requests_are_untouched_by_the_limits(host: HostProcess) -> None:
    """A 30 KB header (a long bearer), a 5 MB body, and a kept-alive connection idle past the deadline."""
    with ModernClient(host.url, headers={"x-long": "t" * 30_000}) as client:
        text = client.call_tool("echo__echo", {"message": "m" * 5_000_000})["content"][0]["text"]
        assert len(text) == 5_000_000
        # Idle longer than header_timeout (but not the 5 s keep-alive): the deadline is per request, so
        # the kept-alive connection still serves the next one. (Time passing is the point here.)
        time.sleep(1.5)
        assert client.call_tool("echo__echo", {"message": "again"})["content"][0]["text"] == "again"
    wait_until(lambda: httpx.get(host.base_url + "/health").status_code == 200)
