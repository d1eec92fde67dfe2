"""`mcpctl call TOOL --help`: a tool's arguments, read from its input schema, as a command's help."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from typing import Any

WIDTH = 80


def tool_help(name: str, tool: Mapping[str, Any], options_help: str, width: int = WIDTH) -> str:
    """The help text: usage with the required arguments, the description, one entry per argument
    (its type as typed on the command line, required or default, allowed values, description)."""
    raw = tool.get("inputSchema")
    schema: dict[str, Any] = raw if isinstance(raw, dict) else {}
    listed = schema.get("properties")
    properties: dict[str, Any] = listed if isinstance(listed, dict) else {}
    required = [r for r in schema.get("required") or [] if isinstance(r, str)]
    order = sorted(properties, key=lambda key: (key not in required, list(properties).index(key)))
    usage = " ".join(f"{key}={_metavar(properties[key])}" for key in order if key in required)
    optional = any(key not in required for key in order)
    lines = [
        f"Usage: mcpctl call [OPTIONS] {name} {usage}".rstrip() + (" [key=value]..." if optional else "")
    ]
    description = tool.get("description")
    if isinstance(description, str) and description.strip():
        lines.append("")
        lines += [textwrap.indent(p, "  ") for p in _paragraphs(description, width - 2)]
    if order:
        lines += ["", "Arguments (from the tool's input schema):"]
        rows = [
            (f"{key}={_metavar(properties[key])}", _details(properties[key], key in required))
            for key in order
        ]
        column = min(max(len(left) for left, _ in rows) + 2, 30)
        for left, right in rows:
            wrapped = textwrap.wrap(right, max(width - column - 2, 20)) or [""]
            if len(left) + 2 > column:
                lines.append(f"  {left}")
                lines += [" " * (column + 2) + part for part in wrapped if part]
            else:
                lines.append(f"  {left.ljust(column)}{wrapped[0]}".rstrip())
                lines += [" " * (column + 2) + part for part in wrapped[1:]]
    else:
        lines += ["", "It takes no arguments."]
    lines += ["", options_help]
    return "\n".join(lines) + "\n"


def _metavar(schema: object) -> str:
    """How a value is typed: TEXT, NUMBER, INTEGER, true|false, a|b (an enum), LIST, JSON."""
    if not isinstance(schema, dict):
        return "VALUE"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return "|".join(v if isinstance(v, str) else json.dumps(v) for v in schema["enum"][:6])
    kinds = schema.get("type")
    kind = kinds if isinstance(kinds, str) else next((k for k in kinds or [] if k != "null"), None)
    return {
        "string": "TEXT",
        "integer": "INTEGER",
        "number": "NUMBER",
        "boolean": "true|false",
        "array": "LIST",
        "object": "JSON",
    }.get(str(kind), "VALUE")


def _details(schema: object, required: bool) -> str:
    if not isinstance(schema, dict):
        return "(required)" if required else ""
    parts = []
    description = schema.get("description")
    if isinstance(description, str) and description.strip():
        parts.append(" ".join(description.split()))
    if required:
        parts.append("[required]")
    elif "default" in schema:
        parts.append(f"[default: {json.dumps(schema['default'])}]")
    kind = schema.get("type")
    if kind == "array":
        parts.append("(a,b,c or a JSON array; or key:=JSON)")
    elif kind == "object":
        parts.append("(key:=JSON)")
    return " ".join(parts)


def _paragraphs(text: str, width: int) -> list[str]:
    return [
        "\n".join(textwrap.wrap(" ".join(p.split()), width)) for p in text.strip().split("\n\n") if p.strip()
    ]
