"""Where the Node parts the tests use are installed (tests/node/node_modules)."""

from __future__ import annotations

from tests.support.host import ROOT

NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
NODE_BIN = NODE_MODULES / ".bin"
NODE = NODE_BIN / "node"  # node 22, from the npm package node@22
CONFORMANCE = NODE_BIN / "conformance"
EVERYTHING = NODE_MODULES / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
