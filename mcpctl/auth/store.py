"""Where secrets live: the OS keyring, or (only when asked for) an unencrypted 0600 file."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from mcpctl import envvars
from mcpctl.errors import ExitCode, McpctlError, UsageError
from mcpctl.fsutil import write_atomically
from mcpctl.paths import Paths, ensure_private_dir
from mcpctl.protocol import codes

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVICE = "mcpctl"
# Pauses before each further attempt at a keyring call that failed the way a busy Secret Service
# fails for a moment (see _passing); the last failure is reported.
RETRY_PAUSES = (0.05, 0.2, 0.5)
FILE_STORE_NAME = "insecure-secrets.json"

NO_BACKEND_FIX = (
    "run mcpctl inside a desktop session (its Secret Service or KWallet), or start one for this shell: "
    "`dbus-run-session -- sh`, then `echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets` "
    "(Debian/Ubuntu: apt install dbus gnome-keyring); "
    f"or opt in to an UNENCRYPTED 0600 file with --insecure-file-store or {envvars.TOKEN_STORE}=file"
)


class KeyringUnavailable(McpctlError):
    """No usable OS keyring: says why, and how to get one (or how to opt in to the file store)."""

    exit_code = ExitCode.UNAVAILABLE
    # Said as "unavailable" over JSON-RPC too (an HTTP transport's auth source raises it into a
    # request's answer), so a client exits 3 for it either way.
    jsonrpc_code = codes.BACKEND_UNAVAILABLE


def secret_user(name: str) -> str:
    """The keyring username of a secret set with `mcpctl secrets set NAME`."""
    return f"secret:{name}"


def apikey_user(name: str) -> str:
    """The keyring username of an API key's plaintext (for local `mcpctl call`)."""
    return f"apikey:{name}"


class SecretStore(Protocol):
    """Blocking calls: from async code, run them with asyncio.to_thread."""

    description: str

    def check(self) -> None:
        """Raise KeyringUnavailable unless the store can keep a secret."""

    def get(self, user: str) -> str | None: ...

    def set(self, user: str, value: str) -> None: ...

    def delete(self, user: str) -> bool:
        """Remove an entry; False when there was none."""


class KeyringStore:
    """The OS keyring through `keyring`; its fail and null backends count as no keyring at all."""

    description = "the OS keyring"

    def __init__(self, backend: Any = None, pause: Callable[[float], None] = time.sleep) -> None:
        self._backend = backend
        self._pause = pause

    def _keyring(self) -> Any:
        if self._backend is None:
            import keyring

            backend = keyring.get_keyring()
            problem = _unusable(backend)
            if problem is not None:
                raise KeyringUnavailable(f"no usable OS keyring: {problem}", hint=NO_BACKEND_FIX)
            self._backend = backend
        return self._backend

    def check(self) -> None:
        self._keyring()

    def get(self, user: str) -> str | None:
        value = self._attempt(lambda: self._keyring().get_password(SERVICE, user))
        return value if isinstance(value, str) else None

    def set(self, user: str, value: str) -> None:
        self._attempt(lambda: self._keyring().set_password(SERVICE, user, value))  # replaces: safe again

    def delete(self, user: str) -> bool:
        """A delete whose first attempt took effect but failed to answer says False on the next."""
        from keyring.errors import PasswordDeleteError

        try:
            self._attempt(lambda: self._keyring().delete_password(SERVICE, user))
        except PasswordDeleteError:
            return False
        return True

    def _attempt(self, call: Callable[[], T]) -> T:
        """`call()`, again after a pause while it fails only for the moment (see _passing)."""
        with _mapped_errors():
            for pause in RETRY_PAUSES:
                try:
                    return call()
                except Exception as exc:
                    if not _passing(exc):
                        raise
                    log.debug("the OS keyring failed for a moment (%s); trying again", type(exc).__name__)
                self._pause(pause)
            return call()


# D-Bus errors of a Secret Service that is busy or restarting, not of one that refuses.
_PASSING_DBUS_ERRORS = (
    "org.freedesktop.DBus.Error.NoReply",  # the service went away mid-call (it is restarted on demand)
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.UnknownMethod",  # "Object does not exist at path": a lost lookup
    "org.freedesktop.DBus.Error.UnknownObject",
    "org.freedesktop.Secret.Error.NoSession",
)


