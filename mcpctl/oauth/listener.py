"""The loopback redirect target (RFC 8252 §7.3): 127.0.0.1, an ephemeral port, one small page."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

CALLBACK_PATH = "/callback"
READ_TIMEOUT = 10.0
MAX_HEADER_LINES = 100
Params = dict[str, list[str]]

_DONE_PAGE = (
    "<h1>Signed in</h1><p>mcpctl received the sign-in. You can close this tab and return to the terminal.</p>"
)
_FAILED_PAGE = (
    "<h1>Sign-in did not complete</h1><p>You can close this tab; the terminal shows what happened.</p>"
)
_FOREIGN_PAGE = (
    "<h1>Not this sign-in</h1><p>This response does not belong to the mcpctl sign-in in progress, so "
    "nothing was stored. You can close this tab.</p>"
)
_AGAIN_PAGE = "<h1>Already handled</h1><p>This sign-in was already received. You can close this tab.</p>"


def callback_params(target: str) -> Params | None:
    """The query of a redirect to the callback path (a request target or a full URL), else None."""
    parts = urlsplit(target)
    if parts.path != CALLBACK_PATH or not parts.query:
        return None
    params = parse_qs(parts.query, keep_blank_values=True)
    return params if any(k in params for k in ("code", "state", "error")) else None


def page(body: str) -> bytes:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mcpctl</title>'
        "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto}</style>"
        f"</head><body>{body}</body></html>"
    ).encode()


class CallbackListener:
    """`async with CallbackListener() as listener:` then `await listener.result`.

    Only GET /callback with sign-in parameters counts (the first one); every other path gets a
    404 (browsers ask for /favicon.ico), and clients that hang up early are ignored.
    """

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.result: asyncio.Future[Params] = asyncio.get_running_loop().create_future()
        # set once the authorization is sent: whether a response is this login's (for the page only)
        self.accepts: Callable[[Params], bool] | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    async def __aenter__(self) -> CallbackListener:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port)
        self._port = int(self._server.sockets[0].getsockname()[1])  # the one the kernel picked for 0
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()  # idle connections a browser opened speculatively
        if self._server is not None:
            await self._server.wait_closed()
        if not self.result.done():
            self.result.cancel()

    def deliver(self, params: Params) -> bool:
        """Hand in a response received another way (pasted by the person); False if one came already."""
        if self.result.done():
            return False
        self.result.set_result(params)
        return True

    def _page_for(self, params: Params) -> str:
        if self.result.done():
            return _AGAIN_PAGE
        if self.accepts is not None and not self.accepts(params):
            return _FOREIGN_PAGE
        return _FAILED_PAGE if "error" in params else _DONE_PAGE

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            request = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
            for _ in range(MAX_HEADER_LINES):  # headers are read and ignored
                line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
                if line in (b"\r\n", b"\n", b""):
                    break
            parts = request.decode("latin-1").split()
            params = callback_params(parts[1]) if len(parts) == 3 and parts[0] == "GET" else None
            if params is None:
                await _respond(writer, 404, "Not Found", page("<h1>Not found</h1>"))
                return
            body = self._page_for(params)
            self.deliver(params)
            await _respond(writer, 200, "OK", page(body))
        except (TimeoutError, ConnectionError, UnicodeDecodeError, asyncio.IncompleteReadError, ValueError):
            pass  # a browser that closed its socket early, or junk: nothing to answer
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _respond(writer: asyncio.StreamWriter, status: int, reason: str, body: bytes) -> None:
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + body)
    await writer.drain()
