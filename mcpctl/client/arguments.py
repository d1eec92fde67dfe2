"""Tool arguments from the command line: key=value coerced by the input schema, key:=json, --args."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mcpctl.errors import UsageError

_TRUE = frozenset({"true", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})


def base_arguments(spec: str | None, read_stdin: Callable[[], str]) -> dict[str, Any]:
    """--args: a JSON object inline, from @file, or from - (stdin)."""
    if spec is None:
        return {}
    if spec == "-":
        text, origin = read_stdin(), "stdin"
    elif spec.startswith("@"):
        path = Path(spec[1:]).expanduser()
        try:
            text, origin = path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise UsageError(f"--args {spec}: cannot read {path}: {exc.strerror}") from exc
    else:
        text, origin = spec, "--args"
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(
            f"{origin}: not valid JSON: {exc}", hint="--args takes a JSON object, @FILE or -"
        ) from exc
    if not isinstance(value, dict):
        raise UsageError(f"{origin}: tool arguments must be a JSON object, not {type(value).__name__}")
    return value


def parse_pairs(pairs: Sequence[str], schema: object) -> dict[str, Any]:
    """`key=value` (coerced by the property's schema) and `key:=json` (parsed as JSON); as in httpie,
    `key=@FILE` takes the file's text and `key:=@FILE.json` its JSON (`key=\\@x` is the text "@x")."""
    properties = _properties(schema)
    arguments: dict[str, Any] = {}
    for pair in pairs:
        raw_json = ":=" in pair and (pair.index(":=") < pair.index("=") if "=" in pair else True)
        key, _, value = pair.partition(":=") if raw_json else pair.partition("=")
        if not key or (not raw_json and "=" not in pair):
            raise UsageError(
                f"argument {pair!r} is not key=value or key:=json", hint="for example: message=hi count:=3"
            )
        if value.startswith("@"):
            value = _file_text(key, value[1:])
        elif value.startswith("\\@"):
            value = value[1:]
        if raw_json:
            try:
                arguments[key] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise UsageError(f"argument {key}: {value!r} is not valid JSON ({exc.msg})") from exc
        else:
            arguments[key] = coerce(value, properties.get(key), key)
    return arguments


def _file_text(key: str, name: str) -> str:
    path = Path(name).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"argument {key}: cannot read {path}: {exc.strerror}",
            hint="write key=@FILE with a file that exists (key=\\@text for a value starting with @)",
        ) from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"argument {key}: {path} is not UTF-8 text") from exc


def coerce(text: str, schema: object, key: str = "") -> Any:
    """The value `text` stands for under `schema`: strings stay strings, other types are parsed."""
    types = _types(schema)
    if not types or "string" in types:
        return text  # a string (or anything): keep what was typed, exactly
    for kind in types:
        try:
            return _convert(text, kind, schema if isinstance(schema, dict) else {})
        except ValueError:
            continue
    expected = " or ".join(types)
    raise UsageError(
        f"argument {key}: {text!r} is not a valid {expected}", hint=f"use {key}:=JSON to pass any JSON value"
    )


def _convert(text: str, kind: str, schema: dict[str, Any]) -> Any:
    """One JSON type's reading of `text`; ValueError when it is not one."""
    converter = _CONVERTERS.get(kind)
    if converter is None:
        raise ValueError(kind)
    return converter(text, schema)


def _number(text: str, schema: dict[str, Any]) -> int | float:
    number = float(text)
    # "3" for a number stays the integer 3: servers that compare or echo it see what was typed
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _boolean(text: str, schema: dict[str, Any]) -> bool:
    if text.lower() not in _TRUE | _FALSE:
        raise ValueError(text)
    return text.lower() in _TRUE


def _null(text: str, schema: dict[str, Any]) -> None:
    if text not in ("null", ""):
        raise ValueError(text)


def _array(text: str, schema: dict[str, Any]) -> list[Any]:
    if text.lstrip().startswith("["):
        value: list[Any] = _json_of(text, list)
        return value
    items = schema.get("items")
    return [coerce(part, items) for part in text.split(",")] if text else []


def _json_of(text: str, kind: type[Any]) -> Any:
    value = json.loads(text)
    if not isinstance(value, kind):
        raise ValueError(text)  # noqa: TRY004 - ValueError is what coerce() treats as "not this type"
    return value


_CONVERTERS: dict[str, Callable[[str, dict[str, Any]], Any]] = {
    "integer": lambda text, schema: int(text),
    "number": _number,
    "boolean": _boolean,
    "null": _null,
    "array": _array,
    "object": lambda text, schema: _json_of(text, dict),
}


def _types(schema: object) -> list[str]:
    """The JSON types a property accepts, looking through anyOf/oneOf; [] when unconstrained."""
    if not isinstance(schema, dict):
        return []
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    if "enum" in schema and isinstance(schema["enum"], list):
        found = {_json_type(v) for v in schema["enum"]}
        return [] if "string" in found else sorted(found)
    if "const" in schema:
        return [_json_type(schema["const"])]
    found_types: list[str] = []
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list):
            for option in options:
                for kind_name in _types(option):
                    if kind_name not in found_types:
                        found_types.append(kind_name)
    return found_types


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    # bool before int: True is an int to Python, a boolean to JSON
    for python, name in (
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (list, "array"),
        (dict, "object"),
    ):
        if isinstance(value, python):
            return name
    return "string"


def _properties(schema: object) -> dict[str, Any]:
    props = schema.get("properties") if isinstance(schema, dict) else None
    return props if isinstance(props, dict) else {}


