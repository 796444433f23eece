"""Each rule of sim/mechanisms.py: bounds, monotonicity, saturation, gating, thresholds, optimum.

Random inputs come from fixed-seed numpy Generators; rule constants are drawn over the whole
allowed range the scenario schema declares for them (``parameter_table``), so a bound that
holds only at the defaults fails here.
"""

from __future__ import annotations

import inspect
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from sim import TransformationModel, load_scenario, parameter_table
from sim import mechanisms as mech
from sim.params import BUILDING_BLOCKS, Scenario

N = 4000
BASELINE = load_scenario("baseline")
MP = BASELINE.mechanisms
RANGES = {row.path: (row.low, row.high) for row in parameter_table(Scenario())}
CONTACTS = sorted(set(mech.CONTACTS_PER_CONTACT_MONTH.values()))


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def draw(generator: np.random.Generator, path: str, size=N) -> np.ndarray:
    """Uniform draws over a parameter's allowed range in the scenario schema."""
    low, high = RANGES[path]
    return generator.uniform(low, high, size)


def in_unit(values) -> bool:
    values = np.asarray(values, float)
    return bool(np.all(np.isfinite(values)) and np.all(values >= 0.0) and np.all(values <= 1.0))


def test_every_mechanism_has_a_test_here():
    """A new rule in sim/mechanisms.py must come with tests in this file."""
    functions = {
        name
        for name, obj in vars(mech).items()
        if inspect.isfunction(obj) and obj.__module__ == mech.__name__ and not name.startswith("_")
    }
    source = Path(__file__).read_text(encoding="utf-8")
    untested = sorted(name for name in functions if f"mech.{name}(" not in source)
    assert not untested, f"mechanisms without tests: {untested}"


# ------------------------------------------------------------------ stages and contact


def test_adopting_and_operating_stages_are_the_contiguous_codes_they_name():
    stages = np.arange(len(mech.STAGES))
    assert [mech.STAGES[code] for code in stages[mech.is_adopting(stages)]] == [
        "preparing",
        "implementing",
        "sustaining",
        "reduced",
    ]
    assert [mech.STAGES[code] for code in stages[mech.is_operating(stages)]] == [
        "implementing",
        "sustaining",
        "reduced",
    ]
    assert [mech.STAGES[code] for code in stages[mech.is_fully_operating(stages)]] == [
        "implementing",
        "sustaining",
    ]
    assert mech.STAGES[mech.REDUCED] == "reduced"
    assert mech.STAGES[mech.DISCONTINUED] == "discontinued" == mech.STAGES[-1]


@pytest.mark.parametrize("periodicity", list(mech.PERIOD_MONTHS))
def test_contact_months_follow_periodicity(periodicity):
    months = np.arange(1, 121)
    contact = np.array([mech.is_contact_month(int(month), periodicity) for month in months])
    period = mech.PERIOD_MONTHS[periodicity]
    assert contact.sum() == 120 // period
    assert np.all(np.diff(months[contact]) == period)


# ------------------------------------------------------------------ allocation and delivery


def test_caseload_quality_bounded_flat_below_c0_then_strictly_decreasing():
    g = rng(1)
    caseload = g.uniform(0, 2000, N)
    penalty, free = draw(g, "mechanisms.caseload_penalty"), draw(g, "mechanisms.caseload_free")
    quality = mech.caseload_quality(caseload, penalty=penalty, free_caseload=free)
    assert np.all(np.isfinite(quality)) and np.all((quality > 0) & (quality <= 1))
    assert np.all(quality[caseload <= free] == 1.0)

    grid = np.arange(0, 300)
    curve = mech.caseload_quality(grid, penalty=MP.caseload_penalty, free_caseload=MP.caseload_free)
    assert np.all(np.diff(curve) <= 0)
    assert np.all(np.diff(curve[grid >= MP.caseload_free]) < 0)
    # q = 1 / (1 + psi * (c - c0)): 10 organizations beyond c0 cost 1 - 1/(1 + 10 psi).
    assert mech.caseload_quality(
        MP.caseload_free + 10, penalty=MP.caseload_penalty, free_caseload=MP.caseload_free
    ) == pytest.approx(1 / (1 + 10 * MP.caseload_penalty))


def test_navigation_burden_zero_for_one_provider_grows_with_providers_reduced_by_coordination():
    g = rng(2)
    hours, relief = (
        draw(g, "mechanisms.navigation_hours"),
        draw(g, "mechanisms.coordination_relief"),
    )
    for coordinated in (False, True):
        assert np.all(
            mech.navigation_burden(
                np.ones(N), hours_per_provider=hours, coordinated=coordinated, relief=relief
            )
            == 0
        )
        assert np.all(
            mech.navigation_burden(
                np.zeros(N), hours_per_provider=hours, coordinated=coordinated, relief=relief
            )
            == 0
        )
    providers = np.arange(1, 9)
    uncoordinated = mech.navigation_burden(
        providers,
        hours_per_provider=MP.navigation_hours,
        coordinated=False,
        relief=MP.coordination_relief,
    )
    coordinated = mech.navigation_burden(
        providers,
        hours_per_provider=MP.navigation_hours,
        coordinated=True,
        relief=MP.coordination_relief,
    )
    assert uncoordinated == pytest.approx(MP.navigation_hours * (providers - 1))
    assert np.all(np.diff(uncoordinated) > 0)
    assert np.all(coordinated[1:] < uncoordinated[1:]) and np.all(coordinated >= 0)
    assert coordinated[1:] == pytest.approx((1 - MP.coordination_relief) * uncoordinated[1:])
    assert MP.coordination_relief > 0.5  # coordination removes most of it (DESIGN 5.1)
    many = g.integers(2, 10, N)
    assert np.all(
        mech.navigation_burden(many, hours_per_provider=hours, coordinated=True, relief=relief)
        <= mech.navigation_burden(many, hours_per_provider=hours, coordinated=False, relief=relief)
    )


def test_provider_time_per_hour_content_is_one_to_many_and_travel_costs_time():
    g = rng(3)
    mix = g.dirichlet(np.ones(3), N)
    reach = draw(g, "mechanisms.content_reach")
    travel = draw(g, "mechanisms.travel_share_northern")
    time = mech.provider_time_per_hour(
        content=mix[:, 0],
        relationship=mix[:, 1],
        peer=mix[:, 2],
        content_reach=reach,
        travel_share=travel,
    )
    assert np.all(np.isfinite(time)) and np.all(time > 0)
    assert np.all(time <= 1.0 / (1.0 - travel) + 1e-12)
    no_travel = mech.provider_time_per_hour(
        content=mix[:, 0],
        relationship=mix[:, 1],
        peer=mix[:, 2],
        content_reach=reach,
        travel_share=0.0,
    )
    assert np.all(time >= no_travel)
    assert mech.provider_time_per_hour(
        content=1.0, relationship=0.0, peer=0.0, content_reach=5.0, travel_share=0.0
    ) == pytest.approx(0.2)
    assert mech.provider_time_per_hour(
        content=0.0, relationship=1.0, peer=0.0, content_reach=5.0, travel_share=0.0
    ) == pytest.approx(1.0)
    assert mech.provider_time_per_hour(
        content=0.0, relationship=1.0, peer=0.0, content_reach=5.0, travel_share=0.5
    ) == pytest.approx(2.0)


# ------------------------------------------------------------------ trust and dose


def trust_inputs(seed):
    g = rng(seed)
    return dict(
        trust=g.uniform(0, 1, N),
        hours=g.uniform(0, 60, N),
        contacts=g.choice(CONTACTS, N),
        build=draw(g, "mechanisms.trust_build"),
        half=draw(g, "mechanisms.trust_half_hours"),
        decay=draw(g, "mechanisms.trust_decay"),
        modality=g.uniform(RANGES["mechanisms.virtual_trust"][0], 1.0, N),
    )


def test_trust_stays_in_unit_interval():
    x = trust_inputs(4)
    for contact in (True, False):
        updated = mech.trust_update(
            x["trust"],
            relationship_hours=x["hours"],
            contacts=x["contacts"],
            contact=contact,
            build=x["build"],
            half_hours=x["half"],
            decay=x["decay"],
            modality_trust=x["modality"],
        )
        assert in_unit(updated)
    extreme = mech.trust_update(
        np.ones(3),
        relationship_hours=1e6,
        contacts=4.3,
        contact=True,
        build=1.0,
        half_hours=0.1,
        decay=0.5,
        modality_trust=1.0,
    )
    assert in_unit(extreme)


def test_trust_decays_without_contact_and_stays_with_contact_but_no_hours():
    x = trust_inputs(5)
    faded = mech.trust_update(
        x["trust"],
        relationship_hours=x["hours"],
        contacts=x["contacts"],
        contact=False,
        build=x["build"],
        half_hours=x["half"],
        decay=x["decay"],
        modality_trust=x["modality"],
    )
    assert faded == pytest.approx(x["trust"] * (1 - x["decay"]))
    assert np.all(faded <= x["trust"])
    decaying = x["trust"] * (x["decay"] > 0) > 0
    assert np.all(faded[decaying] < x["trust"][decaying])
    idle = mech.trust_update(
        x["trust"],
        relationship_hours=0.0,
        contacts=x["contacts"],
        contact=True,
        build=x["build"],
        half_hours=x["half"],
        decay=x["decay"],
        modality_trust=x["modality"],
    )
    assert idle == pytest.approx(x["trust"])


