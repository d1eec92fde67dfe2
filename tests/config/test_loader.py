"""Loading configuration: every problem names the file, the field and a fix; client JSON shapes load."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mcpctl.config.loader import load_client_json, load_config
from mcpctl.config.models import Config
from mcpctl.errors import ConfigError, ExitCode


def write(tmp_path: Path, text: str, name: str = "mcpctl.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert error.exit_code is ExitCode.USAGE
    assert str(error).startswith(f"{path}: ")  # the file comes first, on every line
    assert all(line.startswith((str(path), "  fix: ")) for line in str(error).splitlines())
    return error.problems


def test_a_good_file_loads(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[gateway]
port = 0
session_ttl = "1h"

[servers.fs]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
call_timeout = "500ms"

[servers.remote]
url = "https://example.com/mcp"
prefix = "web"
""",
        )
    )
    assert list(config.servers) == ["fs", "remote"]
    assert config.gateway.session_ttl == 3600
    assert config.servers["fs"].call_timeout == 0.5
    assert config.prefix_of("fs") == "fs"
    assert config.prefix_of("remote") == "web"


def test_unknown_field_with_a_spelling_hint(tmp_path: Path) -> None:
    [(field, problem, fix)] = problems(write(tmp_path, '[servers.fs]\ncomand = "npx"\n'))
    assert field == "servers.fs.comand"
    assert "not permitted" in problem
    assert fix.startswith("did you mean `command`?")
    assert "known fields: args," in fix


def test_unknown_sections_and_nested_fields(tmp_path: Path) -> None:
    [(field, _, fix)] = problems(write(tmp_path, "[gatway]\nport = 1\n"))
    assert field == "gatway"
    assert "did you mean `gateway`?" in fix
    [(field, _, fix)] = problems(
        write(tmp_path, '[servers.a]\ncommand = "x"\n[servers.a.restart]\nmax_failure = 3\n')
    )
    assert field == "servers.a.restart.max_failure"
    assert "`max_failures`" in fix
    [(field, _, fix)] = problems(
        write(tmp_path, '[[limits.rules]]\nscope = "global"\nrequests = 1\nburts = 2\n')
    )
    assert field == "limits.rules.0.burts"
    assert "`burst`" in fix
    [(field, _, fix)] = problems(write(tmp_path, '[servers.a]\ncommand = "x"\nzzz = 1\n'))
    assert fix.startswith("remove `zzz`")  # nothing close: no guess


def test_wrong_types_each_get_a_fix(tmp_path: Path) -> None:
    found = problems(
        write(
            tmp_path,
            """
[gateway]
port = "eighty"
allowed_origins = "https://a.example"

[servers.fs]
command = "npx"
args = "-y server"
env = ["A=1"]
required = "maybe"
""",
        )
    )
    by_field = {field: fix for field, _, fix in found}
    assert by_field["gateway.port"] == "write `port` as a number"
    assert by_field["gateway.allowed_origins"].startswith("write `allowed_origins` as a list")
    assert by_field["servers.fs.args"].startswith("write `args` as a list")
    assert by_field["servers.fs.env"].startswith("write `env` as a table")
    assert by_field["servers.fs.required"] == "write `required` as true or false"


@pytest.mark.parametrize("value", ['"5 minutes"', '"fast"', '"-1s"', '"1.5.2s"'])
def test_bad_durations(tmp_path: Path, value: str) -> None:
    [(field, problem, fix)] = problems(
        write(tmp_path, f'[servers.a]\ncommand = "x"\ncall_timeout = {value}\n')
    )
    assert field == "servers.a.call_timeout"
    assert "is not a duration" in problem
    assert '"30s"' in fix
    assert "number" in fix


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30),
        ('"500ms"', 0.5),
        ('" 2m "', 120),
        ('"1.5h"', 5400),
        ('"90d"', 90 * 86400),
        ('"45s"', 45),
        ("2.5", 2.5),
    ],
)
def test_good_durations(tmp_path: Path, value: str, seconds: float) -> None:
    config = load_config(write(tmp_path, f'[servers.a]\ncommand = "x"\ncall_timeout = {value}\n'))
    assert config.servers["a"].call_timeout == seconds


def test_negative_numbers_are_out_of_range(tmp_path: Path) -> None:
    [(field, _, fix)] = problems(write(tmp_path, '[servers.a]\ncommand = "x"\ncall_timeout = -5\n'))
    assert field == "servers.a.call_timeout"
    assert "allowed range" in fix


