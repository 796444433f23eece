"""The what-if, dose-response and sensitivity pages (issue 17): the scenario you pick is the
scenario you get, and no page runs away.

Jobs start once however often Run is pressed and stop when their page goes; inputs that would
run for nothing are refused with a message, never a traceback; the explorer reads only under
its results root; sweep cells are the points run; a scenario keeps its colour and the reference
is drawn on top. The browser tests serve the app with its own temporary folder (TMPDIR), where
the pages keep a job's runs while it works, so the runs a job makes can be counted from here.
"""

import io
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from playwright.sync_api import expect
from typer.testing import CliRunner

from dashboards.about import READ_IN_PLACE, SUMMARY, markdown_html
from dashboards.browser import dashboard_server, headless_chromium, open_page
from dashboards.explorer import RESULTS_ROOT, Refused, experiments, inside, read_table
from dashboards.jobs import Job
from dashboards.levers import LEVERS, shown_value
from dashboards.tables import readable
from dashboards.whatif import (
    Comparison,
    card_html,
    differences_from,
    problem,
    scheduled_changes,
    with_settings,
)
from experiments.analysis import BAND_MEASURES, bands
from experiments.figures import (
    PANELS,
    STAGE_NAMES,
    plot_bands,
    plot_sweep_cells,
    scenario_colour,
    sweep_cells,
)
from sim import TransformationModel, list_scenarios, load_scenario
from sim.params import Scenario

# ------------------------------------------------------------------ plain Python