def test_trust_grows_with_relationship_hours_and_modality():
    x = trust_inputs(6)
    more = x["hours"] + rng(7).uniform(0.1, 10, N)
    base = mech.trust_update(
        x["trust"],
        relationship_hours=x["hours"],
        contacts=x["contacts"],
        contact=True,
        build=x["build"],
        half_hours=x["half"],
        decay=x["decay"],
        modality_trust=x["modality"],
    )
    higher = mech.trust_update(
        x["trust"],
        relationship_hours=more,
        contacts=x["contacts"],
        contact=True,
        build=x["build"],
        half_hours=x["half"],
        decay=x["decay"],
        modality_trust=x["modality"],
    )
    assert np.all(base >= x["trust"])
    assert np.all(higher >= base)
    room = (x["trust"] < 0.99) & (x["build"] > 0.01)
    assert np.all(higher[room] > base[room])
    in_person = mech.trust_update(
        x["trust"],
        relationship_hours=x["hours"],
        contacts=x["contacts"],
        contact=True,
        build=x["build"],
        half_hours=x["half"],
        decay=x["decay"],
        modality_trust=1.0,
    )
    assert np.all(in_person >= base)
    defaults = mech.trust_update(
        np.full(4, 0.4),
        relationship_hours=np.array([0.0, 1.0, 4.0, 16.0]),
        contacts=1.0,
        contact=True,
        build=MP.trust_build,
        half_hours=MP.trust_half_hours,
        decay=MP.trust_decay,
        modality_trust=1.0,
    )
    assert defaults[0] == pytest.approx(0.4) and np.all(np.diff(defaults) > 0) and defaults[-1] < 1


def test_regular_contact_builds_at_least_as_much_trust_for_the_same_hours():
    x = trust_inputs(8)
    args = dict(
        build=x["build"], half_hours=x["half"], decay=x["decay"], modality_trust=x["modality"]
    )
    by_contacts = [
        mech.trust_update(
            x["trust"], relationship_hours=x["hours"], contacts=contacts, contact=True, **args
        )
        for contacts in CONTACTS
    ]
    for fewer, more in pairwise(by_contacts):
        assert np.all(more >= fewer - 1e-12)
    weekly = mech.trust_update(
        0.4,
        relationship_hours=8.0,
        contacts=mech.CONTACTS_PER_CONTACT_MONTH["weekly"],
        contact=True,
        build=MP.trust_build,
        half_hours=MP.trust_half_hours,
        decay=MP.trust_decay,
        modality_trust=1.0,
    )
    monthly = mech.trust_update(
        0.4,
        relationship_hours=8.0,
        contacts=mech.CONTACTS_PER_CONTACT_MONTH["monthly"],
        contact=True,
        build=MP.trust_build,
        half_hours=MP.trust_half_hours,
        decay=MP.trust_decay,
        modality_trust=1.0,
    )
    assert weekly > monthly + 0.01

    # The same quarter's hours: every month, or bunched into one contact month then two gaps.
    hours = x["hours"] / 3
    regular = x["trust"]
    for _ in range(3):
        regular = mech.trust_update(
            regular, relationship_hours=hours, contacts=1.0, contact=True, **args
        )
    bunched = mech.trust_update(
        x["trust"], relationship_hours=3 * hours, contacts=1.0, contact=True, **args
    )
    for _ in range(2):
        bunched = mech.trust_update(
            bunched, relationship_hours=0.0, contacts=1.0, contact=False, **args
        )
    assert np.all(regular >= bunched - 1e-12)


def test_effective_dose_nonnegative_zero_without_hours_and_increasing_in_each_input():
    g = rng(9)
    content, coaching, peer = (g.uniform(0, 30, N) for _ in range(3))
    quality, trust, modality = (
        g.uniform(0, 1, N),
        g.uniform(0, 1, N),
        g.uniform(RANGES["mechanisms.virtual_effect"][0], 1, N),
    )
    kappa, cw, pw = (
        draw(g, "mechanisms.trust_exponent"),
        draw(g, "mechanisms.content_weight"),
        draw(g, "mechanisms.peer_weight"),
    )
    inputs = dict(
        content_hours=content,
        coaching_hours=coaching,
        peer_hours=peer,
        quality=quality,
        trust=trust,
        kappa=kappa,
        modality_effect=modality,
        content_weight=cw,
        peer_weight=pw,
    )
    dose = mech.effective_dose(**inputs)
    assert np.all(np.isfinite(dose)) and np.all(dose >= 0)
    no_hours = dict(content_hours=0.0, coaching_hours=0.0, peer_hours=0.0)
    assert np.all(mech.effective_dose(**{**inputs, **no_hours}) == 0)
    bump = g.uniform(0.1, 5, N)
    for changed in (
        mech.effective_dose(**{**inputs, "content_hours": content + bump}),
        mech.effective_dose(**{**inputs, "coaching_hours": coaching + bump}),
        mech.effective_dose(**{**inputs, "peer_hours": peer + bump}),
        mech.effective_dose(**{**inputs, "quality": np.minimum(1, quality + 0.1)}),
        mech.effective_dose(**{**inputs, "trust": np.minimum(1, trust + 0.1)}),
        mech.effective_dose(**{**inputs, "modality_effect": np.minimum(1, modality + 0.1)}),
    ):
        assert np.all(changed >= dose)
    # Defaults: a coaching hour counts more than a content hour; content is not diluted by caseload.
    defaults = dict(
        trust=1.0,
        kappa=MP.trust_exponent,
        modality_effect=1.0,
        content_weight=MP.content_weight,
        peer_weight=MP.peer_weight,
    )
    coach_hour = mech.effective_dose(
        content_hours=0.0, coaching_hours=1.0, peer_hours=0.0, quality=1.0, **defaults
    )
    content_hour = mech.effective_dose(
        content_hours=1.0, coaching_hours=0.0, peer_hours=0.0, quality=1.0, **defaults
    )
    assert content_hour < coach_hour
    assert mech.effective_dose(
        content_hours=1.0, coaching_hours=0.0, peer_hours=0.0, quality=0.2, **defaults
    ) == pytest.approx(content_hour)
    assert mech.effective_dose(
        content_hours=0.0, coaching_hours=1.0, peer_hours=0.0, quality=0.2, **defaults
    ) == pytest.approx(0.2 * coach_hour)


# ------------------------------------------------------------------ absorption


def test_absorption_bounded_and_zero_without_dose():
    g = rng(10)
    dose, general = g.exponential(10, N), g.uniform(0, 1, N)
    k0, hill = draw(g, "mechanisms.half_saturation"), draw(g, "mechanisms.hill")
    absorbed = mech.absorption(dose, general_capacity=general, half_saturation=k0, hill=hill)
    assert in_unit(absorbed)
    assert np.all(
        mech.absorption(np.zeros(N), general_capacity=general, half_saturation=k0, hill=hill) == 0
    )
    # Half absorption at u = K = K0 / (0.5 + G).
    assert mech.absorption(
        k0 / (0.5 + general), general_capacity=general, half_saturation=k0, hill=hill
    ) == pytest.approx(np.full(N, 0.5))


def test_absorption_increases_in_dose_and_in_general_capacity():
    g = rng(11)
    dose, general = g.uniform(0.01, 50, N), g.uniform(0, 0.9, N)
    k0, hill = draw(g, "mechanisms.half_saturation"), draw(g, "mechanisms.hill")
    base = mech.absorption(dose, general_capacity=general, half_saturation=k0, hill=hill)
    assert np.all(
        mech.absorption(dose * 1.2, general_capacity=general, half_saturation=k0, hill=hill) > base
    )
    assert np.all(
        mech.absorption(dose, general_capacity=general + 0.1, half_saturation=k0, hill=hill) > base
    )
    grid = np.linspace(0, 40, 401)
    for general_value in (0.0, 0.3, 0.6, 1.0):
        assert np.all(
            np.diff(
                mech.absorption(
                    grid,
                    general_capacity=general_value,
                    half_saturation=MP.half_saturation,
                    hill=MP.hill,
                )
            )
            > 0
        )


@pytest.mark.parametrize("hill", [1.0, 1.5, 2.0, 4.0])
def test_absorption_saturates_towards_one(hill):
    general = np.linspace(0, 1, 11)
    for k0 in RANGES["mechanisms.half_saturation"]:
        assert np.all(
            mech.absorption(1e4, general_capacity=general, half_saturation=k0, hill=hill) > 0.99
        )
        assert np.all(
            mech.absorption(1e8, general_capacity=general, half_saturation=k0, hill=hill) > 1 - 1e-6
        )
    grid = np.linspace(0, 200, 2001)
    gains = np.diff(
        mech.absorption(grid, general_capacity=0.5, half_saturation=MP.half_saturation, hill=hill)
    )
    assert gains[-1] < 0.01 * gains.max()  # diminishing returns at high dose


