"""Time the experiment layer: baseline runs per second with 1 and 2 workers, and a Sobol analysis.

Run: ``python benchmarks/bench_experiments.py [--runs 40] [--sobol-samples 256]
[--sobol-replicates 3]``.
Parallel efficiency is (runs/s with 2 workers) / (2 x runs/s with 1 worker); both go through a
process pool and the store, so the figures include scheduling, transfer and Parquet writes.
``--sobol-samples 0`` skips the Sobol analysis (12 parameters, N(D+2) x R runs: 10,752 at
N=256, R=3).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments.runner import Store, design, make_executor, run_experiment


def runs_per_second(runs: int, workers: int) -> float:
    specs = design([("baseline", {}, {})], runs)
    with tempfile.TemporaryDirectory() as folder, make_executor(workers) as executor:
        run_experiment(
            "warm-up",
            specs[:workers],
            Store(Path(folder) / "warm-up"),
            executor=executor,
            chunk_size=1,
        )  # start the workers
        start = time.perf_counter()
        run_experiment("bench", specs, Store(Path(folder) / "bench"), executor=executor)
        return runs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--sobol-samples", type=int, default=256)
    parser.add_argument("--sobol-replicates", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the benchmark")
    one, two = runs_per_second(args.runs, 1), runs_per_second(args.runs, 2)
    print(
        f"baseline runs per second: 1 worker {one:.2f}, 2 workers {two:.2f}, "
        f"parallel efficiency {two / (2 * one):.0%}"
    )
    if args.sobol_samples:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            command = [
                sys.executable,
                "-m",
                "tasim",
                "sensitivity",
                "--method",
                "sobol",
                "--samples",
                str(args.sobol_samples),
                "--replicates",
                str(args.sobol_replicates),
                "--workers",
                "2",
                "--out",
                folder,
            ]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            print(
                f"Sobol, 12 parameters, N={args.sobol_samples}, {args.sobol_replicates} "
                f"replicates, 2 workers: {time.perf_counter() - start:.0f} s wall"
            )
    print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
