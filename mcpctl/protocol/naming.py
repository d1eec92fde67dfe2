"""Exposed names for aggregated tools and prompts: valid for strict LLM APIs, deterministic, stable."""

from __future__ import annotations

import hashlib
import re
from typing import Final

SEPARATOR: Final = "__"
MAX_NAME_LENGTH: Final = 64
# The strictest pattern in common use (several LLM APIs): what every exposed name satisfies.
STRICT_NAME: Final = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
PREFIX_PATTERN: Final = re.compile(r"^[a-zA-Z0-9_-]{0,32}$")
_INVALID_CHARS: Final = re.compile(r"[^a-zA-Z0-9_-]")
_HASH_LENGTH: Final = 6


def exposed_name(prefix: str, original: str) -> str:
    """The name a client sees for `original` from the server with `prefix`.

    It depends only on the pair, never on which other servers exist, so names stay stable
    when servers are added or removed. A name that is already valid is kept readable
    (`prefix__original`); one that needed repair (invalid characters, too long) gets a short
    hash of the original so two repaired names cannot silently become equal.
    """
    candidate = f"{prefix}{SEPARATOR}{original}" if prefix else original
    if STRICT_NAME.match(candidate):
        return candidate
    digest = hashlib.sha256(f"{prefix}\0{original}".encode()).hexdigest()[:_HASH_LENGTH]
    body = _INVALID_CHARS.sub("_", candidate) or "_"
    room = MAX_NAME_LENGTH - _HASH_LENGTH - 1
    return f"{body[:room]}-{digest}"


def is_valid_prefix(prefix: str) -> bool:
    return bool(PREFIX_PATTERN.match(prefix))
