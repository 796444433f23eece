"""Each rule of sim/mechanisms.py: bounds, monotonicity, saturation, gating, thresholds, optimum.

Random inputs come from fixed-seed numpy Generators; rule constants are drawn over the whole
allowed range the scenario schema declares for them (``parameter_table``), so a bound that
holds only at the defaults fails here.
"""

from __future__ import annotations

import inspect

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
    source = open(__file__, encoding="utf-8").read()
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
    quality = mech.caseload_quality(caseload, penalty, free)
    assert np.all(np.isfinite(quality)) and np.all((quality > 0) & (quality <= 1))
    assert np.all(quality[caseload <= free] == 1.0)

    grid = np.arange(0, 300)
    curve = mech.caseload_quality(grid, MP.caseload_penalty, MP.caseload_free)
    assert np.all(np.diff(curve) <= 0)
    assert np.all(np.diff(curve[grid >= MP.caseload_free]) < 0)
    # q = 1 / (1 + psi * (c - c0)): 10 organizations beyond c0 cost 1 - 1/(1 + 10 psi).
    assert mech.caseload_quality(
        MP.caseload_free + 10, MP.caseload_penalty, MP.caseload_free
    ) == pytest.approx(1 / (1 + 10 * MP.caseload_penalty))


def test_navigation_burden_zero_for_one_provider_grows_with_providers_reduced_by_coordination():
    g = rng(2)
    hours, relief = (
        draw(g, "mechanisms.navigation_hours"),
        draw(g, "mechanisms.coordination_relief"),
    )
    for coordinated in (False, True):
        assert np.all(mech.navigation_burden(np.ones(N), hours, coordinated, relief) == 0)
        assert np.all(mech.navigation_burden(np.zeros(N), hours, coordinated, relief) == 0)
    providers = np.arange(1, 9)
    uncoordinated = mech.navigation_burden(
        providers, MP.navigation_hours, False, MP.coordination_relief
    )
    coordinated = mech.navigation_burden(
        providers, MP.navigation_hours, True, MP.coordination_relief
    )
    assert uncoordinated == pytest.approx(MP.navigation_hours * (providers - 1))
    assert np.all(np.diff(uncoordinated) > 0)
    assert np.all(coordinated[1:] < uncoordinated[1:]) and np.all(coordinated >= 0)
    assert coordinated[1:] == pytest.approx((1 - MP.coordination_relief) * uncoordinated[1:])
    assert MP.coordination_relief > 0.5  # coordination removes most of it (DESIGN 5.1)
    many = g.integers(2, 10, N)
    assert np.all(
        mech.navigation_burden(many, hours, True, relief)
        <= mech.navigation_burden(many, hours, False, relief)
    )


def test_provider_time_per_hour_content_is_one_to_many_and_travel_costs_time():
    g = rng(3)
    mix = g.dirichlet(np.ones(3), N)
    reach = draw(g, "mechanisms.content_reach")
    travel = draw(g, "mechanisms.travel_share_northern")
    time = mech.provider_time_per_hour(mix[:, 0], mix[:, 1], mix[:, 2], reach, travel)
    assert np.all(np.isfinite(time)) and np.all(time > 0)
    assert np.all(time <= 1.0 / (1.0 - travel) + 1e-12)
    no_travel = mech.provider_time_per_hour(mix[:, 0], mix[:, 1], mix[:, 2], reach, 0.0)
    assert np.all(time >= no_travel)
    assert mech.provider_time_per_hour(1.0, 0.0, 0.0, 5.0, 0.0) == pytest.approx(0.2)
    assert mech.provider_time_per_hour(0.0, 1.0, 0.0, 5.0, 0.0) == pytest.approx(1.0)
    assert mech.provider_time_per_hour(0.0, 1.0, 0.0, 5.0, 0.5) == pytest.approx(2.0)


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
            x["hours"],
            x["contacts"],
            contact,
            x["build"],
            x["half"],
            x["decay"],
            x["modality"],
        )
        assert in_unit(updated)
    extreme = mech.trust_update(np.ones(3), 1e6, 4.3, True, 1.0, 0.1, 0.5, 1.0)
    assert in_unit(extreme)


