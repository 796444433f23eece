"""Many runs: design points with replicate seeds, any executor, a resumable Parquet store.

The shape follows DESIGN.md section 2: scenario -> run configuration -> executor -> store.
A run is identified by a hash of what determines it (scenario, overrides, months, seed,
labels), so re-running an experiment skips the runs already stored and a killed experiment
loses only the runs in flight. The run files are the record of what is done; the manifest
describes the experiment and is rewritten every few seconds and at the end.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset

from experiments.errors import ArgumentError
from experiments.provenance import provenance
from sim import ScenarioError, load_scenario, simulate

DEFAULT_SEED = 20261125  # entropy of the experiment's SeedSequence unless another is given
MAX_CHUNK = 16  # runs per task at most: a killed experiment loses at most this many per worker
MIN_CHUNKS = 64  # tasks at least, so work spreads over many workers and progress moves
# seconds at least between manifest rewrites (rewriting it per run would cost O(runs^2))
MANIFEST_INTERVAL = 5.0


@dataclass(frozen=True)
class RunSpec:
    """One run: a scenario (name or path), dotted-path overrides, horizon and seed."""

    scenario: str
    overrides: dict = field(default_factory=dict)
    seed: int = 0
    months: int | None = None
    labels: dict = field(default_factory=dict)  # e.g. {"arm": "hands_on"}: output columns

    @cached_property  # asked for often (store, manifest), so hashed once
    def run_id(self) -> str:
        # labels included: two design points may coincide
        key = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(key.encode()).hexdigest()[:16]


class ExperimentFailed(RuntimeError):
    """Some runs raised: the others are stored, the manifest names the errors, a re-run retries."""


def replicate_seeds(replicates: int, entropy: int) -> list[int]:
    """Replicate seeds from one SeedSequence per experiment."""
    if replicates < 1:
        raise ArgumentError("replicates", f"must be at least 1 (got {replicates})")
    return [int(state) for state in np.random.SeedSequence(entropy).generate_state(replicates)]


def check_scenario(scenario: str, overrides: dict) -> None:
    """Resolve a scenario with its overrides; raises ScenarioError naming the field and range."""
    load_scenario(scenario, overrides)


def design(
    arms: list[tuple[str, dict, dict]],
    replicates: int,
    entropy: int = DEFAULT_SEED,
    months: int | None = None,
    common_random_numbers: bool = True,
    check: Callable[[str, dict], None] | None = check_scenario,
) -> list[RunSpec]:
    """Runs for every arm (scenario, overrides, labels) and replicate, checked before any runs.

    With common random numbers (the default) every arm reuses the same replicate seeds, so
    differences between arms are not seed noise. ``check`` validates each arm (None for run
    functions that are not the model, e.g. test functions).
    """
    if not arms:
        raise ScenarioError("the experiment has no design points")
    if months is not None and months < 1:
        raise ArgumentError("months", f"must be at least 1 (got {months})")
    seeds = replicate_seeds(replicates * (1 if common_random_numbers else len(arms)), entropy)
    if check:
        for scenario, overrides, _ in arms:
            check(scenario, overrides)
    runs = []
    for index, (scenario, overrides, labels) in enumerate(arms):
        arm_seeds = (
            seeds if common_random_numbers else seeds[index * replicates : (index + 1) * replicates]
        )
        runs += [
            RunSpec(scenario, overrides, seed, months, {**labels, "replicate": replicate})
            for replicate, seed in enumerate(arm_seeds)
        ]
    return runs


def simulate_run(spec: RunSpec) -> pd.DataFrame:
    """The model's monthly system series with its per-run summary as ``run_*`` columns."""
    result = simulate(
        load_scenario(spec.scenario, spec.overrides), seed=spec.seed, months=spec.months
    )
    return result.system.assign(**{f"run_{name}": value for name, value in result.summary.items()})


