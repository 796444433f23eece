"""Sensitivity explorer: browse a stored sensitivity analysis (indices) or sweep (cells), or
start a small Morris screening from the page.

An analysis is shown with the output it explains (from its manifest), its indices most
important first with what they mean, and for Morris the mu*-sigma plane.

It reads only under the results root: ``$TASIM_RESULTS_ROOT``, set by ``tasim dashboard
--results-root``, else ``results/`` in the server's working folder; it writes there only the
page's own screenings, each in a folder named for its output and the model's version. It
lists the experiment folders found there; a typed folder is taken relative to the root, and
one outside it (an absolute path elsewhere, ``..``, a symbolic link that leads out) is refused
with a message, as is a table file that is no regular file inside the root or larger than
TABLE_LIMIT.
"""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path

import pandas as pd
import solara

from dashboards.images import figure_png
from dashboards.jobs import Job, Report, job_controls, job_outcome, use_job
from dashboards.tables import readable
from experiments import sensitivity as sa
from experiments.analysis import COMPARED, SWEEP_MEASURES
from experiments.figures import plot_sweep_cells
from experiments.provenance import model_version
from experiments.runner import Store, design, run_experiment

RESULTS_ROOT = "TASIM_RESULTS_ROOT"  # the environment variable naming the results root
DEFAULT_ROOT = "results"
TABLES = ("indices.csv", "sweep.csv")  # what makes a folder an experiment the page can show
TABLE_LIMIT = 64 * 1024 * 1024  # bytes in one table file
SEARCH_DEPTH = 4  # folder levels below the root searched for experiments
LISTED = 200  # experiment folders listed at most

SCREENED = ("final_adoption", "final_fidelity", "admissions_avoided", "net_cost_discounted")
TRAJECTORIES = 4  # Morris trajectories of the page's screening: 52 runs over 12 parameters

folder = solara.reactive("")  # relative to the results root ("" is the root itself)
measure = solara.reactive("final_adoption")
refreshed = solara.reactive(0)
screened = solara.reactive("final_adoption")
INDEX_COLUMNS = {  # an indices table's columns as the page heads them
    "mu_star": "mu*",
    "mu_star_conf": "mu* 95 % half-width",
    "sigma": "sigma",
    "S1_conf": "S1 95 % half-width",
    "ST_conf": "ST 95 % half-width",
}


def measure_words(name: str) -> str:
    """A per-run measure in words: "adoption at the end", "time to 50 pct adoption"."""
    if name in COMPARED:
        return COMPARED[name][0][0].lower() + COMPARED[name][0][1:]
    return name.replace("_", " ").replace("pct", "%")


def screening(output: str, report: Report) -> str:
    """A small Morris screening of the default parameters on the baseline, explaining
    ``output``, stored under the results root as ``tasim sensitivity`` would store it; the
    folder's name under the root."""
    name = f"dashboard-morris-{output}-{model_version()}"  # a changed model screens anew
    out = results_root() / name
    out.mkdir(parents=True, exist_ok=True)
    paths = list(sa.DEFAULT_PARAMETERS)
    varied = sa.ranges(paths, "baseline")
    spec = sa.problem(varied)
    rows = sa.sample(spec, "morris", TRAJECTORIES)
    settings = {"scenario": "baseline", "method": "morris", "parameters": paths}
    settings |= {"samples": TRAJECTORIES, "output": output, "replicates": 1}
    table = run_experiment(
        "sensitivity",
        design(sa.arms(varied, rows, "baseline"), 1),
        Store(out),
        progress=report,
        chunk_size=1,
        settings=settings,
        month=0,
    )
    outputs = sa.replicate_means(table, output, len(rows))
    sa.analyze(spec, "morris", rows, outputs).to_csv(out / "indices.csv", index=False)
    return name


screen = Job(screening)


class Refused(ValueError):
    """A path the explorer will not read: the message says why, for the page."""


def results_root() -> Path:
    """The folder the explorer may read, resolved (symbolic links followed)."""
    return Path(os.environ.get(RESULTS_ROOT) or DEFAULT_ROOT).expanduser().resolve()


