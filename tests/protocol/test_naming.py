"""Exposed names: always valid for strict LLM APIs, deterministic, stable, readable, collision-free."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from mcpctl.protocol.naming import exposed_name, is_valid_prefix

STRICT = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
VALID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
prefixes = st.text(VALID_CHARS, max_size=32)  # what the configuration admits
originals = st.text(max_size=200)  # anything a server might call a tool, valid or not
valid_originals = st.text(VALID_CHARS, min_size=1, max_size=20)


@given(prefixes, originals)
def test_every_exposed_name_is_strictly_valid(prefix: str, original: str) -> None:
    assert STRICT.match(exposed_name(prefix, original))


@given(prefixes, originals)
def test_names_are_deterministic(prefix: str, original: str) -> None:
    assert exposed_name(prefix, original) == exposed_name(prefix, original)


def test_names_are_stable_across_releases() -> None:
    """Clients and LLM prompt caches remember names: the repair hash must never change."""
    assert exposed_name("files", "read") == "files__read"
    assert exposed_name("files", "fs.read_file") == "files__fs_read_file-e63962"
    assert exposed_name("", "日本語") == "___-f15f20"
    assert exposed_name("x", "a" * 80) == "x__" + "a" * 54 + "-3e4803"


@given(prefixes, valid_originals)
def test_valid_names_stay_readable(prefix: str, original: str) -> None:
    candidate = f"{prefix}__{original}" if prefix else original
    if len(candidate) <= 64:
        assert exposed_name(prefix, original) == candidate


@given(prefixes.filter(bool), originals)
def test_repaired_names_keep_the_prefix_readable(prefix: str, original: str) -> None:
    assert exposed_name(prefix, original).startswith(f"{prefix}__")


@given(st.lists(st.tuples(prefixes, originals), min_size=2, max_size=30, unique=True))
def test_repaired_names_do_not_collide(pairs: list[tuple[str, str]]) -> None:
    repaired = [pair for pair in pairs if not STRICT.match(f"{pair[0]}__{pair[1]}" if pair[0] else pair[1])]
    names = [exposed_name(prefix, original) for prefix, original in repaired]
    assert len(set(names)) == len(names)


def test_names_that_differ_only_in_invalid_characters_stay_apart() -> None:
    # Both sanitise to "git__log_show"; the hash of the original keeps them distinct.
    assert exposed_name("git", "log.show") != exposed_name("git", "log/show")
    assert exposed_name("git", "log.show") != exposed_name("git", "log_show")


def test_names_at_the_length_limit() -> None:
    exact = "t" * 64
    assert exposed_name("", exact) == exact
    longer = exposed_name("", exact + "t")
    assert len(longer) == 64
    assert longer != exact


def test_prefix_rule() -> None:
    assert is_valid_prefix("")
    assert is_valid_prefix("my-server_2")
    assert is_valid_prefix("a" * 32)
    for bad in ("a" * 33, "with space", "dot.ted", "ünï", "semi;colon"):
        assert not is_valid_prefix(bad), bad
