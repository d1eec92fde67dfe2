"""Why a server is down: the decisive line of its stderr, its state, the fix; and which key is used."""

from __future__ import annotations

from pathlib import Path

from mcpctl.auth.apikeys import KeyRecord
from mcpctl.client.credentials import default_key
from mcpctl.client.diagnose import DownServer, decisive_line, down_servers

NPM_E404 = """npm error code E404
npm error 404 Not Found - GET https://registry.npmjs.org/@modelcontextprotocol%2fserver-filesytem
npm error 404
npm error 404  The requested resource '@modelcontextprotocol/server-filesytem@*' could not be found.
npm error 404
npm error 404 Note that you can also install from a
npm error 404 tarball, folder, http url, or git url.
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-12-02T11_44_04_864Z-debug-0.log
[mcpctl 2026-12-02T11:44:05] exited with code 1""".splitlines()

PYTHON_TRACEBACK = """Traceback (most recent call last):
  File "/srv/server.py", line 3, in <module>
    import fastmcp
ModuleNotFoundError: No module named 'fastmcp'""".splitlines()

NODE_ERROR = """node:internal/modules/cjs/loader:1228
  throw err;
  ^

Error: Cannot find module '/srv/index.js'
    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)
    at node:internal/main/run_main_module:28:49 {
  code: 'MODULE_NOT_FOUND',
}

Node.js v22.23.3""".splitlines()


def test_the_decisive_line_of_an_npm_typo_is_its_404_not_its_log_pointer() -> None:
    line = decisive_line(NPM_E404)
    assert line is not None and line.startswith("npm error 404 Not Found - GET https://registry.npmjs.org/")


def test_the_decisive_line_of_a_python_or_node_failure_is_the_error_itself() -> None:
    assert decisive_line(PYTHON_TRACEBACK) == "ModuleNotFoundError: No module named 'fastmcp'"
    assert decisive_line(NODE_ERROR) == "Error: Cannot find module '/srv/index.js'"


def test_without_an_error_pattern_the_last_useful_line_is_taken() -> None:
    assert decisive_line(["starting", "listening on stdio", ""]) == "listening on stdio"
    assert decisive_line([]) is None
    assert decisive_line(["[mcpctl 2026-12-02T11:44:05] exited with code 1"]) is None


def test_down_servers_read_the_log_tail_and_name_state_and_fix(tmp_path: Path) -> None:
    log = tmp_path / "filesystem.log"
    log.write_text("old run: fine\n" * 1000 + "\n".join(NPM_E404) + "\n")
    report = {
        "servers": [
            {"name": "demo", "state": "ready", "prefix": "demo", "stderr": []},
            {
                "name": "filesystem",
                "state": "crash-loop",
                "prefix": "fs",
                "stderr": [],  # the report's tail may be empty: the log file has it
                "log": str(log),
                "lastError": "the server exited with code 1",
            },
        ]
    }
    [down] = down_servers(report)
    assert (down.name, down.state, down.prefix, down.log) == ("filesystem", "crash-loop", "fs", str(log))
    assert down.describe().startswith("server 'filesystem' is down (crash-loop): npm error 404 Not Found")
    assert "`mcpctl servers logs filesystem`" in down.fix()
    assert "`mcpctl servers restart filesystem`" in down.fix()
    assert down.owns("fs__read_file") and not down.owns("demo__echo") and not down.owns("fsx__read")


def test_a_server_without_a_prefix_owns_every_name_and_a_starting_one_says_so() -> None:
    bridge = DownServer("everything", "starting", "", None, None, None)
    assert bridge.owns("echo")
    assert bridge.describe() == "server 'everything' is starting (starting)"


def test_the_default_key_is_the_oldest_with_access_to_every_tool() -> None:
    def key(name: str, created: float, tools: tuple[str, ...] = (), **more: float) -> KeyRecord:
        return KeyRecord(id=name, name=name, hash="", tools=tools, created=created, **more)

    me = key("me", 100)
    echoonly = key("echoonly", 200, ("demo__echo",))
    newer = key("newer", 300)
    records = {r.id: r for r in (me, echoonly, newer)}
    assert default_key(records, now=1000) == me  # not the newest (issue 13, defect 6)
    assert default_key({"e": echoonly}, now=1000) == echoonly  # only restricted ones: the oldest
    revoked = key("me", 100, revoked=150)
    assert default_key({"me": revoked, "n": newer}, now=1000) == newer
    assert default_key({}, now=1000) is None
