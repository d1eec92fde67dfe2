"""Auth on the hot path: tool-call throughput with an API key, and with an OAuth JWT, vs no auth.

Run from the repository root (needs wrk, and node from tests/node for the OpenID provider):

    .venv/bin/python -m tests.bench.bench_auth [--seconds 5] [--rounds 2] [--connections 16]

Each round runs wrk (on core 1; the host and its child share core 0) against three hosts with the
same echo server: auth off, `--auth api-key` (every request carries `Authorization: Bearer mcpk_...`:
key-file change check, hash, policy hook with the key's tool globs) and `--auth oauth` (a real
RS256 JWT from oidc-provider: validated once, then served from the token cache; audience and
expiry are still checked per request). wrk posts a 2026-07-28 tools/call. Audit and metrics are
off in all three, so only auth is measured. It prints calls/s, the host's CPU per call, and the
ratios against the unauthenticated run of the same rounds; the target is >= 0.9. It also times
the per-request `stat` that makes revocation count from the next request.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import tomli_w

from mcpctl.auth.apikeys import KeyFile
from mcpctl.paths import Paths
from mcpctl.protocol.headers import standard_headers
from tests.bench.common import GATEWAY_CPU, LOAD_CPU, pinned
from tests.support.host import HostProcess, base_env, fixture, start_host
from tests.support.mcp_http import ModernClient
from tests.support.oauth import OAuthServer, running_oauth_server

TARGET = 0.9
MODES = ("none", "api-key", "oauth")


def write_config(home: Path, mode: str, issuer: str) -> Path:
    command = fixture("echo.py")
    config: dict[str, Any] = {
        "servers": {"echo": {"command": command[0], "args": command[1:]}},
        "audit": {"enabled": False},
        "metrics": {"enabled": False},
        "auth": {"mode": mode, "issuer": issuer, "scopes": ["mcp:tools"]},
    }
    path = home / "mcpctl.toml"
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(config))
    return path


def credential(mode: str, home: Path, host: HostProcess | None, oauth: OAuthServer) -> dict[str, str]:
    if mode == "api-key":
        keys = KeyFile.at(Paths.from_env({"MCPCTL_HOME": str(home)}))
        with keys.editing():  # the gateway needs only the hash file; no keyring involved
            key, _ = keys.create("bench", ("echo__*",), time.time(), None)
        return {"Authorization": f"Bearer {key}"}
    if mode == "oauth":
        assert host is not None
        client = oauth.register(scope="mcp:tools")
        return {"Authorization": f"Bearer {oauth.token(client, host.url)}"}
    return {}


def lua_script(url: str, auth: dict[str, str]) -> str:
    body = ModernClient(url).body("tools/call", {"name": "echo__echo", "arguments": {"message": "hello"}})
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        **standard_headers(body),
        **auth,
    }
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = [[{httpx.Request('POST', url, json=body).content.decode()}]]",
    ]
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Run:
    rate: float  # calls per second
    cpu_per_call: float  # microseconds of the host process's CPU per call


def run_wrk(host: HostProcess, script: Path, seconds: float, connections: int) -> Run:
    process = psutil.Process(host.proc.pid)
    before = process.cpu_times()
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), host.url]
    out = subprocess.run(pinned(LOAD_CPU, command), check=True, capture_output=True, text=True).stdout
    after = process.cpu_times()
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw failures:\n{out}")
    rate = float(_find(r"Requests/sec:\s+([\d.]+)", out))
    total = int(_find(r"(\d+) requests in", out))
    cpu = (after.user - before.user) + (after.system - before.system)
    return Run(rate, cpu / max(total, 1) * 1e6)


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise SystemExit(f"unexpected wrk output:\n{text}")
    return match.group(1)


def measure(mode: str, work: Path, oauth: OAuthServer, seconds: float, connections: int) -> Run:
    home = work / mode
    shutil.rmtree(home, ignore_errors=True)
    config = write_config(home, mode, oauth.issuer)
    api_key = credential(mode, home, None, oauth) if mode == "api-key" else {}
    command_env = base_env(home)
    host = start_host(home, "--config", str(config), env=command_env)
    _pin(host)
    try:
        auth = api_key or credential(mode, home, host, oauth)
        with ModernClient(
            host.url, headers={k.lower(): v for k, v in auth.items()}
        ) as client:  # checked once
            assert client.call_tool("echo__echo", {"message": "hello"})["content"][0]["text"] == "hello"
        script = work / f"{mode}.lua"
        script.write_text(lua_script(host.url, auth))
        run_wrk(host, script, 1, connections)  # warm-up
        return run_wrk(host, script, seconds, connections)
    finally:
        host.stop()


def _pin(host: HostProcess) -> None:
    """The host and its children on the gateway's core (wrk has the other one)."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return
    process = psutil.Process(host.proc.pid)
    for each in (process, *process.children(recursive=True)):
        each.cpu_affinity([int(GATEWAY_CPU)])