def wait_until(condition, seconds: float = 20.0, every: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def test_a_job_starts_once_while_it_runs_and_stops_between_runs_when_cancelled():
    started, reported = [], []

    def work(runs, report):
        started.append(runs)
        for done in range(1, runs + 1):
            time.sleep(0.02)
            reported.append(done)
            report(done, runs)
        return runs

    job = Job(work)
    assert job.start(200) and not job.start(200) and not job.start(200)
    assert wait_until(lambda: len(reported) >= 3)
    job.cancel()
    assert wait_until(lambda: not job.running)
    stopped_at = len(reported)
    time.sleep(0.3)
    assert started == [200] and len(reported) == stopped_at < 200
    assert job.result is None and job.task.cancelled
    assert not job.start(3, problem="not like this") and job.message.value == "not like this"
    assert job.start(3) and wait_until(lambda: job.result == 3) and job.message.value == ""


def test_a_horizon_before_a_scenarios_first_change_is_refused_naming_it():
    short = problem(Comparison(("baseline", "hands_on", "coordinated"), 4, 12, False))
    assert "hands_on" in short and "month 24" in short and "at least 36 months" in short
    assert "coordinated" not in short and "baseline" not in short  # nothing scheduled there
    both = problem(Comparison(("baseline", "withdraw_at_24", "mandate_year3"), 4, 24, False))
    assert "withdraw_at_24" in both and "mandate_year3 (first change at month 36" in both
    assert "all TA is withdrawn" in both and "at least 48 months" in both
    assert problem(Comparison(("baseline", "hands_on"), 4, 36, False)) is None
    assert problem(Comparison(("baseline", "mandate_year3"), 4, 48, False)) is None


def test_too_few_or_too_many_scenarios_is_a_sentence_not_an_exception():
    names = tuple(list_scenarios())
    assert "now 1" in problem(Comparison(names[:1], 4, 120, False))
    assert "now 5" in problem(Comparison(names[:5], 4, 120, False))
    assert problem(Comparison(names[:4], 4, 120, False)) is None


def grid_sweep(xs=(1, 5, 9), ys=(10, 20)) -> pd.DataFrame:
    rows = [
        {
            "point": index,
            "a.x": x,
            "b.y": y,
            "final_adoption": x * y / 1000,
            "time_to_50pct_adoption": np.nan if x == 1 else 100 - x - y,
        }
        for index, (x, y) in enumerate((x, y) for x in xs for y in ys)
    ]
    return pd.DataFrame(rows)


def test_a_sweep_heatmap_has_one_labelled_cell_per_grid_point_run():
    sweep = grid_sweep()
    cells = sweep_cells(sweep, "a.x", "b.y", "final_adoption")
    assert list(cells.columns) == [1, 5, 9] and list(cells.index) == [10, 20]
    assert cells.loc[20, 5] == pytest.approx(0.1)
    axis = plot_sweep_cells(sweep, ["a.x", "b.y"], "time_to_50pct_adoption").axes[0]
    (image,) = axis.images
    assert image.get_array().shape == (2, 3)
    # cells centred on positions 0, 1, 2: not stretched over the values 1 to 9 as bands
    assert list(image.get_extent()) == [-0.5, 2.5, -0.5, 1.5]
    assert [label.get_text() for label in axis.get_xticklabels()] == ["1", "5", "9"]
    assert [label.get_text() for label in axis.get_yticklabels()] == ["10", "20"]
    texts = [text.get_text() for text in axis.texts]
    # row by row from y = 10: time to 50 % is 100 - x - y, never reached at x = 1
    assert texts == ["not reached", "85", "81", "not reached", "75", "71"]


def test_a_sweep_that_is_no_grid_is_drawn_as_its_points_not_as_cells():
    sweep = pd.DataFrame(
        {"a.x": [1.0, 2.5, 4.0], "b.y": [7.0, 3.0, 5.0], "final_adoption": [0.1, 0.2, 0.3]}
    )
    assert sweep_cells(sweep, "a.x", "b.y", "final_adoption") is None
    axis = plot_sweep_cells(sweep, ["a.x", "b.y"], "final_adoption").axes[0]
    assert not axis.images and len(axis.collections[0].get_offsets()) == 3


def test_tables_say_not_reached_in_words_never_nan():
    shown = readable(grid_sweep().assign(cost_per_unit=[np.inf, np.nan, 1.5, 2, 3, 4]))
    assert list(shown["time_to_50pct_adoption"][:2]) == ["not reached", "not reached"]
    assert list(shown["cost_per_unit"][:2]) == ["n/a", "n/a"]
    assert "nan" not in shown.to_string().lower() and "inf" not in shown.to_string().lower()


def banded(arms: list[str]) -> pd.DataFrame:
    months = np.arange(1, 13)
    table = pd.concat(
        pd.DataFrame(
            {"arm": arm, "month": months, **{column: months * 0.0 for column in BAND_MEASURES}}
        )
        for arm in arms
    )
    return bands(table, "arm", BAND_MEASURES)


def drawn(figure) -> tuple[dict, list]:
    """The first panel's lines by label and its bands."""
    axis = figure.axes[0]
    return {line.get_label(): line for line in axis.get_lines()}, list(axis.collections)


def test_a_scenario_keeps_its_colour_and_the_reference_is_drawn_on_top():
    shipped = list_scenarios()
    assert len({scenario_colour(name) for name in shipped}) == len(shipped)
    assert scenario_colour("my_file.toml") == scenario_colour("my_file.toml")
    # the arms arrive in another order each time (run ids order a stored table)
    first = drawn(
        plot_bands(banded(["hands_on", "baseline"]), "baseline", ["baseline", "hands_on"])
    )
    second = drawn(
        plot_bands(
            banded(["coordinated", "hands_on", "withdraw_at_24"]),
            "withdraw_at_24",
            ["withdraw_at_24", "hands_on", "coordinated"],
        )
    )
    assert first[0]["hands_on"].get_color() == second[0]["hands_on"].get_color()
    assert first[0]["hands_on"].get_color() == scenario_colour("hands_on")
    assert first[0]["baseline (reference)"].get_color() == scenario_colour("baseline")
    for lines, bands_drawn in (first, second):
        (reference,) = [line for label, line in lines.items() if label.endswith("(reference)")]
        others = [line for line in lines.values() if line is not reference]
        assert reference.get_linestyle() == "--"
        # above every other line and every band, so nothing that overlaps it hides it
        assert all(reference.get_zorder() > item.get_zorder() for item in others + bands_drawn)


def test_what_if_trajectories_are_titled_in_words_with_units():
    figure = plot_bands(banded(["hands_on", "baseline"]), "baseline", ["baseline", "hands_on"])
    titles = [axis.get_title() for axis in figure.axes]
    assert titles[2] == "Avoidable admissions (per 1,000 a year)"
    assert all("(" in title and "_" not in title for title in titles)
    assert "90 % of simulated runs" in figure.get_suptitle()


def test_the_explorer_reads_nothing_outside_its_results_root(tmp_path):
    root, outside = tmp_path / "results", tmp_path / "elsewhere"
    (root / "study" / "sweep").mkdir(parents=True)
    outside.mkdir()
    grid_sweep().to_csv(root / "study" / "sweep" / "sweep.csv", index=False)
    grid_sweep().to_csv(outside / "sweep.csv", index=False)
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "linked").mkdir()
    (root / "linked" / "sweep.csv").symlink_to(outside / "sweep.csv")
    root = root.resolve()
    assert inside(root, "study/sweep") == root / "study" / "sweep"
    assert inside(root, str(root / "study")) == root / "study"  # absolute, but inside
    for typed, says in (
        ("../elsewhere", "'..' is not allowed"),
        ("study/../../elsewhere", "'..' is not allowed"),
        (str(outside), "outside the results root"),
        ("out", "outside the results root"),  # a link out
    ):
        with pytest.raises(Refused, match=re.escape(says)):
            inside(root, typed)
    with pytest.raises(Refused, match="a link out of the results root"):
        read_table(root, inside(root, "linked"), "sweep.csv")
    assert read_table(root, inside(root, "study/sweep"), "sweep.csv") is not None
    assert experiments(root) == ["study/sweep"]  # links are not followed


