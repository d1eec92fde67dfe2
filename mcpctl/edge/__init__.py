"""The HTTP edge: the ASGI app for /mcp (both eras), the legacy /sse transport, the status endpoints."""
