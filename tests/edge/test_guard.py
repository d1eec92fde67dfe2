"""OriginHostGuard: verdicts on Host and Origin, the same on every repeat, in bounded memory."""

from __future__ import annotations

from typing import Any

import pytest

from mcpctl.edge import security
from mcpctl.edge.security import OriginHostGuard

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def status_of(guard: OriginHostGuard, headers: list[tuple[bytes, bytes]]) -> int:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    await guard({"type": "http", "headers": headers}, receive, send)
    return int(sent[0]["status"])


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def test_every_repeat_of_a_request_gets_the_same_verdict() -> None:
    guard = OriginHostGuard(app, allowed_origins=[], allowed_hosts=["tools.internal"])
    for _ in range(3):
        assert await status_of(guard, [(b"host", b"evil.example")]) == 403
        assert await status_of(guard, [(b"host", b"tools.internal:8765")]) == 200
        assert (
            await status_of(guard, [(b"host", b"127.0.0.1:8765"), (b"origin", b"http://evil.example")]) == 403
        )
        assert (
            await status_of(guard, [(b"host", b"localhost:8765"), (b"origin", b"http://localhost:3000")])
            == 200
        )


async def test_new_values_without_end_keep_the_memory_bounded() -> None:
    guard = OriginHostGuard(app, allowed_origins=[], allowed_hosts=[])
    for n in range(3 * security._SEEN_LIMIT):
        assert await status_of(guard, [(b"host", f"evil{n}.example".encode())]) == 403
        assert len(guard._seen) <= security._SEEN_LIMIT
