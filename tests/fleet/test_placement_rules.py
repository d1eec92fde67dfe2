"""placement = "one", piece by piece: who runs a server, what a forwarded call says of its client, and
how long a forwarded call waits for the instance that runs it."""

from __future__ import annotations

import asyncio
import time

import pytest

from mcpctl.fleet.inbox import Inbox, OwnerGone
from mcpctl.fleet.placement import FREE_LOOKS, decide, digest, may_take
from mcpctl.fleet.store import StateStore
from mcpctl.gateway.elsewhere import _context_entry, _context_from
from mcpctl.protocol.eras import Era
from mcpctl.router.context import ClientContext, Principal
from tests.support.redis import RedisServer


@pytest.mark.parametrize(
    ("holder", "running", "step"),
    [
        ("me", False, "start"),  # we took the lease: start the child
        ("me", True, "keep"),  # we hold and run it
        ("other", True, "stop"),  # ours lapsed (we could not renew it) and another took it over
        ("other", False, "follow"),  # it runs there: list what it published, send its calls there
        ("", False, "wait"),  # nobody holds it, and we did not take it (yet)
    ],
)
def test_who_runs_a_placed_server(holder: str, running: bool, step: str) -> None:
    assert decide("me", holder, running) == step


def test_a_free_lease_goes_first_to_the_instance_that_runs_the_child() -> None:
    # Redis came back empty: the instance whose child remembers things takes the lease back at its
    # next look; the others only after seeing it free for FREE_LOOKS looks (seconds) in a row
    assert may_take(running=True, free_looks=0)
    assert not may_take(running=False, free_looks=FREE_LOOKS - 1)
    assert may_take(running=False, free_looks=FREE_LOOKS)


def test_a_digest_depends_on_the_lists_and_state_not_their_key_order() -> None:
    one = {"tools": [{"name": "a", "inputSchema": {"type": "object", "x": 1}}]}
    two = {"tools": [{"inputSchema": {"x": 1, "type": "object"}, "name": "a"}]}
    assert digest(one, "ready") == digest(two, "ready")
    assert digest(one, "ready") != digest({"tools": []}, "ready")
    assert digest(one, "ready") != digest(one, "backoff")


def test_a_forwarded_call_carries_its_client_and_a_2025_session_is_asked_nothing_there() -> None:
    principal = Principal("alice", "oauth", frozenset({"read"}), frozenset({"devs"}), {"roles": ["x"]})
    legacy = ClientContext(
        Era.LEGACY,
        "2025-11-25",
        {"sampling": {}},
        {"name": "c"},
        principal=principal,
        log_level="debug",
        remote="10.0.0.1",
        verdicts=(0, 0),
    )
    there = _context_from(_context_entry(legacy))
    assert there is not None
    assert there.forwarded and there.session is None
    assert there.era is Era.LEGACY and there.protocol_version == "2025-11-25"
    assert there.capabilities == {}  # its questions are refused there: the session lives here
    assert there.principal == principal and there.principal.claims == {"roles": ["x"]}
    assert (there.log_level, there.remote, there.verdicts) == ("debug", "10.0.0.1", (0, 0))
    modern = ClientContext(Era.MODERN, "2026-07-28", {"elicitation": {}}, {}, principal=principal)
    again = _context_from(_context_entry(modern))
    assert again is not None and again.capabilities == {"elicitation": {}}  # asked through requestState
    assert _context_from({"e": "legacy"}) is None  # not ours: dropped


def test_a_forwarded_calls_wait_ends_when_its_holder_dies_or_stays_silent_too_long(
    redis_server: RedisServer,
) -> None:
    async def run() -> tuple[str, str, float]:
        store = StateStore(redis_server.url, "me")
        try:
            await store.redis.set(store.key("inst", "holder"), "1", px=1500)  # alive, for 1.5 s
            inbox = Inbox(store)
            started = time.monotonic()
            with pytest.raises(OwnerGone) as silent:
                async for _ in inbox.replies(inbox.reply_key(), "holder", "1", quiet=0.5):
                    pass
            with pytest.raises(OwnerGone) as died:
                async for _ in inbox.replies(inbox.reply_key(), "holder", "1"):
                    pass
            return str(silent.value), str(died.value), time.monotonic() - started
        finally:
            await store.redis.aclose()

    silent, died, took = asyncio.run(run())
    assert "no word from the mcpctl instance 'holder'" in silent
    assert "'holder' that holds the call stopped answering" in died
    assert took < 10
