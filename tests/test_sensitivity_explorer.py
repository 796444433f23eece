"""The sensitivity explorer explains what it shows and can screen the parameters itself."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboards import explorer
from experiments import sensitivity as sa

INDICES = pd.DataFrame(
    {
        "parameter": ["small.one", "big.one", "middle.one"],
        "mu_star": [0.01, 0.3, 0.1],
        "mu_star_conf": [0.05, 0.02, 0.03],  # the small one's interval reaches below 0
        "sigma": [0.01, 0.05, 0.2],
    }
)


def test_indices_are_drawn_most_important_first_with_whiskers_cut_at_zero():
    figure = sa.plot_indices(INDICES, "morris", "t")
    axis = figure.axes[0]
    assert [label.get_text() for label in axis.get_yticklabels()] == [
        "big.one",
        "middle.one",
        "small.one",
    ]
    assert axis.get_xlim()[0] == 0
    whiskers = np.concatenate([segment[:, 0] for segment in axis.collections[0].get_segments()])
    assert whiskers.min() >= 0


def test_the_morris_plane_places_each_parameter_by_importance_and_interaction():
    axis = sa.plot_morris_plane(INDICES, "t").axes[0]
    offsets = axis.collections[0].get_offsets()
    assert offsets.tolist() == INDICES[["mu_star", "sigma"]].to_numpy().tolist()
    assert {text.get_text() for text in axis.texts} == set(INDICES["parameter"])


def test_a_screening_from_the_page_stores_indices_the_explorer_then_reads(tmp_path, monkeypatch):
    monkeypatch.setenv(explorer.RESULTS_ROOT, str(tmp_path))
    monkeypatch.setattr(explorer, "TRAJECTORIES", 2)
    progress = []
    name = explorer.screening("final_adoption", lambda done, total: progress.append(done / total))
    assert name.startswith("dashboard-morris-final_adoption-")  # with the model's version
    indices = pd.read_csv(tmp_path / name / "indices.csv")
    assert set(indices["parameter"]) == set(sa.DEFAULT_PARAMETERS)
    assert (indices["mu_star"] >= 0).all() and progress[-1] == 1.0
    assert explorer.explained_output(tmp_path, tmp_path / name) == "final_adoption"
    assert explorer.measure_words("final_adoption") == "adoption at the end"
