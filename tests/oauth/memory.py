"""In-memory stand-ins for unit tests of the token logic (the e2e tests use the real keyring)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import httpx

from mcpctl.oauth.records import Login
from mcpctl.oauth.registration import ClientRegistration
from mcpctl.oauth.tokens import Tokens
from mcpctl.oauth.vault import Vault

URL = "https://mcp.example.com/mcp"
ISSUER = "https://as.example.com"
TOKEN_ENDPOINT = f"{ISSUER}/token"


class MemoryStore:
    description = "memory"

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def check(self) -> None:
        return None

    def get(self, user: str) -> str | None:
        return self.values.get(user)

    def set(self, user: str, value: str) -> None:
        self.values[user] = value

    def delete(self, user: str) -> bool:
        return self.values.pop(user, None) is not None


def login(now: float, *, access: str = "at-0", refresh: str | None = "rt-0", ttl: float = 3600) -> Login:
    return Login(
        url=URL,
        resource=URL,
        issuer=ISSUER,
        token_endpoint=TOKEN_ENDPOINT,
        client=ClientRegistration(ISSUER, "cid", "dynamic"),
        tokens=Tokens(access, "Bearer", refresh, ("mcp",), now + ttl, now),
        requested_scopes=("mcp",),
    )


def vault(tmp_path: Path, store: MemoryStore) -> Vault:
    return Vault(lambda: store, tmp_path / "index.json")


class TokenEndpoint:
    """A token endpoint for httpx.MockTransport: answers from a script, records what it was sent."""

    def __init__(self, answers: list[httpx.Response | Exception]) -> None:
        self.answers = answers
        self.forms: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.forms.append({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self) -> Callable[[], httpx.AsyncClient]:
        return lambda: httpx.AsyncClient(transport=httpx.MockTransport(self))


def granted(access: str, refresh: str | None = None, expires_in: int = 3600) -> httpx.Response:
    body: dict[str, object] = {"access_token": access, "token_type": "Bearer", "expires_in": expires_in}
    if refresh:
        body["refresh_token"] = refresh
    return httpx.Response(200, content=json.dumps(body))


def refused(error: str, status: int = 400) -> httpx.Response:
    return httpx.Response(status, content=json.dumps({"error": error}))