def validate(arguments: dict[str, Any], schema: object, tool: str, help_command: str | None = None) -> None:
    """Check the arguments against the tool's inputSchema (JSON Schema 2020-12 unless it says otherwise).

    Raises UsageError listing every bad field with what was expected; the fix names `help_command`
    (default: `mcpctl call TOOL --help`), which shows the tool's arguments.
    """
    if not isinstance(schema, dict) or not schema:
        return
    if surely_valid(arguments, schema):
        return  # what jsonschema would say too, without importing it (a call should start fast)
    from jsonschema import Draft202012Validator, SchemaError, validators

    cls = validators.validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError:
        return  # the server's schema is broken: let the server judge the arguments
    problems = sorted(_describe(error) for error in cls(schema).iter_errors(arguments))
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems)
        raise UsageError(
            f"invalid arguments for {tool}:\n{lines}",
            hint=f"see `{help_command or f'mcpctl call {tool} --help'}`",
        )


# The keywords `surely_valid` understands; a schema with any other keyword goes to jsonschema.
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "$comment",
    }
)
_CHECKED = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "enum",
        "const",
        "items",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
    }
)
_DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        not isinstance(v, bool) and (isinstance(v, int) or (isinstance(v, float) and v.is_integer()))
    ),
    "number": lambda v: not isinstance(v, bool) and isinstance(v, int | float),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def surely_valid(value: Any, schema: object, *, root: bool = True) -> bool:
    """True only when `value` certainly satisfies `schema` (a Draft 2020-12 schema using the common
    keywords above); False means "not sure": jsonschema then decides, with its own messages."""
    if schema is True:
        return True
    if not isinstance(schema, dict):
        return False
    keys = set(schema)
    if root:
        if schema.get("$schema", _DRAFT_2020_12) != _DRAFT_2020_12:
            return False
        keys.discard("$schema")
    if not keys <= _ANNOTATIONS | _CHECKED:
        return False
    return _fits(value, schema)


def _fits(value: Any, schema: dict[str, Any]) -> bool:  # noqa: PLR0911 (one check per keyword)
    kinds = schema.get("type")
    if kinds is not None:
        listed = kinds if isinstance(kinds, list) else [kinds]
        if not listed or not all(isinstance(k, str) and k in _TYPE_CHECKS for k in listed):
            return False
        if not any(_TYPE_CHECKS[k](value) for k in listed):
            return False
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"] or []):
        return False
    if "const" in schema and not _same(value, schema["const"]):
        return False
    if _TYPE_CHECKS["number"](value) and not _in_range(value, schema):
        return False
    if isinstance(value, str) and not _sized(len(value), schema, "minLength", "maxLength"):
        return False
    if isinstance(value, list):
        if not _sized(len(value), schema, "minItems", "maxItems"):
            return False
        items = schema.get("items")
        if items is not None and not all(surely_valid(item, items, root=False) for item in value):
            return False
    if isinstance(value, dict):
        return _object_fits(value, schema)
    return True


def _object_fits(value: dict[str, Any], schema: dict[str, Any]) -> bool:
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(properties, dict) or not isinstance(required, list):
        return False
    if any(not isinstance(name, str) or name not in value for name in required):
        return False
    for name, item in value.items():
        if name in properties:
            if not surely_valid(item, properties[name], root=False):
                return False
        elif extra is False or (extra is not True and not surely_valid(item, extra, root=False)):
            return False
    return True


def _same(value: Any, option: Any) -> bool:
    """Equality as jsonschema has it, where it is certain: same JSON type and equal (else not sure)."""
    scalar = (str, bool, type(None))
    if isinstance(value, scalar) or isinstance(option, scalar):
        return type(value) is type(option) and value == option
    if _TYPE_CHECKS["number"](value) and _TYPE_CHECKS["number"](option):
        return bool(value == option)
    return False  # arrays and objects: leave it to jsonschema


def _in_range(number: float, schema: dict[str, Any]) -> bool:
    bounds = [schema.get(k) for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")]
    if not all(b is None or _TYPE_CHECKS["number"](b) for b in bounds):
        return False
    low, high, above, below = bounds
    return (
        (low is None or number >= low)
        and (high is None or number <= high)
        and (above is None or number > above)
        and (below is None or number < below)
    )


def _sized(size: int, schema: dict[str, Any], low_key: str, high_key: str) -> bool:
    low, high = schema.get(low_key), schema.get(high_key)
    if any(b is not None and (isinstance(b, bool) or not isinstance(b, int)) for b in (low, high)):
        return False
    return (low is None or size >= low) and (high is None or size <= high)


def _describe(error: Any) -> str:
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = f"{path}.{missing}" if path else missing
        expected = _expected(error.schema.get("properties", {}).get(missing))
        return f"{field}: missing (required{', expected ' + expected if expected else ''})"
    if error.validator == "additionalProperties":
        return f"{path or '(arguments)'}: {error.message}"
    expected = _expected(error.schema) if error.validator in ("type", "enum", "const") else ""
    detail = f" (expected {expected})" if expected else ""
    return f"{path or '(arguments)'}: {error.message}{detail}"


def _expected(schema: object) -> str:
    if not isinstance(schema, dict):
        return ""
    if isinstance(schema.get("enum"), list):
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    types = _types(schema)
    return " or ".join(types)


def suggest(name: str, names: Sequence[str]) -> list[str]:
    """Close names for a mistyped one: same name under another prefix first, then similar spellings."""
    tail = name.rsplit("__", 1)[-1]
    same_tail = [n for n in names if n != name and n.rsplit("__", 1)[-1] == tail]
    similar = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    similar_tail = difflib.get_close_matches(tail, [n.rsplit("__", 1)[-1] for n in names], n=5, cutoff=0.6)
    by_tail = [n for n in names if n.rsplit("__", 1)[-1] in similar_tail]
    result: list[str] = []
    for candidate in [*same_tail, *similar, *by_tail]:
        if candidate not in result:
            result.append(candidate)
    return result[:5]
