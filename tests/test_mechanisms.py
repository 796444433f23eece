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
from scipy import sparse

from sim import TransformationModel, load_scenario, parameter_table
from sim import mechanisms as mech
from sim.params import Scenario

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


def test_is_adopting_is_exactly_preparing_implementing_sustaining():
    stages = np.arange(len(mech.STAGES))
    assert stages[mech.is_adopting(stages)].tolist() == [
        mech.PREPARING,
        mech.IMPLEMENTING,
        mech.SUSTAINING,
    ]
    assert [mech.STAGES[code] for code in (mech.PREPARING, mech.IMPLEMENTING, mech.SUSTAINING)] == [
        "preparing",
        "implementing",
        "sustaining",
    ]


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


def test_peer_gap_nonnegative_and_measures_shortfall_behind_neighbours():
    g = rng(20)
    n = 300
    adjacency = sparse.random(n, n, density=0.05, random_state=21, format="csr")
    adjacency = adjacency + adjacency.T
    totals = np.asarray(adjacency.sum(axis=1)).ravel()
    weights = sparse.diags(np.divide(1.0, totals, out=np.zeros(n), where=totals > 0)) @ adjacency
    values = g.uniform(0, 1, (n, 8))
    gap = mech.peer_gap(weights, values)
    assert np.all(gap >= 0) and in_unit(gap)
    assert np.all(mech.peer_gap(weights, np.full((n, 8), 0.4)) == pytest.approx(0.0))
    chain = sparse.csr_matrix(np.array([[0, 1.0, 0], [0.5, 0, 0.5], [0, 1.0, 0]]))
    assert mech.peer_gap(chain, np.array([0.2, 0.6, 0.9])) == pytest.approx([0.4, 0.0, 0.0])


