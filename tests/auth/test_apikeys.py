"""API key format and records: hashes only, lifetimes, rotation overlap, revocation (files in tmp_path)."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from pathlib import Path

import pytest

from mcpctl.auth.apikeys import KEY_PATTERN, KeyFile, hash_key, key_id_of, new_key
from mcpctl.errors import UsageError


def test_keys_are_high_entropy_recognisable_and_carry_their_id() -> None:
    keys = {new_key()[0] for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert KEY_PATTERN.match(key)
        assert key.startswith("mcpk_")
    key, key_id = new_key()
    assert key_id_of(key) == key_id
    assert key_id_of("mcpk_short") is None
    assert len(key.rsplit("_", 1)[1]) == 52  # 32 random bytes, base32


def test_the_file_holds_hashes_never_keys(tmp_path: Path) -> None:
    keys = KeyFile(tmp_path / "state" / "api-keys.json")
    with keys.editing():
        key, record = keys.create("ci", ("time__*",), now=1000.0, lifetime=None)
    text = keys.path.read_text()
    assert key not in text
    assert hash_key(key) in text
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600
    stored = json.loads(text)["keys"][0]
    assert stored["name"] == "ci"
    assert stored["tools"] == ["time__*"]
    reloaded = KeyFile(keys.path).load().records[record.id]
    assert reloaded.matches(key)
    assert not reloaded.matches(new_key()[0])


def test_lifetime_rotation_and_revocation(tmp_path: Path) -> None:
    keys = KeyFile(tmp_path / "api-keys.json")
    _, first = keys.create("svc", (), now=0.0, lifetime=100.0)
    assert first.status(50.0) == "active"
    assert first.status(100.0) == "expired"

    _, new, old = keys.rotate("svc", now=10.0, overlap=30.0)
    assert new.rotated_from == first.id
    assert new.expires == 110.0  # the same lifetime, from now
    assert old.status(20.0) == "retiring"
    assert old.usable(20.0)
    assert old.status(40.0) == "retired"
    assert keys.current("svc", 20.0) == new

    revoked = keys.revoke("svc", now=20.0)
    assert {r.id for r in revoked} == {first.id, new.id}  # the one in its overlap too
    assert all(r.status(20.0) == "revoked" for r in revoked)
    with pytest.raises(UsageError, match="no active key named 'svc'"):
        keys.revoke("svc", now=21.0)
    _, again = keys.create("svc", (), now=22.0, lifetime=None)  # the name is free again
    assert again.status(1e12) == "active"


def test_names_are_checked(tmp_path: Path) -> None:
    keys = KeyFile(tmp_path / "api-keys.json")
    with pytest.raises(UsageError, match="invalid key name"):
        keys.create("sub:alice", (), now=0.0, lifetime=None)  # would read as an OAuth subject in policy


def test_the_gateway_notices_a_changed_key_file_within_a_millisecond(tmp_path: Path) -> None:
    from mcpctl.auth.verify import KeyRejected, KeyVerifier

    keys = KeyFile(tmp_path / "api-keys.json")
    with keys.editing():
        key, _ = keys.create("ci", (), now=time.time(), lifetime=None)
    ticks = [100.0]
    verifier = KeyVerifier(keys.path, monotonic=lambda: ticks[0])

    async def scenario() -> None:
        assert not isinstance(await verifier.verify(key), KeyRejected)
        with keys.editing():
            keys.revoke("ci", now=time.time())
        ticks[0] += 0.0005  # within the same millisecond: the stat is skipped under load
        assert not isinstance(await verifier.verify(key), KeyRejected)
        ticks[0] += 0.001
        refused = await verifier.verify(key)
        assert isinstance(refused, KeyRejected)
        assert refused.reason == "API key revoked"

    asyncio.run(scenario())
    assert list(verifier.last_used) == [key[5:17]]


def test_a_key_verified_before_stops_working_when_its_lifetime_ends(tmp_path: Path) -> None:
    from mcpctl.auth.verify import KeyRejected, KeyVerifier

    keys = KeyFile(tmp_path / "api-keys.json")
    with keys.editing():
        key, record = keys.create("ci", (), now=1000.0, lifetime=60.0)
    now = [1000.0]
    verifier = KeyVerifier(keys.path, clock=lambda: now[0])

    async def scenario() -> None:
        for at in (1000.0, 1059.9):  # the second is answered from what the first verified
            now[0] = at
            assert await verifier.verify(key) == record
        now[0] = 1060.0
        refused = await verifier.verify(key)
        assert isinstance(refused, KeyRejected)
        assert refused.reason == "API key expired"
        assert isinstance(await verifier.verify(key[:-1] + "x"), KeyRejected)  # one character off

    asyncio.run(scenario())