def test_absorption_is_concave_from_the_start_when_hill_is_one():
    grid = np.linspace(0, 40, 801)
    for general in (0.0, 0.5, 1.0):
        for k0 in (1.0, 4.0, 20.0):
            curve = mech.absorption(grid, general_capacity=general, half_saturation=k0, hill=1.0)
            assert np.all(np.diff(curve, 2) < 0)
            first = np.diff(curve)
            assert first[0] == first.max()  # the first hour is the most valuable


@pytest.mark.parametrize("hill", [1.2, 1.5, 2.0, 3.0, 4.0])
def test_minimum_effective_dose_when_hill_above_one(hill):
    """A convex start: the marginal gain of a tiny dose is below the gain at a moderate dose."""
    for general in (0.0, 0.5, 1.0):
        for k0 in (1.0, 4.0, 20.0):
            k = k0 / (0.5 + general)
            step = k / 1000
            inputs = dict(general_capacity=general, half_saturation=k0, hill=hill)

            def gain(u, inputs=inputs, step=step):
                return mech.absorption(u + step, **inputs) - mech.absorption(u, **inputs)

            assert gain(0.0) < 0.5 * gain(k / 2)
            inflection = k * ((hill - 1) / (hill + 1)) ** (1 / hill)  # of u^n / (K^n + u^n)
            before = np.linspace(0, 0.95 * inflection, 200)
            after = np.linspace(1.05 * inflection, 10 * k, 200)
            assert np.all(
                np.diff(
                    mech.absorption(
                        before, general_capacity=general, half_saturation=k0, hill=hill
                    ),
                    2,
                )
                > 0
            )  # convex start: a threshold
            assert np.all(
                np.diff(
                    mech.absorption(after, general_capacity=general, half_saturation=k0, hill=hill),
                    2,
                )
                < 0
            )  # then saturation
    # With default n, 10 % of the half-saturation dose is absorbed far less than 10 % as well
    # as at K.
    k = MP.half_saturation / 1.0
    assert (
        mech.absorption(
            0.1 * k, general_capacity=0.5, half_saturation=MP.half_saturation, hill=MP.hill
        )
        < 0.1 * 0.5
    )


# ------------------------------------------------------------------ readiness and capacity


def test_readiness_bounded_increasing_and_a_geometric_mean():
    g = rng(12)
    m, gc, s = g.uniform(0, 1, (3, N))
    ready = mech.readiness(
        motivation=m, general_capacity=gc, specific_mean=s, weights=MP.readiness_weights
    )
    assert in_unit(ready)
    assert mech.readiness(motivation=m, general_capacity=m, specific_mean=m) == pytest.approx(m)
    for bumped in (
        mech.readiness(motivation=np.minimum(1, m + 0.1), general_capacity=gc, specific_mean=s),
        mech.readiness(motivation=m, general_capacity=np.minimum(1, gc + 0.1), specific_mean=s),
        mech.readiness(motivation=m, general_capacity=gc, specific_mean=np.minimum(1, s + 0.1)),
    ):
        assert np.all(bumped >= ready)
    weights = g.uniform(0.1, 5, (N, 3))
    for row, w in enumerate(weights[:200]):
        assert in_unit(
            mech.readiness(
                motivation=m[row], general_capacity=gc[row], specific_mean=s[row], weights=tuple(w)
            )
        )


def test_readiness_is_zero_when_any_component_is_zero():
    g = rng(13)
    m, gc, s = g.uniform(0.05, 1, (3, N))
    zero = np.zeros(N)
    for weights in ((1.0, 1.0, 1.0), (2.0, 1.0, 0.5), tuple(MP.readiness_weights)):
        assert np.all(
            mech.readiness(motivation=zero, general_capacity=gc, specific_mean=s, weights=weights)
            == 0
        )
        assert np.all(
            mech.readiness(motivation=m, general_capacity=zero, specific_mean=s, weights=weights)
            == 0
        )
        assert np.all(
            mech.readiness(motivation=m, general_capacity=gc, specific_mean=zero, weights=weights)
            == 0
        )
        assert np.all(
            mech.readiness(motivation=m, general_capacity=gc, specific_mean=s, weights=weights) > 0
        )


def test_capacity_gate_bounded_zero_without_motivation_or_capacity_and_increasing():
    g = rng(14)
    m, gc = g.uniform(0, 1, (2, N))
    dependence = g.uniform(0.05, RANGES["roles.partner.readiness_dependence"][1], N)
    gate = mech.capacity_gate(motivation=m, general_capacity=gc, dependence=dependence)
    assert in_unit(gate)
    assert np.all(
        mech.capacity_gate(motivation=np.zeros(N), general_capacity=gc, dependence=dependence) == 0
    )
    assert np.all(
        mech.capacity_gate(motivation=m, general_capacity=np.zeros(N), dependence=dependence) == 0
    )
    assert np.all(
        mech.capacity_gate(
            motivation=np.minimum(1, m + 0.1), general_capacity=gc, dependence=dependence
        )
        >= gate
    )
    assert np.all(
        mech.capacity_gate(
            motivation=m, general_capacity=np.minimum(1, gc + 0.1), dependence=dependence
        )
        >= gate
    )
    # Roles that depend more on readiness get less through the same gate
    # (facilitator < partner < doer).
    roles = BASELINE.roles
    by_role = [
        mech.capacity_gate(
            motivation=0.4,
            general_capacity=0.4,
            dependence=getattr(roles, role).readiness_dependence,
        )
        for role in ("doer", "partner", "facilitator")
    ]
    assert by_role[0] > by_role[1] > by_role[2] > 0


def test_capacity_gate_stays_shut_at_zero_readiness_for_every_allowed_dependence():
    low, _ = RANGES["roles.doer.readiness_dependence"]
    assert mech.capacity_gate(motivation=0.0, general_capacity=0.8, dependence=low) == 0
    assert mech.capacity_gate(motivation=0.8, general_capacity=0.0, dependence=low) == 0


def capacity_inputs(seed):
    g = rng(seed)
    return dict(
        specific=g.uniform(0, 1, (N, 8)),
        absorbed=g.uniform(0, 1, N),
        transfer=draw(g, "mechanisms.capacity_rate") * g.uniform(0, 1, N),
        match=mech.expertise_match(
            specific=g.uniform(0, 1, (N, 8)),
            expertise=g.uniform(0, 1, (N, 8)),
            focus=draw(g, "mechanisms.expertise_focus", 1)[0],
        ),
        spillover=draw(g, "mechanisms.peer_spillover", 1)[0],
        peer_gap=g.uniform(0, 1, (N, 8)),
        decay=draw(g, "mechanisms.specific_decay", 1)[0],
        learning=draw(g, "mechanisms.learning_rate") * g.uniform(0, 1, N),
        m=g.uniform(0, 1, N),
        g=g.uniform(0, 1, N),
        dependence=g.uniform(0.05, 2, N),
    )


def test_specific_capacity_bounded_and_increasing_in_absorption():
    x = capacity_inputs(15)
    gate = mech.capacity_gate(
        motivation=x["m"], general_capacity=x["g"], dependence=x["dependence"]
    )
    args = {
        name: x[name]
        for name in ("transfer", "match", "spillover", "peer_gap", "decay", "learning")
    }
    low = mech.specific_capacity_update(
        x["specific"], absorbed=x["absorbed"] * 0.5, gate=gate, **args
    )
    high = mech.specific_capacity_update(x["specific"], absorbed=x["absorbed"], gate=gate, **args)
    assert in_unit(low) and in_unit(high)
    assert np.all(high >= low)
    extreme = mech.specific_capacity_update(
        np.ones((3, 8)),
        absorbed=np.ones(3),
        gate=np.ones(3),
        transfer=1.0,
        match=np.full((3, 8), 8.0),
        spillover=0.5,
        peer_gap=np.ones((3, 8)),
        decay=0.0,
        learning=np.full(3, 0.2),
    )
    assert in_unit(extreme)
    # Without spillover or learning, unabsorbed capacity only decays.
    decayed = mech.specific_capacity_update(
        x["specific"],
        absorbed=np.zeros(N),
        gate=gate,
        transfer=x["transfer"],
        match=x["match"],
        spillover=0.0,
        peer_gap=x["peer_gap"],
        decay=x["decay"],
        learning=np.zeros(N),
    )
    assert decayed == pytest.approx(x["specific"] * (1 - x["decay"]))


@pytest.mark.parametrize("zero", ["motivation", "general"])
def test_readiness_gate_blocks_every_capacity_gain_from_ta(zero):
    """Zero M or zero G: large absorption builds no specific and no general capacity."""
    x = capacity_inputs(16)
    m = np.zeros(N) if zero == "motivation" else x["m"]
    g = np.zeros(N) if zero == "general" else x["g"]
    assert np.all(
        mech.readiness(motivation=m, general_capacity=g, specific_mean=x["specific"].mean(axis=1))
        == 0
    )
    gate = mech.capacity_gate(motivation=m, general_capacity=g, dependence=x["dependence"])
    assert np.all(gate == 0)
    args = {
        name: x[name]
        for name in ("transfer", "match", "spillover", "peer_gap", "decay", "learning")
    }
    without = mech.specific_capacity_update(x["specific"], absorbed=np.zeros(N), gate=gate, **args)
    flooded = mech.specific_capacity_update(x["specific"], absorbed=np.ones(N), gate=gate, **args)
    assert np.array_equal(without, flooded)  # absorption adds nothing
    isolated = mech.specific_capacity_update(
        x["specific"],
        absorbed=np.ones(N),
        gate=gate,
        transfer=1.0,
        match=np.full((N, 8), 3.0),
        spillover=0.0,
        peer_gap=x["peer_gap"],
        decay=0.0,
        learning=np.zeros(N),
    )
    assert np.array_equal(
        isolated, x["specific"]
    )  # and nothing else grows it when spillover, learning, decay are off

    rate = RANGES["mechanisms.general_rate"][1]
    general_without = mech.general_capacity_update(
        g, absorbed=np.zeros(N), gate=gate, transfer=rate, decay=MP.general_decay, resting=g
    )
    general_flooded = mech.general_capacity_update(
        g, absorbed=np.ones(N), gate=gate, transfer=rate, decay=MP.general_decay, resting=g
    )
    assert np.array_equal(general_without, general_flooded)
    assert np.array_equal(general_flooded, g)  # at its resting level G does not move


