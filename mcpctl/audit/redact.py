"""Redaction before anything is written: known secret values, secret keys and secret-looking strings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Final

import orjson
import re2  # type: ignore[import-untyped]  # google-re2: no type information of its own

REDACTED: Final = "[REDACTED]"
ELLIPSIS: Final = "…"

# Key names (compared lower-cased with separators removed, so `API-Key`, `api_key` and `apiKey` are one
# name) whose values are never written. A key matches when it equals a name or ends with one, so
# `github_token` and `db_password` match while `max_tokens` does not.
DEFAULT_KEYS: Final = (
    "authorization",
    "cookie",
    "token",
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "secretkey",
    "apikey",
    "privatekey",
    "accesskey",
    "credential",
    "credentials",
    "sessionid",
    "clientsecret",
)

# Strings that look like credentials wherever they appear (arguments, outputs, error messages). Each
# alternative starts with a literal character, which lets the regex engine skip ahead quickly; case
# variants are spelt out for that reason.
_KV_TAIL = r"[\"']?\s*[=:]\s*[\"']?[^\s&,;\"']+"
DEFAULT_PATTERNS: Final = (
    r"B(?i:earer|asic)\s+[A-Za-z0-9\-._~+/]{8,}=*",  # Authorization header values
    r"b(?i:earer|asic)\s+[A-Za-z0-9\-._~+/]{8,}=*",
    r"mcpk_[A-Za-z0-9_\-]{8,}",  # mcpctl API keys
    r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",  # JWTs (JWS compact form)
    r"A(?:KIA|SIA)[0-9A-Z]{16}",  # AWS access key ids
    r"gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{20,}",  # GitHub fine-grained tokens
    r"glpat-[A-Za-z0-9_\-]{20,}",  # GitLab tokens
    r"xox[abposr]-[A-Za-z0-9\-]{10,}",  # Slack tokens
    r"AIza[0-9A-Za-z_\-]{35}",  # Google API keys
    r"sk_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe keys
    r"rk_(?:live|test)_[A-Za-z0-9]{16,}",
    r"sk-[A-Za-z0-9_\-]{20,}",  # OpenAI / Anthropic style keys
    # PEM private keys; a block cut short by the size budget is redacted to the end of the string
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
    # key=value and "key": "value" inside text (a tool that returns JSON or a config file as text)
    r"P(?i:ASSW(?:OR)?D)" + _KV_TAIL,
    r"p(?i:assw(?:or)?d)" + _KV_TAIL,
    r"S(?i:ECRET)" + _KV_TAIL,
    r"s(?i:ecret)" + _KV_TAIL,
    r"T(?i:OKEN)" + _KV_TAIL,
    r"t(?i:oken)" + _KV_TAIL,
    r"A(?i:PI[_-]?KEY)" + _KV_TAIL,
    r"a(?i:pi[_-]?key)" + _KV_TAIL,
    r"://[^/\s:@]+:[^/\s@]+@",  # user:password@ in URLs
)
_KEYED = re.compile(r"^[^=:]*[=:]\s*[\"']?")
# Past this length an ASCII string is first screened by RE2 for anything the default patterns could
# match: Python's `re` reads about 19 ns a character with them (each position tries every
# alternative that starts with its letter), RE2 about 1.5 ns, plus about 1 µs a call, so the two
# break even near 64 characters. Only a string the screen flags is searched again by `re`, which
# decides what is replaced.
_SCREEN_CHARS: Final = 64

# A string longer than its budget is cut after this much extra, so that a secret straddling the cut
# is still seen whole by the patterns before the final cut.
_LOOKAHEAD: Final = 4096
# No default pattern matches fewer characters (`token=x`), so shorter strings skip the regex.
_SHORTEST_SECRET: Final = 7
_MEMO_CHARS: Final = 64
_MEMO_ENTRIES: Final = 4096
_MAX_DEPTH: Final = 32
_SCALAR_COST: Final = 4
_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


# Shorter secret values are not redacted: replacing every "abc" would mangle ordinary text.
MIN_SECRET_CHARS: Final = 4


class KnownSecrets:
    """The exact values of the secrets mcpctl resolved (`${keyring:NAME}`), and the one place that
    replaces them in text: the audit trail, the servers' stderr logs and tails, the admin API.

    The secrets layer adds each value it loads; values are never removed (a child may still echo
    a value after the secret changed). Besides each value, its JSON-escaped form and each of its
    lines are replaced (a multi-line key shows up line by line in a log).
    """

    def __init__(self) -> None:
        self._values: tuple[str, ...] = ()  # longest first: a value inside another goes second
        self._listeners: list[Callable[[], None]] = []

    def __bool__(self) -> bool:
        return bool(self._values)

    def add(self, values: Iterable[str]) -> None:
        known = set(self._values)
        for value in values:
            escaped = orjson.dumps(value)[1:-1].decode()
            known.update(f for f in (value, escaped, *value.splitlines()) if len(f) >= MIN_SECRET_CHARS)
        if len(known) != len(self._values):
            self._values = tuple(sorted(known, key=len, reverse=True))
            for listener in self._listeners:
                listener()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` when values are added (caches of scrubbed text must be dropped)."""
        self._listeners.append(listener)

    def scrub(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def scrub_all(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string scrubbed (keys included)."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub(str(k)): self.scrub_all(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_all(v) for v in value]
        return value


def normalize_key(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def combine_patterns(patterns: Iterable[str]) -> re.Pattern[str]:
    """One alternation of patterns that use no groups of their own (like the defaults); a leading
    `(?i)` becomes a scoped `(?i:...)` group."""
    parts = []
    for pattern in patterns:
        match = _GLOBAL_FLAGS.match(pattern)
        scoped = f"(?{match.group(1)}:{pattern[match.end() :]})" if match else pattern
        parts.append(f"(?:{scoped})")
    return re.compile("|".join(parts))


def _screen_source(pattern: str) -> str:
    r"""`pattern` (Python `re` syntax, as the defaults are written) for RE2, matching the same ASCII
    strings: Python's `\s` there also takes \v and \x1c-\x1f, RE2's does not; RE2 spells `\Z` `\z`."""
    space = r"\t\n\x0b\f\r\x1c-\x1f "
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            pair = pattern[i : i + 2]
            if pair == r"\s":
                pair = space if in_class else f"[{space}]"
            elif pair == r"\Z":
                pair = r"\z"
            out.append(pair)
            i += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


_DEFAULTS = combine_patterns(DEFAULT_PATTERNS)
_SCREEN = re2.compile(_screen_source(_DEFAULTS.pattern))


class Redactor:
    """Makes a bounded, redacted copy of any JSON-like value; never mutates what it is given."""

    def __init__(
        self, keys: Iterable[str] = (), patterns: Iterable[str] = (), secrets: KnownSecrets | None = None
    ) -> None:
        self._secrets = secrets if secrets is not None else KnownSecrets()
        self._keys = tuple({normalize_key(k) for k in (*DEFAULT_KEYS, *keys) if normalize_key(k)})
        self._defaults = _DEFAULTS
        # A user's patterns stay separate: their group numbers and names must not collide.
        self._extra = tuple(re.compile(p) for p in patterns)
        self._known: dict[str, bool] = {}  # key name -> secret?; key names repeat, so this is cached
        self._seen: dict[str, str] = {}  # short string -> its redacted form; values like "text" repeat
        self._secrets.on_change(self._seen.clear)  # a memoised string may hold a value known only now

    def secret_key(self, name: str) -> bool:
        known = self._known.get(name)
        if known is None:
            norm = normalize_key(name)
            known = any(norm.endswith(k) for k in self._keys)
            if len(self._known) > 4096:
                self._known.clear()  # bound the cache against clients that invent key names
            self._known[name] = known
        return known

    def text(self, value: str, limit: int | None = None) -> str:
        """A string with secrets replaced, cut to `limit` characters (with a trailing ellipsis)."""
        if limit is not None and len(value) > limit:
            return self._scrub(value[: limit + _LOOKAHEAD])[:limit] + ELLIPSIS
        return self._scrub(value)

    def copy(self, value: Any, budget: int, skip: str | None = None) -> tuple[Any, bool]:
        """A redacted copy of `value` about `budget` characters of JSON at most, and whether it was cut.

        The walk stops when the budget is spent, so its cost is bounded by the budget, not by the
        size of the value (a 10 MB tool result costs the same as a 10 KB one). A top-level key
        named `skip` is left out.
        """
        walk = _Walk(self, budget)
        if type(value) is dict:
            return walk.mapping(value, 0, skip), walk.truncated
        return walk.value(value, 0), walk.truncated

    def _scrub(self, value: str) -> str:
        if len(value) > _MEMO_CHARS:
            return self._scrub_now(value)
        seen = self._seen.get(value)
        if seen is None:
            seen = self._scrub_now(value)
            if len(self._seen) >= _MEMO_ENTRIES:
                self._seen.clear()  # bound the memo against clients that send ever-new strings
            self._seen[value] = seen
        return seen

    def _scrub_now(self, value: str) -> str:
        # Known values first: a pattern replacing part of one would leave the rest of it unmatched.
        out = self._secrets.scrub(value) if self._secrets else value
        if len(out) >= _SHORTEST_SECRET and (
            len(out) <= _SCREEN_CHARS or not out.isascii() or _SCREEN.search(out.encode()) is not None
        ):
            out = self._defaults.sub(_replacement, out)
        for pattern in self._extra:
            out = pattern.sub(REDACTED, out)
        return out


def _replacement(match: re.Match[str]) -> str:
    """Keep what says what was there (`password=`, `https://...@`), replace the secret itself."""
    text = match.group()
    if text.startswith("://"):
        return f"://{REDACTED}@"
    if text[:5].lower() in ("passw", "secre", "token", "api_k", "api-k", "apike"):
        keyed = _KEYED.match(text)
        if keyed is not None:
            return keyed.group() + REDACTED
    return REDACTED


class _Walk:
    __slots__ = ("left", "redactor", "truncated")

    def __init__(self, redactor: Redactor, budget: int) -> None:
        self.redactor = redactor
        self.left = budget
        self.truncated = False

    def value(self, value: Any, depth: int) -> Any:  # noqa: PLR0911 - one return per JSON type, fastest first
        kind = type(value)
        if kind is str:
            if len(value) > self.left:
                self.truncated = True
                limit = max(self.left, 0)
                self.left = -1
                return self.redactor.text(value, limit)
            self.left -= len(value) + 2
            return self.redactor._scrub(value)
        if kind is dict:
            return self.mapping(value, depth)
        if kind is list or kind is tuple:
            return self.sequence(value, depth)
        self.left -= _SCALAR_COST
        if value is None or kind is int or kind is float or kind is bool:
            return value
        if isinstance(value, dict):
            return self.mapping(value, depth)
        if isinstance(value, list | tuple):
            return self.sequence(value, depth)
        if isinstance(value, bool | int | float):
            return value
        return self.value(str(value), depth)

    def mapping(self, value: dict[Any, Any], depth: int, skip: str | None = None) -> dict[str, Any]:
        if depth >= _MAX_DEPTH:
            self.truncated = True
            return {ELLIPSIS: "nested too deeply"}
        out: dict[str, Any] = {}
        redactor = self.redactor
        known, seen = redactor._known, redactor._seen
        left = self.left
        for key, item in value.items():
            if left <= 0:
                self.truncated = True
                out[ELLIPSIS] = f"{len(value) - len(out)} more"
                break
            name = key if type(key) is str else str(key)
            if name == skip:
                continue
            left -= len(name) + 4
            secret = known.get(name)
            if secret is None:
                secret = redactor.secret_key(name)
            if secret:
                left -= len(REDACTED)
                out[name] = REDACTED
                continue
            # Inline fast paths for what most values are: numbers and short, already-seen strings.
            kind = type(item)
            if kind is str and len(item) <= left:
                cached = seen.get(item)
                if cached is not None:
                    left -= len(item) + 2
                    out[name] = cached
                    continue
            elif kind is int or kind is float or kind is bool or item is None:
                left -= _SCALAR_COST
                out[name] = item
                continue
            self.left = left
            if kind is dict:
                out[name] = self.mapping(item, depth + 1)
            elif kind is list:
                out[name] = self.sequence(item, depth + 1)
            else:
                out[name] = self.value(item, depth + 1)
            left = self.left
        self.left = left
        return out

    def sequence(self, value: list[Any] | tuple[Any, ...], depth: int) -> list[Any]:
        if depth >= _MAX_DEPTH:
            self.truncated = True
            return [ELLIPSIS]
        out: list[Any] = []
        for item in value:
            if self.left <= 0:
                self.truncated = True
                out.append(f"{ELLIPSIS} {len(value) - len(out)} more")
                break
            self.left -= 1
            # MCP content is a list of small objects: straight to them, without the dispatch
            out.append(self.mapping(item, depth + 1) if type(item) is dict else self.value(item, depth + 1))
        return out
