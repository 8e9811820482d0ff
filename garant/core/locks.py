"""A lock between processes on one server, for the writers of files kept beside the database
(the monitoring state, the oversight events and their tally)."""

from __future__ import annotations

import contextlib
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
