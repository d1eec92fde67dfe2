"""The CLI's session with an MCP server: a connection that answers the server's questions and MRTR rounds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mcpctl.backends.base import MessageSink, Transport
from mcpctl.client.errors import InputError, error_from_rpc
from mcpctl.errors import BackendTimeoutError, McpctlError, ProtocolError, RemoteError, UnavailableError
from mcpctl.mcpclient.connection import Connection, Settings
from mcpctl.protocol import codes
from mcpctl.protocol.eras import META_LOG_LEVEL, MODERN, MRTR_METHODS, Era
from mcpctl.protocol.jsonrpc import Message, params_of

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
    """A connection used as a client: requests wait in place, server requests get answered.

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
        self._answering: set[asyncio.Task[None]] = set()
        settings = Settings(
            name=endpoint.label,
            era=endpoint.era,
            probe_timeout=endpoint.probe_timeout,
            client_capabilities=answerer.capabilities(),
            capabilities_in_meta=True,
        )
        self.connection = Connection(settings, endpoint.transport_factory, self)

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
            await self.connection.transport.start()
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
            async with asyncio.timeout(self._startup_timeout):
                await self.connection.handshake()
        except TimeoutError:
            raise BackendTimeoutError(
                f"{self.endpoint.label} did not finish the handshake within {self._startup_timeout:g}s"
            ) from None

    async def close(self) -> None:
        for task in list(self._answering):
            task.cancel()
        await self.connection.close(_CANCEL_GRACE)

    @property
    def era(self) -> Era | None:
        return self.connection.era

    @property
    def server_info(self) -> dict[str, Any]:
        return self.connection.server_info

    # -- requests ------------------------------------------------------------------------------

    async def list(self, kind: str) -> list[dict[str, Any]]:
        """Every page of tools, prompts, resources or resourceTemplates (empty if not offered)."""
        try:
            lists = await self.connection.read_lists((kind,))
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
            result = await self._exchange(method, self._with_meta(current), deadline, on_progress)
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

    def _with_meta(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.connection.era is not MODERN:
            return params
        meta = dict(params.get("_meta") or {})
        meta[META_LOG_LEVEL] = LOG_LEVEL
        return {**params, "_meta": meta}

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
        timeout = max(deadline - time.monotonic(), 0.0)
        try:
            return await self.connection.request(method, params, timeout, on_progress)
        except BackendTimeoutError:
            raise BackendTimeoutError(
                f"{self.endpoint.label} did not answer {method} in time (see --timeout)"
            ) from None
        except RemoteError as exc:
            raise self._explain(
                error_from_rpc(exc.jsonrpc_code, exc.message, exc.data, self.endpoint.label)
            ) from exc
        except UnavailableError as exc:
            raise self._explain(exc) from exc

    def _explain(self, exc: McpctlError) -> McpctlError:
        """Add what a stdio child printed last, when it is the reason the server is unavailable."""
        if not isinstance(exc, UnavailableError):
            return exc
        stderr = getattr(self.connection.transport, "stderr", None)
        tail = stderr.tail(5) if stderr is not None else []
        if not tail:
            return exc
        lines = "\n".join(f"  | {line}" for line in tail)
        return type(exc)(f"{exc.message}\n  last lines the server printed on stderr:\n{lines}", hint=exc.hint)

    # -- what the server sends besides answers (mcpclient Handler) -------------------------------

    def message(self, connection: Connection, msg: Message) -> None:
        method = msg.get("method")
        if "id" in msg and isinstance(method, str):  # a legacy server->client request
            task = asyncio.get_running_loop().create_task(self._respond(msg))
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)
        elif method == "notifications/message" and self._on_log is not None:
            self._on_log(params_of(msg))

    def closed(self, connection: Connection, reason: str) -> None:
        return None  # waiting requests were failed with the reason already

    async def _respond(self, msg: Message) -> None:
        """Answer a server's request (a person may take a while); a failure to answer fails the request."""
        method = msg["method"]
        try:
            result = await self._answerer.answer(method, params_of(msg))
        except InputError as exc:
            # We cannot answer: tell the server (so it unwinds) and fail the request in progress.
            self.connection.respond(msg["id"], error={"code": exc.jsonrpc_code, "message": exc.message})
            self.connection.abort_requests(exc)
        except RemoteError as exc:  # a refusal the server should hear about (e.g. sampling)
            self.connection.respond(msg["id"], error={"code": exc.jsonrpc_code, "message": exc.message})
        except McpctlError as exc:
            self.connection.respond(msg["id"], error={"code": codes.INTERNAL_ERROR, "message": exc.message})
            self.connection.abort_requests(exc)
        else:
            self.connection.respond(msg["id"], result=result)
