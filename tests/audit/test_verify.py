"""`logs verify` on real trails: each kind of tampering is caught and named by file and line."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from mcpctl.audit.files import CURRENT, audit_files
from mcpctl.audit.verify import Problem, verify
from tests.audit.trail import Trail, lines, rewrite
from tests.support.host import base_env, mcpctl_command


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    """Sixty records over several rotated files (rotation every ~2 KB), closed like a stopped host."""
    directory = tmp_path / "audit"
    t = Trail(directory, max_file_bytes=4096)
    t.calls(60)
    t.close()
    assert len(audit_files(directory)) >= 3
    return directory


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def rehash(line: bytes, **changes: object) -> bytes:
    """What a careful forger does: change fields and recompute the line's own hash."""
    record = json.loads(line)
    record.pop("hash")
    record.update(changes)
    body = json.dumps(record, separators=(",", ":")).encode()
    return body[:-1] + b',"hash":"' + hashlib.sha256(body).hexdigest().encode() + b'"}\n'


def test_an_untouched_trail_verifies_across_rotated_files(trail: Path) -> None:
    report = verify(trail)
    assert report.ok, report.problems
    assert report.records == 60
    assert (report.first_seq, report.last_seq) == (1, 60)


def test_an_edited_record_is_named(trail: Path) -> None:
    path = audit_files(trail)[1]
    content = lines(path)
    content[2] = content[2].replace(b'"call ', b'"CALL ')
    rewrite(path, content)
    problem = only(verify(trail).problems)
    assert (problem.kind, problem.file, problem.line) == ("edited", path.name, 3)


def test_an_edited_and_rehashed_record_is_named(trail: Path) -> None:
    path = audit_files(trail)[0]
    content = lines(path)
    content[3] = rehash(content[3], outcome="error")
    rewrite(path, content)
    problem = only(verify(trail).problems)
    assert (problem.kind, problem.file, problem.line) == ("edited", path.name, 4)


def test_a_deleted_record_is_named_with_what_is_missing(trail: Path) -> None:
    path = audit_files(trail)[1]
    content = lines(path)
    gone = json.loads(content[1])["seq"]
    del content[1]
    rewrite(path, content)
    problem = only(verify(trail).problems)
    assert (problem.kind, problem.file, problem.line) == ("deleted", path.name, 2)
    assert f"seq {gone}" in problem.detail


def test_deleting_the_first_record_of_a_rotated_file_breaks_the_chain_across_files(trail: Path) -> None:
    path = audit_files(trail)[1]
    rewrite(path, lines(path)[1:])
    problem = only(verify(trail).problems)
    assert (problem.kind, problem.file, problem.line) == ("deleted", path.name, 1)


def test_a_deleted_file_in_the_middle_is_named(trail: Path) -> None:
    files = audit_files(trail)
    count = len(lines(files[1]))
    files[1].unlink()
    problem = only(verify(trail).problems)
    assert (problem.kind, problem.file, problem.line) == ("deleted", files[2].name, 1)
    assert f"{count} record(s)" in problem.detail


def test_records_cut_off_the_end_are_caught_by_the_head_marker(trail: Path) -> None:
    path = trail / CURRENT
    content = lines(path)
    rewrite(path, content[:-2])
    problem = only(verify(trail).problems)
    assert problem.kind == "deleted"
    assert "2 record(s) missing after this one" in problem.detail


def test_an_inserted_copy_is_named(trail: Path) -> None:
    path = audit_files(trail)[0]
    content = lines(path)
    content.insert(4, content[1])
    rewrite(path, content)
    problem = only(verify(trail).problems)
    assert (problem.kind, problem.file, problem.line) == ("inserted", path.name, 5)


def test_an_inserted_forgery_that_chains_correctly_is_still_named(trail: Path) -> None:
    path = audit_files(trail)[0]
    content = lines(path)
    before = json.loads(content[2])
    forged = rehash(content[3], prev=before["hash"], arguments={"message": "never happened"})
    content.insert(3, forged)
    rewrite(path, content)
    problem = only(verify(trail).problems)
    assert (problem.kind, problem.file, problem.line) == ("inserted", path.name, 4)


def test_swapped_records_are_named_as_reordered(trail: Path) -> None:
    path = audit_files(trail)[0]
    content = lines(path)
    content[2], content[3] = content[3], content[2]
    rewrite(path, content)
    problem = only(verify(trail).problems)
    assert (problem.kind, problem.file) == ("reordered", path.name)
    assert problem.line == 3
    assert problem.last_line == 5


def test_a_record_moved_to_another_file_is_named_as_reordered(trail: Path) -> None:
    files = audit_files(trail)
    first, last = lines(files[0]), lines(files[-1])
    moved = first.pop(1)
    rewrite(files[0], first)
    rewrite(files[-1], [*last, moved])
    kinds = {(p.kind, p.file) for p in verify(trail).problems}
    assert ("reordered", files[0].name) in kinds
    assert ("reordered", files[-1].name) in kinds
    assert all(kind == "reordered" for kind, _ in kinds)


def test_a_line_that_is_not_a_record_is_named(trail: Path) -> None:
    path = audit_files(trail)[0]
    content = lines(path)
    content.insert(2, b"not json at all\n")
    rewrite(path, content)
    problem = only(verify(trail).problems)
    assert (problem.kind, problem.file, problem.line) == ("edited", path.name, 3)


def test_the_cli_exits_1_naming_file_and_line_and_0_when_intact(trail: Path, home: Path) -> None:
    env = base_env(home)
    ok = subprocess.run(
        mcpctl_command("logs", "verify", "--dir", str(trail)),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "intact: 60 record(s)" in ok.stderr
    path = audit_files(trail)[1]
    content = lines(path)
    del content[4]
    rewrite(path, content)
    broken = subprocess.run(
        mcpctl_command("logs", "verify", "--dir", str(trail), "--json"),
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    assert broken.returncode == 1
    assert f"{path.name} line 5: deleted" in broken.stderr
    report = json.loads(broken.stdout)
    assert report["ok"] is False
    assert report["problems"][0]["kind"] == "deleted"
