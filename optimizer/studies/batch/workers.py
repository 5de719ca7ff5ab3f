"""Pool workers end with their batch: a worker whose parent dies (SIGKILL included) must not
compute on and then hang waiting for a parent that will never read its results.

``watch_parent`` is the pool's initializer. On Linux the kernel sends the worker SIGKILL when
its parent dies (prctl PR_SET_PDEATHSIG; this works even while HiGHS holds the GIL); elsewhere,
and as a second line, a daemon thread polls ``os.getppid()`` and calls ``os._exit`` once the
worker has been re-parented."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1   # linux/prctl.h
POLL_SECONDS = 0.5


def _parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):   # no prctl: the polling thread alone does it
        pass


def _poll(parent: int) -> None:
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def watch_parent(parent: int) -> None:
    """Initializer of a batch worker; ``parent`` is the batch process's pid."""
    _parent_death_signal()
    if os.getppid() != parent:   # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_poll, args=(parent,), name="watch-parent", daemon=True).start()
