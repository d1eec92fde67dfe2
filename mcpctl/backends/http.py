"""An MCP server at a URL: Streamable HTTP in both eras, with the 2024-11-05 HTTP+SSE fallback."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Coroutine, Mapping
from typing import Any, Literal

import httpx

from mcpctl.backends.base import MessageSink
from mcpctl.backends.httpanswers import (
    ACCEPT,
    error_reply,
    failure,
    read_answer_stream,
    relay_events,
    request_headers,
    session_gone,
)
from mcpctl.backends.httpauth import HeaderSource, Reauthorizer
from mcpctl.backends.idle import IdleCheck
from mcpctl.backends.oldsse import OldSseChannel
from mcpctl.errors import McpctlError, UnavailableError
from mcpctl.protocol import codes
from mcpctl.protocol.eras import LATEST_LEGACY, is_modern_request
from mcpctl.protocol.jsonrpc import (
    NOTIFICATION,
    REQUEST,
    Message,
    ParseError,
    dumps,
    kind_of,
    params_of,
    parse_message,
)
from mcpctl.reach import UNREACHABLE, describe

log = logging.getLogger(__name__)


class HttpTransport:
    """Posts each message to the MCP endpoint and feeds whatever comes back to the sink.

    Each request's era is in the message (2026-07-28 ones carry `_meta` protocolVersion), so one
    transport follows whichever era the connection chose: modern requests get the mirrored
    `MCP-Protocol-Version`/`Mcp-Method`/`Mcp-Name` (and `Mcp-Param-*`) headers; legacy ones the
    session id from `initialize`. An expired session (404, or an SDK server's 400 "no valid
    session") is re-initialized transparently and the request retried once.
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
        health_interval: float = 0.0,
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
        self._lost: str | None = None  # why the server cannot be reached any more, once it cannot
        self._reported = False  # transport_closed was called
        # an idle connection is checked now and then, so an outage shows before a call fails
        self._idle = IdleCheck(health_interval, self._check_alive, self._lose) if health_interval else None
        # legacy state
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._initialize: Message | None = None
        self._reinitializing: asyncio.Lock = asyncio.Lock()
        # set while no GET stream is being opened: calls wait for it, so none of its events is missed
        self._listening = asyncio.Event()
        self._listening.set()
        # 2024-11-05 HTTP+SSE: the POST endpoint announced on the GET stream
        self._old_sse: OldSseChannel | None = None
        # inputSchemas of the server's tools, for the Mcp-Param-* headers (see tools_listed)
        self.tool_schemas: dict[str, object] = {}

    @property
    def pid(self) -> int | None:
        return None

    def describe(self) -> str:
        return self.url

    def tools_listed(self, tools: list[dict[str, Any]]) -> None:
        self.tool_schemas = {t["name"]: t.get("inputSchema") for t in tools if isinstance(t.get("name"), str)}

    async def start(self) -> None:
        if self._client is None:
            # Building a verifying TLS context costs ~25 ms (CA bundle): skip it where no TLS is spoken.
            tls = self.url.startswith("https:")
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False, verify=tls)
        if self._mode == "sse":
            await self._open_old_sse()
        if self._idle is not None:
            self._spawn(self._idle.run(), stream=True)

    def send(self, msg: Message) -> None:
        if self._closed or self._lost is not None:
            raise UnavailableError(self._lost or f"the connection to {self.url} is closed")
        kind = kind_of(msg)
        if kind is NOTIFICATION and msg["method"] == "notifications/cancelled":
            request_id = params_of(msg).get("requestId")
            task = self._tasks.get(request_id)
            if task is not None and self._modern_ids.get(request_id):
                task.cancel()  # 2026-07-28 over HTTP: closing the response stream is the cancellation
                return
        if kind is NOTIFICATION and msg["method"] == "notifications/initialized" and self.session_id:
            self._listening.clear()  # the GET stream opens next: calls sent after this wait for it
        if kind is REQUEST:
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
        if self.session_id and self._client is not None and self._old_sse is None:
            with contextlib.suppress(httpx.HTTPError, McpctlError):
                await self._client.delete(
                    self.url,
                    headers=await self._headers({"mcp-session-id": self.session_id}),
                    timeout=grace or 2.0,
                )
        if self._own_client and self._client is not None:
            await self._client.aclose()
        self._report("the connection was closed")

    def _lose(self, reason: str) -> None:
        """The server cannot be reached (or its SSE stream, the session, ended): report it once, so
        the supervisor reconnects when it can and /ready tells the truth meanwhile."""
        if self._closed or self._lost is not None:
            return
        self._lost = reason
        log.info("%s", reason)
        self._report(reason)

    def _unreachable(self, exc: BaseException) -> str:
        reason = f"cannot reach {self.url}: {describe(exc)}"
        self._lose(reason)
        return reason

    def _answered(self) -> None:
        if self._idle is not None:
            self._idle.answered()

    def _report(self, reason: str) -> None:
        if not self._reported:
            self._reported = True
            self._sink.transport_closed(reason)

    async def _check_alive(self) -> None:
        """Any HTTP answer means someone is there (a GET without a session: 405, 400 or 406 will do)."""
        if self._old_sse is not None:
            return  # the open SSE stream is the check: it ends when the server goes
        assert self._client is not None
        # No credentials from the auth source (no token refresh for a check): a 401 is an answer too.
        headers = {**self._static, "accept": "application/json"}
        async with self._client.stream("GET", self.url, headers=headers, timeout=self._timeout.connect):
            pass

    # -- requests ------------------------------------------------------------------------------

    async def _request(self, msg: Message) -> None:
        """POST one request; whatever happens, its id gets an answer (a response or an error)."""
        if not self._listening.is_set():  # a call's answer must not race the GET stream's opening
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), self._timeout.connect or 10.0)
        try:
            answered = await self._exchange(msg, retry_session=True)
        except asyncio.CancelledError:
            raise
        except UNREACHABLE as exc:
            self._fail(msg, codes.BACKEND_UNAVAILABLE, self._unreachable(exc))
            return
        except httpx.HTTPError as exc:
            self._fail(msg, codes.BACKEND_UNAVAILABLE, f"cannot reach {self.url}: {describe(exc)}")
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
        if self._old_sse is not None:
            await self._post_old_sse(msg)
            return True  # the answer arrives on the SSE stream
        modern = is_modern_request(msg)
        headers = self._request_headers(msg, modern)
        assert self._client is not None
        request = self._client.build_request(
            "POST", self.url, content=dumps(msg), headers=await self._headers(headers)
        )
        response = await self._client.send(request, stream=True)
        self._answered()
        try:
            status = response.status_code
            legacy_call = bool(self.session_id) and not modern and msg.get("method") != "initialize"
            if retry_session and legacy_call and await session_gone(response):
                await response.aclose()
                await self._reinitialize()
                return await self._exchange(msg, retry_session=False)
            if msg.get("method") == "initialize" and status in (404, 405) and self._mode == "auto":
                await response.aclose()
                await self._open_old_sse()  # an old server: the 2024-11-05 transport
                await self._post_old_sse(msg)
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
        return request_headers(msg, modern, self.session_id, self.protocol_version, self.tool_schemas)

    async def _read_body(self, msg: Message, response: httpx.Response) -> bool:
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "text/event-stream":
            assert self._client is not None
            return await read_answer_stream(
                self._client, self.url, self._headers, self.session_id, response, msg, self._deliver
            )
        body = await response.aread()
        if not body.strip():
            return kind_of(msg) is not REQUEST
        try:
            reply = parse_message(body)
        except ParseError:
            self._fail(msg, codes.INTERNAL_ERROR, f"{self.url} answered with something that is not JSON-RPC")
            return True
        self._deliver(reply)
        return True

    async def _answer_error(self, msg: Message, response: httpx.Response, modern: bool) -> None:
        """Turn an HTTP error into a JSON-RPC error for the request's id."""
        body = await response.aread()
        reply = error_reply(self.url, msg, response.status_code, response.headers, body, modern)
        if reply is not None:
            self._deliver(reply)

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

    # -- our responses and notifications to the server ----------------------------------------

    async def _post_quietly(self, msg: Message) -> None:
        """A notification or a response to the server: fire and forget (errors are logged)."""
        listening = False
        try:
            if self._old_sse is not None:
                await self._post_old_sse(msg)
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
                listening = True
        except UNREACHABLE as exc:
            self._unreachable(exc)
        except (httpx.HTTPError, McpctlError) as exc:
            log.debug("%s: could not send %s: %s", self.url, msg.get("method", "a response"), exc)
        finally:
            if not listening:  # (the GET stream says when it is open)
                self._listening.set()

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
                    self._listening.set()
                    if response.status_code != 200:
                        return  # 405: this server offers no GET stream
                    last_event = await relay_events(response, self._deliver)
            except UNREACHABLE as exc:  # it went away: the stream cannot come back, nor can calls
                self._unreachable(exc)
                return
            except httpx.HTTPError as exc:  # the stream broke mid-way: worth a retry, and a word
                log.info("%s: GET stream dropped (%s); reconnecting", self.url, describe(exc))
            except McpctlError as exc:  # credentials gone: the POSTs will report it
                log.debug("%s: GET stream stopped: %s", self.url, exc.message)
                return
            finally:
                self._listening.set()  # open, refused or failed: calls need not wait any longer
            await asyncio.sleep(1.0)  # the stream dropped: reconnect after a pause

    # -- the 2024-11-05 HTTP+SSE transport ------------------------------------------------------

    async def _open_old_sse(self) -> None:
        assert self._client is not None
        channel = OldSseChannel(
            self.url,
            self._client,
            self._headers,
            deliver=self._deliver,
            answered=self._answered,
            ended=self._lose,
        )
        await channel.open(lambda coro: self._spawn(coro, stream=True), self._timeout.connect or 10.0)
        self._old_sse = channel

    async def _post_old_sse(self, msg: Message) -> None:
        assert self._old_sse is not None
        status = await self._old_sse.post(msg)
        if status >= 400 and kind_of(msg) is REQUEST:
            self._fail(msg, codes.INVALID_REQUEST, f"{self._old_sse.endpoint} answered HTTP {status}")

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
        answer = failure(msg, code, message, data)
        if answer is not None:
            self._sink.message_received(answer)

    def _forget(self, request_id: object, _done: object = None) -> None:
        self._tasks.pop(request_id, None)
        self._modern_ids.pop(request_id, None)

    def _spawn(self, coro: Coroutine[Any, Any, None], *, stream: bool = False) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        tasks = self._streams if stream else self._background
        tasks.add(task)
        task.add_done_callback(tasks.discard)
