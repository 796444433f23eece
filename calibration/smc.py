"""ABC-SMC that repeats exactly and resumes exactly: pyabc, one generation at a time, in a folder.

pyabc stores complete generations only, draws from numpy's global generator and lets its parallel
samplers reseed their processes from the system, so a resumed or parallel run would continue
from some other random state. Here a calibration is a function of its settings and budget alone:

- Every particle draws from numpy's global generator seeded by (seed, generation, index) just
  before it is proposed, wherever it runs (``OrderedSampler``). A generation keeps the first
  ``population`` accepted particles in index order, so the result does not depend on which
  process finished first.
- Every particle is stored (``simulations.db``, SQLite) the moment it has been simulated. A
  generation redone after an interruption (Ctrl-C, SIGTERM, SIGKILL, a crash) takes the stored
  particles back and simulates only the missing ones, which come out the same because of their
  seeds. An interruption costs the simulations under way, never the budget.
- Each generation is one ``ABCSMC.run`` of a fresh ``ABCSMC`` loaded from the stored history
  (``abc.db``): its transition kernel (fitted to the previous population), epsilon (the median of
  the previous population's distances) and distance are rebuilt from the stored populations
  every time, so a generation is computed the same way whether the process stopped before it or
  not. (pyabc's own continuous loop would carry them over in memory instead.)
- The budget is a hard cap on simulated parameter sets: a generation may evaluate only what is
  left; particles are evaluated in batches of ``batch`` (the workers), a batch never straddles
  the cap, and a generation that cannot reach ``population`` acceptances within it is cut off.
  Its simulations count. Stopping is decided from stored counts only, so a calibration resumed
  with a larger budget continues exactly as if it had been given that budget from the start.

``calibration.json`` records the settings (a re-run with other settings is refused) and, once
the calibration has stopped, why: a re-run then does nothing.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import pickle
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import numpy as np
import pyabc

from experiments.errors import ArgumentError
from sim import ScenarioError

STATE = "calibration.json"
HISTORY = "abc.db"
SIMULATIONS = "simulations.db"
OUTPUTS = ("posterior.csv", "posterior_provenance.json", "calibrated.toml")
MAX_GENERATIONS = 30
# a generation may evaluate at most this many particles per particle it has to accept (an
# acceptance rate of 1 %); below that it is cut off and the calibration stops
EVALUATIONS_PER_ACCEPTED = 100
FORMAT = 1  # of calibration.json and simulations.db; a folder of another format is refused


def particle_seed(seed: int, t: int, index: int) -> np.ndarray:
    """The state numpy's global generator starts from for particle ``index`` of generation ``t``.

    Generation -1 is pyabc's calibration sample from the prior.
    """
    return np.random.SeedSequence(seed, spawn_key=(1, t + 1, index)).generate_state(8)


def generation_seed(seed: int, t: int) -> np.ndarray:
    """The global generator's state at the start of generation ``t`` (for draws between particles;
    pyabc 0.13 makes none, so this only guards against a version that does)."""
    return np.random.SeedSequence(seed, spawn_key=(0, t + 1)).generate_state(8)


def simulate_particle(simulate_one: bytes | Callable, state: np.ndarray):
    """One particle: propose, simulate, accept or reject, from the given generator state.

    Module-level: it runs on worker processes, which get pyabc's ``simulate_one`` cloudpickled
    (it holds closures).
    """
    if isinstance(simulate_one, bytes):
        simulate_one = cloudpickle.loads(simulate_one)
    np.random.seed(state)
    return simulate_one()


class ParticleStore:
    """Every simulated particle by (generation, index), committed as soon as it is simulated."""

    def __init__(self, path: Path):
        self.connection = sqlite3.connect(path)
        self.connection.execute("PRAGMA journal_mode = WAL")  # a commit costs no fsync of the file
        self.connection.execute("PRAGMA synchronous = NORMAL")  # safe against kills, not power loss
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS particles "
            "(t INTEGER, idx INTEGER, particle BLOB, PRIMARY KEY (t, idx))"
        )
        self.connection.commit()

    def get(self, t: int) -> dict:
        rows = self.connection.execute("SELECT idx, particle FROM particles WHERE t = ?", (t,))
        return {index: pickle.loads(blob) for index, blob in rows}

    def put(self, t: int, index: int, particle) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO particles VALUES (?, ?, ?)", (t, index, pickle.dumps(particle))
        )
        self.connection.commit()

    def count(self, before: int | None = None) -> int:
        """Particles simulated, all or those of generations before ``before`` (prior sample
        included)."""
        if before is None:
            return self.connection.execute("SELECT COUNT(*) FROM particles").fetchone()[0]
        return self.connection.execute(
            "SELECT COUNT(*) FROM particles WHERE t < ?", (before,)
        ).fetchone()[0]

    def close(self) -> None:
        self.connection.close()


class OrderedSampler(pyabc.sampler.Sampler):
    """Particles seeded by their place, evaluated in batches, the first accepted kept in order.

    With ``executor`` a batch runs in parallel on it (a process pool or a Dask cluster), else in
    this process. The result depends on the seed and the batch size, not on the executor, the
    timing or interruptions. ``remaining`` is what the generation may still evaluate (set before
    each generation); ``cut_off`` says why a generation ended short ("budget", "acceptance").
    """

    def __init__(self, store: ParticleStore, seed: int, batch: int = 1, executor=None):
        super().__init__()
        self.store, self.seed, self.batch, self.executor = store, seed, batch, executor
        self.remaining = 0
        self.cut_off: str | None = None

    def sample_until_n_accepted(
        self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None
    ):
        budget = self.remaining
        limit = min(budget, n if all_accepted else n * EVALUATIONS_PER_ACCEPTED, max_eval)
        stored = self.store.get(t)
        sample = self._create_empty_sample()
        index = 0
        while sample.n_accepted < n:
            # a batch is [index, end); it never straddles the limit, so what a generation
            # evaluates does not depend on the budget unless the budget cuts it off
            end = min(index + self.batch, n) if all_accepted else index + self.batch
            if end > limit:
                self.cut_off = "budget" if limit == budget else "acceptance"
                sample.ok = False
                break
            missing = [i for i in range(index, end) if i not in stored]
            if missing:
                stored.update(self._simulate(simulate_one, t, missing))
            for i in range(index, end):
                if sample.n_accepted < n:
                    sample.append(stored[i])
            index = end
        self.nr_evaluations_ = index  # the whole last batch ran, so it counts
        self.remaining -= index
        return sample

    def _simulate(self, simulate_one, t: int, indexes: list[int]) -> dict:
        results = {}
        if self.executor is None:
            for index in indexes:
                results[index] = simulate_particle(simulate_one, particle_seed(self.seed, t, index))
                self.store.put(t, index, results[index])
            return results
        payload = cloudpickle.dumps(simulate_one)
        futures = {
            self.executor.submit(
                simulate_particle, payload, particle_seed(self.seed, t, index)
            ): index
            for index in indexes
        }
        try:
            for future in as_completed(futures):
                index = futures[future]
                results[index] = future.result()
                self.store.put(t, index, results[index])  # kept even if the batch is stopped
        finally:
            for future in futures:
                future.cancel()
        return results


@dataclass
class Plan:
    """What a call does with the folder: start, resume, continue (a larger budget) or nothing."""

    action: str
    message: str
    generations: int
    simulations: int

    @property
    def finished(self) -> bool:
        return self.action == "finished"


def read_state(folder: Path) -> dict | None:
    path = folder / STATE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ArgumentError(
            "destination", f"{STATE} cannot be read ({error}); use another folder", folder
        ) from None


def write_state(folder: Path, state: dict) -> None:
    """Atomically: a kill leaves the old state or the new one."""
    partial = folder / f"{STATE}.partial"
    partial.write_text(json.dumps(state, indent=2))
    os.replace(partial, folder / STATE)


def history_url(folder: Path) -> str:
    return f"sqlite:///{folder / HISTORY}"


def generations(folder: Path) -> int:
    """Complete generations stored in the folder's pyabc history."""
    if not (folder / HISTORY).exists():
        return 0
    return int(pyabc.History(history_url(folder)).max_t) + 1


