"""The pump and the supervisor with in-memory servers: no sockets, no processes, real event-loop timing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from mcpctl.backends.base import MessageSink, Transport
from mcpctl.backends.memory import MemoryTransport
from mcpctl.config.models import ServerConfig
from mcpctl.gateway.pump import Gateway
from mcpctl.protocol import codes
from mcpctl.protocol.eras import Era
from mcpctl.protocol.jsonrpc import Message
from mcpctl.router.context import ClientContext
from mcpctl.router.router import Router, RouterConfig
from mcpctl.router.servers import ServerRules
from mcpctl.router.streams import Forwarded, Immediate
from mcpctl.sealing import KeyRing
from mcpctl.supervisor import Supervisor
from mcpctl.tasks import TaskHost
from tests.gateway.memory_server import MemoryServer
from tests.support.waiting import until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Stack:
    gateway: Gateway
    supervisor: Supervisor
    servers: dict[str, MemoryServer]
    transports: dict[str, list[MemoryTransport]]

    async def client(self) -> ClientContext:
        ctx = ClientContext(Era.LEGACY, "2025-11-25", {}, {})
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {"sampling": {}}, "clientInfo": {}},
        }
        reply = self.gateway.open_session(ctx, init)
        assert reply.session is not None
        return ClientContext.for_session(reply.session)

    async def call(self, ctx: ClientContext, tool: str, request_id: Any = 1, **args: Any) -> list[Message]:
        """Everything the client reads for one tools/call, the answer last."""
        msg = {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": tool, "arguments": args},
        }
        reply = self.gateway.handle(ctx, msg)
        if isinstance(reply, Immediate):
            return [reply.message]
        assert isinstance(reply, Forwarded)
        seen: list[Message] = []
        async with asyncio.timeout(10):
            async for item, _final in self.gateway.stream(reply.call):
                seen.append(item)
                if item.get("method") == "sampling/createMessage":
                    answer = {
                        "jsonrpc": "2.0",
                        "id": item["id"],
                        "result": {"role": "assistant", "content": {"type": "text", "text": "hi"}},
                    }
                    self.gateway.handle(ctx, answer)
        return seen


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    configs = {"mem": ServerConfig(command="memory", call_timeout=0.3, max_call_timeout=5.0)}
    servers = {"mem": MemoryServer()}
    transports: dict[str, list[MemoryTransport]] = {"mem": []}

    def factory(name: str, config: ServerConfig, sink: MessageSink) -> Transport:
        transport = MemoryTransport(servers[name], sink, name)
        transports[name].append(transport)
        return transport

    rules = {
        name: ServerRules(prefix=name, call_timeout=c.call_timeout, max_call_timeout=c.max_call_timeout)
        for name, c in configs.items()
    }
    router = Router(RouterConfig(servers=rules), KeyRing.random())
    async with TaskHost() as tasks:

        async def no_session_links(server: str, owner: str) -> Any:
            raise AssertionError("no isolated servers here")

        async def end_session(session_id: str) -> None:
            return None

        gateway = Gateway(router, tasks, no_session_links, end_session)
        supervisor = Supervisor(configs, gateway, factory)
        supervisor.start(tasks)
        stack = Stack(gateway, supervisor, servers, transports)
        try:
            yield stack
        finally:
            await supervisor.shutdown(grace=0.1)
            gateway.stop()


async def test_a_call_goes_through_the_pump_and_comes_back(stack: Stack) -> None:
    client = await stack.client()
    [answer] = await stack.call(client, "mem__echo", x=1)
    assert answer == {"jsonrpc": "2.0", "id": 1, "result": {"content": [], "structuredContent": {"x": 1}}}


async def test_a_question_from_the_server_is_answered_on_the_calls_stream(stack: Stack) -> None:
    client = await stack.client()
    seen = await stack.call(client, "mem__ask")
    assert [m.get("method") for m in seen] == ["sampling/createMessage", None]
    assert seen[-1]["result"]["content"][0]["text"] == "hi"


async def test_the_timer_ends_a_silent_call_and_cancels_it_at_the_server(stack: Stack) -> None:
    client = await stack.client()
    [answer] = await stack.call(client, "mem__slow")
    assert answer["error"]["code"] == codes.BACKEND_TIMEOUT
    await until(lambda: stack.servers["mem"].cancelled)
    [slow] = [m for m in stack.servers["mem"].calls if m["params"]["name"] == "slow"]
    assert stack.servers["mem"].cancelled == [slow["id"]]


async def test_a_crash_fails_the_call_and_the_next_call_waits_for_the_restart(stack: Stack) -> None:
    client = await stack.client()
    await until(lambda: stack.supervisor.servers["mem"].connection is not None)
    reply = stack.gateway.handle(
        client,
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "mem__slow", "arguments": {}}},
    )
    assert isinstance(reply, Forwarded)
    stack.transports["mem"][-1].crash("the server was killed by SIGKILL")
    async with asyncio.timeout(5):
        items = [m async for m, _ in stack.gateway.stream(reply.call)]
    assert items[-1]["error"]["code"] == codes.BACKEND_UNAVAILABLE
    assert "SIGKILL" in items[-1]["error"]["message"]
    [answer] = await stack.call(client, "mem__echo", request_id=6, y=2)  # waits out the backoff
    assert answer.get("result", {}).get("structuredContent") == {"y": 2}, answer
    assert len(stack.transports["mem"]) == 2


async def test_a_message_that_cannot_be_sent_is_answered_at_once(stack: Stack) -> None:
    client = await stack.client()
    await until(lambda: stack.supervisor.servers["mem"].connection is not None)
    unsendable = {"x": {1, 2}}  # a set: no JSON encoder takes it
    [answer] = await stack.call(client, "mem__echo", **unsendable)
    assert answer["error"]["code"] == codes.BACKEND_UNAVAILABLE
    assert "could not be sent" in answer["error"]["message"]
