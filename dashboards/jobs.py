"""The pages' background jobs: checked before they start, one at a time, stopped with their page.

A page's experiment is a Job, a ``solara.lab.task`` (one per browser session) with three rules:

- ``start`` runs nothing while the session's job runs (a double click runs the work once) and
  nothing when the page's check of its inputs found a problem: that message is shown instead;
- the work reports progress between runs, and the report raises ``Stopped`` once the job is
  cancelled, so a cancelled job ends after the run in hand instead of computing for nobody;
- ``use_job`` cancels the session's job when its page unmounts: another page is chosen, the
  tab is reloaded or closed, the session ends.

A user error the work meets (a ScenarioError: a posterior that does not fit, say) becomes the
page's message, not a traceback in the server's log.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import solara
import solara.lab

from sim import ScenarioError

Report = Callable[[int, int], None]  # progress(done, total), as experiments.runner calls it


class Stopped(Exception):
    """Raised by a cancelled job's progress report: the work ends early, its result unused."""


class Job:
    """A page's background experiment: ``work(*arguments, report)`` in a thread, at most once at a
    time per session, stopped between runs when cancelled.

    The arguments are taken when the job starts (the page's inputs then), so the result is of
    what was asked even if the inputs change while it runs.
    """

    def __init__(self, work: Callable[..., Any]):
        self._lock = threading.Lock()
        self.message = solara.reactive("")  # why the last start ran nothing, or a user error
        self._stop = solara.reactive(None)  # this session's running job's stop flag

        @functools.wraps(work)
        def run(stop: threading.Event, *arguments):
            def report(done: int, total: int) -> None:
                if stop.is_set():
                    raise Stopped
                self.task.progress = 100 * done / total if total else 0.0

            try:
                return work(*arguments, report)
            except Stopped:
                return None
            except ScenarioError as error:
                if not stop.is_set():
                    self.message.set(str(error))
                return None

        self.task = solara.lab.task(run)

    @property
    def running(self) -> bool:
        return self.task.pending

    @property
    def progress(self) -> float:
        """Percent of the runs done (0 before the first is)."""
        return self.task.progress or 0.0

    @property
    def result(self):
        """The finished job's result, else None."""
        return self.task.value if self.task.finished else None

    def start(self, *arguments, problem: str | None = None) -> bool:
        """Start the work on ``arguments`` unless it runs already or the inputs have a
        ``problem`` (then shown as the message); whether it started."""
        with self._lock:
            if self.task.pending:
                return False
            self.message.set(problem or "")
            if problem:
                return False
            stop = threading.Event()
            self._stop.set(stop)
            self.task(stop, *arguments)
            return True

    def cancel(self) -> None:
        """Stop the session's job after the run in hand (nothing if none runs)."""
        stop = self._stop.value
        if stop is not None:
            stop.set()
        if self.task.pending:
            with suppress(RuntimeError):  # never started in this session
                self.task.cancel()


def use_job(job: Job) -> None:
    """In a page component: cancel the session's job when the page unmounts."""
    solara.use_effect(lambda: job.cancel, [])


def job_controls(job: Job, *, start, idle: str, busy: str) -> None:
    """The start button (``busy`` with the progress while the job runs), Stop, the progress bar
    and the message of a start that ran nothing: one set of controls for every job page."""
    running = job.running
    with solara.Row():
        solara.Button(
            f"{busy}: {job.progress:.0f} %" if running else idle,
            on_click=start,
            disabled=running,
            color="primary",
        )
        if running:
            solara.Button("Stop", on_click=job.cancel, outlined=True)
    if running:
        solara.ProgressLinear(value=job.progress)
    if job.message.value:
        solara.Warning(job.message.value)


def job_outcome(job: Job, *, failed: str, stopped: str) -> None:
    """What became of the last job: its error (after ``failed``), or ``stopped`` if cancelled."""
    if job.task.error:
        solara.Error(f"{failed}: {job.task.exception}")
    elif job.task.cancelled:
        solara.Info(stopped)
