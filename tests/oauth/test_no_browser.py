"""`mcpctl login --no-browser` (over SSH): the address is printed; the browser may run elsewhere."""

from __future__ import annotations

import re
import subprocess

import pexpect

from tests.oauth.conftest import BROWSER_SCRIPT, NODE, Person
from tests.support.host import HostProcess, mcpctl_command

ADDRESS = re.compile(r"Open this address in a browser to sign in:\s+(http://\S+)")


def browse(person: Person, url: str, action: str = "consent") -> None:
    """The person's browser, started by hand on the printed address."""
    subprocess.run(
        [str(NODE), str(BROWSER_SCRIPT), url],
        env={**person.env, "LOGIN_ACTION": action},
        check=True,
        timeout=60,
        capture_output=True,
    )


def test_the_printed_address_works_when_opened_by_hand(person: Person, protected: HostProcess) -> None:
    login = person.start("login", protected.url, "--no-browser", "--timeout", "60")
    assert login.stderr is not None
    seen = ""
    while not (match := ADDRESS.search(seen)):
        line = login.stderr.readline()
        assert line, f"login ended without printing the address: {seen}"
        seen += line
    browse(person, match.group(1))
    _, err = login.communicate(timeout=60)
    assert login.returncode == 0, seen + err
    assert person.browser_opened() == 1  # the one started by hand: mcpctl opened none
    assert f"signed in to {protected.url}" in err


def test_on_a_terminal_the_address_the_browser_ended_at_can_be_pasted(
    person: Person, protected: HostProcess
) -> None:
    command = mcpctl_command("login", protected.url, "--no-browser", "--timeout", "60")
    child = pexpect.spawn(
        command[0], command[1:], env=person.env, encoding="utf-8", timeout=60, dimensions=(40, 400)
    )
    try:
        child.expect(ADDRESS)
        address = child.match.group(1)
        child.expect("paste here the address it ends up at")
        child.sendline("not an address")
        child.expect("that is not the address the browser ended up at")
        browse(person, address, action="capture")  # the browser on "another machine" ends up there
        captured = re.search(r"captured (\S+)", person.browser_log.read_text())
        assert captured is not None
        child.sendline(captured.group(1))
        child.expect(f"signed in to {re.escape(protected.url)}")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert [entry["url"] for entry in person.logins()] == [protected.url]
