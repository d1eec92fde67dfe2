"""Keyring calls: tried again while the Secret Service fails for a moment; failures say what failed."""

from __future__ import annotations

from typing import Any

import pytest
from jeepney import DBusAddress, new_error, new_method_call
from jeepney.wrappers import DBusErrorResponse
from keyring.errors import InitError, PasswordDeleteError
from secretstorage.exceptions import ItemNotFoundException, SecretServiceNotAvailableException

from mcpctl.auth.store import RETRY_PAUSES, SERVICE, KeyringStore, KeyringUnavailable

ATTEMPTS = len(RETRY_PAUSES) + 1
SECRETS_NAME, SECRETS_PATH = "org.freedesktop.secrets", "/org/freedesktop/secrets"
SECRETS_INTERFACE = "org.freedesktop.Secret.Service"


class Flaky:
    """A backend whose calls fail with `error` the first `failing` times, then succeed."""

    def __init__(self, failing: int, error: Exception | None = None) -> None:
        self.failing = failing
        self.error = error or ItemNotFoundException("No such item exists")
        self.calls: list[str] = []
        self.stored: dict[str, str] = {}

    def _call(self, what: str) -> None:
        self.calls.append(what)
        if len(self.calls) <= self.failing:
            raise self.error

    def get_password(self, service: str, user: str) -> Any:
        assert service == SERVICE
        self._call("get")
        return f"secret of {user}"

    def set_password(self, service: str, user: str, value: str) -> None:
        self._call("set")
        self.stored[user] = value

    def delete_password(self, service: str, user: str) -> None:
        self._call("delete")
        if self.stored.pop(user, None) is None:
            raise PasswordDeleteError("no such entry")


def store(backend: Flaky, pauses: list[float] | None = None) -> KeyringStore:
    return KeyringStore(backend, pause=(pauses if pauses is not None else []).append)


def dbus_error(name: str) -> DBusErrorResponse:
    """What jeepney raises when the Secret Service answers a call with the D-Bus error `name`."""
    call = new_method_call(
        DBusAddress(SECRETS_PATH, bus_name=SECRETS_NAME, interface=SECRETS_INTERFACE), "OpenSession"
    )
    call.header.serial = 1
    return DBusErrorResponse(new_error(call, name, "s", ("the daemon's words",)))


def test_an_entry_replaced_while_read_is_read_again_after_pauses() -> None:
    backend, pauses = Flaky(failing=ATTEMPTS - 1), []
    assert store(backend, pauses).get("oauth:x") == "secret of oauth:x"
    assert backend.calls == ["get"] * ATTEMPTS
    assert pauses == list(RETRY_PAUSES)


@pytest.mark.parametrize(
    "error",
    [
        SecretServiceNotAvailableException(
            "Message recipient disconnected from message bus without replying"
        ),
        InitError("Failed to create the collection: Prompt dismissed.."),
        dbus_error("org.freedesktop.Secret.Error.NoSession"),
        dbus_error("org.freedesktop.DBus.Error.NoReply"),
    ],
    ids=["daemon-gone", "default-collection-lost", "session-lost", "no-reply"],
)
def test_a_secret_service_that_fails_for_a_moment_is_asked_again(error: Exception) -> None:
    backend = Flaky(failing=1, error=error)
    keyring = store(backend)
    keyring.set("oauth:x", "v")
    assert backend.calls == ["set", "set"]
    assert backend.stored == {"oauth:x": "v"}


def test_a_delete_is_tried_again_and_says_whether_there_was_an_entry() -> None:
    backend = Flaky(failing=1)
    backend.stored["oauth:x"] = "v"
    assert store(backend).delete("oauth:x") is True
    assert store(backend).delete("oauth:x") is False
    assert backend.calls == ["delete", "delete", "delete"]


def test_an_entry_that_keeps_vanishing_is_a_keyring_failure_with_its_fix() -> None:
    backend = Flaky(failing=ATTEMPTS)
    with pytest.raises(KeyringUnavailable, match="ItemNotFoundException") as caught:
        store(backend).get("oauth:x")
    assert caught.value.hint
    assert backend.calls == ["get"] * ATTEMPTS


@pytest.mark.parametrize(
    "error",
    [RuntimeError("not the keyring's"), dbus_error("org.freedesktop.Secret.Error.IsLocked")],
    ids=["not-the-keyring", "locked"],
)
def test_other_failures_are_not_tried_again(error: Exception) -> None:
    backend = Flaky(failing=1, error=error)
    with pytest.raises((RuntimeError, KeyringUnavailable)):
        store(backend).get("oauth:x")
    assert backend.calls == ["get"]


def test_a_keyring_that_cannot_start_says_what_failed() -> None:
    failure = InitError("Failed to create the collection: Could not connect to the bus.")
    backend = Flaky(failing=ATTEMPTS, error=failure)
    with pytest.raises(KeyringUnavailable) as caught:
        store(backend).get("oauth:x")
    assert caught.value.message == (
        "no usable OS keyring: InitError: Failed to create the collection: Could not connect to the bus."
    )
    assert caught.value.hint
