"""A deliberately raw MCP client over HTTP for tests: every header and byte is visible."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import orjson

from mcpctl.protocol.sse import SSEDecoder

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
ACCEPT = "application/json, text/event-stream"


def parse_sse(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(e.data) for e in SSEDecoder().feed(text) if e.data]


def messages_of(response: httpx.Response) -> list[dict[str, Any]]:
    """All JSON-RPC messages in a response, JSON or SSE."""
    kind = response.headers.get("content-type", "")
    if kind.startswith("text/event-stream"):
        return parse_sse(response.text)
    if kind.startswith("application/json"):
        return [response.json()]
    return []


class LegacyClient:
    """A 2025-era client: initialize, then requests with the session id."""

    def __init__(
        self,
        url: str,
        *,
        version: str = LEGACY,
        capabilities: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.version = version
        self.capabilities = capabilities or {}
        self.http = httpx.Client(timeout=30, headers=headers or {})
        self.session_id: str | None = None
        self._ids = itertools.count(1)
        self.init_result: dict[str, Any] = {}

    def __enter__(self) -> LegacyClient:
        self.initialize()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.session_id:
            self.http.delete(self.url, headers={"mcp-session-id": self.session_id})
        self.http.close()

    def initialize(self) -> dict[str, Any]:
        body = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": "initialize",
            "params": {
                "protocolVersion": self.version,
                "capabilities": self.capabilities,
                "clientInfo": {"name": "tests", "version": "1"},
            },
        }
        response = self.http.post(self.url, json=body, headers={"accept": ACCEPT})
        response.raise_for_status()
        self.session_id = response.headers["mcp-session-id"]
        self.init_result = messages_of(response)[-1]["result"]
        self.notify("notifications/initialized")
        return self.init_result

    def headers(self) -> dict[str, str]:
        return {
            "accept": ACCEPT,
            "mcp-session-id": self.session_id or "",
            "mcp-protocol-version": self.version,
        }

    def post(self, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(self.url, json=body, headers=self.headers())

    def request(self, method: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every message of the response (interim ones first, the response last)."""
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": next(self._ids), "method": method}
        if params is not None:
            body["params"] = params
        return messages_of(self.post(body))

    def result(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        final = self.request(method, params)[-1]
        assert "result" in final, final
        return final["result"]  # type: ignore[no-any-return]

    def notify(self, method: str, params: dict[str, Any] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            body["params"] = params
        return self.post(body)

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.result("tools/call", {"name": name, "arguments": arguments or {}})


class ModernClient:
    """A 2026-07-28 client: every request stands alone, with _meta and mirrored headers."""

    def __init__(
        self, url: str, *, capabilities: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.url = url
        self.capabilities = capabilities or {}
        self.http = httpx.Client(timeout=30, headers=headers or {})
        self._ids = itertools.count(1)

    def __enter__(self) -> ModernClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def body(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        params = dict(params or {})
        params["_meta"] = {
            **params.get("_meta", {}),
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": self.capabilities,
            "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "1"},
        }
        return {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}

    def post(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        from mcpctl.protocol.headers import standard_headers

        sent = {"accept": ACCEPT, **standard_headers(body), **(headers or {})}
        return self.http.post(self.url, json=body, headers=sent)

    def request(self, method: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return messages_of(self.post(self.body(method, params)))

    def result(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        final = self.request(method, params)[-1]
        assert "result" in final, final
        return final["result"]  # type: ignore[no-any-return]

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.result("tools/call", {"name": name, "arguments": arguments or {}})


class StreamingCall:
    """A 2026-07-28 tools/call run in a thread, streamed: `progressed` is set at the first progress
    notification (the backend is working on it), `final` holds the response once it arrives."""

    def __init__(self, url: str, name: str, arguments: dict[str, Any], token: int = 1) -> None:
        import threading

        self.url = url
        with ModernClient(url) as client:
            self.body = client.body(
                "tools/call", {"name": name, "arguments": arguments, "_meta": {"progressToken": token}}
            )
        self.progressed = threading.Event()
        self.messages: list[dict[str, Any]] = []
        self.final: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from mcpctl.protocol.headers import standard_headers

        try:
            headers = {"accept": ACCEPT, **standard_headers(self.body)}
            with httpx.stream("POST", self.url, json=self.body, headers=headers, timeout=60) as response:
                if response.headers.get("content-type", "").startswith("application/json"):
                    self.final = orjson.loads(response.read())
                    return
                for event in _events(response.iter_lines()):
                    self.messages.append(event)
                    if event.get("method") == "notifications/progress":
                        self.progressed.set()
                    elif "id" in event:
                        self.final = event
        except BaseException as exc:  # reported by join()
            self.error = exc

    def join(self, timeout: float = 30) -> dict[str, Any]:
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.final is not None, f"no response; saw {self.messages}"
        return self.final


def _events(lines: Any) -> Any:
    for line in lines:
        if line.startswith("data: "):
            yield orjson.loads(line[6:])
