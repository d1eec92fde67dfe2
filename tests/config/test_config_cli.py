"""`mcpctl config import | check | path` as a user runs them: real subprocesses, exit codes, files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mcpctl.config.importer import from_client_json
from mcpctl.config.loader import load_config, validate_config
from tests.support.host import ROOT, base_env, mcpctl_command
from tests.support.secret_service import (
    keyring_env,
    secret_service,  # noqa: F401  (a fixture)
    without_keyring,
)

CLAUDE = {
    "mcpServers": {
        "filesystem": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
            "env": {"LOG_LEVEL": "debug"},
        },
        "time": {
            "command": "uvx",
            "args": ["mcp-server-time", "--local-timezone=Europe/Paris"],
            "disabled": True,
        },
        "remote": {"type": "http", "url": "https://example.com/mcp", "headers": {"X-Api-Key": "k"}},
        "files.v2": {"command": "node", "args": ["server.js"], "prefix": "files_v2"},
    }
}


def mcpctl(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        mcpctl_command(*args),
        env=base_env(home, **(env or {})),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,  # the exit code is what these tests look at
    )


def client_file(tmp_path: Path, document: object = CLAUDE, name: str = "claude.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_import_writes_toml_that_loads_back_to_the_same_servers(home: Path, tmp_path: Path) -> None:
    source = client_file(tmp_path)
    done = mcpctl(home, "config", "import", str(source), "--plaintext")
    assert done.returncode == 0, done.stderr
    target = home / "config" / "mcpctl.toml"
    assert done.stdout.strip() == str(target)  # data on stdout: the path written
    assert "4 server(s)" in done.stderr
    assert load_config(target).servers == validate_config("x", from_client_json("x", CLAUDE)).servers
    assert load_config(target).servers["time"].enabled is False


def test_import_refuses_to_overwrite_without_force(home: Path, tmp_path: Path) -> None:
    source = client_file(tmp_path)
    assert mcpctl(home, "config", "import", str(source), "--plaintext").returncode == 0
    target = home / "config" / "mcpctl.toml"
    target.write_text("# mine\n", encoding="utf-8")
    again = mcpctl(home, "config", "import", str(source), "--plaintext")
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert "--force" in again.stderr
    assert again.stdout == ""
    assert target.read_text(encoding="utf-8") == "# mine\n"
    forced = mcpctl(home, "config", "import", str(source), "--force", "--plaintext")
    assert forced.returncode == 0
    assert "filesystem" in target.read_text(encoding="utf-8")


def test_import_to_another_file(home: Path, tmp_path: Path) -> None:
    output = tmp_path / "nested" / "team.toml"
    done = mcpctl(
        home, "config", "import", str(client_file(tmp_path)), "--output", str(output), "--plaintext"
    )
    assert done.returncode == 0
    assert output.exists()
    assert not (home / "config" / "mcpctl.toml").exists()


def test_import_of_a_bad_file_exits_2_and_says_why_on_stderr(home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"mcpServers": {"fs": {"command": "npx",}}}', encoding="utf-8")
    cases = {
        broken: "invalid JSON",
        client_file(tmp_path, {"mcpServers": {"fs": {"args": ["x"]}}}, "empty.json"): "neither `command`",
        client_file(
            tmp_path, {"mcpServers": {"fs": {"command": "x", "type": "ws"}}}, "ws.json"
        ): "unknown type",
        client_file(tmp_path, {"nothing": {}}, "none.json"): "mcpServers",
        tmp_path / "missing.json": "file not found",
    }
    for source, message in cases.items():
        done = mcpctl(home, "config", "import", str(source))
        assert done.returncode == 2, (source, done.stderr)
        assert str(source) in done.stderr
        assert message in done.stderr
        assert "fix:" in done.stderr
        assert done.stdout == ""
        assert "Traceback" not in done.stderr
    assert not (home / "config" / "mcpctl.toml").exists()


def test_check_validates_the_file_serve_would_use(home: Path, tmp_path: Path) -> None:
    none = mcpctl(home, "config", "check")
    assert none.returncode == 2
    assert "no configuration file found" in none.stderr
    assert mcpctl(home, "config", "import", str(client_file(tmp_path)), "--plaintext").returncode == 0
    ok = mcpctl(home, "config", "check")
    assert ok.returncode == 0
    assert "ok, 4 server(s)" in ok.stderr
    shown = json.loads(mcpctl(home, "config", "check", "--json").stdout)
    assert sorted(shown["servers"]) == ["files.v2", "filesystem", "remote", "time"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[servers.fs]\ncomand = "npx"\n', encoding="utf-8")
    for args, env in ((("--config", str(bad)), None), ((), {"MCPCTL_CONFIG": str(bad)})):
        done = mcpctl(home, "config", "check", *args, env=env)
        assert done.returncode == 2
        assert f"{bad}: servers.fs.comand" in done.stderr
        assert "did you mean `command`?" in done.stderr


def test_path_honours_mcpctl_home(home: Path) -> None:
    done = mcpctl(home, "config", "path", "--json")
    assert done.returncode == 0
    paths = json.loads(done.stdout)
    root = home.resolve()
    assert paths == {
        "config": str(root / "config" / "mcpctl.toml"),
        "state": str(root / "state"),
        "logs": str(root / "logs"),
        "runtime": str(root / "run"),
        "data": str(root / "data"),
    }
    plain = mcpctl(home, "config", "path")
    assert plain.stdout.strip() == paths["config"]


# -- secrets, discovery and pointing clients at the host (issue 13) -------------------------------

WITH_SECRETS = {
    "mcpServers": {
        "github": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-github"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_0123456789abcdefSECRET", "LOG_LEVEL": "debug"},
        },
        "remote": {
            "type": "http",
            "url": "https://example.com/mcp",
            "headers": {"Authorization": "Bearer sk-live-SECRET", "X-Team": "core"},
        },
    }
}


def _keyring_value(env: dict[str, str], name: str) -> str | None:
    probe = "import keyring, sys; print(keyring.get_password('mcpctl', 'secret:' + sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", probe, name],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    value = done.stdout.strip()
    return None if value == "None" else value


def test_import_moves_secrets_to_the_keyring_and_writes_0600(
    home: Path,
    tmp_path: Path,
    secret_service: dict[str, str],  # noqa: F811
) -> None:
    env = keyring_env(base_env(home), secret_service)
    source = client_file(tmp_path, WITH_SECRETS)
    done = subprocess.run(
        mcpctl_command("config", "import", str(source)),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    target = home / "config" / "mcpctl.toml"
    assert target.stat().st_mode & 0o777 == 0o600
    text = target.read_text()
    assert "SECRET" not in text
    config = load_config(target)
    assert config.servers["github"].env == {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "${keyring:github_personal_access_token}",
        "LOG_LEVEL": "debug",
    }
    assert config.servers["remote"].headers == {
        "Authorization": "Bearer ${keyring:remote_authorization}",
        "X-Team": "core",
    }
    assert (
        "moved 2 secret(s) into the keyring: github_personal_access_token, remote_authorization"
        in done.stderr
    )
    assert _keyring_value(env, "github_personal_access_token") == "ghp_0123456789abcdefSECRET"
    assert _keyring_value(env, "remote_authorization") == "sk-live-SECRET"
    listed = subprocess.run(
        mcpctl_command("secrets", "list", "--json"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert {s["name"] for s in json.loads(listed.stdout)} == {
        "github_personal_access_token",
        "remote_authorization",
    }
    # importing again reuses the names that hold the same values
    again = subprocess.run(
        mcpctl_command("config", "import", str(source), "--force"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0
    assert load_config(target).servers == config.servers


def test_import_without_a_keyring_fails_before_writing_anything(home: Path, tmp_path: Path) -> None:
    env = without_keyring(tmp_path / "xdg", base_env(home))
    done = subprocess.run(
        mcpctl_command("config", "import", str(client_file(tmp_path, WITH_SECRETS))),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "no usable OS keyring" in done.stderr
    assert not (home / "config" / "mcpctl.toml").exists()


def test_plaintext_keeps_the_values_in_a_0600_file(home: Path, tmp_path: Path) -> None:
    done = mcpctl(home, "config", "import", str(client_file(tmp_path, WITH_SECRETS)), "--plaintext")
    assert done.returncode == 0, done.stderr
    target = home / "config" / "mcpctl.toml"
    assert "ghp_0123456789abcdefSECRET" in target.read_text()
    assert target.stat().st_mode & 0o777 == 0o600
    assert "--plaintext" in done.stderr


def test_vscode_input_prompts_are_refused_by_import_and_check(home: Path, tmp_path: Path) -> None:
    vscode = {
        "inputs": [{"type": "promptString", "id": "token", "password": True}],
        "servers": {"github": {"command": "npx", "env": {"GITHUB_TOKEN": "${input:token}"}}},
    }
    source = client_file(tmp_path, vscode, "mcp.json")
    for args in (["config", "import", str(source)], ["config", "check", "--config", str(source)]):
        done = mcpctl(home, *args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines() == [
            f"error: {source}: servers.github.env: ${{input:token}} asks VS Code to prompt for a value, "
            "which mcpctl cannot do",
            "  fix: store the value with `mcpctl secrets set token` and write ${keyring:token} instead",
        ]
    assert not (home / "config" / "mcpctl.toml").exists()


def _machine(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A home and a project directory with each client's file, as FastMCP's `discover` finds them."""
    user, project = tmp_path / "user", tmp_path / "project"
    files = {
        user / ".config" / "Claude" / "claude_desktop_config.json": {
            "mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}
        },
        user / ".cursor" / "mcp.json": {
            "mcpServers": {"fetch": {"command": "uvx", "args": ["mcp-server-fetch"]}}
        },
        project / ".vscode" / "mcp.json": {
            "servers": {"docs": {"type": "http", "url": "https://docs.example/mcp"}}
        },
        user / ".codeium" / "windsurf" / "mcp_config.json": {
            "mcpServers": {"time": {"command": "uvx", "args": ["another-time"]}}
        },
    }
    for path, document in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document))
    return user, project, {"HOME": str(user), "XDG_CONFIG_HOME": str(user / ".config")}


