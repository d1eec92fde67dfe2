"""The file change watch: inotify where it sees every change, nothing where it might not."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from mcpctl.auth.apikeys import KeyFile
from mcpctl.auth.verify import KeyRejected, KeyVerifier
from mcpctl.fswatch import ChangeWatch, mount_of, why_unwatchable
from tests.support.waiting import until

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
41 27 0:40 / /srv/shared rw,relatime shared:5 - nfs4 nas:/export rw
42 27 254:0 /keys/api-keys.json /home/me/state/api-keys.json rw - ext4 /dev/vda rw
43 27 0:41 / /mnt/my\\040disk rw - xfs /dev/vdb rw
44 27 0:42 / /run/user/1000/doc rw - fuse.portal portal rw
"""


def test_a_path_belongs_to_the_deepest_mount_that_holds_it() -> None:
    assert mount_of("/srv/shared/state/api-keys.json", MOUNTINFO) == ("/srv/shared", "nfs4")
    assert mount_of("/srv/sharedness/x", MOUNTINFO) == ("/", "ext4")  # a prefix is not a parent
    assert mount_of("/mnt/my disk/api-keys.json", MOUNTINFO) == ("/mnt/my disk", "xfs")
    assert mount_of("/home/me/state/api-keys.json", MOUNTINFO) == ("/home/me/state/api-keys.json", "ext4")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/home/me/state/other.json", None),
        ("/mnt/my disk/api-keys.json", None),
        ("/srv/shared/state/api-keys.json", "its filesystem (nfs4) may change without telling inotify"),
        ("/run/user/1000/doc/k.json", "its filesystem (fuse.portal) may change without telling inotify"),
        ("/home/me/state/api-keys.json", "it is a mount point of its own (a bind-mounted file)"),
    ],
)
def test_only_a_local_filesystem_is_trusted_to_tell_every_change(path: str, reason: str | None) -> None:
    assert why_unwatchable(Path(path), MOUNTINFO) == reason


def test_a_path_through_a_symbolic_link_is_not_watched(tmp_path: Path) -> None:
    (tmp_path / "..data").mkdir()
    (tmp_path / "..data" / "api-keys.json").write_text("{}")
    (tmp_path / "api-keys.json").symlink_to("..data/api-keys.json")  # a Kubernetes secret volume's way
    assert why_unwatchable(tmp_path / "api-keys.json", Path("/proc/self/mountinfo").read_text()) == (
        "its path goes through a symbolic link"
    )


async def turns_of_the_loop() -> None:
    """Let the loop run the watch's reader for what is queued: the kernel queued the events during
    the write, the next turn's poll sees them, and the turn after has run their callbacks."""
    for _ in range(2):
        await asyncio.sleep(0)


async def next_word(told: asyncio.Queue[bool]) -> bool:
    return await asyncio.wait_for(told.get(), timeout=10)


def test_the_watch_tells_of_the_file_and_not_of_its_neighbours(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    path.write_text("1")

    async def scenario() -> None:
        told: asyncio.Queue[bool] = asyncio.Queue()
        watch = ChangeWatch(path, told.put_nowait)
        assert watch.start(), why_unwatchable(path, Path("/proc/self/mountinfo").read_text())
        try:
            (tmp_path / "api-keys.usage.json").write_text("{}")  # a neighbour: no word
            await turns_of_the_loop()
            assert told.empty()
            replacement = tmp_path / "api-keys.json.tmp"
            replacement.write_text("2")
            os.replace(replacement, path)  # how the CLI writes it
            assert await next_word(told) is True
            assert told.empty()  # one word for the replacement
            with path.open("a") as file:  # an editor writing in place
                file.write("3")
            assert await next_word(told) is True
            path.unlink()
            assert await next_word(told) is True
        finally:
            watch.stop()

    asyncio.run(scenario())


def test_a_watch_whose_directory_goes_says_it_no_longer_watches(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    path = directory / "api-keys.json"

    async def scenario() -> None:
        told: asyncio.Queue[bool] = asyncio.Queue()
        watch = ChangeWatch(path, told.put_nowait)
        assert watch.start()
        try:
            directory.rename(tmp_path / "elsewhere")
            assert await next_word(told) is False
        finally:
            watch.stop()

    asyncio.run(scenario())


def rewrite_in_place_unnoticeably(path: Path) -> None:
    """Write `path` again, same size, keeping its inode and times: a stat sees no change."""
    before = path.stat()
    text = path.read_text()
    path.write_text(text.replace('"name": "ci"', '"name": "cd"'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    stamp = ("st_ino", "st_size", "st_mtime_ns")
    assert [getattr(after, s) for s in stamp] == [getattr(before, s) for s in stamp]


@pytest.mark.parametrize("watched", [False, True])
def test_the_verifier_with_a_watch_needs_no_stat_to_see_a_change(tmp_path: Path, watched: bool) -> None:
    keys = KeyFile(tmp_path / "api-keys.json")
    with keys.editing():
        key, _ = keys.create("ci", (), now=time.time(), lifetime=None)
    verifier = KeyVerifier(keys.path, stat_interval=0.0)

    async def scenario() -> str:
        watch = ChangeWatch(keys.path, verifier.file_changed)
        if watched:
            assert watch.start()
            verifier.file_changed(True)
        try:
            first = await verifier.verify(key)
            assert not isinstance(first, KeyRejected)
            assert first.name == "ci"
            rewrite_in_place_unnoticeably(keys.path)
            if watched:
                await until(lambda: not verifier.current(), 10.0)
            second = await verifier.verify(key)
            assert not isinstance(second, KeyRejected)
            return second.name
        finally:
            watch.stop()

    # the stat's stamp cannot tell this write; the watch can
    assert asyncio.run(scenario()) == ("cd" if watched else "ci")


def test_a_watch_it_cannot_place_says_why_and_leaves_the_caller_polling(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "missing" / "api-keys.json"

    async def scenario() -> bool:
        return ChangeWatch(path, lambda still_watching: None).start()

    with caplog.at_level("INFO", logger="mcpctl.fswatch"):
        assert asyncio.run(scenario()) is False
    why = "cannot watch its directory (No such file or directory)"
    assert f"polling {path} for changes: {why}" in caplog.text
