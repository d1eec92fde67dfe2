"""Reading a keyring entry: read again when another process replaces it; failures say what failed."""

from __future__ import annotations

from typing import Any

import pytest
from keyring.errors import InitError
from secretstorage.exceptions import ItemNotFoundException

from mcpctl.auth.store import READ_ATTEMPTS, SERVICE, KeyringStore, KeyringUnavailable


class ReplacedWhileRead:
    """A backend whose item vanishes between the search and the read `vanishing` times (as the
    Secret Service's does while another process saves the same entry), then reads."""

    def __init__(self, vanishing: int, error: Exception | None = None) -> None:
        self.vanishing = vanishing
        self.error = error or ItemNotFoundException("No such item exists")
        self.reads = 0

    def get_password(self, service: str, user: str) -> Any:
        assert service == SERVICE
        self.reads += 1
        if self.reads <= self.vanishing:
            raise self.error
        return f"secret of {user}"


def test_an_entry_replaced_while_read_is_read_again() -> None:
    backend = ReplacedWhileRead(vanishing=READ_ATTEMPTS - 1)
    assert KeyringStore(backend).get("oauth:x") == "secret of oauth:x"
    assert backend.reads == READ_ATTEMPTS


def test_an_entry_that_keeps_vanishing_is_a_keyring_failure_with_its_fix() -> None:
    backend = ReplacedWhileRead(vanishing=READ_ATTEMPTS)
    with pytest.raises(KeyringUnavailable, match="ItemNotFoundException") as caught:
        KeyringStore(backend).get("oauth:x")
    assert caught.value.hint
    assert backend.reads == READ_ATTEMPTS


def test_other_failures_are_not_read_again() -> None:
    backend = ReplacedWhileRead(vanishing=1, error=RuntimeError("not the keyring's"))
    with pytest.raises(RuntimeError):
        KeyringStore(backend).get("oauth:x")
    assert backend.reads == 1


def test_a_keyring_that_cannot_start_says_what_failed() -> None:
    failure = InitError("Failed to create the collection: Could not connect to the bus.")
    backend = ReplacedWhileRead(vanishing=1, error=failure)
    with pytest.raises(KeyringUnavailable) as caught:
        KeyringStore(backend).get("oauth:x")
    assert caught.value.message == (
        "no usable OS keyring: InitError: Failed to create the collection: Could not connect to the bus."
    )
    assert caught.value.hint