# ------------------------------------------------------------------ in a real browser


class Server:
    def __init__(self, url: str, scratch: Path, root: Path, log: Path):
        self.url, self.scratch, self.root, self.log = url, scratch, root, log

    def stores(self, page: str = "") -> list[Path]:
        """The folders in which a job of ``page`` (any page) keeps its runs while it works."""
        return sorted(self.scratch.glob(f"tasim-{page}*"))

    def run_files(self) -> int:
        return sum(len(list((store / "runs").glob("*.parquet"))) for store in self.stores())

    def tracebacks(self) -> str:
        """The server's output from its first traceback on ("" if it wrote none)."""
        output = self.log.read_text(errors="replace")
        return output[output.index("Traceback") :][:3000] if "Traceback" in output else ""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    scratch, root = folder / "scratch", folder / "results"
    scratch.mkdir()
    root.mkdir()
    environment = {"TMPDIR": str(scratch), RESULTS_ROOT: str(root)}
    with dashboard_server(environment=environment, log=folder / "server.log") as url:
        yield Server(url, scratch, root, folder / "server.log")


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture
def idle(server):
    """No job of an earlier test is still working when a test starts, or after it ends."""
    assert wait_until(lambda: not server.stores(), 30)
    yield server
    assert wait_until(lambda: not server.stores(), 30), "a job kept running after its test"
    assert server.tracebacks() == ""


def open_at(browser, server: Server, path: str, button: str):
    page, errors = open_page(browser, server.url + path)
    page.get_by_role("button", name=button).wait_for(timeout=60_000)
    return page, errors


def slide(page, name: str, key: str) -> None:
    """Move a slider to its end ("End") or start ("Home") from the keyboard."""
    slider = page.get_by_role("slider", name=name)
    slider.focus()
    slider.press(key)
    page.get_by_text(re.compile(name)).first.wait_for()


def test_a_double_click_on_run_comparison_runs_one_comparison(idle, browser):
    page, errors = open_at(browser, idle, "/what-if", "Run comparison")
    slide(page, "Replicates", "End")  # 40 replicates of 2 scenarios: long enough to see
    page.get_by_text("Replicates: 40").wait_for(timeout=10_000)
    page.get_by_role("button", name="Run comparison").dblclick()
    running = page.get_by_role("button", name=re.compile(r"Running comparison: \d+ %"))
    running.wait_for(timeout=10_000)
    assert running.is_disabled()
    assert wait_until(lambda: idle.run_files() >= 3)
    time.sleep(1.0)
    assert len(idle.stores("what-if")) == 1  # the second click started nothing
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("The comparison was stopped before it finished.").wait_for(timeout=10_000)
    assert page.get_by_role("button", name="Run comparison").is_enabled()
    assert errors == []
    page.close()


def test_a_double_click_on_draw_the_curves_draws_them_once(idle, browser):
    page, errors = open_at(browser, idle, "/dose-response", "Draw the curves")
    slide(page, "Replicates", "End")
    page.get_by_text("Replicates: 10").wait_for(timeout=10_000)
    page.get_by_role("button", name="Draw the curves").dblclick()
    page.get_by_role("button", name=re.compile("Drawing the curves")).wait_for(timeout=10_000)
    assert wait_until(lambda: idle.run_files() >= 3)
    time.sleep(1.0)
    assert len(idle.stores("dose-response")) == 1
    page.get_by_role("button", name="Stop").click()
    assert errors == []
    page.close()