def stored_simulations(folder: Path, before: int | None = None) -> int:
    """Simulations stored in the folder, all or those of generations before ``before``."""
    if not (folder / SIMULATIONS).exists():
        return 0
    store = ParticleStore(folder / SIMULATIONS)
    try:
        return store.count(before)
    finally:
        store.close()


def _difference(stored: dict, settings: dict) -> str | None:
    """The first setting in which the folder's calibration differs, in words."""
    for key, value in settings.items():
        if stored.get(key) == value:
            continue
        if key == "targets":
            ids = [target["id"] for target in stored.get(key, [])]
            new_ids = [target["id"] for target in value]
            if ids != new_ids:
                return f"targets {', '.join(ids)}, not {', '.join(new_ids)}"
            changed = next(
                old["id"] for old, new in zip(stored[key], value, strict=True) if old != new
            )
            return f"another version of target {changed}"
        if key == "prior":
            return f"prior {json.dumps(stored.get(key))}, not {json.dumps(value)}"
        return f"{key} {stored.get(key)}, not {value}"
    return None


def plan(folder: Path, settings: dict, budget: int) -> Plan:
    """What calibrating into ``folder`` with these settings and budget does; refusals raise.

    Refused: a folder with a pyabc history but no state (an older tasim made it), a calibration
    with other settings, one that already holds more simulations than ``budget``.
    """
    folder = Path(folder)
    settings = json.loads(json.dumps(settings))  # as calibration.json gives it back
    state = read_state(folder)
    if state is None:
        if (folder / HISTORY).exists():
            raise ArgumentError(
                "destination",
                f"holds a pyabc history ({HISTORY}) but no {STATE}: an older tasim made it, and "
                "it cannot be resumed exactly; use another folder",
                folder,
            )
        return Plan("start", f"new calibration in {folder}", 0, 0)
    difference = _difference(state.get("settings", {}), settings)
    if state.get("format") != FORMAT:
        difference = f"format {state.get('format')}, not {FORMAT}"
    if difference:
        raise ArgumentError(
            "destination",
            f"holds a calibration with {difference}; resume it with the same settings, "
            "or use another folder",
            folder,
        )
    done = generations(folder)
    history_total = pyabc.History(history_url(folder)).total_nr_simulations if done else 0
    if stored_simulations(folder, before=done) != history_total and done:
        raise ArgumentError(
            "destination",
            f"its {SIMULATIONS} does not match its {HISTORY} (was one of them replaced?), so it "
            "cannot be resumed exactly; use another folder",
            folder,
        )
    simulations = stored_simulations(folder)
    if simulations > budget:
        raise ArgumentError(
            "destination",
            f"holds a calibration of {simulations} simulations, more than budget {budget}: "
            f"give a budget of at least {simulations} to resume it, or use another folder",
            folder,
        )
    finished = state.get("finished")
    counts = f"{simulations} simulations, {done} generations"
    if finished and (finished["stop"] != "budget" or budget <= finished["budget"]):
        if done == 0 or all((folder / name).exists() for name in OUTPUTS):
            more = " (a larger budget continues it)" if finished["stop"] == "budget" else ""
            return Plan(
                "finished",
                f"{folder} is finished ({finished['detail']}; {counts}): nothing to do{more}",
                done,
                simulations,
            )
        return Plan("resume", f"{folder} is finished ({counts}); writing its outputs", done, 0)
    if finished:
        return Plan(
            "continue",
            f"continuing {folder}: budget raised from {finished['budget']} to {budget} "
            f"({counts} so far)",
            done,
            simulations,
        )
    return Plan(
        "resume",
        f"resuming {folder} at generation {done} ({simulations} simulations stored)",
        done,
        simulations,
    )


