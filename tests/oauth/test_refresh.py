"""Refresh at the token endpoint: bounded retries with backoff, dead refresh tokens, redaction."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from mcpctl.oauth.endpoint import REFRESH_ATTEMPTS, refresh
from mcpctl.oauth.errors import AuthServerUnavailable, LoginRequired, TokenEndpointError
from tests.oauth.memory import TokenEndpoint, granted, login, refused

NOW = 1_000_000.0


def run(endpoint: TokenEndpoint, **changes: object) -> tuple[object, list[float]]:
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    async def go() -> object:
        async with endpoint.client()() as http:
            return await refresh(http, login(NOW, **changes), lambda: NOW + 5, sleep)  # type: ignore[arg-type]

    return asyncio.run(go()), pauses


def test_a_refresh_sends_the_refresh_token_and_the_resource() -> None:
    endpoint = TokenEndpoint([granted("at-1", "rt-1", expires_in=60)])
    tokens, pauses = run(endpoint)
    assert endpoint.forms == [
        {
            "client_id": "cid",
            "grant_type": "refresh_token",
            "refresh_token": "rt-0",
            "resource": "https://mcp.example.com/mcp",
        }
    ]
    assert (tokens.access_token, tokens.refresh_token, tokens.expires_at) == ("at-1", "rt-1", NOW + 65)  # type: ignore[attr-defined]
    assert pauses == []


def test_transient_failures_are_retried_a_bounded_number_of_times() -> None:
    endpoint = TokenEndpoint(
        [httpx.ConnectError("refused"), refused("temporarily_unavailable", 503), granted("at-1")]
    )
    tokens, pauses = run(endpoint)
    assert tokens.access_token == "at-1"  # type: ignore[attr-defined]
    assert tokens.refresh_token == "rt-0"  # type: ignore[attr-defined]  # not rotated: the old one stays
    assert len(pauses) == 2
    assert pauses[0] < pauses[1]  # backing off

    down = TokenEndpoint([refused("slow_down", 429)])
    with pytest.raises(AuthServerUnavailable, match=f"{REFRESH_ATTEMPTS} times"):
        run(down)
    assert len(down.forms) == REFRESH_ATTEMPTS  # never a loop


@pytest.mark.parametrize("error", ["invalid_grant", "invalid_client", "unauthorized_client"])
def test_a_dead_refresh_token_means_sign_in_again_at_once(error: str) -> None:
    endpoint = TokenEndpoint([refused(error)])
    with pytest.raises(LoginRequired) as raised:
        run(endpoint)
    assert len(endpoint.forms) == 1
    assert "mcpctl login https://mcp.example.com/mcp" in str(raised.value)
    assert "again" in str(raised.value)
    assert "rt-0" not in str(raised.value)


def test_other_refusals_are_not_retried_and_no_refresh_token_means_login() -> None:
    endpoint = TokenEndpoint([refused("invalid_scope")])
    with pytest.raises(TokenEndpointError, match="invalid_scope"):
        run(endpoint)
    assert len(endpoint.forms) == 1
    nothing = TokenEndpoint([granted("never")])
    with pytest.raises(LoginRequired, match="no refresh token"):
        run(nothing, refresh=None)
    assert nothing.forms == []
