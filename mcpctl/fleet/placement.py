"""Which instance of the fleet runs a server of placement = "one": a lease per server, and its lists.

The lease (`own:SERVER`, SET NX PX) names the instance that runs the server's child for the whole
fleet; its holder renews it every second, and it lapses OWN_MS after the holder stopped (died,
hung, lost Redis), when the first instance to look takes it. The holder publishes the server's
lists and state (`lists:SERVER`), so every instance lists its tools under the same prefix and
says how it is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from mcpctl.fleet.store import StateStore
from mcpctl.protocol.catalog import Lists

OWN_MS: Final = 5000  # a server whose holder stopped renewing moves to another instance after this
# An instance that does not run the server takes a free lease only after seeing it free this many
# times before (a second apart): the instance that runs the child (and holds what it remembers)
# takes it back first when Redis returns empty.
FREE_LOOKS: Final = 2
# Renew the lease if we hold it; take it if nobody does and ARGV[3] says so; say who holds it ("": nobody).
_CLAIM: Final = """
local holder = redis.call('GET', KEYS[1])
if not holder then
  if ARGV[3] ~= '1' then return '' end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return holder
"""
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

Step = Literal["start", "stop", "keep", "follow", "wait"]


def may_take(running: bool, free_looks: int) -> bool:
    """Whether this instance takes the server's lease if it is free: at once if it runs the child,
    else only once it saw the lease free FREE_LOOKS times before."""
    return running or free_looks >= FREE_LOOKS


def decide(me: str, holder: str, running: bool) -> Step:
    """What this instance does about a placed server, given who holds its lease now ("": nobody).

    start: we hold it and do not run it yet; stop: another instance holds it (ours lapsed while we
    could not renew it) and we still run it; keep: we hold and run it; follow: it runs elsewhere;
    wait: nobody holds it and we did not take it (yet).
    """
    if holder == me:
        return "keep" if running else "start"
    if not holder:
        return "wait"
    return "stop" if running else "follow"


@dataclass(frozen=True)
class Published:
    """A server's lists and state (ready, backoff, crash-loop, ...) as its holder published them."""

    instance: str
    lists: Lists
    state: str
    digest: str


def digest(lists: Lists, state: str) -> str:
    text = json.dumps([lists, state], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Placements:
    """The leases and the published lists, in the fleet's store."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._claim = store.redis.register_script(_CLAIM)
        self._release = store.redis.register_script(_RELEASE)

    async def claim(self, server: str, take: bool) -> str:
        """Renew the server's lease if we hold it, take it if it is free and `take`; the instance that
        holds it now ("": nobody)."""
        key = self._store.key("own", server)
        args: list[str | int] = [self._store.instance, OWN_MS, "1" if take else "0"]
        holder: Any = await self._store.run(lambda: self._claim(keys=[key], args=args))
        return holder.decode() if isinstance(holder, bytes) else str(holder)

    async def release(self, server: str) -> None:
        """Give the server up at once (a clean stop), if we hold it: the next instance to look takes it."""
        key = self._store.key("own", server)
        await self._store.run(lambda: self._release(keys=[key], args=[self._store.instance]))

    async def publish(self, server: str, lists: Lists, state: str) -> None:
        body = json.dumps({"i": self._store.instance, "l": lists, "s": state})
        await self._store.run(lambda: self._store.redis.set(self._store.key("lists", server), body))

    async def read(self, server: str) -> Published | None:
        raw: Any = await self._store.run(lambda: self._store.redis.get(self._store.key("lists", server)))
        if not raw:
            return None
        try:
            body = json.loads(raw)
            instance, lists, state = str(body["i"]), body["l"], str(body.get("s", "ready"))
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(lists, dict):
            return None
        return Published(instance, lists, state, digest(lists, state))
