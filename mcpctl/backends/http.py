"""An MCP server at a URL: Streamable HTTP in both eras, with the 2024-11-05 HTTP+SSE fallback."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urljoin

import httpx

from mcpctl.backends.base import MessageSink
from mcpctl.errors import McpctlError, UnavailableError
from mcpctl.protocol import codes
from mcpctl.protocol.eras import LATEST_LEGACY, MODERN_ERROR_CODES, is_modern_request
from mcpctl.protocol.headers import param_headers, standard_headers
from mcpctl.protocol.jsonrpc import Kind, Message, ParseError, dumps, kind_of, params_of, parse_message
from mcpctl.protocol.sse import SSEDecoder

log = logging.getLogger(__name__)

HeaderSource = Callable[[], Awaitable[Mapping[str, str]]]


@runtime_checkable
class Reauthorizer(Protocol):
    """A HeaderSource that can also react to a 401/403 (OAuth: refresh, step up): True means
    "retry the request now"; it may raise an McpctlError that then answers the request."""

    async def unauthorized(self, status: int, challenge: str) -> bool: ...


ACCEPT = "application/json, text/event-stream"
# A legacy stream that ends before its response is resumed with GET + Last-Event-ID this often.
MAX_RESUMES = 5
MAX_RECONNECT_MS = 30_000  # a server's `retry:` is honoured up to this


class HttpTransport:
    """Posts each message to the MCP endpoint and feeds whatever comes back to the sink.

    The era of each request is visible in the message itself (2026-07-28 requests carry
    `_meta` protocolVersion), so one transport follows whichever era the Upstream chose:
    modern requests get the mirrored `MCP-Protocol-Version`/`Mcp-Method`/`Mcp-Name`
    (and `Mcp-Param-*`) headers; legacy ones the session id from `initialize`. An expired
    session (404, or an SDK server's 400 "no valid session") is re-initialized transparently and
    the request retried once.
    """

    def __init__(
        self,
        url: str,
        sink: MessageSink,
        *,
        headers: Mapping[str, str] | None = None,
        auth: HeaderSource | None = None,
        mode: Literal["auto", "streamable-http", "sse"] = "auto",
        connect_timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self._sink = sink
        self._static = dict(headers or {})
        self._auth = auth
        self._mode = mode
        self._timeout = httpx.Timeout(connect_timeout, read=None)
        self._client = client
        self._own_client = client is None
        self._tasks: dict[object, asyncio.Task[None]] = {}  # in-flight POSTs by request id
        self._modern_ids: dict[object, bool] = {}  # which of them are 2026-07-28 requests
        self._background: set[asyncio.Task[None]] = set()  # notifications and responses being sent
        self._streams: set[asyncio.Task[None]] = set()  # long-lived GET streams
        self._closed = False
        # legacy state
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._initialize: Message | None = None
        self._reinitializing: asyncio.Lock = asyncio.Lock()
        # 2024-11-05 HTTP+SSE: the POST endpoint announced on the GET stream
        self._sse_endpoint: str | None = None
        self._sse_ready: asyncio.Event = asyncio.Event()
        # inputSchemas of the server's tools, for the Mcp-Param-* headers (see tools_listed)
        self.tool_schemas: dict[str, object] = {}

    @property
    def pid(self) -> int | None:
        return None

    def describe(self) -> str:
        return self.url

    def tools_listed(self, tools: list[dict[str, Any]]) -> None:
        """Remember the tools' inputSchemas: 2026-07-28 calls mirror x-mcp-header arguments."""
        self.tool_schemas = {t["name"]: t.get("inputSchema") for t in tools if isinstance(t.get("name"), str)}

    async def start(self) -> None:
        if self._client is None:
            # Building a verifying TLS context costs ~25 ms (CA bundle): skip it where no TLS is spoken.
            tls = self.url.startswith("https:")
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False, verify=tls)
        if self._mode == "sse":
            await self._open_legacy_sse()

    def send(self, msg: Message) -> None:
        if self._closed:
            raise UnavailableError(f"the connection to {self.url} is closed")
        kind = kind_of(msg)
        if kind is Kind.NOTIFICATION and msg["method"] == "notifications/cancelled":
            request_id = params_of(msg).get("requestId")
            task = self._tasks.get(request_id)
            if task is not None and self._modern_ids.get(request_id):
                task.cancel()  # 2026-07-28 over HTTP: closing the response stream is the cancellation
                return
        if kind is Kind.REQUEST:
            if msg["method"] == "initialize":
                self._initialize = msg
            self._modern_ids[msg["id"]] = is_modern_request(msg)
            task = asyncio.get_running_loop().create_task(self._request(msg))
            self._tasks[msg["id"]] = task
            task.add_done_callback(functools.partial(self._forget, msg["id"]))
        else:
            self._spawn(self._post_quietly(msg))

    async def close(self, grace: float | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._tasks.values():
            task.cancel()
        if self._background:
            # A notifications/cancelled queued just before closing must still reach the server.
            await asyncio.wait(self._background, timeout=min(grace or 1.0, 1.0))
        for task in [*self._background, *self._streams]:
            task.cancel()
        if self.session_id and self._client is not None and self._sse_endpoint is None:
            with contextlib.suppress(httpx.HTTPError, McpctlError):
                await self._client.delete(
                    self.url,
                    headers=await self._headers({"mcp-session-id": self.session_id}),
                    timeout=grace or 2.0,
                )
        if self._own_client and self._client is not None:
            await self._client.aclose()
        self._sink.transport_closed("the connection was closed")

    # -- requests ------------------------------------------------------------------------------

    async def _request(self, msg: Message) -> None:
        """POST one request; whatever happens, its id gets an answer (a response or an error)."""
        try:
            answered = await self._exchange(msg, retry_session=True)
        except asyncio.CancelledError:
            raise
        except httpx.HTTPError as exc:
            self._fail(msg, codes.BACKEND_UNAVAILABLE, f"cannot reach {self.url}: {_describe(exc)}")
            return
        except McpctlError as exc:  # from the auth source: no login, refresh refused, ...
            self._fail(msg, exc.jsonrpc_code, str(exc))
            return
        if not answered:
            self._fail(
                msg, codes.BACKEND_UNAVAILABLE, f"{self.url} closed the response stream without answering"
            )

    async def _exchange(self, msg: Message, *, retry_session: bool, retry_auth: bool = True) -> bool:
        """Send `msg`; True once its response reached the sink."""
        if self._sse_endpoint is not None:
            await self._post_legacy_sse(msg)
            return True  # the answer arrives on the SSE stream
        modern = is_modern_request(msg)
        headers = self._request_headers(msg, modern)
        assert self._client is not None
        request = self._client.build_request(
            "POST", self.url, content=dumps(msg), headers=await self._headers(headers)
        )
        response = await self._client.send(request, stream=True)
        try:
            status = response.status_code
            legacy_call = bool(self.session_id) and not modern and msg.get("method") != "initialize"
            if retry_session and legacy_call and await _session_gone(response):
                await response.aclose()
                await self._reinitialize()
                return await self._exchange(msg, retry_session=False)
            if msg.get("method") == "initialize" and status in (404, 405) and self._mode == "auto":
                await response.aclose()
                await self._open_legacy_sse()  # an old server: the 2024-11-05 transport
                await self._post_legacy_sse(msg)
                return True
            reauthorizer: object = self._auth
            if status in (401, 403) and retry_auth and isinstance(reauthorizer, Reauthorizer):
                await response.aread()  # the body is kept for the error answer, if it comes to that
                if await reauthorizer.unauthorized(status, response.headers.get("www-authenticate", "")):
                    await response.aclose()
                    return await self._exchange(msg, retry_session=retry_session, retry_auth=False)
            if status >= 400:
                await self._answer_error(msg, response, modern)
                return True
            if msg.get("method") == "initialize":
                self.session_id = response.headers.get("mcp-session-id")
            return await self._read_body(msg, response)
        finally:
            await response.aclose()

    def _request_headers(self, msg: Message, modern: bool) -> dict[str, str]:
        headers = {"accept": ACCEPT, "content-type": "application/json"}
        if modern:
            headers.update(standard_headers(msg))
            if msg.get("method") == "tools/call":
                params = params_of(msg)
                schema = self.tool_schemas.get(params.get("name", ""))
                arguments = params.get("arguments")
                if schema is not None and isinstance(arguments, dict):
                    headers.update(param_headers(schema, arguments))
        else:
            if self.session_id:
                headers["mcp-session-id"] = self.session_id
            if self.protocol_version:
                headers["mcp-protocol-version"] = self.protocol_version
        return headers

    async def _read_body(self, msg: Message, response: httpx.Response) -> bool:
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "text/event-stream":
            return await self._read_stream(msg, response)
        body = await response.aread()
        if not body.strip():
            return kind_of(msg) is not Kind.REQUEST
        try:
            reply = parse_message(body)
        except ParseError:
            self._fail(msg, codes.INTERNAL_ERROR, f"{self.url} answered with something that is not JSON-RPC")
            return True
        self._deliver(reply)
        return True

    async def _read_stream(self, msg: Message, response: httpx.Response) -> bool:
        """Read an SSE response; resume it with Last-Event-ID if it ends before the answer."""
        decoder = SSEDecoder()
        answered = await self._consume(msg, response, decoder)
        resumes = 0
        while (
            not answered and decoder.last_event_id is not None and resumes < MAX_RESUMES and self.session_id
        ):
            resumes += 1
            if decoder.reconnect_ms:  # the server said how long to wait before coming back
                await asyncio.sleep(min(decoder.reconnect_ms, MAX_RECONNECT_MS) / 1000)
            headers = await self._headers(
                {
                    "accept": "text/event-stream",
                    "mcp-session-id": self.session_id,
                    "last-event-id": decoder.last_event_id,
                }
            )
            assert self._client is not None
            async with self._client.stream("GET", self.url, headers=headers) as again:
                if again.status_code != 200:
                    return False
                answered = await self._consume(msg, again, decoder)
        return answered

    async def _consume(self, msg: Message, response: httpx.Response, decoder: SSEDecoder) -> bool:
        answered = False
        async for chunk in response.aiter_text():
            for event in decoder.feed(chunk):
                if event.event != "message" or not event.data.strip():
                    continue  # priming events and comments
                try:
                    reply = parse_message(event.data)
                except ParseError:
                    continue
                if kind_of(reply) is Kind.RESPONSE and reply.get("id") == msg.get("id"):
                    answered = True
                self._deliver(reply)
        return answered

    async def _answer_error(self, msg: Message, response: httpx.Response, modern: bool) -> None:
        """Turn an HTTP error into a JSON-RPC error for the request's id."""
        body = await response.aread()
        status = response.status_code
        if status in (401, 403):  # whatever the body says, the caller needs to know it was refused
            challenge = response.headers.get("www-authenticate", "")
            code = codes.UNAUTHORIZED if status == 401 else codes.FORBIDDEN
            detail = _error_message(body)
            text = f"{self.url} refused the request (HTTP {status}{': ' + detail if detail else ''})"
            self._fail(msg, code, text, {"status": status, "wwwAuthenticate": challenge})
            return
        reply: Message | None = None
        with contextlib.suppress(ParseError):
            reply = parse_message(body)
        error = reply.get("error") if reply else None
        if isinstance(error, dict) and (
            not modern or error.get("code") in MODERN_ERROR_CODES or status != 404
        ):
            if reply is not None and reply.get("id") is None and "id" in msg:
                reply = {**reply, "id": msg["id"]}
            if reply is not None and kind_of(reply) is Kind.RESPONSE:
                self._deliver(reply)
                return
        # Not a modern JSON-RPC error: for a modern probe this means "a legacy server".
        self._fail(msg, codes.INVALID_REQUEST, f"{self.url} answered HTTP {status}", {"status": status})

    async def _reinitialize(self) -> None:
        """The server forgot our session (it restarted): shake hands again, quietly."""
        async with self._reinitializing:
            if self._initialize is None:
                return
            stale = self.session_id
            assert self._client is not None
            response = await self._client.post(
                self.url,
                content=dumps(self._initialize),
                headers=await self._headers({"accept": ACCEPT, "content-type": "application/json"}),
            )
            if response.status_code >= 400:
                return
            self.session_id = response.headers.get("mcp-session-id") or stale
            await self._post_quietly({"jsonrpc": "2.0", "method": "notifications/initialized"})
            log.info("%s: session expired; re-initialized", self.url)

    # -- responses from the Upstream, notifications ---------------------------------------------

    async def _post_quietly(self, msg: Message) -> None:
        """A notification or a response to the server: fire and forget (errors are logged)."""
        try:
            if self._sse_endpoint is not None:
                await self._post_legacy_sse(msg)
                return
            assert self._client is not None
            headers = await self._headers(self._request_headers(msg, is_modern_request(msg)))
            response = await self._client.post(self.url, content=dumps(msg), headers=headers)
            if response.status_code >= 400:
                log.debug(
                    "%s: %s answered HTTP %d", self.url, msg.get("method", "response"), response.status_code
                )
            elif msg.get("method") == "notifications/initialized" and self.session_id:
                self._spawn(self._listen_legacy(), stream=True)
        except (httpx.HTTPError, McpctlError) as exc:
            log.debug("%s: could not send %s: %s", self.url, msg.get("method", "a response"), exc)

    async def _listen_legacy(self) -> None:
        """The legacy GET stream: server-initiated messages (list changes, logs, requests)."""
        last_event: str | None = None
        while not self._closed and self.session_id:
            headers = {"accept": "text/event-stream", "mcp-session-id": self.session_id}
            if last_event:
                headers["last-event-id"] = last_event
            try:
                assert self._client is not None
                async with self._client.stream(
                    "GET", self.url, headers=await self._headers(headers)
                ) as response:
                    if response.status_code != 200:
                        return  # 405: this server offers no GET stream
                    decoder = SSEDecoder()
                    async for chunk in response.aiter_text():
                        for event in decoder.feed(chunk):
                            if event.data.strip():
                                with contextlib.suppress(ParseError):
                                    self._deliver(parse_message(event.data))
                    last_event = decoder.last_event_id
            except httpx.HTTPError:
                pass
            except McpctlError as exc:  # credentials gone: the POSTs will report it
                log.debug("%s: GET stream stopped: %s", self.url, exc.message)
                return
            await asyncio.sleep(1.0)  # the stream dropped: reconnect after a pause

    # -- the 2024-11-05 HTTP+SSE transport ------------------------------------------------------

    async def _open_legacy_sse(self) -> None:
        self._spawn(self._run_legacy_sse(), stream=True)
        try:
            await asyncio.wait_for(self._sse_ready.wait(), self._timeout.connect or 10.0)
        except TimeoutError:
            raise UnavailableError(f"{self.url}: no endpoint event on the SSE stream") from None
        if self._sse_endpoint is None:
            raise UnavailableError(f"{self.url} speaks neither Streamable HTTP nor HTTP+SSE")

    async def _run_legacy_sse(self) -> None:
        assert self._client is not None
        try:
            headers = await self._headers({"accept": "text/event-stream"})
            async with self._client.stream("GET", self.url, headers=headers) as response:
                if response.status_code != 200:
                    self._sse_ready.set()
                    return
                decoder = SSEDecoder()
                async for chunk in response.aiter_text():
                    for event in decoder.feed(chunk):
                        if event.event == "endpoint":
                            self._sse_endpoint = urljoin(self.url, event.data.strip())
                            self._sse_ready.set()
                        elif event.data.strip():
                            with contextlib.suppress(ParseError):
                                self._deliver(parse_message(event.data))
        except (httpx.HTTPError, McpctlError) as exc:
            log.info("%s: SSE stream failed: %s", self.url, exc)
        finally:
            self._sse_ready.set()
            if self._sse_endpoint is not None and not self._closed:
                # In this transport the stream is the session: when it ends, the connection is gone.
                self._closed = True
                self._sink.transport_closed("the server closed its SSE stream")

    async def _post_legacy_sse(self, msg: Message) -> None:
        assert self._client is not None
        assert self._sse_endpoint is not None
        response = await self._client.post(
            self._sse_endpoint,
            content=dumps(msg),
            headers=await self._headers({"content-type": "application/json"}),
        )
        if response.status_code >= 400 and kind_of(msg) is Kind.REQUEST:
            self._fail(
                msg, codes.INVALID_REQUEST, f"{self._sse_endpoint} answered HTTP {response.status_code}"
            )

    # -- helpers -------------------------------------------------------------------------------

    async def _headers(self, headers: dict[str, str]) -> dict[str, str]:
        merged = {**self._static, **headers}
        if self._auth is not None:
            merged.update(await self._auth())
        return merged

    def _deliver(self, reply: Message) -> None:
        if reply.get("id") is not None and "result" in reply and self._initialize is not None:
            result = reply["result"]
            if reply["id"] == self._initialize.get("id") and isinstance(result, dict):
                version = result.get("protocolVersion")
                self.protocol_version = version if isinstance(version, str) else LATEST_LEGACY
        self._sink.message_received(reply)

    def _fail(self, msg: Message, code: int, message: str, data: Any = None) -> None:
        if kind_of(msg) is not Kind.REQUEST:
            return
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        self._sink.message_received({"jsonrpc": "2.0", "id": msg["id"], "error": error})

    def _forget(self, request_id: object, _done: object = None) -> None:
        self._tasks.pop(request_id, None)
        self._modern_ids.pop(request_id, None)

    def _spawn(self, coro: Coroutine[Any, Any, None], *, stream: bool = False) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        tasks = self._streams if stream else self._background
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def _session_gone(response: httpx.Response) -> bool:
    """The server no longer knows our session: 404 as the spec says, or the 400 "no valid session
    ID" that widespread SDK servers answer instead (a client that waits for 404 never recovers)."""
    if response.status_code == 404:
        return True
    if response.status_code != 400:
        return False
    return "session" in _error_message(await response.aread()).lower()


def _error_message(body: bytes) -> str:
    """The JSON-RPC error message in an HTTP error body, if there is one."""
    try:
        error = parse_message(body).get("error")
    except ParseError:
        return ""
    message = error.get("message") if isinstance(error, dict) else None
    return message[:200] if isinstance(message, str) else ""


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]
