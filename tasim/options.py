"""Options several commands share, declared once so they read and behave the same everywhere.

Each option that several commands take has one rule here (``RULES``, by flag), and tasim/cli.py
applies it to that flag on every command when the app is built: ``--months 0`` is refused the
same way by ``run``, ``sweep`` and ``dose-response``, and a new command taking ``--workers``
gets the rule without asking. A rule raises ArgumentError naming the argument, so the refusal
is one line, before the command does anything; it is also an ordinary function
(``check_workers(0)`` raises) for a command that wants to call it itself.
"""

from __future__ import annotations

import re
import socket
from typing import Annotated

import typer

from experiments.errors import ArgumentError
from experiments.space import RUN_LIMIT
from sim import Scenario, paths

Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a parameter: dotted.path=value (repeatable)."),
]
FixedOverrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Fixed override for every run: dotted.path=value (repeatable)."),
]
Replicates = Annotated[int, typer.Option(help="Replicates per design point.")]
Workers = Annotated[
    int | None, typer.Option(help="Local worker processes (default: all cores; 1 runs serially).")
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (instead of local workers)."
    ),
]
Months = Annotated[
    int | None, typer.Option(help="Months per run (default: the scenario's horizon).")
]
Seed = Annotated[
    int,
    typer.Option(
        help="Experiment seed: entropy of the SeedSequence the replicate seeds come from."
    ),
]
CommonRandomNumbers = Annotated[
    bool,
    typer.Option(
        "--crn/--no-crn",
        help="Reuse the same replicate seeds at every design point (common random numbers).",
    ),
]


# ------------------------------------------------------------------ the rules of shared options

MONTHS = paths.bounds(Scenario.model_fields["months"])  # a run's horizon, as a scenario's
SEED_LIMIT = 2**63 - 1  # seeds are stored as 64-bit signed integers (Parquet, SQLite)
WORKER_LIMIT = 1024  # local worker processes: more is a typo, not a machine
# Dask's remote protocols (distributed.comm: inproc is in-process only) and a host and port
SCHEDULER_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")
SCHEDULER_ADDRESS = re.compile(
    r"(?:(?P<protocol>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})"
)
SCHEDULER_EXAMPLE = "tcp://10.0.0.5:8786"
CONNECT_SECONDS = 10.0  # how long the address check waits for the scheduler to answer


def _whole_number(argument: str, value: int, low: int, high: int) -> int:
    if value < low:
        raise ArgumentError(argument, f"must be at least {low:,} (got {value})")
    if value > high:
        raise ArgumentError(argument, f"must be at most {high:,} (got {value})")
    return value


def check_months(value: int | None) -> int | None:
    """``--months``: 1 to 600, the horizon a scenario may have (its ``months`` bounds)."""
    low, high = MONTHS
    return value if value is None else _whole_number("months", value, int(low), int(high))


def check_seed(value: int | None) -> int | None:
    """``--seed``: a whole number from 0 (numpy's seeds) to 2^63 - 1 (what the records hold)."""
    return value if value is None else _whole_number("seed", value, 0, SEED_LIMIT)


def check_replicates(value: int | None) -> int | None:
    """``--replicates``: 1 to the limit on an experiment's runs."""
    return value if value is None else _whole_number("replicates", value, 1, RUN_LIMIT)


def check_samples(value: int | None) -> int | None:
    """``--samples``: 1 to the limit on an experiment's runs (designs check their own rules)."""
    return value if value is None else _whole_number("samples", value, 1, RUN_LIMIT)


def check_workers(value: int | None) -> int | None:
    """``--workers``: 1 (serial) to WORKER_LIMIT local processes; None is every core."""
    return value if value is None else _whole_number("workers", value, 1, WORKER_LIMIT)


def check_scheduler(value: str | None) -> str | None:
    """``--scheduler``: a Dask scheduler address, checked before anything runs or is written.

    The address must read as Dask reads one (``tcp://host:port``; ``host:port`` means tcp),
    and for a TCP-based protocol the host must accept a connection on the port within
    CONNECT_SECONDS, so an unreachable scheduler is one line up front rather than after the
    experiment folder exists.
    """
    if value is None:
        return value
    match = SCHEDULER_ADDRESS.fullmatch(value.strip())
    protocol = (match and match["protocol"]) or "tcp"
    if not match or protocol not in SCHEDULER_PROTOCOLS or not 1 <= int(match["port"]) <= 65535:
        raise ArgumentError(
            "scheduler",
            f"must be a Dask scheduler address, protocol://host:port, e.g. {SCHEDULER_EXAMPLE} "
            f"(protocols {', '.join(SCHEDULER_PROTOCOLS)}; port 1 to 65535)",
            value,
        )
    if protocol != "ucx":
        host = match["host"].strip("[]")
        try:
            socket.create_connection((host, int(match["port"])), CONNECT_SECONDS).close()
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            raise ArgumentError(
                "scheduler", f"cannot reach the Dask scheduler ({reason})", value
            ) from None
    return value


RULES = {
    "--months": check_months,
    "--seed": check_seed,
    "--replicates": check_replicates,
    "--samples": check_samples,
    "--workers": check_workers,
    "--scheduler": check_scheduler,
}
