"""The layers only point down: sim <- experiments <- calibration <- dashboards <- tasim.

Read from the source (an AST scan, imports inside functions included), so a new module or a new
import that points up fails here before anyone has to untangle a cycle. Below the command line
no module imports Typer, switches matplotlib's backend or uses pyplot's global figures.
"""

import ast
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
LAYERS = ["sim", "experiments", "calibration", "dashboards", "tasim"]  # bottom to top
COMMAND_LINE_ONLY = {"typer", "click"}


def modules(package: str) -> list[Path]:
    return sorted((REPOSITORY / package).rglob("*.py"))


def imported(path: Path, root: Path = REPOSITORY) -> list[tuple[int, str]]:
    """(line, dotted name) of everything a file imports, relative imports resolved.

    ``from sim import load_scenario`` gives ``sim.load_scenario``, so ``from matplotlib import
    pyplot`` reads ``matplotlib.pyplot`` like ``import matplotlib.pyplot`` does.
    """
    package = path.relative_to(root).parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # from . import x, from ..y import z: relative to the file's own package
            base = package[: len(package) - node.level + 1] if node.level else ()
            found += [
                (node.lineno, ".".join(filter(None, [*base, node.module, alias.name])))
                for alias in node.names
            ]
    return found


def calls_matplotlib_use(path: Path) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "use"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"matplotlib", "mpl"}
    ]


def test_every_layer_has_modules():
    for package in LAYERS:
        assert modules(package), f"{package}/ has no modules: is the layer list out of date?"


@pytest.mark.parametrize("package", LAYERS)
def test_no_module_imports_a_higher_layer(package):
    rank = LAYERS.index(package)
    upward = [
        f"{path.relative_to(REPOSITORY)}:{line} imports {name}"
        for path in modules(package)
        for line, name in imported(path)
        if name.split(".")[0] in LAYERS[rank + 1 :]
    ]
    assert not upward, "imports must point down the layers:\n" + "\n".join(upward)


@pytest.mark.parametrize("package", LAYERS[:-1])
def test_only_the_command_line_imports_typer(package):
    found = [
        f"{path.relative_to(REPOSITORY)}:{line} imports {name}"
        for path in modules(package)
        for line, name in imported(path)
        if name.split(".")[0] in COMMAND_LINE_ONLY
    ]
    assert not found, "command-line libraries belong in tasim/:\n" + "\n".join(found)


@pytest.mark.parametrize("package", LAYERS)
def test_no_module_switches_the_backend_or_uses_pyplot(package):
    found = [
        f"{path.relative_to(REPOSITORY)}:{line} imports {name}"
        for path in modules(package)
        for line, name in imported(path)
        if f"{name}.".startswith("matplotlib.pyplot.")
    ] + [
        f"{path.relative_to(REPOSITORY)}:{line} calls matplotlib.use"
        for path in modules(package)
        for line in calls_matplotlib_use(path)
    ]
    assert not found, "build figures with matplotlib.figure.Figure:\n" + "\n".join(found)


def test_the_scan_sees_upward_imports_anywhere_in_a_module(tmp_path):
    """The scan itself: imports inside functions and relative imports are found and resolved."""
    stray = tmp_path / "experiments" / "stray.py"
    stray.parent.mkdir()
    stray.write_text(
        "def f():\n    from tasim.cli import app\n    import dashboards.app\n"
        "from .runner import design\nfrom .. import calibration\n"
    )
    assert [name for _, name in imported(stray, tmp_path)] == [
        "experiments.runner.design",
        "calibration",
        "tasim.cli.app",
        "dashboards.app",
    ]
