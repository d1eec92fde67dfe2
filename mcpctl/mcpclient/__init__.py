"""The MCP client session: one connection to one server, used by the gateway, the CLI and OAuth discovery."""

from __future__ import annotations

from mcpctl import __version__

# How mcpctl introduces itself to servers, whatever role it plays.
CLIENT_INFO = {"name": "mcpctl", "version": __version__}
