"""Shared bench plumbing: CPU pinning, wrk runs, a serial HTTP client and a direct stdio driver."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from mcpctl.protocol.headers import standard_headers
from tests.support.host import FIXTURES, PYTHON

LOAD_CPU = "1"  # the load generator's core (wrk, or the bench's own client side)
GATEWAY_CPU = "0"  # the system under test (a host and its children, or a child alone) has the other
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
}


def echo_request(
    request_id: int = 1, name: str = "echo", arguments: dict[str, object] | None = None
) -> dict[str, object]:
    """A 2026-07-28 tools/call of the echo fixture's tool (`echo__echo` behind a configured host)."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments or {"message": "hi"}, "_meta": MODERN_META},
    }


def echo_lines(count: int) -> bytes:
    """`count` such calls (ids 0 to count - 1), one JSON line each: a stdio child's input from a file."""
    return b"".join(json.dumps(echo_request(n)).encode() + b"\n" for n in range(count))


def post_headers(body: dict[str, object], extra: dict[str, str] | None = None) -> dict[str, str]:
    """What a 2026-07-28 client sends with `body`: content types, the headers mirroring it, `extra`."""
    return {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        **standard_headers(body),
        **(extra or {}),
    }


def pin_self_to_load_cpu() -> None:
    """Run the calling process (the benchmark's own client side) on the load generator's core."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {int(LOAD_CPU)})


def pinned(cpu: str, command: list[str]) -> list[str]:
    """Pin a command to a core when taskset exists (load on one core, system under test on the other).

    `pinned(GATEWAY_CPU, [])` is the `prefix` that starts a host there; its children inherit the core.
    """
    return (
        ["taskset", "-c", cpu, *command]
        if shutil.which("taskset") and (os.cpu_count() or 1) >= 2
        else command
    )


def wrk_arguments(
    doc: str, rounds: int, more: Callable[[argparse.ArgumentParser], object] | None = None
) -> argparse.Namespace:
    """The command line of a wrk bench (--seconds, --rounds, --connections, and what `more` adds);
    exits if wrk is missing."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--connections", type=int, default=16)
    if more is not None:
        more(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    return args


def other_checkout(value: str) -> Path:
    """`--against DIR`: a checkout of another commit (`git worktree add DIR COMMIT`) whose mcpctl a
    bench measures beside this one's, for a before/after from one run."""
    folder = Path(value).resolve()
    if not (folder / "mcpctl" / "__main__.py").is_file():
        raise argparse.ArgumentTypeError(f"{value} holds no mcpctl package (mcpctl/__main__.py)")
    return folder


def wrk_script(path: Path, body: dict[str, object], headers: dict[str, str] | None = None) -> Path:
    """Write a wrk script to `path` that POSTs `body` (with post_headers) and reports p50 and p99."""
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}"]
    lines += [
        f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}"
        for name, value in post_headers(body, headers).items()
    ]
    lines.append(
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("P50 %d\\nP99 %d\\n", latency:percentile(50), latency:percentile(99)))\nend'
    )
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass(frozen=True)
class WrkResult:
    rate: float  # requests per second
    total: int  # requests answered
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors (connect, read, write, timeout)
    cpu_us_per_call: float  # the host process's own CPU per request (NaN unless its pid was given)
    output: str  # wrk's report

    def clean(self) -> WrkResult:
        """This result, or SystemExit with wrk's report when any request failed."""
        if self.errors:
            raise SystemExit(f"wrk saw failures:\n{self.output}")
        return self


def wrk(
    url: str,
    script: Path,
    connections: int,
    seconds: float,
    host_pid: int | None = None,
    timeout: float = 2.0,
) -> WrkResult:
    """Drive `url` with wrk on the load core, running `script` (see wrk_script).

    Given `host_pid`, also the CPU time that process spent per request (its own threads, not its
    children): steadier than throughput when other work shares the machine. A request unanswered
    after `timeout` seconds counts as an error.
    """
    host = psutil.Process(host_pid) if host_pid is not None else None
    before = _cpu_seconds(host)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", f"--timeout={timeout:g}s"]
    command += ["-s", str(script), url]
    out = subprocess.run(pinned(LOAD_CPU, command), capture_output=True, text=True, check=True).stdout
    used = _cpu_seconds(host) - before
    total = int(_find(r"(\d+) requests in", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    sockets = re.search(r"Socket errors:(.*)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in re.findall(r"\d+", sockets.group(1))) if sockets else 0
    )
    return WrkResult(
        rate=float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        total=total,
        p50_ms=int(_find(r"P50 (\d+)", out)) / 1000,
        p99_ms=int(_find(r"P99 (\d+)", out)) / 1000,
        errors=errors,
        cpu_us_per_call=used / max(total, 1) * 1e6 if host is not None else float("nan"),
        output=out,
    )


def _cpu_seconds(process: psutil.Process | None) -> float:
    times = process.cpu_times() if process is not None else None
    return float(times.user + times.system) if times is not None else 0.0


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise SystemExit(f"unexpected wrk output:\n{text}")
    return match.group(1)


def http_serial_latency(url: str, body: dict[str, object], count: int) -> list[float]:
    """One keep-alive connection, one request at a time, raw sockets: per-request seconds."""
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {len(payload)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in post_headers(body).items())
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
        # Every request gets its own id (a server may refuse a reused one); encoded up front so the
        # driver's own work stays out of the measurement.
        lines = [self._line(i) for i in range(total)]
        stdout = self._out.fileno()
        sent = min(window, total)
        done = 0
        started = time.perf_counter()
        self._in.write(b"".join(lines[:sent]))
        while done < total:
            chunk = os.read(stdout, 1 << 20)
            answered = chunk.count(b"\n")
            done += answered
            more = min(answered, total - sent)
            if more:
                self._in.write(b"".join(lines[sent : sent + more]))
                sent += more
        return total / (time.perf_counter() - started)

    def close(self) -> None:
        self._in.close()
        self.proc.wait(10)


LEGACY_VERSION = "2025-11-25"


def initialize(capabilities: dict[str, object]) -> dict[str, object]:
    """A 2025-era initialize request declaring these client capabilities."""
    return {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY_VERSION,
            "capabilities": capabilities,
            "clientInfo": {"name": "bench", "version": "1"},
        },
    }


def open_sessions(url: str, count: int, clients: int = 4) -> int:
    """`count` 2025-era initialize requests from `clients` threads; how many opened a session."""
    import httpx

    def open_many(n: int) -> int:
        opened = 0
        with httpx.Client(timeout=30) as http:
            for _ in range(n):
                response = http.post(
                    url,
                    json=initialize({"sampling": {}}),
                    headers={"accept": "application/json, text/event-stream"},
                )
                opened += "mcp-session-id" in response.headers
        return opened

    with ThreadPoolExecutor(clients) as pool:
        return sum(pool.map(open_many, [count // clients] * clients))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(len(ordered) * q), len(ordered) - 1)]


def median(samples: list[float]) -> float:
    return statistics.median(samples)
