"""Many runs: design points with replicate seeds, any executor, a resumable Parquet store.

The shape follows DESIGN.md section 2: scenario -> run configuration -> executor -> store.
A run is identified by a hash of what determines it: the resolved scenario (its content, not
its name), overrides, months, seed, labels and the model's code version. Re-running an
experiment skips the runs already stored and a killed experiment loses only the runs in flight;
a changed scenario or model is a different run, never an old result. The run files are the
record of what is done, each checked before it is reused; the manifest describes the
experiment, is rewritten every few seconds and at the end, and keeps another experiment out of
the folder.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.dataset
import pyarrow.parquet

from experiments.errors import ArgumentError
from experiments.provenance import model_version, provenance
from sim import Scenario, ScenarioError, load_scenario, simulate

DEFAULT_SEED = 20261125  # entropy of the experiment's SeedSequence unless another is given
MAX_CHUNK = 16  # runs per task at most: a killed experiment loses at most this many per worker
MIN_CHUNKS = 64  # tasks at least, so work spreads over many workers and progress moves
# seconds at least between manifest rewrites (rewriting it per run would cost O(runs^2))
MANIFEST_INTERVAL = 5.0
PARENT_POLL = 1.0  # seconds between a pool worker's checks that the experiment's process lives
ORPHANED = 70  # exit code of a pool worker whose experiment's process died (EX_SOFTWARE)


# Temporary names: ``.<name>.tasim-<host>-<pid>-<random>.partial``, unique per process and call,
# so concurrent writers never share one, and a leftover names the process that left it.
PARTIAL = re.compile(r"^\..+\.tasim-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[0-9a-f]{8}\.partial$")


@cache
def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:32] or "host"


def partial_name(name: str) -> str:
    """A hidden temporary name for ``name``, unique to this process and call."""
    return f".{name}.tasim-{_host()}-{os.getpid()}-{secrets.token_hex(4)}.partial"


def process_status(pid: int) -> tuple[str, str] | None:
    """A process's state letter and start time from /proc, or None where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], fields[19]
    except (OSError, IndexError):
        return None


def process_alive(pid: int, started: str | None = None) -> bool:
    """Whether process ``pid`` runs (a zombie does not), and is the one started at ``started``."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    status = process_status(pid)
    if status is None:
        return True
    state, start = status
    return state not in ("Z", "X") and (started is None or start == started)


def sweep_stale(folder: Path) -> None:
    """Remove temporary files and folders in ``folder`` left by dead processes of this host.

    A process killed outright (SIGKILL, a lost node, a full disk) cannot clean up after itself;
    the next one to use the folder does. Leftovers of live processes, of other hosts (a shared
    file system) and names this module did not make are left alone.
    """
    try:
        candidates = list(Path(folder).glob(".*.partial"))
    except OSError:
        return
    for path in candidates:
        match = PARTIAL.match(path.name)
        if not match or match["host"] != _host() or process_alive(int(match["pid"])):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with suppress(OSError):  # gone already, or not ours to remove
                path.unlink()


def exit_with_parent(parent: int, started: str | None) -> None:
    """Pool worker initializer: exit within seconds once the experiment's process is gone.

    A SIGKILLed parent cannot stop its pool, and the workers would wait on their task queue
    forever (and with them the forkserver, which lives until its last worker exits). A daemon
    thread polls the parent (its pid and start time, so a reused pid does not fool it).
    """

    def watch() -> None:
        while process_alive(parent, started):
            time.sleep(PARENT_POLL)
        os._exit(ORPHANED)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def digest(value: object) -> str:
    """A short content hash of JSON-able data, independent of dict order."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def content_hash(resolved: Scenario | None) -> str:
    """What a run depends on besides its spec: the resolved scenario and the model's code.

    The scenario after ``extends``, overrides and events, so an edited file (or one it extends)
    gives other runs; ``None`` for runs whose scenario is not the model's (test functions).
    """
    scenario = resolved.model_dump(mode="json") if resolved is not None else None
    return digest({"scenario": scenario, "model": model_version()})


