"""Client commands against a host that wants API keys: the key comes from the keyring or $MCPCTL_API_KEY."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.auth.conftest import Cli
from tests.auth.gateway import serving, write_config
from tests.support.host import base_env
from tests.support.secret_service import keyring_env, secret_service  # noqa: F401  (a fixture)


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
