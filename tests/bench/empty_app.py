"""The per-call baseline: an ASGI app that does nothing, on uvicorn + httptools + uvloop.

Run:  python -m tests.bench.empty_app PORT
uvicorn with its httptools protocol and uvloop, access log off, no Server header: the stack issue
15 measures mcpctl against (mcpctl runs uvicorn's server and uvloop with an HTTP protocol of its
own, `mcpctl/edge/server.py`, since 2026-12-04). It reads each request's body and answers a fixed
JSON-RPC result.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

ANSWER = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        http="httptools",
        loop="uvloop",
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=True,
    )