def test_trust_decays_without_contact_and_stays_with_contact_but_no_hours():
    x = trust_inputs(5)
    faded = mech.trust_update(
        x["trust"],
        x["hours"],
        x["contacts"],
        False,
        x["build"],
        x["half"],
        x["decay"],
        x["modality"],
    )
    assert faded == pytest.approx(x["trust"] * (1 - x["decay"]))
    assert np.all(faded <= x["trust"])
    decaying = x["trust"] * (x["decay"] > 0) > 0
    assert np.all(faded[decaying] < x["trust"][decaying])
    idle = mech.trust_update(
        x["trust"], 0.0, x["contacts"], True, x["build"], x["half"], x["decay"], x["modality"]
    )
    assert idle == pytest.approx(x["trust"])


def test_trust_grows_with_relationship_hours_and_modality():
    x = trust_inputs(6)
    more = x["hours"] + rng(7).uniform(0.1, 10, N)
    base = mech.trust_update(
        x["trust"],
        x["hours"],
        x["contacts"],
        True,
        x["build"],
        x["half"],
        x["decay"],
        x["modality"],
    )
    higher = mech.trust_update(
        x["trust"], more, x["contacts"], True, x["build"], x["half"], x["decay"], x["modality"]
    )
    assert np.all(base >= x["trust"])
    assert np.all(higher >= base)
    room = (x["trust"] < 0.99) & (x["build"] > 0.01)
    assert np.all(higher[room] > base[room])
    in_person = mech.trust_update(
        x["trust"], x["hours"], x["contacts"], True, x["build"], x["half"], x["decay"], 1.0
    )
    assert np.all(in_person >= base)
    defaults = mech.trust_update(
        np.full(4, 0.4),
        np.array([0.0, 1.0, 4.0, 16.0]),
        1.0,
        True,
        MP.trust_build,
        MP.trust_half_hours,
        MP.trust_decay,
        1.0,
    )
    assert defaults[0] == pytest.approx(0.4) and np.all(np.diff(defaults) > 0) and defaults[-1] < 1


def test_regular_contact_builds_at_least_as_much_trust_for_the_same_hours():
    x = trust_inputs(8)
    args = (x["build"], x["half"], x["decay"], x["modality"])
    by_contacts = [
        mech.trust_update(x["trust"], x["hours"], contacts, True, *args) for contacts in CONTACTS
    ]
    for fewer, more in zip(by_contacts, by_contacts[1:]):
        assert np.all(more >= fewer - 1e-12)
    weekly = mech.trust_update(
        0.4,
        8.0,
        mech.CONTACTS_PER_CONTACT_MONTH["weekly"],
        True,
        MP.trust_build,
        MP.trust_half_hours,
        MP.trust_decay,
        1.0,
    )
    monthly = mech.trust_update(
        0.4,
        8.0,
        mech.CONTACTS_PER_CONTACT_MONTH["monthly"],
        True,
        MP.trust_build,
        MP.trust_half_hours,
        MP.trust_decay,
        1.0,
    )
    assert weekly > monthly + 0.01

    # The same quarter's hours: every month, or bunched into one contact month then two gaps.
    hours = x["hours"] / 3
    regular = x["trust"]
    for _ in range(3):
        regular = mech.trust_update(regular, hours, 1.0, True, *args)
    bunched = mech.trust_update(x["trust"], 3 * hours, 1.0, True, *args)
    for _ in range(2):
        bunched = mech.trust_update(bunched, 0.0, 1.0, False, *args)
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
    dose = mech.effective_dose(content, coaching, peer, quality, trust, kappa, modality, cw, pw)
    assert np.all(np.isfinite(dose)) and np.all(dose >= 0)
    assert np.all(mech.effective_dose(0.0, 0.0, 0.0, quality, trust, kappa, modality, cw, pw) == 0)
    bump = g.uniform(0.1, 5, N)
    for changed in (
        mech.effective_dose(
            content + bump, coaching, peer, quality, trust, kappa, modality, cw, pw
        ),
        mech.effective_dose(
            content, coaching + bump, peer, quality, trust, kappa, modality, cw, pw
        ),
        mech.effective_dose(
            content, coaching, peer + bump, quality, trust, kappa, modality, cw, pw
        ),
        mech.effective_dose(
            content, coaching, peer, np.minimum(1, quality + 0.1), trust, kappa, modality, cw, pw
        ),
        mech.effective_dose(
            content, coaching, peer, quality, np.minimum(1, trust + 0.1), kappa, modality, cw, pw
        ),
        mech.effective_dose(
            content, coaching, peer, quality, trust, kappa, np.minimum(1, modality + 0.1), cw, pw
        ),
    ):
        assert np.all(changed >= dose)
    # Defaults: a coaching hour counts more than a content hour; content is not diluted by caseload.
    coach_hour = mech.effective_dose(
        0.0, 1.0, 0.0, 1.0, 1.0, MP.trust_exponent, 1.0, MP.content_weight, MP.peer_weight
    )
    content_hour = mech.effective_dose(
        1.0, 0.0, 0.0, 1.0, 1.0, MP.trust_exponent, 1.0, MP.content_weight, MP.peer_weight
    )
    assert content_hour < coach_hour
    assert mech.effective_dose(
        1.0, 0.0, 0.0, 0.2, 1.0, MP.trust_exponent, 1.0, MP.content_weight, MP.peer_weight
    ) == pytest.approx(content_hour)
    assert mech.effective_dose(
        0.0, 1.0, 0.0, 0.2, 1.0, MP.trust_exponent, 1.0, MP.content_weight, MP.peer_weight
    ) == pytest.approx(0.2 * coach_hour)


