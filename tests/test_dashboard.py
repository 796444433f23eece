"""Dashboard: levers inside allowed ranges, components render, the app works in a real browser."""

import ipyvuetify as v
import ipywidgets
import pandas as pd
import pytest
import solara
import solara.widgets
from mesa.experimental.scenarios import Scenario as MesaScenario
from mesa.visualization.solara_viz import _build_model_init_kwargs
from mesa.visualization.utils import force_update

from dashboards.browser import dashboard_server, headless_chromium, open_page
from dashboards.levers import LEVERS, DashboardModel, lever_values, scenario_levers
from dashboards.live import LiveModel, Status, SystemView, panel_component
from sim import load_scenario, parameter_info, paths


def test_every_slider_stays_inside_the_parameters_allowed_range():
    baseline = load_scenario("baseline")
    for key, widget in LEVERS.items():
        if paths.KEYWORD_SEPARATOR not in key or not hasattr(widget, "min"):
            continue
        info = parameter_info(baseline, paths.from_keyword(key))
        assert info.low <= widget.min <= widget.value <= widget.max <= info.high, key


def test_dashboard_model_applies_levers_as_its_mesa_scenario():
    model = DashboardModel(
        scenario_name="hands_on", rng="4", provider_role="doer", funder__dosage_hours=9.0
    )
    assert isinstance(model.scenario, MesaScenario)  # Mesa's convention, which SolaraViz checks
    assert model.scenario.name == "hands_on" and model.scenario.funder.dosage_hours == 9.0
    assert {group.role for group in model.scenario.providers} == {
        "doer"
    } and model.input_error is None


def test_solaraviz_resets_the_model_from_the_levers_alone():
    """SolaraViz's Reset passes the lever values and no scenario of its own (Mesa 3.5)."""
    model = DashboardModel()
    levers = lever_values(scenario_levers("coordinated")) | {"funder__budget_per_month": 70_000.0}
    kwargs = _build_model_init_kwargs(
        model, levers, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    assert "scenario" not in kwargs
    reset = DashboardModel(**kwargs)
    assert reset.scenario.name == "coordinated"
    assert reset.scenario.funder.budget_per_month == 70_000.0


def test_an_invalid_combination_shows_a_message_not_a_traceback():
    model = DashboardModel(funder__budget_per_month=-1.0)
    assert "funder.budget_per_month" in model.input_error
    _, rc = solara.render(Status(model), handle_error=False)
    assert "not allowed" in rc.find(v.Alert).widget.children[0]


def test_components_render_and_follow_the_model():
    model = DashboardModel(system__n_teams=8)
    _, rc = solara.render(Status(model), handle_error=False)
    assert "month <b>0</b>" in rc.find(solara.widgets.HTML).widget.unsafe_innerHTML
    for _ in range(30):
        model.step()
    _, rc = solara.render(Status(model), handle_error=False)
    assert "month <b>30</b>" in rc.find(solara.widgets.HTML).widget.unsafe_innerHTML
    solara.render(SystemView(model), handle_error=False)
    solara.render(LiveModel(), handle_error=False)


def test_figures_are_drawn_once_per_month_not_on_every_render():
    months_drawn = []
    Panel = panel_component(lambda axis, system: months_drawn.append(len(system)))
    model = DashboardModel(system__n_teams=8)
    _, rc = solara.render(Panel(model), handle_error=False)
    force_update()  # a re-render that is no step, as after a theme or layout change
    model.step()
    force_update()
    rc.close()
    assert months_drawn == [1, 2]


@pytest.fixture(scope="module")
def server():
    with dashboard_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as chromium:
        yield chromium


def test_live_page_applies_a_moved_lever_and_steps_in_a_real_browser(server, browser):
    page, errors = open_page(browser, server + "/")
    page.wait_for_function("document.body.innerText.includes('month 0 of 120')", timeout=60_000)
    assert page.locator("img").count() >= 2  # the stage view and the trajectories
    assert page.locator("#budget").inner_text() == "$60,000"
    budget = page.get_by_role("slider", name="TA budget ($/month)")
    budget.focus()
    budget.press("ArrowRight")
    budget.press("ArrowRight")
    assert budget.get_attribute("aria-valuenow") == "70000"
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "document.getElementById('budget').innerText == '$70,000'", timeout=30_000
    )
    trajectory = page.locator("img").nth(1).get_attribute("src")
    for month in range(1, 11):  # the first cohort is approved, and TA starts, at month 10
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(
            f"document.body.innerText.includes('month {month} of 120')", timeout=30_000
        )
    assert page.locator("#ta-hours").inner_text() != "0"
    assert 0 < float(page.locator("#spent").inner_text().strip("$").replace(",", "")) <= 70_000
    assert page.locator("img").nth(1).get_attribute("src") != trajectory
    assert errors == []


