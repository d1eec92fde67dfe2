"""Tool arguments: key=value coercion by schema, key:=json, --args sources, validation, suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpctl.client.arguments import base_arguments, coerce, parse_pairs, suggest, surely_valid, validate
from mcpctl.errors import UsageError

SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "loud": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "integer"}},
        "options": {"type": "object"},
        "maybe": {"type": ["integer", "null"]},
        "level": {"enum": ["low", "high"]},
        "size": {"enum": [1, 2, 3]},
        "either": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
    },
    "required": ["message", "count"],
}


def test_values_are_coerced_by_the_property_type() -> None:
    pairs = [
        "message=42",
        "count=7",
        "ratio=2.5",
        "loud=yes",
        "tags=1,2,3",
        'options={"a": 1}',
        "maybe=null",
        "level=high",
        "size=2",
        "either=true",
    ]
    assert parse_pairs(pairs, SCHEMA) == {
        "message": "42",
        "count": 7,
        "ratio": 2.5,
        "loud": True,
        "tags": [1, 2, 3],
        "options": {"a": 1},
        "maybe": None,
        "level": "high",
        "size": 2,
        "either": True,
    }


def test_a_whole_number_for_a_number_property_stays_an_integer() -> None:
    assert coerce("3", {"type": "number"}) == 3
    assert isinstance(coerce("3", {"type": "number"}), int)
    assert coerce("3.0", {"type": "number"}) == 3.0
    assert coerce("[1, 2]", {"type": "array"}) == [1, 2]


def test_unknown_properties_and_untyped_ones_stay_strings() -> None:
    assert parse_pairs(["other=5", "message=a=b"], SCHEMA) == {"other": "5", "message": "a=b"}


def test_json_pairs_are_parsed_as_json_whatever_the_schema() -> None:
    assert parse_pairs(['message:="quoted"', "count:=3", "tags:=[4,5]", "x:=null"], SCHEMA) == {
        "message": "quoted",
        "count": 3,
        "tags": [4, 5],
        "x": None,
    }


def test_malformed_pairs_are_usage_errors_that_say_how() -> None:
    with pytest.raises(UsageError, match="not key=value"):
        parse_pairs(["message"], SCHEMA)
    with pytest.raises(UsageError, match="count: 'seven' is not a valid integer") as caught:
        parse_pairs(["count=seven"], SCHEMA)
    assert "count:=JSON" in str(caught.value)
    with pytest.raises(UsageError, match="not valid JSON"):
        parse_pairs(["count:=[1"], SCHEMA)


def test_args_come_inline_from_a_file_or_from_stdin(tmp_path: Path) -> None:
    path = tmp_path / "args.json"
    path.write_text('{"message": "from file"}')
    assert base_arguments('{"count": 1}', lambda: "") == {"count": 1}
    assert base_arguments(f"@{path}", lambda: "") == {"message": "from file"}
    assert base_arguments("-", lambda: '{"loud": true}') == {"loud": True}
    assert base_arguments(None, lambda: "") == {}
    with pytest.raises(UsageError, match="must be a JSON object"):
        base_arguments("[1]", lambda: "")
    with pytest.raises(UsageError, match="cannot read"):
        base_arguments(f"@{tmp_path / 'missing.json'}", lambda: "")


def test_validation_lists_every_bad_field_with_what_was_expected() -> None:
    with pytest.raises(UsageError) as caught:
        validate({"count": "x", "level": "medium"}, SCHEMA, "demo")
    text = str(caught.value)
    assert "invalid arguments for demo" in text
    assert "message: missing (required, expected string)" in text
    assert "count: 'x' is not of type 'integer' (expected integer)" in text
    assert "level: 'medium' is not one of ['low', 'high'] (expected one of \"low\", \"high\")" in text


def test_valid_arguments_and_broken_schemas_pass() -> None:
    validate({"message": "hi", "count": 1}, SCHEMA, "demo")
    validate(
        {"anything": 1}, {"type": "object", "properties": {"x": {"type": 12}}}, "broken"
    )  # the server judges
    validate({}, None, "no schema")


def test_draft_07_schemas_are_validated_by_their_own_draft() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
    }
    with pytest.raises(UsageError, match="n: missing"):
        validate({}, schema, "old")


def test_suggestions_find_the_same_tool_under_a_prefix_and_near_spellings() -> None:
    names = ["everything__echo", "everything__add", "time__now", "echo_all"]
    assert suggest("echo", names)[0] == "everything__echo"
    assert suggest("everything__ecko", names)[0] == "everything__echo"
    assert suggest("zzz", names) == []


def test_at_file_reads_a_value_from_a_file_as_httpie_does(tmp_path: Path) -> None:
    text = tmp_path / "note.txt"
    text.write_text("line one\nline two\n")
    numbers = tmp_path / "tags.json"
    numbers.write_text("[1, 2, 3]")
    count = tmp_path / "count.txt"
    count.write_text("7")
    parsed = parse_pairs([f"message=@{text}", f"tags:=@{numbers}", f"count=@{count}"], SCHEMA)
    # the text exactly (a string property keeps the newline); coerced like typed text otherwise
    assert parsed == {"message": "line one\nline two\n", "tags": [1, 2, 3], "count": 7}
    assert parse_pairs(["message=\\@home"], SCHEMA) == {"message": "@home"}


def test_a_missing_at_file_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"argument message: cannot read .*nowhere\.txt"):
        parse_pairs([f"message=@{tmp_path / 'nowhere.txt'}"], SCHEMA)
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(UsageError, match=r"argument options: .* is not valid JSON"):
        parse_pairs([f"options:=@{bad}"], SCHEMA)


# -- the fast check in front of jsonschema: it may only say "valid" where jsonschema agrees ----------

SCALARS = (
    st.none() | st.booleans() | st.integers(-6, 6) | st.floats(-6, 6, allow_nan=False) | st.text(max_size=3)
)
NUMBERS = st.integers(-3, 3) | st.floats(-3, 3, allow_nan=False)
# One or two rules on one argument: dense enough to reach every keyword's edge (0, True, "", 1.0).
RULES = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object"])
        | st.lists(
            st.sampled_from(["string", "integer", "number", "boolean", "null"]), min_size=1, max_size=2
        ),
        "enum": st.lists(SCALARS, min_size=1, max_size=3),
        "const": SCALARS,
        "minimum": NUMBERS,
        "maximum": NUMBERS,
        "exclusiveMinimum": NUMBERS,
        "exclusiveMaximum": NUMBERS,
        "minLength": st.integers(0, 3),
        "maxLength": st.integers(0, 3),
        "minItems": st.integers(0, 3),
        "maxItems": st.integers(0, 3),
        "format": st.sampled_from(["date-time", "email"]),
    },
).filter(lambda rules: 1 <= len(rules) <= 2)
# Nested objects and arrays, as some tools declare.
SCHEMAS = st.recursive(
    RULES,
    lambda inner: (
        st.fixed_dictionaries(
            {"type": st.just("object")},
            optional={
                "properties": st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
                "required": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True),
                "additionalProperties": st.booleans() | inner,
            },
        )
        | st.fixed_dictionaries(
            {"type": st.just("array")}, optional={"items": inner, "minItems": st.integers(0, 2)}
        )
    ),
    max_leaves=6,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), inner, max_size=4)
    ),
    max_leaves=8,
)


def _agrees(value: object, schema: dict[str, object]) -> None:
    from jsonschema import Draft202012Validator, SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return  # mcpctl lets the server judge a broken schema either way
    if surely_valid(value, schema):
        assert list(Draft202012Validator(schema).iter_errors(value)) == []


@settings(max_examples=1500, deadline=None)
@given(value=SCALARS | st.lists(SCALARS, max_size=4), rules=RULES)
def test_the_fast_check_agrees_with_jsonschema_rule_by_rule(value: object, rules: dict[str, object]) -> None:
    _agrees({"a": value}, {"type": "object", "properties": {"a": rules}})


@settings(max_examples=400, deadline=None)
@given(value=VALUES, schema=SCHEMAS)
def test_the_fast_check_agrees_with_jsonschema_on_nested_schemas(
    value: object, schema: dict[str, object]
) -> None:
    _agrees(value, schema)


def test_the_fast_check_handles_the_usual_tool_schemas_and_defers_the_rest() -> None:
    assert surely_valid({"message": "hi", "count": 3}, SCHEMA)
    assert surely_valid({"message": "hi", "count": 3.0, "ratio": 1, "tags": [1]}, SCHEMA)
    assert not surely_valid({"message": "hi"}, SCHEMA)  # count is required
    assert not surely_valid({"message": "hi", "count": True}, SCHEMA)  # a boolean is not an integer
    assert not surely_valid({"message": 1, "count": 1}, {**SCHEMA, "$defs": {}})  # unknown keyword
    assert not surely_valid({}, {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"})
    assert surely_valid({}, {"type": "object", "$schema": "https://json-schema.org/draft/2020-12/schema"})
