"""The live page runs the scenario you pick, keeps the levers you move, and stops when it should.

Issue 17: a lever left where it was overwrote the setting that defines the picked scenario; the
model never stopped (month 228 of 120); a closed tab kept a core busy for minutes.
"""

import gc
import importlib
import socket
import subprocess
import threading
import time
import weakref

import ipyvuetify as v
import ipywidgets
import pytest
import solara
import solara.comm

import dashboards.live as live
from dashboards.browser import (
    REPOSITORY,
    free_port,
    headless_chromium,
    open_page,
    serve_command,
    serve_environment,
)
from dashboards.levers import (
    DashboardModel,
    lever_notes,
    lever_values,
    scenario_levers,
    schedule_notes,
    shipped,
)
from sim import TransformationModel, list_scenarios, load_scenario, simulate

SMALL = {"system.n_teams": 5, "months": 12}


# ------------------------------------------------------------------ scenario and levers


@pytest.mark.parametrize("name", list_scenarios())
def test_a_picked_scenario_runs_as_shipped_when_no_lever_is_moved(name):
    model = DashboardModel(**lever_values(scenario_levers(name, seed=3)))
    assert model.changes == {} and model.input_error is None
    assert model.scenario.validated.model_dump() == shipped(name).model_dump()
    assert model.seed == 3 and lever_notes(model) == []


@pytest.mark.parametrize(
    ("name", "lever", "value"),
    [
        ("coordinated", "funder__coordinated", True),
        ("no_pandemic", "shocks__pandemic__enabled", False),
        ("withdraw_at_24", "funder__withdraw_month", 24),
        ("need_targeted", "funder__policy", "need"),
        ("readiness_targeted", "funder__policy", "readiness"),
        ("mandate_year3", "funder__policy", "mandated"),
        ("northern_boots_on_ground", "funder__budget_per_month", 90_000.0),
    ],
)
def test_the_levers_start_at_the_picked_scenarios_values(name, lever, value):
    assert lever_values(scenario_levers(name))[lever] == value


def test_only_a_moved_lever_overrides_and_the_page_says_what_a_scheduled_change_replaces():
    levers = lever_values(scenario_levers("hands_on")) | {"funder__budget_per_month": 100_000.0}
    model = DashboardModel(**levers)
    assert model.changes == {"funder.budget_per_month": 100_000.0}
    assert lever_notes(model) == ["TA budget: $100,000 a month (scenario: $60,000)"]
    (month_24,) = schedule_notes(model)
    assert month_24.month == 24
    assert month_24.text == (
        "Month 24: the team coaching group has 10 providers (was 0); dosage becomes 6 h per "
        "organization per month (was 3 h); TA budget becomes $160,000 a month (was $100,000)."
    )
    assert month_24.replaces == "From month 24 this overrides the TA budget you set."
    unmoved = DashboardModel(**lever_values(scenario_levers("hands_on")))
    assert schedule_notes(unmoved)[0].replaces == ""


def test_a_group_wide_role_changes_only_the_groups_that_have_another():
    assert DashboardModel(scenario_name="doer_heavy", provider_role="doer").changes == {}
    model = DashboardModel(scenario_name="baseline", provider_role="doer")
    assert model.changes == {"providers.0.role": "doer", "providers.1.role": "doer"}
    assert lever_notes(model) == [
        "Provider role: doer for every group (scenario: doer, facilitator and partner)"
    ]


def test_a_budget_cut_is_announced_with_its_month():
    (cut,) = schedule_notes(DashboardModel(scenario_name="budget_cut"))
    assert cut.text == "Month 48: TA budget becomes $30,000 a month (was $60,000)."


# ------------------------------------------------------------------ the horizon


def test_the_model_stops_running_after_its_last_month():
    model = TransformationModel(load_scenario("baseline", SMALL), rng=1)
    model.run_model()  # Mesa's loop: while running, step
    assert model.steps == 12 and not model.running
    assert len(simulate(load_scenario("baseline", SMALL), seed=1).system) == 13  # months 0-12
    longer = simulate(load_scenario("baseline", SMALL), seed=1, months=15)
    assert len(longer.system) == 16  # a caller asking for more months still gets them


def test_a_finished_dashboard_run_does_not_step_on():
    model = DashboardModel(system__n_teams=5, months=12)
    for _ in range(20):
        model.step()
    assert model.steps == 12 and not model.running


def playback(months: int = 1) -> live.Playback:
    return live.Playback(
        playing=solara.reactive(True),
        note=solara.reactive(""),
        interval=solara.reactive(1),
        months=solara.reactive(months),
    )


def test_the_play_loop_ends_at_the_horizon_whatever_the_months_per_render():
    model, state = DashboardModel(system__n_teams=5, months=12), playback(months=7)
    live.play(model, state, threading.Event(), session=None)
    assert model.steps == 12 and not state.playing.value


