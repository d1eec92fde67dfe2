"""Answering elicitation: the terminal form (scripted input), --yes defaults, and refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from mcpctl.client.elicit import DefaultsElicitor, RefusingElicitor, TerminalElicitor
from mcpctl.client.errors import InputError

FORM = {
    "mode": "form",
    "message": "Who are you?",
    "requestedSchema": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Your name"},
            "age": {"type": "integer", "default": 30},
            "nick": {"type": "string"},
        },
        "required": ["name"],
    },
}


class ScriptedTerminal:
    """Answers prompts from a list (None stands for end of input) and records what was shown."""

    def __init__(self, answers: Iterable[str | None]) -> None:
        self.answers = list(answers)
        self.shown: list[str] = []

    def write(self, text: str) -> None:
        self.shown.append(text)

    def read_line(self, prompt: str) -> str | None:
        self.shown.append(prompt)
        return self.answers.pop(0)

    @property
    def text(self) -> str:
        return "".join(self.shown)


def elicit(answers: Iterable[str | None], params: dict[str, object] = FORM) -> tuple[dict[str, object], str]:
    terminal = ScriptedTerminal(answers)
    result = asyncio.run(TerminalElicitor(terminal).elicit("server 'demo'", dict(params)))
    return result, terminal.text


def test_the_form_names_the_server_asks_each_field_and_sends_on_yes() -> None:
    result, shown = elicit(["Ann", "", "", "y"])
    assert result == {"action": "accept", "content": {"name": "Ann", "age": 30}}
    assert "server 'demo' asks: Who are you?" in shown
    assert "name — Your name (text, required)" in shown
    assert "default 30" in shown
    assert "[Y]es / [n]o, decline / [c]ancel" in shown


def test_a_required_field_and_a_bad_value_are_asked_again() -> None:
    result, shown = elicit(["", "Ann", "old", "41", "Annie", ""])
    assert result == {"action": "accept", "content": {"name": "Ann", "age": 41, "nick": "Annie"}}
    assert "this field is required" in shown
    assert "enter a whole number" in shown


def test_no_declines_and_end_of_input_cancels() -> None:
    assert elicit(["Ann", "", "", "n"])[0] == {"action": "decline"}
    assert elicit([None])[0] == {"action": "cancel"}
    assert elicit(["Ann", "", "", "c"])[0] == {"action": "cancel"}


def test_url_mode_shows_the_site_and_opens_it_only_when_asked() -> None:
    opened: list[str] = []
    params = {
        "mode": "url",
        "message": "Sign in",
        "url": "https://login.example.com/x?y=1",
        "elicitationId": "1",
    }
    terminal = ScriptedTerminal(["y"])
    result = asyncio.run(TerminalElicitor(terminal, open_url=opened.append).elicit("server 'demo'", params))
    assert result == {"action": "accept"}
    assert opened == ["https://login.example.com/x?y=1"]
    assert "site: login.example.com" in terminal.text
    declined = asyncio.run(
        TerminalElicitor(ScriptedTerminal(["n"]), open_url=opened.append).elicit("s", params)
    )
    assert declined == {"action": "decline"}
    assert len(opened) == 1


def test_yes_accepts_defaults_and_refuses_what_it_cannot_fill() -> None:
    form = {
        "message": "m",
        "requestedSchema": {"type": "object", "properties": {"a": {"type": "integer", "default": 2}}},
    }
    assert asyncio.run(DefaultsElicitor().elicit("s", form)) == {"action": "accept", "content": {"a": 2}}
    with pytest.raises(InputError, match="without a default: name"):
        asyncio.run(DefaultsElicitor().elicit("s", dict(FORM)))
    with pytest.raises(InputError, match="does not do for you"):
        asyncio.run(DefaultsElicitor().elicit("s", {"mode": "url", "url": "https://x.example"}))


def test_refusal_names_the_server_the_question_and_the_fix() -> None:
    with pytest.raises(InputError) as caught:
        asyncio.run(RefusingElicitor("--no-input was given").elicit("server 'demo'", dict(FORM)))
    assert "server 'demo' asked for input ('Who are you?'), but --no-input was given" in str(caught.value)
    assert "--yes" in str(caught.value)
    assert caught.value.exit_code == 2
