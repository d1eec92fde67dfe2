"""Where the Node parts the tests use are installed (tests/node/node_modules)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.support.host import ROOT
from tests.support.waiting import wait_until

NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
NODE_BIN = NODE_MODULES / ".bin"
NODE = NODE_BIN / "node"  # node 22, from the npm package node@22
CONFORMANCE = NODE_BIN / "conformance"
EVERYTHING = NODE_MODULES / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_everything(mode: str, log: Path, port: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """server-everything from npm over HTTP (`streamableHttp` or `sse`) on a free (or the given) port."""
    port = port or free_port()
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [str(NODE), str(EVERYTHING), mode],
            env={"PATH": "/usr/bin:/bin", "PORT": str(port)},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )

    def listening() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"server-everything exited: {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, 30, message=f"server-everything {mode} to listen")
    return proc, port
