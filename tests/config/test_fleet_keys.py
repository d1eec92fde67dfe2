"""The fleet's shared keys: where they are read from, their order, and errors that never show a secret.

Pure: an injected environment and a dict-backed secret reader, no Redis, no keyring, no processes.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

import pytest

from mcpctl import envvars
from mcpctl.config.models import StateConfig
from mcpctl.errors import McpctlError, UsageError
from mcpctl.fleet.keys import fleet_keys
from mcpctl.sealing import KEY_BYTES, KeyRing, SealError

CLAIMS = {"call": "c1", "instance": "i1"}


def raw_key() -> bytes:
    return os.urandom(KEY_BYTES)


def encoded(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


class Secrets:
    """A dict-backed `read_secret` that remembers what it was asked."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = values or {}
        self.asked: list[str] = []

    def __call__(self, name: str) -> str | None:
        self.asked.append(name)
        return self.values.get(name)


def no_secrets(name: str) -> str | None:
    raise AssertionError(f"the keyring must not be read here (asked for {name!r})")


def seals_with(ring: KeyRing, key: bytes) -> bool:
    """Whether `ring` seals with `key` (its newest)."""
    try:
        KeyRing([key]).open(ring.seal(CLAIMS))
    except SealError:
        return False
    return True


def opens_for(ring: KeyRing, key: bytes) -> bool:
    """Whether `ring` holds `key` (opens what `key` sealed)."""
    try:
        return ring.open(KeyRing([key]).seal(CLAIMS)) == CLAIMS
    except SealError:
        return False


def error_of(state: StateConfig, environ: dict[str, str], read: Callable[[str], str | None]) -> UsageError:
    with pytest.raises(UsageError) as caught:
        fleet_keys(state, environ, read)
    assert isinstance(caught.value, McpctlError)
    return caught.value


def shown(exc: McpctlError) -> str:
    """Everything a person could see of the error."""
    return f"{exc}\n{exc.message}\n{exc.hint}\n{exc.args!r}"


# -- from the environment variable ----------------------------------------------------------


def test_one_key_from_the_environment_variable() -> None:
    key = raw_key()
    ring = fleet_keys(StateConfig(), {envvars.FLEET_KEYS: encoded(key)}, no_secrets)
    assert seals_with(ring, key)
    assert opens_for(ring, key)


def test_the_variable_is_named_mcpctl_fleet_keys() -> None:
    assert envvars.FLEET_KEYS == "MCPCTL_FLEET_KEYS"


def test_several_keys_newest_first_the_first_seals_and_all_open() -> None:
    new, middle, old = raw_key(), raw_key(), raw_key()
    environ = {envvars.FLEET_KEYS: ",".join(encoded(k) for k in (new, middle, old))}
    ring = fleet_keys(StateConfig(), environ, no_secrets)
    assert seals_with(ring, new)
    assert not seals_with(ring, middle) and not seals_with(ring, old)
    assert all(opens_for(ring, k) for k in (new, middle, old))
    assert not opens_for(ring, raw_key())


def test_the_order_written_is_kept() -> None:
    a, b = raw_key(), raw_key()
    forwards = fleet_keys(StateConfig(), {envvars.FLEET_KEYS: f"{encoded(a)},{encoded(b)}"}, no_secrets)
    backwards = fleet_keys(StateConfig(), {envvars.FLEET_KEYS: f"{encoded(b)},{encoded(a)}"}, no_secrets)
    assert seals_with(forwards, a) and not seals_with(forwards, b)
    assert seals_with(backwards, b) and not seals_with(backwards, a)


def test_spaces_and_empty_parts_around_the_keys_are_ignored() -> None:
    new, old = raw_key(), raw_key()
    environ = {envvars.FLEET_KEYS: f" {encoded(new)} ,, {encoded(old)} ,"}
    ring = fleet_keys(StateConfig(), environ, no_secrets)
    assert seals_with(ring, new)
    assert opens_for(ring, old)


def test_a_key_without_its_padding_is_accepted() -> None:
    key = raw_key()
    text = encoded(key).rstrip("=")
    assert len(text) == 43
    assert seals_with(fleet_keys(StateConfig(), {envvars.FLEET_KEYS: text}, no_secrets), key)


def test_the_environment_given_is_read_not_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(envvars.FLEET_KEYS, encoded(raw_key()))
    exc = error_of(StateConfig(), {}, no_secrets)
    assert "needs keys every instance shares" in exc.message


# -- no keys at all ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", " ", ",", " , ,"])
def test_no_keys_is_a_usage_error_that_says_how_to_set_them(value: str | None) -> None:
    environ = {} if value is None else {envvars.FLEET_KEYS: value}
    exc = error_of(StateConfig(), environ, no_secrets)
    assert "needs keys every instance shares" in exc.message
    assert exc.hint is not None
    assert envvars.FLEET_KEYS in exc.hint
    assert "${keyring:" in exc.hint
    assert "secrets.token_bytes(32)" in exc.hint  # how to make one


# -- from the configuration: references -------------------------------------------------------


def test_the_configuration_wins_over_the_environment_variable() -> None:
    configured, from_env = raw_key(), raw_key()
    environ = {"KEY_A": encoded(configured), envvars.FLEET_KEYS: encoded(from_env)}
    ring = fleet_keys(StateConfig(keys=["${env:KEY_A}"]), environ, no_secrets)
    assert seals_with(ring, configured)
    assert not opens_for(ring, from_env)


