"""A real Secret Service for tests: a private dbus-daemon with an unlocked gnome-keyring.

Every test gets its own bus and keyring under a temporary directory (XDG_* point there), so
nothing touches the user's real keyring. gnome-keyring-daemon exits by itself when its bus goes
away. Run mcpctl as a subprocess with the returned environment: keyring picks (and caches) its
backend once per process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.waiting import wait_until

# Variables that would let a child find a keyring other than the one a test chose.
KEYRING_VARIABLES = (
    "DBUS_SESSION_BUS_ADDRESS",
    "PYTHON_KEYRING_BACKEND",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
)


SECRETS_NAME = "org.freedesktop.secrets"


def _need(cmd: str) -> str:
    path = shutil.which(cmd)
    if not path:
        raise RuntimeError(f"{cmd} not found: apt-get install -y --no-install-recommends dbus gnome-keyring")
    return path


def isolated_xdg(base: Path) -> dict[str, str]:
    """XDG directories of a test's own (keyring reads keyringrc.cfg from XDG_CONFIG_HOME)."""
    run = base / "run"
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {
        "XDG_DATA_HOME": str(base / "data"),
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_CACHE_HOME": str(base / "cache"),
        "XDG_RUNTIME_DIR": str(run),
    }


def keyring_env(base: Mapping[str, str], keyring: Mapping[str, str]) -> dict[str, str]:
    """`base` (e.g. tests.support.host.base_env) pointed at one keyring: `keyring`'s variables only."""
    env = {k: v for k, v in base.items() if k not in KEYRING_VARIABLES}
    env.update(keyring)
    return env


def without_keyring(base: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment in which keyring finds no backend (headless Linux with no D-Bus session)."""
    env = {
        k: v for k, v in (os.environ if environ is None else environ).items() if k not in KEYRING_VARIABLES
    }
    env.update(isolated_xdg(base))
    return env


@contextlib.contextmanager
def private_secret_service(base: Path, password: str = "test-keyring-password") -> Iterator[dict[str, str]]:  # noqa: S107
    """Yield the variables that point a child at a fresh, unlocked Secret Service (merge them in)."""
    xdg = isolated_xdg(base)
    env = {k: v for k, v in os.environ.items() if k not in KEYRING_VARIABLES}
    env.update(xdg)
    bus = subprocess.Popen(
        [
            _need("dbus-daemon"),
            "--session",
            "--nofork",
            "--nopidfile",
            f"--address=unix:path={xdg['XDG_RUNTIME_DIR']}/bus",
            "--print-address=1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        if not address:
            raise RuntimeError("dbus-daemon did not start")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        # --unlock reads the password on stdin and creates/unlocks the 'login' keyring; the daemon
        # forks into the background once it is on the bus.
        subprocess.run(
            [_need("gnome-keyring-daemon"), "--unlock", "--components=secrets"],
            input=password,
            text=True,
            env=env,
            check=True,
            timeout=30,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_the_daemon(address)
        yield {**xdg, "DBUS_SESSION_BUS_ADDRESS": address}
    finally:
        bus.terminate()
        try:
            bus.wait(timeout=10)
        except subprocess.TimeoutExpired:
            bus.kill()
            bus.wait()
        if bus.stdout is not None:
            bus.stdout.close()


def _wait_for_the_daemon(address: str, timeout: float = 30.0) -> None:
    """Until the unlocked daemon owns org.freedesktop.secrets on the bus.

    `--unlock` returns before the forked daemon has claimed the name (with the cores busy, in 29 of
    30 starts, for 5-20 ms). A client that asks in that window makes the bus start a second daemon
    from its activation file; should that one win the name, its login keyring is locked (no
    password reached it). NameHasOwner starts nothing.
    """
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(bus=address) as connection:

        def owned() -> bool:
            reply = connection.send_and_get_reply(message_bus.NameHasOwner(SECRETS_NAME), timeout=5)
            return bool(reply.body[0])

        wait_until(owned, timeout, interval=0.005, message=f"gnome-keyring-daemon to own {SECRETS_NAME}")


@pytest.fixture
def secret_service(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A test's own Secret Service: the variables to merge into a child's env (see keyring_env)."""
    with private_secret_service(tmp_path / "keyring") as variables:
        yield variables
