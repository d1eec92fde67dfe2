"""Bearer headers for one server from its stored login, kept fresh.

Refreshed when due, re-read or refreshed on a 401 (once), stepped up on a 403 insufficient_scope
(when a person is there to sign in).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx

from mcpctl.errors import McpctlError
from mcpctl.oauth.challenge import bearer_params
from mcpctl.oauth.endpoint import refresh
from mcpctl.oauth.errors import LoginRequired, OAuthError, login_hint
from mcpctl.oauth.flow import HTTP_TIMEOUT, LoginRequest, SignIn
from mcpctl.oauth.locks import held, lock_path
from mcpctl.oauth.records import Login
from mcpctl.oauth.scopes import split_scopes, union, without_offline_access
from mcpctl.oauth.urls import canonical_resource
from mcpctl.oauth.vault import Vault

log = logging.getLogger(__name__)

# Sign-ins for more scopes one command (or one connection) may start: a server that keeps asking
# is refused after this many, never looped on.
MAX_STEP_UPS = 2
REFRESH_LOCK_WAIT = 60.0  # another process refreshing the same login holds the lock this long at most


class OAuthBearer:
    """The `auth` of an HttpTransport (headers per request, and `unauthorized` for 401/403).

    Without `sign_in` (the host) it never opens a browser: a missing, dead or too-narrow login
    fails with the `mcpctl login` command that fixes it. A failure to get any token is sticky:
    later requests fail the same way at once instead of asking the keyring and the server again.
    """

    def __init__(
        self,
        url: str,
        vault: Vault,
        locks: Path,
        *,
        clock: Callable[[], float] = time.time,
        sign_in: SignIn | None = None,
        sign_in_timeout: float = 300.0,
        sticky_forbidden: bool = False,
        http: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.url = canonical_resource(url)
        self._vault = vault
        self._locks = locks
        self._clock = clock
        self._sign_in = sign_in
        self._sign_in_timeout = sign_in_timeout
        self._sticky_forbidden = sticky_forbidden
        self._http = http or _http_client
        self._login: Login | None = None
        self._lock = asyncio.Lock()
        self._generation = 0  # bumped whenever the token in use changes
        self._forced: int | None = None  # the generation a 401 made us refresh to
        self._failure: McpctlError | None = None
        self._step_ups = 0

    # -- the transport's side ------------------------------------------------------------------

    async def __call__(self) -> dict[str, str]:
        login = await self._current()
        return {"authorization": f"Bearer {login.tokens.access_token}"}

    async def upgrade(self) -> bool:
        return False  # 401s are handled in `unauthorized`, before the session sees them

    async def unauthorized(self, status: int, challenge: str) -> bool:
        """True: retry the request now (with new headers). Raises when nothing more can be done."""
        if self._failure is not None:
            raise self._failure
        if status == 403:
            params = bearer_params(challenge)
            if params.get("error") != "insufficient_scope":
                return False
            return await self._step_up(challenge, split_scopes(params.get("scope")))
        seen = self._generation
        async with self._lock:
            if self._generation != seen:
                return True  # another request already got a new token
            if self._forced == seen:
                problem = "the server refuses the stored login, even freshly refreshed"
                raise self._fail(LoginRequired(problem, self.url, again=True))
            await self._refresh(self._require_login(), forced=True)
            self._forced = self._generation
            return True

    # -- tokens --------------------------------------------------------------------------------

    async def _current(self) -> Login:
        if self._failure is not None:
            raise self._failure
        if self._login is None:
            async with self._lock:
                if self._login is None:
                    self._login = await self._vault.load(self.url)
                if self._login is None:
                    raise self._fail(LoginRequired(f"no OAuth login for {self.url}", self.url))
        if self._login.tokens.refresh_due(self._clock()):
            seen = self._generation
            async with self._lock:
                if self._generation == seen:
                    await self._refresh(self._login, forced=False)
        return self._login

    async def _refresh(self, mine: Login, *, forced: bool) -> None:
        """Refresh under the per-issuer lock, after re-reading the store: another process (or a new
        `mcpctl login`) may have rotated the refresh token already, and reusing a rotated one is
        refused (and can revoke the whole grant)."""
        try:
            async with held(lock_path(self._locks, mine.issuer, "refresh"), wait=REFRESH_LOCK_WAIT):
                self._adopt(await self._refreshed(mine, forced=forced))
        except LoginRequired as exc:
            raise self._fail(exc) from None

    async def _refreshed(self, mine: Login, *, forced: bool) -> Login:
        stored = await self._vault.load_for(mine.issuer, mine.resource)
        if stored is None:
            raise LoginRequired(f"the login for {self.url} was removed", self.url)
        changed = stored.tokens.access_token != mine.tokens.access_token
        if changed and (forced or not stored.tokens.refresh_due(self._clock())):
            return stored  # another process refreshed (or signed in) already
        async with self._http() as http:
            tokens = await refresh(http, stored, self._clock)
        fresh = replace(stored, url=mine.url, tokens=tokens)
        try:
            await self._vault.save(fresh)
        except McpctlError as exc:  # keep working with it; the next process signs in again
            log.warning("%s: could not store the refreshed login: %s", self.url, exc.message)
        return fresh

    def _require_login(self) -> Login:
        if self._login is None:  # a 401 before any token was sent cannot happen: headers come first
            raise LoginRequired(f"no OAuth login for {self.url}", self.url)
        return self._login

    def _adopt(self, login: Login) -> None:
        self._login = login
        self._generation += 1

    async def _step_up(self, challenge: str, wanted: tuple[str, ...]) -> bool:
        login = self._login
        if login is None:
            return False
        granted = set(login.tokens.scopes)
        asked = union(without_offline_access(login.requested_scopes), wanted)
        if wanted and set(wanted) <= granted:
            raise self._refuse(
                OAuthError(
                    f"{self.url} refuses the request for lack of scopes {' '.join(wanted)}, which the token "
                    "already has; signing in again would not help"
                )
            )
        sign_in = self._sign_in
        if sign_in is None or self._step_ups >= MAX_STEP_UPS or not await sign_in.browser.available():
            raise self._refuse(
                OAuthError(
                    f"{self.url} needs more permissions (scopes: {' '.join(wanted) or 'unnamed'})",
                    hint=login_hint(self.url, asked),
                )
            )
        self._step_ups += 1
        seen = self._generation
        async with self._lock:
            if self._generation != seen:
                return True  # another request stepped up meanwhile
            sign_in.notify(f"{self.url} asks for more permissions ({' '.join(wanted)}); signing in again")
            request = LoginRequest(url=login.url, timeout=self._sign_in_timeout)
            self._adopt(await sign_in.step_up(login, challenge, request))
        return True

    def _refuse(self, exc: McpctlError) -> McpctlError:
        """A 403 that cannot be fixed here: fails this request (and, for a CLI command, the rest)."""
        return self._fail(exc) if self._sticky_forbidden else exc

    def _fail(self, exc: McpctlError) -> McpctlError:
        self._failure = exc
        return exc


def _http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False)
