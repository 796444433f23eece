"""Many runs: design points with replicate seeds, any concurrent.futures executor, a resumable Parquet store.

The shape follows DESIGN.md section 2: scenario -> run configuration -> executor -> store.
A run is identified by a hash of what determines it (scenario, overrides, months, seed), so
re-running an experiment skips the runs already stored and a killed experiment loses only
the runs in flight.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.provenance import provenance
from sim import load_scenario, simulate


@dataclass(frozen=True)
class RunSpec:
    """One run: a scenario (name or path), dotted-path overrides, horizon and seed."""

    scenario: str
    overrides: dict = field(default_factory=dict)
    seed: int = 0
    months: int | None = None
    labels: dict = field(default_factory=dict)  # e.g. {"arm": "hands_on"}: columns added to the output

    @property
    def run_id(self) -> str:
        key = json.dumps(asdict(self), sort_keys=True)  # labels included: two design points may coincide
        return hashlib.sha256(key.encode()).hexdigest()[:16]


def replicate_seeds(replicates: int, entropy: int) -> list[int]:
    """Replicate seeds from one SeedSequence per experiment."""
    if replicates < 1:
        raise ValueError(f"--replicates: must be at least 1 (got {replicates})")
    return [int(state) for state in np.random.SeedSequence(entropy).generate_state(replicates)]


def design(arms: list[tuple[str, dict, dict]], replicates: int, entropy: int = 20261125, months: int | None = None, common_random_numbers: bool = True) -> list[RunSpec]:
    """Runs for every arm (scenario, overrides, labels) and replicate, validated before anything runs.

    With common random numbers (the default) every arm reuses the same replicate seeds, so
    differences between arms are not seed noise.
    """
    for scenario, overrides, _ in arms:
        load_scenario(scenario, overrides)  # raises ScenarioError naming the field and range
    seeds = replicate_seeds(replicates * (1 if common_random_numbers else len(arms)), entropy)
    runs = []
    for index, (scenario, overrides, labels) in enumerate(arms):
        arm_seeds = seeds if common_random_numbers else seeds[index * replicates : (index + 1) * replicates]
        runs += [RunSpec(scenario, overrides, seed, months, {**labels, "replicate": replicate}) for replicate, seed in enumerate(arm_seeds)]
    return runs


def execute(spec: RunSpec) -> pd.DataFrame:
    """One run's monthly system series, tagged with its id, seed, labels, overrides and per-run summary."""
    result = simulate(load_scenario(spec.scenario, spec.overrides), seed=spec.seed, months=spec.months)
    frame = result.system.copy()
    frame.insert(0, "run_id", spec.run_id)
    frame.insert(1, "seed", spec.seed)
    for key, value in {"scenario": spec.scenario, **spec.labels, **spec.overrides, **{f"run_{name}": value for name, value in result.summary.items()}}.items():
        frame[key] = value
    return frame


def execute_chunk(specs: list[RunSpec]) -> list[tuple[str, pd.DataFrame, float]]:
    """Several runs in one task, so process start-up and scheduling do not dominate short runs."""
    results = []
    for spec in specs:
        start = time.perf_counter()
        results.append((spec.run_id, execute(spec), time.perf_counter() - start))
    return results


class Store:
    """One Parquet file per completed run plus an experiment manifest, in one folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.runs = self.folder / "runs"
        self.runs.mkdir(parents=True, exist_ok=True)

    def completed(self) -> set[str]:
        return {path.stem for path in self.runs.glob("*.parquet")}

    def write(self, run_id: str, frame: pd.DataFrame) -> None:
        """Atomic: a run file exists only when it is complete."""
        partial = self.runs / f".{run_id}.partial"
        frame.to_parquet(partial, index=False)
        os.replace(partial, self.runs / f"{run_id}.parquet")

    def load(self) -> pd.DataFrame:
        """Every stored run as one table."""
        paths = sorted(self.runs.glob("*.parquet"))
        if not paths:
            return pd.DataFrame()
        return pd.concat((pd.read_parquet(path) for path in paths), ignore_index=True)

    def write_manifest(self, kind: str, specs: list[RunSpec], timings: dict[str, float], settings: dict) -> None:
        manifest = {
            "kind": kind,
            "settings": settings,
            "runs": [{"run_id": spec.run_id, **asdict(spec), "status": "completed" if spec.run_id in timings else "pending", "seconds": round(timings.get(spec.run_id, float("nan")), 4)} for spec in specs],
            **provenance(),
        }
        partial = self.folder / ".manifest.partial"
        partial.write_text(json.dumps(manifest, indent=2, default=str))
        os.replace(partial, self.folder / "manifest.json")

    def timings(self) -> dict[str, float]:
        path = self.folder / "manifest.json"
        if not path.exists():
            return {}
        runs = json.loads(path.read_text())["runs"]
        return {run["run_id"]: run["seconds"] for run in runs if run["status"] == "completed"}


@contextmanager
def make_executor(workers: int | None = None, scheduler: str | None = None):
    """A local process pool (default: all cores) or, with a scheduler address, a Dask cluster."""
    if scheduler:
        from distributed import Client

        with Client(scheduler) as client:
            yield client.get_executor()
    else:
        # forkserver: workers start from a clean process, not a fork of a threaded one
        with ProcessPoolExecutor(max_workers=workers or os.cpu_count(), mp_context=multiprocessing.get_context("forkserver")) as pool:
            yield pool


def chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_experiment(kind: str, specs: list[RunSpec], store: Store, executor: Executor | None = None, chunk_size: int = 4, progress: Callable[[int, int], None] | None = None, settings: dict | None = None) -> pd.DataFrame:
    """Run what is not stored yet (serially without an executor) and return the whole result table."""
    done = store.completed()
    timings = {run_id: seconds for run_id, seconds in store.timings().items() if run_id in done}
    pending = [spec for spec in specs if spec.run_id not in done]
    finished = len(specs) - len(pending)
    store.write_manifest(kind, specs, timings, settings or {})
    if progress:
        progress(finished, len(specs))

    def record(results):
        nonlocal finished
        for run_id, frame, seconds in results:
            store.write(run_id, frame)
            timings[run_id] = seconds
            finished += 1
        store.write_manifest(kind, specs, timings, settings or {})
        if progress:
            progress(finished, len(specs))

    if executor is None:
        for chunk in chunks(pending, chunk_size):
            record(execute_chunk(chunk))
    else:
        futures = [executor.submit(execute_chunk, chunk) for chunk in chunks(pending, chunk_size)]
        for future in as_completed(futures):
            record(future.result())
    wanted = {spec.run_id for spec in specs}
    table = store.load()
    return table[table["run_id"].isin(wanted)].reset_index(drop=True)
