"""A server of placement = "one" under the supervisor and the pump: started only when this instance
holds it, stopped when another does (in-memory servers: no Redis, no processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from mcpctl.backends.base import MessageSink, Transport
from mcpctl.backends.memory import MemoryTransport
from mcpctl.config.models import ServerConfig
from mcpctl.gateway.pump import Gateway
from mcpctl.managed import ServerState
from mcpctl.router.router import Router, RouterConfig
from mcpctl.router.servers import ServerRules
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
    transports: list[MemoryTransport]


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    configs = {"mem": ServerConfig(command="memory", placement="one"), "b": ServerConfig(command="memory")}
    transports: list[MemoryTransport] = []

    def factory(name: str, config: ServerConfig, sink: MessageSink) -> Transport:
        transport = MemoryTransport(MemoryServer(), sink, name)
        if name == "mem":
            transports.append(transport)
        return transport

    router = Router(
        RouterConfig(servers={name: ServerRules(prefix=name) for name in configs}, fleet=True),
        KeyRing.random(),
    )
    async with TaskHost() as tasks:

        async def no_session_links(server: str, owner: str) -> Any:
            raise AssertionError("no isolated servers here")

        async def end_session(session_id: str) -> None:
            return None

        gateway = Gateway(router, tasks, no_session_links, end_session)
        supervisor = Supervisor(configs, gateway, factory, placed=["mem"])
        supervisor.start(tasks)
        try:
            yield Stack(gateway, supervisor, transports)
        finally:
            await supervisor.shutdown(grace=0.1)
            gateway.stop()


async def test_a_placed_server_starts_only_when_taken_and_stops_when_released(stack: Stack) -> None:
    supervisor, gateway = stack.supervisor, stack.gateway
    await until(lambda: supervisor.servers["b"].state is ServerState.READY)
    assert not stack.transports and not supervisor.running("mem")  # not ours (yet)
    assert not supervisor.required_ready()
    assert gateway.placed_view("mem") is None  # starting for the first time: nothing to publish
    supervisor.take("mem")
    await until(lambda: supervisor.servers["mem"].state is ServerState.READY)
    assert supervisor.running("mem") and len(stack.transports) == 1
    view = gateway.placed_view("mem")
    assert view is not None
    lists, state = view
    assert [t["name"] for t in lists["tools"]] == ["echo", "slow", "ask"] and state == "ready"
    supervisor.release("mem")  # another instance holds it now
    gateway.server_elsewhere("mem", "other", lists)
    supervisor.runs_elsewhere("mem", "other", "ready")
    await until(supervisor.servers["mem"].done.is_set)
    assert stack.transports[0]._closed
    assert not supervisor.running("mem")
    assert supervisor.required_ready()  # it runs elsewhere, and its lists are known here
    status = supervisor.status("mem")
    assert (status["state"], status["runsOn"], status["pid"], status["placement"]) == (
        "ready",
        "other",
        None,
        "one",
    )
    assert gateway.router.servers["mem"].runs_on == "other"
    assert gateway.router.catalog.route_tool("mem__echo") is not None  # still listed here
    gateway.server_here("mem")  # the other instance died: ours again
    supervisor.take("mem")
    await until(lambda: supervisor.servers["mem"].state is ServerState.READY and supervisor.running("mem"))
    assert len(stack.transports) == 2 and supervisor.status("mem")["runsOn"] is None
    assert gateway.router.servers["mem"].runs_on is None and gateway.router.servers["mem"].shared is not None
    supervisor.release("mem")
    supervisor.runs_elsewhere("mem", "third", "crash-loop")  # what that instance published
    await until(supervisor.servers["mem"].done.is_set)
    assert supervisor.status("mem")["state"] == "crash-loop"
    assert not supervisor.required_ready()
