"""A real OpenID provider on loopback (oidc-provider from npm) and helpers that mint real JWTs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.node import NODE, NODE_MODULES
from tests.support.waiting import wait_until

SERVER = Path(__file__).resolve().parent / "oauth_server" / "server.mjs"


@dataclass
class Client:
    """A registered confidential client (client-credentials grant)."""

    client_id: str
    client_secret: str


@dataclass
class OAuthServer:
    """A running authorization server: its issuer, and how to get tokens from it."""

    info: dict[str, Any]
    proc: subprocess.Popen[str]
    log: Path

    @property
    def issuer(self) -> str:
        return str(self.info["issuer"])

    @property
    def jwks_uri(self) -> str:
        return str(self.info["jwks_uri"])

    def register(
        self,
        *,
        scope: str | None = None,
        groups: list[str] | None = None,
        roles: list[str] | None = None,
        ttl: int | None = None,
    ) -> Client:
        """RFC 7591 registration of a client that may use the client-credentials grant."""
        metadata: dict[str, Any] = {
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
            "token_endpoint_auth_method": "client_secret_post",
        }
        if scope is not None:
            metadata["scope"] = scope
        if groups is not None:
            metadata["groups"] = groups
        if roles is not None:
            metadata["roles"] = roles
        if ttl is not None:
            metadata["access_token_ttl"] = ttl
        response = httpx.post(str(self.info["registration_endpoint"]), json=metadata, timeout=10)
        assert response.status_code == 201, response.text
        body = response.json()
        return Client(body["client_id"], body["client_secret"])

    def token(self, client: Client, resource: str, scope: str = "mcp:tools") -> str:
        """A real access token (a JWT, audience = `resource`) from the token endpoint."""
        response = httpx.post(
            str(self.info["token_endpoint"]),
            data={
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "scope": scope,
                "resource": resource,
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


@contextlib.contextmanager
def running_oauth_server(directory: Path, **env: str) -> Iterator[OAuthServer]:
    """Start server.mjs (random loopback ports) and stop it afterwards; `env` as in server.mjs."""
    directory.mkdir(parents=True, exist_ok=True)
    ready = directory / "ready.json"
    log = directory / "oauth_server.log"
    child_env = {**os.environ, "NODE_MODULES": str(NODE_MODULES), **env}
    with log.open("w") as handle:
        proc = subprocess.Popen(
            [str(NODE), str(SERVER), "--ready-file", str(ready)],
            stdout=subprocess.DEVNULL,
            stderr=handle,
            text=True,
            env=child_env,
        )

    def started() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"oauth server exited with {proc.returncode}:\n{log.read_text()}")
        return ready.exists()

    try:
        wait_until(started, 30, message="the OAuth server to start")
        yield OAuthServer(json.loads(ready.read_text()), proc, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


# Scopes the test provider grants: enough for global and per-tool scope checks.
TEST_SCOPES = "mcp:tools mcp:admin files:write"


@pytest.fixture(scope="session")
def oauth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    """One real OpenID provider for the whole run (registering clients per test keeps tests apart)."""
    with running_oauth_server(tmp_path_factory.mktemp("oauth"), RS_SCOPES=TEST_SCOPES) as server:
        yield server