def test_missing_or_double_transport(tmp_path: Path) -> None:
    [(field, problem, fix)] = problems(write(tmp_path, '[servers.fs]\nargs = ["x"]\n'))
    assert field == "servers.fs"
    assert "neither `command`" in problem
    assert 'command = "..."' in fix
    [(field, problem, _)] = problems(write(tmp_path, '[servers.fs]\ncommand = "x"\nurl = "https://a"\n'))
    assert field == "servers.fs"
    assert "both `command` and `url`" in problem
    [(field, problem, fix)] = problems(write(tmp_path, '[servers.fs]\nurl = "ftp://example.com"\n'))
    assert "http:// or https://" in problem
    assert "https://example.com/mcp" in fix


def test_duplicate_prefixes(tmp_path: Path) -> None:
    [(field, problem, fix)] = problems(
        write(
            tmp_path,
            """
[servers.a]
command = "x"
prefix = "tools"
[servers.b]
command = "y"
prefix = "tools"
""",
        )
    )
    assert field == "servers"
    assert problem == "servers 'a' and 'b' share the prefix 'tools'"
    assert "[servers.'b']" in fix
    assert "another prefix" in fix


def test_a_server_named_like_another_servers_prefix(tmp_path: Path) -> None:
    [(field, problem, _)] = problems(
        write(tmp_path, '[servers.a]\ncommand = "x"\nprefix = "b"\n[servers.b]\ncommand = "y"\n')
    )
    assert field == "servers"
    assert "share the prefix 'b'" in problem


@pytest.mark.parametrize("name", ["my server", "-dash", ".hidden", "x" * 65, "naïve"])
def test_invalid_server_names(tmp_path: Path, name: str) -> None:
    [(field, problem, fix)] = problems(write(tmp_path, f'[servers."{name}"]\ncommand = "x"\n'))
    assert field == "servers"
    assert repr(name) in problem
    assert fix.startswith("rename it, e.g. [servers.")


def test_a_name_that_cannot_be_a_prefix_needs_one(tmp_path: Path) -> None:
    [(_, problem, fix)] = problems(write(tmp_path, '[servers."files.v2"]\ncommand = "x"\n'))
    assert "no valid prefix" in problem
    assert "prefix = 'files_v2'" in fix
    config = load_config(write(tmp_path, '[servers."files.v2"]\ncommand = "x"\nprefix = "files"\n'))
    assert config.prefix_of("files.v2") == "files"


def test_an_invalid_prefix_suggests_one(tmp_path: Path) -> None:
    [(field, _, fix)] = problems(write(tmp_path, '[servers.a]\ncommand = "x"\nprefix = "my.tools"\n'))
    assert field == "servers.a.prefix"
    assert fix == "use prefix = 'my_tools'"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "[gateway]\nport = 99999\nhost = 1\n[metrics]\nenabeld = true\n"))
    assert [field for field, _, _ in found] == ["gateway.host", "gateway.port", "metrics.enabeld"]


def test_bad_toml_syntax_names_the_line(tmp_path: Path) -> None:
    [(field, problem, fix)] = problems(write(tmp_path, '[servers.a]\ncommand = "x\n'))
    assert field == "line 2 column 13"
    assert problem.startswith("invalid TOML:")
    assert "position" in fix
    [(field, _, _)] = problems(write(tmp_path, "[servers]\n[servers]\n"))
    assert field.startswith("line 2")


def test_bad_json_syntax_names_the_line(tmp_path: Path) -> None:
    text = '{\n  "mcpServers": {\n    "fs": {"command": "npx",}\n  }\n}\n'
    path = write(tmp_path, text, "claude.json")
    [(field, problem, fix)] = problems(path)
    where = re.fullmatch(r"line 3 column (\d+)", field)
    assert where is not None, field
    # Python 3.11 and 3.12 point at the brace after the trailing comma, 3.13 at the comma itself
    assert text.splitlines()[2][int(where[1]) - 1 :].startswith(("}", ",}")), field
    assert problem.startswith("invalid JSON")
    assert fix == "fix the JSON syntax"


def test_unreadable_files(tmp_path: Path) -> None:
    [(_, problem, _)] = problems(tmp_path / "missing.toml")
    assert problem == "file not found"
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'[servers.a]\ncommand = "caf\xe9"\n')
    [(field, problem, fix)] = problems(latin1)
    assert field == "byte 26"
    assert "not UTF-8" in problem
    assert fix == "save it as UTF-8"
    [(_, problem, _)] = problems(tmp_path)  # a directory
    assert problem.startswith("cannot read")


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    toml = tmp_path / "bom.toml"
    toml.write_bytes(b'\xef\xbb\xbf[servers.a]\ncommand = "x"\n')
    assert list(load_config(toml).servers) == ["a"]
    claude = tmp_path / "bom.json"
    claude.write_bytes(b'\xef\xbb\xbf{"mcpServers": {"a": {"command": "x"}}}')
    assert list(load_config(claude).servers) == ["a"]


