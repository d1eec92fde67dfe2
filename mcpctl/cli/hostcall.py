"""One 2025-era session with the running host over stdlib HTTP, as the full `mcpctl call` opens it."""

from __future__ import annotations

import json
import time
from http.client import HTTPConnection, HTTPResponse
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mcpctl import __version__

if TYPE_CHECKING:
    from mcpctl.cli.console import Console
    from mcpctl.cli.fastcall import FastArgs
    from mcpctl.client.answers import CliAnswerer

ACCEPT = "application/json, text/event-stream"  # as backends.http sends it
CLIENT_INFO = {"name": "mcpctl", "version": __version__}  # as mcpclient.CLIENT_INFO (a test keeps them equal)
HANDSHAKE_TIMEOUT = 5.0  # a host slower than this to shake hands is left to the full command
MAX_RESUMES = 5  # as backends.httpanswers: a stream that ends before its answer is resumed this often
MAX_RECONNECT_MS = 30_000


class Fallback(Exception):
    """The full command must run this call (nothing has been called yet)."""


class HostCall:
    """One 2025-era session with the host, as the full command opens it: handshake, list, call."""

    def __init__(self, url: str, console: Console, args: FastArgs) -> None:
        parts = urlsplit(url)
        self.url = url
        self.label = f"the mcpctl host at {url}"
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._path = parts.path or "/"
        self._console = console
        self._args = args
        from mcpctl.cli.answering import LazyProgress

        self.progress = LazyProgress(console, args.tool)
        self._handshake = max(min(HANDSHAKE_TIMEOUT, args.timeout), 0.001)
        self._conn = HTTPConnection(*self._address, timeout=self._handshake)
        self._session: str | None = None
        self._version: str | None = None
        self._next_id = 0
        self._call_id: int | None = None  # set once tools/call is sent
        self._answerer: CliAnswerer | None = None
        self._log: Any = None
        self.sock: Any = None  # the socket of the last POST (its deadline is set per read)

    # -- the call ------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        from mcpctl.client.toolcall import CallRequest, NoSuchTool, call_params
        from mcpctl.protocol.eras import LATEST_LEGACY, LEGACY_VERSIONS

        params = {
            "protocolVersion": LATEST_LEGACY,
            "capabilities": self._capabilities(),
            "clientInfo": CLIENT_INFO,
        }
        try:
            try:
                init = self._request("initialize", params, timeout=self._handshake)
            except TimeoutError:
                if self._handshake < HANDSHAKE_TIMEOUT:  # the person's --timeout: as the full command says
                    from mcpctl.errors import BackendTimeoutError

                    within = self._args.timeout
                    raise BackendTimeoutError(
                        f"{self.label} did not finish the handshake within {within:g}s"
                    ) from None
                raise
            if init.get("protocolVersion") not in LEGACY_VERSIONS:
                raise Fallback
            self._version = str(init["protocolVersion"])
            self._post_quietly({"jsonrpc": "2.0", "method": "notifications/initialized"})
            tools = self._tools(init.get("capabilities"))
        except OSError as exc:
            raise Fallback from exc
        args = self._args
        request = CallRequest(args.tool, args.pairs, {}, args.timeout, args.check)
        names = {t["name"]: t["name"] for t in tools if isinstance(t.get("name"), str)}
        try:
            call = call_params(
                request,
                tools,
                names,
                where=self.label,
                listing="mcpctl tools",
                help_command=_join("mcpctl", "call", args.tool, "--help"),
            )
        except NoSuchTool as exc:
            raise Fallback from exc  # the full command says whether a server is down
        return self._call(call, time.monotonic() + args.timeout)

    def _capabilities(self) -> dict[str, Any]:
        # what CliAnswerer.capabilities() declares without --sampling-command
        return {"roots": {}, "elicitation": {"form": {}, "url": {}}}

    def _tools(self, capabilities: object) -> list[dict[str, Any]]:
        if not isinstance(capabilities, dict) or "tools" not in capabilities:
            return []
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(100):
            page = self._request("tools/list", {} if cursor is None else {"cursor": cursor})
            listed = page.get("tools")
            tools += [t for t in listed if isinstance(t, dict)] if isinstance(listed, list) else []
            cursor = page.get("nextCursor") if isinstance(page.get("nextCursor"), str) else None
            if not cursor:
                break
        return tools

    def _call(self, params: dict[str, Any], deadline: float) -> dict[str, Any]:
        from mcpctl.client.errors import error_from_rpc
        from mcpctl.errors import BackendTimeoutError
        from mcpctl.protocol import codes

        self._next_id += 1
        call_id = self._call_id = self._next_id
        params = {**params, "_meta": {"progressToken": call_id}}
        message = {"jsonrpc": "2.0", "id": call_id, "method": "tools/call", "params": params}
        try:
            response = self._post(message, self._conn, timeout=max(deadline - time.monotonic(), 0.001))
            reply = self._answer(response, self.sock, deadline)
        except TimeoutError:
            self.cancel("timed out")
            raise BackendTimeoutError(
                f"{self.label} did not answer tools/call in time (see --timeout)"
            ) from None
        except OSError as exc:
            reply = _error(call_id, codes.BACKEND_UNAVAILABLE, f"cannot reach {self.url}: {exc}")
        if reply is None:
            reply = _error(
                call_id, codes.BACKEND_UNAVAILABLE, f"{self.url} closed the response stream without answering"
            )
        error = reply.get("error")
        if error is not None:
            err = error if isinstance(error, dict) else {}
            code = err.get("code")
            number = code if isinstance(code, int) else codes.INTERNAL_ERROR
            raise error_from_rpc(number, str(err.get("message", "")), err.get("data"), self.label)
        result = reply.get("result")
        if not isinstance(result, dict):
            from mcpctl.errors import ProtocolError

            raise ProtocolError(f"{self.label} answered tools/call with a result that is not an object")
        if result.get("resultType") == "input_required":
            raise Fallback  # a 2026-07-28 round: nothing was done yet, the full command answers it
        return result

    def _answer(self, response: HTTPResponse, sock: Any, deadline: float) -> dict[str, Any] | None:
        """The reply to the call, from a JSON body or an SSE stream (resumed if it breaks off)."""
        from mcpctl.protocol import codes

        status = response.status
        if status in (401, 403, 404):
            raise Fallback  # refused, or the session is gone: the tool was not called
        if status >= 400:
            body = response.read()
            if status == 400 and b"session" in body.lower():
                raise Fallback
            return self._http_error(status, body)
        kind = response.getheader("content-type", "").split(";")[0].strip().lower()
        if kind != "text/event-stream":
            body = response.read()
            if not body.strip():
                return None
            try:
                reply = json.loads(body)
            except ValueError:
                reply = None
            if not isinstance(reply, dict):
                message = f"{self.url} answered with something that is not JSON-RPC"
                return _error(self._call_id, codes.INTERNAL_ERROR, message)
            return reply
        from mcpctl.protocol.sse import SSEDecoder

        decoder = SSEDecoder()
        reply = self._consume(response, sock, decoder, deadline)
        resumes = 0
        while reply is None and decoder.last_event_id is not None and resumes < MAX_RESUMES and self._session:
            resumes += 1
            if decoder.reconnect_ms:
                time.sleep(min(decoder.reconnect_ms, MAX_RECONNECT_MS) / 1000)
            conn = HTTPConnection(*self._address, timeout=max(deadline - time.monotonic(), 0.001))
            headers = {"accept": "text/event-stream", "mcp-session-id": self._session}
            conn.request("GET", self._path, headers={**headers, "last-event-id": decoder.last_event_id})
            sock = conn.sock
            again = conn.getresponse()
            if again.status != 200:
                return None
            reply = self._consume(again, sock, decoder, deadline)
        return reply

    def _consume(
        self, response: HTTPResponse, sock: Any, decoder: Any, deadline: float
    ) -> dict[str, Any] | None:
        import codecs

        text = codecs.getincrementaldecoder("utf-8")("replace")
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if sock is not None:
                sock.settimeout(remaining)  # the deadline holds however the server trickles
            chunk = response.read1(65536)
            if not chunk:
                return None
            for event in decoder.feed(text.decode(chunk)):
                if event.event != "message" or not event.data.strip():
                    continue
                try:
                    msg = json.loads(event.data)
                except ValueError:
                    continue
                if isinstance(msg, dict) and self._handle(msg):
                    return msg

    def _handle(self, msg: dict[str, Any]) -> bool:
        """Act on one message of the call's stream; True when it is the call's reply."""
        method = msg.get("method")
        if method is None:
            return bool(msg.get("id") == self._call_id and ("result" in msg or "error" in msg))
        given = msg.get("params")
        params: dict[str, Any] = given if isinstance(given, dict) else {}
        if "id" in msg:
            self._respond(msg["id"], method, params)
        elif method == "notifications/progress" and params.get("progressToken") == self._call_id:
            self.progress.update(params)
        elif method == "notifications/message":
            if self._log is None:
                from mcpctl.cli.answering import log_printer

                self._log = log_printer(self._console, self.label)
            self._log(params)
        return False

    def _respond(self, request_id: object, method: str, params: dict[str, Any]) -> None:
        """Answer what the server asks, as ClientSession does (a failure to answer ends the call)."""
        import asyncio

        from mcpctl.client.errors import InputError
        from mcpctl.errors import McpctlError, RemoteError
        from mcpctl.protocol import codes

        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        failure: McpctlError | None = None
        try:
            reply["result"] = asyncio.run(self._answering().answer(method, params))
        except InputError as exc:
            reply["error"], failure = {"code": exc.jsonrpc_code, "message": exc.message}, exc
        except RemoteError as exc:
            reply["error"] = {"code": exc.jsonrpc_code, "message": exc.message}
        except McpctlError as exc:
            reply["error"], failure = {"code": codes.INTERNAL_ERROR, "message": exc.message}, exc
        self._post_quietly(reply)
        if failure is not None:
            self.cancel("the client could not answer the server's request")
            raise failure

    def _answering(self) -> CliAnswerer:
        if self._answerer is None:
            from mcpctl.cli.answering import answerer_for

            self._answerer = answerer_for(
                self.label,
                self._console,
                self.progress,
                roots=None,
                no_input=False,
                yes=False,
                sampling_command=None,
            )
        return self._answerer

    def _http_error(self, status: int, body: bytes) -> dict[str, Any]:
        """An HTTP error as a JSON-RPC error for the call, as backends.http turns it into one."""
        from mcpctl.protocol import codes

        try:
            reply = json.loads(body)
        except ValueError:
            reply = None
        if isinstance(reply, dict) and isinstance(reply.get("error"), dict):
            return {**reply, "id": self._call_id}
        return _error(
            self._call_id, codes.INVALID_REQUEST, f"{self.url} answered HTTP {status}", {"status": status}
        )

    # -- HTTP ----------------------------------------------------------------------------------

    def _request(
        self, method: str, params: dict[str, Any], timeout: float = HANDSHAKE_TIMEOUT
    ) -> dict[str, Any]:
        """A request before the call: its result, or Fallback for anything but a plain answer."""
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        response = self._post(message, self._conn, timeout=timeout)
        if response.status != 200:
            raise Fallback
        if method == "initialize":
            self._session = response.getheader("mcp-session-id")
        kind = response.getheader("content-type", "").split(";")[0].strip().lower()
        if kind == "text/event-stream":
            from mcpctl.protocol.sse import SSEDecoder

            found = [
                json.loads(e.data)
                for e in SSEDecoder().feed(response.read().decode("utf-8", "replace"))
                if e.event == "message" and e.data.strip()
            ]
            replies = [
                m for m in found if isinstance(m, dict) and m.get("id") == self._next_id and "method" not in m
            ]
            if len(replies) != 1 or len(found) != 1:
                raise Fallback  # the server spoke up during the handshake: let the full command listen
            reply = replies[0]
        else:
            reply = json.loads(response.read())
        result = reply.get("result") if isinstance(reply, dict) else None
        if not isinstance(result, dict):
            raise Fallback
        return result

    def _post(self, message: dict[str, Any], conn: HTTPConnection, *, timeout: float) -> HTTPResponse:
        headers = {"accept": ACCEPT, "content-type": "application/json"}
        if self._session:
            headers["mcp-session-id"] = self._session
        if self._version:
            headers["mcp-protocol-version"] = self._version
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        conn.request("POST", self._path, body=json.dumps(message).encode(), headers=headers)
        self.sock = conn.sock  # kept: getresponse() may hand the socket over to the response
        return conn.getresponse()

    def _post_quietly(self, message: dict[str, Any]) -> None:
        """A notification or an answer: on a connection of its own (the call's may be streaming)."""
        conn = HTTPConnection(*self._address, timeout=HANDSHAKE_TIMEOUT)
        try:
            self._post(message, conn, timeout=HANDSHAKE_TIMEOUT).read()
        except OSError:
            pass  # as backends.http: a notification that cannot be sent is not the call's failure
        finally:
            conn.close()

    def cancel(self, reason: str) -> None:
        """notifications/cancelled for the call, if it was sent."""
        if self._call_id is not None:
            params = {"requestId": self._call_id, "reason": reason}
            self._post_quietly({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params})
            self._call_id = None

    def close(self) -> None:
        """End the session (as the full command does when it is done), then the progress display."""
        self.progress.close()
        self._conn.close()
        if self._session:
            conn = HTTPConnection(*self._address, timeout=2.0)
            try:
                conn.request("DELETE", self._path, headers={"mcp-session-id": self._session})
                conn.getresponse().read()
            except OSError:
                pass
            finally:
                conn.close()
            self._session = None


def _error(request_id: object, code: int, message: str, data: object = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def _join(*words: str) -> str:
    import shlex

    return shlex.join(words)
