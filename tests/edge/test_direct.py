"""`direct`: an ASGI app as the cheapest callable, which calls what the app itself would."""

from __future__ import annotations

from typing import Any

import pytest

from mcpctl.edge.asgi import direct

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Layer:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.seen.append(scope)


class Inherits(Layer):
    pass


async def plain(scope: Any, receive: Any, send: Any) -> None:
    scope["seen"] = True


@pytest.mark.parametrize("app", [Layer(), Inherits()], ids=["own __call__", "inherited __call__"])
async def test_an_instance_becomes_its_bound_call(app: Layer) -> None:
    called = direct(app)
    assert called is not app and getattr(called, "__self__", None) is app  # no slot_tp_call per request
    await called({"n": 1}, None, None)
    assert app.seen == [{"n": 1}]


async def test_a_function_stays_itself() -> None:
    assert direct(plain) is plain
    scope: dict[str, Any] = {}
    await direct(plain)(scope, None, None)
    assert scope == {"seen": True}
