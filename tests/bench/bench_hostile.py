"""Hostile clients against `mcpctl serve` with its default limits: what each attack costs the host.

Run:  .venv/bin/python -m tests.bench.bench_hostile [--flood-seconds 10] [--slowloris 300]

- headers: 8 connections each streaming a 50 MiB header, without and with API-key auth (an
  invalid key): the host's RSS before, at its peak, and 2 s after; how long each took to be refused.
- slowloris: N sockets sending a header line every second, never the end of the headers: how
  many the host closed (and when the last one), how many got a 408, how many were still open
  after `--slowloris-wait` seconds.
- 401 flood: clients sending requests with a bad key as fast as they can: audit trail growth.
- deep nesting: 20 `tools/call` requests whose arguments nest 1,000 levels deep, padded to 9 MB:
  what each got, whether the next call works, and the host's RSS before and after.
- sessions: N `initialize` requests from one caller (4 clients): how many were answered, how many
  sessions the host keeps (its bounds), and its RSS before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

from tests.bench.common import echo_request, open_sessions, post_headers
from tests.support.host import HostProcess, fixture, start_host


def address(host: HostProcess) -> tuple[str, int]:
    name, _, port = host.base_url.removeprefix("http://").rpartition(":")
    return name, int(port)


def head(host: HostProcess, extra: bytes = b"") -> bytes:
    name, port = address(host)
    return f"POST /mcp HTTP/1.1\r\nHost: {name}:{port}\r\n".encode() + extra


def drain(sock: socket.socket) -> bytes:
    chunks = []
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def huge_headers(host: HostProcess, key: str | None) -> dict[str, float]:
    process = psutil.Process(host.proc.pid)
    before = process.memory_info().rss
    peak = before
    took: list[float] = []

    def attack() -> None:
        started = time.monotonic()
        with socket.create_connection(address(host), timeout=60) as sock:
            auth = f"authorization: Bearer {key}\r\n".encode() if key else b""
            sock.sendall(head(host, auth + b"x-huge: "))
            chunk = b"a" * (1024 * 1024)
            with contextlib.suppress(OSError):
                for _ in range(50):
                    sock.sendall(chunk)
                sock.sendall(b"\r\n\r\n")
            drain(sock)
        took.append(time.monotonic() - started)

    threads = [threading.Thread(target=attack) for _ in range(8)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, process.memory_info().rss)
        time.sleep(0.005)
    time.sleep(2)
    after = process.memory_info().rss
    return {
        "rss_before_mb": before / 2**20,
        "rss_peak_mb": peak / 2**20,
        "rss_after_mb": after / 2**20,
        "slowest_refusal_s": max(took),
    }


def slowloris(host: HostProcess, count: int, wait: float) -> dict[str, float]:
    socks = [socket.create_connection(address(host), timeout=10) for _ in range(count)]
    started = time.monotonic()
    for sock in socks:
        sock.sendall(head(host))
    done = threading.Event()

    def trickle() -> None:
        while not done.wait(1.0):
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.sendall(b"x-slow: 1\r\n")

    trickler = threading.Thread(target=trickle)
    trickler.start()
    answers = []
    closed_at = []
    for sock in socks:
        sock.settimeout(max(started + wait - time.monotonic(), 0.01))
        try:
            answers.append(drain_or_timeout(sock))
            closed_at.append(time.monotonic() - started)
        except TimeoutError:
            pass
        sock.close()
    done.set()
    trickler.join()
    return {
        "sockets": count,
        "closed": len(closed_at),
        f"still_open_after_{wait:g}s": count - len(closed_at),
        "last_closed_after_s": max(closed_at, default=0.0),
        "answered_408": sum(a.startswith(b"HTTP/1.1 408") for a in answers),
    }


def drain_or_timeout(sock: socket.socket) -> bytes:
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def flood(host: HostProcess, seconds: float) -> dict[str, float]:
    trail = host.home / "logs" / "audit" / "audit.jsonl"
    time.sleep(1)
    before = trail.stat().st_size if trail.exists() else 0
    deadline = time.monotonic() + seconds

    def hammer(_: int) -> int:
        sent = 0
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < deadline:
                client.get(host.url, headers={"authorization": "Bearer mcpk_000000000000_nope"})
                sent += 1
        return sent

    with ThreadPoolExecutor(4) as pool:
        sent = sum(pool.map(hammer, range(4)))
    time.sleep(1.5)  # the writer flushes
    grown = (trail.stat().st_size if trail.exists() else 0) - before
    return {"requests": sent, "audit_bytes": grown, "audit_bytes_per_s": grown / seconds}


def deep_nesting(host: HostProcess, count: int = 20) -> dict[str, float]:
    process = psutil.Process(host.proc.pid)
    before = process.memory_info().rss
    # written as text: Python's own encoder stops short of 1,000 levels
    nested = '{"d":' * 1000 + '"bottom"' + "}" * 1000
    pad = "p" * 9_000_000
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    statuses: dict[int, int] = {}
    with httpx.Client(timeout=60) as client:
        for n in range(count):
            body = (
                f'{{"jsonrpc":"2.0","id":{n},"method":"tools/call","params":{{"name":"echo",'
                f'"arguments":{{"message":"x","pad":"{pad}","deep":{nested}}}}}}}'
            )
            status = client.post(host.url, content=body, headers=headers).status_code
            statuses[status] = statuses.get(status, 0) + 1
        after = echo_request(arguments={"message": "after"})
        works = b'"after"' in client.post(host.url, json=after, headers=post_headers(after)).content
    return {
        "requests": count,
        **{f"http_{status}": n for status, n in sorted(statuses.items())},
        "next_call_works": works,
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(process.memory_info().rss / 2**20, 1),
    }


def sessions(host: HostProcess, count: int) -> dict[str, float]:
    process = psutil.Process(host.proc.pid)
    before = process.memory_info().rss
    opened = open_sessions(host.url, count)
    return {
        "initialize": count // 4 * 4,
        "opened": opened,
        "sessions_kept": httpx.get(host.base_url + "/ready").json()["sessions"],
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(process.memory_info().rss / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood-seconds", type=float, default=10.0)
    parser.add_argument("--slowloris", type=int, default=300)
    parser.add_argument("--slowloris-wait", type=float, default=60.0, help="give up on a socket after this")
    parser.add_argument("--sessions", type=int, default=100_000, help="initialize requests in the flood")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        host = start_host(work / "open", "--log-level", "warning", "--", *fixture("echo.py"))
        try:
            print("headers, no auth :", huge_headers(host, None))
            print("slowloris        :", slowloris(host, args.slowloris, args.slowloris_wait))
            print("deep nesting     :", deep_nesting(host))
            print("sessions flood   :", sessions(host, args.sessions))
        finally:
            host.stop()
        host = start_host(
            work / "keys", "--log-level", "warning", "--auth", "api-key", "--", *fixture("echo.py")
        )
        try:
            print("headers, bad key :", huge_headers(host, "mcpk_000000000000_nope"))
            print("401 flood        :", flood(host, args.flood_seconds))
        finally:
            host.stop()


if __name__ == "__main__":
    main()
