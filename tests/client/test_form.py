"""Elicitation forms: typed answers per field kind, defaults for --yes."""

from __future__ import annotations

import pytest

from mcpctl.client.form import default_content, fields_of

FORM = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Name", "minLength": 2},
        "age": {"type": "integer", "minimum": 0, "maximum": 150, "default": 30},
        "score": {"type": "number", "default": 95.5},
        "ok": {"type": "boolean", "default": True},
        "color": {"type": "string", "enum": ["red", "green"], "default": "red"},
        "hero": {
            "type": "string",
            "oneOf": [{"const": "h1", "title": "Superman"}, {"const": "h2", "title": "Batman"}],
        },
        "pets": {"type": "array", "items": {"type": "string", "enum": ["cat", "dog", "fish"]}, "maxItems": 2},
        "email": {"type": "string", "format": "email"},
        "born": {"type": "string", "format": "date"},
        "legacy": {"type": "string", "enum": ["a", "b"], "enumNames": ["Alpha", "Beta"]},
    },
    "required": ["name"],
}


def field(name: str):  # type: ignore[no-untyped-def]
    return next(f for f in fields_of(FORM) if f.name == name)


def test_fields_keep_their_order_titles_and_requiredness() -> None:
    fields = fields_of(FORM)
    assert [f.name for f in fields][:3] == ["name", "age", "score"]
    assert field("name").required
    assert field("name").title == "Name"
    assert not field("age").required
    assert field("age").default == 30


@pytest.mark.parametrize(
    ("name", "typed", "value"),
    [
        ("name", "Ann", "Ann"),
        ("age", " 42 ", 42),
        ("score", "7", 7),
        ("score", "7.5", 7.5),
        ("ok", "no", False),
        ("color", "2", "green"),
        ("color", "red", "red"),
        ("hero", "Batman", "h2"),
        ("hero", "1", "h1"),
        ("pets", "1, dog", ["cat", "dog"]),
        ("email", "a@example.com", "a@example.com"),
        ("born", "2000-01-31", "2000-01-31"),
        ("legacy", "Beta", "b"),
    ],
)
def test_answers_are_parsed_to_the_field_type(name: str, typed: str, value: object) -> None:
    assert field(name).parse(typed) == value


@pytest.mark.parametrize(
    ("name", "typed", "problem"),
    [
        ("name", "A", "at least 2 characters"),
        ("age", "old", "whole number"),
        ("age", "200", "at most 150"),
        ("ok", "maybe", "yes or no"),
        ("color", "blue", "choose 1-2"),
        ("pets", "1,2,3", "at most 2"),
        ("email", "nobody", "email address"),
        ("born", "31/01/2000", "YYYY-MM-DD"),
    ],
)
def test_bad_answers_say_what_is_wrong(name: str, typed: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        field(name).parse(typed)


def test_defaults_fill_the_form_for_yes() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer", "default": 1}, "b": {"type": "string"}},
    }
    assert default_content(schema) == {"a": 1}
    with pytest.raises(ValueError, match=r"required field\(s\) without a default: name"):
        default_content(FORM)