def tagged(spec: RunSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """A run's output with its id, seed, scenario, labels and overrides as columns."""
    identity = {
        "run_id": spec.run_id,
        "seed": spec.seed,
        "scenario": spec.scenario,
        **spec.labels,
        **spec.overrides,
    }
    columns = pd.DataFrame(
        {key: [value] * len(frame) for key, value in identity.items()}, index=frame.index
    )
    return pd.concat(
        [columns, frame.drop(columns=[key for key in identity if key in frame])], axis=1
    )


def execute_chunk(
    run: Callable[[RunSpec], pd.DataFrame], specs: list[RunSpec]
) -> list[tuple[str, pd.DataFrame | None, float, str | None]]:
    """Several runs in one task, so start-up and scheduling do not dominate short runs.

    A run that raises is reported with its error instead of taking the chunk's other runs with it.
    """
    results = []
    for spec in specs:
        start = time.perf_counter()
        try:
            frame, error = tagged(spec, run(spec)), None
        except Exception as exception:
            frame, error = None, f"{type(exception).__name__}: {exception}"
        results.append((spec.run_id, frame, time.perf_counter() - start, error))
    return results


class Store:
    """One Parquet file per completed run plus an experiment manifest, in one folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.runs = self.folder / "runs"
        self.manifest = self.folder / "manifest.json"
        self.runs.mkdir(parents=True, exist_ok=True)

    def completed(self) -> set[str]:
        return {path.stem for path in self.runs.glob("*.parquet")}

    def write(self, run_id: str, frame: pd.DataFrame) -> None:
        """Atomic: a run file exists only when it is complete."""
        partial = self.runs / f".{run_id}.partial"
        frame.to_parquet(partial, index=False)
        os.replace(partial, self.runs / f"{run_id}.parquet")

    def load(self, run_ids: Iterable[str] | None = None, month: int | None = None) -> pd.DataFrame:
        """Stored runs (all, or the given ones) as one table; with ``month``, that month's rows.

        ``month=0`` gives one row per run, enough for the per-run ``run_*`` summaries and
        much less to read for large experiments.
        """
        paths = (
            sorted(self.runs.glob("*.parquet"))
            if run_ids is None
            else [self.runs / f"{run_id}.parquet" for run_id in sorted(run_ids)]
        )
        if not paths:
            return pd.DataFrame()
        rows = None if month is None else pyarrow.dataset.field("month") == month
        return (
            pyarrow.dataset.dataset([str(path) for path in paths], format="parquet")
            .to_table(filter=rows)
            .to_pandas()
        )

    def records(self) -> dict[str, dict]:
        """Status, seconds and error per run as the manifest last recorded them."""
        if not self.manifest.exists():
            return {}
        return {
            run["run_id"]: {key: run[key] for key in ("status", "seconds", "error")}
            for run in json.loads(self.manifest.read_text())["runs"]
        }

    def write_manifest(
        self, kind: str, specs: list[RunSpec], records: dict[str, dict], settings: dict
    ) -> None:
        """Design, seeds, status and timing per run, code and package versions; atomically."""
        pending = {"status": "pending", "seconds": None, "error": None}
        manifest = {
            "kind": kind,
            "settings": settings,
            "runs": [
                {"run_id": spec.run_id, **asdict(spec), **records.get(spec.run_id, pending)}
                for spec in specs
            ],
            **provenance(),
        }
        partial = self.folder / ".manifest.partial"
        partial.write_text(json.dumps(manifest, indent=1, default=str))
        os.replace(partial, self.manifest)


@contextmanager
def make_executor(workers: int | None = None, scheduler: str | None = None):
    """A local process pool (default: all cores) or, with a scheduler address, a Dask cluster."""
    if scheduler:
        from distributed import Client

        try:
            client = Client(scheduler)
        except OSError as error:
            raise ArgumentError(
                "scheduler", f"cannot reach the Dask scheduler ({error})", scheduler
            ) from None
        with client:
            yield client.get_executor()
    else:
        if workers is not None and workers < 1:
            raise ArgumentError("workers", f"must be at least 1 (got {workers})")
        # forkserver: workers start from a clean process, not a fork of a threaded one
        with ProcessPoolExecutor(
            max_workers=workers or os.cpu_count(),
            mp_context=multiprocessing.get_context("forkserver"),
        ) as pool:
            yield pool


def chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_experiment(
    kind: str,
    specs: list[RunSpec],
    store: Store,
    executor: Executor | None = None,
    *,
    run: Callable[[RunSpec], pd.DataFrame] = simulate_run,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    settings: dict | None = None,
    month: int | None = None,
) -> pd.DataFrame:
    """Run what is not stored yet (serially without an executor) and return the experiment's table.

    ``run`` must be a module-level function (it is pickled to the workers). Results are
    stored as they arrive, in any order; the table is read back from the store, so it is the
    same whether the runs came from this call, an earlier interrupted one, or another executor;
    ``month`` selects rows as in ``Store.load``.
    """
    settings = settings or {}
    done = store.completed()
    known, unknown = store.records(), {"status": "completed", "seconds": None, "error": None}
    # the run files are the truth: the manifest may lag them (it is rewritten every few seconds)
    records = {
        run_id: known[run_id] if known.get(run_id, unknown)["status"] == "completed" else unknown
        for run_id in done
    }
    pending = [spec for spec in specs if spec.run_id not in done]
    size = chunk_size or max(1, min(MAX_CHUNK, len(pending) // MIN_CHUNKS))
    finished, failures, next_write = len(specs) - len(pending), {}, 0.0

    def save(force: bool = False) -> None:
        nonlocal next_write
        if force or time.monotonic() >= next_write:
            start = time.monotonic()
            store.write_manifest(kind, specs, records, settings)
            next_write = time.monotonic() + max(
                MANIFEST_INTERVAL, 20 * (time.monotonic() - start)
            )  # at most ~5 % of the time

    def record(results) -> None:
        nonlocal finished
        for run_id, frame, seconds, error in results:
            if error is None:
                store.write(run_id, frame)
                finished += 1
            else:
                failures[run_id] = error
            records[run_id] = {
                "status": "failed" if error else "completed",
                "seconds": round(seconds, 4),
                "error": error,
            }
        save()
        if progress:
            progress(finished + len(failures), len(specs))

    save(force=True)
    if progress:
        progress(finished, len(specs))
    futures: list[Future] = []
    try:
        if executor is None:
            for chunk in chunks(pending, size):
                record(execute_chunk(run, chunk))
        else:
            futures = [
                executor.submit(execute_chunk, run, chunk) for chunk in chunks(pending, size)
            ]
            for future in as_completed(futures):
                record(future.result())
    finally:
        for future in futures:  # on an interruption, do not leave queued chunks running for nothing
            future.cancel()
        save(force=True)
    if failures:
        first = next(iter(failures.values()))
        raise ExperimentFailed(
            f"{len(failures)} of {len(specs)} runs failed (first: {first}); "
            f"see {store.manifest}; re-running retries them"
        )
    return store.load({spec.run_id for spec in specs}, month)