def new_runs_after(server: Server, seconds: float) -> int:
    before = server.run_files()
    time.sleep(seconds)
    return server.run_files() - before if server.stores() else 0


@pytest.mark.parametrize("leave", ["reload", "another page"])
def test_leaving_the_page_mid_run_stops_its_job(idle, browser, leave):
    page, errors = open_at(browser, idle, "/what-if", "Run comparison")
    slide(page, "Replicates", "End")
    page.get_by_text("Replicates: 40").wait_for(timeout=10_000)
    page.get_by_role("button", name="Run comparison").click()
    assert wait_until(lambda: idle.run_files() >= 3)
    if leave == "reload":
        page.reload()
    else:
        page.get_by_role("tab", name="Sensitivity").click()
        page.get_by_text("Experiments are read from the results root").wait_for(timeout=10_000)
    assert wait_until(lambda: not idle.stores(), 10), "the old job kept running"
    assert new_runs_after(idle, 3.0) == 0 and not idle.stores()
    assert errors == []
    page.close()


def test_a_horizon_too_short_for_a_scenario_says_so_and_starts_nothing(idle, browser):
    page, errors = open_at(browser, idle, "/what-if", "Run comparison")  # baseline, hands_on
    slide(page, "Months", "Home")
    page.get_by_text("Months: 12").wait_for(timeout=10_000)
    page.get_by_role("button", name="Run comparison").click()
    message = page.get_by_text(re.compile("A 12-month run is too short for hands_on"))
    message.wait_for(timeout=10_000)
    assert "first change comes at month 24" in message.inner_text()
    assert "Choose at least 36 months" in message.inner_text()
    time.sleep(2.0)
    assert idle.stores() == [] and page.get_by_role("button", name="Run comparison").is_enabled()
    assert errors == []
    page.close()


def test_the_explorer_shows_grid_cells_and_refuses_paths_outside_its_root(idle, browser):
    study = idle.root / "budget-by-dose"
    study.mkdir()
    grid_sweep().to_csv(study / "sweep.csv", index=False)
    outside = idle.root.parent / "private"
    outside.mkdir()
    grid_sweep().rename(columns={"a.x": "secret.value"}).to_csv(outside / "sweep.csv")
    (idle.root / "shortcut").symlink_to(outside, target_is_directory=True)
    page, errors = open_page(browser, idle.url + "/sensitivity")
    page.get_by_text("Experiments found there").click(timeout=60_000)
    page.get_by_role("option", name="budget-by-dose").click()  # listed: picked, not typed
    box = page.get_by_label("Folder (relative to the results root)")
    expect(box).to_have_value("budget-by-dose", timeout=10_000)
    page.get_by_role("button", name="time_to_50pct_adoption").click(timeout=10_000)
    page.wait_for_timeout(1000)
    body = page.inner_text("body")
    assert "not reached" in body and not re.search(r"\bnan\b", body, re.IGNORECASE)
    assert page.locator("img").count() >= 1
    for typed, says in (
        ("../private", "'..' is not allowed"),
        (str(outside), "outside the results root"),
        ("shortcut", "outside the results root"),
    ):
        box.fill(typed)
        box.press("Enter")
        page.get_by_text(says).wait_for(timeout=10_000)
        assert "secret.value" not in page.inner_text("body")
    assert errors == []
    page.close()


def test_the_explorer_screens_the_parameters_in_the_background_and_shows_what_drives_it(
    idle, browser
):
    page, errors = open_page(browser, idle.url + "/sensitivity")
    page.get_by_role("button", name="Screen the parameters").click(timeout=60_000)
    page.get_by_text("Screening:").first.wait_for(timeout=30_000)  # its progress, in percent
    page.get_by_text("What drives adoption at the end").wait_for(timeout=300_000)
    body = page.inner_text("body")
    assert "mu* (Morris)" in body and "sigma (Morris)" in body
    assert page.locator("img").count() >= 2  # the ranked bars and the mu*-sigma plane
    assert list(idle.root.glob("dashboard-morris-final_adoption-*/indices.csv"))
    assert errors == []
    page.close()


