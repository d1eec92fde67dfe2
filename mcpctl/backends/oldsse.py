"""The 2024-11-05 HTTP+SSE transport: a GET stream names where to POST, and carries every answer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urljoin

import httpx

from mcpctl.backends.httpanswers import Headers
from mcpctl.errors import McpctlError, UnavailableError
from mcpctl.protocol.jsonrpc import Message, ParseError, dumps, parse_message
from mcpctl.protocol.sse import SSEDecoder
from mcpctl.reach import UNREACHABLE, describe


class OldSseChannel:
    """One GET stream to `url`; `endpoint` is set once the server announced it.

    In this transport the stream is the session: when it ends (or cannot be opened) `ended` is
    called with the cause, and the connection is gone.
    """

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        headers: Headers,
        *,
        deliver: Callable[[Message], None],
        answered: Callable[[], None],
        ended: Callable[[str], None],
    ) -> None:
        self.url = url
        self.endpoint: str | None = None
        self._client = client
        self._headers = headers
        self._deliver = deliver
        self._answered = answered
        self._ended = ended
        self._ready = asyncio.Event()
        self._failure = ""  # why the GET gave no endpoint

    async def open(self, spawn: Callable[[Coroutine[Any, Any, None]], None], timeout: float) -> None:
        """Open the stream (as a task `spawn` owns) and wait for the endpoint event."""
        spawn(self._run())
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise UnavailableError(f"{self.url}: no endpoint event on the SSE stream") from None
        if self.endpoint is None:
            raise UnavailableError(self._failure or f"{self.url} speaks neither Streamable HTTP nor HTTP+SSE")

    async def post(self, msg: Message) -> int:
        """POST one message to the announced endpoint; its HTTP status (the answer comes on the stream)."""
        assert self.endpoint is not None
        response = await self._client.post(
            self.endpoint,
            content=dumps(msg),
            headers=await self._headers({"content-type": "application/json"}),
        )
        return response.status_code

    async def _run(self) -> None:
        try:
            headers = await self._headers({"accept": "text/event-stream"})
            async with self._client.stream("GET", self.url, headers=headers) as response:
                if response.status_code != 200:
                    self._failure = (
                        f"{self.url} answered HTTP {response.status_code} to the GET that opens an SSE "
                        "stream: it speaks neither Streamable HTTP nor HTTP+SSE there"
                    )
                    return
                decoder = SSEDecoder()
                async for chunk in response.aiter_text():
                    self._answered()
                    for event in decoder.feed(chunk):
                        if event.event == "endpoint":
                            self.endpoint = urljoin(self.url, event.data.strip())
                            self._ready.set()
                        elif event.data.strip():
                            with contextlib.suppress(ParseError):
                                self._deliver(parse_message(event.data))
            ended = "the server closed its SSE stream"
        except UNREACHABLE as exc:
            ended = self._failure = f"cannot reach {self.url}: {describe(exc)}"
        except (httpx.HTTPError, McpctlError) as exc:
            text = exc.message if isinstance(exc, McpctlError) else describe(exc)
            ended = self._failure = f"the SSE stream from {self.url} failed: {text}"
        finally:
            self._ready.set()
        if self.endpoint is not None:
            self._ended(ended)
