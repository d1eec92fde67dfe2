"""Elicitation forms as data: fields from a requestedSchema, parsing typed answers, defaults."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

_TRUE = frozenset({"y", "yes", "true", "t", "1", "on"})
_FALSE = frozenset({"n", "no", "false", "f", "0", "off"})


@dataclass(frozen=True)
class Choice:
    value: Any
    title: str


@dataclass(frozen=True)
class Field:
    """One property of a form: a string, number, integer, boolean, enum or multi-select enum."""

    name: str
    schema: dict[str, Any]
    required: bool

    @property
    def kind(self) -> str:
        kind = self.schema.get("type")
        return kind if isinstance(kind, str) else "string"

    @property
    def title(self) -> str:
        title = self.schema.get("title")
        return title if isinstance(title, str) and title else self.name

    @property
    def description(self) -> str:
        text = self.schema.get("description")
        return text if isinstance(text, str) else ""

    @property
    def has_default(self) -> bool:
        return "default" in self.schema

    @property
    def default(self) -> Any:
        return self.schema.get("default")

    @property
    def multiple(self) -> bool:
        return self.kind == "array"

    def choices(self) -> list[Choice]:
        """The allowed values of an enum (single or multi-select), with their titles."""
        source = self.schema.get("items") if self.multiple else self.schema
        source = source if isinstance(source, dict) else {}
        options = source.get("oneOf") or source.get("anyOf")
        if isinstance(options, list):
            return [
                Choice(o["const"], str(o.get("title") or o["const"]))
                for o in options
                if isinstance(o, dict) and "const" in o
            ]
        values = source.get("enum")
        if not isinstance(values, list):
            return []
        titles = source.get("enumNames")  # 2025-06-18 style titles
        names = titles if isinstance(titles, list) and len(titles) == len(values) else values
        return [Choice(v, str(t)) for v, t in zip(values, names, strict=True)]

    def describe_type(self) -> str:
        if self.choices():
            return "choose several" if self.multiple else "choose one"
        fmt = self.schema.get("format")
        names = {"string": "text", "number": "number", "integer": "whole number", "boolean": "yes/no"}
        text = names.get(self.kind, self.kind)
        return f"{text}, {fmt}" if isinstance(fmt, str) else text

    def parse(self, text: str) -> Any:
        """The typed value for what the person typed; ValueError says what is wrong."""
        text = text.strip()
        choices = self.choices()
        if choices:
            picked = (
                [_pick(choices, part.strip()) for part in text.split(",")]
                if self.multiple
                else [_pick(choices, text)]
            )
            if self.multiple:
                _check_count(self.schema, len(picked))
                return [c.value for c in picked]
            return picked[0].value
        if self.kind == "boolean":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError("answer yes or no")
        if self.kind in ("number", "integer"):
            return _number(self.schema, text, integer=self.kind == "integer")
        return _string(self.schema, text)


def fields_of(requested_schema: object) -> list[Field]:
    schema = requested_schema if isinstance(requested_schema, dict) else {}
    properties = schema.get("properties")
    required = schema.get("required")
    required_names = set(required) if isinstance(required, list) else set()
    if not isinstance(properties, dict):
        return []
    return [
        Field(name, prop if isinstance(prop, dict) else {}, name in required_names)
        for name, prop in properties.items()
    ]


def default_content(requested_schema: object) -> dict[str, Any]:
    """The form filled with its defaults; ValueError names required fields that have none."""
    fields = fields_of(requested_schema)
    missing = [f.name for f in fields if f.required and not f.has_default]
    if missing:
        raise ValueError(f"required field(s) without a default: {', '.join(missing)}")
    return {f.name: f.default for f in fields if f.has_default}


def _pick(choices: list[Choice], text: str) -> Choice:
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    for choice in choices:
        if text in (str(choice.value), choice.title):
            return choice
    raise ValueError(f"choose 1-{len(choices)} or one of: {', '.join(str(c.value) for c in choices)}")


def _check_count(schema: dict[str, Any], count: int) -> None:
    low, high = schema.get("minItems"), schema.get("maxItems")
    if isinstance(low, int) and count < low:
        raise ValueError(f"choose at least {low}")
    if isinstance(high, int) and count > high:
        raise ValueError(f"choose at most {high}")


def _number(schema: dict[str, Any], text: str, *, integer: bool) -> int | float:
    try:
        value: int | float = int(text) if integer else float(text)
    except ValueError:
        raise ValueError("enter a whole number" if integer else "enter a number") from None
    if not integer and float(value).is_integer() and "." not in text and "e" not in text.lower():
        value = int(value)
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float) and value < low:
        raise ValueError(f"must be at least {low}")
    if isinstance(high, int | float) and value > high:
        raise ValueError(f"must be at most {high}")
    return value


def _string(schema: dict[str, Any], text: str) -> str:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if isinstance(low, int) and len(text) < low:
        raise ValueError(f"must be at least {low} characters")
    if isinstance(high, int) and len(text) > high:
        raise ValueError(f"must be at most {high} characters")
    fmt = schema.get("format")
    if fmt == "email" and ("@" not in text or text.startswith("@") or text.endswith("@")):
        raise ValueError("enter an email address")
    if fmt == "uri" and not urlparse(text).scheme:
        raise ValueError("enter a URI with a scheme, such as https://…")
    if fmt == "date":
        try:
            datetime.date.fromisoformat(text)
        except ValueError:
            raise ValueError("enter a date as YYYY-MM-DD") from None
    if fmt == "date-time":
        try:
            datetime.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("enter a date and time as YYYY-MM-DDTHH:MM:SS") from None
    return text
