"""A real Secret Service for tests: a private dbus-daemon with an unlocked gnome-keyring.

Every test gets its own bus and keyring under a temporary directory (XDG_* point there), so
nothing touches the user's real keyring. Run mcpctl as a subprocess with the returned
environment: keyring picks (and caches) its backend once per process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
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


# A session bus with no service activation: should the keyring daemon die, nothing the bus starts
# in its place (a daemon without the password, whose keyring is locked) can answer for it.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@contextlib.contextmanager
def private_secret_service(base: Path, password: str = "test-keyring-password") -> Iterator[dict[str, str]]:  # noqa: S107
    """Yield the variables that point a child at a fresh, unlocked Secret Service (merge them in)."""
    xdg = isolated_xdg(base)
    env = {k: v for k, v in os.environ.items() if k not in KEYRING_VARIABLES}
    env.update(xdg)
    config = base / "bus.conf"
    config.write_text(BUS_CONFIG.format(socket=f"{xdg['XDG_RUNTIME_DIR']}/bus"))
    bus = subprocess.Popen(
        [_need("dbus-daemon"), f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
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
        with KeyringDaemon(env, password, base / "gnome-keyring.log"):
            yield {**xdg, "DBUS_SESSION_BUS_ADDRESS": address}
    finally:
        _stop(bus)
        if bus.stdout is not None:
            bus.stdout.close()


class KeyringDaemon:
    """gnome-keyring-daemon as this test's child, in the foreground, its login keyring unlocked.

    gnome-keyring 42 now and then aborts under a dozen clients at once (a GLib assertion, "lookup
    for path: assertion 'session' failed", in its log). A desktop starts it again; so does this: on
    the same keyring files, unlocked with the same password, so what was stored is still there, and
    mcpctl's keyring calls (which try again while the service is away for a moment) carry on.
    """

    def __init__(self, env: Mapping[str, str], password: str, log: Path) -> None:
        self.env, self.password, self.log = dict(env), password, log
        self._lock = threading.Lock()
        self._stopping = False
        self._process = self._start()
        self._watcher = threading.Thread(target=self._watch, name="keyring-daemon-watch", daemon=True)
        self._watcher.start()

    def __enter__(self) -> KeyringDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._stopping = True
            process = self._process
        _stop(process)
        self._watcher.join(timeout=10)

    def _start(self) -> subprocess.Popen[str]:
        with self.log.open("a") as log:
            process = subprocess.Popen(
                [_need("gnome-keyring-daemon"), "--foreground", "--unlock", "--components=secrets"],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env=self.env,
                text=True,
            )
        assert process.stdin is not None
        process.stdin.write(self.password)  # --unlock reads it, then creates or unlocks 'login'
        process.stdin.close()
        try:
            _wait_for_the_daemon(self.env["DBUS_SESSION_BUS_ADDRESS"])
        except BaseException:
            _stop(process)  # a daemon that never came up is not left behind
            raise
        return process

    def _watch(self) -> None:
        while True:
            code = self._process.wait()
            with self._lock:
                if self._stopping:
                    return
                print(
                    f"gnome-keyring-daemon exited ({code}; see {self.log}); starting it again",
                    file=sys.stderr,
                )
                self._process = self._start()


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def secrets_owner_pid(address: str) -> int | None:
    """The process that owns org.freedesktop.secrets on the bus at `address`, if one does."""
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.low_level import MessageType

    with open_dbus_connection(bus=address) as connection:
        reply = connection.send_and_get_reply(message_bus.GetConnectionUnixProcessID(SECRETS_NAME), timeout=5)
    return None if reply.header.message_type == MessageType.error else int(reply.body[0])


def _wait_for_the_daemon(address: str, timeout: float = 30.0) -> None:
    """Until the unlocked daemon owns org.freedesktop.secrets on the bus (it claims the name a few
    milliseconds after it starts; NameHasOwner starts nothing)."""
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
