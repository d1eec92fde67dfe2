"""A small legacy MCP server as a MemoryTransport handler: echo, a tool that never answers, one that asks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcpctl.backends.memory import Reply
from mcpctl.protocol.jsonrpc import Message

TOOLS = [{"name": n, "inputSchema": {"type": "object"}} for n in ("echo", "slow", "ask")]


@dataclass
class MemoryServer:
    """Answers like a 2025-11-25 server; remembers what it was asked."""

    tools: list[dict[str, Any]] = field(default_factory=lambda: list(TOOLS))
    calls: list[Message] = field(default_factory=list)
    cancelled: list[Any] = field(default_factory=list)
    _asking: dict[Any, tuple[Any, Reply]] = field(default_factory=dict)

    def __call__(self, msg: Message, reply: Reply) -> None:
        method = msg.get("method")
        if method is None:  # the client's answer to our question
            request_id, _ = self._asking.pop(msg["id"])
            text = msg.get("result", {}).get("content", {}).get("text", "?")
            reply(
                {"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"type": "text", "text": text}]}}
            )
            return
        if method == "initialize":
            result = {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {"listChanged": True}},
                "serverInfo": {"name": "memory", "version": "1"},
            }
            reply({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        elif method == "server/discover":
            reply(
                {"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": "Method not found"}}
            )
        elif method == "tools/list":
            reply({"jsonrpc": "2.0", "id": msg["id"], "result": {"tools": self.tools}})
        elif method == "tools/call":
            self._call(msg, reply)
        elif method == "notifications/cancelled":
            self.cancelled.append(msg["params"]["requestId"])

    def _call(self, msg: Message, reply: Reply) -> None:
        self.calls.append(msg)
        name = msg["params"]["name"]
        if name == "echo":
            args = msg["params"].get("arguments", {})
            reply({"jsonrpc": "2.0", "id": msg["id"], "result": {"content": [], "structuredContent": args}})
        elif name == "ask":
            question_id = f"q{len(self._asking)}"
            self._asking[question_id] = (msg["id"], reply)
            reply(
                {
                    "jsonrpc": "2.0",
                    "id": question_id,
                    "method": "sampling/createMessage",
                    "params": {"messages": []},
                }
            )
