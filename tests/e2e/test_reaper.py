"""The watchdog that kills children's process groups when its owner goes, however it goes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import psutil

from mcpctl.backends.reaper import Reaper


def group(*command: str) -> subprocess.Popen[bytes]:
    """A process leading its own group, with a grandchild in it (as mcpctl starts each child)."""
    return subprocess.Popen(["sh", "-c", f"{' '.join(command)} & wait"], start_new_session=True)


def test_groups_die_when_the_owner_closes_its_end_and_a_killed_watchdog_is_replaced() -> None:
    reaper = Reaper()
    first, second, forgotten = group("sleep", "981"), group("sleep", "982"), group("sleep", "983")
    everyone = [first, second, forgotten]
    try:
        reaper.watch(first.pid)
        watchdog = reaper._proc
        assert watchdog is not None
        watchdog.kill()  # someone kills the watchdog: the next news starts one that knows every group
        watchdog.wait(5)
        reaper.watch(second.pid)
        reaper.watch(forgotten.pid)
        reaper.forget(forgotten.pid)
        successor = reaper._proc
        assert successor is not None and successor.pid != watchdog.pid
        members = [
            p
            for p in psutil.process_iter(["cmdline"])
            if p.info["cmdline"] in (["sleep", "981"], ["sleep", "982"])
        ]
        assert len(members) == 2
        assert successor.stdin is not None
        successor.stdin.close()  # what the kernel does when the owner dies
        successor.wait(5)
        _, alive = psutil.wait_procs([psutil.Process(first.pid), psutil.Process(second.pid), *members], 5)
        assert not alive
        assert forgotten.poll() is None, "a group forgotten is left alone"
    finally:
        for proc in everyone:  # the groups this test started, by their ids
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
