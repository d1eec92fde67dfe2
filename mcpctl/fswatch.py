"""Tells the event loop at once when a file changes: inotify on a Linux local filesystem, else nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

if sys.platform == "linux":
    from asyncinotify import Inotify, Mask

    # what may change the file: made, written, replaced, moved or deleted, or its directory moved or deleted
    WATCHED = (
        Mask.CREATE
        | Mask.DELETE
        | Mask.MODIFY
        | Mask.CLOSE_WRITE
        | Mask.MOVED_FROM
        | Mask.MOVED_TO
        | Mask.DELETE_SELF
        | Mask.MOVE_SELF
    )
    # the watch is gone: its directory was deleted, moved (the path no longer names it) or unmounted
    ENDS = Mask.DELETE_SELF | Mask.MOVE_SELF | Mask.IGNORED | Mask.UNMOUNT

log = logging.getLogger(__name__)

# Filesystems whose every change, whoever makes it on this machine, reaches inotify. On a network
# filesystem (NFS, SMB, Ceph...) another machine's writes raise no event, and on FUSE it depends on
# the driver: those keep being polled.
LOCAL_FILESYSTEMS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "zfs", "bcachefs", "jfs", "tmpfs", "ramfs", "overlay"}
)
MOUNTINFO = "/proc/self/mountinfo"
_ESCAPED = re.compile(r"\\([0-7]{3})")


def mount_of(path: str, mountinfo: str) -> tuple[str, str] | None:
    """The mount point and filesystem type that hold the absolute `path`, from mountinfo's text."""
    best: tuple[str, str] | None = None
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if "-" not in fields[6:]:
            continue
        point = _ESCAPED.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
        fstype = fields[fields.index("-", 6) + 1]
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, fstype)  # a later mount over the same point hides the earlier one
    return best


def why_unwatchable(path: Path, mountinfo: str) -> str | None:
    """Why inotify on `path`'s directory might miss a change of `path` (None: it will not)."""
    where = os.path.abspath(path)
    if os.path.realpath(where) != where:
        # a symlink swapped (a Kubernetes secret volume's ..data) changes the file without an
        # event for its name
        return "its path goes through a symbolic link"
    mount = mount_of(where, mountinfo)
    if mount is None:
        return "its filesystem is not in mountinfo"
    if mount[0] == where:
        return "it is a mount point of its own (a bind-mounted file)"
    if mount_of(os.path.dirname(where), mountinfo) != mount:
        return "its directory is on another mount"
    if mount[1] not in LOCAL_FILESYSTEMS:
        return f"its filesystem ({mount[1]}) may change without telling inotify"
    return None


class ChangeWatch:
    """Calls `told(still_watching)` on the loop thread after each change of the file at `path`
    (created, written, replaced, moved or deleted), before the loop reads anything that arrives
    after the change; `still_watching` is False once the watch can no longer see changes (its
    directory was moved, deleted or unmounted), and it tells nothing more.

    `start` says whether it watches: not on other systems than Linux, nor where `why_unwatchable`
    finds a reason. A caller that polls keeps polling then.
    """

    def __init__(self, path: Path, told: Callable[[bool], None]) -> None:
        self.path = path
        self._told = told
        self._name = path.name
        self._inotify: Inotify | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> bool:
        if sys.platform != "linux":
            return False
        reason = self._place()
        if reason is not None:
            log.info("polling %s for changes: %s", self.path, reason)
        return reason is None

    def _place(self) -> str | None:
        """Watch the file's directory and read its events on the loop; None when placed, else why not."""
        try:
            reason = why_unwatchable(self.path, Path(MOUNTINFO).read_text())
        except OSError as exc:
            return f"{MOUNTINFO} is unreadable ({exc.strerror})"
        if reason is not None:
            return reason
        try:
            inotify = Inotify()
        except OSError as exc:  # the user's inotify instances are all taken (fs.inotify.max_user_instances)
            return f"no inotify ({exc.strerror})"
        try:
            inotify.add_watch(self.path.parent, WATCHED)
        except OSError as exc:  # the directory is missing, or the user's watches are all taken
            inotify.close()
            return f"cannot watch its directory ({exc.strerror})"
        inotify.sync_timeout = 0  # read what is queued, never wait
        self._inotify = inotify
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(inotify.fd, self._read)
        return None

    def stop(self) -> None:
        inotify, self._inotify = self._inotify, None
        if inotify is None or self._loop is None:
            return
        self._loop.remove_reader(inotify.fd)
        inotify.close()

    def _read(self) -> None:
        inotify = self._inotify
        if inotify is None:
            return
        changed = lost = False
        for event in inotify:  # what is queued now (sync_timeout 0: it stops when nothing is)
            if event.name is None:  # about the directory itself, or the queue overflowed
                changed = True
                lost = lost or bool(event.mask & ENDS)
            elif str(event.name) == self._name:
                changed = True
        if lost:
            self.stop()
        if changed:
            self._told(not lost)
