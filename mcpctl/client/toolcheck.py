"""Which listed tools a client must not call: malformed `x-mcp-header` annotations (SEP-2243)."""

from __future__ import annotations

import re
from typing import Any

# RFC 9110 token characters: what a header field name may hold (no spaces, colons, controls, non-ASCII).
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Mirrored values must have one exact text form; a float's does not (1.0 vs 1), so `number` is out.
_HEADER_TYPES = frozenset({"string", "integer", "boolean"})


def header_problems(input_schema: object) -> list[str]:
    """Why the tool's x-mcp-header annotations are invalid ([] when they are fine or absent)."""
    problems: list[str] = []
    seen: dict[str, str] = {}

    def walk(schema: object, path: str) -> None:
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(properties, dict):
            return
        for key, sub in properties.items():
            if not isinstance(sub, dict):
                continue
            where = f"{path}{key}"
            if "x-mcp-header" in sub:
                problems.extend(_check(sub, where, seen))
            walk(sub, where + ".")

    walk(input_schema, "")
    return problems


def _check(prop: dict[str, Any], where: str, seen: dict[str, str]) -> list[str]:
    name = prop["x-mcp-header"]
    if not isinstance(name, str) or not name:
        return [f"{where}: x-mcp-header must be a non-empty string"]
    if not _TOKEN.match(name):
        return [f"{where}: x-mcp-header {name!r} is not a valid header name"]
    kind = prop.get("type")
    if kind not in _HEADER_TYPES:
        return [
            f"{where}: x-mcp-header is only allowed on string, integer or boolean properties (not {kind!r})"
        ]
    earlier = seen.get(name.lower())
    if earlier is not None:
        return [f"{where}: x-mcp-header {name!r} is also used by {earlier}"]
    seen[name.lower()] = where
    return []
