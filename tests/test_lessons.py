"""The dose-response lessons draw what they say: each figure's curves against its lesson."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments import lessons
from experiments.dose_response import INTEGRATED, PANELS, UNITS, plot_dose_response
from sim import load_scenario

MECHANISMS = load_scenario("baseline").mechanisms


def curves(figure) -> dict[str, np.ndarray]:
    """The y values of each labelled line of a lesson's figure."""
    return {
        line.get_label(): np.asarray(line.get_ydata(), float)
        for line in figure.axes[0].get_lines()
        if not line.get_label().startswith("_")
    }


def test_saturation_levels_off_and_capacity_absorbs_more():
    drawn = list(curves(lessons.saturation(MECHANISMS)).values())
    for absorbed in drawn:
        steps = np.diff(absorbed)
        assert np.all(steps >= 0) and steps[-1] < 0.1 * steps.max()  # it levels off
    assert np.all(drawn[0] <= drawn[1] + 1e-12) and np.all(drawn[1] <= drawn[2] + 1e-12)


def test_readiness_gates_what_the_same_hours_build():
    low, medium, high = curves(lessons.gating(MECHANISMS)).values()
    assert high[-1] > 3 * low[-1] and medium[-1] > low[-1]


def test_a_hill_exponent_above_one_makes_a_minimum_effective_dose():
    drawn = curves(lessons.minimum_dose(MECHANISMS, 2.5))
    linear, tipping = drawn["Hill exponent 1"], drawn["Hill exponent 2.5"]
    assert np.all(np.diff(linear) < 0)  # at 1 the first hour is the most productive
    peak = int(np.argmax(tipping))
    assert 0 < peak < len(tipping) - 1 and tipping[0] < 0.1 * tipping[peak]


def test_heavy_ta_overloads_a_small_organization_and_not_a_larger_one():
    small, large = curves(lessons.overload(MECHANISMS)).values()
    assert int(np.argmax(small)) < len(small) - 1 and small[-1] < 0.5 * small.max()
    assert np.all(np.diff(large) >= 0)


def test_a_doers_fidelity_drops_at_withdrawal_and_a_facilitators_stays():
    drawn = curves(lessons.dependence())
    withdraw = lessons.DEPENDENCE["withdraw"]
    for role in ("doer", "facilitator"):
        assert drawn[role][withdraw - 1] > 0
    drop = {
        role: drawn[role][withdraw - 1] - drawn[role][withdraw + 6]
        for role in ("doer", "facilitator")
    }
    assert drop["doer"] > 2 * drop["facilitator"]
    assert drawn["facilitator"][-1] > drawn["doer"][-1]


def test_the_full_dose_response_figure_labels_every_panel_with_its_unit():
    columns = {column: [0.1, 0.2] for column in [*PANELS, *INTEGRATED.values()]}
    curves = pd.DataFrame({"readiness": ["low", "low"], "delivered": [1.0, 2.0], **columns})
    figure = plot_dose_response(curves, "readiness")
    assert [axis.get_ylabel() for axis in figure.axes] == [UNITS[column] for column in PANELS]
