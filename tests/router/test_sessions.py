"""Legacy sessions: TTL on the time given, touch on use, busy sessions never expire."""

from __future__ import annotations

import pytest

from mcpctl.router.calls import Call
from mcpctl.router.sessions import LegacySession, SessionRegistry, new_session_id

TTL = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Store:
    """The registry with the clock applied, so each test reads as a story in time."""

    def __init__(self, clock: Clock) -> None:
        self.registry = SessionRegistry(TTL)
        self.clock = clock

    def add(self, s: LegacySession) -> None:
        self.registry.add(s, self.clock.now)

    def get(self, session_id: str) -> LegacySession | None:
        return self.registry.get(session_id, self.clock.now)

    def expire(self) -> list[LegacySession]:
        return self.registry.expire(self.clock.now)

    def count(self) -> int:
        return self.registry.count(self.clock.now)

    def all(self) -> list[LegacySession]:
        return list(self.registry)

    def remove(self, session_id: str) -> LegacySession | None:
        return self.registry.remove(session_id)


@pytest.fixture
def store(clock: Clock) -> Store:
    return Store(clock)


def session(session_id: str = "s1") -> LegacySession:
    return LegacySession(session_id, "2025-11-25", {}, {"name": "client", "version": "1"})


def test_a_session_lives_until_it_is_idle_for_longer_than_the_ttl(store: Store, clock: Clock) -> None:
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


def test_every_use_touches_the_session(store: Store, clock: Clock) -> None:
    store.add(session())
    for _ in range(10):  # ten uses, each within the TTL of the last: ten TTLs in total
        clock.now += TTL - 1
        assert store.get("s1") is not None
    assert store.expire() == []


def test_a_session_with_an_open_stream_never_expires(store: Store, clock: Clock) -> None:
    streaming = session()
    store.add(streaming)
    streaming.stream_open = True
    clock.now += 10 * TTL
    assert store.expire() == []
    assert store.get("s1") is streaming
    assert store.count() == 1


def test_a_session_with_a_call_in_flight_never_expires(store: Store, clock: Clock) -> None:
    """A tool call longer than the TTL must not cost the client its session (a 404 mid-call)."""
    busy = session()
    store.add(busy)
    busy.calls[7] = Call(None, 7, "tools/call", "server", "slow_tool")
    clock.now += 10 * TTL
    assert store.expire() == []
    assert store.count() == 1
    assert store.get("s1") is busy  # e.g. the client sending notifications/cancelled for call 7


def test_idleness_starts_when_the_last_stream_or_call_ends(store: Store, clock: Clock) -> None:
    busy = session()
    store.add(busy)
    busy.stream_open = True
    for _ in range(10):  # the host sweeps now and then while the stream stays open
        clock.now += TTL
        assert store.expire() == []
    busy.stream_open = False  # the client closes its GET stream and comes back soon after
    clock.now += 1
    assert store.get("s1") is busy


def test_expire_drops_only_idle_sessions(store: Store, clock: Clock) -> None:
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


def test_remove_and_unknown_ids(store: Store) -> None:
    store.add(session())
    assert store.get("nope") is None
    assert store.remove("s1") is not None
    assert store.remove("s1") is None
    assert store.get("s1") is None


def test_session_ids_are_long_random_visible_ascii() -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and all(0x21 <= ord(c) <= 0x7E for c in i) for i in ids)


def test_ids_of_questions_to_the_client_are_the_gateways_own() -> None:
    s = session()
    assert [s.next_ask_id() for _ in range(3)] == ["mcpctl-1", "mcpctl-2", "mcpctl-3"]


def test_past_the_limits_the_least_recently_used_idle_session_makes_room() -> None:
    from mcpctl.router.context import Principal

    registry = SessionRegistry(TTL, max_total=3, max_per_principal=2)
    alice, bob = Principal("alice", "api-key"), Principal("bob", "api-key")
    a1, a2, b1 = (LegacySession(i, "v", {}, {}, p) for i, p in (("a1", alice), ("a2", alice), ("b1", bob)))
    for s in (a1, a2, b1):
        assert registry.make_room(s.principal) == []
        registry.add(s, 0.0)
    registry.get("a1", 1.0)  # a1 was used last: a2 is alice's least recently used
    assert registry.make_room(alice) == [a2]
    a2.stream_open = True  # busy: never ended to make room
    assert registry.make_room(alice) == [a1]
    a1.calls["c"] = Call(None, "c", "tools/call", "s")
    assert registry.make_room(alice) is None
    assert registry.make_room(Principal("carol", "api-key")) == [b1]  # the total: anyone's idle one
