"""The issuer's signing keys: discovered from its metadata, cached, refetched on an unknown key id."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
import httpx
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKSetError

from mcpctl.errors import UnavailableError
from mcpctl.reach import reaching

log = logging.getLogger(__name__)

REFRESH_SECONDS = 600.0  # keys rotate slowly; an unknown kid triggers an early refetch anyway
MIN_REFETCH_SECONDS = 30.0  # at most one refetch this often, however many unknown kids arrive
RETRY_SECONDS = 5.0  # while the issuer is unreachable
FIRST_LOAD_WAIT = 5.0  # a request arriving before the first load waits this long for it
FETCH_TIMEOUT = 10.0


class IssuerUnavailable(UnavailableError):
    """The issuer's metadata or keys could not be fetched (or failed the issuer check)."""


def metadata_urls(issuer: str) -> list[str]:
    """RFC 8414 then OpenID Connect discovery, in the order the MCP specification gives."""
    parts = urlsplit(issuer.rstrip("/"))
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path
    if not path:
        return [
            f"{origin}/.well-known/oauth-authorization-server",
            f"{origin}/.well-known/openid-configuration",
        ]
    return [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]


def same_issuer(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


class JwksCache:
    """A service: loads the keys in the background at start and keeps them fresh.

    Requests never wait on the network except for the first load (bounded) and for a refetch
    caused by an unknown key id (rate-limited).
    """

    def __init__(
        self,
        issuer: str,
        jwks_uri: str | None,
        clock: Callable[[], float] = time.monotonic,
        client: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.issuer = issuer
        self._jwks_uri = jwks_uri
        self._clock = clock
        self._client_factory = client or (
            lambda: httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False)
        )
        self._http: httpx.AsyncClient | None = None
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")
        self._loaded = asyncio.Event()
        self._fetch_lock = asyncio.Lock()
        self._attempts = 0  # fetches finished, however they ended
        self._failure: IssuerUnavailable | None = None  # how the last one ended
        self.last_error = ""

    # -- Service ---------------------------------------------------------------------------------

    name = "oauth:jwks"

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self._http = self._client_factory()
        task_status.started()
        await self._keep_fresh()

    async def drain(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def key(self, kid: str | None) -> PyJWK | None:
        """The signing key with this id (or the only key, for tokens without a kid)."""
        if not self._loaded.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._loaded.wait(), FIRST_LOAD_WAIT)
            if not self._loaded.is_set():
                raise IssuerUnavailable(self.last_error or "the issuer's keys are not loaded yet")
        found = self._pick(kid)
        if found is None and self._clock() - self._fetched_at >= MIN_REFETCH_SECONDS:
            try:
                await self._refetch()
            except IssuerUnavailable as exc:  # the token is refused for its unknown key; say why
                self.last_error = str(exc)
                log.warning("OAuth: fetching the issuer's keys again for key id %r failed: %s", kid, exc)
            found = self._pick(kid)
        return found

    def _pick(self, kid: str | None) -> PyJWK | None:
        if kid is not None:
            return self._keys.get(kid)
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    async def _refetch(self) -> None:
        """One fetch at a time: callers that waited while another fetched share its outcome."""
        attempts = self._attempts
        async with self._fetch_lock:
            if self._attempts == attempts:
                try:
                    await self._fetch()
                    self._failure = None
                except IssuerUnavailable as exc:
                    self._failure = exc
                finally:
                    self._attempts += 1
            if self._failure is not None:
                raise self._failure

    async def _keep_fresh(self) -> None:
        while True:
            try:
                await self._refetch()
                delay = REFRESH_SECONDS
            except IssuerUnavailable as exc:
                self.last_error = str(exc)
                log.warning("OAuth: %s (retrying in %.0fs)", exc, RETRY_SECONDS)
                delay = RETRY_SECONDS
            await asyncio.sleep(delay)

    async def _fetch(self) -> None:
        self._fetched_at = self._clock()
        if self._jwks_uri is None:
            self._jwks_uri = await self._discover()
        document = await self._get_json(self._jwks_uri)
        try:
            keyset = PyJWKSet.from_dict(document)
        except PyJWKSetError as exc:
            raise IssuerUnavailable(f"the JWKS at {self._jwks_uri} has no usable keys: {exc}") from exc
        keys = {}
        for jwk in keyset.keys:
            if jwk.key_id is not None and jwk.public_key_use in (None, "sig"):
                keys[jwk.key_id] = jwk
            elif jwk.key_id is None and len(keyset.keys) == 1:
                keys[""] = jwk
        self._keys = keys
        self.last_error = ""
        self._loaded.set()
        log.info("OAuth: %d signing key(s) loaded from %s", len(keys), self._jwks_uri)

    async def _discover(self) -> str:
        problems = []
        for url in metadata_urls(self.issuer):
            try:
                metadata = await self._get_json(url)
            except IssuerUnavailable as exc:
                problems.append(str(exc))
                continue
            # RFC 8414 section 3.3: the metadata must name the very issuer we asked about
            if not same_issuer(str(metadata.get("issuer", "")), self.issuer):
                raise IssuerUnavailable(f"{url} names issuer {metadata.get('issuer')!r}, not {self.issuer!r}")
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise IssuerUnavailable(f"{url} has no jwks_uri")
            return jwks_uri
        raise IssuerUnavailable("no authorization server metadata: " + "; ".join(problems))

    async def _get_json(self, url: str) -> dict[str, Any]:
        if self._http is None:
            raise RuntimeError("JwksCache used before start()")
        with reaching(url, IssuerUnavailable):
            response = await self._http.get(url, headers={"accept": "application/json"})
        if response.status_code != 200:
            raise IssuerUnavailable(f"{url} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise IssuerUnavailable(f"{url} did not answer JSON") from exc
        if not isinstance(body, dict):
            raise IssuerUnavailable(f"{url} did not answer a JSON object")
        return body
