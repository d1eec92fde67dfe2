"""A tiny remote MCP server (legacy Streamable HTTP, JSON answers) that records every request it gets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    """What reached the server: every request's headers and body."""

    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def text(self) -> str:
        with self.lock:
            return "\n".join(json.dumps(h) + "\n" + b.decode("utf-8", "replace") for h, b in self.requests)


def _answer(msg: dict[str, Any]) -> dict[str, Any] | None:
    method, req_id = msg.get("method"), msg.get("id")
    if req_id is None:
        return None  # a notification
    if method == "initialize":
        result: dict[str, Any] = {
            "protocolVersion": "2025-11-25",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "header-echo", "version": "1"},
        }
    elif method == "tools/list":
        result = {"tools": [{"name": "whoami", "inputSchema": {"type": "object"}}]}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": "ok"}]}
    elif method == "ping":
        result = {}
    else:
        return {
            "jsonrpc": "2.0",
            "id": req_id,
            "error": {"code": -32601, "message": f"Method not found: {method}"},
        }
    return {"jsonrpc": "2.0", "id": req_id, "result": result}


@contextmanager
def header_echo_server() -> Iterator[tuple[str, Seen]]:
    """Serve on a free loopback port; yields the MCP URL and what the server has seen."""
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with seen.lock:
                seen.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            answer = _answer(json.loads(body))
            if answer is None:
                self.send_response(202)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            payload = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            if answer.get("result", {}).get("protocolVersion"):
                self.send_header("mcp-session-id", "header-echo-session")
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self.send_response(405)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_DELETE(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mcp", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
