"""The demo server: registrations plus the stdio loop, dispatching each request in its era."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final, NoReturn, TypeAlias

from mcpctl.demo import features, legacy, modern
from mcpctl.demo.context import Context
from mcpctl.demo.errors import InputRequired, McpError
from mcpctl.demo.framing import StdoutWriter, read_stdin, warn
from mcpctl.demo.legacy import LegacySession
from mcpctl.demo.modern import Listeners
from mcpctl.demo.registry import Registry
from mcpctl.demo.state import StateSealer
from mcpctl.demo.wire import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    LEGACY,
    LEGACY_VERSIONS,
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_PROTOCOL_VERSION,
    META_SUBSCRIPTION_ID,
    METHOD_NOT_FOUND,
    MODERN,
    MODERN_VERSIONS,
    MRTR_METHODS,
    PARSE_ERROR,
    Era,
    JsonObject,
    Request,
    RequestId,
    is_request_id,
)

MethodImpl: TypeAlias = Callable[[Context], Awaitable[JsonObject]]
# Sees every parsed request before dispatch; returning True drops it unanswered.
Interceptor: TypeAlias = Callable[[Request], bool]
# After end of input, requests still running get this long to answer (so `printf ... | server`
# works), while shutdown stays prompt.
EOF_GRACE_SECONDS: Final = 0.5
CANCEL_LOG_ENV: Final = "FIXTURE_CANCEL_LOG"
MODES: Final = ("dual", "legacy", "modern")


class Server(Registry):
    """Registrations plus the stdio event loop; `mode` is dual, legacy or modern."""

    def __init__(
        self,
        name: str,
        *,
        version: str = "1.0.0",
        mode: str = "dual",
        ttl_ms: int = 0,
        page_size: int = 0,
        instructions: str | None = None,
        state_key: bytes | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        super().__init__()
        self.info = {"name": name, "version": version}
        self.mode = mode
        self.ttl_ms = ttl_ms
        self.page_size = page_size
        self.instructions = instructions
        self.stdout_noise: str | None = None  # a non-JSON line written before every message
        self.interceptor: Interceptor | None = None
        self.session = LegacySession()
        self.sealer = StateSealer(state_key)
        self.listeners = Listeners()
        self._out: StdoutWriter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the running loop, once serving
        self._inflight: dict[RequestId, asyncio.Task[None]] = {}
        self._client_requests: dict[str, asyncio.Future[JsonObject]] = {}
        self._next_client_request = 0
        self._methods = _method_table(self.listeners)

    @classmethod
    def from_args(cls, args: argparse.Namespace, name: str, **kwargs: Any) -> Server:
        """Build from the common command-line options of arg_parser()."""
        return cls(args.name or name, mode=args.era, ttl_ms=args.ttl_ms, page_size=args.page_size, **kwargs)

    def knows(self, method: str, era: Era) -> bool:
        """Whether `method` exists for `era` given what is registered."""
        entry = self._methods.get(method)
        return entry is not None and era in entry[0] and (entry[1] is None or entry[1] in self.capabilities())

    @property
    def supported_versions(self) -> list[str]:
        # A dual server lists its handshake versions too, so clients know initialize works as well.
        by_mode = {
            "dual": MODERN_VERSIONS + LEGACY_VERSIONS,
            "legacy": LEGACY_VERSIONS,
            "modern": MODERN_VERSIONS,
        }
        return list(by_mode[self.mode])

    # -- messages to the client --------------------------------------------

    def send(self, message: JsonObject) -> None:
        if self._out is not None:
            self._out.send(message)

    def send_notification(self, method: str, params: JsonObject | None = None) -> None:
        message: JsonObject = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def notify_list_changed(self, kind: str) -> None:
        """kind is tools, prompts or resources: tell the legacy session and opted-in listeners."""
        method = f"notifications/{kind}/list_changed"
        if self.session.version is not None:
            self.send_notification(method)
        for listener_id in self.listeners.for_list(kind):
            self.send_notification(method, {"_meta": {META_SUBSCRIPTION_ID: listener_id}})

    def notify_resource_updated(self, uri: str) -> None:
        if self.session.version is not None and uri in self.session.subscriptions:
            self.send_notification("notifications/resources/updated", {"uri": uri})
        for listener_id in self.listeners.for_resource(uri):
            meta = {META_SUBSCRIPTION_ID: listener_id}
            self.send_notification("notifications/resources/updated", {"_meta": meta, "uri": uri})

    def end_subscriptions(self) -> int:
        """Gracefully close every open subscriptions/listen (each gets its final response)."""
        return self.listeners.end_all()

    async def request_client(self, method: str, params: JsonObject) -> JsonObject:
        """Legacy server->client request; returns the client's result or raises its error as McpError."""
        self._next_client_request += 1
        request_id = f"fixture-{self._next_client_request}"  # own namespace: never a client id
        future: asyncio.Future[JsonObject] = asyncio.get_running_loop().create_future()
        self._client_requests[request_id] = future
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            return await future
        except asyncio.CancelledError:
            # Our own request became pointless: tell the client, as the legacy spec allows either side to.
            if future.cancelled():  # no answer yet (task.cancel() cancels the awaited future too)
                reason = "the request that asked was cancelled"
                self.send_notification("notifications/cancelled", {"requestId": request_id, "reason": reason})
            raise
        finally:
            self._client_requests.pop(request_id, None)

    # -- the loop ---------------------------------------------------------------

    def run(self) -> NoReturn:
        """Serve stdin/stdout until end of input, then exit 0."""
        try:
            code = asyncio.run(self._serve())
        except KeyboardInterrupt:
            code = 130
        if self._out is not None:
            self._out.flush()  # what tasks cancelled as the loop closed still said
        sys.stdout.flush()
        sys.stderr.flush()
        # os._exit: do not wait on the stdin reader thread, which may sit in a blocking read.
        os._exit(code)

    async def _serve(self) -> int:
        self._loop = loop = asyncio.get_running_loop()
        reads: asyncio.Queue[list[bytes] | None] = asyncio.Queue()
        self._out = out = StdoutWriter(self.stdout_noise, loop)
        threading.Thread(
            target=read_stdin,
            args=(lambda lines: loop.call_soon_threadsafe(reads.put_nowait, lines),),
            daemon=True,
        ).start()
        while (lines := await reads.get()) is not None and not out.broken:
            for line in lines:
                self._on_line(line)
        await self._shutdown()
        out.flush()
        return 0

    async def _shutdown(self) -> None:
        for future in self._client_requests.values():
            if not future.done():
                future.set_exception(McpError(INTERNAL_ERROR, "client closed the connection"))
        for listener_id in self.listeners.ids():
            task = self._inflight.get(listener_id)
            if task is not None:
                task.cancel()
        pending = list(self._inflight.values())
        if pending:
            _, still_running = await asyncio.wait(pending, timeout=EOF_GRACE_SECONDS)
            for task in still_running:
                task.cancel()
            await asyncio.gather(*still_running, return_exceptions=True)

    def _on_line(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):  # ValueError covers JSONDecodeError and bad UTF-8
            self.send(
                {"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": "Parse error"}}
            )
            return
        if not isinstance(message, dict):
            self._invalid(None, "a message must be a JSON object (batches are not supported)")
        elif "method" in message:
            self._on_request_or_notification(message)
        elif "result" in message or "error" in message:
            self._on_response(message)
        else:
            self._invalid(message.get("id"), "not a request, notification or response")

    def _invalid(self, request_id: object, why: str) -> None:
        error = {"code": INVALID_REQUEST, "message": f"Invalid Request: {why}"}
        self.send({"jsonrpc": "2.0", "id": request_id if is_request_id(request_id) else None, "error": error})

    def _on_request_or_notification(self, message: JsonObject) -> None:
        method, params = message["method"], message.get("params", {})
        has_id = "id" in message
        if message.get("jsonrpc") != "2.0" or not isinstance(method, str):
            if has_id:
                self._invalid(message["id"], 'jsonrpc must be "2.0" and method a string')
            return
        if has_id and not is_request_id(message["id"]):
            self._invalid(None, "id must be a string or an integer")
            return
        if not isinstance(params, dict):
            if has_id:
                error = {"code": INVALID_PARAMS, "message": "params must be an object"}
                self.send({"jsonrpc": "2.0", "id": message["id"], "error": error})
            return
        if not has_id:
            self._on_notification(method, params)
            return
        request = Request(message["id"], method, params)
        if self.interceptor is not None and self.interceptor(request):
            return
        if request.id in self._inflight:
            warn(
                f"request id {request.id!r} reused while in flight; cancelling it now hits the newer one",
                tag=self.info["name"],
            )
        task = _start(self._handle(request), self._loop or asyncio.get_running_loop())
        if not task.done():  # answered at once: nothing in flight to cancel or forget
            self._inflight[request.id] = task  # until _respond (or, when cancelled, its end)

    def _forget(self, request_id: RequestId, task: asyncio.Task[None] | None) -> None:
        if task is not None and self._inflight.get(request_id) is task:
            del self._inflight[request_id]

    def _on_notification(self, method: str, params: JsonObject) -> None:
        if method != "notifications/cancelled":
            return  # initialized, roots/list_changed, ...: nothing to do
        request_id = params.get("requestId")
        if not is_request_id(request_id):
            return
        task = self._inflight.get(request_id)
        if task is None or task.done():
            return  # unknown or finished: ignoring it is what the spec asks
        task.cancel()
        # A cancelled request is never answered, so it is forgotten when its task ends.
        task.add_done_callback(lambda done: self._forget(request_id, done))
        # A cancelled listen stops listening now, not when its task next runs: a request that
        # follows may start (and end_subscriptions count it) before then.
        self.listeners.discard(request_id)
        log_path = os.environ.get(CANCEL_LOG_ENV)
        if log_path:  # lets tests prove that a cancellation really reached this process
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(f"cancelled {request_id}\n")

    def _on_response(self, message: JsonObject) -> None:
        request_id = message.get("id")
        future = self._client_requests.get(request_id) if isinstance(request_id, str) else None
        if future is None or future.done():
            warn(f"ignoring a response to unknown request {request_id!r}", tag=self.info["name"])
            return
        if "error" in message:
            error = message["error"] if isinstance(message["error"], dict) else {}
            code = error.get("code", INTERNAL_ERROR)
            future.set_exception(McpError(code, str(error.get("message", "client error")), error.get("data")))
        elif isinstance(message["result"], dict):
            future.set_result(message["result"])
        else:
            future.set_exception(McpError(INVALID_PARAMS, "the client's result is not an object"))

    # -- dispatch -------------------------------------------------------------

    def _era_of(self, request: Request) -> Era:
        if self.mode == "legacy":
            return LEGACY
        if self.mode == "modern":
            return MODERN
        meta = request.params.get("_meta")
        if isinstance(meta, dict) and any(
            key in meta for key in (META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES, META_CLIENT_INFO)
        ):
            return MODERN
        entry = self._methods.get(request.method)
        if entry is not None and len(entry[0]) == 1:
            # initialize, ping, logging/setLevel, resources/(un)subscribe are legacy-only;
            # server/discover and subscriptions/listen without _meta are malformed modern requests.
            return next(iter(entry[0]))
        # After initialize the process speaks legacy; before it, a bare request is a malformed modern one.
        return LEGACY if self.session.version is not None else MODERN

    async def _handle(self, request: Request) -> None:
        era = MODERN
        ctx: Context | None = None
        try:
            era = self._era_of(request)
            if era is MODERN:
                modern.check_meta(request, self.mode, self.supported_versions)
            ctx = Context(self, request, era)
            result = await self._dispatch(ctx)
        except InputRequired as signal:
            if era is LEGACY:  # legacy clients cannot retry; ask() makes a real request there
                error = McpError(INTERNAL_ERROR, "InputRequired raised while serving a legacy request")
                self._respond(request, {"error": error.to_json()}, ctx)
                return
            result = signal.to_result()
        except McpError as error:
            self._respond(request, {"error": error.to_json()}, ctx)
            return
        except asyncio.CancelledError:
            raise  # cancelled by the client (or shutdown): a cancelled request gets no response
        except Exception as exc:  # any handler bug becomes an internal error
            traceback.print_exc()
            self._respond(
                request, {"error": {"code": INTERNAL_ERROR, "message": f"Internal error: {exc}"}}, ctx
            )
            return
        if era is MODERN:
            result = modern.stamp_result(request.method, result, self.info, self.ttl_ms)
        self._respond(request, {"result": result}, ctx)

    def _respond(self, request: Request, body: JsonObject, ctx: Context | None) -> None:
        if ctx is not None:
            ctx.done = True
        # Answered: no longer in flight. Forgotten here rather than in a done callback, which would
        # cost every request a turn of the loop. (On 3.12 and later, what is answered at once was
        # never in flight.)
        if self._inflight:
            self._forget(request.id, asyncio.current_task())
        self.send({"jsonrpc": "2.0", "id": request.id, **body})

    async def _dispatch(self, ctx: Context) -> JsonObject:
        method = ctx.request.method
        if not self.knows(method, ctx.era):
            raise McpError(METHOD_NOT_FOUND, f"Method not found: {method}")
        _, _, impl = self._methods[method]
        if ctx.era is MODERN and method in MRTR_METHODS:
            ctx.load_input()
        return await impl(ctx)


