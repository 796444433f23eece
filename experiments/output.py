"""Writing results: where they may go, and one run's folder (Parquet series, manifest, summary
and figure) all or nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from experiments.errors import ArgumentError, FolderExists
from experiments.figures import plot_trajectories
from experiments.provenance import provenance
from experiments.runner import partial_name, sweep_stale
from sim import RunResult

MAX_NAME = 80  # characters of a result folder name made from a scenario's name
NAME_MAX, PATH_MAX = 255, 4096  # bytes, where the file system does not say


def ensure_new(destination: Path) -> None:
    """Refuse an existing result folder before any work, so a long run never ends in a clash."""
    if destination.exists():
        raise FolderExists("destination", "already exists; choose another folder", destination)


def folder_name(name: str) -> str:
    """``name`` (a scenario's, which anyone can set) as one harmless folder name.

    Letters, digits, ``.``, ``_`` and ``-`` only: no path separators, no ``..``, no hidden or
    empty name, at most MAX_NAME characters, so ``results/<name>-<time>`` stays in results/.
    """
    safe = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._-]+", "_", name))
    return safe.strip("._-")[:MAX_NAME].rstrip("._-") or "run"


def _shown(text: str) -> str:
    return text if len(text) <= 100 else f"{text[:60]}...{text[-30:]}"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long, say: judged below
        return False


def _limit(folder: Path, name: str, default: int) -> int:
    try:
        return os.pathconf(folder, name)
    except (OSError, ValueError):
        return default


def check_destination(destination: str | Path, new: bool = False) -> Path:
    """The result folder ``destination`` as a Path, refused before any work if it cannot be one.

    Refused, naming the argument ``destination``: an empty path, an existing file (or a file in
    the way), a name longer than the file system allows, a place this process cannot write
    (read-only, /proc); with ``new``, an existing folder too (FolderExists). Nothing is left
    behind: writing is tried with a temporary folder that is removed at once.
    """
    text = str(destination)
    if not text.strip():
        raise ArgumentError("destination", "must name a folder (got an empty path)")
    path, value = Path(text), _shown(text)
    existing = next((place for place in (path, *path.parents) if _exists(place)), Path("."))
    if not existing.is_dir():
        where = "is a file" if existing == path else f"has a file in the way ({existing})"
        raise ArgumentError("destination", f"{where}, not a folder", value)
    if new and existing == path:
        ensure_new(path)
    name_max = _limit(existing, "PC_NAME_MAX", NAME_MAX)
    if any(len(os.fsencode(part)) > name_max for part in path.relative_to(existing).parts):
        raise ArgumentError("destination", f"has a name longer than {name_max} bytes", value)
    if len(os.fsencode(os.path.abspath(text))) >= _limit(existing, "PC_PATH_MAX", PATH_MAX):
        raise ArgumentError("destination", "is a path too long for the file system", value)
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".tasim-probe-", dir=existing))
    except OSError as error:
        raise ArgumentError(
            "destination", f"cannot be written ({error.strerror or error})", value
        ) from None
    return path


@contextmanager
def atomic_folder(destination: Path):
    """Yield a temporary sibling folder that becomes ``destination`` only if the block completes.

    An exception or Ctrl-C removes the temporary folder, so no half-written result exists. The
    temporary name is unique to the process and call, so concurrent runs aiming at the same
    folder (scripted runs started in the same second) cannot clobber each other: the first to
    finish wins and the others fail with FileExistsError. What a killed process (SIGKILL) left
    beside ``destination`` is swept here.
    """
    ensure_new(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(destination.parent)
    staging = destination.with_name(partial_name(destination.name))
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