@dataclass
class Stop:
    reason: str  # "budget", "generations", "acceptance"
    detail: str


def run(
    folder: Path,
    settings: dict,
    budget: int,
    new_abc: Callable[[pyabc.sampler.Sampler], pyabc.ABCSMC],
    observed: dict,
    executor: Executor | None = None,
) -> Stop:
    """Run generations into ``folder`` until the budget, the generation limit or the acceptance
    rate stops them. The settings are recorded first; ``finish`` records the stop.

    ``new_abc(sampler)`` builds the ABCSMC (model, prior, distance, population) around a sampler.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        return _run(folder, settings, budget, new_abc, observed, executor)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock for the block: one calibration at a time writes into a folder.

    An advisory lock (flock) the system releases when the process ends, however it ends.
    """
    with open(folder / "calibration.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArgumentError(
                "destination",
                "is being calibrated by another process; wait for it, or use another folder",
                folder,
            ) from None
        yield


def _run(folder, settings, budget, new_abc, observed, executor) -> Stop:
    state = read_state(folder) or {"format": FORMAT, "settings": settings}
    state["finished"] = None
    write_state(folder, state)
    population, batch, seed = settings["population"], settings["workers"], settings["seed"]
    store = ParticleStore(folder / SIMULATIONS)
    try:
        sampler = OrderedSampler(store, seed, batch, executor)
        if not (folder / HISTORY).exists():
            partial = folder / f"{HISTORY}.partial"
            partial.unlink(missing_ok=True)
            new_abc(sampler).new(f"sqlite:///{partial}", observed)
            os.replace(partial, folder / HISTORY)  # a kill leaves a history or none
        stop = _generations(folder, budget, population, batch, seed, sampler, new_abc)
    finally:
        store.close()
    return stop