@dataclass(frozen=True)
class RunSpec:
    """One run: a scenario (name or path), dotted-path overrides, horizon and seed.

    ``content`` is the ``content_hash`` of the arm's resolved scenario and the model code;
    ``design`` sets it, and it is part of the run id.
    """

    scenario: str
    overrides: dict = field(default_factory=dict)
    seed: int = 0
    months: int | None = None
    labels: dict = field(default_factory=dict)  # e.g. {"arm": "hands_on"}: output columns
    content: str = ""

    @cached_property  # asked for often (store, manifest), so hashed once
    def run_id(self) -> str:
        # labels included: two design points may coincide
        return digest(asdict(self))


class ExperimentFailed(RuntimeError):
    """Some runs raised: the others are stored, the manifest names the errors, a re-run retries."""


def replicate_seeds(replicates: int, entropy: int) -> list[int]:
    """Replicate seeds from one SeedSequence per experiment."""
    if replicates < 1:
        raise ArgumentError("replicates", f"must be at least 1 (got {replicates})")
    return [int(state) for state in np.random.SeedSequence(entropy).generate_state(replicates)]


def check_scenario(scenario: str, overrides: dict) -> Scenario:
    """Resolve a scenario with its overrides; raises ScenarioError naming the field and range."""
    return load_scenario(scenario, overrides)