# ------------------------------------------------------------------ absorption


def test_absorption_bounded_and_zero_without_dose():
    g = rng(10)
    dose, general = g.exponential(10, N), g.uniform(0, 1, N)
    k0, hill = draw(g, "mechanisms.half_saturation"), draw(g, "mechanisms.hill")
    absorbed = mech.absorption(dose, general, k0, hill)
    assert in_unit(absorbed)
    assert np.all(mech.absorption(np.zeros(N), general, k0, hill) == 0)
    # Half absorption at u = K = K0 / (0.5 + G).
    assert mech.absorption(k0 / (0.5 + general), general, k0, hill) == pytest.approx(
        np.full(N, 0.5)
    )


def test_absorption_increases_in_dose_and_in_general_capacity():
    g = rng(11)
    dose, general = g.uniform(0.01, 50, N), g.uniform(0, 0.9, N)
    k0, hill = draw(g, "mechanisms.half_saturation"), draw(g, "mechanisms.hill")
    base = mech.absorption(dose, general, k0, hill)
    assert np.all(mech.absorption(dose * 1.2, general, k0, hill) > base)
    assert np.all(mech.absorption(dose, general + 0.1, k0, hill) > base)
    grid = np.linspace(0, 40, 401)
    for general_value in (0.0, 0.3, 0.6, 1.0):
        assert np.all(
            np.diff(mech.absorption(grid, general_value, MP.half_saturation, MP.hill)) > 0
        )


@pytest.mark.parametrize("hill", [1.0, 1.5, 2.0, 4.0])
def test_absorption_saturates_towards_one(hill):
    general = np.linspace(0, 1, 11)
    for k0 in RANGES["mechanisms.half_saturation"]:
        assert np.all(mech.absorption(1e4, general, k0, hill) > 0.99)
        assert np.all(mech.absorption(1e8, general, k0, hill) > 1 - 1e-6)
    grid = np.linspace(0, 200, 2001)
    gains = np.diff(mech.absorption(grid, 0.5, MP.half_saturation, hill))
    assert gains[-1] < 0.01 * gains.max()  # diminishing returns at high dose


