"""One batch per output folder: an exclusive, non-blocking ``flock`` on ``<output>/.batch.lock``
for the whole batch. A second batch on the same folder stops at once (UsageError, exit 2:
nothing was done, the request must change: another --output, or wait), naming the folder and
the process that holds it. The lock is the kernel's: it goes with its holder (a killed batch
never leaves a stale lock), and the file itself is left in place on purpose (deleting a lock
file races with the next process opening it)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from optimizer.core.errors import EqualizeError, UsageError

LOCK_NAME = ".batch.lock"


def _open(out: Path) -> int:
    try:
        out.mkdir(parents=True, exist_ok=True)
        return os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise EqualizeError(f"cannot use output folder {out}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold the folder's lock for the ``with`` body; UsageError if another process holds it."""
    fd = _open(out)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 300, 0).decode("utf-8", "replace").strip() or "another process"
            raise UsageError(f"output folder {out} is in use by another batch ({holder}); wait for it "
                             "to finish or choose another --output") from None
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, since {stamp}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
