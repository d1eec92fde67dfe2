"""The one redaction point for resolved secret values, and the writers that use it; private files."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

from mcpctl.audit.redact import REDACTED, KnownSecrets, Redactor
from mcpctl.backends.stderr import StderrLog
from mcpctl.fsutil import private_dir, write_atomically

VALUE = 'p@ss"word\\with-quote'


def test_a_value_its_json_form_and_its_lines_are_replaced() -> None:
    known = KnownSecrets()
    known.add([VALUE, "-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----", "abc"])
    assert known.scrub(f"x {VALUE} y") == f"x {REDACTED} y"
    assert known.scrub(json.dumps({"v": VALUE})) == json.dumps({"v": REDACTED})
    assert known.scrub("line: AAAABBBBCCCC") == f"line: {REDACTED}"
    assert known.scrub("abc is too short to redact") == "abc is too short to redact"
    assert known.scrub_all({"k": [VALUE, 1, None]}) == {"k": [REDACTED, 1, None]}


def test_the_audit_redactor_forgets_what_it_memoised_when_a_value_becomes_known() -> None:
    known = KnownSecrets()
    redactor = Redactor(secrets=known)
    assert redactor.copy({"note": "s3cr3t-v4lue"}, 1000)[0] == {"note": "s3cr3t-v4lue"}
    known.add(["s3cr3t-v4lue"])
    assert redactor.copy({"note": "s3cr3t-v4lue"}, 1000)[0] == {"note": REDACTED}
    assert redactor.text(f"long text {'x' * 100} s3cr3t-v4lue") == f"long text {'x' * 100} {REDACTED}"


def test_stderr_lines_are_scrubbed_before_the_ring_and_the_private_log(tmp_path: Path) -> None:
    known = KnownSecrets()
    known.add(["hunter2-secret"])
    path = tmp_path / "logs" / "servers" / "x.log"

    async def run() -> StderrLog:
        log = StderrLog(path, known.scrub)
        log.feed(b"starting with hunter2-")
        log.feed(b"secret in two reads\nplain line\n")
        log.feed(b"no newline: hunter2-secret")
        await log.aclose()
        return log

    log = asyncio.run(run())
    assert log.tail() == [
        f"starting with {REDACTED} in two reads",
        "plain line",
        f"no newline: {REDACTED}",
    ]
    assert path.read_text() == "\n".join(log.tail()) + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "logs").stat().st_mode) == 0o700


def test_private_dirs_and_files(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    old.chmod(0o755)  # what an older version left behind
    private_dir(old)
    assert stat.S_IMODE(old.stat().st_mode) == 0o700
    target = tmp_path / "a" / "b" / "f.json"
    write_atomically(target, "{}")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