def inside(root: Path, text: str) -> Path:
    """The folder ``text`` names under ``root`` (relative to it, or absolute within it).

    Raises Refused for ``..`` anywhere in it and for a place outside the root, also where a
    symbolic link on the way leads out.
    """
    typed = Path(text.strip())
    if ".." in typed.parts:
        raise Refused(f"{text.strip()}: '..' is not allowed; name a folder under {root}")
    path = (root / typed).resolve()
    if not path.is_relative_to(root):
        raise Refused(f"{text.strip()}: outside the results root {root}; nothing there is read")
    return path


def table_file(root: Path, folder: Path, name: str) -> Path | None:
    """``folder/name`` if it is a regular file inside ``root`` of at most TABLE_LIMIT bytes;
    None if there is none; Refused if there is one the explorer will not read."""
    path = folder / name
    if not (path.exists() or path.is_symlink()):
        return None
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise Refused(f"{name}: a link out of the results root {root}; it is not read")
    if not resolved.is_file():
        raise Refused(f"{name}: not a regular file; it is not read")
    if resolved.stat().st_size > TABLE_LIMIT:
        raise Refused(f"{name}: larger than {TABLE_LIMIT // 2**20} MiB; it is not read")
    return resolved


def readable_file(root: Path, folder: Path, name: str) -> bool:
    try:
        return table_file(root, folder, name) is not None
    except (Refused, OSError):
        return False


def read_table(root: Path, folder: Path, name: str) -> pd.DataFrame | None:
    """A table of an experiment folder, checked (``table_file``) and read; Refused if unreadable."""
    path = table_file(root, folder, name)
    if path is None:
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise Refused(f"{name}: cannot be read as a table ({type(error).__name__})") from None


def experiments(root: Path) -> list[str]:
    """Folders under ``root`` (relative names, "" for the root) holding an indices.csv or a
    sweep.csv the explorer would read: at most LISTED, SEARCH_DEPTH levels down, symbolic
    links to folders not followed."""
    found = []
    for place, folders, files in os.walk(root):
        here = Path(place)
        depth = len(here.relative_to(root).parts)
        folders[:] = sorted(name for name in folders if name != "runs" and depth < SEARCH_DEPTH)
        if any(name in files and readable_file(root, here, name) for name in TABLES):
            found.append("" if here == root else str(here.relative_to(root)))
            if len(found) >= LISTED:
                break
    return sorted(found)


def sweep_paths(sweep: pd.DataFrame) -> list[str]:
    """The varied parameters of a sweep table: its dotted-path columns."""
    return [column for column in sweep.columns if "." in column]


@solara.component
def Explorer():
    solara.Title("Sensitivity explorer")
    use_job(screen)
    root = results_root()
    found = solara.use_memo(
        lambda: experiments(root) if root.is_dir() else [],
        dependencies=[str(root), refreshed.value],
    )
    options = [name or "." for name in found]
    picked = folder.value.strip().rstrip("/") or "."
    with solara.Card("Load a stored experiment (from tasim sensitivity or tasim sweep)"):
        solara.Text(f"Experiments are read from the results root, {root}.")
        with solara.Row():
            solara.Select(
                "Experiments found there",
                values=options,
                value=picked if picked in options else None,
                on_value=lambda name: folder.set("" if name in (None, ".") else name),
            )
            solara.Button(
                "Look again", on_click=lambda: refreshed.set(refreshed.value + 1), text=True
            )
        solara.InputText("Folder (relative to the results root)", value=folder)
    with solara.Card("Or screen the parameters now (Morris, on the baseline)"):
        solara.Text(
            f"{TRAJECTORIES} Morris trajectories over the {len(sa.DEFAULT_PARAMETERS)} default "
            f"parameters, one replicate each ({TRAJECTORIES * (len(sa.DEFAULT_PARAMETERS) + 1)} "
            "runs, under a minute): which parameters matter for the output you pick. Use "
            "`tasim sensitivity` for more trajectories, replicates or Sobol indices."
        )
        solara.Select(
            "Output to explain",
            values=[measure_words(name) for name in SCREENED],
            value=measure_words(screened.value),
            on_value=lambda words: screened.set(
                next(name for name in SCREENED if measure_words(name) == words)
            ),
        )
        job_controls(
            screen,
            start=lambda: screen.start(screened.value),
            idle="Screen the parameters",
            busy="Screening",
        )
    job_outcome(
        screen,
        failed="The screening could not run",
        stopped="The screening was stopped before it finished.",
    )

    def show_screening():
        """Once a screening finishes, show it (and list it); the folder stays the user's to
        change afterwards."""
        if screen.result is not None:
            folder.set(screen.result)
            refreshed.set(refreshed.value + 1)

    solara.use_effect(show_screening, [screen.result])
    Shown(root, found)


