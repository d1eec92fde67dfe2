"""Tables: names never cut, descriptions shortened to the terminal; plain tab-separated lines in a pipe."""

from __future__ import annotations

import io
import sys

import pytest

from mcpctl.cli.console import Console, _layout

TOOLS = [
    ("filesystem__read_file", "Read the complete contents of a file from the file system."),
    ("filesystem__read_multiple_files", "Read the contents of multiple files simultaneously."),
    ("filesystem__read_text_file", "Read the complete contents of a file as text."),
    ("filesystem__read_media_file", "Read an image or audio file."),
    ("memory__create_entities", "Create multiple new entities in the knowledge graph"),
]


@pytest.mark.parametrize("width", [40, 80, 120, 160])
def test_names_are_never_cut_and_lines_fit_the_terminal(width: int) -> None:
    lines = [line for line, _ in _layout(TOOLS, None, width)]
    for name, _ in TOOLS:
        assert any(line.startswith(name + " ") or line == name for line in lines), (width, lines)
    assert all(len(line) <= width for line in lines), lines
    assert "…" not in "".join(line.split()[0] for line in lines if line.strip())


def test_descriptions_are_shortened_with_an_ellipsis_not_wrapped() -> None:
    lines = [line for line, _ in _layout(TOOLS, None, 80)]
    assert len(lines) == len(TOOLS)
    assert lines[0] == "filesystem__read_file            Read the complete contents of a file from the …"
    assert lines[3] == "filesystem__read_media_file      Read an image or audio file."


def test_a_narrow_terminal_puts_descriptions_on_lines_of_their_own() -> None:
    lines = [line for line, _ in _layout(TOOLS[:1], None, 40)]
    assert lines == ["filesystem__read_file", "    Read the complete contents of a fil…"]


def test_headers_are_bold_and_a_cell_s_extra_lines_align_under_it() -> None:
    rows = [["fs", "crash-loop", "npm error 404 Not Found\n(exited with code 1)"]]
    lines = _layout(rows, ["SERVER", "STATE", "LAST STDERR"], 80)
    assert lines == [
        ("SERVER  STATE       LAST STDERR", "bold"),
        ("fs      crash-loop  npm error 404 Not Found", ""),
        ("                    (exited with code 1)", ""),
    ]


def test_in_a_pipe_a_table_is_tab_separated_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    Console().table([["fs", "crash-loop", "line one\nline two"], ["demo", "ready", ""]], ["A", "B", "C"])
    assert out.getvalue() == "A\tB\tC\nfs\tcrash-loop\tline one | line two\ndemo\tready\n"