def test_on_a_phone_the_sidebar_leaves_the_page_in_sight_and_a_tap_beside_it_closes_it(
    server, browser
):
    page, errors = open_page(browser, server + "/", (390, 844))
    page.wait_for_function("document.body.innerText.includes('month 0 of 120')", timeout=60_000)
    drawer = page.locator(".v-navigation-drawer").bounding_box()
    assert drawer["width"] <= 0.86 * 390
    page.mouse.click(380, 600)  # on the page beside the sidebar
    page.wait_for_function(
        "document.querySelector('.v-navigation-drawer').getBoundingClientRect().right <= 1",
        timeout=10_000,
    )
    page.get_by_role("tab", name="What-if").click()
    page.get_by_text("Compare scenarios").wait_for(timeout=30_000)
    assert errors == []


def test_at_1024_px_the_live_charts_are_one_to_a_row_and_wide(server, browser):
    page, errors = open_page(browser, server + "/", (1024, 768))
    page.wait_for_function("document.body.innerText.includes('month 0 of 120')", timeout=60_000)
    page.locator("img").nth(1).wait_for(timeout=30_000)
    widths = [page.locator("img").nth(i).bounding_box()["width"] for i in range(2)]
    assert min(widths) >= 500  # beside the sidebar, two to a row left them 285 px
    assert errors == []


def test_about_page_renders_in_a_real_browser(server, browser):
    page, errors = open_page(browser, server + "/about")
    page.get_by_text("How strong is the evidence?").wait_for(timeout=60_000)
    assert "withdraw_at_24" in page.inner_text("body") and "Glossary" in page.inner_text("body")
    page.get_by_text("The model description (ODD protocol").click()
    page.get_by_text("Rule 14. Outcomes").wait_for(timeout=30_000)
    # the tabs say what each page is, the first "Live model" rather than Solara's "Home"
    assert page.get_by_role("tab", name="Live model").count() == 1
    assert errors == []


def test_what_if_comparison_under_the_calibrated_posterior_completes_in_a_real_browser(
    server, browser
):
    page, errors = open_page(browser, server + "/what-if")
    # a card per chosen scenario says what it changes, before anything runs
    page.get_by_text("Differs from the baseline:").wait_for(timeout=60_000)
    assert "month 24: the team coaching group" in page.inner_text("body")
    page.get_by_text(
        "Include parameter uncertainty"
    ).click()  # a Vuetify checkbox toggles on its label
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_text("Download differences (CSV)").wait_for(timeout=180_000)
    body = page.inner_text("body")
    # the summary in words comes first, then the figures and the table, all in plain words
    summary = page.get_by_text("hands_on against baseline: adoption")
    assert summary.count() == 1 and "per avoided admission" in summary.inner_text()
    assert body.index("In short") < body.index("Adoption at the end (percentage points)")
    assert "each at its own posterior draw" in body and page.locator("img").count() >= 2
    for raw in ("final_adoption", "cost_per_unit", "nan", "NaN"):
        assert raw not in body
    assert errors == []


def test_dose_response_page_draws_curves_and_explains_them(server, browser):
    page, errors = open_page(browser, server + "/dose-response")
    for title in (
        "Saturation",
        "Readiness gating",
        "Minimum effective dose",
        "Overload",
        "Dependence",
    ):
        page.get_by_text(title, exact=True).first.wait_for(timeout=60_000)
    body = page.inner_text("body")
    assert body.count("What to look for.") == 5 and body.count("Evidence.") == 5
    assert "Readiness groups:" in body and "months after TA is withdrawn" in body
    assert page.get_by_role("slider", name="Hill exponent").count() == 1
    page.get_by_role("button", name="Draw the curves").click()
    page.locator("img").first.wait_for(timeout=180_000)
    assert errors == []


def test_sensitivity_explorer_loads_a_stored_experiment(tmp_path, monkeypatch):
    from dashboards.explorer import RESULTS_ROOT, Explorer, folder

    monkeypatch.setenv(RESULTS_ROOT, str(tmp_path))  # the explorer reads under its results root
    pd.DataFrame(
        {
            "parameter": ["a.b", "c.d"],
            "mu_star": [0.3, 0.1],
            "mu_star_conf": [0.05, 0.02],
            "sigma": [0.2, 0.1],
        }
    ).to_csv(tmp_path / "indices.csv", index=False)
    (tmp_path / "manifest.json").write_text('{"settings": {"output": "final_adoption"}}')
    folder.set("")  # the results root itself
    _, rc = solara.render(Explorer(), handle_error=False)
    rc.find(v.Alert).assert_empty()  # indices found: a chart and a table, no "nothing here" message
    # it says what the indices explain and what they mean, and draws Morris's mu*-sigma plane
    rc.find(solara.widgets.HTML, unsafe_innerHTML="What drives adoption at the end").assert_single()
    assert len(rc.find(ipywidgets.Image)) == 2
    folder.set("empty")
    _, rc = solara.render(Explorer(), handle_error=False)
    assert "No indices.csv" in rc.find(v.Alert).widget.children[0]
