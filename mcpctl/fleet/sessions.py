"""Sessions anywhere: a 2025-era session's declarative part in Redis, so that any instance serves it."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from mcpctl.fleet.store import StateStore
from mcpctl.router.context import Principal, principal_tag
from mcpctl.router.router import Router
from mcpctl.router.sessions import LegacySession, SessionFields


class FleetSessions:
    """Each session-bound request loads (and touches) its session in one round trip; changes are written back.

    A local copy of the session serves the request (the router keeps live things: calls, streams,
    questions); what another instance may have changed (log level, subscriptions) is refreshed from
    the record on every request. A session bound to another principal is as good as unknown: 404.
    """

    def __init__(self, store: StateStore, router: Router, idle_ttl: float, max_age: float) -> None:
        self._store = store
        self._router = router
        self._idle_ms = int(idle_ttl * 1000)
        self._max_age_ms = int(max_age * 1000)

    async def find(
        self,
        session_id: str | None,
        principal: Principal,
        now: float,
        buckets: Sequence[tuple[str, int, int]] = (),
    ) -> tuple[LegacySession | None, list[int]]:
        """The session (adopted here if another instance opened it; None for a request without
        one) and the shared rate limits' verdicts on its buckets, from one round trip."""
        record, verdicts = await self._store.load_and_admit(
            session_id, principal_tag(principal), self._idle_ms, list(buckets)
        )
        if session_id is None:
            return None, verdicts
        local = self._router.sessions.peek(session_id)
        if record is None:
            if local is not None and local.principal == principal:
                self._router.keeper.close(local, now)  # ended elsewhere (DELETE) or expired
            return None, verdicts
        fields = _fields(record)
        if local is None:
            return self._router.keeper.adopt(session_id, principal, fields, now), verdicts
        if local.principal != principal:
            return None, verdicts
        self._router.sessions.get(session_id, now)  # touch the local copy too
        self._router.keeper.refresh(local, fields)
        return local, verdicts

    async def opened(self, session: LegacySession) -> None:
        """A new session: its record is written before its id reaches the client (whose next request
        may land on any instance)."""
        key = self._store.key("s", session.id)
        record: dict[Any, Any] = {
            "p": principal_tag(session.principal),
            "pk": session.principal.kind,
            "pn": session.principal.name,
            "t": session.transport,
            "a": int(time.time() * 1000) + self._max_age_ms,
            **_declarative(session),
        }

        async def write() -> Any:
            async with self._store.redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=record)
                pipe.pexpire(key, self._idle_ms)
                pipe.zadd(self._store.key("live"), {session.id: int(time.time() * 1000) + self._idle_ms})
                return await pipe.execute()

        await self._store.run(write)

    async def changed(self, session: LegacySession) -> None:
        """The client changed its log level or subscriptions: every instance sees it on its next request."""
        key = self._store.key("s", session.id)
        fields = _declarative(session)
        await self._store.run(lambda: self._store.redis.hset(key, mapping=fields))

    async def ended(self, session_id: str) -> None:
        async def forget() -> Any:
            async with self._store.redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._store.key("s", session_id))
                pipe.zrem(self._store.key("live"), session_id)
                return await pipe.execute()

        await self._store.run(forget)

    async def count(self) -> int:
        """Live sessions in the whole fleet (what an autoscaler reads)."""
        return await self._store.count_live()


def _declarative(session: LegacySession) -> dict[Any, Any]:
    return {
        "v": session.protocol_version,
        "c": json.dumps(session.capabilities),
        "i": json.dumps(session.client_info),
        "l": session.log_level or "",
        "u": json.dumps(sorted(session.subscriptions)),
    }


def _fields(record: dict[str, bytes]) -> SessionFields:
    def text(name: str) -> str:
        return record.get(name, b"").decode()

    def loaded(name: str, default: Any) -> Any:
        try:
            value = json.loads(text(name))
        except ValueError:
            return default
        return value if isinstance(value, type(default)) else default

    return SessionFields(
        protocol_version=text("v"),
        capabilities=loaded("c", {}),
        client_info=loaded("i", {}),
        log_level=text("l") or None,
        subscriptions=frozenset(u for u in loaded("u", []) if isinstance(u, str)),
    )
