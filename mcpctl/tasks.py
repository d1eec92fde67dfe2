"""One task group per host: background work is named, its failures are logged, all of it ends at stop."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Protocol

import anyio
import anyio.abc

log = logging.getLogger(__name__)


class Service(Protocol):
    """Something that runs for as long as the host does (a writer, a key refresher).

    `run` calls `task_status.started()` once it is ready to be used (an exception before that
    fails the start), then runs until cancelled; `drain` (after cancellation) finishes what must
    not be lost, within a deadline of its own.
    """

    name: str

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None: ...

    async def drain(self) -> None: ...


class TaskHost:
    """An anyio task group that a failing background task cannot bring down, and that says why it failed.

    anyio rather than asyncio.TaskGroup, which has neither of these: `start` with `task_status` (a
    service is ready before the host goes on, and a failed start fails the host's), and cancel
    scopes that can be cancelled from outside (the supervisor stops one server's loops alone).

    `spawn` is for short jobs (a re-read of a server's lists); `start` for services, which it
    waits for until they are ready. Leaving the `async with` cancels what still runs, then
    drains the services in reverse order.
    """

    def __init__(self) -> None:
        self._group: anyio.abc.TaskGroup | None = None
        self._services: list[Service] = []

    async def __aenter__(self) -> TaskHost:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._group is not None
        self._group.cancel_scope.cancel()
        try:
            return await self._group.__aexit__(kind, exc, tb)
        except BaseExceptionGroup as group:
            # Background jobs never raise (their failures are logged): a group holds what the body
            # raised, which its caller should see as it was raised (a UsageError, Ctrl-C).
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise
        finally:
            self._group = None
            for service in reversed(self._services):
                with anyio.CancelScope(shield=True):
                    await _logged(service.drain, f"draining {service.name}")

    @property
    def running(self) -> bool:
        return self._group is not None

    def spawn(self, job: Callable[..., Awaitable[Any]], *args: Any, name: str) -> None:
        """Run `job(*args)` in the background; an exception is logged with `name`, never raised."""
        if self._group is None:
            raise RuntimeError(f"cannot start {name}: the host's task group is not running")
        self._group.start_soon(_logged, job, name, *args, name=name)

    async def start(self, service: Service) -> None:
        """Start a service and wait until it says it is ready."""
        assert self._group is not None
        await self._group.start(service.run, name=service.name)
        self._services.append(service)


async def _logged(job: Callable[..., Awaitable[Any]], name: str, *args: Any) -> None:
    try:
        await job(*args)
    except Exception:
        log.exception("%s failed", name)


@asynccontextmanager
async def running(*services: Service) -> AsyncIterator[TaskHost]:
    """Run services for the length of a block (a one-shot command, a test), then drain them."""
    async with TaskHost() as tasks:
        for service in services:
            await tasks.start(service)
        yield tasks


async def first_of(*waits: Callable[[], Awaitable[object]]) -> None:
    """Wait until the first of these returns; the others are cancelled."""
    async with anyio.create_task_group() as group:

        async def until(wait: Callable[[], Awaitable[object]]) -> None:
            await wait()
            group.cancel_scope.cancel()

        for wait in waits:
            group.start_soon(until, wait)
