"""The stdio baseline: the least a JSON-RPC server over stdio must do to answer the echo tool.

Run:  python tests/bench/bare_child.py < calls
Reads a line, parses it, answers a tools/call of `echo` with its message, writes the answer and
flushes: no validation, no eras, no concurrency. What a stdio server built on mcpctl's toolkit
spends beyond this is the toolkit's (tests/bench/bench_child.py).
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        request = json.loads(line)
        text = request["params"]["arguments"]["message"]
        result = {"content": [{"type": "text", "text": text}]}
        out.write(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
