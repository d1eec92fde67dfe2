"""The cost of placement = "one": a call through the instance that runs the server against the same
call through another instance of the fleet, which forwards it over Redis, interleaved in one run.

Run:  .venv/bin/python -m tests.bench.bench_placement [--calls 500]

One client, one call at a time (a 2026-07-28 tools/call of fixtures/memory.py's `get`), alternating
between the two instances, so that the machine's noise falls on both alike. Prints p50 and p99 of
each and the difference of the medians: what forwarding adds to a call.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from mcpctl.protocol.headers import standard_headers
from tests.bench.common import MODERN_META, median, percentile
from tests.support.host import HostProcess, base_env, start_host, write_config
from tests.support.mcp_http import ACCEPT
from tests.support.node import free_port
from tests.support.redis import RedisServer

MEMORY = """
[servers.mem]
command = "{python}"
args = ["{fixtures}/memory.py"]
placement = "one"

[audit]
enabled = false
"""


def holder_first(hosts: list[HostProcess]) -> list[HostProcess]:
    """The instance running memory.py first, then the other."""
    for host in hosts:
        for child in psutil.Process(host.proc.pid).children(recursive=True):
            if any(part.endswith("memory.py") for part in child.cmdline()):
                return [host, *(h for h in hosts if h is not host)]
    raise RuntimeError("no instance runs memory.py")


def call(client: httpx.Client, url: str, request_id: int) -> float:
    """One tools/call; its round trip in milliseconds."""
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "mem__get", "arguments": {"key": "k"}, "_meta": MODERN_META},
    }
    started = time.perf_counter()
    response = client.post(url, json=body, headers={"accept": ACCEPT, **standard_headers(body)})
    took = (time.perf_counter() - started) * 1000
    answer = response.json()
    if "result" not in answer:
        raise RuntimeError(f"a call failed: {answer}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500, help="calls through each instance")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        redis = RedisServer(root / "redis", free_port())
        redis.directory.mkdir()
        redis.start()
        hosts: list[HostProcess] = []
        try:
            key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
            for index in range(2):
                home = root / f"instance-{index}"
                config = write_config(home, MEMORY)
                env = base_env(home, MCPCTL_FLEET_KEYS=key)
                hosts.append(start_host(home, "--config", str(config), "--state", redis.url, env=env))
            holder, other = holder_first(hosts)
            samples: dict[str, list[float]] = {"holder": [], "forwarded": []}
            with httpx.Client(timeout=30) as client:
                put = {
                    "jsonrpc": "2.0",
                    "id": 0,
                    "method": "tools/call",
                    "params": {
                        "name": "mem__put",
                        "arguments": {"key": "k", "value": "v"},
                        "_meta": MODERN_META,
                    },
                }
                client.post(holder.url, json=put, headers={"accept": ACCEPT, **standard_headers(put)})
                for _ in range(20):  # warm both paths up
                    call(client, holder.url, 1)
                    call(client, other.url, 1)
                for n in range(args.calls):
                    samples["holder"].append(call(client, holder.url, n))
                    samples["forwarded"].append(call(client, other.url, n))
        finally:
            for host in hosts:
                host.stop()
            redis.stop()
    for name, taken in samples.items():
        p50, p99 = median(taken), percentile(taken, 0.99)
        print(f"{name:<10} p50 {p50:.2f} ms  p99 {p99:.2f} ms  ({len(taken)} calls)")
    added = median(samples["forwarded"]) - median(samples["holder"])
    print(f"added by forwarding: {added:+.2f} ms at p50")


if __name__ == "__main__":
    main()
