"""Small builders for schemas, content and results, and a top-level argument check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from mcpctl.demo.wire import JsonObject


def object_schema(
    required: Mapping[str, str | JsonObject] | None = None,
    optional: Mapping[str, str | JsonObject] | None = None,
) -> JsonObject:
    """JSON Schema of an arguments object; each property is a type name or a full schema."""

    def prop(spec: str | JsonObject) -> JsonObject:
        return {"type": spec} if isinstance(spec, str) else dict(spec)

    required = required or {}
    properties = {name: prop(spec) for name, spec in {**required, **(optional or {})}.items()}
    schema: JsonObject = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


NO_ARGUMENTS: Final[JsonObject] = {"type": "object", "properties": {}, "additionalProperties": False}


def text(value: str) -> JsonObject:
    """A text content block."""
    return {"type": "text", "text": value}


def text_result(value: str, *, is_error: bool = False) -> JsonObject:
    """A tool result with one text block."""
    result: JsonObject = {"content": [text(value)]}
    if is_error:
        result["isError"] = True
    return result


def user_message(content: str | JsonObject) -> JsonObject:
    """A prompt message from the user; a string becomes a text block."""
    return {"role": "user", "content": text(content) if isinstance(content, str) else content}


def sampled_text(result: JsonObject) -> str:
    """The text of a sampling/createMessage result (content may be one block or a list)."""
    content = result.get("content")
    blocks = content if isinstance(content, list) else [content]
    return "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")


_JSON_TYPES: Final[dict[str, Callable[[object], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def argument_problems(schema: JsonObject, arguments: JsonObject) -> list[str]:
    """Top-level checks only (required, type, additionalProperties): enough for demos and fixtures."""
    problems = [
        f"missing required argument {name!r}" for name in schema.get("required", []) if name not in arguments
    ]
    properties = schema.get("properties", {})
    for name, value in arguments.items():
        spec = properties.get(name)
        if spec is None:
            if schema.get("additionalProperties") is False:
                problems.append(f"unexpected argument {name!r}")
            continue
        expected = spec.get("type") if isinstance(spec, dict) else None
        if isinstance(expected, str) and expected in _JSON_TYPES and not _JSON_TYPES[expected](value):
            problems.append(f"argument {name!r} must be of type {expected}")
    return problems