def test_general_capacity_bounded_increasing_in_absorption_and_relaxing_to_rest():
    x = capacity_inputs(17)
    g = rng(18)
    rate, decay = draw(g, "mechanisms.general_rate"), draw(g, "mechanisms.general_decay")
    resting = g.uniform(0, 1, N)
    gate = mech.capacity_gate(
        motivation=x["m"], general_capacity=x["g"], dependence=x["dependence"]
    )
    low = mech.general_capacity_update(
        x["g"], absorbed=0.5 * x["absorbed"], gate=gate, transfer=rate, decay=decay, resting=resting
    )
    high = mech.general_capacity_update(
        x["g"], absorbed=x["absorbed"], gate=gate, transfer=rate, decay=decay, resting=resting
    )
    assert in_unit(low) and in_unit(high) and np.all(high >= low)
    idle = mech.general_capacity_update(
        x["g"], absorbed=np.zeros(N), gate=gate, transfer=rate, decay=decay, resting=resting
    )
    assert np.all(np.abs(idle - resting) <= np.abs(x["g"] - resting) + 1e-15)
    assert np.all(np.sign(idle - x["g"]) * np.sign(resting - x["g"]) >= 0)


def test_expertise_match_targets_weakest_blocks():
    g = rng(19)
    specific = g.uniform(0, 1, (N, 8))
    expertise = g.uniform(0, 1, (N, 8))
    focus = draw(g, "mechanisms.expertise_focus", 1)[0]
    match = mech.expertise_match(specific=specific, expertise=expertise, focus=focus)
    assert np.all(np.isfinite(match)) and np.all(match >= 0)
    uniform = mech.expertise_match(
        specific=specific, expertise=np.full((N, 8), 0.6), focus=MP.expertise_focus
    )
    assert uniform.mean(axis=1) == pytest.approx(np.full(N, 0.6))  # weights average 1
    weakest = specific.argmin(axis=1)
    assert np.all(uniform.argmax(axis=1) == weakest)
    assert mech.expertise_match(specific=specific, expertise=expertise, focus=0.0) == pytest.approx(
        expertise
    )
    saturated = mech.expertise_match(
        specific=np.ones((2, 8)), expertise=np.full((2, 8), 0.5), focus=2.0
    )
    assert np.all(np.isfinite(saturated))


def test_peer_gap_nonnegative_scaled_by_connectedness_and_zero_when_isolated():
    g = rng(20)
    values, neighbours = g.uniform(0, 1, (2, N, 8))
    connectedness = g.uniform(0, 1, N)
    gap = mech.peer_gap(neighbour_mean=neighbours, values=values, connectedness=connectedness)
    assert np.all(gap >= 0) and in_unit(gap)
    assert gap == pytest.approx(connectedness[:, None] * np.maximum(0.0, neighbours - values))
    isolated = mech.peer_gap(neighbour_mean=neighbours, values=values, connectedness=np.zeros(N))
    assert np.all(isolated == 0)
    better_tied = mech.peer_gap(
        neighbour_mean=neighbours, values=values, connectedness=np.minimum(1, connectedness + 0.2)
    )
    assert np.all(better_tied >= gap)
    level = mech.peer_gap(neighbour_mean=values, values=values, connectedness=connectedness)
    assert np.all(level == 0)  # no gap to neighbours who are no better


def test_peer_exposure_grows_with_the_number_and_strength_of_adopting_ties():
    g = rng(26)
    strength = g.uniform(0, 1, N)
    tau = draw(g, "mechanisms.tie_transmission")
    log_one = mech.tie_log_complement(strength, transmission=tau)
    assert np.all(log_one <= 0) and np.all(np.isfinite(log_one))
    one = mech.peer_exposure(log_one)
    assert in_unit(one) and one == pytest.approx(tau * strength)  # one tie: its chance
    assert np.all(mech.peer_exposure(2 * log_one) >= one)  # two such ties: more
    stronger = mech.peer_exposure(
        mech.tie_log_complement(np.minimum(1, strength + 0.1), transmission=tau)
    )
    assert np.all(stronger >= one)
    assert np.all(mech.peer_exposure(np.zeros(N)) == 0)  # no adopting tie, no exposure
    # not a share: ten adopting ties of ten expose more than one of one
    assert mech.peer_exposure(10 * np.log1p(-0.3 * 0.5)) > mech.peer_exposure(np.log1p(-0.3 * 0.5))


def test_ties_strengthen_with_joint_work_only_and_stay_below_one():
    g = rng(27)
    strength, rate = g.uniform(0, 1, N), draw(g, "mechanisms.tie_growth")
    joint = g.uniform(0, 1, N) < 0.5
    grown = mech.tie_growth(strength, joint=joint, rate=rate)
    assert in_unit(grown)
    assert np.all(grown[~joint] == strength[~joint])
    assert np.all(grown[joint] >= strength[joint])


def test_team_ties_strengthen_with_maturity_from_base_to_one():
    years = np.linspace(0, 20, 201)
    strength = mech.team_tie_strength(years, base=0.5, saturation=5.0)
    assert strength[0] == pytest.approx(0.5) and strength[-1] == pytest.approx(1.0)
    assert np.all(np.diff(strength) >= 0) and in_unit(strength)
    grown = mech.maturity_update(np.array([1.0, 1.0]), collaborating=np.array([0.0, 1.0]))
    assert grown == pytest.approx([1.0, 1.0 + 1 / 12])  # a month of everyone working together


def test_governance_rises_with_a_coordinator_and_maturity_falls_with_the_number_of_parties():
    g = rng(28)
    maturity, members = g.uniform(0, 1, N), g.integers(2, 60, N)
    weight, cost = draw(g, "mechanisms.coordinator_weight"), draw(g, "mechanisms.party_cost")
    block = g.uniform(0, 1, N)
    inputs = dict(coordinator_weight=weight, party_cost=cost, governance_block=block)
    without = mech.governance_capacity(
        maturity_index=maturity, coordinator=False, members=members, **inputs
    )
    with_one = mech.governance_capacity(
        maturity_index=maturity, coordinator=True, members=members, **inputs
    )
    assert in_unit(without) and in_unit(with_one) and np.all(with_one >= without)
    more_mature = mech.governance_capacity(
        maturity_index=np.minimum(1, maturity + 0.1), coordinator=False, members=members, **inputs
    )
    assert np.all(more_mature >= without)
    bigger = mech.governance_capacity(
        maturity_index=maturity, coordinator=False, members=members + 10, **inputs
    )
    assert np.all(bigger <= without)
    # formal governance structures (the governance building block) stand in for maturity
    structured = mech.governance_capacity(
        maturity_index=maturity,
        coordinator=False,
        members=members,
        **(inputs | {"governance_block": np.minimum(1, block + 0.1)}),
    )
    assert np.all(structured >= without)
    neither = mech.governance_capacity(
        maturity_index=0.0,
        coordinator=False,
        members=members,
        **(inputs | {"governance_block": 0.0}),
    )
    assert np.all(neither == 0)
    pace = mech.decision_pace(with_one)
    assert (
        np.all(pace >= 0.5)
        and np.all(pace <= 1.5)
        and np.all(np.diff(pace[np.argsort(with_one)]) >= 0)
    )


def test_feedback_saturates_in_hours_and_fades_after_contact():
    g = rng(36)
    half, fade = (
        draw(g, "mechanisms.feedback_half_hours"),
        draw(g, "mechanisms.feedback_fade_months"),
    )
    hours, previous = g.uniform(0, 40, N), g.uniform(0, 1, N)
    feedback = mech.feedback_update(previous, hours=hours, half_hours=half, fade_months=fade)
    assert in_unit(feedback) and np.all(feedback >= hours / (hours + half) - 1e-15)
    assert np.all(
        mech.feedback_update(previous, hours=hours + 1, half_hours=half, fade_months=fade)
        >= feedback
    )
    fading, trace = np.ones(1), []
    for _ in range(36):  # no contact after a full month of feedback
        fading = mech.feedback_update(fading, hours=0.0, half_hours=2.0, fade_months=6.0)
        trace.append(fading[0])
    assert np.all(np.diff(trace) < 0) and trace[5] == pytest.approx(np.exp(-1.0))
    quarter = mech.feedback_update(np.zeros(1), hours=0.25, half_hours=2.0, fade_months=6.0)
    assert quarter[0] < 0.15  # a quarter hour reinforces little


