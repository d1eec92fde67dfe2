"""One MCP client connection over a transport: the era handshake, requests of its own, list reading.

Its own requests carry string ids (`c1`, `c2`, ...) with progress tokens equal to them. Every
other message (responses to integer ids, notifications, server->client requests) goes to the
owner's `Handler`: the gateway's router forwards client calls on the same wire under integer ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mcpctl.backends.base import MessageSink, Transport
from mcpctl.errors import BackendTimeoutError, McpctlError, ProtocolError, RemoteError, UnavailableError
from mcpctl.mcpclient import CLIENT_INFO
from mcpctl.protocol import codes
from mcpctl.protocol.catalog import LIST_KINDS
from mcpctl.protocol.eras import LATEST_MODERN, MODERN, Era, modern_meta
from mcpctl.protocol.handshake import (
    HandshakeError,
    ServerDescription,
    Verdict,
    from_discovery,
    from_initialize,
    initialize_params,
    initialize_refused_as_modern,
    judge_probe,
    probe_request,
)
from mcpctl.protocol.jsonrpc import NOTIFICATION, RESPONSE, Message, kind_of, notification, params_of

log = logging.getLogger(__name__)

LIST_METHODS = {
    "tools": ("tools/list", "tools"),
    "prompts": ("prompts/list", "prompts"),
    "resources": ("resources/list", "resources"),
    "resourceTemplates": ("resources/templates/list", "resources"),
}
MAX_PAGES = 100  # a paginator that never ends must not hang a refresh
Progress = Callable[[dict[str, Any]], None]


class Handler(Protocol):
    """What the owner hears: every message that is not an answer to the connection's own requests."""

    def message(self, connection: Connection, msg: Message) -> None: ...

    def closed(self, connection: Connection, reason: str) -> None: ...


@dataclass(frozen=True)
class Settings:
    name: str
    era: Literal["auto", "legacy", "modern"] = "auto"
    probe_timeout: float = 3.0
    # capabilities declared in a legacy initialize: what the owner can answer (or route)
    client_capabilities: dict[str, Any] = field(default_factory=dict)
    # whether 2026-07-28 requests of its own declare `client_capabilities` in _meta too: the CLI
    # client does (it answers input requests itself); the gateway declares none of its own
    capabilities_in_meta: bool = False


@dataclass(slots=True)
class _Waiting:
    future: asyncio.Future[Message]
    on_progress: Progress | None


