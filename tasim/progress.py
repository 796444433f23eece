"""Progress bars around runs: one simulation month by month, an experiment run by run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from experiments.runner import ExperimentFailed, Store, make_executor, run_experiment
from sim import RunResult, Scenario, simulate
from tasim.console import console
from tasim.signals import terminate_as_exit


def simulate_with_progress(scenario: Scenario, seed: int, months: int) -> RunResult:
    """One run with a bar over its months, gone when the run ends."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"{escape(scenario.name)} seed {seed}", total=months)
        return simulate(
            scenario,
            seed=seed,
            months=months,
            progress=lambda month, total: progress.update(task, completed=month),
        )


def run_with_progress(
    kind: str,
    specs,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    settings: dict,
    month: int | None = None,
) -> pd.DataFrame:
    """Run (or resume) an experiment with a progress bar, serially, in local processes or on Dask.

    Failed runs end the command with their summary on stderr and exit code 1.
    """
    store = Store(out)
    columns = (
        TextColumn(kind),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    progress = Progress(*columns, console=console)
    task = progress.add_task(kind, total=len(specs))

    def update(done, total):
        # the bar appears with the first report, after the folder and the design were checked,
        # so a refused experiment prints its one line and nothing else
        progress.start()
        progress.update(task, completed=done, total=total)

    try:
        with terminate_as_exit():  # a SIGTERM still records the finished runs in the manifest
            if workers == 1 and not scheduler:
                return run_experiment(
                    kind, specs, store, progress=update, settings=settings, month=month
                )
            with make_executor(workers, scheduler) as executor:
                return run_experiment(
                    kind,
                    specs,
                    store,
                    executor=executor,
                    progress=update,
                    settings=settings,
                    month=month,
                )
    except ExperimentFailed as error:
        _stop(progress)
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        _stop(progress)


def _stop(progress: Progress) -> None:
    """End a bar that was shown (stopping one never shown prints an empty line when piped)."""
    if progress.live.is_started:
        progress.stop()
