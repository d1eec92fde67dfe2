"""Backends: how the gateway reaches one MCP server (a supervised stdio child, or a remote URL)."""
