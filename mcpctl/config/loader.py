"""Load a configuration file (TOML, or the mcpServers JSON shape) into a validated Config."""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mcpctl.config.importer import from_client_json, servers_key
from mcpctl.config.models import Config
from mcpctl.errors import ConfigError

GENERIC_FIX = "see README, Configuration, for this field"
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def load_config(path: Path) -> Config:
    """Read and validate `path`; every problem raises ConfigError naming the file, field and fix."""
    if path.suffix.lower() == ".json":
        return load_client_json(path)[1]
    return validate_config(str(path), parse_config_text(str(path), _read_text(path), json_shape=False))


def load_client_json(path: Path) -> tuple[dict[str, Any], Config]:
    """A client's JSON file (Claude, Cursor, VS Code): the config as data (to write as TOML), validated."""
    shown = str(path)
    raw = _read_json(shown, _read_text(path))
    data = from_client_json(shown, raw)
    # Name fields as the user's file does: mcpServers.x.args, not servers.x.args.
    return data, validate_config(shown, data, servers_root=servers_key(raw) or "servers")


def _read_text(path: Path) -> str:
    shown = str(path)
    try:
        return path.read_text(encoding="utf-8-sig")  # -sig: editors on Windows add a byte order mark
    except FileNotFoundError:
        raise ConfigError(
            shown, "", "file not found", "check the path, or create it (see README, Configuration)"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(shown, f"byte {exc.start}", "the file is not UTF-8", "save it as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(shown, "", f"cannot read: {exc.strerror}", "check the file's permissions") from exc


def parse_config_text(shown: str, text: str, *, json_shape: bool) -> dict[str, Any]:
    if json_shape:
        return from_client_json(shown, _read_json(shown, text))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        field = f"line {position.group(1)} column {position.group(2)}" if position else ""
        problem = f"invalid TOML: {message[: position.start()] if position else message}"
        raise ConfigError(shown, field, problem, "fix the TOML syntax at the position shown") from exc


def _read_json(shown: str, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            shown, f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}", "fix the JSON syntax"
        ) from exc


def validate_config(shown: str, data: dict[str, Any], *, servers_root: str = "servers") -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise _config_error(shown, exc, servers_root) from None


def _config_error(shown: str, exc: ValidationError, servers_root: str) -> ConfigError:
    problems = [(_field_name(err["loc"], servers_root), *_problem_and_fix(err)) for err in exc.errors()]
    field, problem, fix = problems[0]
    return ConfigError(shown, field, problem, fix, more=problems[1:])


def _field_name(loc: tuple[int | str, ...], servers_root: str) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] == "servers":
        parts[0] = servers_root
    return ".".join(parts) or "(top level)"


def _problem_and_fix(err: Any) -> tuple[str, str]:
    if err["type"] == "value_error":
        # Our validators word their message "problem; fix" (pydantic would prefix "Value error, ").
        message = str(err.get("ctx", {}).get("error", err["msg"]))
        problem, separator, fix = message.partition("; ")
        return problem, fix if separator else GENERIC_FIX
    return err["msg"], _fix_for(err)


def _fix_for(err: Any) -> str:  # noqa: PLR0911 (one answer per kind of mistake)
    kind = err["type"]
    loc = err["loc"]
    name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        known = _known_fields(loc)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        listing = f"known fields: {', '.join(known)}"
        return f"did you mean `{close[0]}`? ({listing})" if close else f"remove `{name}` ({listing})"
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
    return GENERIC_FIX


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
