"""Era bridge: what one input_required round costs a 2026-07-28 client of a 2025-era server, against
the same question answered on a 2025-era session, in one run through one `mcpctl serve`.

Run:  .venv/bin/python -m tests.bench.bench_bridge [--calls 200]

The server is fixtures/asker.py --era legacy behind `mcpctl serve --` (one shared child); its tool
ask_elicitation asks one elicitation and answers with it. Both clients are raw HTTP (httpx), one
call at a time, on core 1; mcpctl and its child on core 0.
  legacy: initialize once; each call is a POST whose SSE stream carries the server's request, the
          answer a second POST, and the result comes on the first stream.
  modern: each call is a POST answered input_required, then a retry POST with inputResponses and
          the sealed requestState, answered with the result.
The round waits SETTLE (50 ms) for more questions before it answers input_required: that window is
the bulk of the difference, and is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from mcpctl.protocol.headers import standard_headers
from mcpctl.router.mrtr import SETTLE
from tests.bench.common import (
    GATEWAY_CPU,
    LEGACY_VERSION,
    initialize,
    median,
    percentile,
    pin_self_to_load_cpu,
    pinned,
)
from tests.support.host import fixture, start_host

ACCEPT = "application/json, text/event-stream"
ANSWER = {"action": "accept", "content": {"name": "bench"}}
ARGUMENTS = {"message": "who?"}


class LegacySession:
    """One 2025-era session over raw HTTP; answers an elicitation on a call's stream at once."""

    def __init__(self, url: str, capabilities: dict[str, Any]) -> None:
        self.url = url
        self.http = httpx.Client(timeout=60)
        opened = self.http.post(url, json=initialize(capabilities), headers={"accept": ACCEPT})
        opened.raise_for_status()
        self.headers = {
            "accept": ACCEPT,
            "mcp-session-id": opened.headers["mcp-session-id"],
            "mcp-protocol-version": LEGACY_VERSION,
        }
        self.http.post(
            url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=self.headers
        )
        self.next_id = 0

    def call(self, name: str, arguments: dict[str, Any]) -> str:
        """One tools/call; its result's text (SystemExit on an error)."""
        self.next_id += 1
        n = self.next_id
        body = {
            "jsonrpc": "2.0",
            "id": n,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments},
        }
        with self.http.stream("POST", self.url, json=body, headers=self.headers) as response:
            response.raise_for_status()
            if response.headers.get("content-type", "").startswith("application/json"):
                return _text(orjson.loads(response.read()))
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                message = orjson.loads(line[6:])
                if message.get("method") == "elicitation/create":
                    answer = {"jsonrpc": "2.0", "id": message["id"], "result": ANSWER}
                    self.http.post(self.url, json=answer, headers=self.headers).raise_for_status()
                elif message.get("id") == n and "method" not in message:
                    return _text(message)
        raise SystemExit(f"{name}: the stream ended without a result")

    def close(self) -> None:
        self.http.delete(self.url, headers=self.headers)
        self.http.close()


def _text(message: dict[str, Any]) -> str:
    result = message.get("result")
    if not isinstance(result, dict) or result.get("isError"):
        raise SystemExit(f"a call failed: {json.dumps(message)}")
    return str(result["content"][0]["text"])


def legacy_calls(url: str, count: int) -> list[float]:
    """Seconds per call on one 2025-era session: ask over SSE, answer by POST, result on the stream."""
    samples: list[float] = []
    session = LegacySession(url, {"elicitation": {}})
    try:
        for _ in range(count):
            started = time.perf_counter()
            text = session.call("ask_elicitation", ARGUMENTS)
            samples.append(time.perf_counter() - started)
            assert text.startswith("elicited: accept"), text
    finally:
        session.close()
    return samples


def modern_calls(url: str, count: int) -> list[float]:
    """Seconds per call for a 2026-07-28 client: input_required, then the retry with the answer."""
    samples: list[float] = []
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
    }

    def post(http: httpx.Client, request_id: int, **extra: Any) -> dict[str, Any]:
        params = {"name": "ask_elicitation", "arguments": ARGUMENTS, "_meta": meta, **extra}
        body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
        response = http.post(url, json=body, headers={"accept": ACCEPT, **standard_headers(body)})
        answer: dict[str, Any] = response.json()
        return answer["result"]  # type: ignore[no-any-return]

    with httpx.Client(timeout=30) as http:
        for n in range(count):
            started = time.perf_counter()
            asked = post(http, 2 * n)
            [key] = asked["inputRequests"]
            done = post(http, 2 * n + 1, inputResponses={key: ANSWER}, requestState=asked["requestState"])
            samples.append(time.perf_counter() - started)
            assert done["resultType"] == "complete" and "elicited: accept" in json.dumps(done), done
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    pin_self_to_load_cpu()
    with tempfile.TemporaryDirectory() as tmp:
        host = start_host(
            Path(tmp) / "home",
            "--log-level",
            "warning",
            "--",
            *fixture("asker.py", "--era", "legacy"),
            prefix=pinned(GATEWAY_CPU, []),
        )
        try:
            warm = max(args.calls // 10, 2)
            legacy_calls(host.url, warm)
            modern_calls(host.url, warm)
            legacy = legacy_calls(host.url, args.calls)
            modern = modern_calls(host.url, args.calls)
        finally:
            host.stop()
    rows = {"legacy": legacy, "modern": modern}
    report: dict[str, Any] = {
        name: {"p50_ms": median(s) * 1000, "p99_ms": percentile(s, 0.99) * 1000} for name, s in rows.items()
    }
    report["added_p50_ms"] = report["modern"]["p50_ms"] - report["legacy"]["p50_ms"]
    report["settle_ms"] = SETTLE * 1000
    report["added_beyond_settle_ms"] = report["added_p50_ms"] - report["settle_ms"]
    report["calls"] = args.calls
    print(
        f"legacy session, server->client request : p50 {report['legacy']['p50_ms']:7.2f} ms"
        f"   p99 {report['legacy']['p99_ms']:7.2f} ms"
    )
    print(
        f"modern client, one input_required round: p50 {report['modern']['p50_ms']:7.2f} ms"
        f"   p99 {report['modern']['p99_ms']:7.2f} ms"
    )
    print(
        f"added by the round (p50)               : {report['added_p50_ms']:7.2f} ms"
        f" = settle window {report['settle_ms']:.0f} ms + {report['added_beyond_settle_ms']:.2f} ms"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
