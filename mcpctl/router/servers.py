"""Each configured server as the router sees it: its state, its links, and the calls waiting for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mcpctl.protocol.eras import Era
from mcpctl.protocol.jsonrpc import Message

if TYPE_CHECKING:
    from mcpctl.router.calls import Call
    from mcpctl.router.links import Link

# A call for a server that is restarting or backing off waits this long for it before failing.
READY_WAIT = 5.0
# how long a round of a legacy server's questions waits for a modern client's retry (by default):
# below the 60 s TypeScript servers wait for an answer before giving up on their own
INPUT_TTL = 50.0
QUIET_AFTER = 3  # solo runs without a question before a tool counts as one that never asks

State = Literal["starting", "ready", "backoff", "crash-loop", "stopped"]


@dataclass(frozen=True)
class ServerRules:
    """What the configuration says about routing to one server."""

    prefix: str
    isolation: Literal["shared", "session"] = "shared"
    call_timeout: float = 60.0  # seconds without progress
    max_call_timeout: float = 600.0  # seconds in all
    startup_timeout: float = 30.0  # how long calls wait for its first start
    roots: tuple[str, ...] | None = None  # what a roots/list outside any call is answered (None: refused)
    input_ttl: float = INPUT_TTL  # seconds a modern client has to retry with a legacy server's input


@dataclass(eq=False)
class ServerSlot:
    """One configured server: the shared link when it is up, sessions' own links, waiting calls."""

    name: str
    rules: ServerRules
    state: State = "starting"
    ever_ready: bool = False
    era: Era | None = None  # what its last shared link spoke
    runs_on: str | None = (
        None  # in a fleet: the instance that runs it for all (placement = "one"), not this one
    )
    reason: str = ""  # why it is not ready (last exit, last error)
    retry_at: float | None = None  # when the supervisor tries again (monotonic)
    shared: Link | None = None
    session_links: dict[str, Link] = field(default_factory=dict)
    # calls waiting for the shared link (it is starting), or for a session's own link (being opened)
    parked: list[tuple[Call, Message]] = field(default_factory=list)
    opening: dict[str, list[tuple[Call, Message]]] = field(default_factory=dict)
    refreshing: set[tuple[str, ...]] = field(default_factory=set)
    stale: set[tuple[str, ...]] = field(default_factory=set)
    subscriptions: set[str] = field(default_factory=set)  # URIs the backend is subscribed to
    # in a fleet, placement = "one": URIs other instances' clients watch, and which instances
    remote_subscriptions: dict[str, set[str]] = field(default_factory=dict)
    # names that ran alone QUIET_AFTER times without asking: they may run beside an exclusive call
    quiet: set[str] = field(default_factory=set)
    solo: dict[str, int] = field(default_factory=dict)

    @property
    def first_start(self) -> bool:
        """Starting for the first time: calls and lists wait for it rather than miss it."""
        return not self.ever_ready and self.state == "starting"

    def wait(self) -> float:
        """How long a call may wait for this server to come up."""
        return self.rules.startup_timeout if self.first_start else READY_WAIT

    def learn(self, name: str | None, asked: bool) -> None:
        """What a call that ran alone taught: whether its tool asks its client things."""
        if name is None:
            return
        if asked:
            self.quiet.discard(name)
            self.solo.pop(name, None)
            return
        runs = self.solo.get(name, 0) + 1
        self.solo[name] = runs
        if runs >= QUIET_AFTER:
            self.quiet.add(name)

    def links(self) -> list[Link]:
        shared = [self.shared] if self.shared is not None else []
        return [*shared, *self.session_links.values()]

    def unavailable(self, now: float) -> str:
        text = f"server {self.name!r} is unavailable ({self.state})"
        if self.retry_at is not None and self.state in ("backoff", "crash-loop"):
            text += f"; next attempt in {max(self.retry_at - now, 0):.0f}s"
        if self.reason:
            text += f"; last problem: {self.reason}"
        return text
