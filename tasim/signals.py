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
    as SystemExit, cleanup handlers run as they do for Ctrl-C. A library caught in the middle
    of a write (a database commit) may replace that SystemExit by an error of its own while it
    unwinds; once a SIGTERM has arrived, whatever ends the block is still that exit. Scoped to
    the block so worker processes forked elsewhere keep the default behaviour.
    """
    received: list[int] = []

    def exit_on(signum, frame):
        received.append(signum)
        sys.exit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_on)
    try:
        yield
    except Exception as error:
        if received:
            raise SystemExit(128 + received[0]) from error
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
