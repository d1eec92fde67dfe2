"""Shell completion: the scripts in completions/ are current; tool and server names complete dynamically."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mcpctl.cli.completions import FILES
from tests.cli.conftest import Mcpctl, write_host_config
from tests.support.host import ROOT, HostProcess, base_env

COMPLETIONS = ROOT / "completions"
# The installed entry point: shells complete the program name `mcpctl` (not `python -m mcpctl`).
MCPCTL = Path(sys.executable).parent / "mcpctl"


def run_completion(home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MCPCTL)], env=base_env(home, **env), capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize("shell", sorted(FILES))
def test_the_committed_scripts_are_what_the_cli_generates(shell: str, mcpctl: Mcpctl, home: Path) -> None:
    generated = mcpctl("completions", shell)
    assert generated.returncode == 0
    committed = (COMPLETIONS / FILES[shell]).read_text()
    assert generated.stdout == committed, (
        f"completions/{FILES[shell]} is out of date: run completions/regenerate.sh "
        f"(or `mcpctl completions {shell} > completions/{FILES[shell]}`)"
    )
    # the same script click's own machinery prints (what --show-completion uses)
    source = run_completion(home, _MCPCTL_COMPLETE=f"source_{shell}")
    assert source.stdout.strip() == committed.strip()


def complete_bash(home: Path, line: str) -> list[str]:
    words = line.split(" ")
    done = run_completion(
        home, _MCPCTL_COMPLETE="complete_bash", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1)
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_tool_names_complete_from_the_running_host(host: HostProcess) -> None:
    assert complete_bash(host.home, "mcpctl call echo__e") == ["echo__echo", "echo__end_subscriptions"]
    assert "slow__sleep" in complete_bash(host.home, "mcpctl call sl")
    # a server's own names, through the host
    assert complete_bash(host.home, "mcpctl call --server echo ec") == ["echo"]


def test_server_names_complete_from_the_host_and_the_config(host: HostProcess) -> None:
    assert complete_bash(host.home, "mcpctl call --server ") == ["conformance", "echo", "slow"]
    assert complete_bash(host.home, "mcpctl servers restart s") == ["slow"]


def test_without_a_host_tools_complete_to_nothing_and_servers_from_the_config(home: Path) -> None:
    assert complete_bash(home, "mcpctl call ec") == []
    write_host_config(home)
    assert complete_bash(home, "mcpctl tools --server e") == ["echo"]


def test_zsh_and_fish_get_descriptions(host: HostProcess) -> None:
    zsh = run_completion(
        host.home, _MCPCTL_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="mcpctl call echo__ec"
    )
    assert "echo__echo" in zsh.stdout
    assert "Return the message unchanged." in zsh.stdout
    fish = run_completion(
        host.home,
        _MCPCTL_COMPLETE="complete_fish",
        _TYPER_COMPLETE_FISH_ACTION="get-args",
        _TYPER_COMPLETE_ARGS="mcpctl call echo__ec",
    )
    assert "echo__echo\tReturn the message unchanged." in fish.stdout


def test_the_bash_script_completes_in_a_real_bash(host: HostProcess, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mcpctl").symlink_to(MCPCTL)
    script = (
        f"source {COMPLETIONS / 'mcpctl.bash'}\n"
        "COMP_WORDS=(mcpctl call echo__ec); COMP_CWORD=2\n"
        "_mcpctl_completion mcpctl\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "MCPCTL_HOME": str(host.home), "NO_COLOR": "1"}
    done = subprocess.run(
        ["/bin/bash", "--norc", "--noprofile", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.stdout.split() == ["echo__echo"], done.stderr


def test_install_completion_writes_the_same_script_for_the_user_s_shell(tmp_path: Path, home: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    # typer finds the user's shell from the process tree: run it from bash, as a user would
    # (`; exit $?` keeps bash from exec-ing mcpctl in its place).
    done = subprocess.run(
        ["/bin/bash", "--norc", "--noprofile", "-c", f"'{MCPCTL}' --install-completion; exit $?"],
        env={**base_env(home), "HOME": str(user), "SHELL": "/bin/bash"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    installed = user / ".bash_completions" / "mcpctl.sh"
    assert installed.read_text().strip() == (COMPLETIONS / "mcpctl.bash").read_text().strip()
    assert f"source '{installed}'" in (user / ".bashrc").read_text()
