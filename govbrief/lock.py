"""A run lock for cron: two crawls never write the same archive at once.

flock(2) locks belong to the open file: the kernel releases them when the process dies, however
it dies (kill -9 included), so a lock file left behind by a killed run never blocks the next run.

The lock is keyed on the archive file itself, not on the path string it was named by: the lock file
sits next to the resolved path (symlinks followed), and the archive file's own inode is flocked too, so
a symlink, a hard link or `./x/../archive.db` cannot start a second crawl on the same archive.
(flock and SQLite's POSIX record locks are independent on Linux; the descriptor stays open for the
whole run and is closed only after every SQLite connection of the run is closed.)
"""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime


class LockHeld(RuntimeError):
    pass


class RunLock:
    def __init__(self, path: str, archive: str | None = None):
        self.path = path  # the lock file: who holds it is written there
        self.archive = archive  # the archive file itself, flocked by inode (None: the lock file only)
        self._fd: int | None = None
        self._archive_fd: int | None = None

    @classmethod
    def for_archive(cls, db_path: str) -> RunLock:
        """The lock of an archive, whatever path names it (resolved path + the file's inode)."""
        real = os.path.realpath(db_path)
        return cls(real + ".lock", archive=real)

    def acquire(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown process"
            os.close(fd)
            raise LockHeld(f"another govbrief run holds {self.path} ({holder}); not starting") from None
        if self.archive is not None:
            try:
                archive_fd = os.open(self.archive, os.O_RDONLY | os.O_CREAT, 0o644)
            except OSError:
                os.close(fd)
                raise
            try:
                fcntl.flock(archive_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                inode = os.fstat(archive_fd).st_ino
                os.close(archive_fd)
                os.close(fd)
                raise LockHeld(f"another govbrief run holds {self.archive} (inode {inode}, reached through "
                               "another path); not starting") from None
            self._archive_fd = archive_fd
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._archive_fd is not None:
            fcntl.flock(self._archive_fd, fcntl.LOCK_UN)
            os.close(self._archive_fd)
            self._archive_fd = None
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