def stat_cost(work: Path) -> float:
    """Microseconds per `os.stat` of the key file: what every API-key request pays to notice revocation."""
    path = work / "stat-probe.json"
    path.write_text("{}")
    runs = 200_000
    return timeit.timeit(lambda: os.stat(path), number=runs) / runs * 1e6


def layer_costs(work: Path, oauth: OAuthServer) -> dict[str, float]:
    """Microseconds per request through the auth layer alone (in-process, best of 7 batches).

    Unlike wrk's throughput, this barely moves when other work shares the machine.
    """
    import asyncio

    from mcpctl.audit.api import NullRecorder
    from mcpctl.auth.jwks import JwksCache
    from mcpctl.auth.layer import AuthLayer
    from mcpctl.auth.policy import Policy
    from mcpctl.auth.resource import ProtectedResource
    from mcpctl.auth.tokens import TokenValidator
    from mcpctl.auth.verify import KeyVerifier
    from mcpctl.config.models import AuthConfig

    keys = KeyFile(work / "layer-keys.json")
    with keys.editing():
        key, _ = keys.create("bench", ("echo__*",), time.time(), None)
    config = AuthConfig(mode="both", issuer=oauth.issuer, scopes=["mcp:tools"])
    resource = ProtectedResource(issuer=oauth.issuer, scopes=["mcp:tools"])
    audience = "http://127.0.0.1:9/mcp"
    token = oauth.token(oauth.register(scope="mcp:tools"), audience)

    admitted: list[str] = []

    async def downstream(scope: Any, receive: Any, send: Any) -> None:
        if not admitted:
            admitted.append(scope["mcpctl.principal"].kind)  # refused requests never get here

    async def run() -> dict[str, float]:
        jwks = JwksCache(oauth.issuer, None)
        await jwks.start()
        layer = AuthLayer(
            downstream,
            resource=resource,
            policy=Policy([]),
            audit=NullRecorder(),
            max_body=1 << 20,
            keys=KeyVerifier(keys.path),
            tokens=TokenValidator(config, oauth.issuer, jwks),
        )
        costs = {}
        for mode, value in (("api-key", key), ("oauth", token)):
            authorization = f"Bearer {value}".encode()
            headers = [
                (b"host", b"127.0.0.1:9"),
                (b"content-type", b"application/json"),
                (b"authorization", authorization),
                (b"mcp-method", b"tools/call"),
            ]
            base = {
                "type": "http",
                "path": "/mcp",
                "method": "POST",
                "headers": headers,
                "client": ("127.0.0.1", 5),
                "server": ("127.0.0.1", 9),
            }
            admitted.clear()
            await layer(dict(base), None, None)  # loads the keys / validates the token once
            assert admitted == [mode], admitted
            best = float("inf")
            for _ in range(7):
                started = time.perf_counter()
                for _ in range(20_000):
                    await layer(dict(base), None, None)
                best = min(best, (time.perf_counter() - started) / 20_000 * 1e6)
            costs[mode] = best
        await jwks.stop()
        return costs

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    runs: dict[str, list[Run]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="mcpctl-bench-auth-") as tmp:
        work = Path(tmp)
        with running_oauth_server(work / "oauth", RS_SCOPES="mcp:tools") as oauth:
            for round_ in range(1, args.rounds + 1):
                order = MODES if round_ % 2 else tuple(reversed(MODES))  # alternate: drift hits all
                for mode in order:
                    run = measure(mode, work, oauth, args.seconds, args.connections)
                    runs[mode].append(run)
                    cost = f"host CPU {run.cpu_per_call:6.1f} us/call"
                    print(f"round {round_} {mode:>7}: {run.rate:9.1f} calls/s  {cost}", flush=True)
            costs = layer_costs(work, oauth)
        print(f"key-file change check (os.stat per API-key request): {stat_cost(work):.2f} us")
        print(
            "auth layer alone, in-process: " + ", ".join(f"{m} {c:.2f} us/request" for m, c in costs.items())
        )
    best = {mode: max(r.rate for r in runs[mode]) for mode in MODES}
    cpu = {mode: statistics.median(r.cpu_per_call for r in runs[mode]) for mode in MODES}
    worst = 1.0
    for mode in ("api-key", "oauth"):
        ratio = best[mode] / best["none"]
        worst = min(worst, ratio)
        verdict = "ok" if ratio >= TARGET else f"BELOW the {TARGET} target"
        print(
            f"{mode}/none throughput (best rounds): {best[mode]:.1f} / {best['none']:.1f} calls/s = "
            f"{ratio:.3f} ({verdict}); host CPU per call {cpu[mode]:.1f} / {cpu['none']:.1f} us = "
            f"{cpu['none'] / cpu[mode]:.3f}"
        )
    sys.exit(0 if worst >= TARGET else 1)


if __name__ == "__main__":
    main()
