"""One client session with an MCP server: handshake, lists, and requests with progress and MRTR."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mcpctl.backends.base import MessageSink, Transport
from mcpctl.client.errors import InputError, error_from_rpc
from mcpctl.errors import BackendTimeoutError, McpctlError, ProtocolError, RemoteError, UnavailableError
from mcpctl.gateway.calls import Call
from mcpctl.gateway.upstream import CLIENT_INFO, Upstream, UpstreamSettings
from mcpctl.protocol import codes
from mcpctl.protocol.eras import META_LOG_LEVEL, MRTR_METHODS, Era, modern_meta
from mcpctl.protocol.jsonrpc import Message, params_of, request

log = logging.getLogger(__name__)

# A server that keeps answering input_required must not hold a command open forever.
MAX_INPUT_ROUNDS = 10
# The level of log notifications a 2026-07-28 request asks for (legacy servers decide themselves).
LOG_LEVEL = "warning"
_CANCEL_GRACE = 2.0  # seconds to let a child or stream wind down after the command is done


class Answerer(Protocol):
    """Answers what a server asks during a request (elicitation, roots, sampling, ping)."""

    def capabilities(self) -> dict[str, Any]: ...

    async def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]: ...


class Credentials(Protocol):
    """Headers for an HTTP server; `upgrade` is awaited when the handshake is refused and says
    whether there is something new to retry with."""

    async def __call__(self) -> dict[str, str]: ...

    async def upgrade(self) -> bool: ...


@dataclass(frozen=True)
class Endpoint:
    """What to connect to: a label for messages, the era to speak and how to build the transport."""

    label: str
    transport_factory: Callable[[MessageSink], Transport]
    era: Literal["auto", "legacy", "modern"] = "auto"
    probe_timeout: float = 3.0
    credentials: Credentials | None = None


Progress = Callable[[dict[str, Any]], None]
LogSink = Callable[[dict[str, Any]], None]


class ClientSession:
    """A connected Upstream used as a client: requests wait in place, server requests get answered.

    Use as `async with ClientSession(...) as session:`; leaving the block closes the transport
    (the child process, or the HTTP session) within a short grace time.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        answerer: Answerer,
        *,
        on_log: LogSink | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self._answerer = answerer
        self._on_log = on_log
        self._startup_timeout = startup_timeout
        self._active: set[Call] = set()
        self._failure: McpctlError | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        settings = UpstreamSettings(
            name=endpoint.label,
            era=endpoint.era,
            probe_timeout=endpoint.probe_timeout,
            client_capabilities=answerer.capabilities(),
            capabilities_in_meta=True,
        )
        self.upstream = Upstream(settings, endpoint.transport_factory, self)

    async def __aenter__(self) -> ClientSession:
        try:
            await self.open()
        except BaseException:
            await self.close()  # a child that started but failed the handshake must not linger
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Start the transport and shake hands; refused, retry once with credentials if there are any."""
        try:
            await self.upstream.transport.start()
            try:
                await self._handshake()
            except RemoteError:
                # A 401 may come as any JSON-RPC error (an auth layer picks its own code): whatever
                # the refusal, a key that was not sent yet is worth one more try.
                credentials = self.endpoint.credentials
                if credentials is None or not await credentials.upgrade():
                    raise
                await self._handshake()
        except RemoteError as exc:
            raise self._explain(
                error_from_rpc(exc.jsonrpc_code, exc.message, exc.data, self.endpoint.label)
            ) from exc
        except ProtocolError as exc:
            raise ProtocolError(f"{self.endpoint.label}: {exc.message}") from exc
        except UnavailableError as exc:
            raise self._explain(exc) from exc

    async def _handshake(self) -> None:
        try:
            await asyncio.wait_for(self.upstream.handshake(), self._startup_timeout)
        except TimeoutError:
            raise BackendTimeoutError(
                f"{self.endpoint.label} did not finish the handshake within {self._startup_timeout:g}s"
            ) from None

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.upstream.close(_CANCEL_GRACE)

    @property
    def era(self) -> Era | None:
        return self.upstream.era

    @property
    def server_info(self) -> dict[str, Any]:
        return self.upstream.server_info

    # -- requests ------------------------------------------------------------------------------

    async def list(self, kind: str) -> list[dict[str, Any]]:
        """Every page of tools, prompts, resources or resourceTemplates (empty if not offered)."""
        try:
            lists = await self.upstream.refresh_lists((kind,))
        except RemoteError as exc:
            raise self._explain(
                error_from_rpc(exc.jsonrpc_code, exc.message, exc.data, self.endpoint.label)
            ) from exc
        return lists[kind]

    async def request(
        self, method: str, params: dict[str, Any], *, within: float, on_progress: Progress | None = None
    ) -> dict[str, Any]:
        """Send a request and wait up to `within` seconds for its result, answering input_required
        rounds (MRTR) on the way; the time a person takes to answer counts too.

        Raises McpctlError subclasses for errors; Ctrl-C (cancellation) cancels the request at
        the server before it propagates.
        """
        deadline = time.monotonic() + within
        current = dict(params)
        for _ in range(MAX_INPUT_ROUNDS + 1):
            result = await self._exchange(
                method, self._with_meta(current, on_progress is not None), deadline, on_progress
            )
            if result.get("resultType") != "input_required":
                return result
            if method not in MRTR_METHODS:
                raise ProtocolError(
                    f"{self.endpoint.label} answered {method} with input_required, which only "
                    "tools/call, prompts/get and resources/read may do"
                )
            current = {**params, "inputResponses": await self._answer_all(result.get("inputRequests"))}
            state = result.get("requestState")
            if isinstance(state, str):
                current["requestState"] = state  # echoed exactly, never inspected
        raise ProtocolError(
            f"{self.endpoint.label} still asked for input after {MAX_INPUT_ROUNDS} rounds; giving up"
        )

    def _with_meta(self, params: dict[str, Any], progress: bool) -> dict[str, Any]:
        meta = dict(params.get("_meta") or {})
        if progress:
            meta["progressToken"] = 1  # the Upstream rewrites it to the request's own id
        if self.upstream.era is Era.MODERN:
            meta.update(
                modern_meta(self.upstream.protocol_version, CLIENT_INFO, self._answerer.capabilities())
            )
            meta[META_LOG_LEVEL] = LOG_LEVEL
        out = dict(params)
        if meta:
            out["_meta"] = meta
        return out

    async def _answer_all(self, requests: object) -> dict[str, Any]:
        if not isinstance(requests, dict):
            return {}
        answers: dict[str, Any] = {}
        for key, asked in requests.items():  # one at a time: a person answers them in turn
            method = asked.get("method") if isinstance(asked, dict) else None
            if not isinstance(method, str):
                raise ProtocolError(f"{self.endpoint.label} sent an input request {key!r} without a method")
            answers[key] = await self._answerer.answer(method, params_of(asked))
        return answers

    async def _exchange(
        self, method: str, params: dict[str, Any], deadline: float, on_progress: Progress | None
    ) -> dict[str, Any]:
        call = Call(None, None, method, self.endpoint.label)
        try:
            self.upstream.forward(call, request(0, method, params))
        except UnavailableError as exc:
            raise self._explain(exc) from exc
        self._active.add(call)
        try:
            while True:
                item = await call.next(max(deadline - time.monotonic(), 0.0))
                if item is None:
                    self.upstream.cancel(call, "timed out")
                    raise BackendTimeoutError(
                        f"{self.endpoint.label} did not answer {method} in time (see --timeout)"
                    )
                msg, final = item
                if final:
                    break
                if msg.get("method") == "notifications/progress" and on_progress is not None:
                    on_progress(params_of(msg))
        except asyncio.CancelledError:
            self.upstream.cancel(call, "cancelled by the user")
            raise
        finally:
            self._active.discard(call)
        if self._failure is not None:
            self.upstream.cancel(call, "the client could not answer the server's request")
            raise self._failure
        error = msg.get("error")
        if error is not None:
            err = error if isinstance(error, dict) else {}
            code = err.get("code")
            number = code if isinstance(code, int) else codes.INTERNAL_ERROR
            message = str(err.get("message", ""))
            raise self._explain(error_from_rpc(number, message, err.get("data"), self.endpoint.label))
        result = msg.get("result")
        if not isinstance(result, dict):
            raise ProtocolError(
                f"{self.endpoint.label} answered {method} with a result that is not an object"
            )
        return result

    def _explain(self, exc: McpctlError) -> McpctlError:
        """Add what a stdio child printed last, when it is the reason the server is unavailable."""
        if not isinstance(exc, UnavailableError):
            return exc
        stderr = getattr(self.upstream.transport, "stderr", None)
        tail = stderr.tail(5) if stderr is not None else []
        if not tail:
            return exc
        lines = "\n".join(f"  | {line}" for line in tail)
        return type(exc)(f"{exc.message}\n  last lines the server printed on stderr:\n{lines}", hint=exc.hint)

    # -- UpstreamEvents ------------------------------------------------------------------------

    def upstream_notification(self, upstream: Upstream, msg: Message) -> None:
        if msg["method"] == "notifications/message" and self._on_log is not None:
            self._on_log(params_of(msg))

    def upstream_request(self, upstream: Upstream, msg: Message) -> None:
        """A legacy server->client request: answered in a task (a person may take a while)."""
        task = asyncio.get_running_loop().create_task(self._respond(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def upstream_closed(self, upstream: Upstream, reason: str) -> None:
        return None  # pending requests were failed with the reason already

    async def _respond(self, msg: Message) -> None:
        method = msg["method"]
        try:
            result = await self._answerer.answer(method, params_of(msg))
        except InputError as exc:
            # We cannot answer: tell the server (so it unwinds) and fail the request in progress.
            self.upstream.respond(msg["id"], error={"code": exc.jsonrpc_code, "message": exc.message})
            self._fail_active(exc)
        except RemoteError as exc:  # a refusal the server should hear about (e.g. sampling)
            self.upstream.respond(msg["id"], error={"code": exc.jsonrpc_code, "message": exc.message})
        except McpctlError as exc:
            self.upstream.respond(msg["id"], error={"code": codes.INTERNAL_ERROR, "message": exc.message})
            self._fail_active(exc)
        else:
            self.upstream.respond(msg["id"], result=result)

    def _fail_active(self, exc: McpctlError) -> None:
        self._failure = exc
        for call in list(self._active):
            with contextlib.suppress(Exception):
                call.finish(
                    {
                        "jsonrpc": "2.0",
                        "id": call.backend_id,
                        "error": {"code": codes.INTERNAL_ERROR, "message": exc.message},
                    }
                )
