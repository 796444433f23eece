"""What every result carries so it can be reproduced: code version, interpreter and packages."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

import sim

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
MODEL = Path(sim.__file__).resolve().parent  # the model's package: its code and shipped scenarios
MODEL_FILES = ("*.py", "*.toml")


def package_hash(package: Path) -> str:
    """A content hash of a package's Python source and TOML files, by path within it."""
    digest = hashlib.sha256()
    files = sorted(
        path
        for pattern in MODEL_FILES
        for path in package.rglob(pattern)
        if "__pycache__" not in path.parts
    )
    for path in files:
        name = path.relative_to(package).as_posix().encode()
        content = path.read_bytes()
        digest.update(b"%d:%s%d:" % (len(name), name, len(content)) + content)
    return digest.hexdigest()[:16]


@cache
def model_version() -> str:
    """The model's version as a content hash of ``sim``: its source and shipped scenarios.

    Unlike the git commit it needs no repository (an installed package has one too), it ignores
    edits outside the model (docs, tests, the command line) and it sees uncommitted ones, so a
    run id that includes it changes exactly when the model's code does. Read once per process:
    the code a process runs is the code it imported.
    """
    return package_hash(MODEL)


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
    """Code version (git), model version (content hash) and environment, for every manifest."""
    return {"code_version": code_version(), "model_version": model_version(), **environment()}
