"""Signing in (I/O): discovery, registration, the browser round trip, the code exchange, storing it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from mcpctl.oauth.authorize import PendingAuthorization, accept_callback, authorization_url
from mcpctl.oauth.browser import Browser, in_daemon_thread
from mcpctl.oauth.discovery import Discovery, discover
from mcpctl.oauth.endpoint import exchange_code
from mcpctl.oauth.errors import AuthServerUnavailable, CallbackRejected, OAuthError, TokenEndpointError
from mcpctl.oauth.listener import CallbackListener, Params, callback_params
from mcpctl.oauth.locks import held, lock_path
from mcpctl.oauth.metadata import AuthServer
from mcpctl.oauth.pkce import new_pkce, new_state
from mcpctl.oauth.records import Login
from mcpctl.oauth.registration import (
    ClientRegistration,
    metadata_document,
    parse_registration,
    preregistered,
    registration_request,
)
from mcpctl.oauth.scopes import initial_scopes, union, with_offline_access, without_offline_access
from mcpctl.oauth.tokens import Tokens
from mcpctl.oauth.vault import Vault
from mcpctl.reach import reaching

HTTP_TIMEOUT = 30.0


@dataclass(frozen=True)
class LoginRequest:
    """What the person asked for (`mcpctl login` flags), and how long to wait for them."""

    url: str
    scopes: tuple[str, ...] = ()
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    client_metadata_url: str | None = None
    open_browser: bool = True
    accept_paste: bool = False  # on a terminal: a pasted redirect address counts too
    port: int = 0
    timeout: float = 300.0


@dataclass
class SignIn:
    """Runs sign-ins; everything with a side effect is handed in (store, clock, browser, printer)."""

    vault: Vault
    locks: Path  # a directory of per-issuer lock files (the runtime dir)
    notify: Callable[[str], None]
    clock: Callable[[], float] = time.time
    browser: Browser = field(default_factory=Browser)
    read_line: Callable[[], str] | None = None  # the terminal, for pasted redirect addresses

    async def login(self, request: LoginRequest) -> Login:
        """`mcpctl login URL`: discover from a fresh 401, sign in, store; returns the new login."""
        started = self.clock()  # a login stored by another process from now on counts for this one
        await self.vault.check()  # no store, no point in signing in
        async with self._http() as http:
            found = await discover(http, request.url)
            supported = found.protected_resource.scopes_supported if found.protected_resource else None
            scopes = initial_scopes(request.scopes, found.challenged_scopes, supported)
            return await self.authorize(http, found, request, scopes, since=started)

    async def step_up(self, previous: Login, challenge: str, request: LoginRequest) -> Login:
        """Sign in again for more scopes (a 403 insufficient_scope): the union of what was asked
        for before and what the server now asks for, so no earlier permission is lost."""
        async with self._http() as http:
            found = await discover(http, previous.url, challenge=challenge)
            prior = previous.requested_scopes if previous.issuer == found.auth_server.issuer else ()
            scopes = union(without_offline_access(prior), found.challenged_scopes)
            return await self.authorize(http, found, request, scopes)

    async def authorize(
        self,
        http: httpx.AsyncClient,
        found: Discovery,
        request: LoginRequest,
        scopes: tuple[str, ...],
        *,
        since: float | None = None,
    ) -> Login:
        """One browser round trip, single-flight per authorization server across processes: a
        second mcpctl waits for the first and takes its login (one tab, one port, one verifier)."""
        started = self.clock() if since is None else since
        server = found.auth_server
        lock = lock_path(self.locks, server.issuer, "login")
        waiting = f"another mcpctl is signing in to {server.issuer}; waiting for it to finish"
        async with held(lock, wait=request.timeout, on_wait=lambda: self.notify(waiting)):
            done = await self._signed_in_meanwhile(found, scopes, started)
            if done is not None:
                return done
            requested = with_offline_access(scopes, server.scopes_supported)
            async with CallbackListener(request.port) as listener:
                client = await self._client(http, server, request, listener.redirect_uri)
                pending = PendingAuthorization(
                    issuer=server.issuer,
                    iss_parameter_supported=server.iss_parameter_supported,
                    client_id=client.client_id,
                    redirect_uri=listener.redirect_uri,
                    resource=found.resource,
                    scopes=requested,
                    pkce=new_pkce(),
                    state=new_state(),
                )
                listener.accepts = lambda params: _belongs(params, pending)
                await self._send_person(
                    authorization_url(server.authorization_endpoint, pending), request, listener
                )
                params = await self._wait(listener, request)
            code = accept_callback(params, pending)
            tokens = await self._exchange(http, server, client, pending, code)
            login = Login(
                url=found.url,
                resource=found.resource,
                issuer=server.issuer,
                token_endpoint=server.token_endpoint,
                client=client,
                tokens=tokens,
                requested_scopes=requested,
                revocation_endpoint=server.revocation_endpoint,
            )
            await self.vault.save(login)
            return login

    async def _signed_in_meanwhile(
        self, found: Discovery, scopes: tuple[str, ...], since: float
    ) -> Login | None:
        """The login another process stored while this one waited for the lock, if it covers us."""
        existing = await self.vault.load_for(found.auth_server.issuer, found.resource)
        if existing is None or existing.tokens.obtained_at < since:
            return None
        if not set(scopes) <= set(existing.requested_scopes):
            return None
        self.notify("another mcpctl process signed in meanwhile; using its login")
        if existing.url != found.url:
            existing = replace(existing, url=found.url)
            await self.vault.save(existing)
        return existing

    async def _client(
        self, http: httpx.AsyncClient, server: AuthServer, request: LoginRequest, redirect_uri: str
    ) -> ClientRegistration:
        """The spec's order: pre-registered, Client ID Metadata Document, dynamic registration.
        Registrations are kept per issuer: a server that moves to another authorization server
        gets a new one there, never the old one's credentials."""
        issuer = server.issuer
        if request.client_id:
            client = preregistered(issuer, request.client_id, request.client_secret, server)
            await self.vault.save_registration(client)
            return client
        stored = await self.vault.registration(issuer)
        if stored is not None and stored.kind == "preregistered":
            return stored
        if request.client_metadata_url:
            if server.client_id_metadata_documents:
                return metadata_document(issuer, request.client_metadata_url)
            self.notify(f"{issuer} does not accept Client ID Metadata Documents; registering instead")
        if stored is not None and stored.kind == "dynamic":
            return stored
        if not server.registration_endpoint:
            raise OAuthError(
                f"{issuer} offers no way for mcpctl to register (no Client ID Metadata Documents, no "
                "dynamic registration)",
                hint="register a client there (redirect URI http://127.0.0.1/callback) and pass "
                "--client-id (and --client-secret -)",
            )
        body = registration_request(redirect_uri, server)
        with reaching(server.registration_endpoint, AuthServerUnavailable):
            response = await http.post(
                server.registration_endpoint, json=body, headers={"accept": "application/json"}
            )
        client = parse_registration(response.status_code, response.content, server, body)
        await self.vault.save_registration(client)
        return client

    async def _send_person(self, url: str, request: LoginRequest, listener: CallbackListener) -> None:
        opened = request.open_browser and await self.browser.open(url)
        if opened:
            self.notify(f"Opened your browser to sign in. If it did not open, visit:\n  {url}")
        else:
            self.notify(f"Open this address in a browser to sign in:\n  {url}")
            if request.accept_paste:
                port = listener.port
                self.notify(
                    f"Waiting for the browser to come back to {listener.redirect_uri}. If it runs on another "
                    f"machine, forward the port (ssh -L {port}:127.0.0.1:{port} ...) or paste here the "
                    "address it ends up at."
                )

    async def _wait(self, listener: CallbackListener, request: LoginRequest) -> Params:
        paste = None
        if request.accept_paste and self.read_line is not None:
            paste = asyncio.get_running_loop().create_task(self._read_pasted(listener, self.read_line))
        try:
            return await asyncio.wait_for(asyncio.shield(listener.result), request.timeout)
        except TimeoutError:
            raise OAuthError(
                f"no sign-in arrived within {request.timeout:g}s; nothing was stored",
                hint="run the login again (--timeout S waits longer; --no-browser prints the address only)",
            ) from None
        finally:
            if paste is not None:
                paste.cancel()

    async def _read_pasted(self, listener: CallbackListener, read_line: Callable[[], str]) -> None:
        while not listener.result.done():
            line = (await in_daemon_thread(read_line)).strip()
            params = callback_params(line) if line else None
            if params is not None:
                listener.deliver(params)
            elif line:
                self.notify(f"that is not the address the browser ended up at ({listener.redirect_uri}?...)")

    async def _exchange(
        self,
        http: httpx.AsyncClient,
        server: AuthServer,
        client: ClientRegistration,
        pending: PendingAuthorization,
        code: str,
    ) -> Tokens:
        try:
            return await exchange_code(
                http,
                token_endpoint=server.token_endpoint,
                client=client,
                pending=pending,
                code=code,
                now=self.clock(),
            )
        except TokenEndpointError as exc:
            if exc.error == "invalid_client" and client.kind == "dynamic":
                # the server forgot mcpctl's registration: the next login registers again
                await self.vault.forget_registration(server.issuer)
                raise OAuthError(
                    exc.message, hint="run the login again (mcpctl will register anew)"
                ) from None
            raise

    @contextlib.asynccontextmanager
    async def _http(self) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False) as http:
            yield http


def _belongs(params: Params, pending: PendingAuthorization) -> bool:
    """Whether a response is this login's (its page says so); errors like access_denied are."""
    try:
        accept_callback(params, pending)
    except CallbackRejected:
        return False
    except OAuthError:
        return True
    return True
