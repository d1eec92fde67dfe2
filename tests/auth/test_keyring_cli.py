"""`mcpctl secrets` and `mcpctl keys` against a real Secret Service, and without any keyring."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

from tests.auth.conftest import Cli, every_file_text
from tests.support.host import ROOT, base_env
from tests.support.secret_service import secrets_owner_pid, without_keyring
from tests.support.waiting import wait_until

KEY = re.compile(r"^mcpk_[0-9a-f]{12}_[a-z2-7]{52}$")


def keyring_get(cli: Cli, user: str) -> str | None:
    """Read the real keyring from another process, as any other keyring client would."""
    code = (
        f"import keyring; v = keyring.get_password('mcpctl', {user!r}); print('<none>' if v is None else v)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=cli.env, capture_output=True, text=True, check=True
    )
    value = out.stdout.strip()
    return None if value == "<none>" else value


def test_secret_set_from_stdin_lands_in_the_keyring_and_nowhere_on_disk(cli: Cli) -> None:
    value = "ghp_s3cret-value-for-the-test"
    done = cli.run("secrets", "set", "github_token", stdin=value + "\n")
    assert "${keyring:github_token}" in done.stderr
    assert keyring_get(cli, "secret:github_token") == value
    assert value not in every_file_text(cli.home)
    listed = json.loads(cli.run("secrets", "list", "--json").stdout)
    assert [item["name"] for item in listed] == ["github_token"]
    assert value not in json.dumps(listed)

    cli.run("secrets", "delete", "github_token")
    assert keyring_get(cli, "secret:github_token") is None
    assert json.loads(cli.run("secrets", "list", "--json").stdout) == []
    gone = cli.run("secrets", "delete", "github_token", check=False)
    assert gone.returncode == 2
    assert "no secret named 'github_token'" in gone.stderr


def test_secret_needs_a_value(cli: Cli) -> None:
    done = cli.run("secrets", "set", "empty", stdin="", check=False)
    assert done.returncode == 2
    assert "no value given for 'empty'" in done.stderr


def test_key_lifecycle_create_list_rotate_revoke(cli: Cli) -> None:
    key = cli.create_key("analytics", "--tools", "github__search_*", "--tools", "time__*", "--expires", "90d")
    assert KEY.match(key), key
    keys_file = cli.home / "state" / "api-keys.json"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    assert key not in every_file_text(cli.home)  # only its hash is on disk
    assert keyring_get(cli, "apikey:analytics") == key

    listed = json.loads(cli.run("keys", "list", "--json").stdout)
    assert len(listed) == 1
    row = listed[0]
    assert row["name"] == "analytics"
    assert row["tools"] == ["github__search_*", "time__*"]
    assert row["status"] == "active"
    assert row["lastUsed"] is None
    assert abs(row["expires"] - row["created"] - 90 * 86400) < 1
    assert key not in json.dumps(listed)
    assert "hash" not in row
    table = cli.run("keys", "list").stdout
    assert "analytics" in table
    assert "LAST USED" in table
    assert key not in table

    again = cli.run("keys", "create", "analytics", check=False)
    assert again.returncode == 2
    assert "keys rotate analytics" in again.stderr

    new_key = cli.run("keys", "rotate", "analytics", "--overlap", "1h").stdout.strip()
    assert KEY.match(new_key)
    assert new_key != key
    assert keyring_get(cli, "apikey:analytics") == new_key
    states = {r["id"]: r for r in json.loads(cli.run("keys", "list", "--json").stdout)}
    assert sorted(r["status"] for r in states.values()) == ["active", "retiring"]
    fresh = next(r for r in states.values() if r["status"] == "active")
    assert fresh["tools"] == ["github__search_*", "time__*"]  # rotation keeps the tools...
    assert abs(fresh["expires"] - fresh["created"] - 90 * 86400) < 1  # ...and the lifetime
    assert states[fresh["rotatedFrom"]]["status"] == "retiring"

    cli.run("keys", "revoke", "analytics")
    assert json.loads(cli.run("keys", "list", "--json").stdout) == []
    everything = json.loads(cli.run("keys", "list", "--json", "--all").stdout)
    assert sorted(r["status"] for r in everything) == ["revoked", "revoked"]  # the retiring one too
    assert keyring_get(cli, "apikey:analytics") is None


def test_local_key_comes_from_the_keyring_for_loopback_only(cli: Cli) -> None:
    key = cli.create_key("laptop")
    code = (
        "import sys; from mcpctl.auth.local import local_key_for\n"
        "for url in sys.argv[1:]: print(local_key_for(url))"
    )
    urls = ["http://127.0.0.1:8765/mcp", "http://localhost:9/mcp", "https://mcp.example.com/mcp"]
    out = subprocess.run(
        [sys.executable, "-c", code, *urls], env=cli.env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [key, key, "None"]  # a local key never goes to another machine

    env = {**cli.env, "MCPCTL_API_KEY": "mcpk_from_the_environment"}
    out = subprocess.run(
        [sys.executable, "-c", code, urls[2]], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["mcpk_from_the_environment"]


def test_no_keyring_backend_fails_with_the_fix(home: Path, tmp_path: Path) -> None:
    cli = Cli(home, without_keyring(tmp_path / "xdg", base_env(home)))
    done = cli.run("secrets", "set", "github_token", stdin="value", check=False)
    assert done.returncode == 3, done.stderr
    assert "no usable OS keyring" in done.stderr
    assert "dbus-run-session" in done.stderr
    assert "gnome-keyring-daemon --unlock" in done.stderr
    assert "--insecure-file-store" in done.stderr
    assert "MCPCTL_TOKEN_STORE=file" in done.stderr
    assert json.loads(cli.run("secrets", "list", "--json").stdout) == []

    made = cli.run("keys", "create", "ci", check=False)
    assert made.returncode == 3
    assert "no usable OS keyring" in made.stderr
    assert made.stdout == ""  # no key was printed that nothing keeps
    assert json.loads(cli.run("keys", "list", "--json", "--all").stdout) == []


def test_the_null_backend_is_not_a_keyring(home: Path, tmp_path: Path) -> None:
    env = without_keyring(tmp_path / "xdg", base_env(home))
    cli = Cli(home, {**env, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"})
    done = cli.run("secrets", "set", "token", stdin="value", check=False)
    assert done.returncode == 3
    assert "keyring is disabled" in done.stderr  # never "stored" into a backend that drops it


def test_file_store_only_when_asked_for_and_always_with_a_warning(home: Path, tmp_path: Path) -> None:
    cli = Cli(home, without_keyring(tmp_path / "xdg", base_env(home)))
    by_flag = cli.run("secrets", "set", "token", "--insecure-file-store", stdin="flag-value")
    assert "UNENCRYPTED" in by_flag.stderr
    store = home / "data" / "insecure-secrets.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert json.loads(store.read_text()) == {"secret:token": "flag-value"}

    by_env = cli.run("keys", "create", "ci", MCPCTL_TOKEN_STORE="file")
    assert "UNENCRYPTED" in by_env.stderr
    assert json.loads(store.read_text())["apikey:ci"] == by_env.stdout.strip()


def test_listing_commands_answer_without_any_keyring(home: Path, tmp_path: Path) -> None:
    cli = Cli(home, without_keyring(tmp_path / "xdg", base_env(home)))
    assert cli.run("keys", "list").stderr.startswith("no API keys")
    assert cli.run("secrets", "list").stderr.startswith("no secrets")
    assert ROOT.exists()


def test_secret_typed_at_a_hidden_prompt(cli: Cli) -> None:
    import pexpect

    value = "typed-but-never-echoed-42"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "mcpctl", "secrets", "set", "typed"],
        env=cli.env,
        cwd=str(ROOT),
        timeout=30,
        encoding="utf-8",
    )
    child.expect("value for typed")
    child.sendline(value)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert value not in (child.before or "")  # the terminal never showed it
    assert keyring_get(cli, "secret:typed") == value


def test_a_keyring_daemon_that_dies_comes_back_unlocked_with_what_it_kept(cli: Cli) -> None:
    """gnome-keyring 42 now and then aborts under many clients at once: the test Secret Service
    starts it again (see tests/support/secret_service.py), and nothing stored is lost."""
    cli.run("secrets", "set", "before", stdin="kept-across-the-restart\n")
    bus = cli.env["DBUS_SESSION_BUS_ADDRESS"]
    first = secrets_owner_pid(bus)
    assert first is not None
    os.kill(first, signal.SIGABRT)  # how it dies of its own accord
    wait_until(lambda: secrets_owner_pid(bus) not in (None, first), 30, message="a new keyring daemon")
    cli.run("secrets", "set", "after", stdin="written-to-the-new-one\n")
    assert keyring_get(cli, "secret:before") == "kept-across-the-restart"
    assert keyring_get(cli, "secret:after") == "written-to-the-new-one"
