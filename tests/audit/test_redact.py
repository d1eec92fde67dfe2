"""Redaction: secret keys and secret-looking strings never survive, within a bounded size."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpctl.audit.redact import _SCREEN, DEFAULT_PATTERNS, REDACTED, Redactor, combine_patterns


@pytest.fixture
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "Password",
        "PASSWD",
        "api_key",
        "apiKey",
        "X-API-Key",
        "Authorization",
        "client_secret",
        "refresh_token",
        "access_token",
        "github_token",
        "Cookie",
        "set-cookie",
        "aws_secret_access_key",
        "private_key",
    ],
)
def test_secret_key_names_are_redacted_in_any_case_or_spelling(redactor: Redactor, key: str) -> None:
    cleaned, _ = redactor.copy({"outer": [{key: "hunter2-value"}]}, 4096)
    assert cleaned == {"outer": [{key: REDACTED}]}


@pytest.mark.parametrize("key", ["max_tokens", "tokens", "message", "keyword", "secretary_name", "path"])
def test_ordinary_key_names_are_kept(redactor: Redactor, key: str) -> None:
    cleaned, _ = redactor.copy({key: "plain"}, 4096)
    assert cleaned == {key: "plain"}


@pytest.mark.parametrize(
    "secret",
    [
        "Bearer abcdefghijklmnop.qrstuvwxyz",
        "mcpk_live_0123456789abcdef",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
        "xoxb-1234567890-abcdefghij",
        "AIzaSyA-0123456789abcdefghijklmnopqrstu",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
        "sk_live_0123456789abcdefABCD",
        "glpat-abcdefghijklmnopqrst",
    ],
)
def test_secret_looking_strings_are_redacted_inside_text(redactor: Redactor, secret: str) -> None:
    text = f"the value is {secret} (keep this)"
    assert redactor.text(text) == f"the value is {REDACTED} (keep this)"


# Long ASCII strings are screened by RE2 before Python's `re` runs: the screen must flag every
# string the defaults match, whatever the length. Fragments of each pattern, and the characters
# where the two engines' classes differ (Python's \s also takes \v and \x1c-\x1f).
_FRAGMENTS = (
    *("Bearer", "bEaReR", "basic", "BASIC", "mcpk_", "eyJ", "AKIA", "ASIA", "ghp_", "gho_", "github_pat_"),
    *("glpat-", "xoxb-", "AIza", "sk_live_", "rk_test_", "sk-", "-----BEGIN ", "RSA ", "PRIVATE KEY-----"),
    *("-----END ", "PASSWORD", "passwd", "Secret", "TOKEN", "token", "api_key", "API-KEY", "apikey", "://"),
    *("user", ":", "=", "@", "/", '"', "'", "&", ",", ";", ".", "~", "+", "-", "_", " ", "\t", "\n"),
    *("\x0b", "\x0c", "\r", "\x1c", "\x1f", "\x00", "abcdefgh", "ABCDEFGHIJKLMNOP", "0123456789", "Zz9"),
)
_DEFAULTS = combine_patterns(DEFAULT_PATTERNS)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40))
def test_the_screen_flags_every_ascii_string_the_default_patterns_match(parts: list[str]) -> None:
    text = "".join(parts)
    assert (_SCREEN.search(text.encode()) is not None) == (_DEFAULTS.search(text) is not None), text


@pytest.mark.parametrize(
    ("secret", "redacted"),
    [
        ("Bearer\x1cabcdefghijklmnop", REDACTED),  # whitespace to Python's \s, not to RE2's
        ("token\x0b=\x0bhunter2", f"token\x0b=\x0b{REDACTED}"),
        ("password: 'hunter2'", f"password: '{REDACTED}'"),
        ("https://bob:s3cret@db.internal", f"https://{REDACTED}@db.internal"),
        ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI", REDACTED),  # cut short: redacted to the end
        ("Bearer\u00a0abcdefghijklmnop", REDACTED),  # not ASCII: Python's `re` alone (\s takes U+00A0)
    ],
)
def test_a_secret_in_a_long_string_is_redacted_as_in_a_short_one(
    redactor: Redactor, secret: str, redacted: str
) -> None:
    prose = "The quick brown fox jumps over the lazy dog. " * 4
    assert redactor.text(secret) == redacted
    assert redactor.text(prose + secret) == prose + redacted
    assert redactor.text(prose + "nothing to see here " + prose) == prose + "nothing to see here " + prose


def test_keyed_secrets_in_text_keep_their_key_and_urls_keep_their_host(redactor: Redactor) -> None:
    assert redactor.text("password=hunter2&user=bob") == f"password={REDACTED}&user=bob"
    assert redactor.text('{"token": "abc123", "ok": 1}') == f'{{"token": "{REDACTED}", "ok": 1}}'
    assert redactor.text("postgres://bob:s3cret@db.internal/app") == f"postgres://{REDACTED}@db.internal/app"
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"
    assert redactor.text(f"key:\n{pem}\nend") == f"key:\n{REDACTED}\nend"


def test_configured_keys_and_patterns_add_to_the_defaults() -> None:
    redactor = Redactor(keys=["x-tenant"], patterns=[r"(?i)acct-\d{6}", r"(['\"])hush\1"])
    cleaned, _ = redactor.copy({"X-Tenant": "t1", "note": "ACCT-123456 said 'hush'", "password": "p"}, 4096)
    assert cleaned == {"X-Tenant": REDACTED, "note": f"{REDACTED} said {REDACTED}", "password": REDACTED}


def test_a_secret_straddling_the_size_cut_is_redacted_not_half_kept(redactor: Redactor) -> None:
    secret = "ghp_" + "A" * 40
    text = "x" * 90 + secret
    out = redactor.text(text, 100)
    assert "AAAA" not in out
    assert out.startswith("x" * 90)
    pem = "-----BEGIN PRIVATE KEY-----\n" + "Q" * 5000  # cut before its END line
    assert "QQQQ" not in redactor.text(pem, 50)


def test_copies_are_bounded_by_the_budget_however_big_the_value(redactor: Redactor) -> None:
    huge = {"blob": "z" * 10_000_000, "items": list(range(1_000_000)), "deep": {"a": {"b": {"c": "d"}}}}
    cleaned, truncated = redactor.copy(huge, 200)
    assert truncated
    assert len(str(cleaned)) < 1000
    assert cleaned["blob"].endswith("…")


def test_deep_nesting_is_cut_rather_than_recursing_forever(redactor: Redactor) -> None:
    value: dict[str, object] = {}
    node = value
    for _ in range(10_000):
        child: dict[str, object] = {}
        node["n"] = child
        node = child
    _cleaned, truncated = redactor.copy(value, 100_000)
    assert truncated


def test_the_original_is_never_changed(redactor: Redactor) -> None:
    original = {"password": "p", "list": [{"token": "t"}], "text": "Bearer abcdefghijklmnop"}
    snapshot = repr(original)
    redactor.copy(original, 4096)
    assert repr(original) == snapshot


def test_a_top_level_key_can_be_left_out(redactor: Redactor) -> None:
    cleaned, _ = redactor.copy({"content": [], "_meta": {"big": "x"}}, 4096, skip="_meta")
    assert cleaned == {"content": []}