class Connection(MessageSink):
    """Speaks to one server: handshake, then requests of its own alongside whatever the owner sends."""

    def __init__(
        self, settings: Settings, transport_factory: Callable[[MessageSink], Transport], handler: Handler
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.transport = transport_factory(self)
        self._handler = handler
        self._waiting: dict[str, _Waiting] = {}
        self._next_id = 0
        self._closed = asyncio.Event()
        self.close_reason = ""
        self.description: ServerDescription | None = None

    # -- what the server declared ----------------------------------------------------------------

    @property
    def era(self) -> Era | None:
        return self.description.era if self.description else None

    @property
    def protocol_version(self) -> str:
        return self.description.protocol_version if self.description else ""

    @property
    def capabilities(self) -> dict[str, Any]:
        return self.description.capabilities if self.description else {}

    @property
    def server_info(self) -> dict[str, Any]:
        return self.description.server_info if self.description else {}

    @property
    def instructions(self) -> str | None:
        return self.description.instructions if self.description else None

    # -- lifecycle -------------------------------------------------------------------------------

    async def connect(self) -> ServerDescription:
        """Start the transport and shake hands."""
        await self.transport.start()
        return await self.handshake()

    async def handshake(self) -> ServerDescription:
        """Find the server's era and shake hands, on a started transport."""
        try:
            era = self.settings.era
            if era == "modern" or (era == "auto" and await self._probe() is Verdict.MODERN):
                if self.description is None:  # the probe's answer was an error naming our version
                    self.description = from_discovery(await self.request("server/discover", {}))
            else:
                await self._initialize()
        except HandshakeError as exc:
            raise ProtocolError(f"{self.name}: {exc}") from exc
        assert self.description is not None
        return self.description

    async def close(self, grace: float | None = None) -> None:
        self._fail_waiting(UnavailableError(f"{self.name}: the connection is closing"))
        await self.transport.close(grace)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def _probe(self) -> Verdict:
        request_id = self._new_id()
        waiting = self._expect(request_id, None)
        self.transport.send(probe_request(request_id, CLIENT_INFO, self._meta_capabilities()))
        answer: Message | None = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.probe_timeout):
                answer = await waiting.future
        if answer is None:
            self._cancel(request_id, "the probe timed out")
        verdict = judge_probe(answer)
        result = answer.get("result") if answer is not None else None
        if verdict is Verdict.MODERN and isinstance(result, dict):
            self.description = from_discovery(result)
        return verdict

    async def _initialize(self) -> None:
        params = initialize_params(CLIENT_INFO, self.settings.client_capabilities)
        try:
            result = await self.request("initialize", params)
        except RemoteError as exc:
            if initialize_refused_as_modern({"code": exc.jsonrpc_code}):
                self.description = from_discovery(await self.request("server/discover", {}))
                return
            raise
        self.description = from_initialize(result)
        self.notify("notifications/initialized")

    # -- requests of its own ---------------------------------------------------------------------

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        timeout: float = 30.0,
        on_progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Send a request and wait for its result; raises RemoteError for an error answer.

        Modern servers get the per-request `_meta` they need; a progress callback gets a
        progress token. Cancelled or timed out, the request is cancelled at the server too.
        """
        request_id = self._new_id()
        out = dict(params or {})
        meta = dict(out.get("_meta") or {})
        if self.era is MODERN or method == "server/discover":
            version = self.protocol_version or LATEST_MODERN
            meta = {**modern_meta(version, CLIENT_INFO, self._meta_capabilities()), **meta}
        if on_progress is not None:
            meta["progressToken"] = request_id
        if meta:
            out["_meta"] = meta
        waiting = self._expect(request_id, on_progress)
        self.transport.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": out})
        try:
            async with asyncio.timeout(timeout):
                answer = await waiting.future
        except TimeoutError:
            self._cancel(request_id, "timed out")
            raise BackendTimeoutError(f"{self.name}: no answer to {method} within {timeout:g}s") from None
        except asyncio.CancelledError:
            self._cancel(request_id, "cancelled")
            raise
        error = answer.get("error")
        if error is not None:
            err = error if isinstance(error, dict) else {}
            code = err.get("code")
            raise RemoteError(
                code if isinstance(code, int) else codes.INTERNAL_ERROR,
                str(err.get("message", "")),
                err.get("data"),
            )
        result = answer.get("result")
        if not isinstance(result, dict):
            raise ProtocolError(f"{self.name} answered {method} with a result that is not an object")
        return result

    async def read_lists(self, kinds: tuple[str, ...] = LIST_KINDS) -> dict[str, list[dict[str, Any]]]:
        """Every page of each list the server's capabilities promise (empty where none is)."""
        lists: dict[str, list[dict[str, Any]]] = {}
        for kind in kinds:
            method, capability = LIST_METHODS[kind]
            lists[kind] = await self._read_all(method, kind) if capability in self.capabilities else []
        if "tools" in lists:
            # HTTP transports mirror x-mcp-header arguments into Mcp-Param-* headers (SEP-2243)
            tools_listed = getattr(self.transport, "tools_listed", None)
            if tools_listed is not None:
                tools_listed(lists["tools"])
        return lists

    async def _read_all(self, method: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            try:
                result = await self.request(method, {} if cursor is None else {"cursor": cursor})
            except RemoteError as exc:
                if exc.jsonrpc_code == codes.METHOD_NOT_FOUND:
                    return items
                raise
            page = result.get(key)
            if isinstance(page, list):
                items.extend(entry for entry in page if isinstance(entry, dict))
            next_cursor = result.get("nextCursor")
            if not isinstance(next_cursor, str) or not next_cursor:
                break
            cursor = next_cursor
        return items

    def abort_requests(self, exc: McpctlError) -> None:
        """Fail every request of its own now (the owner cannot go on, e.g. it could not answer)."""
        self._fail_waiting(exc)

    # -- sending for the owner -------------------------------------------------------------------

    def send(self, msg: Message) -> None:
        """A message of the owner's, as it is; raises UnavailableError when the transport is closed."""
        self.transport.send(msg)

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.transport.send(notification(method, params))

    def respond(
        self, request_id: Any, *, result: dict[str, Any] | None = None, error: dict[str, Any] | None = None
    ) -> None:
        """Answer a request the server sent (sampling, elicitation, roots, ping); the server may be gone."""
        msg: Message = {"jsonrpc": "2.0", "id": request_id}
        if error is not None:
            msg["error"] = error
        else:
            msg["result"] = result if result is not None else {}
        with contextlib.suppress(UnavailableError):
            self.transport.send(msg)

    # -- receiving (MessageSink) -----------------------------------------------------------------

    def message_received(self, msg: Message) -> None:
        kind = kind_of(msg)
        if kind is RESPONSE:
            request_id = msg["id"]
            waiting = self._waiting.pop(request_id, None) if type(request_id) is str else None
            if waiting is not None:
                if not waiting.future.done():
                    waiting.future.set_result(msg)
                return
        elif kind is NOTIFICATION and msg["method"] == "notifications/progress":
            token = params_of(msg).get("progressToken")
            waiting = self._waiting.get(token) if type(token) is str else None
            if waiting is not None:
                if waiting.on_progress is not None:
                    waiting.on_progress(params_of(msg))
                return
        self._handler.message(self, msg)

    def message_lost(self, request_id: object, reason: str) -> None:
        error = {"code": codes.INTERNAL_ERROR, "message": f"server {self.name!r}: {reason}"}
        self.message_received({"jsonrpc": "2.0", "id": request_id, "error": error})

    def transport_closed(self, reason: str) -> None:
        self.close_reason = reason
        self._fail_waiting(UnavailableError(f"server {self.name!r} is unavailable: {reason}"))
        self._closed.set()
        self._handler.closed(self, reason)

    # -- bookkeeping -----------------------------------------------------------------------------

    def _new_id(self) -> str:
        self._next_id += 1
        return f"c{self._next_id}"

    def _expect(self, request_id: str, on_progress: Progress | None) -> _Waiting:
        if self.closed:
            raise UnavailableError(f"server {self.name!r} is unavailable: {self.close_reason}")
        waiting = _Waiting(asyncio.get_running_loop().create_future(), on_progress)
        self._waiting[request_id] = waiting
        return waiting

    def _cancel(self, request_id: str, reason: str) -> None:
        if self._waiting.pop(request_id, None) is None:
            return
        with contextlib.suppress(UnavailableError):
            self.notify("notifications/cancelled", {"requestId": request_id, "reason": reason})

    def _fail_waiting(self, exc: McpctlError) -> None:
        waiting, self._waiting = self._waiting, {}
        for entry in waiting.values():
            if not entry.future.done():
                entry.future.set_exception(exc)

    def _meta_capabilities(self) -> dict[str, Any]:
        return self.settings.client_capabilities if self.settings.capabilities_in_meta else {}
