"""JSON-RPC error codes: the standard ones, MCP's, and mcpctl's own (outside the reserved range)."""

from __future__ import annotations

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# MCP 2026-07-28 reserves -32020..-32099 for the specification.
HEADER_MISMATCH = -32020
MISSING_CLIENT_CAPABILITY = -32021
UNSUPPORTED_PROTOCOL_VERSION = -32022

# The legacy resource-not-found code (2025-11-25 and earlier).
LEGACY_RESOURCE_NOT_FOUND = -32002

# mcpctl's own codes: the spec asks new codes to live outside -32768..-32000.
BACKEND_UNAVAILABLE = -31000  # the server behind the gateway is down, restarting or crash-looping
BACKEND_TIMEOUT = -31001  # the server did not answer in time; the call was cancelled there
RATE_LIMITED = -31002  # a rate limit refused the call; data.retryAfter says when to retry
FORBIDDEN = -31003  # policy denies this principal this tool
CIRCUIT_OPEN = -31004  # the backend's circuit breaker is open
NO_ROUTE = -31005  # a server->client request has no client that can answer it
PAYLOAD_TOO_LARGE = -31006  # the HTTP body is over the configured limit
UNAUTHORIZED = -31007  # a remote server wants (other) credentials: HTTP 401
