"""WWW-Authenticate (RFC 9110 §11.6.1): the challenges of a 401/403 and the Bearer parameters MCP uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass
class Challenge:
    """One challenge: its scheme (lowercased), parameters (names lowercased) or a token68."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in a WWW-Authenticate value; tolerant of junk (it skips what it cannot read).

    Commas separate both challenges and parameters, so a word followed by `=` and a value is a
    parameter of the current challenge, and any other word starts a new challenge.
    """
    challenges: list[Challenge] = []
    current: Challenge | None = None
    i, n = 0, len(header)
    after_comma = True
    while i < n:
        if header[i] in " \t":
            i += 1
            continue
        if header[i] == ",":
            after_comma = True
            i += 1
            continue
        word = _TOKEN.match(header, i)
        if word is None:
            i += 1  # not a token: skip it
            continue
        j = _skip_space(header, word.end())
        if current is not None and _starts_param(header, j):
            value, i = _param_value(header, _skip_space(header, j + 1))
            current.params.setdefault(word.group().lower(), value)
        elif current is not None and not after_comma and not current.params and current.token68 is None:
            token68 = _TOKEN68.match(header, i)
            current.token68 = token68.group() if token68 else word.group()
            i = token68.end() if token68 else word.end()
        else:
            current = Challenge(word.group().lower())
            challenges.append(current)
            i = word.end()
        after_comma = False
    return challenges


def bearer_params(header: str) -> dict[str, str]:
    """The parameters of the Bearer challenge (resource_metadata, scope, error, ...), or {}."""
    for challenge in parse_challenges(header):
        if challenge.scheme == "bearer":
            return challenge.params
    return {}


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _starts_param(text: str, i: int) -> bool:
    """`=` followed by a value (not by more `=`, which would be token68 padding)."""
    if i >= len(text) or text[i] != "=":
        return False
    k = _skip_space(text, i + 1)
    return k < len(text) and (text[k] == '"' or _TOKEN.match(text, k) is not None)


def _param_value(text: str, i: int) -> tuple[str, int]:
    if i < len(text) and text[i] == '"':
        out: list[str] = []
        i += 1
        while i < len(text) and text[i] != '"':
            if text[i] == "\\" and i + 1 < len(text):
                i += 1
            out.append(text[i])
            i += 1
        return "".join(out), i + 1
    token = _TOKEN.match(text, i)
    return (token.group(), token.end()) if token else ("", i)
