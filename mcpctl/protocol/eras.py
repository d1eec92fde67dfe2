"""Protocol versions and eras: legacy (initialize handshake) and modern (stateless, per-request _meta)."""

from __future__ import annotations

from enum import Enum
from typing import Any, Final

from mcpctl.protocol.jsonrpc import Message, meta_of

MODERN_VERSIONS: Final = ("2026-07-28",)
LEGACY_VERSIONS: Final = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
LATEST_MODERN: Final = MODERN_VERSIONS[0]
LATEST_LEGACY: Final = LEGACY_VERSIONS[0]
ALL_VERSIONS: Final = MODERN_VERSIONS + LEGACY_VERSIONS

# Reserved _meta keys (2026-07-28 basic/index "_meta").
META_PROTOCOL_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"
META_CLIENT_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
META_LOG_LEVEL: Final = "io.modelcontextprotocol/logLevel"
META_SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"
META_SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"

# Methods whose results a modern server marks cacheable (ttlMs + cacheScope).
CACHEABLE_METHODS: Final = frozenset(
    {"tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"}
)
# Methods that may answer with an input_required result (MRTR).
MRTR_METHODS: Final = frozenset({"tools/call", "prompts/get", "resources/read"})

# Errors that only a modern server sends: receiving one means the peer is modern.
MODERN_ERROR_CODES: Final = frozenset({-32020, -32021, -32022})

LOG_LEVELS: Final = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


class Era(Enum):
    """Which family of protocol revisions a peer speaks."""

    LEGACY = "legacy"
    MODERN = "modern"


# The members as plain names, for the code that runs per message (see jsonrpc.REQUEST for why).
LEGACY: Final = Era.LEGACY
MODERN: Final = Era.MODERN


def era_of_version(version: str) -> Era | None:
    if version in MODERN_VERSIONS:
        return MODERN
    if version in LEGACY_VERSIONS:
        return LEGACY
    return None


def is_modern_request(msg: Message) -> bool:
    """A request that carries the modern per-request protocol version in _meta."""
    return META_PROTOCOL_VERSION in meta_of(msg)


def negotiate_legacy(requested: object) -> str:
    """The legacy version to answer an initialize with: the client's if we speak it, else our latest."""
    if isinstance(requested, str) and requested in LEGACY_VERSIONS:
        return requested
    return LATEST_LEGACY


def log_level_rank(level: object) -> int:
    """Position of a log level (higher is more severe); unknown levels rank as debug."""
    return LOG_LEVELS.index(level) if isinstance(level, str) and level in LOG_LEVELS else 0


def modern_meta(version: str, client_info: dict[str, Any], capabilities: dict[str, Any]) -> dict[str, Any]:
    """The per-request _meta a modern request must carry."""
    return {
        META_PROTOCOL_VERSION: version,
        META_CLIENT_INFO: client_info,
        META_CLIENT_CAPABILITIES: capabilities,
    }