if sys.version_info >= (3, 12):

    def _start(handling: Coroutine[Any, Any, None], loop: asyncio.AbstractEventLoop) -> asyncio.Task[None]:
        """A task that runs at once, here, until it first waits: most requests are answered
        without waiting, and then cost no turn of the event loop to start."""
        return asyncio.Task(handling, loop=loop, eager_start=True)

else:

    def _start(handling: Coroutine[Any, Any, None], loop: asyncio.AbstractEventLoop) -> asyncio.Task[None]:
        return loop.create_task(handling)


def _method_table(listeners: Listeners) -> dict[str, tuple[frozenset[Era], str | None, MethodImpl]]:
    """Method -> (the eras it exists in, the capability it needs, its implementation)."""
    both, legacy_only, modern_only = frozenset(Era), frozenset({LEGACY}), frozenset({MODERN})
    return {
        "initialize": (legacy_only, None, legacy.initialize),
        "ping": (legacy_only, None, legacy.ping),
        "logging/setLevel": (legacy_only, "logging", legacy.set_level),
        "server/discover": (modern_only, None, modern.discover),
        "subscriptions/listen": (modern_only, None, listeners.listen),
        "tools/list": (both, "tools", features.list_tools),
        "tools/call": (both, "tools", features.call_tool),
        "prompts/list": (both, "prompts", features.list_prompts),
        "prompts/get": (both, "prompts", features.get_prompt),
        "resources/list": (both, "resources", features.list_resources),
        "resources/templates/list": (both, "resources", features.list_templates),
        "resources/read": (both, "resources", features.read_resource),
        "resources/subscribe": (legacy_only, "resources", legacy.subscribe),
        "resources/unsubscribe": (legacy_only, "resources", legacy.unsubscribe),
        "completion/complete": (both, "completions", features.complete),
    }