def test_tasim_dashboard_serves_the_results_root_it_is_given(tmp_path, monkeypatch):
    import tasim.commands.dashboard as command
    from tasim.cli import app

    served_with = {}
    monkeypatch.setattr(
        command.subprocess, "call", lambda args, cwd, env: served_with.update(env) or 0
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(RESULTS_ROOT, raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["dashboard", "--results-root", "mine"]).exit_code == 0
    assert served_with[RESULTS_ROOT] == str(tmp_path.resolve() / "mine")
    assert runner.invoke(app, ["dashboard"]).exit_code == 0  # results/ where it is started
    assert served_with[RESULTS_ROOT] == str(tmp_path.resolve() / "results")
    (tmp_path / "file").write_text("")
    refused = runner.invoke(app, ["dashboard", "--results-root", "file"])
    assert refused.exit_code == 2 and "--results-root file: is a file, not a folder" in (
        refused.output
    )


def test_a_scenario_card_says_what_differs_from_the_baseline_and_what_comes_later():
    baseline = load_scenario("baseline")
    assert differences_from(load_scenario("withdraw_at_24"), baseline) == [
        "TA withdrawal: month 24 (baseline: never)"
    ]
    assert differences_from(load_scenario("coordinated"), baseline) == [
        "provider coordination: on (baseline: off)"
    ]
    card = card_html("hands_on")
    assert "adds the team coaching provider group" in card
    assert "month 24: the team coaching group" in card and "$160,000 a month" in card
    for name in list_scenarios():  # every shipped card in words: no dotted path, no raw float
        text = card_html(name)
        assert not re.search(r"[a-z]+\.[a-z_]+\.", text) and not re.search(r"\d\.\d{6}", text)


def test_levers_write_their_values_and_what_a_chosen_option_means():
    assert shown_value("funder__budget_per_month", LEVERS["funder__budget_per_month"], 1e6) == (
        "1,000,000"
    )
    assert shown_value("funder__dosage_hours", LEVERS["funder__dosage_hours"], 3.5) == "3.5"
    assert shown_value("funder__policy", LEVERS["funder__policy"], "need") == (
        "TA offered to all, lowest capacity first"
    )
    assert "graduates on reaching sustaining" in shown_value(
        "funder__graduation", LEVERS["funder__graduation"], "organization"
    )
    assert shown_value("funder__coordinated", LEVERS["funder__coordinated"], True) is None


def test_the_about_page_explains_how_to_use_it_and_opens_the_model_description():
    for heading in ("How to use this dashboard", "Glossary", "90 % band", "ICER"):
        assert heading in SUMMARY
    model = markdown_html((Path("docs") / READ_IN_PLACE[0][1]).read_text())
    assert "<table>" in model and "Rule 14" in model


def test_what_if_downloads_carry_their_settings_and_versions():
    asked = Comparison(("baseline", "hands_on"), 8, 120, True)
    frame = pd.read_csv(io.StringIO(with_settings(pd.DataFrame({"arm": ["hands_on"]}), asked)))
    row = frame.iloc[0]
    assert (row["reference"], row["replicates"], row["months"]) == ("baseline", 8, 120)
    assert bool(row["parameter_uncertainty"]) and row["scenarios"] == "baseline hands_on"
    assert len(str(row["model_version"])) == 16 and row["code_version"]


def test_trajectory_panels_at_month_0_start_from_0_with_units_and_stages_in_words():
    model = TransformationModel(load_scenario("baseline", {"system.n_teams": 5}), rng=1)
    system = model.system_frame()  # month 0 only
    for panel in PANELS:
        axis = Figure().subplots()
        panel(axis, system)
        assert axis.get_xlim() == (0.0, 12.0) and axis.get_ylabel()
    axis = Figure().subplots()
    PANELS[2](axis, system)  # TA hours and budget: amounts, from 0
    assert axis.get_ylim()[0] == 0
    stages = Figure().subplots()
    PANELS[0](stages, system)
    assert [text.get_text() for text in stages.get_legend().get_texts()] == list(STAGE_NAMES)


def test_a_card_words_a_list_setting_and_an_event_that_sets_a_whole_section():
    base = load_scenario("baseline")
    weighted = load_scenario("baseline", {"mechanisms.readiness_weights": [1.0, 1.0, 2.0]})
    (said,) = differences_from(weighted, base)
    assert said.endswith(": 1, 1, 2 (baseline: 1, 1, 1)")
    data = base.model_dump()
    pandemic = data["shocks"]["pandemic"] | {"enabled": False}
    data["events"] = [{"month": 24, "set": {"shocks.pandemic": pandemic}}]
    sectioned = Scenario.model_validate(data)
    assert scheduled_changes(sectioned) == [(24, "the shocks pandemic settings change")]