def design(
    arms: list[tuple[str, dict, dict]],
    replicates: int,
    entropy: int = DEFAULT_SEED,
    months: int | None = None,
    common_random_numbers: bool = True,
    check: Callable[[str, dict], Scenario | None] | None = check_scenario,
) -> list[RunSpec]:
    """Runs for every arm (scenario, overrides, labels) and replicate, checked before any runs.

    With common random numbers (the default) every arm reuses the same replicate seeds, so
    differences between arms are not seed noise. ``check`` validates each arm and returns its
    resolved scenario, whose content (with the model's code version) becomes part of the arm's
    run ids; None for run functions that are not the model (e.g. test functions).
    """
    if not arms:
        raise ScenarioError("the experiment has no design points")
    if months is not None and months < 1:
        raise ArgumentError("months", f"must be at least 1 (got {months})")
    seeds = replicate_seeds(replicates * (1 if common_random_numbers else len(arms)), entropy)
    contents = []
    for scenario, overrides, _ in arms:  # every arm resolved before any run, once per arm
        resolved = check(scenario, overrides) if check else None
        contents.append(content_hash(resolved if isinstance(resolved, Scenario) else None))
    runs = []
    for index, (scenario, overrides, labels) in enumerate(arms):
        arm_seeds = (
            seeds if common_random_numbers else seeds[index * replicates : (index + 1) * replicates]
        )
        runs += [
            RunSpec(
                scenario,
                overrides,
                seed,
                months,
                {**labels, "replicate": replicate},
                contents[index],
            )
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
            if frame.empty:  # a stored run names itself in its rows: an empty one cannot
                frame, error = None, "the run returned no rows"
        except Exception as exception:
            frame, error = None, f"{type(exception).__name__}: {exception}"
        results.append((spec.run_id, frame, time.perf_counter() - start, error))
    return results


def plain(value: object) -> object:
    """``value`` as it reads back from JSON (tuples as lists, paths as strings)."""
    return json.loads(json.dumps(value, default=str))


def intact(path: Path, run_id: str) -> bool:
    """Whether ``path`` is a readable run file of ``run_id``: rows, every one naming that run.

    Read from the Parquet footer (row count and the run_id column's statistics), so checking
    thousands of files stays cheap; the column itself only where a writer left no statistics.
    A truncated, empty or foreign file (another run's, or not a run file) is not intact.
    """
    try:
        file = pyarrow.parquet.ParquetFile(path)
        metadata = file.metadata
        names = [metadata.schema.column(index).name for index in range(metadata.num_columns)]
        if metadata.num_rows == 0 or "run_id" not in names:
            return False
        column = names.index("run_id")
        for group in range(metadata.num_row_groups):
            statistics = metadata.row_group(group).column(column).statistics
            if statistics is None or not statistics.has_min_max or statistics.null_count != 0:
                values = file.read(columns=["run_id"]).column("run_id")
                return values.null_count == 0 and set(values.unique().to_pylist()) == {run_id}
            if not statistics.min == statistics.max == run_id:
                return False
        return True
    except (OSError, ValueError, KeyError, pyarrow.ArrowException):
        return False


def shown(value: object, limit: int = 40) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def identity(run: dict) -> str:
    """A recorded or new run's spec without its content: what it was asked to be."""
    return digest([run.get(key) for key in ("scenario", "overrides", "seed", "months", "labels")])


class Store:
    """One Parquet file per completed run plus an experiment manifest, in one folder.

    Every write is atomic (a unique temporary name, then a rename), so a file exists only when
    it is complete, concurrent writers cannot clash, and leftovers of killed processes are
    swept when the folder is next opened. A stored run is checked before it is reused; one
    that is not intact is set aside in ``runs/rejected/`` and run again. The folder holds one
    experiment: ``check`` refuses another.
    """

    def __init__(self, folder: str | Path):
        if isinstance(folder, str) and not folder.strip():
            raise ArgumentError("folder", "must name a folder (got an empty path)")
        self.folder = Path(folder)
        self.runs = self.folder / "runs"
        self.rejected = self.runs / "rejected"
        self.manifest = self.folder / "manifest.json"
        if self.folder.exists() and not self.folder.is_dir():
            raise ArgumentError("folder", "is a file, not a folder", self.folder)
        try:
            self.runs.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ArgumentError(
                "folder", f"cannot be created ({error.strerror or error})", self.folder
            ) from None
        sweep_stale(self.runs)
        sweep_stale(self.folder)

    def completed(self) -> set[str]:
        """Run ids with a run file, as named (``verified`` checks what they hold)."""
        return {path.stem for path in self.runs.glob("*.parquet")}

    def verified(self, run_ids: Iterable[str]) -> set[str]:
        """The given runs that are stored intact; files of them that are not are set aside."""
        good = set()
        for run_id in self.completed() & set(run_ids):
            path = self.runs / f"{run_id}.parquet"
            if intact(path, run_id):
                good.add(run_id)
            else:
                self.reject(path)
        return good

    def reject(self, path: Path) -> None:
        """Move a bad run file into ``runs/rejected/`` (kept for inspection, never read)."""
        self.rejected.mkdir(exist_ok=True)
        with suppress(FileNotFoundError):  # another process set it aside first
            os.replace(path, self.rejected / f"{path.name}.{secrets.token_hex(4)}")

    def write(self, run_id: str, frame: pd.DataFrame) -> None:
        """Atomic: a run file exists only when it is complete."""
        partial = self.runs / partial_name(run_id)
        try:
            frame.to_parquet(partial, index=False)
            os.replace(partial, self.runs / f"{run_id}.parquet")
        except BaseException:  # a full disk, Ctrl-C: no half-written file stays behind
            partial.unlink(missing_ok=True)
            raise

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

    def recorded(self) -> dict | None:
        """The manifest as last written, its runs by id; None if it is missing or unreadable.

        A lost or damaged manifest is no loss: the run files are the record of what is done,
        and ``run_experiment`` writes a new manifest from them.
        """
        try:
            manifest = json.loads(self.manifest.read_bytes())
            runs = {run["run_id"]: run for run in manifest["runs"]}
            if not (isinstance(manifest["kind"], str) and isinstance(manifest["settings"], dict)):
                return None
            if not all(isinstance(run, dict) for run in runs.values()):
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return {**manifest, "runs": runs}

    def records(self) -> dict[str, dict]:
        """Status, seconds and error per run as the manifest last recorded them."""
        record = self.recorded()
        if record is None:
            return {}
        return {
            run_id: {key: run.get(key) for key in ("status", "seconds", "error")}
            for run_id, run in record["runs"].items()
        }

    def check(self, kind: str, specs: list[RunSpec], settings: dict) -> None:
        """Refuse to put another experiment into this folder; the same one resumes.

        The same experiment is the same kind of experiment on the same model code, whose runs
        were not made from a scenario that has changed since, and with the same settings or
        with a design that contains the stored one or is contained in it (a Sobol design with
        twice the samples, a comparison with one more scenario). Anything else would mix two
        experiments' runs in one folder (and in every table read from it); it is a
        ScenarioError naming the folder, what it holds and what was asked.
        """
        wanted = {spec.run_id for spec in specs}
        record = self.recorded()
        if record is None:
            stored = self.completed()
            if stored and not stored & wanted:
                raise ScenarioError(
                    f"{self.folder}: holds {len(stored)} runs of another experiment (and no "
                    f"readable manifest), none of this {kind}; choose another folder"
                )
            return
        if record["kind"] != kind:
            raise ScenarioError(
                f"{self.folder}: holds a {record['kind']} experiment, not this {kind}; "
                "choose another folder"
            )
        model, theirs = model_version(), record.get("model_version")
        if theirs != model:
            made = f"model code {theirs}" if theirs else "a tasim that did not record its model"
            raise ScenarioError(
                f"{self.folder}: its runs were made by {made}, this is model code {model}; "
                "runs of different code are not mixed: choose another folder"
            )
        contents = {identity(run): run.get("content") for run in record["runs"].values()}
        for spec in specs:
            if contents.get(identity(asdict(spec)), spec.content) != spec.content:
                raise ScenarioError(
                    f"{self.folder}: its runs of {spec.scenario} were made before that scenario "
                    "(or one it extends) changed; choose another folder"
                )
        stored = set(record["runs"])
        if record["settings"] != settings and not (stored <= wanted or wanted <= stored):
            theirs = record["settings"]
            differ = [
                key for key in sorted({*theirs, *settings}) if theirs.get(key) != settings.get(key)
            ]
            told = "; ".join(
                f"{key} {shown(theirs.get(key))} there, {shown(settings.get(key))} here"
                for key in differ[:3]
            )
            raise ScenarioError(
                f"{self.folder}: holds another {kind} ({told}{'; ...' if len(differ) > 3 else ''})"
                "; choose another folder"
            )

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
        partial = self.folder / partial_name("manifest")
        try:
            partial.write_text(json.dumps(manifest, indent=1, default=str))
            os.replace(partial, self.manifest)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise


@contextmanager
def make_executor(workers: int | None = None, scheduler: str | None = None):
    """A local process pool (default: all cores) or, with a scheduler address, a Dask cluster.

    Pool workers exit by themselves within seconds if this process dies without stopping them.
    """
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
        me = os.getpid()
        status = process_status(me)
        # forkserver: workers start from a clean process, not a fork of a threaded one
        with ProcessPoolExecutor(
            max_workers=workers or os.cpu_count(),
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=exit_with_parent,
            initargs=(me, status[1] if status else None),
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
    ``month`` selects rows as in ``Store.load``. A folder holding another experiment is refused
    before anything runs (``Store.check``); stored runs are checked and bad ones run again.
    """
    settings = plain(settings or {})
    store.check(kind, specs, settings)
    done = store.verified(spec.run_id for spec in specs)
    known, unknown = store.records(), {"status": "completed", "seconds": None, "error": None}
    # the run files are the truth: the manifest may lag them (it is rewritten every few seconds)
    records = {
        run_id: known[run_id] if known.get(run_id, {}).get("status") == "completed" else unknown
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
    ended = False
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
        ended = True
    finally:
        for future in futures:  # on an interruption, do not leave queued chunks running for nothing
            future.cancel()
        try:
            save(force=True)
        except OSError:
            if ended:  # else the first error (a full disk, say) is the one to report
                raise
    if failures:
        first = next(iter(failures.values()))
        raise ExperimentFailed(
            f"{len(failures)} of {len(specs)} runs failed (first: {first}); "
            f"see {store.manifest}; re-running retries them"
        )
    return store.load({spec.run_id for spec in specs}, month)