def test_env_references_are_resolved_from_the_given_environment_in_order() -> None:
    new, old = raw_key(), raw_key()
    environ = {"FLEET_NEW": encoded(new), "FLEET_OLD": encoded(old)}
    ring = fleet_keys(StateConfig(keys=["${env:FLEET_NEW}", "${env:FLEET_OLD}"]), environ, no_secrets)
    assert seals_with(ring, new)
    assert opens_for(ring, old)


def test_keyring_references_are_read_through_the_injected_reader() -> None:
    new, old = raw_key(), raw_key()
    secrets = Secrets({"fleet-new": encoded(new), "fleet-old": encoded(old)})
    state = StateConfig(keys=["${keyring:fleet-new}", "${keyring:fleet-old}"])
    ring = fleet_keys(state, {}, secrets)
    assert secrets.asked == ["fleet-new", "fleet-old"]
    assert seals_with(ring, new)
    assert opens_for(ring, old)


def test_env_and_keyring_references_mix() -> None:
    new, old = raw_key(), raw_key()
    secrets = Secrets({"fleet-old": encoded(old)})
    state = StateConfig(keys=["${env:FLEET_NEW}", "${keyring:fleet-old}"])
    ring = fleet_keys(state, {"FLEET_NEW": encoded(new)}, secrets)
    assert secrets.asked == ["fleet-old"]  # an env reference never reaches the keyring
    assert seals_with(ring, new)
    assert opens_for(ring, old)


def test_a_keyring_reference_is_not_looked_up_in_the_environment() -> None:
    environ = {"fleet-key": encoded(raw_key())}
    exc = error_of(StateConfig(keys=["${keyring:fleet-key}"]), environ, Secrets())
    assert "keyring secret 'fleet-key' is not set" in exc.message


def test_a_literal_key_in_the_configuration_is_used_as_written() -> None:
    key = raw_key()
    ring = fleet_keys(StateConfig(keys=[encoded(key)]), {}, no_secrets)
    assert seals_with(ring, key)


# -- missing references -----------------------------------------------------------------------


@pytest.mark.parametrize("environ", [{}, {"FLEET_NEW": ""}])
def test_a_missing_environment_variable_is_named(environ: dict[str, str]) -> None:
    exc = error_of(StateConfig(keys=["${env:FLEET_NEW}"]), environ, no_secrets)
    assert exc.message == "[state] keys: the environment variable FLEET_NEW is not set"
    assert exc.hint is not None and "secrets.token_bytes(32)" in exc.hint


@pytest.mark.parametrize("values", [{}, {"fleet-key": ""}])
def test_a_missing_keyring_secret_is_named(values: dict[str, str]) -> None:
    exc = error_of(StateConfig(keys=["${keyring:fleet-key}"]), {}, Secrets(values))
    assert exc.message == "[state] keys: the keyring secret 'fleet-key' is not set"


def test_a_missing_old_key_fails_the_whole_ring_rather_than_dropping_it() -> None:
    environ = {"FLEET_NEW": encoded(raw_key())}
    exc = error_of(StateConfig(keys=["${env:FLEET_NEW}", "${env:FLEET_OLD}"]), environ, no_secrets)
    assert "FLEET_OLD" in exc.message


# -- malformed keys ---------------------------------------------------------------------------

MALFORMED = {
    "too short": encoded(os.urandom(16)),
    "one byte short": encoded(os.urandom(KEY_BYTES - 1)),
    "one byte long": encoded(os.urandom(KEY_BYTES + 1)),
    "bad base64 length": encoded(os.urandom(KEY_BYTES))[:-4] + "Q",
    "not ascii": "\u043a\u043b\u044e\u0447-" + encoded(os.urandom(KEY_BYTES))[5:],
    "a passphrase": "correct horse battery staple",
    "hex": os.urandom(KEY_BYTES).hex(),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_key_is_refused_without_showing_it(kind: str) -> None:
    secret = MALFORMED[kind]
    exc = error_of(StateConfig(), {envvars.FLEET_KEYS: secret}, no_secrets)
    assert exc.message == f"a fleet key must be {KEY_BYTES} random bytes, base64url-encoded"
    assert exc.hint is not None and "secrets.token_bytes(32)" in exc.hint
    assert secret not in shown(exc)
    assert secret.strip()[:12] not in shown(exc)


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_referenced_key_is_refused_without_showing_it(kind: str) -> None:
    secret = MALFORMED[kind]
    for state, environ, read in (
        (StateConfig(keys=["${env:FLEET_KEY}"]), {"FLEET_KEY": secret}, no_secrets),
        (StateConfig(keys=["${keyring:fleet-key}"]), {}, Secrets({"fleet-key": secret})),
    ):
        exc = error_of(state, environ, read)
        assert f"{KEY_BYTES} random bytes, base64url-encoded" in exc.message
        assert secret not in shown(exc)


def test_a_malformed_old_key_fails_even_when_the_newest_is_good() -> None:
    bad = encoded(os.urandom(20))
    environ = {envvars.FLEET_KEYS: f"{encoded(raw_key())},{bad}"}
    exc = error_of(StateConfig(), environ, no_secrets)
    assert "base64url-encoded" in exc.message
    assert bad not in shown(exc)


def test_an_unknown_reference_kind_is_a_malformed_key_not_a_lookup() -> None:
    exc = error_of(StateConfig(keys=["${file:/etc/fleet-key}"]), {}, no_secrets)
    assert "base64url-encoded" in exc.message
