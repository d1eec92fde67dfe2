"""`mcpctl config import | check | path` as a user runs them: real subprocesses, exit codes, files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mcpctl.config.importer import from_client_json
from mcpctl.config.loader import load_config, validate_config
from tests.support.host import ROOT, base_env, mcpctl_command

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
    done = mcpctl(home, "config", "import", str(source))
    assert done.returncode == 0, done.stderr
    target = home / "config" / "mcpctl.toml"
    assert done.stdout.strip() == str(target)  # data on stdout: the path written
    assert "4 server(s)" in done.stderr
    assert load_config(target).servers == validate_config("x", from_client_json("x", CLAUDE)).servers
    assert load_config(target).servers["time"].enabled is False


def test_import_refuses_to_overwrite_without_force(home: Path, tmp_path: Path) -> None:
    source = client_file(tmp_path)
    assert mcpctl(home, "config", "import", str(source)).returncode == 0
    target = home / "config" / "mcpctl.toml"
    target.write_text("# mine\n", encoding="utf-8")
    again = mcpctl(home, "config", "import", str(source))
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert "--force" in again.stderr
    assert again.stdout == ""
    assert target.read_text(encoding="utf-8") == "# mine\n"
    forced = mcpctl(home, "config", "import", str(source), "--force")
    assert forced.returncode == 0
    assert "filesystem" in target.read_text(encoding="utf-8")


def test_import_to_another_file(home: Path, tmp_path: Path) -> None:
    output = tmp_path / "nested" / "team.toml"
    done = mcpctl(home, "config", "import", str(client_file(tmp_path)), "--output", str(output))
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
    assert mcpctl(home, "config", "import", str(client_file(tmp_path))).returncode == 0
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