def test_reinforcement_combines_feedback_and_peers_and_is_full_when_not_working():
    g = rng(37)
    feedback, exposure = g.uniform(0, 1, (2, N))
    working = g.uniform(0, 1, N) < 0.7
    reinforced = mech.reinforcement(feedback=feedback, peer_exposure=exposure, working=working)
    assert in_unit(reinforced)
    assert np.all(reinforced[~working] == 1)
    assert np.all(reinforced[working] >= np.maximum(feedback, exposure)[working] - 1e-15)
    alone = mech.reinforcement(feedback=feedback, peer_exposure=0.0, working=True)
    assert alone == pytest.approx(feedback)
    assert np.all(mech.reinforcement(feedback=0.0, peer_exposure=0.0, working=True) == 0)


def test_learning_by_doing_only_while_working_needs_reinforcement_and_not_when_substituted():
    g = rng(22)
    rate, general, sub = draw(g, "mechanisms.learning_rate"), g.uniform(0, 1, N), g.uniform(0, 1, N)
    reinforced, data = g.uniform(0, 1, (2, N))
    inputs = dict(rate=rate, general=general, reinforced=reinforced, data_use=data)
    learning = mech.learning_by_doing(working=True, substituted=sub, **inputs)
    assert np.all(learning >= 0) and np.all(learning <= 1.5 * rate * general + 1e-15)
    # an organization that can measure its work learns more from it
    seeing = mech.learning_by_doing(
        working=True, substituted=sub, **(inputs | {"data_use": np.minimum(1, data + 0.1)})
    )
    assert np.all(seeing >= learning) and np.any(seeing > learning)
    assert np.all(mech.learning_by_doing(working=False, substituted=sub, **inputs) == 0)
    assert np.all(mech.learning_by_doing(working=True, substituted=np.ones(N), **inputs) == 0)
    assert np.all(mech.learning_by_doing(working=True, substituted=sub * 0.5, **inputs) >= learning)
    unreinforced = mech.learning_by_doing(
        rate=rate, general=general, data_use=data, working=True, substituted=sub, reinforced=0.0
    )
    assert np.all(unreinforced == 0)


def test_capacity_drifts_faster_without_reinforcement():
    g = rng(29)
    decay, extra = draw(g, "mechanisms.specific_decay"), draw(g, "mechanisms.drift_unreinforced")
    reinforced = g.uniform(0, 1, N)
    drift = mech.capacity_drift(decay=decay, extra=extra, reinforced=reinforced)
    assert np.all(drift >= decay - 1e-15)
    assert mech.capacity_drift(decay=decay, extra=extra, reinforced=1.0) == pytest.approx(decay)
    assert np.all(
        mech.capacity_drift(decay=decay, extra=extra, reinforced=np.maximum(0, reinforced - 0.2))
        >= drift
    )


# ------------------------------------------------------------------ motivation, ownership, workload


def motivation_inputs(seed):
    g = rng(seed)
    return dict(
        motivation=g.uniform(0, 1, N),
        resting=g.uniform(0, 1, N),
        absorbed=g.uniform(0, 1, N),
        peer=g.uniform(0, 1, N),
        fidelity=g.uniform(0, 1, N),
        overload=g.exponential(1, N),
        build=draw(g, "mechanisms.motivation_build"),
        pull=draw(g, "mechanisms.motivation_peer"),
        wins=draw(g, "mechanisms.motivation_wins"),
        decay=draw(g, "mechanisms.motivation_decay"),
        loss=draw(g, "mechanisms.overload_motivation"),
        uncertainty=draw(g, "shocks.policy_uncertainty.motivation_loss"),
    )


def call_motivation(x, **changes):
    x = {**x, **changes}
    return mech.motivation_update(
        x["motivation"],
        resting=x["resting"],
        relationship_absorbed=x["absorbed"],
        peer_exposure=x["peer"],
        fidelity=x["fidelity"],
        overload=x["overload"],
        build=x["build"],
        peer_pull=x["pull"],
        wins=x["wins"],
        decay=x["decay"],
        overload_loss=x["loss"],
        uncertainty_loss=x["uncertainty"],
    )


def test_motivation_bounded_rises_with_codesign_peers_wins_falls_with_overload_and_uncertainty():
    x = motivation_inputs(23)
    base = call_motivation(x)
    assert in_unit(base)
    assert np.all(call_motivation(x, absorbed=np.minimum(1, x["absorbed"] + 0.2)) >= base)
    assert np.all(call_motivation(x, peer=np.minimum(1, x["peer"] + 0.2)) >= base)
    assert np.all(call_motivation(x, fidelity=np.minimum(1, x["fidelity"] + 0.2)) >= base)
    assert np.all(call_motivation(x, overload=x["overload"] + 0.5) <= base)
    assert np.all(call_motivation(x, uncertainty=x["uncertainty"] + 0.1) <= base)
    quiet = call_motivation(
        x,
        absorbed=np.zeros(N),
        peer=np.zeros(N),
        fidelity=np.zeros(N),
        overload=np.zeros(N),
        uncertainty=0.0,
    )
    assert np.all(
        np.abs(quiet - x["resting"]) <= np.abs(x["motivation"] - x["resting"]) + 1e-15
    )  # slow relaxation to M0


def test_substitution_bounded_increasing_and_saturating_at_task_hours():
    g = rng(24)
    hours, share, task = g.uniform(0, 100, N), g.uniform(0, 1, N), draw(g, "mechanisms.task_hours")
    sub = mech.substitution(hours, substitution_share=share, task_hours=task)
    assert np.all(sub >= 0) and np.all(sub <= share)
    assert np.all(mech.substitution(hours + 1, substitution_share=share, task_hours=task) >= sub)
    assert mech.substitution(
        task + hours, substitution_share=share, task_hours=task
    ) == pytest.approx(share)
    assert np.all(mech.substitution(0.0, substitution_share=share, task_hours=task) == 0)


def test_ownership_bounded_built_by_absorption_eroded_by_substitution_and_without_reinforcement():
    g = rng(25)
    own, absorbed, sub, reinforced = g.uniform(0, 1, (4, N))
    inputs = dict(
        gain=draw(g, "roles.facilitator.ownership_gain"),
        loss=draw(g, "mechanisms.ownership_loss"),
        decay=draw(g, "mechanisms.ownership_decay"),
    )

    def update(**changes):
        x = dict(absorbed=absorbed, substituted=sub, reinforced=reinforced) | changes
        return mech.ownership_update(own, **inputs, **x)

    base = update()
    assert in_unit(base)
    assert np.all(update(absorbed=np.minimum(1, absorbed + 0.2)) >= base)
    assert np.all(update(substituted=np.minimum(1, sub + 0.2)) <= base)
    assert np.all(update(reinforced=np.maximum(0, reinforced - 0.2)) <= base)
    assert np.all(update(absorbed=0.0, substituted=0.0, reinforced=1.0) == own)
    assert np.all(update(absorbed=0.0, substituted=0.0, reinforced=0.0) <= own)


def test_task_hours_grow_with_size_but_less_than_in_proportion():
    size = np.geomspace(1, 500, 200)
    exponent = 0.7
    hours = mech.task_hours(size, at_reference=10.0, reference_size=20.0, exponent=exponent)
    assert np.all(np.diff(hours) > 0)
    assert mech.task_hours(20.0, at_reference=10.0, reference_size=20.0, exponent=exponent) == 10.0
    assert np.all(np.diff(hours / size) < 0)  # a fixed part weighs more on small organizations
    flat = mech.task_hours(size, at_reference=10.0, reference_size=20.0, exponent=0.0)
    assert np.all(flat == 10.0)


def test_workload_nonnegative_increasing_in_demands_decreasing_in_staff_time():
    g = rng(26)
    hours, internal, navigation = g.uniform(0, 40, N), g.uniform(0, 20, N), g.uniform(0, 30, N)
    omega = draw(g, "mechanisms.recipient_hours")
    change = g.uniform(0.5, 200, N)
    inputs = dict(
        hours=hours,
        recipient_hours=omega,
        internal_work=internal,
        navigation=navigation,
        change_hours=change,
    )
    w = mech.workload(**inputs)
    assert np.all(np.isfinite(w)) and np.all(w >= 0)
    assert np.all(mech.workload(**{**inputs, "hours": hours + 1}) >= w)
    assert np.all(mech.workload(**{**inputs, "internal_work": internal + 1}) > w)
    assert np.all(mech.workload(**{**inputs, "navigation": navigation + 1}) > w)
    assert np.all(mech.workload(**{**inputs, "change_hours": change * 2}) <= w)
    idle = dict(hours=0.0, internal_work=0.0, navigation=0.0)
    assert np.all(mech.workload(**{**inputs, **idle}) == 0)
    assert np.all(np.isfinite(mech.workload(**{**inputs, "change_hours": 0.0})))
    assert mech.workload(
        hours=10.0, recipient_hours=0.8, internal_work=2.0, navigation=0.0, change_hours=10.0
    ) == pytest.approx(1.0)


