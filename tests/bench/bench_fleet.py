"""The fleet's costs: one instance with in-memory state against one with Redis state, in one run; the
cost of an answer that lands on another instance; and a discrete-event model of ten instances on one
Redis fed with those measurements (where Redis saturates, what share of traffic is forwarded).

Run:  .venv/bin/python -m tests.bench.bench_fleet [--calls 1000] [--answers 50]

Figures are ratios against the in-memory instance measured in the same run (this machine is shared
and noisy): added latency per session-bound call, CPU per call (mcpctl, and mcpctl plus Redis), and
Redis commands per request (from INFO commandstats). The model is printed with its inputs.
"""

from __future__ import annotations

import argparse
import base64
import heapq
import json
import random
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from tests.bench.common import median, percentile
from tests.support.host import HostProcess, base_env, start_host, write_config
from tests.support.mcp_http import ACCEPT, LegacyClient
from tests.support.node import free_port
from tests.support.redis import RedisServer
from tests.support.waiting import wait_until

ECHO = """
[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py", "--era", "legacy"]

[servers.asker]
command = "{python}"
args = ["{fixtures}/asker.py", "--era", "legacy"]

[audit]
enabled = false
"""


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def redis_commands(redis: RedisServer) -> tuple[int, float]:
    """(round trips, microseconds Redis spent on them) since start, from INFO commandstats: the
    commands a client sent (a script's own commands are counted under its EVALSHA's time)."""
    info = httpx_free_info(redis)
    calls = usec = 0.0
    inner = {"time", "hgetall", "pexpire", "zadd", "get", "set", "del", "zrem"}  # run inside scripts
    for line in info.splitlines():
        if line.startswith("cmdstat_"):
            name = line.split(":", 1)[0].removeprefix("cmdstat_")
            fields = dict(part.split("=") for part in line.split(":", 1)[1].split(","))
            if name in ("evalsha", "eval") or name not in inner:
                usec += float(fields["usec"])
                calls += float(fields["calls"])
    return int(calls), usec


def httpx_free_info(redis: RedisServer) -> str:
    import socket

    with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as sock:
        sock.sendall(b"INFO commandstats\r\n")
        data = b""
        while not data.endswith(b"\r\n") or data.count(b"\r\n") < 2:
            data += sock.recv(65536)
        size = int(data.split(b"\r\n", 1)[0][1:])
        body = data.split(b"\r\n", 1)[1]
        while len(body) < size:
            body += sock.recv(65536)
    return body[:size].decode()


def session_calls(host: HostProcess, count: int) -> list[float]:
    with LegacyClient(host.url) as client:
        for _ in range(50):  # warm up
            client.call_tool("echo__echo", {"message": "w"})
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            client.call_tool("echo__echo", {"message": "x"})
            samples.append(time.perf_counter() - started)
    return samples


def measure(host: HostProcess, calls: int, redis: RedisServer | None) -> dict[str, float]:
    cpu0 = cpu_seconds(host.proc.pid)
    redis0 = cpu_seconds(redis.proc.pid) if redis and redis.proc else 0.0
    cmds0 = redis_commands(redis) if redis else (0, 0.0)
    samples = session_calls(host, calls)
    cpu = cpu_seconds(host.proc.pid) - cpu0
    redis_cpu = (cpu_seconds(redis.proc.pid) - redis0) if redis and redis.proc else 0.0
    cmds1 = redis_commands(redis) if redis else (0, 0.0)
    total = calls + 50 + 2  # the measured calls, the warm-up, initialize and initialized
    return {
        "p50_ms": median(samples) * 1000,
        "p99_ms": percentile(samples, 0.99) * 1000,
        "cpu_us_per_call": cpu / total * 1e6,
        "redis_cpu_us_per_call": redis_cpu / total * 1e6,
        "redis_round_trips_per_call": (cmds1[0] - cmds0[0]) / total,
        "redis_us_per_call": (cmds1[1] - cmds0[1]) / total,
    }


