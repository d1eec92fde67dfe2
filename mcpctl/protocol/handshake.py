"""Handshake decisions: the era a server speaks, from its answer to a probe, and what it declared."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from mcpctl.protocol.eras import (
    LATEST_LEGACY,
    LEGACY,
    LEGACY_VERSIONS,
    META_SERVER_INFO,
    MODERN,
    MODERN_ERROR_CODES,
    MODERN_VERSIONS,
    Era,
    modern_meta,
)
from mcpctl.protocol.jsonrpc import Message


class HandshakeError(ValueError):
    """The server speaks no protocol version mcpctl speaks (a remote fault, said in plain words)."""


class Verdict(Enum):
    """What a `server/discover` probe's answer says about the server."""

    MODERN = "modern"  # a DiscoverResult, or a modern error naming a version we speak
    LEGACY = "legacy"  # anything else, including no answer in time: shake hands with initialize


@dataclass(frozen=True)
class ServerDescription:
    """What a server declared in its handshake."""

    era: Era
    protocol_version: str
    capabilities: dict[str, Any] = field(default_factory=dict)
    server_info: dict[str, Any] = field(default_factory=dict)
    instructions: str | None = None


def probe_request(
    request_id: int | str, client_info: dict[str, Any], capabilities: dict[str, Any]
) -> Message:
    """The 2026-07-28 `server/discover` a dual-era client sends first."""
    params = {"_meta": modern_meta(MODERN_VERSIONS[0], client_info, capabilities)}
    return {"jsonrpc": "2.0", "id": request_id, "method": "server/discover", "params": params}


def initialize_params(client_info: dict[str, Any], capabilities: dict[str, Any]) -> dict[str, Any]:
    return {"protocolVersion": LATEST_LEGACY, "capabilities": capabilities, "clientInfo": client_info}


def judge_probe(answer: Message | None) -> Verdict:
    """The era a probe's answer shows (None: no answer within the probe timeout).

    A DiscoverResult or a modern error naming a version we speak means modern; a modern error
    naming only versions we do not speak is a HandshakeError; anything else means legacy.
    """
    if answer is None:
        return Verdict.LEGACY
    error = answer.get("error")
    if isinstance(error, dict):
        if error.get("code") not in MODERN_ERROR_CODES:
            return Verdict.LEGACY
        data = error.get("data")
        supported = data.get("supported") if isinstance(data, dict) else None
        if isinstance(supported, list) and any(v in MODERN_VERSIONS for v in supported):
            return Verdict.MODERN
        raise HandshakeError(f"speaks only protocol versions {supported}, none of which mcpctl supports")
    result = answer.get("result")
    if isinstance(result, dict) and isinstance(result.get("supportedVersions"), list):
        return Verdict.MODERN
    return Verdict.LEGACY  # an answer, but not a DiscoverResult (a lenient legacy server)


def is_discover_result(answer: Message | None) -> bool:
    result = answer.get("result") if answer is not None else None
    return isinstance(result, dict) and isinstance(result.get("supportedVersions"), list)


def from_discovery(result: dict[str, Any]) -> ServerDescription:
    """A DiscoverResult as a description; HandshakeError when we share no version."""
    versions = result.get("supportedVersions")
    mutual = [v for v in MODERN_VERSIONS if isinstance(versions, list) and v in versions]
    if not mutual:
        raise HandshakeError(f"server/discover offers {versions}, none of which mcpctl speaks")
    meta = _dict(result.get("_meta"))
    return ServerDescription(
        era=MODERN,
        protocol_version=mutual[0],
        capabilities=_dict(result.get("capabilities")),
        server_info=_dict(meta.get(META_SERVER_INFO)) or _dict(result.get("serverInfo")),
        instructions=_text(result.get("instructions")),
    )


def from_initialize(result: dict[str, Any]) -> ServerDescription:
    """An InitializeResult as a description; HandshakeError for a version we do not speak."""
    version = result.get("protocolVersion")
    if version not in LEGACY_VERSIONS:
        raise HandshakeError(f"initialize chose protocol version {version!r}, which mcpctl does not speak")
    return ServerDescription(
        era=LEGACY,
        protocol_version=str(version),
        capabilities=_dict(result.get("capabilities")),
        server_info=_dict(result.get("serverInfo")),
        instructions=_text(result.get("instructions")),
    )


def initialize_refused_as_modern(error: dict[str, Any]) -> bool:
    """A modern-only server answers initialize with a modern error naming its versions."""
    return error.get("code") in MODERN_ERROR_CODES


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