def test_overload_is_the_excess_over_the_threshold():
    g = rng(27)
    w, threshold = g.exponential(1, N), draw(g, "mechanisms.overload_threshold")
    over = mech.overload(w, threshold=threshold)
    assert np.all(over >= 0)
    assert np.all(over[w <= threshold] == 0)
    assert over[w > threshold] == pytest.approx((w - threshold)[w > threshold])


# ---------------------------------------------------------- net benefit: inverted U under overload

HOURS = np.linspace(0.0, 30.0, 301)


def net_benefit_curve(size_fte, general, trust=0.6, hours=HOURS):
    """One organization exploring the change, coached by one partner, composed from the rules as
    the model does.

    Benefit and overload cost are weighted by the model's own motivation coefficients
    (co-design gain beta_M against overload loss kappa_W).
    """
    mix = BASELINE.funder.hands_on_mix
    content, coaching, peer = hours * mix.content, hours * mix.relationship, hours * mix.peer
    quality = mech.caseload_quality(10, penalty=MP.caseload_penalty, free_caseload=MP.caseload_free)
    dose = mech.effective_dose(
        content_hours=content,
        coaching_hours=coaching,
        peer_hours=peer,
        quality=quality,
        trust=trust,
        kappa=MP.trust_exponent,
        modality_effect=1.0,
        content_weight=MP.content_weight,
        peer_weight=MP.peer_weight,
    )
    absorbed = mech.absorption(
        dose, general_capacity=general, half_saturation=MP.half_saturation, hill=MP.hill
    )
    navigation = mech.navigation_burden(
        1, hours_per_provider=MP.navigation_hours, coordinated=False, relief=MP.coordination_relief
    )
    change_hours = BASELINE.system.change_hours_per_fte * size_fte * 1.0 * (0.5 + general)
    strain = mech.overload(
        mech.workload(
            hours=hours,
            recipient_hours=MP.recipient_hours,
            internal_work=0.0,
            navigation=navigation,
            change_hours=change_hours,
        ),
        threshold=MP.overload_threshold,
    )
    return mech.net_benefit(absorbed, MP.motivation_build, strain, MP.overload_motivation)


def test_net_benefit_is_benefit_minus_overload_cost():
    g = rng(28)
    a, benefit, strain, cost = (
        g.uniform(0, 1, N),
        g.uniform(0, 2, N),
        g.exponential(1, N),
        g.uniform(0, 2, N),
    )
    value = mech.net_benefit(a, benefit, strain, cost)
    assert value == pytest.approx(benefit * a - cost * strain)
    assert np.all(mech.net_benefit(a, benefit, strain + 1, cost) <= value)
    assert np.all(mech.net_benefit(np.minimum(1, a + 0.1), benefit, strain, cost) >= value)


def test_net_benefit_has_an_interior_optimum_for_a_low_capacity_organization():
    curve = net_benefit_curve(size_fte=10, general=0.15)
    best = int(np.argmax(curve))
    assert 0 < best < len(HOURS) - 1
    assert curve[best] > curve[0] + 0.005  # some TA helps ...
    assert curve[-1] < curve[best] - 0.1  # ... heavy TA leaves it worse off than none
    assert curve[-1] < curve[0]
    steps = np.diff(curve)
    assert np.all(steps[:best] >= -1e-12) and np.all(steps[best:] <= 1e-12)  # rises, then falls


def test_optimal_dose_is_lower_for_low_capacity_organizations():
    low = HOURS[np.argmax(net_benefit_curve(size_fte=10, general=0.15))]
    high = HOURS[np.argmax(net_benefit_curve(size_fte=150, general=0.8))]
    assert low < high - 5
    optima = [
        HOURS[np.argmax(net_benefit_curve(size_fte=size, general=general))]
        for size, general in ((8, 0.1), (10, 0.2), (14, 0.25), (20, 0.3))
    ]
    assert all(0 < optimum < HOURS[-1] for optimum in optima)
    assert np.all(np.diff(optima) >= 0)  # more capacity, more TA worth taking


# ------------------------------------------------------------------ adoption, stages, fidelity


def test_adoption_hazard_bounded_and_increasing_in_each_driver():
    g = rng(29)
    p, q, exposure, beta, absorbed = (
        draw(g, "mechanisms.innovation_p"),
        draw(g, "mechanisms.imitation_q"),
        g.uniform(0, 1, N),
        draw(g, "mechanisms.absorption_adoption"),
        g.uniform(0, 1, N),
    )
    pace = mech.decision_pace(g.uniform(0, 1, N))
    inputs = dict(
        innovation=p,
        imitation=q,
        peer_exposure=exposure,
        absorption_effect=beta,
        absorbed=absorbed,
        pace=pace,
    )
    base = mech.adoption_hazard(**inputs)
    assert np.all((base >= 0) & (base < 1))
    assert np.all(
        mech.adoption_hazard(**{**inputs, "innovation": 0.0, "peer_exposure": 0.0, "absorbed": 0.0})
        == 0
    )
    for bumped in (
        mech.adoption_hazard(**{**inputs, "innovation": p + 0.01}),
        mech.adoption_hazard(**{**inputs, "imitation": q + 0.05, "peer_exposure": exposure + 0.01}),
        mech.adoption_hazard(
            **{**inputs, "peer_exposure": exposure + 0.1, "absorption_effect": beta + 0.1}
        ),
        mech.adoption_hazard(
            **{**inputs, "absorption_effect": beta + 0.1, "absorbed": absorbed + 0.01}
        ),
        mech.adoption_hazard(**{**inputs, "absorbed": absorbed + 0.1}),
        mech.adoption_hazard(
            **{**inputs, "pace": pace + 0.1}
        ),  # better-governed teams decide faster
    ):
        assert np.all(bumped > base)
    assert np.all(mech.adoption_hazard(**{**inputs, "peer_exposure": exposure + 0.1}) >= base)
    one_month = mech.adoption_hazard(
        innovation=MP.innovation_p,
        imitation=0.0,
        peer_exposure=0.0,
        absorption_effect=0.0,
        absorbed=0.0,
        pace=1.0,
    )
    assert one_month == pytest.approx(1 - np.exp(-MP.innovation_p))


def test_adoption_requires_readiness_to_reach_the_threshold():
    g = rng(30)
    hazard, ready, threshold, uniform = g.uniform(0, 1, (4, N))
    adopted = mech.adopts(hazard=hazard, ready=ready, threshold=threshold, uniform=uniform)
    assert not np.any(adopted[ready < threshold])
    assert np.array_equal(
        mech.adopts(hazard=np.ones(N), ready=ready, threshold=threshold, uniform=uniform),
        ready >= threshold,
    )
    ready_all = mech.adopts(
        hazard=np.full(N, 0.3), ready=np.ones(N), threshold=np.zeros(N), uniform=uniform
    )
    assert ready_all.mean() == pytest.approx(0.3, abs=0.03)


def test_penetration_bounded_follows_its_level_of_operation_and_fades_when_inactive():
    g = rng(31)
    p, s, r = g.uniform(0, 1, (3, N))
    rate, reduced = draw(g, "mechanisms.penetration_rate"), draw(g, "mechanisms.reduced_level")
    full = mech.penetration_update(p, specific_mean=s, ready=r, rate=rate, level=1.0)
    assert in_unit(full)
    target = s * r
    assert np.all(np.abs(full - target) <= np.abs(p - target) + 1e-15)
    at_reduced = mech.penetration_update(p, specific_mean=s, ready=r, rate=rate, level=reduced)
    assert in_unit(at_reduced) and np.all(at_reduced <= full + 1e-15)
    assert np.all(np.abs(at_reduced - reduced * target) <= np.abs(p - reduced * target) + 1e-15)
    inactive = mech.penetration_update(p, specific_mean=s, ready=r, rate=rate, level=0.0)
    assert in_unit(inactive) and np.all(inactive <= p)


def test_fidelity_bounded_zero_unless_operating_and_increasing():
    g = rng(32)
    s, sub = g.uniform(0, 1, (2, N))
    eps = draw(g, "mechanisms.fidelity_exponent")
    f = mech.fidelity(s, exponent=eps, substituted=sub, operating=True)
    assert in_unit(f)
    assert np.all(mech.fidelity(s, exponent=eps, substituted=sub, operating=False) == 0)
    assert np.all(
        mech.fidelity(np.minimum(1, s + 0.1), exponent=eps, substituted=sub, operating=True) >= f
    )
    assert np.all(
        mech.fidelity(s, exponent=eps, substituted=np.minimum(1, sub + 0.1), operating=True) >= f
    )


@pytest.mark.parametrize("role", ["doer", "partner", "facilitator"])
def test_fidelity_supplied_by_substitution_drops_when_the_hours_stop(role):
    share = getattr(BASELINE.roles, role).substitution
    specific = np.array([0.05, 0.15, 0.3])
    with_ta = mech.fidelity(
        specific,
        exponent=MP.fidelity_exponent,
        substituted=mech.substitution(
            MP.task_hours, substitution_share=share, task_hours=MP.task_hours
        ),
        operating=True,
    )
    without = mech.fidelity(
        specific,
        exponent=MP.fidelity_exponent,
        substituted=mech.substitution(0.0, substitution_share=share, task_hours=MP.task_hours),
        operating=True,
    )
    own = specific**MP.fidelity_exponent
    assert without == pytest.approx(own)
    assert with_ta - without == pytest.approx(np.minimum(1, own + share) - own)
    if role == "doer":
        assert np.all(with_ta - without > 0.5)  # the dependence a doer leaves behind


