"""What every result carries so it can be reproduced: code version, interpreter and packages."""

from __future__ import annotations

import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "tasim",
    "mesa",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "pydantic",
    "networkx",
    "SALib",
    "dask",
    "distributed",
)
REPOSITORY = Path(__file__).resolve().parent.parent


@cache
def code_version() -> str:
    """The git commit of the code (``-dirty`` if it has uncommitted changes), else the version."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPOSITORY), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPOSITORY), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return f"tasim {_version('tasim')}"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@cache
def environment() -> dict[str, object]:
    """Python and package versions, for manifests."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def provenance() -> dict[str, object]:
    """Code version plus environment, as stored in every manifest."""
    return {"code_version": code_version(), **environment()}