def test_absorption_is_concave_from_the_start_when_hill_is_one():
    grid = np.linspace(0, 40, 801)
    for general in (0.0, 0.5, 1.0):
        for k0 in (1.0, 4.0, 20.0):
            curve = mech.absorption(grid, general, k0, 1.0)
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
            gain = lambda u: (
                mech.absorption(u + step, general, k0, hill) - mech.absorption(u, general, k0, hill)
            )
            assert gain(0.0) < 0.5 * gain(k / 2)
            inflection = k * ((hill - 1) / (hill + 1)) ** (1 / hill)  # of u^n / (K^n + u^n)
            before = np.linspace(0, 0.95 * inflection, 200)
            after = np.linspace(1.05 * inflection, 10 * k, 200)
            assert np.all(
                np.diff(mech.absorption(before, general, k0, hill), 2) > 0
            )  # convex start: a threshold
            assert np.all(
                np.diff(mech.absorption(after, general, k0, hill), 2) < 0
            )  # then saturation
    # With default n, 10 % of the half-saturation dose is absorbed far less than 10 % as well as at K.
    k = MP.half_saturation / 1.0
    assert mech.absorption(0.1 * k, 0.5, MP.half_saturation, MP.hill) < 0.1 * 0.5


# ------------------------------------------------------------------ readiness and capacity


def test_readiness_bounded_increasing_and_a_geometric_mean():
    g = rng(12)
    m, gc, s = g.uniform(0, 1, (3, N))
    ready = mech.readiness(m, gc, s, MP.readiness_weights)
    assert in_unit(ready)
    assert mech.readiness(m, m, m) == pytest.approx(m)
    for bumped in (
        mech.readiness(np.minimum(1, m + 0.1), gc, s),
        mech.readiness(m, np.minimum(1, gc + 0.1), s),
        mech.readiness(m, gc, np.minimum(1, s + 0.1)),
    ):
        assert np.all(bumped >= ready)
    weights = g.uniform(0.1, 5, (N, 3))
    for row, w in enumerate(weights[:200]):
        assert in_unit(mech.readiness(m[row], gc[row], s[row], tuple(w)))


def test_readiness_is_zero_when_any_component_is_zero():
    g = rng(13)
    m, gc, s = g.uniform(0.05, 1, (3, N))
    zero = np.zeros(N)
    for weights in ((1.0, 1.0, 1.0), (2.0, 1.0, 0.5), tuple(MP.readiness_weights)):
        assert np.all(mech.readiness(zero, gc, s, weights) == 0)
        assert np.all(mech.readiness(m, zero, s, weights) == 0)
        assert np.all(mech.readiness(m, gc, zero, weights) == 0)
        assert np.all(mech.readiness(m, gc, s, weights) > 0)


def test_capacity_gate_bounded_zero_without_motivation_or_capacity_and_increasing():
    g = rng(14)
    m, gc = g.uniform(0, 1, (2, N))
    dependence = g.uniform(0.05, RANGES["roles.partner.readiness_dependence"][1], N)
    gate = mech.capacity_gate(m, gc, dependence)
    assert in_unit(gate)
    assert np.all(mech.capacity_gate(np.zeros(N), gc, dependence) == 0)
    assert np.all(mech.capacity_gate(m, np.zeros(N), dependence) == 0)
    assert np.all(mech.capacity_gate(np.minimum(1, m + 0.1), gc, dependence) >= gate)
    assert np.all(mech.capacity_gate(m, np.minimum(1, gc + 0.1), dependence) >= gate)
    # Roles that depend more on readiness get less through the same gate (facilitator < partner < doer).
    roles = BASELINE.roles
    by_role = [
        mech.capacity_gate(0.4, 0.4, getattr(roles, role).readiness_dependence)
        for role in ("doer", "partner", "facilitator")
    ]
    assert by_role[0] > by_role[1] > by_role[2] > 0


def test_capacity_gate_stays_shut_at_zero_readiness_for_every_allowed_dependence():
    low, _ = RANGES["roles.doer.readiness_dependence"]
    assert mech.capacity_gate(0.0, 0.8, low) == 0
    assert mech.capacity_gate(0.8, 0.0, low) == 0


