"""The vault: secrets in the store, a secret-free 0600 index, old entries removed when a server moves."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

from mcpctl.oauth.index import find_entry
from mcpctl.oauth.records import Login, token_user
from mcpctl.oauth.registration import ClientRegistration
from tests.oauth.memory import ISSUER, URL, MemoryStore, login, vault

NOW = 1_000_000.0


def test_the_index_lists_logins_without_secrets(tmp_path: Path) -> None:
    store = MemoryStore()
    secret_client = ClientRegistration(ISSUER, "cid", "preregistered", "client_secret_basic", "client-s3cret")
    item = replace(login(NOW, access="at-s3cret", refresh="rt-s3cret"), client=secret_client)
    asyncio.run(vault(tmp_path, store).save(item))
    index = tmp_path / "index.json"
    text = index.read_text()
    for secret in ("at-s3cret", "rt-s3cret", "client-s3cret"):
        assert secret not in text
        assert secret in store.values[token_user(ISSUER, URL)]
    assert oct(index.stat().st_mode & 0o777) == "0o600"
    entry = find_entry(index, "HTTPS://MCP.example.com/mcp")
    assert entry is not None
    assert (entry["issuer"], entry["scopes"], entry["refreshable"], entry["expiresAt"]) == (
        ISSUER,
        ["mcp"],
        True,
        NOW + 3600,
    )
    loaded = asyncio.run(vault(tmp_path, store).load(URL))
    assert loaded == item


def test_a_server_that_moved_to_another_authorization_server_leaves_no_stale_secret(tmp_path: Path) -> None:
    store = MemoryStore()
    box = vault(tmp_path, store)
    first = login(NOW)
    moved: Login = replace(first, issuer="https://new-as.example.com")
    asyncio.run(box.save(first))
    asyncio.run(box.save(moved))
    assert list(store.values) == [token_user("https://new-as.example.com", URL)]
    assert (
        json.loads((tmp_path / "index.json").read_text())["logins"][URL]["issuer"]
        == "https://new-as.example.com"
    )
    removed = asyncio.run(box.forget(URL))
    assert removed == moved
    assert store.values == {}
    assert find_entry(tmp_path / "index.json", URL) is None
    assert asyncio.run(box.forget(URL)) is None


def test_registrations_are_kept_per_issuer(tmp_path: Path) -> None:
    box = vault(tmp_path, MemoryStore())
    asyncio.run(box.save_registration(ClientRegistration(ISSUER, "a", "dynamic")))
    assert asyncio.run(box.registration(ISSUER)) == ClientRegistration(ISSUER, "a", "dynamic")
    assert asyncio.run(box.registration("https://other.example.com")) is None


def test_logout_forgets_a_dynamic_registration_once_no_login_uses_it(tmp_path: Path) -> None:
    store = MemoryStore()
    box = vault(tmp_path, store)
    other_url = "https://other.example.com/mcp"
    first, second = login(NOW), replace(login(NOW), url=other_url, resource=other_url)
    asyncio.run(box.save_registration(first.client))
    asyncio.run(box.save(first))
    asyncio.run(box.save(second))
    asyncio.run(box.forget(URL))
    assert asyncio.run(box.registration(ISSUER)) == first.client  # the other login still uses it
    asyncio.run(box.forget(other_url))
    assert store.values == {}


def test_logout_keeps_a_registration_the_person_supplied(tmp_path: Path) -> None:
    store = MemoryStore()
    box = vault(tmp_path, store)
    supplied = ClientRegistration(ISSUER, "given", "preregistered", "client_secret_basic", "s3cret")
    asyncio.run(box.save_registration(supplied))
    asyncio.run(box.save(replace(login(NOW), client=supplied)))
    asyncio.run(box.forget(URL))
    assert asyncio.run(box.registration(ISSUER)) == supplied
