"""Writing one run's results: Parquet series, manifest, summary and figure, all or nothing."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from experiments.errors import FolderExists
from experiments.figures import plot_trajectories
from experiments.provenance import provenance
from sim import RunResult


def ensure_new(destination: Path) -> None:
    """Refuse an existing result folder before any work, so a long run never ends in a clash."""
    if destination.exists():
        raise FolderExists("destination", "already exists; choose another folder", destination)


@contextmanager
def atomic_folder(destination: Path):
    """Yield a temporary sibling folder that becomes ``destination`` only if the block completes.

    An exception or Ctrl-C removes the temporary folder, so no half-written result exists. The
    temporary name carries the process id, so concurrent runs aiming at the same folder (scripted
    runs started in the same second) cannot clobber each other: the first to finish wins and the
    others fail with FileExistsError.
    """
    ensure_new(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    # only a killed earlier process with our id can have left it
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        rename_new(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def rename_new(source: Path, destination: Path) -> None:
    """Move ``source`` to ``destination``; a folder that appeared there meanwhile is a clash.

    The clash is a FolderExists error (a FileExistsError), not the operating system's error.
    """
    try:
        source.rename(destination)
    except OSError as error:
        if destination.exists():
            raise FolderExists(
                "destination",
                "appeared while this run was writing; choose another folder",
                destination,
            ) from error
        raise


def manifest(
    result: RunResult, months: int, started: str, finished: str, wall_seconds: float
) -> dict:
    """What reproduces the run: the resolved scenario, seed, horizon, code and packages."""
    return {
        "scenario": result.scenario.model_dump(mode="json"),
        "seed": result.seed,
        "months": months,
        "started": started,
        "finished": finished,
        "wall_seconds": round(wall_seconds, 4),
        **provenance(),
    }


def write_run(result: RunResult, destination: Path, run_manifest: dict) -> Path:
    """Write the Parquet series, summary.json, manifest.json and trajectories.png atomically."""
    with atomic_folder(destination) as folder:
        result.system.to_parquet(folder / "system.parquet", index=False)
        result.teams.to_parquet(folder / "teams.parquet", index=False)
        (folder / "summary.json").write_text(json.dumps(result.summary, indent=2))
        (folder / "manifest.json").write_text(json.dumps(run_manifest, indent=2))
        figure = plot_trajectories(result.system, f"{result.scenario.name} (seed {result.seed})")
        figure.savefig(folder / "trajectories.png", dpi=110)
    return destination