def test_capacity_shortfall_is_zero_when_capacity_and_substitution_suffice():
    g = rng(33)
    specific, sub = g.uniform(0, 1, (2, N))
    needed = draw(g, "mechanisms.implement_capacity").clip(0.01)
    shortfall = mech.capacity_shortfall(
        implementation_capacity=specific, substituted=sub, needed=needed
    )
    assert in_unit(shortfall)
    assert np.all((shortfall == 0) == (specific + sub >= needed))
    # a doer's prop gone: the shortfall can only grow
    unpropped = mech.capacity_shortfall(
        implementation_capacity=specific, substituted=0.0, needed=needed
    )
    assert np.all(unpropped >= shortfall)
    assert np.all(
        mech.capacity_shortfall(
            implementation_capacity=np.minimum(1, specific + 0.1), substituted=sub, needed=needed
        )
        <= shortfall
    )
    rate = draw(g, "mechanisms.reduction_rate")
    overload = g.exponential(0.5, N)
    hazard = mech.fallback_hazard(shortfall=shortfall, overload=overload, rate=rate)
    assert in_unit(hazard) and np.all(hazard <= rate + 1e-15)
    assert np.all(mech.fallback_hazard(shortfall=0.0, overload=0.0, rate=rate) == 0)
    assert np.all(mech.fallback_hazard(shortfall=unpropped, overload=overload, rate=rate) >= hazard)
    assert np.all(
        mech.fallback_hazard(shortfall=shortfall, overload=overload + 0.3, rate=rate) >= hazard
    )


def test_taper_factor_is_full_before_withdrawal_then_falls_evenly_to_zero():
    months = np.arange(-3, 20)
    abrupt = mech.taper_factor(months, taper_months=0)
    assert np.all(abrupt[months < 0] == 1) and np.all(abrupt[months >= 0] == 0)
    tapered = mech.taper_factor(months, taper_months=3)
    assert tapered[months >= -1].tolist()[:6] == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0, 0.0])
    assert np.all(np.diff(tapered) <= 0) and in_unit(tapered)
    for taper in range(0, 13):  # the taper gives taper / 2 months of the full dose in all
        assert mech.taper_factor(np.arange(0, 40), taper_months=taper).sum() == pytest.approx(
            taper / 2
        )


def test_a_shock_takes_less_slack_from_well_tied_organizations():
    g = rng(34)
    cut, support = draw(g, "shocks.pandemic.slack_cut"), g.uniform(0, 1, N)
    aid = draw(g, "shocks.pandemic.mutual_aid")
    taken = mech.shock_slack_cut(cut=cut, support=support, mutual_aid=aid)
    assert np.all(taken >= 0) and np.all(taken <= cut + 1e-15)
    assert mech.shock_slack_cut(cut=cut, support=0.0, mutual_aid=aid) == pytest.approx(cut)
    assert np.all(
        mech.shock_slack_cut(cut=cut, support=np.minimum(1, support + 0.2), mutual_aid=aid) <= taken
    )


def test_a_crisis_motivates_only_those_with_capacity_trust_and_ties():
    g = rng(35)
    m, general, trust, support = g.uniform(0, 1, (4, N))
    urgency = draw(g, "shocks.pandemic.urgency")
    inputs = dict(general=general, trust=trust, support=support, urgency=urgency)
    after = mech.crisis_motivation(m, **inputs)
    assert in_unit(after) and np.all(after >= m)
    for name in ("general", "trust", "support"):
        more = mech.crisis_motivation(m, **(inputs | {name: np.minimum(1, inputs[name] + 0.2)}))
        assert np.all(more >= after), name
        none = mech.crisis_motivation(m, **(inputs | {name: 0.0}))
        assert np.all(none == m), name


def test_discontinuation_hazard_bounded_and_lower_with_ownership_and_capacity():
    g = rng(33)
    h0, own, general = draw(g, "mechanisms.discontinuation"), g.uniform(0, 1, N), g.uniform(0, 1, N)
    hazard = mech.discontinuation_hazard(base=h0, ownership=own, general=general)
    assert np.all(hazard >= 0) and np.all(hazard <= h0)
    assert np.all(
        mech.discontinuation_hazard(base=h0, ownership=np.minimum(1, own + 0.1), general=general)
        <= hazard
    )
    assert np.all(
        mech.discontinuation_hazard(base=h0, ownership=own, general=np.minimum(1, general + 0.1))
        <= hazard
    )
    assert np.all(mech.discontinuation_hazard(base=h0, ownership=1.0, general=general) == 0)


def annual(monthly):
    return 1 - (1 - monthly) ** 12


def test_discontinuation_is_five_to_eight_percent_a_year_at_median_ownership_and_capacity():
    model = TransformationModel(BASELINE, rng=0)
    medians = [
        (np.median(model.O), np.median(model.G)),
        (BASELINE.initial.ownership_mean, BASELINE.initial.general_capacity_mean),
    ]
    for ownership, general in medians:
        rate = annual(
            mech.discontinuation_hazard(
                base=MP.discontinuation, ownership=ownership, general=general
            )
        )
        assert 0.05 <= rate <= 0.08, (ownership, general, rate)


def test_lagged_moves_monotonically_toward_target():
    g = rng(34)
    value, target, delay = g.uniform(-50, 50, N), g.uniform(-50, 50, N), g.uniform(1, 120, N)
    moved = mech.lagged(value, target=target, delay=delay)
    assert np.all(np.minimum(value, target) - 1e-9 <= moved) and np.all(
        moved <= np.maximum(value, target) + 1e-9
    )
    assert np.all(np.abs(moved - target) <= np.abs(value - target))
    assert mech.lagged(value, target=target, delay=1.0) == pytest.approx(target)
    path = [0.0]
    for _ in range(120):
        path.append(mech.lagged(path[-1], target=1.0, delay=BASELINE.outcomes.delay_health))
    assert np.all(np.diff(path) > 0) and path[-1] < 1
    assert path[int(BASELINE.outcomes.delay_health)] == pytest.approx(
        1 - np.exp(-1), abs=0.02
    )  # ~63 % after tau


def test_operating_level_is_full_reduced_or_none_by_stage():
    level = mech.operating_level(np.arange(len(mech.STAGES)), reduced_level=0.4)
    expected = np.zeros(len(mech.STAGES))
    expected[[mech.IMPLEMENTING, mech.SUSTAINING]] = 1.0
    expected[mech.REDUCED] = 0.4
    assert level.tolist() == expected.tolist()


def test_block_support_weighs_the_acting_blocks_against_the_capacity_needed():
    g = rng(35)
    specific = g.uniform(0, 1, (N, len(BUILDING_BLOCKS)))
    weights = np.array(mech.ADMISSION_BLOCKS)
    support = mech.block_support(specific, weights=weights, needed=MP.implement_capacity)
    assert in_unit(support)
    # only the acting blocks count: raising a block of weight 0 changes nothing
    unused = int(np.flatnonzero(weights == 0)[0])
    raised = specific.copy()
    raised[:, unused] = 1.0
    assert mech.block_support(raised, weights=weights, needed=0.25) == pytest.approx(
        mech.block_support(specific, weights=weights, needed=0.25)
    )
    # by hand: all blocks at half the need carry half the change; at the need all of it
    assert mech.block_support(
        np.full((1, len(BUILDING_BLOCKS)), 0.1), weights=weights, needed=0.2
    ) == pytest.approx([0.5])
    assert mech.block_support(
        np.full((1, len(BUILDING_BLOCKS)), 0.3), weights=weights, needed=0.2
    ) == pytest.approx([1.0])


def test_practice_change_needs_delivery_fidelity_and_the_acting_blocks():
    g = rng(36)
    level, fidelity, support = g.uniform(0, 1, (3, N))
    gamma = draw(g, "outcomes.fidelity_gamma")
    change = mech.practice_change(
        level=level, fidelity_value=fidelity, gamma=gamma, support=support
    )
    assert in_unit(change)
    for zero in ("level", "fidelity_value", "support"):
        values = dict(level=level, fidelity_value=fidelity, gamma=gamma, support=support)
        values[zero] = 0.0
        assert np.all(mech.practice_change(**values) == 0)
    more = mech.practice_change(
        level=level, fidelity_value=np.minimum(1, fidelity + 0.1), gamma=gamma, support=support
    )
    assert np.all(more >= change)
    at_default = mech.practice_change(
        level=1.0, fidelity_value=fidelity, gamma=BASELINE.outcomes.fidelity_gamma, support=1.0
    )
    assert np.all(at_default <= fidelity + 1e-15)  # gamma > 1 punishes low fidelity


def test_avoidable_admissions_fall_with_change_in_proportion_to_risk():
    g = rng(37)
    change, risk = g.uniform(0, 1, N), g.uniform(0.5, 2.5, N)
    cut = BASELINE.outcomes.admissions_cut
    rate = mech.avoidable_admissions(base_rate=12.0 * risk, change=change, max_cut=cut)
    assert np.all(rate <= 12.0 * risk) and np.all(rate >= 12.0 * risk * (1 - cut))
    assert mech.avoidable_admissions(base_rate=12.0, change=1.0, max_cut=0.15) == pytest.approx(
        10.2
    )
    # the same change avoids more where the population is at higher risk
    avoided = 12.0 * risk - rate
    assert avoided == pytest.approx(12.0 * risk * cut * change)


