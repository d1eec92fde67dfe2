"""Client commands against a host that wants API keys: the key comes from the keyring or $MCPCTL_API_KEY."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.auth.conftest import Cli
from tests.auth.gateway import serving, write_config
from tests.support.host import base_env, mcpctl_command, start_host
from tests.support.secret_service import keyring_env, secret_service, without_keyring  # noqa: F401


@pytest.fixture
def cli(home: Path, secret_service: dict[str, str]) -> Cli:  # noqa: F811
    return Cli(home, keyring_env(base_env(home), secret_service))


def test_the_local_key_from_the_keyring_is_sent_once_the_host_asks(cli: Cli) -> None:
    write_config(cli.home)
    cli.create_key("laptop")
    with serving(cli, "--auth", "api-key"):
        assert cli.run("call", "echo__echo", "message=with a key").stdout == "with a key\n"
        assert "echo__echo" in cli.run("tools").stdout
        assert cli.run("servers", "--json").returncode == 0  # the admin API has its own token


def test_the_environment_key_wins_and_a_wrong_one_is_refused(cli: Cli) -> None:
    write_config(cli.home)
    key = cli.create_key("ci")
    with serving(cli, "--auth", "api-key"):
        assert cli.run("call", "echo__echo", "message=ci", MCPCTL_API_KEY=key).stdout == "ci\n"
        refused = cli.run("call", "echo__echo", "message=x", MCPCTL_API_KEY="mcpk_nonsense", check=False)
        assert refused.returncode != 0
        assert "malformed API key" in refused.stderr


def test_a_key_limited_to_some_tools_does_not_see_the_others(cli: Cli) -> None:
    write_config(cli.home)
    key = cli.create_key("narrow", "--tools", "echo__echo")
    with serving(cli, "--auth", "api-key"):
        assert cli.run("call", "echo__echo", "message=ok", MCPCTL_API_KEY=key).returncode == 0
        denied = cli.run("call", "echo__add", "a=1", "b=2", MCPCTL_API_KEY=key, check=False)
        assert denied.returncode == 2  # the host hides what the key may not call
        assert "no tool named 'echo__add'" in denied.stderr


def test_no_key_at_all_exits_4(cli: Cli) -> None:
    write_config(cli.home)
    with serving(cli, "--auth", "api-key"):
        refused = cli.run("call", "echo__echo", "message=x", check=False)
        assert refused.returncode == 4
        assert "MCPCTL_API_KEY" in refused.stderr


def test_the_default_key_is_not_the_newest_and_key_chooses_another(cli: Cli) -> None:
    """Issue 13, defect 6: a key made later for an agent must not quietly replace your own."""
    write_config(cli.home)
    cli.create_key("me")
    cli.create_key("echoonly", "--tools", "echo__echo")
    with serving(cli, "--auth", "api-key"):
        mine = cli.run("call", "echo__add", "a=1", "b=2")
        assert mine.stdout == "3\n"
        assert "using API key" not in mine.stderr  # the default key is not announced
        narrow = cli.run("call", "echo__add", "a=1", "b=2", "--key", "echoonly", check=False)
        assert narrow.returncode == 2
        assert "using API key 'echoonly' (--key)" in narrow.stderr
        assert (
            "the API key 'echoonly' may use only echo__echo: choose another with --key NAME" in narrow.stderr
        )
        assert cli.run("call", "echo__echo", "message=hi", "--key", "echoonly").stdout == "hi\n"
        # --key beats $MCPCTL_API_KEY
        assert cli.run("tools", "--key", "me", MCPCTL_API_KEY="mcpk_nonsense").returncode == 0
        unknown = cli.run("call", "echo__echo", "message=hi", "--key", "nosuch", check=False)
        assert unknown.returncode == 2
        assert unknown.stderr.splitlines() == [
            "error: no usable API key named 'nosuch'",
            "  fix: use one of: echoonly, me",
        ]


def test_a_refusal_by_the_host_offers_a_key_not_an_oauth_login(cli: Cli) -> None:
    """Issue 13, defect 7: the fix was `mcpctl login the mcpctl host at http://…` (not a command)."""
    write_config(cli.home)
    with serving(cli, "--auth", "api-key") as host:
        refused = cli.run("call", "echo__echo", "message=x", check=False)
    assert refused.returncode == 4
    lines = refused.stderr.splitlines()
    assert lines[0].startswith(f"error: the mcpctl host at {host.url} requires authentication")
    assert (
        lines[-1]
        == "  fix: create a key for local commands with `mcpctl keys create me`, or set MCPCTL_API_KEY"
    )
    assert "mcpctl login" not in refused.stderr


def test_a_local_key_the_keyring_cannot_give_is_said_and_exits_3(cli: Cli, tmp_path: Path) -> None:
    write_config(cli.home)
    cli.create_key("me")
    no_keyring = without_keyring(tmp_path / "xdg", base_env(cli.home))
    with serving(cli, "--auth", "api-key"):
        done = subprocess.run(
            mcpctl_command("call", "echo__echo", "message=x"),
            env=no_keyring,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 3, done.stderr
    assert "the local API key 'me' could not be read: no usable OS keyring" in done.stderr
    assert "fix: run mcpctl inside a desktop session" in done.stderr


def test_a_stored_oauth_login_without_a_keyring_exits_3(home: Path, tmp_path: Path) -> None:
    """Issue 13, defect 7: `call` against an OAuth login exited 1 when no keyring could be read."""
    from mcpctl.oauth.urls import canonical_resource

    host = start_host(home)
    try:
        index = home / "state" / "oauth-logins.json"
        index.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "url": host.url,
            "issuer": "https://issuer.example",
            "resource": canonical_resource(host.url),
        }
        index.write_text(json.dumps({"logins": {canonical_resource(host.url): entry}}))
        done = subprocess.run(
            mcpctl_command("call", "demo__echo", "message=x"),
            env=without_keyring(tmp_path / "xdg", base_env(home)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        host.stop()
    assert done.returncode == 3, done.stderr
    assert "no usable OS keyring" in done.stderr
