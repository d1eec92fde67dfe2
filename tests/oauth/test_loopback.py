"""The loopback redirect listener (real sockets) and the per-issuer lock files (real flock)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from mcpctl.oauth.listener import CallbackListener, callback_params
from mcpctl.oauth.locks import LockTimeout, held, lock_path


def test_the_listener_delivers_the_first_callback_and_answers_a_small_page() -> None:
    async def go() -> None:
        async with CallbackListener() as listener, httpx.AsyncClient() as http:
            assert listener.redirect_uri == f"http://127.0.0.1:{listener.port}/callback"
            assert (await http.get(f"http://127.0.0.1:{listener.port}/favicon.ico")).status_code == 404
            # a client that connects and hangs up without a request is ignored
            _, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.close()
            page = await http.get(listener.redirect_uri, params={"code": "c", "state": "s"})
            assert page.status_code == 200
            assert "close this tab" in page.text
            assert await asyncio.wait_for(listener.result, 5) == {"code": ["c"], "state": ["s"]}
            again = await http.get(listener.redirect_uri, params={"code": "d", "state": "s"})
            assert "Already handled" in again.text
            assert (await http.get(listener.redirect_uri)).status_code == 404  # no sign-in parameters
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.ConnectError):  # closed with the login
                await http.get(listener.redirect_uri)

    asyncio.run(go())


def test_an_error_callback_gets_a_neutral_page() -> None:
    async def go() -> str:
        async with CallbackListener() as listener, httpx.AsyncClient() as http:
            page = await http.get(listener.redirect_uri, params={"error": "access_denied", "state": "s"})
            return page.text

    text = asyncio.run(go())
    assert "did not complete" in text
    assert "access_denied" not in text


def test_a_pasted_redirect_address_is_read_like_a_request() -> None:
    assert callback_params("http://127.0.0.1:5/callback?code=c&state=s") == {"code": ["c"], "state": ["s"]}
    assert callback_params("http://127.0.0.1:5/elsewhere?code=c") is None
    assert callback_params("/callback?unrelated=1") is None


def test_the_lock_is_exclusive_and_a_waiter_gives_up_in_time(tmp_path: Path) -> None:
    path = lock_path(tmp_path / "locks", "https://as.example.com/tenant?x", "login")
    assert path.parent == tmp_path / "locks"
    assert "/" not in path.name.removesuffix(".login.lock")
    order: list[str] = []
    waits: list[str] = []

    async def go() -> None:
        # Events, not sleeps, order the steps: the second waiter asks while the first holds.
        first_in, second_waits, impatient_in = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def first() -> None:
            async with held(path, wait=5):
                order.append("first in")
                first_in.set()
                await asyncio.wait_for(second_waits.wait(), 5)  # it waits while this holds the lock
                order.append("first out")

        def waiting() -> None:
            waits.append("waiting")
            second_waits.set()

        async def second() -> None:
            await first_in.wait()
            async with held(path, wait=5, on_wait=waiting):
                order.append("second in")

        async def impatient() -> None:
            async with held(path, wait=5):
                impatient_in.set()
                await asyncio.Event().wait()  # holds the lock until cancelled

        await asyncio.gather(first(), second())
        holder = asyncio.get_running_loop().create_task(impatient())
        await asyncio.wait_for(impatient_in.wait(), 5)
        with pytest.raises(LockTimeout):
            async with held(path, wait=0.2):
                pass
        holder.cancel()

    asyncio.run(go())
    assert order == ["first in", "first out", "second in"]
    assert waits == ["waiting"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