def test_patient_experience_rises_with_change_and_falls_with_staff_strain():
    o = BASELINE.outcomes
    values = dict(base=o.experience_base, gain=o.experience_gain, strain_loss=o.experience_strain)
    none = mech.patient_experience_target(change=0.0, overload=0.0, **values)
    assert none == o.experience_base
    assert mech.patient_experience_target(change=1.0, overload=0.0, **values) == pytest.approx(
        o.experience_base + o.experience_gain
    )
    assert mech.patient_experience_target(change=0.5, overload=0.5, **values) < (
        mech.patient_experience_target(change=0.5, overload=0.0, **values)
    )


def test_provider_experience_rises_with_working_change_and_falls_with_workload():
    o = BASELINE.outcomes
    values = dict(
        base=o.provider_base,
        gain=o.provider_gain,
        workload_loss=o.provider_workload,
        overload_loss=o.provider_overload,
    )
    g = rng(38)
    change, workload = g.uniform(0, 1, (2, N))
    overload = mech.overload(workload, threshold=MP.overload_threshold)
    score = mech.provider_experience_target(
        working_change=change, workload=workload, overload=overload, **values
    )
    busier = mech.provider_experience_target(
        working_change=change,
        workload=workload + 0.5,
        overload=mech.overload(workload + 0.5, threshold=MP.overload_threshold),
        **values,
    )
    assert np.all(busier < score)
    changed = mech.provider_experience_target(
        working_change=np.minimum(1, change + 0.2), workload=workload, overload=overload, **values
    )
    assert np.all(changed >= score)
    assert mech.provider_experience_target(
        working_change=0.0, workload=0.0, overload=0.0, **values
    ) == pytest.approx(o.provider_base)


def test_savings_wait_for_sustained_change_and_are_kept_as_funding_allows():
    o = BASELINE.outcomes
    values = dict(savings=o.savings, change=0.5, after=o.savings_after, kept_base=o.savings_kept)
    months = np.arange(0, 2 * o.savings_after + 1)
    saved = mech.kept_savings(months_sustained=months, funding_support=1.0, **values)
    assert np.all(saved[months < o.savings_after] == 0)
    assert np.all(saved[months >= o.savings_after] == pytest.approx(o.savings * 0.5))
    without = mech.kept_savings(months_sustained=months, funding_support=0.0, **values)
    assert without[-1] == pytest.approx(o.savings * 0.5 * o.savings_kept)
    assert np.all(without <= saved)


# ------------------------------------------------------------------ acceptability and satisfaction


def test_ta_fit_is_expertise_weighted_by_the_gaps_and_rises_when_aimed_at_them():
    g = rng(40)
    expertise, specific = g.uniform(0, 1, (2, N, 8))
    fit = mech.ta_fit(expertise=expertise, specific=specific)
    assert in_unit(fit)
    assert mech.ta_fit(expertise=np.full((N, 8), 0.7), specific=specific) == pytest.approx(0.7)
    weakest = np.argmin(specific, axis=1)
    aimed = expertise.copy()
    aimed[np.arange(N), weakest] = np.minimum(1, aimed[np.arange(N), weakest] + 0.3)
    assert np.all(mech.ta_fit(expertise=aimed, specific=specific) >= fit)


def test_satisfaction_falls_with_burden_and_acceptability_follows_it_only_with_ta():
    g = rng(41)
    fit, acceptability = g.uniform(0, 1, (2, N))
    overload = g.exponential(0.5, N)
    satisfied = mech.satisfaction(fit=fit, overload=overload)
    assert in_unit(satisfied) and np.all(satisfied <= fit)
    assert np.all(mech.satisfaction(fit=fit, overload=0.0) == fit)
    assert np.all(mech.satisfaction(fit=fit, overload=overload + 0.2) <= satisfied)
    rate = draw(g, "mechanisms.acceptability_rate")
    received = g.uniform(0, 1, N) < 0.5
    after = mech.acceptability_update(
        acceptability, satisfied=satisfied, received=received, rate=rate
    )
    assert in_unit(after) and np.all(after[~received] == acceptability[~received])
    closer = np.abs(after - satisfied) <= np.abs(acceptability - satisfied) + 1e-15
    assert np.all(closer[received])
    factor = mech.acceptance_factor(np.linspace(0, 1, 11))
    assert factor[5] == pytest.approx(1.0) and np.all(np.diff(factor) > 0)
    kept = mech.retention_factor(np.linspace(0, 1, 11))
    assert kept[5] == pytest.approx(1.0) and np.all(np.diff(kept) < 0) and np.all(kept > 0)


def test_implementation_capacity_is_set_by_the_weakest_blocks():
    g = rng(41)
    specific = g.uniform(0, 1, (N, 8))
    capacity = {k: mech.implementation_capacity(specific, weakest=k) for k in range(1, 9)}
    assert capacity[1] == pytest.approx(specific.min(axis=1))
    assert capacity[8] == pytest.approx(specific.mean(axis=1))
    assert all(np.all(capacity[k] <= capacity[k + 1] + 1e-12) for k in range(1, 8))
    # raising a strong block does not make up for a weak one
    strong = specific.argmax(axis=1)
    raised = specific.copy()
    raised[np.arange(N), strong] = 1.0
    assert mech.implementation_capacity(raised, weakest=4) == pytest.approx(capacity[4])


def test_data_use_is_the_mean_of_the_named_blocks():
    g = rng(42)
    specific = g.uniform(0, 1, (N, 8))
    data = mech.data_use(specific, blocks=(4, 7))
    assert data == pytest.approx((specific[:, 4] + specific[:, 7]) / 2)
    assert in_unit(data)


def test_relationship_work_builds_the_blocks_and_content_mostly_general_capacity():
    g = rng(43)
    absorbed = g.uniform(0, 1, N)
    relationship = absorbed * g.uniform(0, 1, N)
    share = draw(g, "mechanisms.content_specific_share")
    general, specific = mech.capacity_routes(
        absorbed=absorbed, relationship_absorbed=relationship, content_specific_share=share
    )
    assert general + specific == pytest.approx(absorbed)  # nothing absorbed is lost or made
    assert np.all(general >= 0) and np.all(specific >= relationship - 1e-15)
    content_only, _ = mech.capacity_routes(
        absorbed=absorbed, relationship_absorbed=0.0, content_specific_share=0.0
    )
    assert content_only == pytest.approx(absorbed)
    _, coaching_only = mech.capacity_routes(
        absorbed=absorbed, relationship_absorbed=absorbed, content_specific_share=share
    )
    assert coaching_only == pytest.approx(absorbed)


def test_support_phase_follows_the_teams_progress_both_ways():
    g = rng(44)
    operating = g.uniform(0, 1, N)
    adopting = np.minimum(1, operating + g.uniform(0, 1, N))  # operating members are adopting
    building, fading = draw(g, "funder.building_share"), draw(g, "funder.fading_share")
    phase = mech.support_phase(
        adopting_share=adopting,
        operating_share=operating,
        building_share=building,
        fading_share=fading,
    )
    assert np.all((phase == mech.FOUNDATIONAL) == (adopting < building))
    assert np.all(phase[(adopting >= building) & (operating >= fading)] == mech.FADING)
    # progress moves the phase on, a slip moves it back: the phase is monotone in progress
    further = mech.support_phase(
        adopting_share=np.minimum(1, adopting + 0.1),
        operating_share=np.minimum(1, operating + 0.1),
        building_share=building,
        fading_share=fading,
    )
    assert np.all(further >= phase)
    assert len(mech.SUPPORT_PHASES) == 3


def test_transition_work_follows_the_contracts_and_the_supports_take_their_share():
    g = rng(46)
    home_care, lead = g.integers(0, 4, N), g.integers(0, 8, N)
    hours, support = draw(g, "home_care.contract_hours"), draw(g, "home_care.contract_support")
    inputs = dict(home_care_contracts=home_care, lead_contracts=lead, hours=hours)
    contracted = mech.transition_work(contracted=True, support=0.0, **inputs)
    direct = mech.transition_work(contracted=False, support=0.0, **inputs)
    assert contracted == pytest.approx(hours * (home_care + lead))
    assert direct == pytest.approx(hours * lead)  # in-house: only the lead's work
    supported = mech.transition_work(contracted=True, support=support, **inputs)
    assert supported == pytest.approx((1 - support) * contracted)
    assert np.all(mech.transition_work(contracted=True, support=1.0, **inputs) == 0)


def test_discounting_at_three_percent_a_year_and_none():
    assert mech.discount_factor(12, rate=0.03) == pytest.approx(1 / 1.03)
    assert mech.discount_factor(120, rate=0.03) == pytest.approx(1.03**-10)
    assert mech.discount_factor(np.arange(60), rate=0.0) == pytest.approx(np.ones(60))
    later = mech.discount_factor(np.arange(1, 61), rate=0.05)
    assert np.all(np.diff(later) < 0) and np.all(later < 1)