class _OwnStops(logging.Filter):
    """Drops pyabc's stop messages: every generation is a run of its own here, so pyabc would
    report "maximum number of generations" after each; ``Stop`` says why a calibration ended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in (
            "Stop: Maximum number of generations.",
            "Stopping: sample not ok.",
        )


def _generations(folder, budget, population, batch, seed, sampler, new_abc) -> Stop:
    logger, own_stops = logging.getLogger("ABC"), _OwnStops()
    logger.addFilter(own_stops)
    try:
        return _loop(folder, budget, population, batch, seed, sampler, new_abc)
    finally:
        logger.removeFilter(own_stops)


def _loop(folder, budget, population, batch, seed, sampler, new_abc) -> Stop:
    first_batches = math.ceil(population / batch) * batch  # the least a generation evaluates
    while True:
        t = generations(folder)
        if t >= MAX_GENERATIONS:
            return Stop("generations", f"{MAX_GENERATIONS} generations, the limit")
        left = budget - (sampler.store.count(before=t) if t else 0)
        needed = first_batches + (population if t == 0 else 0)  # generation 0: the prior sample
        if left < needed:
            return Stop(
                "budget",
                f"budget {budget} reached: generation {t} would need at least {needed} "
                f"simulations, {left} are left",
            )
        sampler.remaining, sampler.cut_off = left, None
        abc = new_abc(sampler)
        abc.load(history_url(folder), 1)
        np.random.seed(generation_seed(seed, t))
        abc.run(max_nr_populations=1)
        if sampler.cut_off == "budget":
            return Stop(
                "budget", f"budget {budget} reached: generation {t} was cut off at the budget"
            )
        if sampler.cut_off == "acceptance":
            return Stop(
                "acceptance",
                f"generation {t} accepted less than 1 in {EVALUATIONS_PER_ACCEPTED} particles",
            )


def finish(folder: Path, stop: Stop, budget: int) -> None:
    """Record that the calibration has stopped (after its outputs are written)."""
    state = read_state(folder)
    state["finished"] = {"stop": stop.reason, "detail": stop.detail, "budget": budget}
    write_state(folder, state)


def stop_of(folder: Path) -> Stop | None:
    finished = (read_state(folder) or {}).get("finished")
    return Stop(finished["stop"], finished["detail"]) if finished else None


def no_generation(folder: Path, budget: int, simulations: int) -> ScenarioError:
    return ArgumentError(
        "budget",
        f"ran out before the first generation was complete ({simulations} simulations in "
        f"{folder}); give a larger budget (about 4 x population) to continue it",
        budget,
    )
