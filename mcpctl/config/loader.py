"""Load a configuration file (TOML, or the mcpServers JSON shape) into a validated Config."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mcpctl.config.importer import from_client_json
from mcpctl.config.models import Config
from mcpctl.errors import ConfigError


def load_config(path: Path) -> Config:
    """Read and validate `path`; every problem raises ConfigError naming the file, field and fix."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(shown, "", "file not found", "check the path, or create it (see README, Configuration)") from None
    except OSError as exc:
        raise ConfigError(shown, "", f"cannot read: {exc.strerror}", "check the file's permissions") from exc
    data = parse_config_text(shown, text, json_shape=path.suffix.lower() == ".json")
    return validate_config(shown, data)


def parse_config_text(shown: str, text: str, *, json_shape: bool) -> dict[str, Any]:
    if json_shape:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                shown, f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}", "fix the JSON syntax"
            ) from exc
        return from_client_json(shown, raw)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(shown, "", f"invalid TOML: {exc}", "fix the TOML syntax at the position shown") from exc


def validate_config(shown: str, data: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise _config_error(shown, exc) from None


def _config_error(shown: str, exc: ValidationError) -> ConfigError:
    problems = [(_field_name(err["loc"]), err["msg"], _fix_for(err)) for err in exc.errors()]
    field, problem, fix = problems[0]
    return ConfigError(shown, field, problem, fix, more=problems[1:])


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _fix_for(err: Any) -> str:
    kind = err["type"]
    loc = err["loc"]
    name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        return f"remove `{name}` or check its spelling; known fields: {', '.join(_known_fields(loc))}"
    if kind == "missing":
        return f"add `{name}`"
    if kind.startswith("list_"):
        return f'write `{name}` as a list, e.g. {name} = ["a", "b"]'
    if kind.startswith("dict_") or kind == "model_type":
        return f"write `{name}` as a table, e.g. [{'.'.join(str(p) for p in loc)}]"
    if kind in ("int_parsing", "int_type", "float_parsing", "float_type"):
        return f"write `{name}` as a number"
    if kind in ("bool_parsing", "bool_type"):
        return f"write `{name}` as true or false"
    if kind == "string_type":
        return f'write `{name}` as a quoted string, e.g. {name} = "..."'
    if kind == "literal_error":
        return "use one of the values listed"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"choose a value for `{name}` in the allowed range"
    return "see README, Configuration, for this field"


def _known_fields(loc: tuple[int | str, ...]) -> list[str]:
    """The field names valid where an unknown field was found, to suggest the right spelling."""
    model: type[BaseModel] = Config
    path = list(loc[:-1])
    while path:
        part = path.pop(0)
        field = model.model_fields.get(str(part))
        if field is None:
            break
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
            continue
        args = getattr(annotation, "__args__", ())
        inner = args[-1] if args else None
        if isinstance(inner, type) and issubclass(inner, BaseModel) and path:
            path.pop(0)  # skip the dict key (a server's name)
            model = inner
            continue
        break
    return sorted(model.model_fields)
