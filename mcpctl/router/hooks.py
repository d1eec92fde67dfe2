"""Extension points around every forwarded call: policy, limits, breakers, audit and metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from mcpctl.protocol.catalog import Entry
from mcpctl.protocol.jsonrpc import Message
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext


@dataclass(frozen=True, slots=True)
class Refusal:
    """A call that never reached a backend: who asked for what, and the JSON-RPC error they got."""

    ctx: ClientContext
    method: str
    server: str  # "" when the name led nowhere
    name: str
    params: dict[str, Any]
    error: dict[str, object]


class CallHooks(Protocol):
    """Each method is called synchronously by the router and must not block.

    `admit` may refuse a call (tools/call, prompts/get, resources/read, completion/complete,
    resources/subscribe) before it reaches a backend by returning a JSON-RPC error object
    (`{"code", "message", "data"}`). Every such call ends in exactly one `finished` (it reached a
    backend, or the backend was unavailable) or one `refused` (unknown name, or refused by
    `admit`): audit counts on that.
    """

    def admit(
        self, ctx: ClientContext, method: str, server: str, name: str, params: dict[str, Any]
    ) -> dict[str, object] | None: ...

    def visible(self, ctx: ClientContext, kind: str, name: str) -> bool: ...

    def finished(self, call: Call, response: Message, outcome: str) -> None: ...

    def refused(self, refusal: Refusal) -> None: ...

    def server_changed(self, server: str, up: bool) -> None:
        """A backend became ready (after a start or restart) or went down."""


class NoHooks:
    """The default: admit everything, show everything, record nothing. Subclass it to pick a few."""

    def admit(
        self, ctx: ClientContext, method: str, server: str, name: str, params: dict[str, Any]
    ) -> dict[str, object] | None:
        return None

    def visible(self, ctx: ClientContext, kind: str, name: str) -> bool:
        return True

    def finished(self, call: Call, response: Message, outcome: str) -> None:
        return None

    def refused(self, refusal: Refusal) -> None:
        return None

    def server_changed(self, server: str, up: bool) -> None:
        return None


class HookChain:
    """Several hooks in order: the first refusal wins; every hook sees every outcome."""

    admit: Callable[[ClientContext, str, str, str, dict[str, Any]], dict[str, object] | None]
    finished: Callable[[Call, Message, str], None]

    def __init__(self, hooks: list[CallHooks]) -> None:
        self.hooks: list[CallHooks] = []
        self._admitters: list[CallHooks] = []
        self._viewers: list[CallHooks] = []
        self._finishers: list[CallHooks] = []
        self.add(hooks)

    def add(self, hooks: list[CallHooks]) -> None:
        """Append hooks (after those already here). The per-call and per-entry methods then call only
        the hooks that do something in them, not NoHooks' defaults (a call each per call saved);
        where one hook alone does, the chain's method is that hook's own (one more saved)."""
        self.hooks.extend(hooks)
        self._admitters = [hook for hook in self.hooks if _overrides(hook, "admit")]
        self._viewers = [hook for hook in self.hooks if _overrides(hook, "visible")]
        self._finishers = [hook for hook in self.hooks if _overrides(hook, "finished")]
        self.admit = self._admitters[0].admit if len(self._admitters) == 1 else self._admit_each
        self.finished = self._finishers[0].finished if len(self._finishers) == 1 else self._finish_each

    def _admit_each(
        self, ctx: ClientContext, method: str, server: str, name: str, params: dict[str, Any]
    ) -> dict[str, object] | None:
        for hook in self._admitters:
            error = hook.admit(ctx, method, server, name, params)
            if error is not None:
                return error
        return None

    def visible(self, ctx: ClientContext, kind: str, name: str) -> bool:
        return all(hook.visible(ctx, kind, name) for hook in self._viewers)

    def _finish_each(self, call: Call, response: Message, outcome: str) -> None:
        for hook in self._finishers:
            hook.finished(call, response, outcome)

    def refused(self, refusal: Refusal) -> None:
        for hook in self.hooks:
            hook.refused(refusal)

    def server_changed(self, server: str, up: bool) -> None:
        for hook in self.hooks:
            hook.server_changed(server, up)


def shown(
    hooks: CallHooks, ctx: ClientContext, kind: str, entries: list[Entry], named_by: str
) -> list[Entry]:
    """The entries of a list that `hooks` let `ctx` see: `entries` itself when none of them hides
    anything (asking NoHooks' `visible` about each of 300 tools cost a tools/list more than
    writing its JSON)."""
    if isinstance(hooks, HookChain):
        viewers = hooks._viewers
    else:
        viewers = [hooks] if _overrides(hooks, "visible") else []
    if not viewers:
        return entries
    visible = viewers[0].visible if len(viewers) == 1 else hooks.visible  # one hook: asked directly
    return [e for e in entries if visible(ctx, kind, str(e.get(named_by)))]


def _overrides(hook: CallHooks, method: str) -> bool:
    """Whether `hook` does its own `method`, rather than NoHooks' nothing."""
    return getattr(type(hook), method, None) is not getattr(NoHooks, method)
