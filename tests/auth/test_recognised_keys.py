"""The auth layer's short way for a key it let through before: same answers as the full check."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mcpctl.auth.apikeys import KeyFile
from mcpctl.auth.layer import SUCCESS_AUDIT_SECONDS, AuthLayer
from mcpctl.auth.policy import Policy
from mcpctl.auth.resource import ProtectedResource
from mcpctl.auth.verify import KeyVerifier

START = 1_000.0


class Recorder:
    def __init__(self) -> None:
        self.kinds: list[str] = []

    def record(self, kind: str, **fields: Any) -> None:
        self.kinds.append(kind)


class Gate:
    """An AuthLayer over a real key file, with both its clocks in the test's hands."""

    def __init__(self, tmp_path: Path, lifetime: float | None = None, stat_interval: float = 0.0) -> None:
        self.keys = KeyFile(tmp_path / "api-keys.json")
        with self.keys.editing():
            self.key, self.record = self.keys.create("ci", (), now=START, lifetime=lifetime)
        self.wall = START  # the verifier's clock (key lifetimes, last used)
        self.ticks = 0.0  # the layer's and the verifier's monotonic clock
        self.verifier = KeyVerifier(
            self.keys.path, clock=lambda: self.wall, monotonic=lambda: self.ticks, stat_interval=stat_interval
        )
        self.audit = Recorder()
        self.admitted: list[str] = []
        self.statuses: list[int] = []

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            self.admitted.append(scope["mcpctl.principal"].name)

        self.layer = AuthLayer(
            app,
            resource=ProtectedResource(issuer=None, scopes=[]),
            policy=Policy([]),
            audit=self.audit,
            max_body=1 << 20,
            keys=self.verifier,
            clock=lambda: self.ticks,
        )

    def request(self, *headers: tuple[bytes, bytes]) -> str:
        """'ci' when the request was let through, else its status code."""
        scope = {
            "type": "http",
            "path": "/mcp",
            "method": "POST",
            "headers": [(b"host", b"127.0.0.1:9"), *headers],
            "client": ("127.0.0.1", 5),
            "server": ("127.0.0.1", 9),
        }
        before = len(self.admitted)

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.statuses.append(message["status"])

        asyncio.run(self.layer(scope, None, send))  # type: ignore[arg-type]
        return self.admitted[-1] if len(self.admitted) > before else str(self.statuses[-1])

    def bearer(self) -> tuple[bytes, bytes]:
        return (b"authorization", f"Bearer {self.key}".encode())


@pytest.mark.parametrize("watched", [False, True])
def test_a_revoked_key_is_refused_on_its_next_request(tmp_path: Path, watched: bool) -> None:
    gate = Gate(tmp_path)
    assert [gate.request(gate.bearer()) for _ in range(3)] == ["ci"] * 3
    with gate.keys.editing():
        gate.keys.revoke("ci", now=START)
    if watched:  # the key watch re-read the file first: the records in memory are current again
        asyncio.run(gate.verifier.refresh())
    assert gate.request(gate.bearer()) == "401"


def test_with_a_watch_on_the_key_file_its_word_alone_counts(tmp_path: Path) -> None:
    gate = Gate(tmp_path, stat_interval=3600.0)  # a stat would come too late to matter
    gate.verifier.file_changed(True)  # a ChangeWatch started (mcpctl/fswatch.py)
    assert [gate.request(gate.bearer()) for _ in range(3)] == ["ci"] * 3
    with gate.keys.editing():
        gate.keys.revoke("ci", now=START)
    assert gate.request(gate.bearer()) == "ci"  # not told yet: nothing looked at the file
    gate.verifier.file_changed(True)
    assert gate.request(gate.bearer()) == "401"


def test_a_key_recognised_before_is_refused_once_its_lifetime_ends(tmp_path: Path) -> None:
    gate = Gate(tmp_path, lifetime=60.0)
    assert gate.request(gate.bearer()) == "ci"
    gate.wall = START + 59.9
    assert gate.request(gate.bearer()) == "ci"
    gate.wall = START + 60.0
    assert gate.request(gate.bearer()) == "401"


def test_the_bytes_of_an_accepted_authorization_header_are_no_key_in_x_api_key(tmp_path: Path) -> None:
    gate = Gate(tmp_path)
    authorization = gate.bearer()
    assert gate.request(authorization) == "ci"
    assert gate.request((b"x-api-key", authorization[1])) == "401"
    assert gate.request((b"x-api-key", gate.key.encode())) == "ci"
    # Authorization wins over X-API-Key, as in the full check
    assert gate.request((b"x-api-key", gate.key.encode()), (b"authorization", b"Bearer nonsense")) == "401"


def test_auth_success_is_recorded_once_a_minute_and_last_use_every_time(tmp_path: Path) -> None:
    gate = Gate(tmp_path)
    for second in range(0, 130, 10):
        gate.ticks = float(second)
        gate.wall = START + second
        assert gate.request(gate.bearer()) == "ci"
        assert gate.verifier.last_used == {gate.record.id: START + second}
    assert SUCCESS_AUDIT_SECONDS == 60.0
    assert gate.audit.kinds == ["auth.success"] * 3  # at 0, 60 and 120 s


@pytest.mark.parametrize("presented", [b"Bearer  {key}", b"bearer {key} "])
def test_a_key_presented_another_way_is_checked_in_full(tmp_path: Path, presented: bytes) -> None:
    gate = Gate(tmp_path)
    assert gate.request(gate.bearer()) == "ci"
    other = (b"authorization", presented.replace(b"{key}", gate.key.encode()))
    assert gate.request(other) == "ci"
    with gate.keys.editing():
        gate.keys.revoke("ci", now=START)
    assert gate.request(other) == "401"
    assert gate.request(gate.bearer()) == "401"