def capacity_inputs(seed):
    g = rng(seed)
    return dict(
        specific=g.uniform(0, 1, (N, 8)),
        absorbed=g.uniform(0, 1, N),
        transfer=draw(g, "mechanisms.capacity_rate") * g.uniform(0, 1, N),
        match=mech.expertise_match(
            g.uniform(0, 1, (N, 8)),
            g.uniform(0, 1, (N, 8)),
            draw(g, "mechanisms.expertise_focus", 1)[0],
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
    gate = mech.capacity_gate(x["m"], x["g"], x["dependence"])
    args = (x["transfer"], x["match"], x["spillover"], x["peer_gap"], x["decay"], x["learning"])
    low = mech.specific_capacity_update(x["specific"], x["absorbed"] * 0.5, gate, *args)
    high = mech.specific_capacity_update(x["specific"], x["absorbed"], gate, *args)
    assert in_unit(low) and in_unit(high)
    assert np.all(high >= low)
    extreme = mech.specific_capacity_update(
        np.ones((3, 8)),
        np.ones(3),
        np.ones(3),
        1.0,
        np.full((3, 8), 8.0),
        0.5,
        np.ones((3, 8)),
        0.0,
        np.full(3, 0.2),
    )
    assert in_unit(extreme)
    # Without spillover or learning, unabsorbed capacity only decays.
    decayed = mech.specific_capacity_update(
        x["specific"],
        np.zeros(N),
        gate,
        x["transfer"],
        x["match"],
        0.0,
        x["peer_gap"],
        x["decay"],
        np.zeros(N),
    )
    assert decayed == pytest.approx(x["specific"] * (1 - x["decay"]))


@pytest.mark.parametrize("zero", ["motivation", "general"])
def test_readiness_gate_blocks_every_capacity_gain_from_ta(zero):
    """Zero M or zero G: large absorption builds no specific and no general capacity."""
    x = capacity_inputs(16)
    m = np.zeros(N) if zero == "motivation" else x["m"]
    g = np.zeros(N) if zero == "general" else x["g"]
    assert np.all(mech.readiness(m, g, x["specific"].mean(axis=1)) == 0)
    gate = mech.capacity_gate(m, g, x["dependence"])
    assert np.all(gate == 0)
    args = (x["transfer"], x["match"], x["spillover"], x["peer_gap"], x["decay"], x["learning"])
    without = mech.specific_capacity_update(x["specific"], np.zeros(N), gate, *args)
    flooded = mech.specific_capacity_update(x["specific"], np.ones(N), gate, *args)
    assert np.array_equal(without, flooded)  # absorption adds nothing
    isolated = mech.specific_capacity_update(
        x["specific"],
        np.ones(N),
        gate,
        1.0,
        np.full((N, 8), 3.0),
        0.0,
        x["peer_gap"],
        0.0,
        np.zeros(N),
    )
    assert np.array_equal(
        isolated, x["specific"]
    )  # and nothing else grows it when spillover, learning, decay are off

    rate = RANGES["mechanisms.general_rate"][1]
    general_without = mech.general_capacity_update(g, np.zeros(N), gate, rate, MP.general_decay, g)
    general_flooded = mech.general_capacity_update(g, np.ones(N), gate, rate, MP.general_decay, g)
    assert np.array_equal(general_without, general_flooded)
    assert np.array_equal(general_flooded, g)  # at its resting level G does not move


def test_general_capacity_bounded_increasing_in_absorption_and_relaxing_to_rest():
    x = capacity_inputs(17)
    g = rng(18)
    rate, decay = draw(g, "mechanisms.general_rate"), draw(g, "mechanisms.general_decay")
    resting = g.uniform(0, 1, N)
    gate = mech.capacity_gate(x["m"], x["g"], x["dependence"])
    low = mech.general_capacity_update(x["g"], 0.5 * x["absorbed"], gate, rate, decay, resting)
    high = mech.general_capacity_update(x["g"], x["absorbed"], gate, rate, decay, resting)
    assert in_unit(low) and in_unit(high) and np.all(high >= low)
    idle = mech.general_capacity_update(x["g"], np.zeros(N), gate, rate, decay, resting)
    assert np.all(np.abs(idle - resting) <= np.abs(x["g"] - resting) + 1e-15)
    assert np.all(np.sign(idle - x["g"]) * np.sign(resting - x["g"]) >= 0)


def test_expertise_match_targets_weakest_blocks():
    g = rng(19)
    specific = g.uniform(0, 1, (N, 8))
    expertise = g.uniform(0, 1, (N, 8))
    focus = draw(g, "mechanisms.expertise_focus", 1)[0]
    match = mech.expertise_match(specific, expertise, focus)
    assert np.all(np.isfinite(match)) and np.all(match >= 0)
    uniform = mech.expertise_match(specific, np.full((N, 8), 0.6), MP.expertise_focus)
    assert uniform.mean(axis=1) == pytest.approx(np.full(N, 0.6))  # weights average 1
    weakest = specific.argmin(axis=1)
    assert np.all(uniform.argmax(axis=1) == weakest)
    assert mech.expertise_match(specific, expertise, 0.0) == pytest.approx(expertise)
    saturated = mech.expertise_match(np.ones((2, 8)), np.full((2, 8), 0.5), 2.0)
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
    learning = mech.learning_by_doing(rate, general, True, sub)
    assert np.all(learning >= 0) and np.all(learning <= rate * general + 1e-15)
    assert np.all(mech.learning_by_doing(rate, general, False, sub) == 0)
    assert np.all(mech.learning_by_doing(rate, general, True, np.ones(N)) == 0)
    assert np.all(mech.learning_by_doing(rate, general, True, sub * 0.5) >= learning)


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
        x["resting"],
        x["absorbed"],
        x["peer"],
        x["fidelity"],
        x["overload"],
        x["build"],
        x["pull"],
        x["wins"],
        x["decay"],
        x["loss"],
        x["uncertainty"],
    )


def test_motivation_bounded_rises_with_codesign_peers_wins_and_falls_with_overload_and_uncertainty():
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
    sub = mech.substitution(hours, share, task)
    assert np.all(sub >= 0) and np.all(sub <= share)
    assert np.all(mech.substitution(hours + 1, share, task) >= sub)
    assert mech.substitution(task + hours, share, task) == pytest.approx(share)
    assert np.all(mech.substitution(0.0, share, task) == 0)


def test_ownership_bounded_built_by_absorption_eroded_by_substitution():
    g = rng(25)
    own, absorbed, sub = g.uniform(0, 1, (3, N))
    gain, loss = draw(g, "roles.facilitator.ownership_gain"), draw(g, "mechanisms.ownership_loss")
    base = mech.ownership_update(own, absorbed, gain, loss, sub)
    assert in_unit(base)
    assert np.all(
        mech.ownership_update(own, np.minimum(1, absorbed + 0.2), gain, loss, sub) >= base
    )
    assert np.all(
        mech.ownership_update(own, absorbed, gain, loss, np.minimum(1, sub + 0.2)) <= base
    )
    assert np.all(mech.ownership_update(own, 0.0, gain, loss, 0.0) == own)


def test_workload_nonnegative_increasing_in_demands_decreasing_in_staff_time():
    g = rng(26)
    hours, internal, navigation = g.uniform(0, 40, N), g.uniform(0, 20, N), g.uniform(0, 30, N)
    omega = draw(g, "mechanisms.recipient_hours")
    change = g.uniform(0.5, 200, N)
    w = mech.workload(hours, omega, internal, navigation, change)
    assert np.all(np.isfinite(w)) and np.all(w >= 0)
    assert np.all(mech.workload(hours + 1, omega, internal, navigation, change) >= w)
    assert np.all(mech.workload(hours, omega, internal + 1, navigation, change) > w)
    assert np.all(mech.workload(hours, omega, internal, navigation + 1, change) > w)
    assert np.all(mech.workload(hours, omega, internal, navigation, change * 2) <= w)
    assert np.all(mech.workload(0.0, omega, 0.0, 0.0, change) == 0)
    assert np.all(np.isfinite(mech.workload(hours, omega, internal, navigation, 0.0)))
    assert mech.workload(10.0, 0.8, 2.0, 0.0, 10.0) == pytest.approx(1.0)


def test_overload_is_the_excess_over_the_threshold():
    g = rng(27)
    w, threshold = g.exponential(1, N), draw(g, "mechanisms.overload_threshold")
    over = mech.overload(w, threshold)
    assert np.all(over >= 0)
    assert np.all(over[w <= threshold] == 0)
    assert over[w > threshold] == pytest.approx((w - threshold)[w > threshold])


# ------------------------------------------------------------------ net benefit: inverted U under overload

HOURS = np.linspace(0.0, 30.0, 301)


def net_benefit_curve(size_fte, general, trust=0.6, hours=HOURS):
    """One organization exploring the change, coached by one partner, composed from the rules as the model does.

    Benefit and overload cost are weighted by the model's own motivation coefficients
    (co-design gain beta_M against overload loss kappa_W).
    """
    mix = BASELINE.funder.hands_on_mix
    content, coaching, peer = hours * mix.content, hours * mix.relationship, hours * mix.peer
    quality = mech.caseload_quality(10, MP.caseload_penalty, MP.caseload_free)
    dose = mech.effective_dose(
        content,
        coaching,
        peer,
        quality,
        trust,
        MP.trust_exponent,
        1.0,
        MP.content_weight,
        MP.peer_weight,
    )
    absorbed = mech.absorption(dose, general, MP.half_saturation, MP.hill)
    navigation = mech.navigation_burden(1, MP.navigation_hours, False, MP.coordination_relief)
    change_hours = BASELINE.system.change_hours_per_fte * size_fte * 1.0 * (0.5 + general)
    strain = mech.overload(
        mech.workload(hours, MP.recipient_hours, 0.0, navigation, change_hours),
        MP.overload_threshold,
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
    base = mech.adoption_hazard(p, q, share, beta, absorbed)
    assert np.all((base >= 0) & (base < 1))
    assert np.all(mech.adoption_hazard(0.0, q, 0.0, beta, 0.0) == 0)
    for bumped in (
        mech.adoption_hazard(p + 0.01, q, share, beta, absorbed),
        mech.adoption_hazard(p, q + 0.05, share + 0.01, beta, absorbed),
        mech.adoption_hazard(p, q, share + 0.1, beta + 0.1, absorbed),
        mech.adoption_hazard(p, q, share, beta + 0.1, absorbed + 0.01),
        mech.adoption_hazard(p, q, share, beta, absorbed + 0.1),
    ):
        assert np.all(bumped > base)
    assert np.all(mech.adoption_hazard(p, q, share + 0.1, beta, absorbed) >= base)
    one_month = mech.adoption_hazard(MP.innovation_p, 0.0, 0.0, 0.0, 0.0)
    assert one_month == pytest.approx(1 - np.exp(-MP.innovation_p))


def test_adoption_requires_readiness_to_reach_the_threshold():
    g = rng(30)
    hazard, ready, threshold, uniform = g.uniform(0, 1, (4, N))
    adopted = mech.adopts(hazard, ready, threshold, uniform)
    assert not np.any(adopted[ready < threshold])
    assert np.array_equal(mech.adopts(np.ones(N), ready, threshold, uniform), ready >= threshold)
    ready_all = mech.adopts(np.full(N, 0.3), np.ones(N), np.zeros(N), uniform)
    assert ready_all.mean() == pytest.approx(0.3, abs=0.03)


def test_penetration_bounded_follows_its_target_and_fades_when_inactive():
    g = rng(31)
    p, s, r = g.uniform(0, 1, (3, N))
    rate = draw(g, "mechanisms.penetration_rate")
    active = mech.penetration_update(p, s, r, rate, True)
    assert in_unit(active)
    target = s * r
    assert np.all(np.abs(active - target) <= np.abs(p - target) + 1e-15)
    inactive = mech.penetration_update(p, s, r, rate, False)
    assert in_unit(inactive) and np.all(inactive <= p)


def test_fidelity_bounded_zero_unless_implementing_and_increasing():
    g = rng(32)
    s, sub = g.uniform(0, 1, (2, N))
    eps = draw(g, "mechanisms.fidelity_exponent")
    f = mech.fidelity(s, eps, sub, True)
    assert in_unit(f)
    assert np.all(mech.fidelity(s, eps, sub, False) == 0)
    assert np.all(mech.fidelity(np.minimum(1, s + 0.1), eps, sub, True) >= f)
    assert np.all(mech.fidelity(s, eps, np.minimum(1, sub + 0.1), True) >= f)


@pytest.mark.parametrize("role", ["doer", "partner", "facilitator"])
def test_fidelity_supplied_by_substitution_drops_when_the_hours_stop(role):
    share = getattr(BASELINE.roles, role).substitution
    specific = np.array([0.05, 0.15, 0.3])
    with_ta = mech.fidelity(
        specific, MP.fidelity_exponent, mech.substitution(MP.task_hours, share, MP.task_hours), True
    )
    without = mech.fidelity(
        specific, MP.fidelity_exponent, mech.substitution(0.0, share, MP.task_hours), True
    )
    own = specific**MP.fidelity_exponent
    assert without == pytest.approx(own)
    assert with_ta - without == pytest.approx(np.minimum(1, own + share) - own)
    if role == "doer":
        assert np.all(with_ta - without > 0.5)  # the dependence a doer leaves behind


def test_discontinuation_hazard_bounded_and_lower_with_ownership_and_capacity():
    g = rng(33)
    h0, own, general = draw(g, "mechanisms.discontinuation"), g.uniform(0, 1, N), g.uniform(0, 1, N)
    hazard = mech.discontinuation_hazard(h0, own, general)
    assert np.all(hazard >= 0) and np.all(hazard <= h0)
    assert np.all(mech.discontinuation_hazard(h0, np.minimum(1, own + 0.1), general) <= hazard)
    assert np.all(mech.discontinuation_hazard(h0, own, np.minimum(1, general + 0.1)) <= hazard)
    assert np.all(mech.discontinuation_hazard(h0, 1.0, general) == 0)


def annual(monthly):
    return 1 - (1 - monthly) ** 12


def test_discontinuation_is_five_to_eight_percent_a_year_at_median_ownership_and_capacity():
    model = TransformationModel(BASELINE, rng=0)
    medians = [
        (np.median(model.O), np.median(model.G)),
        (BASELINE.initial.ownership_mean, BASELINE.initial.general_capacity_mean),
    ]
    for ownership, general in medians:
        rate = annual(mech.discontinuation_hazard(MP.discontinuation, ownership, general))
        assert 0.05 <= rate <= 0.08, (ownership, general, rate)


def test_lagged_moves_monotonically_toward_target():
    g = rng(34)
    value, target, delay = g.uniform(-50, 50, N), g.uniform(-50, 50, N), g.uniform(1, 120, N)
    moved = mech.lagged(value, target, delay)
    assert np.all(np.minimum(value, target) - 1e-9 <= moved) and np.all(
        moved <= np.maximum(value, target) + 1e-9
    )
    assert np.all(np.abs(moved - target) <= np.abs(value - target))
    assert mech.lagged(value, target, 1.0) == pytest.approx(target)
    path = [0.0]
    for _ in range(120):
        path.append(mech.lagged(path[-1], 1.0, BASELINE.outcomes.delay_health))
    assert np.all(np.diff(path) > 0) and path[-1] < 1
    assert path[int(BASELINE.outcomes.delay_health)] == pytest.approx(
        1 - np.exp(-1), abs=0.02
    )  # ~63 % after tau


def test_outcome_gain_bounded_and_needs_reach_and_fidelity():
    g = rng(35)
    p, f = g.uniform(0, 1, (2, N))
    gamma = draw(g, "outcomes.fidelity_gamma")
    gain = mech.outcome_gain(p, f, gamma)
    assert in_unit(gain)
    assert np.all(mech.outcome_gain(np.minimum(1, p + 0.1), f, gamma) >= gain)
    assert np.all(mech.outcome_gain(p, np.minimum(1, f + 0.1), gamma) >= gain)
    assert np.all(mech.outcome_gain(0.0, f, gamma) == 0) and np.all(
        mech.outcome_gain(p, 0.0, gamma) == 0
    )
    assert np.all(
        mech.outcome_gain(p, f, BASELINE.outcomes.fidelity_gamma) <= p * f + 1e-15
    )  # gamma > 1 punishes low fidelity
