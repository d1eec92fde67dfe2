"""Legacy sessions: TTL on an injected clock, touch on use, busy sessions never expire; outbox bounds."""

from __future__ import annotations

import asyncio

import pytest

from mcpctl.gateway.calls import Call
from mcpctl.gateway.sessions import OUTBOX_LIMIT, LegacySession, MemorySessionStore, Outbox, new_session_id

TTL = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> MemorySessionStore:
    return MemorySessionStore(TTL, clock=clock)


def session(session_id: str = "s1") -> LegacySession:
    return LegacySession(session_id, "2025-11-25", {}, {"name": "client", "version": "1"})


def test_a_session_lives_until_it_is_idle_for_longer_than_the_ttl(
    store: MemorySessionStore, clock: Clock
) -> None:
    added = session()
    store.add(added)
    clock.now += TTL  # exactly the TTL: still alive
    assert store.get("s1") is added
    clock.now += TTL + 0.001  # idle since that get
    assert store.get("s1") is None
    assert store.count() == 0
    assert store.expire() == [added]
    assert store.all() == []
    assert store.expire() == []


def test_every_use_touches_the_session(store: MemorySessionStore, clock: Clock) -> None:
    store.add(session())
    for _ in range(10):  # ten uses, each within the TTL of the last: ten TTLs in total
        clock.now += TTL - 1
        assert store.get("s1") is not None
    assert store.expire() == []


def test_a_session_with_an_open_stream_never_expires(store: MemorySessionStore, clock: Clock) -> None:
    streaming = session()
    store.add(streaming)
    streaming.stream_open = True
    clock.now += 10 * TTL
    assert store.expire() == []
    assert store.get("s1") is streaming
    assert store.count() == 1


def test_a_session_with_a_call_in_flight_never_expires(store: MemorySessionStore, clock: Clock) -> None:
    """A tool call longer than the TTL must not cost the client its session (a 404 mid-call)."""
    busy = session()
    store.add(busy)
    busy.calls[7] = Call(None, 7, "tools/call", "server", "slow_tool")
    clock.now += 10 * TTL
    assert store.expire() == []
    assert store.count() == 1
    assert store.get("s1") is busy  # e.g. the client sending notifications/cancelled for call 7


def test_idleness_starts_when_the_last_stream_or_call_ends(store: MemorySessionStore, clock: Clock) -> None:
    busy = session()
    store.add(busy)
    busy.stream_open = True
    for _ in range(10):  # the host sweeps now and then while the stream stays open
        clock.now += TTL
        assert store.expire() == []
    busy.stream_open = False  # the client closes its GET stream and comes back soon after
    clock.now += 1
    assert store.get("s1") is busy


def test_expire_drops_only_idle_sessions(store: MemorySessionStore, clock: Clock) -> None:
    idle, streaming, calling, fresh = (
        session("idle"),
        session("streaming"),
        session("calling"),
        session("fresh"),
    )
    for s in (idle, streaming, calling):
        store.add(s)
    streaming.stream_open = True
    calling.calls["c"] = Call(None, "c", "tools/call", "server")
    clock.now += TTL + 1
    store.add(fresh)
    assert store.expire() == [idle]
    assert {s.id for s in store.all()} == {"streaming", "calling", "fresh"}
    assert store.count() == 3


def test_remove_and_unknown_ids(store: MemorySessionStore) -> None:
    store.add(session())
    assert store.get("nope") is None
    assert store.remove("s1") is not None
    assert store.remove("s1") is None
    assert store.get("s1") is None


def test_session_ids_are_long_random_visible_ascii() -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and all(0x21 <= ord(c) <= 0x7E for c in i) for i in ids)


def test_client_request_ids_are_the_gateways_own() -> None:
    s = session()
    assert [s.next_client_request_id() for _ in range(3)] == ["mcpctl-1", "mcpctl-2", "mcpctl-3"]


def test_outbox_keeps_the_newest_messages_and_counts_the_dropped() -> None:
    outbox = Outbox()
    for index in range(OUTBOX_LIMIT + 10):
        outbox.put({"n": index})
    assert outbox.dropped == 10

    async def drain() -> list[object]:
        taken = []
        while (msg := await outbox.next(timeout=0)) is not None:
            taken.append(msg["n"])
        return taken

    assert asyncio.run(drain()) == list(range(10, OUTBOX_LIMIT + 10))


def test_a_closed_outbox_takes_nothing_and_wakes_its_reader() -> None:
    async def scenario() -> None:
        outbox = Outbox()
        reader = asyncio.create_task(outbox.next(timeout=30))
        await asyncio.sleep(0)  # let the reader start waiting
        outbox.close()
        assert await asyncio.wait_for(reader, 5) is None
        outbox.put({"late": True})
        assert await outbox.next(timeout=0) is None
        assert outbox.closed

    asyncio.run(scenario())


def test_a_waiting_reader_wakes_on_put_and_on_kick_and_times_out_otherwise() -> None:
    async def scenario() -> None:
        outbox = Outbox()
        reader = asyncio.create_task(outbox.next(timeout=30))
        await asyncio.sleep(0)
        outbox.put({"hello": 1})
        assert await asyncio.wait_for(reader, 5) == {"hello": 1}
        kicked = asyncio.create_task(outbox.next(timeout=30))
        await asyncio.sleep(0)
        outbox.kick()  # the stream is going away; the outbox (and its messages) stay
        assert await asyncio.wait_for(kicked, 5) is None
        assert not outbox.closed
        assert await outbox.next(timeout=0.01) is None

    asyncio.run(scenario())