def test_learning_by_doing_only_while_working_and_not_when_substituted():
    g = rng(22)
    rate, general, sub = draw(g, "mechanisms.learning_rate"), g.uniform(0, 1, N), g.uniform(0, 1, N)
    learning = mech.learning_by_doing(rate=rate, general=general, working=True, substituted=sub)
    assert np.all(learning >= 0) and np.all(learning <= rate * general + 1e-15)
    assert np.all(
        mech.learning_by_doing(rate=rate, general=general, working=False, substituted=sub) == 0
    )
    assert np.all(
        mech.learning_by_doing(rate=rate, general=general, working=True, substituted=np.ones(N))
        == 0
    )
    assert np.all(
        mech.learning_by_doing(rate=rate, general=general, working=True, substituted=sub * 0.5)
        >= learning
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
        peer_share=x["peer"],
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


def test_ownership_bounded_built_by_absorption_eroded_by_substitution():
    g = rng(25)
    own, absorbed, sub = g.uniform(0, 1, (3, N))
    gain, loss = draw(g, "roles.facilitator.ownership_gain"), draw(g, "mechanisms.ownership_loss")
    base = mech.ownership_update(own, absorbed=absorbed, gain=gain, loss=loss, substituted=sub)
    assert in_unit(base)
    assert np.all(
        mech.ownership_update(
            own, absorbed=np.minimum(1, absorbed + 0.2), gain=gain, loss=loss, substituted=sub
        )
        >= base
    )
    assert np.all(
        mech.ownership_update(
            own, absorbed=absorbed, gain=gain, loss=loss, substituted=np.minimum(1, sub + 0.2)
        )
        <= base
    )
    assert np.all(
        mech.ownership_update(own, absorbed=0.0, gain=gain, loss=loss, substituted=0.0) == own
    )


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
    p, q, share, beta, absorbed = (
        draw(g, "mechanisms.innovation_p"),
        draw(g, "mechanisms.imitation_q"),
        g.uniform(0, 1, N),
        draw(g, "mechanisms.absorption_adoption"),
        g.uniform(0, 1, N),
    )
    inputs = dict(
        innovation=p, imitation=q, peer_share=share, absorption_effect=beta, absorbed=absorbed
    )
    base = mech.adoption_hazard(**inputs)
    assert np.all((base >= 0) & (base < 1))
    assert np.all(
        mech.adoption_hazard(**{**inputs, "innovation": 0.0, "peer_share": 0.0, "absorbed": 0.0})
        == 0
    )
    for bumped in (
        mech.adoption_hazard(**{**inputs, "innovation": p + 0.01}),
        mech.adoption_hazard(**{**inputs, "imitation": q + 0.05, "peer_share": share + 0.01}),
        mech.adoption_hazard(
            **{**inputs, "peer_share": share + 0.1, "absorption_effect": beta + 0.1}
        ),
        mech.adoption_hazard(
            **{**inputs, "absorption_effect": beta + 0.1, "absorbed": absorbed + 0.01}
        ),
        mech.adoption_hazard(**{**inputs, "absorbed": absorbed + 0.1}),
    ):
        assert np.all(bumped > base)
    assert np.all(mech.adoption_hazard(**{**inputs, "peer_share": share + 0.1}) >= base)
    one_month = mech.adoption_hazard(
        innovation=MP.innovation_p,
        imitation=0.0,
        peer_share=0.0,
        absorption_effect=0.0,
        absorbed=0.0,
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


def test_penetration_bounded_follows_its_target_and_fades_when_inactive():
    g = rng(31)
    p, s, r = g.uniform(0, 1, (3, N))
    rate = draw(g, "mechanisms.penetration_rate")
    active = mech.penetration_update(p, specific_mean=s, ready=r, rate=rate, active=True)
    assert in_unit(active)
    target = s * r
    assert np.all(np.abs(active - target) <= np.abs(p - target) + 1e-15)
    inactive = mech.penetration_update(p, specific_mean=s, ready=r, rate=rate, active=False)
    assert in_unit(inactive) and np.all(inactive <= p)


def test_fidelity_bounded_zero_unless_implementing_and_increasing():
    g = rng(32)
    s, sub = g.uniform(0, 1, (2, N))
    eps = draw(g, "mechanisms.fidelity_exponent")
    f = mech.fidelity(s, exponent=eps, substituted=sub, implementing=True)
    assert in_unit(f)
    assert np.all(mech.fidelity(s, exponent=eps, substituted=sub, implementing=False) == 0)
    assert np.all(
        mech.fidelity(np.minimum(1, s + 0.1), exponent=eps, substituted=sub, implementing=True) >= f
    )
    assert np.all(
        mech.fidelity(s, exponent=eps, substituted=np.minimum(1, sub + 0.1), implementing=True) >= f
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
        implementing=True,
    )
    without = mech.fidelity(
        specific,
        exponent=MP.fidelity_exponent,
        substituted=mech.substitution(0.0, substitution_share=share, task_hours=MP.task_hours),
        implementing=True,
    )
    own = specific**MP.fidelity_exponent
    assert without == pytest.approx(own)
    assert with_ta - without == pytest.approx(np.minimum(1, own + share) - own)
    if role == "doer":
        assert np.all(with_ta - without > 0.5)  # the dependence a doer leaves behind


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


def test_outcome_gain_bounded_and_needs_reach_and_fidelity():
    g = rng(35)
    p, f = g.uniform(0, 1, (2, N))
    gamma = draw(g, "outcomes.fidelity_gamma")
    gain = mech.outcome_gain(penetration=p, fidelity_value=f, gamma=gamma)
    assert in_unit(gain)
    assert np.all(
        mech.outcome_gain(penetration=np.minimum(1, p + 0.1), fidelity_value=f, gamma=gamma) >= gain
    )
    assert np.all(
        mech.outcome_gain(penetration=p, fidelity_value=np.minimum(1, f + 0.1), gamma=gamma) >= gain
    )
    assert np.all(
        mech.outcome_gain(penetration=0.0, fidelity_value=f, gamma=gamma) == 0
    ) and np.all(mech.outcome_gain(penetration=p, fidelity_value=0.0, gamma=gamma) == 0)
    assert np.all(
        mech.outcome_gain(penetration=p, fidelity_value=f, gamma=BASELINE.outcomes.fidelity_gamma)
        <= p * f + 1e-15
    )  # gamma > 1 punishes low fidelity
