"""Which scopes to ask for: the spec's selection order, offline_access, and the step-up union."""

from __future__ import annotations

from collections.abc import Iterable

OFFLINE_ACCESS = "offline_access"


def split_scopes(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Scopes from a space-separated string (or several), each once, in their first order."""
    if value is None:
        return ()
    words = value.split() if isinstance(value, str) else [w for item in value for w in item.split()]
    return tuple(dict.fromkeys(words))


def union(*sets: Iterable[str]) -> tuple[str, ...]:
    """Every scope of every set, each once, in first-seen order (the step-up rule of 2026-07-28)."""
    return tuple(dict.fromkeys(scope for scopes in sets for scope in scopes))


def initial_scopes(
    explicit: Iterable[str], challenged: Iterable[str], supported: Iterable[str] | None
) -> tuple[str, ...]:
    """The scopes of a first authorization: what the person asked for (plus the challenge's), else
    the 401 challenge's `scope`, else all of the resource's `scopes_supported`, else none (omitted)."""
    asked, challenge = tuple(explicit), tuple(challenged)
    if asked:
        return union(asked, challenge)
    if challenge:
        return challenge
    return tuple(supported or ())


def with_offline_access(scopes: tuple[str, ...], server_supported: Iterable[str] | None) -> tuple[str, ...]:
    """Ask for a refresh token with offline_access, but only where the authorization server lists
    it, and only when scopes are asked for at all (an omitted scope means the server's default)."""
    if not scopes or server_supported is None or OFFLINE_ACCESS not in server_supported:
        return scopes
    return union(scopes, (OFFLINE_ACCESS,))


def without_offline_access(scopes: Iterable[str]) -> tuple[str, ...]:
    """Scopes that are about the resource (offline_access is about refresh tokens)."""
    return tuple(s for s in scopes if s != OFFLINE_ACCESS)
