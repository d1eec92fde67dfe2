"""OAuthBearer: headers from the stored login, refresh when due, one refresh per 401, no loops."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mcpctl.oauth.bearer import OAuthBearer
from mcpctl.oauth.errors import LoginRequired, OAuthError
from mcpctl.oauth.records import Login
from tests.oauth.memory import URL, MemoryStore, TokenEndpoint, granted, login, refused, vault

NOW = 1_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def stored(tmp_path: Path, *logins: Login) -> MemoryStore:
    store = MemoryStore()
    for item in logins:
        asyncio.run(vault(tmp_path, store).save(item))
    return store


def bearer(
    tmp_path: Path, store: MemoryStore, endpoint: TokenEndpoint, clock: Clock, **kw: object
) -> OAuthBearer:
    return OAuthBearer(
        URL, vault(tmp_path, store), tmp_path / "locks", clock=clock, http=endpoint.client(), **kw
    )  # type: ignore[arg-type]


def test_no_login_fails_with_the_command_that_fixes_it(tmp_path: Path) -> None:
    source = bearer(tmp_path, MemoryStore(), TokenEndpoint([granted("x")]), Clock())
    with pytest.raises(LoginRequired, match=f"mcpctl login {URL}"):
        asyncio.run(source())


def test_tokens_are_sent_and_refreshed_when_due(tmp_path: Path) -> None:
    clock = Clock()
    store = stored(tmp_path, login(NOW, ttl=100))
    endpoint = TokenEndpoint([granted("at-1", "rt-1", expires_in=100)])
    source = bearer(tmp_path, store, endpoint, clock)

    async def go() -> list[dict[str, str]]:
        first = await source()
        clock.now = NOW + 90  # inside the refresh margin (a quarter of 100 s)
        return [first, await source(), await source()]

    assert asyncio.run(go()) == [
        {"authorization": "Bearer at-0"},
        {"authorization": "Bearer at-1"},
        {"authorization": "Bearer at-1"},
    ]
    assert len(endpoint.forms) == 1
    saved = asyncio.run(vault(tmp_path, store).load(URL))
    assert saved is not None
    assert (saved.tokens.access_token, saved.tokens.refresh_token) == ("at-1", "rt-1")


def test_a_401_refreshes_once_and_a_second_401_asks_for_a_new_login(tmp_path: Path) -> None:
    store = stored(tmp_path, login(NOW))
    endpoint = TokenEndpoint([granted("at-1", "rt-1")])
    source = bearer(tmp_path, store, endpoint, Clock())

    async def go() -> None:
        await source()
        assert await source.unauthorized(401, 'Bearer error="invalid_token"')
        assert await source() == {"authorization": "Bearer at-1"}
        with pytest.raises(LoginRequired, match="even freshly refreshed"):
            await source.unauthorized(401, 'Bearer error="invalid_token"')
        with pytest.raises(LoginRequired):  # sticky: no more keyring or network
            await source()

    asyncio.run(go())
    assert len(endpoint.forms) == 1


def test_concurrent_401s_share_one_refresh(tmp_path: Path) -> None:
    store = stored(tmp_path, login(NOW))
    endpoint = TokenEndpoint([granted("at-1", "rt-1")])
    source = bearer(tmp_path, store, endpoint, Clock())

    async def go() -> list[bool]:
        await source()
        return list(await asyncio.gather(*(source.unauthorized(401, "Bearer") for _ in range(5))))

    assert asyncio.run(go()) == [True] * 5
    assert len(endpoint.forms) == 1


def test_a_token_another_process_refreshed_is_taken_not_refreshed_again(tmp_path: Path) -> None:
    store = stored(tmp_path, login(NOW))
    endpoint = TokenEndpoint([granted("never")])
    source = bearer(tmp_path, store, endpoint, Clock())

    async def go() -> dict[str, str]:
        await source()
        await vault(tmp_path, store).save(login(NOW, access="at-other", refresh="rt-other"))
        assert await source.unauthorized(401, "Bearer")
        return await source()

    assert asyncio.run(go()) == {"authorization": "Bearer at-other"}
    assert endpoint.forms == []


def test_a_dead_refresh_token_is_reported_once(tmp_path: Path) -> None:
    store = stored(tmp_path, login(NOW))
    endpoint = TokenEndpoint([refused("invalid_grant")])
    source = bearer(tmp_path, store, endpoint, Clock())

    async def go() -> None:
        await source()
        for _ in range(3):
            with pytest.raises(LoginRequired, match="again"):
                await source.unauthorized(401, "Bearer")

    asyncio.run(go())
    assert len(endpoint.forms) == 1


def test_insufficient_scope_without_a_browser_names_the_scopes_to_log_in_with(tmp_path: Path) -> None:
    store = stored(tmp_path, login(NOW))
    source = bearer(tmp_path, store, TokenEndpoint([granted("x")]), Clock())

    async def go() -> None:
        await source()
        assert not await source.unauthorized(403, 'Bearer error="other"')
        with pytest.raises(OAuthError) as raised:
            await source.unauthorized(403, 'Bearer error="insufficient_scope", scope="files:write"')
        assert f"mcpctl login {URL} --scope 'mcp files:write'" in str(raised.value)
        with pytest.raises(OAuthError, match="already has"):
            await source.unauthorized(403, 'Bearer error="insufficient_scope", scope="mcp"')
        assert await source() == {"authorization": "Bearer at-0"}  # not sticky for the host

    asyncio.run(go())