def _passing(exc: Exception) -> bool:
    """Whether a keyring failure is one that passes: trying again soon usually succeeds.

    - An item that vanished between the search and the read: another mcpctl saved the same entry
      in between (a replace is a delete and a create).
    - gnome-keyring 42 under a dozen clients at once (parallel `mcpctl login`s) now and then loses
      a caller's session: a lookup of its default collection answers "no such object" (and keyring
      then tries to create one, which fails as InitError), or the daemon aborts mid-call and is
      started again.
    """
    kind = type(exc)
    if kind.__module__.startswith("secretstorage"):
        return kind.__name__ in ("ItemNotFoundException", "SecretServiceNotAvailableException")
    if kind.__name__ == "InitError" and kind.__module__.startswith("keyring"):
        return True
    name = getattr(exc, "name", None)  # jeepney's DBusErrorResponse
    return kind.__module__.startswith("jeepney") and name in _PASSING_DBUS_ERRORS


def _unusable(backend: Any) -> str | None:
    """Why a keyring backend cannot keep secrets, or None when it can."""
    from keyring.backends import fail, null
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, null.Keyring):
        # its set_password is a silent no-op: never let "saved" mean "dropped"
        return "keyring is disabled (the null backend is configured)"
    if isinstance(backend, fail.Keyring) or (isinstance(backend, ChainerBackend) and not backend.backends):
        return "keyring found no backend (on Linux: no D-Bus session, or no Secret Service running in it)"
    return None


@contextlib.contextmanager
def _mapped_errors() -> Any:
    """keyring's failures (locked, no backend, D-Bus gone) become one mcpctl error with the fix."""
    from keyring.errors import InitError, KeyringError, KeyringLocked, NoKeyringError, PasswordDeleteError

    try:
        yield
    except PasswordDeleteError:
        raise
    except KeyringLocked as exc:
        raise KeyringUnavailable(
            "the OS keyring is locked",
            hint="unlock it (log in to the desktop, or `gnome-keyring-daemon --unlock`)",
        ) from exc
    except (NoKeyringError, InitError) as exc:
        # the library's message says what failed (the bus, the collection); it never holds a secret
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise KeyringUnavailable(f"no usable OS keyring: {detail}", hint=NO_BACKEND_FIX) from exc
    except KeyringError as exc:
        raise KeyringUnavailable(f"the OS keyring failed: {type(exc).__name__}", hint=NO_BACKEND_FIX) from exc
    except Exception as exc:  # D-Bus errors from the Secret Service client libraries
        if type(exc).__module__.split(".")[0] in ("secretstorage", "jeepney", "dbus"):
            raise KeyringUnavailable(
                f"the OS keyring failed: {type(exc).__name__}", hint=NO_BACKEND_FIX
            ) from exc
        raise


class FileStore:
    """The explicit opt-in fallback: a JSON file readable only by the user, NOT encrypted.

    open_store warns on every use, so nobody ends up with plaintext secrets on disk untold.
    """

    description = "an unencrypted file (insecure; opted in)"

    def __init__(self, path: Path) -> None:
        self.path = path

    def check(self) -> None:
        return None  # a file can always be written; open_store has already warned

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise UsageError(f"{self.path} is not valid JSON", hint="fix or delete the file") from exc
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def get(self, user: str) -> str | None:
        return self._read().get(user)

    def set(self, user: str, value: str) -> None:
        data = self._read()
        data[user] = value
        ensure_private_dir(self.path.parent)
        write_atomically(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n", mode=0o600)

    def delete(self, user: str) -> bool:
        data = self._read()
        if data.pop(user, None) is None:
            return False
        write_atomically(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n", mode=0o600)
        return True


def open_store(
    paths: Paths,
    *,
    environ: Mapping[str, str] | None = None,
    insecure_file: bool = False,
    warn: Callable[[str], None] | None = None,
) -> SecretStore:
    """The OS keyring, unless the file store was asked for (flag or MCPCTL_TOKEN_STORE=file)."""
    env = os.environ if environ is None else environ
    choice = env.get(envvars.TOKEN_STORE, "").strip().lower() or "keyring"
    if choice not in ("keyring", "file"):
        raise UsageError(
            f"{envvars.TOKEN_STORE}={choice!r} is not a store",
            hint=f"set {envvars.TOKEN_STORE} to keyring or file",
        )
    if insecure_file or choice == "file":
        store = FileStore(paths.data_dir / FILE_STORE_NAME)
        (warn or log.warning)(
            f"secrets are kept UNENCRYPTED in {store.path} (the insecure file store was asked for)"
        )
        return store
    return KeyringStore()