@solara.component
def Shown(root: Path, found: list[str]):
    if not root.is_dir():
        solara.Info(
            f"There is no results root at {root} yet: run `tasim sweep ... --out {root}/NAME` or "
            f"`tasim sensitivity --out {root}/NAME`, or serve the dashboard with "
            "`tasim dashboard --results-root DIR`."
        )
        return
    try:
        path = inside(root, folder.value)
        indices = read_table(root, path, "indices.csv")
        sweep = None if indices is not None else read_table(root, path, "sweep.csv")
        convergence = read_table(root, path, "convergence.csv") if indices is not None else None
        explained = explained_output(root, path) if indices is not None else None
    except Refused as refusal:
        solara.Warning(f"Not read: {refusal}")
        return
    try:
        if indices is not None:
            Indices(indices, convergence, explained)
        elif sweep is not None:
            Sweep(sweep)
        elif found:
            solara.Info(
                f"No indices.csv or sweep.csv in {path}: pick one of the {len(found)} "
                "experiments found above."
            )
        else:
            solara.Info(
                f"No experiments under {root} yet: run `tasim sensitivity --out {root}/NAME` or "
                f"`tasim sweep ... --out {root}/NAME`, then press Look again."
            )
    except Refused as refusal:
        solara.Warning(f"Not read: {refusal}")


def explained_output(root: Path, folder: Path) -> str | None:
    """The output an analysis explains, from its manifest's settings; None if it says none."""
    path = table_file(root, folder, "manifest.json")
    try:
        settings = json.loads(path.read_text()).get("settings", {}) if path else {}
    except (OSError, ValueError, AttributeError):
        return None
    output = settings.get("output") if isinstance(settings, dict) else None
    return output if isinstance(output, str) else None


def Indices(indices: pd.DataFrame, convergence: pd.DataFrame | None, explained: str | None):
    method = "sobol" if "ST" in indices else "morris"
    what = measure_words(explained) if explained else "the output (its manifest does not say)"
    name = "Sobol" if method == "sobol" else "Morris"
    try:
        figure = sa.plot_indices(indices, method, f"What drives {what}: {name} indices")
        plane = (
            sa.plot_morris_plane(indices, f"{name}: importance against interaction, {what}")
            if method == "morris"
            else None
        )
        shown = sa.ranked(indices, method)
    except (KeyError, ValueError, TypeError):
        raise Refused("indices.csv: not a table of sensitivity indices") from None
    solara.HTML(tag="h3", unsafe_innerHTML=f"What drives {escape(what)}")
    columns = ("S1", "ST") if method == "sobol" else ("mu_star", "sigma")
    solara.HTML(
        tag="ul",
        unsafe_innerHTML="".join(f"<li>{sa.INDEX_WORDS[column]}.</li>" for column in columns),
    )
    solara.Image(figure_png(figure))
    if plane is not None:
        solara.Image(figure_png(plane))
    solara.DataFrame(readable(shown).rename(columns=INDEX_COLUMNS))
    if convergence is not None:
        solara.Text("Convergence: total-order indices from the whole design and its first half.")
        solara.DataFrame(readable(convergence))


def Sweep(sweep: pd.DataFrame) -> None:
    paths = sweep_paths(sweep)
    measures = [name for name in SWEEP_MEASURES if name in sweep]
    if not paths or not measures:
        raise Refused("sweep.csv: no varied parameter or no measure in it")
    shown = measure.value if measure.value in measures else measures[0]
    try:
        figure = plot_sweep_cells(sweep, paths, shown)
    except (KeyError, ValueError, TypeError):
        raise Refused("sweep.csv: not a table of a sweep") from None
    solara.ToggleButtonsSingle(value=shown, values=measures, on_value=measure.set)
    solara.Image(figure_png(figure))
    solara.DataFrame(readable(sweep))