CLAUDE = {
    "mcpServers": {
        "filesystem": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
            "env": {"LOG": "1"},
        },
        "remote": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer t"}},
        "old": {"command": "uvx", "args": ["mcp-server-time"], "disabled": True, "autoApprove": ["x"]},
    },
    "globalShortcut": "Ctrl+Space",  # other top-level keys of the client's file are not ours
}


def test_the_mcp_servers_json_shape(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, json.dumps(CLAUDE), "claude_desktop_config.json"))
    fs, remote, old = config.servers["filesystem"], config.servers["remote"], config.servers["old"]
    assert fs.command == "npx"
    assert fs.args[-1] == "/tmp"
    assert fs.env == {"LOG": "1"}
    assert remote.url == "https://example.com/mcp"
    assert remote.headers == {"Authorization": "Bearer t"}
    assert old.enabled is False
    assert list(config.enabled_servers()) == ["filesystem", "remote"]


def test_the_vs_code_servers_shape(tmp_path: Path) -> None:
    vscode = {
        "inputs": [{"type": "promptString", "id": "token"}],
        "servers": {
            "memory": {
                "type": "stdio",
                "command": "npx",
                "args": ["-y", "@modelcontextprotocol/server-memory"],
                "envFile": "${workspaceFolder}/.env",
            },
            "github": {"type": "http", "url": "https://api.example.com/mcp/"},
            "legacy": {"type": "sse", "url": "http://localhost:3001/sse"},
        },
    }
    config = load_config(write(tmp_path, json.dumps(vscode), "mcp.json"))
    assert config.servers["memory"].transport == "auto"
    assert config.servers["github"].transport == "streamable-http"
    assert config.servers["legacy"].transport == "sse"


def test_json_problems_are_named_as_in_the_users_file(tmp_path: Path) -> None:
    bad = {"mcpServers": {"fs": {"command": "npx", "args": "-y x", "cwdd": "/"}}}
    found = problems(write(tmp_path, json.dumps(bad), "claude.json"))
    assert {field for field, _, _ in found} == {"mcpServers.fs.args", "mcpServers.fs.cwdd"}
    [(field, problem, fix)] = problems(
        write(tmp_path, json.dumps({"servers": {"x": {"type": "ws", "url": "u"}}}), "mcp.json")
    )
    assert field == "servers.x.type"
    assert "'ws'" in problem
    assert "stdio, http or sse" in fix


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "(top level)"),
        ({"mcp": {}}, "(top level)"),
        ({"mcpServers": []}, "mcpServers"),
        ({"mcpServers": {"a": "npx"}}, "mcpServers.a"),
    ],
)
def test_json_shape_errors(tmp_path: Path, document: object, field: str) -> None:
    [(found, _, fix)] = problems(write(tmp_path, json.dumps(document), "c.json"))
    assert found == field
    assert fix


def test_an_empty_file_is_an_empty_config(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")) == Config()


def test_load_client_json_gives_the_data_to_write_and_the_validated_config(tmp_path: Path) -> None:
    path = tmp_path / "claude.json"
    path.write_bytes(b'\xef\xbb\xbf{"mcpServers": {"a": {"command": "x", "disabled": true}}}')
    data, config = load_client_json(path)
    assert data == {"servers": {"a": {"command": "x", "enabled": False}}}
    assert config.servers["a"].enabled is False
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'{"mcpServers": {"a": {"command": "caf\xe9"}}}')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_client_json(latin1)


def test_placement_is_every_or_one(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, '[servers.mem]\ncommand = "x"\nplacement = "one"\n[servers.b]\ncommand = "y"\n')
    )
    assert config.servers["mem"].placement == "one"
    assert config.servers["b"].placement == "every"
    [(field, problem, fix)] = problems(
        write(tmp_path, '[servers.mem]\ncommand = "x"\nplacement = "single"\n')
    )
    assert field == "servers.mem.placement"
    assert "'single' is not known" in problem
    assert 'placement = "one"' in fix
    [(field, problem, fix)] = problems(
        write(tmp_path, '[servers.mem]\ncommand = "x"\nplacement = "one"\nisolation = "session"\n')
    )
    assert field == "servers.mem"
    assert "do not go together" in problem
    assert fix == "drop one of them"