def _run_in(home: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        mcpctl_command(*args),
        env=base_env(home, **env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_import_without_a_path_finds_the_clients_files(home: Path, tmp_path: Path) -> None:
    user, project, env = _machine(tmp_path)
    done = _run_in(home, project, env, "config", "import", "--plaintext")
    assert done.returncode == 0, done.stderr
    assert f"found Claude Desktop (user): {user / '.config/Claude/claude_desktop_config.json'}" in done.stderr
    assert f"found Cursor (user): {user / '.cursor/mcp.json'}" in done.stderr
    assert f"found VS Code (project): {project / '.vscode/mcp.json'}" in done.stderr
    assert "skipped 'time' from" in done.stderr  # Windsurf's `time`: Claude's came first
    servers = load_config(home / "config" / "mcpctl.toml").servers
    assert sorted(servers) == ["docs", "fetch", "time"]
    assert servers["time"].args == ["mcp-server-time"]
    nothing = _run_in(
        home,
        tmp_path,
        {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
        "config",
        "import",
        "--force",
    )
    assert nothing.returncode == 2
    assert "found no Claude Desktop, Cursor, VS Code or Windsurf configuration" in nothing.stderr


def test_connect_prints_the_entry_and_writes_it_only_when_asked(home: Path, tmp_path: Path) -> None:
    user, project, env = _machine(tmp_path)
    printed = _run_in(home, project, env, "config", "connect", "vscode")
    assert printed.returncode == 0
    assert json.loads(printed.stdout) == {
        "servers": {"mcpctl": {"type": "http", "url": "http://127.0.0.1:8765/mcp"}}
    }
    cursor = user / ".cursor" / "mcp.json"
    before = cursor.read_text()
    wrote = _run_in(
        home, project, env, "config", "connect", "cursor", "--write", "--url", "http://127.0.0.1:9/mcp"
    )
    assert wrote.returncode == 0, wrote.stderr
    assert json.loads(cursor.read_text())["mcpServers"] == {
        "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
        "mcpctl": {"url": "http://127.0.0.1:9/mcp"},
    }
    [backup] = list(cursor.parent.glob("mcp.json.*.bak"))
    assert backup.read_text() == before
    claude = _run_in(home, project, env, "config", "connect", "claude")
    assert json.loads(claude.stdout)["mcpServers"]["mcpctl"]["args"] == [
        "-y",
        "mcp-remote",
        "http://127.0.0.1:8765/mcp",
    ]
    vscode_user = user / ".config" / "Code" / "User" / "mcp.json"
    vscode_user.parent.mkdir(parents=True)
    vscode_user.write_text('{\n  // a comment: JSONC, which mcpctl will not rewrite\n  "servers": {}\n}\n')
    refused = _run_in(home, project, env, "config", "connect", "vscode", "--write")
    assert refused.returncode == 2
    assert "is not plain JSON" in refused.stderr
    assert "// a comment" in vscode_user.read_text()
    unknown = _run_in(home, project, env, "config", "connect", "emacs")
    assert unknown.returncode == 2
    assert "use one of: claude, cursor, vscode or windsurf" in unknown.stderr
