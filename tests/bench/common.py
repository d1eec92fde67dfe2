"""Shared bench plumbing: CPU pinning, wrk runs, a serial HTTP client and a direct stdio driver."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.host import FIXTURES, PYTHON

LOAD_CPU = "1"  # the load generator's core
GATEWAY_CPU = "0"  # the system under test (gateway and its child) shares the other core
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


def echo_request(request_id: int = 1, name: str = "echo") -> dict[str, object]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": {"message": "hi"}, "_meta": MODERN_META},
    }


def pin_self_to_load_cpu() -> None:
    """Run the calling process (the benchmark's own client side) on the load generator's core."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {int(LOAD_CPU)})


def pinned(cpu: str, command: list[str]) -> list[str]:
    """Pin a command to a core when taskset exists (load on one core, system under test on the other)."""
    return (
        ["taskset", "-c", cpu, *command]
        if shutil.which("taskset") and (os.cpu_count() or 1) >= 2
        else command
    )


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk(
    url: str,
    body: dict[str, object],
    headers: dict[str, str],
    connections: int,
    seconds: float,
    workdir: Path,
) -> WrkResult:
    """Drive `url` with wrk (on the load core), POSTing `body`; returns throughput and latency."""
    script = workdir / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}"]
    lines += [
        f'wrk.headers["{k}"] = "{v}"'
        for k, v in {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **headers,
        }.items()
    ]
    lines.append(
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("P50 %d\\nP99 %d\\n", latency:percentile(50), latency:percentile(99)))\nend'
    )
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        pinned(LOAD_CPU, ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), url]),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(
        int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|Socket errors:.*?timeout)\s*:?\s*(\d+)", out)
    )
    p50 = int(re.search(r"P50 (\d+)", out).group(1)) / 1000  # type: ignore[union-attr]
    p99 = int(re.search(r"P99 (\d+)", out).group(1)) / 1000  # type: ignore[union-attr]
    return WrkResult(rps, p50, p99, errors)


def http_serial_latency(
    url: str, body: dict[str, object], headers: dict[str, str], count: int
) -> list[float]:
    """One keep-alive connection, one request at a time, raw sockets: per-request seconds."""
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json, text/event-stream\r\nContent-Length: {len(payload)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "\r\n"
    ).encode()
    request = head + payload
    samples: list[float] = []
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("rb")
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(request)
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)
            samples.append(time.perf_counter() - started)
    return samples


class DirectStdio:
    """The child alone, driven over its stdin/stdout: the ceiling a gateway is measured against."""

    def __init__(self, fixture: str = "echo.py") -> None:
        self.proc = subprocess.Popen(
            pinned(GATEWAY_CPU, [PYTHON, str(FIXTURES / fixture)]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin, self.proc.stdout

    def _line(self, request_id: int) -> bytes:
        return json.dumps(echo_request(request_id)).encode() + b"\n"

    def serial_latency(self, count: int) -> list[float]:
        samples = []
        for i in range(count):
            started = time.perf_counter()
            self._in.write(self._line(i))
            self._out.readline()
            samples.append(time.perf_counter() - started)
        return samples

    def throughput(self, total: int, window: int) -> float:
        """Requests per second with `window` requests outstanding (like wrk's connections).

        The driver reads in bulk and refills the window in one write, so it is not the bottleneck.
        """
        line = self._line(1)
        stdout = self._out.fileno()
        sent = min(window, total)
        done = 0
        started = time.perf_counter()
        self._in.write(line * sent)
        while done < total:
            chunk = os.read(stdout, 1 << 20)
            answered = chunk.count(b"\n")
            done += answered
            more = min(answered, total - sent)
            if more:
                self._in.write(line * more)
                sent += more
        return total / (time.perf_counter() - started)

    def close(self) -> None:
        self._in.close()
        self.proc.wait(10)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(len(ordered) * q), len(ordered) - 1)]


def median(samples: list[float]) -> float:
    return statistics.median(samples)
