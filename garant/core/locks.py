"""The files kept beside the database (the monitoring state, the oversight events and their
tally): a lock between processes for their writers, and a cache of what they hold."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path


@contextlib.contextmanager
def file_lock(path: Path):
    """Hold an exclusive POSIX advisory lock on `path` (created with its folder if missing);
    where there is no `fcntl` (not POSIX), a single process is assumed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class FileCache:
    """Objects loaded from files, kept in memory while their file is unchanged (same path,
    modification time, size and inode), the most recent `size` of them. A file missing or
    unreadable gives None: its caller counts again from the data it summarises."""

    def __init__(self, size: int = 16):
        self.size = size
        self._items: dict = {}
        self._lock = threading.Lock()

    def get(self, key, path: Path, load):
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        version = (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            cached = self._items.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            value = load(path)
        except (OSError, ValueError, KeyError):
            return None
        if value is not None:
            with self._lock:
                self._items[key] = (version, value)
                while len(self._items) > self.size:
                    self._items.pop(next(iter(self._items)))
        return value

    def forget(self, key) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
