"""Time the model: the baseline, a scale series, and Mesa's virus_on_network for reference.

Run: ``python benchmarks/bench_model.py [--repeats 5] [--sizes 1000 5000 20000 50000]``.
Prints seconds per run and microseconds per organization-month; the cost should grow
linearly with organizations (DESIGN.md section 10). Timings are medians of the repeats.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from mesa.examples.basic.virus_on_network.model import VirusOnNetwork

from sim import load_scenario, simulate

MEAN_TEAM_SIZE = 18  # organizations per team in the baseline (7-43, skewed)


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_virus(nodes: int, steps: int, repeats: int) -> float:
    def one_run():
        random.seed(42)  # the example builds its graph from the global `random` state
        model = VirusOnNetwork(num_nodes=nodes, avg_node_degree=3, rng=42)
        for _ in range(steps):
            model.step()

    return median_seconds(one_run, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000, 50000])
    args = parser.parse_args()

    baseline = load_scenario("baseline")
    simulate(baseline, seed=0)  # warm-up: imports and caches
    seconds = median_seconds(lambda: simulate(baseline, seed=1), args.repeats)
    orgs = simulate(baseline, seed=1, months=0).system["n_orgs"].iloc[0]
    per_org_month = 1e6 * seconds / (orgs * baseline.months)
    print(
        f"baseline: {orgs} organizations x {baseline.months} months: "
        f"{seconds:.3f} s/run, {per_org_month:.2f} us/org-month"
    )

    print(f"{'organizations':>14} {'s/run':>8} {'us/org-month':>13}")
    for size in args.sizes:
        scenario = baseline.with_overrides({"system.n_teams": max(1, round(size / MEAN_TEAM_SIZE))})
        repeats = args.repeats if size <= 5000 else max(1, args.repeats // 2)
        seconds = median_seconds(lambda scenario=scenario: simulate(scenario, seed=1), repeats)
        orgs = simulate(scenario, seed=1, months=0).system["n_orgs"].iloc[0]
        print(f"{orgs:>14} {seconds:>8.3f} {1e6 * seconds / (orgs * scenario.months):>13.2f}")

    virus = time_virus(1000, baseline.months, args.repeats)
    per_agent_step = 1e6 * virus / (1000 * baseline.months)
    print(
        f"reference: Mesa virus_on_network, 1000 nodes x {baseline.months} steps: "
        f"{virus:.3f} s/run, {per_agent_step:.2f} us/agent-step"
    )


if __name__ == "__main__":
    main()