def answer_latency(ask_on: HostProcess, answer_on: HostProcess, rounds: int) -> list[float]:
    """From posting the answer to a sampling question to the call's result, `rounds` times."""
    samples = []
    with LegacyClient(ask_on.url, capabilities={"sampling": {}}) as client:
        for n in range(rounds):
            seen: list[dict[str, Any]] = []
            asked = threading.Event()
            done = threading.Event()
            body = {
                "jsonrpc": "2.0",
                "id": 1000 + n,
                "method": "tools/call",
                "params": {"name": "asker__ask_sampling", "arguments": {"prompt": "p"}},
            }

            def run(
                body: dict[str, Any] = body,
                seen: list[dict[str, Any]] = seen,
                asked: threading.Event = asked,
                done: threading.Event = done,
            ) -> None:
                headers = {**client.headers(), "accept": ACCEPT}
                with httpx.stream("POST", ask_on.url, json=body, headers=headers, timeout=60) as response:
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            seen.append(orjson.loads(line[6:]))
                            (done if "result" in seen[-1] else asked).set()

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            assert asked.wait(30)
            question = seen[0]
            answer = {
                "jsonrpc": "2.0",
                "id": question["id"],
                "result": {"role": "assistant", "model": "m", "content": {"type": "text", "text": "a"}},
            }
            started = time.perf_counter()
            httpx.post(answer_on.url, json=answer, headers=client.headers(), timeout=30)
            assert done.wait(30)
            samples.append(time.perf_counter() - started)
            thread.join(10)
    return samples


def simulate(instances: int, rate: float, redis_us: float, seconds: float = 20.0) -> dict[str, float]:
    """A discrete-event model: `instances` each sending `rate` session-bound requests/s (Poisson),
    each costing Redis `redis_us` of its one thread (measured). Returns Redis's utilization and the
    time a request waits queued at Redis (p50, p99, ms)."""
    rng = random.Random(7)
    arrivals: list[float] = []
    for _ in range(instances):
        t = 0.0
        while t < seconds:
            t += rng.expovariate(rate)
            arrivals.append(t)
    heapq.heapify(arrivals)
    free_at = 0.0
    busy = 0.0
    waits = []
    service = redis_us / 1e6
    while arrivals:
        t = heapq.heappop(arrivals)
        whole = service
        start = max(t, free_at)
        waits.append(start - t)
        free_at = start + whole
        busy += whole
    waits.sort()
    return {
        "utilization": busy / seconds,
        "wait_p50_ms": waits[len(waits) // 2] * 1000,
        "wait_p99_ms": waits[int(len(waits) * 0.99)] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--answers", type=int, default=50)
    args = parser.parse_args()
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        redis = RedisServer(root / "redis", free_port())
        redis.directory.mkdir()
        redis.start()
        hosts: list[HostProcess] = []
        try:
            memory_home = root / "memory"
            hosts.append(start_host(memory_home, "--config", str(write_config(memory_home, ECHO))))
            for name in ("fleet-a", "fleet-b"):
                home = root / name
                env = base_env(home, MCPCTL_FLEET_KEYS=key)
                hosts.append(
                    start_host(home, "--config", str(write_config(home, ECHO)), "--state", redis.url, env=env)
                )
            memory, fleet_a, fleet_b = hosts
            wait_until(lambda: fleet_a.ready()["state"]["healthy"], 20)
            base = measure(memory, args.calls, None)
            shared = measure(fleet_a, args.calls, redis)
            same = answer_latency(fleet_a, fleet_a, args.answers)
            forwarded = answer_latency(fleet_a, fleet_b, args.answers)
        finally:
            for host in hosts:
                host.stop()
            redis.stop()
    figures = {
        "memory": base,
        "redis": shared,
        "added_p50_ms": shared["p50_ms"] - base["p50_ms"],
        "added_p99_ms": shared["p99_ms"] - base["p99_ms"],
        "p50_ratio": shared["p50_ms"] / base["p50_ms"],
        "cpu_ratio": shared["cpu_us_per_call"] / base["cpu_us_per_call"],
        "cpu_with_redis_ratio": (shared["cpu_us_per_call"] + shared["redis_cpu_us_per_call"])
        / base["cpu_us_per_call"],
        "answer_same_instance_p50_ms": median(same) * 1000,
        "answer_forwarded_p50_ms": median(forwarded) * 1000,
        "answer_forwarded_added_ms": (median(forwarded) - median(same)) * 1000,
    }
    service = max(shared["redis_us_per_call"], 1.0)
    saturation = 1e6 / service
    model = {
        f"10 x {share * saturation / 10:.0f}/s": simulate(10, share * saturation / 10, service)
        for share in (0.25, 0.5, 0.7, 0.9)
    }
    figures["model"] = {
        "inputs": {"instances": 10, "redis_us_per_call": service},
        "redis_saturates_at_calls_per_s": saturation,
        "forwarded_share_of_answers": (10 - 1) / 10,
        "runs": model,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
