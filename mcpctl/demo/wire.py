"""Protocol constants and basic shapes of the stdlib-only demo server toolkit (both eras)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Final, TypeAlias, TypeGuard

LEGACY_VERSIONS: Final = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
MODERN_VERSIONS: Final = ("2026-07-28",)

META_PROTOCOL_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"
META_LOG_LEVEL: Final = "io.modelcontextprotocol/logLevel"
META_SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"
META_SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"
# names the key a legacy question goes under when a bridge turns it into input_required (mcpctl reads it)
META_INPUT_KEY: Final = "dev.mcpctl/inputKey"

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
LEGACY_RESOURCE_NOT_FOUND: Final = -32002  # 2025-11-25 and earlier; modern uses -32602
MISSING_REQUIRED_CLIENT_CAPABILITY: Final = -32021
UNSUPPORTED_PROTOCOL_VERSION: Final = -32022

LOG_LEVELS: Final = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")

# Requests that may be answered with an InputRequiredResult (MRTR).
MRTR_METHODS: Final = frozenset({"tools/call", "prompts/get", "resources/read"})
# Modern results that must carry caching hints, and the scope each gets.
CACHE_SCOPES: Final = {
    "server/discover": "public",
    "tools/list": "public",
    "prompts/list": "public",
    "resources/list": "public",
    "resources/templates/list": "public",
    "resources/read": "private",
}
# Server->client request method -> the client capability it needs.
CLIENT_CAPABILITY_FOR: Final = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}

JsonObject: TypeAlias = dict[str, Any]
RequestId: TypeAlias = str | int


class Era(enum.Enum):
    """How a request is served: with the initialize handshake, or statelessly (2026-07-28)."""

    LEGACY = "legacy"
    MODERN = "modern"


# The members as plain names, for the code that runs per request: on Python 3.11 reading an
# attribute of an Enum class (`Era.MODERN`) costs ten times what a global does (EnumType's
# __getattr__ sends every such read down CPython's slow path; 3.12 dropped it).
LEGACY: Final = Era.LEGACY
MODERN: Final = Era.MODERN


@dataclasses.dataclass
class Request:
    """One parsed JSON-RPC request from the client."""

    id: RequestId
    method: str
    params: JsonObject


def is_request_id(value: object) -> TypeGuard[RequestId]:
    """MCP request ids are strings or integers; never null, never booleans."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