class FakeSession:
    """What ``play`` reads of a Solara session: whether it closed and its pages' status."""

    def __init__(self):
        self.closed_event = threading.Event()
        self.page_status = {"page": live_status("connected")}


def live_status(value: str):
    from solara.server.kernel_context import PageStatus

    return PageStatus(value)


def test_the_play_loop_pauses_soon_after_its_page_loses_its_connection(monkeypatch):
    monkeypatch.setattr(live, "DISCONNECT_GRACE", 0.05)
    model, state, session = DashboardModel(system__n_teams=5), playback(), FakeSession()
    session.page_status["page"] = live_status("disconnected")
    live.play(model, state, threading.Event(), session)
    assert not state.playing.value and "lost its connection" in state.note.value
    assert model.running and model.steps < 5


def test_leaving_the_page_stops_its_run_and_lets_its_model_go(monkeypatch):
    """Unmounting (what Solara does when a session closes) stops the play loop, and nothing
    keeps the model: Mesa's own controller kept it for the server's lifetime."""
    built = []

    class Recorded(DashboardModel):
        def __init__(self, **levers):
            super().__init__(**levers)
            built.append(weakref.ref(self))

    monkeypatch.setattr(live, "DashboardModel", Recorded)
    box, rc = solara.render(solara.AppLayout(children=[live.LiveModel()]), handle_error=False)
    rc.find(v.Btn, children=["▶"]).widget.click()
    deadline = time.time() + 20
    while built[0]().steps < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert built[0]().steps >= 2, "the run plays"
    rc.close()
    time.sleep(0.5)  # at most one more month, then the loop sees its stop
    steps = built[0]().steps
    time.sleep(1.0)
    assert built[0]().steps == steps, "the run stopped with its page"
    ipywidgets.Widget.close_all()  # as the server does when a session closes, and the
    solara.comm.orphan_comm_stacks.clear()  # debugging record of solara.render's widget comms
    del box, rc
    gc.collect()
    assert [ref() for ref in built] == [None] * len(built)


def test_a_session_left_without_a_close_is_culled_after_minutes_not_a_day(monkeypatch):
    import solara.server.settings as settings

    import dashboards.app

    monkeypatch.delenv("SOLARA_KERNEL_CULL_TIMEOUT", raising=False)
    monkeypatch.setattr(settings.kernel, "cull_timeout", "24h")  # Solara's default
    importlib.reload(dashboards.app)
    assert settings.kernel.cull_timeout == dashboards.app.RECONNECT_WINDOW == "5m"
    monkeypatch.setenv("SOLARA_KERNEL_CULL_TIMEOUT", "1h")
    monkeypatch.setattr(settings.kernel, "cull_timeout", "1h")
    importlib.reload(dashboards.app)
    assert settings.kernel.cull_timeout == "1h", "an operator's setting is kept"


# ------------------------------------------------------------------ in a real browser


@pytest.fixture(scope="module")
def server():
    """The dashboard on a free port, with its process id (to read its CPU time)."""
    port = free_port()
    process = subprocess.Popen(
        serve_command("127.0.0.1", port),
        cwd=REPOSITORY,
        env=serve_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline and process.poll() is None, "no dashboard server"
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as chromium:
        yield chromium


def live_page(browser, url: str):
    page, errors = open_page(browser, url + "/")
    page.wait_for_function("document.body.innerText.includes('month 0 of')", timeout=60_000)
    return page, errors


def pick(page, name: str) -> None:
    """Pick a scenario and wait until its run shows and its own sidebar has replaced the last
    one (the levers are drawn anew for it: a control of the old sidebar may still be on the
    page a moment after the run shows)."""
    page.locator(".v-select").filter(has_text="Scenario").first.click()
    page.get_by_role("option", name=name, exact=True).click()
    page.wait_for_function(
        f"document.getElementById('scenario')?.innerText == '{name}'", timeout=30_000
    )
    page.wait_for_function(
        "[...document.querySelectorAll('.v-select')].filter(s => s.innerText.includes("
        f"'Scenario')).length == 1 && document.querySelector('.v-select').innerText.includes("
        f"'{name}') && document.querySelectorAll('.lever-value').length > 0",
        timeout=30_000,
    )
    page.wait_for_timeout(500)


def reset(page) -> None:
    """Press Reset and wait until the model it builds shows."""
    run = page.locator("#scenario").get_attribute("data-run")
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        f"(document.getElementById('scenario')?.dataset.run ?? '{run}') != '{run}'",
        timeout=30_000,
    )


def month(page) -> int:
    return int(page.locator("#scenario + b").inner_text())


def playback_slider(page, name: str):
    """A slider under "Advanced playback", opening it first if it is closed."""
    slider = page.get_by_role("slider", name=name)
    if not slider.is_visible():
        page.get_by_text("Advanced playback").click()
    return slider


