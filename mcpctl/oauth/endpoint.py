"""Talking to the token endpoint: the code exchange, bounded refresh with backoff, and revocation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx

from mcpctl.errors import UnavailableError
from mcpctl.oauth.authorize import PendingAuthorization
from mcpctl.oauth.errors import AuthServerUnavailable, LoginRequired, TokenEndpointError
from mcpctl.oauth.records import Login
from mcpctl.oauth.registration import ClientRegistration, client_authentication
from mcpctl.oauth.tokens import PERMANENT_REFRESH_ERRORS, Tokens, parse_token_response
from mcpctl.reach import reaching

log = logging.getLogger(__name__)

# A refresh that fails for a transient reason (network, 5xx, 429) is tried this many times in
# all, with these pauses between: bounded, so an unreachable server never means a refresh loop.
REFRESH_ATTEMPTS = 3
REFRESH_BACKOFF = (0.5, 2.0)
FORM = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}

Sleep = Callable[[float], Awaitable[None]]


async def exchange_code(
    http: httpx.AsyncClient,
    *,
    token_endpoint: str,
    client: ClientRegistration,
    pending: PendingAuthorization,
    code: str,
    now: float,
) -> Tokens:
    """The authorization code (+ PKCE verifier, + resource) for tokens."""
    headers, form = client_authentication(client)
    form.update(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.pkce.verifier,
            "resource": pending.resource,
        }
    )
    with reaching(f"the token endpoint {token_endpoint}", AuthServerUnavailable):
        response = await http.post(token_endpoint, data=form, headers={**FORM, **headers})
    return parse_token_response(
        response.status_code,
        response.content,
        now=now,
        requested_scopes=pending.scopes,
        secrets=(code, pending.pkce.verifier, client.client_secret),
    )


async def refresh(
    http: httpx.AsyncClient,
    login: Login,
    now: Callable[[], float],
    sleep: Sleep = asyncio.sleep,
) -> Tokens:
    """New tokens for `login` from its refresh token.

    Raises LoginRequired when the refresh token is gone or dead (invalid_grant: rotated away,
    revoked, expired), and AuthServerUnavailable after REFRESH_ATTEMPTS transient failures.
    """
    old = login.tokens
    if not old.refresh_token:
        problem = f"the login for {login.url} has expired and the authorization server gave no refresh token"
        raise LoginRequired(problem, login.url, again=True)
    headers, form = client_authentication(login.client)
    form.update(
        {"grant_type": "refresh_token", "refresh_token": old.refresh_token, "resource": login.resource}
    )
    secrets = (old.refresh_token, old.access_token, login.client.client_secret)
    problem = ""
    for attempt in range(REFRESH_ATTEMPTS):
        if attempt:
            await sleep(REFRESH_BACKOFF[min(attempt - 1, len(REFRESH_BACKOFF) - 1)])
        try:
            with reaching(login.token_endpoint, AuthServerUnavailable):
                response = await http.post(login.token_endpoint, data=form, headers={**FORM, **headers})
        except AuthServerUnavailable as exc:
            problem = exc.message  # transient: tried again, and said in the final error if it lasts
            continue
        if response.status_code >= 500 or response.status_code == 429:
            problem = f"HTTP {response.status_code}"
            continue
        try:
            return parse_token_response(
                response.status_code,
                response.content,
                now=now(),
                requested_scopes=old.scopes,
                previous=old,
                secrets=secrets,
            )
        except TokenEndpointError as exc:
            if exc.error in PERMANENT_REFRESH_ERRORS:
                problem = (
                    f"the login for {login.url} can no longer be refreshed ({exc.error}: the authorization "
                    "server revoked it, or it expired)"
                )
                raise LoginRequired(problem, login.url, again=True) from None
            raise
    raise AuthServerUnavailable(
        f"could not refresh the login for {login.url}: {login.token_endpoint} failed {REFRESH_ATTEMPTS} "
        f"times ({problem})",
        hint="try again later; the stored login is kept",
    )


async def revoke(http: httpx.AsyncClient, login: Login) -> bool:
    """Best effort RFC 7009: revoke the refresh token (which ends the grant) at logout."""
    endpoint = login.revocation_endpoint
    token = login.tokens.refresh_token or login.tokens.access_token
    if not endpoint:
        return False
    headers, form = client_authentication(login.client)
    hint = "refresh_token" if login.tokens.refresh_token else "access_token"
    form.update({"token": token, "token_type_hint": hint})
    try:
        with reaching(endpoint):
            response = await http.post(endpoint, data=form, headers={**FORM, **headers})
    except UnavailableError as exc:
        log.info("revocation failed (best effort): %s", exc.message)
        return False
    return response.status_code == 200
