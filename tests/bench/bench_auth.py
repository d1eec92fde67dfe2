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
the auth layer alone, in-process, for a key (its file watched by inotify, as a host does, and
polled by a `stat`, as where inotify cannot watch it) and a token, and the `stat` itself.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

from mcpctl.auth.apikeys import KeyFile
from mcpctl.paths import Paths
from tests.bench.common import GATEWAY_CPU, WrkResult, echo_request, pinned, wrk, wrk_arguments, wrk_script
from tests.limits.hosting import serve_config, stdio_server
from tests.support.host import HostProcess, fixture
from tests.support.mcp_http import ModernClient
from tests.support.oauth import OAuthServer, running_oauth_server

TARGET = 0.9
MODES = ("none", "api-key", "oauth")


def config(mode: str, issuer: str) -> dict[str, Any]:
    return {
        "servers": {"echo": stdio_server(fixture("echo.py"))},
        "audit": {"enabled": False},
        "metrics": {"enabled": False},
        "auth": {"mode": mode, "issuer": issuer, "scopes": ["mcp:tools"]},
    }


def api_key_header(home: Path) -> dict[str, str]:
    """A new API key for echo's tools in the host home `home`, as the header that presents it."""
    keys = KeyFile.at(Paths.from_env({"MCPCTL_HOME": str(home)}))
    with keys.editing():  # the gateway needs only the hash file; no keyring involved
        key, _ = keys.create("bench", ("echo__*",), time.time(), None)
    return {"Authorization": f"Bearer {key}"}


def credential(mode: str, home: Path, host: HostProcess | None, oauth: OAuthServer) -> dict[str, str]:
    if mode == "api-key":
        return api_key_header(home)
    if mode == "oauth":
        assert host is not None
        client = oauth.register(scope="mcp:tools")
        return {"Authorization": f"Bearer {oauth.token(client, host.url)}"}
    return {}


def measure(mode: str, work: Path, oauth: OAuthServer, seconds: float, connections: int) -> WrkResult:
    home = work / mode
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    api_key = credential(mode, home, None, oauth) if mode == "api-key" else {}
    host = serve_config(home, config(mode, oauth.issuer), prefix=pinned(GATEWAY_CPU, []))
    try:
        auth = api_key or credential(mode, home, host, oauth)
        with ModernClient(
            host.url, headers={k.lower(): v for k, v in auth.items()}
        ) as client:  # checked once
            assert client.call_tool("echo__echo", {"message": "hello"})["content"][0]["text"] == "hello"
        body = echo_request(name="echo__echo", arguments={"message": "hello"})
        script = wrk_script(work / f"{mode}.lua", body, auth)
        wrk(host.url, script, connections, 1).clean()  # warm-up
        return wrk(host.url, script, connections, seconds, host.proc.pid).clean()
    finally:
        host.stop()


def stat_cost(work: Path) -> float:
    """Microseconds per `os.stat` of the key file: what an API-key request pays to notice revocation
    where inotify cannot watch the file (see mcpctl/fswatch.py), at most once a millisecond."""
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
    from mcpctl.config.access import AuthConfig
    from mcpctl.fswatch import ChangeWatch
    from mcpctl.tasks import running

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
        watched = KeyVerifier(keys.path)
        watch = ChangeWatch(keys.path, watched.file_changed)  # as KeyWatch does in a host
        assert watch.start(), f"inotify cannot watch {keys.path}"
        watched.file_changed(True)
        async with running(jwks):
            costs = {}
            for mode, value, verifier in (
                ("api-key", key, watched),
                ("api-key polled", key, KeyVerifier(keys.path)),
                ("oauth", token, None),
            ):
                layer = AuthLayer(
                    downstream,
                    resource=resource,
                    policy=Policy([]),
                    audit=NullRecorder(),
                    max_body=1 << 20,
                    keys=verifier,
                    tokens=TokenValidator(config, oauth.issuer, jwks),
                )
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
                assert admitted == [mode.split()[0]], admitted
                best = float("inf")
                for _ in range(7):
                    started = time.perf_counter()
                    for _ in range(20_000):
                        await layer(dict(base), None, None)
                    best = min(best, (time.perf_counter() - started) / 20_000 * 1e6)
                costs[mode] = best
        watch.stop()
        return costs

    return asyncio.run(run())


def main() -> None:
    args = wrk_arguments(__doc__ or "", rounds=2)
    runs: dict[str, list[WrkResult]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="mcpctl-bench-auth-") as tmp:
        work = Path(tmp)
        with running_oauth_server(work / "oauth", RS_SCOPES="mcp:tools") as oauth:
            for round_ in range(1, args.rounds + 1):
                order = MODES if round_ % 2 else tuple(reversed(MODES))  # alternate: drift hits all
                for mode in order:
                    run = measure(mode, work, oauth, args.seconds, args.connections)
                    runs[mode].append(run)
                    cost = f"host CPU {run.cpu_us_per_call:6.1f} us/call"
                    print(f"round {round_} {mode:>7}: {run.rate:9.1f} calls/s  {cost}", flush=True)
            costs = layer_costs(work, oauth)
        print(f"key-file change check where it is polled (os.stat): {stat_cost(work):.2f} us")
        print(
            "auth layer alone, in-process: " + ", ".join(f"{m} {c:.2f} us/request" for m, c in costs.items())
        )
    best = {mode: max(r.rate for r in runs[mode]) for mode in MODES}
    cpu = {mode: statistics.median(r.cpu_us_per_call for r in runs[mode]) for mode in MODES}
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
