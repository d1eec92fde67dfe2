"""The gateway's client connection to one backend: era detection, id remapping, pending calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mcpctl import __version__
from mcpctl.backends.base import MessageSink, Transport
from mcpctl.errors import BackendTimeoutError, ProtocolError, RemoteError, UnavailableError
from mcpctl.gateway.calls import Call
from mcpctl.protocol import codes
from mcpctl.protocol.catalog import LIST_KINDS
from mcpctl.protocol.eras import (
    LATEST_LEGACY,
    LEGACY_VERSIONS,
    META_SERVER_INFO,
    META_SUBSCRIPTION_ID,
    MODERN_ERROR_CODES,
    MODERN_VERSIONS,
    Era,
    modern_meta,
)
from mcpctl.protocol.jsonrpc import Kind, Message, kind_of, notification, params_of, request

log = logging.getLogger(__name__)

CLIENT_INFO = {"name": "mcpctl", "version": __version__}
_LIST_METHODS = {
    "tools": ("tools/list", "tools"),
    "prompts": ("prompts/list", "prompts"),
    "resources": ("resources/list", "resources"),
    "resourceTemplates": ("resources/templates/list", "resources"),
}
_MAX_PAGES = 100  # a paginator that never ends must not hang a refresh


class UpstreamEvents(Protocol):
    """What the gateway hears from a backend outside of any call's response."""

    def upstream_notification(self, upstream: Upstream, msg: Message) -> None: ...

    def upstream_request(self, upstream: Upstream, msg: Message) -> None: ...

    def upstream_closed(self, upstream: Upstream, reason: str) -> None: ...


@dataclass(frozen=True)
class UpstreamSettings:
    name: str
    era: Literal["auto", "legacy", "modern"] = "auto"
    probe_timeout: float = 3.0
    # capabilities declared in a legacy initialize: what the gateway can route to its clients
    client_capabilities: dict[str, Any] = field(default_factory=dict)
    # whether internal 2026-07-28 requests declare `client_capabilities` in _meta as well: the
    # CLI client does (it answers input requests itself); the gateway declares none of its own
    capabilities_in_meta: bool = False


