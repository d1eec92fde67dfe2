"""`[audit] stdout = true`: each sealed record also goes to standard output, byte for byte as in the file."""

from __future__ import annotations

from pathlib import Path

from mcpctl.audit.files import audit_files
from tests.audit.hosting import audit_dir, hosting, server
from tests.support.mcp_http import ModernClient


def test_every_sealed_record_is_also_written_to_stdout_as_its_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with (
        hosting(home, {"echo": server("echo.py")}, audit={"stdout": True}) as host,
        ModernClient(host.url) as client,
    ):
        for n in range(3):
            client.call_tool("echo__echo", {"message": f"mirrored {n}"})
    on_disk = [line for path in audit_files(audit_dir(home)) for line in path.read_bytes().splitlines()]
    printed = set(host.log.read_bytes().splitlines())  # serve's stdout (and stderr) went to this file
    assert sum(b"mirrored" in line for line in on_disk) == 3
    assert all(line in printed for line in on_disk), "a record on disk was not on stdout as the same line"
