"""What mcpctl's HTTP protocol (with its limits) costs per request, against uvicorn's httptools protocol.

Run:  .venv/bin/python -m tests.bench.bench_protocol [--requests 10000] [--rounds 30]
Exact: CPU instructions per request, which the machine's load does not change, with callgrind:
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      .venv/bin/python -m tests.bench.bench_protocol --only plain|mcpctl --requests 200|6200
  ("Collected" at 6200 minus at 200, over 6000, for each).

In-process and on one event loop (uvloop), so the machine's other load barely matters: a kept-alive
connection gets `--requests` small POSTs (each with a 60-byte JSON body), one after another, answered
by an ASGI app that reads the body and sends 200; the protocols' own CPU time per request is
compared: rounds alternate between the two, and the median of the per-round differences is
reported beside each one's best round (the machine's other load swings single rounds by 30 %).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import uvloop
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from mcpctl.edge.server import EdgeProtocol, ProtocolLimits, edge_protocol
from tests.edge.support import Recorder

BODY = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}   '
REQUEST = (
    b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:8765\r\ncontent-type: application/json\r\n"
    b"accept: application/json, text/event-stream\r\nuser-agent: bench\r\n"
    b"content-length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


async def app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


class Sink(Recorder):
    """Counts what reaches the socket instead of keeping it: the bench measures the protocol alone."""

    def __init__(self) -> None:
        super().__init__()
        self.responses = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.responses += 1


async def run(protocol_class: type[HttpToolsProtocol | EdgeProtocol], requests: int) -> float:
    config = Config(app, lifespan="off", log_config=None, access_log=False)
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    sink = Sink()
    protocol.connection_made(sink)
    started = time.process_time()
    for _ in range(requests):
        protocol.data_received(REQUEST)
        while protocol.cycle is None or not protocol.cycle.response_complete:
            await asyncio.sleep(0)
    took = time.process_time() - started
    protocol.connection_lost(None)
    return took / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--only", choices=("plain", "mcpctl"), help="one run of one protocol, no report")
    args = parser.parse_args()
    ours = edge_protocol(ProtocolLimits())
    if args.only:
        uvloop.run(run(ours if args.only == "mcpctl" else HttpToolsProtocol, args.requests))
        return
    plain: list[float] = []
    guarded: list[float] = []
    for _ in range(args.rounds):
        plain.append(uvloop.run(run(HttpToolsProtocol, args.requests)))
        guarded.append(uvloop.run(run(ours, args.requests)))
    for label, rounds in (("uvicorn httptools  ", plain), ("mcpctl's, limited  ", guarded)):
        print(f"{label}: {min(rounds):.2f} µs CPU per request (rounds: {[round(x, 2) for x in rounds]})")
    differences = sorted(g - p for g, p in zip(guarded, plain, strict=True))
    median = differences[len(differences) // 2]
    print(f"difference         : {median:+.2f} µs per request (median)")


if __name__ == "__main__":
    main()
