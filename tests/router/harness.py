"""An in-memory pair for router tests: a router, a clock, clients and backends as plain records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcpctl.protocol.eras import Era
from mcpctl.protocol.handshake import ServerDescription
from mcpctl.protocol.jsonrpc import Message
from mcpctl.router.actions import (
    Action,
    EndSession,
    OpenLink,
    PostToListener,
    PostToSession,
    RefreshLists,
    SendToBackend,
    StreamToClient,
    Warn,
)
from mcpctl.router.calls import Call
from mcpctl.router.context import ANONYMOUS, ClientContext, Principal
from mcpctl.router.hooks import NoHooks, Refusal
from mcpctl.router.links import Link
from mcpctl.router.router import Router, RouterConfig
from mcpctl.router.servers import ServerRules
from mcpctl.router.sessions import LegacySession
from mcpctl.router.streams import Forwarded, Immediate, Reply
from mcpctl.sealing import KeyRing

LEGACY_CAPS = {"sampling": {}, "elicitation": {}, "roots": {"listChanged": True}}
TOOL_CAPS = {"tools": {"listChanged": True}, "resources": {"subscribe": True}, "logging": {}}


class Recorder(NoHooks):
    """Hooks that remember every outcome (audit's view)."""

    def __init__(self) -> None:
        self.ended: list[tuple[Call, Message, str]] = []
        self.refusals: list[Refusal] = []
        self.deny: set[str] = set()

    def admit(
        self, ctx: ClientContext, method: str, server: str, name: str, params: dict[str, Any]
    ) -> dict[str, object] | None:
        return {"code": -31003, "message": f"denied {name}"} if name in self.deny else None

    def visible(self, ctx: ClientContext, kind: str, name: str) -> bool:
        return name not in self.deny

    def finished(self, call: Call, response: Message, outcome: str) -> None:
        self.ended.append((call, response, outcome))

    def refused(self, refusal: Refusal) -> None:
        self.refusals.append(refusal)


def tools(*names: str) -> dict[str, list[dict[str, Any]]]:
    return {"tools": [{"name": n, "inputSchema": {"type": "object"}} for n in names]}


@dataclass
class Pair:
    """The router and what it has said so far, sorted by where it goes."""

    router: Router
    hooks: Recorder
    now: float = 1000.0
    actions: list[Action] = field(default_factory=list)

    def take(self) -> list[Action]:
        out = list(self.router.out)
        self.router.out.clear()
        self.actions.extend(out)
        return out

    # -- clients ---------------------------------------------------------------------------------

    def legacy(self, principal: Principal = ANONYMOUS, caps: dict[str, Any] | None = None) -> ClientContext:
        """A 2025-era client with an initialized session."""
        ctx = ClientContext(Era.LEGACY, "2025-11-25", {}, {}, principal=principal)
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": LEGACY_CAPS if caps is None else caps,
                "clientInfo": {},
            },
        }
        reply = self.router.client_message(ctx, init, self.now)
        assert isinstance(reply, Immediate)
        assert reply.session is not None
        self.take()
        return ClientContext.for_session(reply.session)

    def modern(self, caps: dict[str, Any] | None = None, log_level: str | None = None) -> ClientContext:
        return ClientContext(Era.MODERN, "2026-07-28", caps or {}, {}, log_level=log_level)

    def send(self, ctx: ClientContext, msg: Message) -> Reply:
        return self.router.client_message(ctx, msg, self.now)

    def call(self, ctx: ClientContext, tool: str, request_id: Any = 1, **params: Any) -> Call:
        """A tools/call that must be forwarded; returns its call."""
        msg = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": tool, **params}}
        reply = self.send(ctx, msg)
        assert isinstance(reply, Forwarded), reply
        return reply.call

    # -- backends --------------------------------------------------------------------------------

    def up(
        self,
        server: str,
        lists: dict[str, list[dict[str, Any]]] | None = None,
        era: Era = Era.LEGACY,
        caps: dict[str, Any] | None = None,
        owner: str | None = None,
    ) -> Link:
        version = "2026-07-28" if era is Era.MODERN else "2025-11-25"
        description = ServerDescription(
            era, version, caps if caps is not None else TOOL_CAPS, {"name": server}
        )
        link = self.router.backends.link_up(server, description, lists or {}, self.now, owner=owner)
        return link

    def sent_to(self, link: Link, actions: list[Action] | None = None) -> list[Message]:
        return [
            a.message
            for a in (actions if actions is not None else self.actions)
            if isinstance(a, SendToBackend) and a.link is link
        ]

    def from_backend(self, link: Link, msg: Message) -> list[Action]:
        self.router.backends.message(link, msg, self.now)
        return self.take()

    def tick(self, seconds: float) -> list[Action]:
        self.now += seconds
        self.router.tick(self.now)
        return self.take()


def streamed(actions: list[Action], call: Call) -> list[tuple[Message, bool]]:
    return [(a.message, a.final) for a in actions if isinstance(a, StreamToClient) and a.call is call]


def final(actions: list[Action], call: Call) -> Message:
    done = [m for m, last in streamed(actions, call) if last]
    assert len(done) == 1, f"expected exactly one answer, got {done}"
    return done[0]


def posted(actions: list[Action], session: LegacySession) -> list[Message]:
    return [a.message for a in actions if isinstance(a, PostToSession) and a.session is session]


def of_type(actions: list[Action], kind: type) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


def make(
    servers: dict[str, ServerRules] | None = None,
    bridge: str | None = None,
    keys: KeyRing | None = None,
    **config: Any,
) -> Pair:
    hooks = Recorder()
    ids = iter(f"s{n}" for n in range(1, 100_000))
    rules = servers if servers is not None else {"a": ServerRules(prefix="a"), "b": ServerRules(prefix="b")}
    router = Router(
        RouterConfig(servers=rules, bridge=bridge, version="test", **config),
        keys or KeyRing.random(),
        hooks,
        lambda: next(ids),
    )
    pair = Pair(router, hooks)
    router.tick(pair.now)  # the first tick arms the session sweep
    pair.take()
    return pair


__all__ = [
    "EndSession",
    "OpenLink",
    "Pair",
    "PostToListener",
    "RefreshLists",
    "SendToBackend",
    "Warn",
    "final",
    "make",
    "of_type",
    "posted",
    "streamed",
    "tools",
]
