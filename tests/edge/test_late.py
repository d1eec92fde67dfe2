"""LateCalls: a callback runs once its call outlives the grace, never for a call that ended first."""

from __future__ import annotations

import asyncio

import pytest

from mcpctl.edge.late import GRACE, LateCalls
from tests.support.waiting import until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_only_calls_still_running_after_the_grace_are_watched_once_each() -> None:
    loop = asyncio.get_running_loop()
    late = LateCalls()
    ran: list[str] = []
    started = loop.time()
    for name in ("slow", "quick", "slower"):
        late.add(name, lambda name=name: ran.append(name))
    late.discard("quick")  # answered within the grace
    await until(lambda: len(ran) == 2)
    assert sorted(ran) == ["slow", "slower"]
    assert loop.time() - started >= GRACE
    await until(lambda: late._timer is None)  # nothing left: no timer keeps running
    assert sorted(ran) == ["slow", "slower"]


async def test_a_call_added_later_waits_its_own_grace() -> None:
    loop = asyncio.get_running_loop()
    late = LateCalls()
    when: dict[str, float] = {}
    late.add("first", lambda: when.setdefault("first", loop.time()))
    await until(lambda: "first" in when)
    added = loop.time()
    late.add("second", lambda: when.setdefault("second", loop.time()))
    await until(lambda: "second" in when)
    assert when["second"] - added >= GRACE