class Upstream(MessageSink):
    """Speaks to one backend over a Transport: handshake, then many concurrent calls.

    Backend-side ids are small integers unique on this connection; progress tokens are
    rewritten to the same integers, so a progress notification finds its call in one lookup.
    """

    def __init__(
        self,
        settings: UpstreamSettings,
        transport_factory: Callable[[MessageSink], Transport],
        events: UpstreamEvents,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.transport = transport_factory(self)
        self._events = events
        self._pending: dict[int, Call] = {}
        self._next_id = 0
        self._closed = asyncio.Event()
        self.close_reason = ""
        self.era: Era | None = None
        self.protocol_version = ""
        self.capabilities: dict[str, Any] = {}
        self.server_info: dict[str, Any] = {}
        self.instructions: str | None = None
        self.lists: dict[str, list[dict[str, Any]]] = {kind: [] for kind in LIST_KINDS}
        self._listen: Call | None = None
        self._listen_uris: frozenset[str] = frozenset()
        self.owner: str | None = None  # the session id, for a per-session (isolated) child

    # -- lifecycle -----------------------------------------------------------------------------

    async def connect(self) -> None:
        """Start the transport, find the backend's era, shake hands and read its lists."""
        await self.transport.start()
        await self.handshake()
        await self.refresh_lists()
        if self.era is Era.MODERN:
            self.listen_for_changes(self._listen_uris)

    async def close(self, grace: float | None = None) -> None:
        self._fail_pending("the gateway is shutting down")
        await self.transport.close(grace)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def in_flight(self) -> list[Call]:
        """Client calls awaiting a response here, oldest first."""
        return [call for call in self._pending.values() if call.ctx is not None]

    # -- handshake -----------------------------------------------------------------------------

    async def handshake(self) -> None:
        """Find the backend's era and shake hands, on a started transport (lists are not read)."""
        era = self.settings.era
        if era == "modern" or (era == "auto" and await self._probe_modern()):
            await self._discover()
        else:
            await self._initialize()

    async def _probe_modern(self) -> bool:
        """2026-07-28 stdio probe: a DiscoverResult or a modern error means modern; else legacy."""
        try:
            result = await self.request(
                "server/discover",
                {"_meta": self._internal_meta(MODERN_VERSIONS[0])},
                self.settings.probe_timeout,
            )
        except BackendTimeoutError:
            return False
        except RemoteError as exc:
            if exc.jsonrpc_code in MODERN_ERROR_CODES:
                supported = exc.data.get("supported") if isinstance(exc.data, dict) else None
                if isinstance(supported, list) and any(v in MODERN_VERSIONS for v in supported):
                    return True
                raise ProtocolError(
                    f"{self.name}: speaks only protocol versions {supported}, none of which mcpctl supports"
                ) from exc
            return False
        if not isinstance(result.get("supportedVersions"), list):
            return False  # an answer, but not a DiscoverResult (a lenient legacy server): legacy
        self._adopt_discovery(result)
        return True

    async def _discover(self) -> None:
        if self.era is Era.MODERN:
            return  # the probe already adopted the DiscoverResult
        result = await self.request("server/discover", {"_meta": self._internal_meta(MODERN_VERSIONS[0])})
        self._adopt_discovery(result)

    def _adopt_discovery(self, result: dict[str, Any]) -> None:
        versions = result.get("supportedVersions")
        mutual = [v for v in MODERN_VERSIONS if isinstance(versions, list) and v in versions]
        if not mutual:
            raise ProtocolError(
                f"{self.name}: server/discover offers {versions}, none of which mcpctl speaks"
            )
        self.era = Era.MODERN
        self.protocol_version = mutual[0]
        self.capabilities = _dict(result.get("capabilities"))
        meta = _dict(result.get("_meta"))
        self.server_info = _dict(meta.get(META_SERVER_INFO)) or _dict(result.get("serverInfo"))
        instructions = result.get("instructions")
        self.instructions = instructions if isinstance(instructions, str) else None

    async def _initialize(self) -> None:
        params = {
            "protocolVersion": LATEST_LEGACY,
            "capabilities": self.settings.client_capabilities,
            "clientInfo": CLIENT_INFO,
        }
        try:
            result = await self.request("initialize", params)
        except RemoteError as exc:
            # A modern-only server answers initialize with an error naming its versions.
            if exc.jsonrpc_code in MODERN_ERROR_CODES:
                self.era = None
                await self._discover()
                return
            raise
        version = result.get("protocolVersion")
        if version not in LEGACY_VERSIONS:
            raise ProtocolError(
                f"{self.name}: initialize chose protocol version {version!r}, which mcpctl does not speak"
            )
        self.era = Era.LEGACY
        self.protocol_version = str(version)
        self.capabilities = _dict(result.get("capabilities"))
        self.server_info = _dict(result.get("serverInfo"))
        instructions = result.get("instructions")
        self.instructions = instructions if isinstance(instructions, str) else None
        self.notify("notifications/initialized")

    # -- lists -----------------------------------------------------------------------------------

    async def refresh_lists(self, kinds: tuple[str, ...] = LIST_KINDS) -> dict[str, list[dict[str, Any]]]:
        """Read (all pages of) each list the server's capabilities promise."""
        for kind in kinds:
            method, capability = _LIST_METHODS[kind]
            if capability not in self.capabilities:
                self.lists[kind] = []
                continue
            self.lists[kind] = await self._read_all(method, kind)
        schemas = getattr(self.transport, "tool_schemas", None)
        if isinstance(schemas, dict):  # HTTP transports mirror x-mcp-header arguments into headers
            schemas.clear()
            schemas.update(
                {
                    t["name"]: t.get("inputSchema")
                    for t in self.lists["tools"]
                    if isinstance(t.get("name"), str)
                }
            )
        return self.lists

    async def _read_all(self, method: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            params: dict[str, Any] = {} if cursor is None else {"cursor": cursor}
            if self.era is Era.MODERN:
                params["_meta"] = self._internal_meta(self.protocol_version)
            try:
                result = await self.request(method, params)
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

    def listen_for_changes(self, resource_uris: frozenset[str]) -> None:
        """Modern backends: (re)open one subscriptions/listen for list changes and resource updates."""
        self._listen_uris = resource_uris
        if self.era is not Era.MODERN or self.closed:
            return
        if self._listen is not None:
            self.cancel(self._listen, "subscription filter changed")
        wanted: dict[str, Any] = {}
        for capability, flag in (
            ("tools", "toolsListChanged"),
            ("prompts", "promptsListChanged"),
            ("resources", "resourcesListChanged"),
        ):
            if _dict(self.capabilities.get(capability)).get("listChanged"):
                wanted[flag] = True
        if resource_uris and _dict(self.capabilities.get("resources")).get("subscribe"):
            wanted["resourceSubscriptions"] = sorted(resource_uris)
        if not wanted:
            self._listen = None
            return
        call = Call(None, None, "subscriptions/listen", self.name)
        self._listen = call
        params = {"notifications": wanted, "_meta": self._internal_meta(self.protocol_version)}
        self.forward(call, request(0, "subscriptions/listen", params))

    # -- sending ---------------------------------------------------------------------------------

    def forward(self, call: Call, msg: Message) -> None:
        """Send a request for `call`, giving it this connection's next id (and progress token)."""
        self._next_id += 1
        call.backend_id = self._next_id
        call.upstream = self
        call.sent = msg
        out = {**msg, "id": self._next_id}
        params = msg.get("params")
        if isinstance(params, dict):
            meta = params.get("_meta")
            if isinstance(meta, dict) and "progressToken" in meta:
                # Two clients may both use token 1: the backend sees our unique id instead.
                out["params"] = {**params, "_meta": {**meta, "progressToken": self._next_id}}
        self._pending[self._next_id] = call
        try:
            self.transport.send(out)
        except UnavailableError:
            del self._pending[self._next_id]
            raise

    async def request(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        """An internal request of the gateway's own; returns the result or raises RemoteError."""
        call = Call(None, None, method, self.name)
        self.forward(call, request(0, method, params))
        while True:
            item = await call.next(timeout)
            if item is None:
                self.cancel(call, "timed out")
                raise BackendTimeoutError(f"{self.name}: no answer to {method} within {timeout:g}s")
            msg, final = item
            if final:
                break
        if "error" in msg:
            err = _dict(msg.get("error"))
            code = err.get("code")
            raise RemoteError(
                code if isinstance(code, int) else codes.INTERNAL_ERROR,
                str(err.get("message", "")),
                err.get("data"),
            )
        return _dict(msg.get("result"))

    def cancel(self, call: Call, reason: str) -> None:
        """Stop waiting for `call` and tell the backend (notifications/cancelled)."""
        if self._pending.pop(call.backend_id, None) is None:
            return
        with contextlib.suppress(UnavailableError):
            self.notify("notifications/cancelled", {"requestId": call.backend_id, "reason": reason})

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.transport.send(notification(method, params))

    def respond(
        self, request_id: Any, *, result: dict[str, Any] | None = None, error: dict[str, Any] | None = None
    ) -> None:
        """Answer a request the backend sent us (sampling, elicitation, roots, ping)."""
        msg: Message = {"jsonrpc": "2.0", "id": request_id}
        if error is not None:
            msg["error"] = error
        else:
            msg["result"] = result if result is not None else {}
        with contextlib.suppress(UnavailableError):
            self.transport.send(msg)

    def internal_meta(self) -> dict[str, Any]:
        return self._internal_meta(self.protocol_version)

    def _internal_meta(self, version: str) -> dict[str, Any]:
        capabilities = self.settings.client_capabilities if self.settings.capabilities_in_meta else {}
        return modern_meta(version, CLIENT_INFO, capabilities)

    # -- receiving (MessageSink) -----------------------------------------------------------------

    def message_received(self, msg: Message) -> None:
        kind = kind_of(msg)
        if kind is Kind.RESPONSE:
            call = self._pending.pop(msg["id"], None) if isinstance(msg["id"], int) else None
            if call is not None:
                call.finish(msg)
            return
        if kind is Kind.NOTIFICATION:
            method = msg["method"]
            if method == "notifications/progress":
                token = params_of(msg).get("progressToken")
                call = self._pending.get(token) if isinstance(token, int) else None
                if call is not None:
                    call.push(msg)
                return
            if method == "notifications/subscriptions/acknowledged":
                return
            if self._is_own_listen_closing(msg):
                self._listen = None
                return
            self._events.upstream_notification(self, msg)
            return
        if kind is Kind.REQUEST:
            self._events.upstream_request(self, msg)
            return
        log.warning("%s: ignoring a message that is not JSON-RPC: %.200s", self.name, msg)

    def message_lost(self, request_id: object, reason: str) -> None:
        call = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if call is not None:
            call.finish(
                {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {"code": codes.INTERNAL_ERROR, "message": f"server {self.name!r}: {reason}"},
                }
            )

    def transport_closed(self, reason: str) -> None:
        self.close_reason = reason
        self._fail_pending(reason)
        self._closed.set()
        self._events.upstream_closed(self, reason)

    def _is_own_listen_closing(self, msg: Message) -> bool:
        listen = self._listen
        if listen is None or msg["method"] != "notifications/cancelled":
            return False
        meta = _dict(params_of(msg).get("_meta"))
        return (
            meta.get(META_SUBSCRIPTION_ID) == listen.backend_id
            or params_of(msg).get("requestId") == listen.backend_id
        )

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for backend_id, call in pending.items():
            call.finish(
                {
                    "jsonrpc": "2.0",
                    "id": backend_id,
                    "error": {
                        "code": codes.BACKEND_UNAVAILABLE,
                        "message": f"server {self.name!r} is unavailable: {reason}",
                    },
                }
            )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