def play_until(page, last: int) -> None:
    playback_slider(page, "Pause between redraws (ms)").press("Home")  # as fast as it draws
    page.get_by_role("button", name="▶").click()
    page.wait_for_function(
        "parseInt(document.querySelector('#scenario + b').innerText) >= " + str(last),
        timeout=60_000,
    )
    page.get_by_role("button", name="❚❚").click()


@pytest.mark.parametrize(
    ("name", "setting"),
    [
        ("coordinated", "providers coordinated ·"),
        ("no_pandemic", "no pandemic"),
        ("need_targeted", "TA offered to all, lowest capacity first"),
        ("withdraw_at_24", "TA withdrawn at month 24"),
    ],
)
def test_the_picked_scenarios_defining_setting_reaches_the_model(server, browser, name, setting):
    url, _ = server
    page, errors = live_page(browser, url)
    pick(page, name)
    reset(page)  # Reset used to send every lever at the baseline's value
    assert setting in page.locator("#settings").inner_text()
    assert page.locator("#lever-notes").inner_text() == "Every lever is at the scenario's value."
    if name == "withdraw_at_24":
        play_until(page, 26)
        assert month(page) > 24 and page.locator("#ta-hours").inner_text() == "0"
        spent = page.locator("#spent").inner_text()
        assert spent == "$0", "no TA after the withdrawal"
    assert errors == []


def test_a_moved_lever_is_kept_shown_and_warned_of_and_a_pick_resets_it(server, browser):
    url, _ = server
    page, errors = live_page(browser, url)
    pick(page, "hands_on")
    budget = page.get_by_role("slider", name="TA budget ($/month)")
    budget.focus()
    for _ in range(8):
        budget.press("ArrowRight")
    assert budget.get_attribute("aria-valuenow") == "100000"
    # the value is written beside the slider, whole and with its thousands
    page.locator(".lever-value", has_text="100,000").wait_for(timeout=10_000)
    # the slider sends each key's value to the server on its own; under load the last ones can
    # still be on their way when Reset is pressed, so give them time to arrive
    page.wait_for_timeout(1500)
    reset(page)
    assert page.locator("#budget").inner_text() == "$100,000"
    notes = page.locator("#lever-notes").inner_text()
    assert "TA budget: $100,000 a month (scenario: $60,000)" in notes
    schedule = page.locator("#schedule").inner_text()
    assert "Month 24:" in schedule and "TA budget becomes $160,000 a month" in schedule
    assert "From month 24 this overrides the TA budget you set." in schedule
    pick(page, "northern_boots_on_ground")
    budget = page.get_by_role("slider", name="TA budget ($/month)")
    assert budget.get_attribute("aria-valuenow") == "90000"
    assert page.locator("#budget").inner_text() == "$90,000"
    assert page.locator("#lever-notes").inner_text() == "Every lever is at the scenario's value."
    assert errors == []


def test_playback_ends_at_the_horizon(server, browser):
    url, _ = server
    page, errors = live_page(browser, url)
    page.get_by_role("slider", name="Months to simulate").press("Home")  # 12 months
    page.get_by_role("slider", name="Teams (fewer: network view)").press("Home")
    render = playback_slider(page, "Redraw every (months)")
    render.press("End")
    for _ in range(93):
        render.press("ArrowLeft")  # 7 months a redraw: 12 is no multiple of it
    assert render.get_attribute("aria-valuenow") == "7"
    reset(page)
    playback_slider(page, "Pause between redraws (ms)").press("Home")
    page.get_by_role("button", name="▶").click()
    page.locator("#finished").wait_for(timeout=30_000)
    assert "month 12 of 12" in page.inner_text("body")
    page.wait_for_timeout(1500)
    assert month(page) == 12
    assert page.get_by_role("button", name="▶").is_disabled()
    assert page.get_by_role("button", name="Step").is_disabled()
    assert errors == []


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (/proc/<pid>/stat, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime; USER_HZ is 100 on Linux


def cpu_rate(pid: int, seconds: float = 3.0) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


@pytest.mark.parametrize("leave", ["close the tab", "close without a beacon", "open About"])
def test_a_page_that_goes_stops_costing_cpu_within_seconds(server, browser, leave):
    url, pid = server
    page, _ = live_page(browser, url)
    page.get_by_role("button", name="▶").click()
    page.wait_for_function(
        "parseInt(document.querySelector('#scenario + b').innerText) >= 2", timeout=30_000
    )
    playing = cpu_rate(pid)
    assert playing > 0.2, f"a playing run costs the server CPU ({playing:.2f} cores)"
    if leave == "close the tab":
        page.goto("about:blank")  # unloads the page: its close beacon ends the session
        page.close()
    elif leave == "close without a beacon":
        page.close()  # the connection just drops, as when a browser crashes
    else:
        page.get_by_role("tab", name="About").click()
    time.sleep(live.DISCONNECT_GRACE + 1)
    idle = cpu_rate(pid)
    if leave == "open About":
        page.close()
    assert idle < 0.05, f"after the page went the server still uses {idle:.2f} cores"
