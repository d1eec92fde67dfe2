"""Shared pieces of the configuration schema: durations, and the frozen model that refuses unknown fields."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> Any:
    """Seconds from a number or a string such as "500ms", "30s", "5m", "1h", "90d"."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(
                f"{value!r} is not a duration; write seconds as a number, or a string such as "
                '"500ms", "30s", "5m", "1h" or "90d"'
            )
        return float(match.group(1)) * _UNITS[match.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
