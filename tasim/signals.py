"""SIGTERM as a clean exit, so a stopped command leaves no half-written results."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def terminate_as_exit() -> Iterator[None]:
    """Turn SIGTERM (a scheduler's time limit, ``timeout``, a cancelled CI job) into SystemExit.

    Python dies on SIGTERM without unwinding, which would strand a half-written result folder;
    as SystemExit, cleanup handlers run as they do for Ctrl-C. Scoped to the block so worker
    processes forked elsewhere keep the default behaviour.
    """
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
