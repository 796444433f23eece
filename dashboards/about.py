"""About page: the model in one page, its sources, and how strong the evidence is."""

from __future__ import annotations

from pathlib import Path

import markdown
import solara

from sim import list_scenarios, load_scenario

SUMMARY = """
# About tasim

An agent-based model (Mesa) of technical assistance (TA) in a health-system transformation.
**Organizations** (hospitals, primary care, home and community care, mental health, long-term
care, community support, public health) have motivation *M*, general capacity *G*, capacity
per building block *S*, trust in their providers *T*, ownership *O* and workload *W*. They
belong to **teams** (Ontario Health Teams, integrated care systems, ACOs) approved in cohorts
and tied in a network. **TA providers** act as *doer*, *partner* or *facilitator*, spend their
hours on content, coaching or peer exchange, in person or virtually, under the **funder's**
budget and allocation policy, through a pandemic, staff turnover, budget changes and policy
uncertainty.

Each month: events fire; the funder and providers allocate hours (never more than the budget
or the providers' hours); organizations turn hours into an effective dose (caseload, trust,
modality), absorb it with saturation, build capacity only as far as readiness allows
(R = MC²), gain or lose motivation and ownership, bear workload; peers pull each other along;
organizations adopt, implement, sustain or discontinue; quadruple-aim outcomes follow with
delays, and per-capita cost follows a J-curve.

**How strong is the evidence?** Mostly qualitative: a thesis on TA for Ontario Health Teams,
English integrated care systems and US ACOs, OHT case studies, a realist synthesis of new care
models, and a digest of the published TA, coaching and facilitation literature. Defaults are
grounded where numbers exist (e.g. half-saturation 4 h/month, 0.8 recipient hours per TA
hour, caseload dilution, 5-8 %/year discontinuation after support ends) and ranges are wide
where they do not. The model is *pattern-oriented*: it should reproduce the patterns the
evidence describes, not predict numbers. Every rule and parameter names its source; the full
description (ODD protocol) and the calibration are below, and `tasim scenarios show baseline`
lists every parameter with its range, unit and source.

## How to use this dashboard

- **Live model**: pick a scenario, move the levers (each shows its value), press **Reset** to
  build the run from them and **▶** to play it month by month. *Advanced playback* sets how
  often the charts are redrawn.
- **What-if**: pick two to four scenarios (the first is the reference the others are measured
  against) and press **Run comparison**. It opens with a summary in words, then trajectories,
  a table of changes with 95 % intervals and the cost-effectiveness acceptability curves.
  Tick *parameter uncertainty* to draw each replicate's parameters from the calibrated
  posterior.
- **Dose-response**: the teaching curves: how the effect of TA saturates, waits on readiness,
  needs a minimum dose, turns into overload and, for a doer, into dependence.
- **Sensitivity**: screen which parameters matter for an output (a small Morris design, run
  from the page), or read a stored sensitivity analysis or sweep (`tasim sensitivity`,
  `tasim sweep`).

## Glossary

- **TA (technical assistance)**: coaching, facilitation, training, tools, peer learning and
  analytics bought to help organizations change.
- **Doer, partner, facilitator**: a provider that does the work for an organization, does it
  with it, or helps it do the work itself.
- **Dose**: TA hours an organization receives a month; its **absorbed dose** is what it can
  take in (saturation, caseload, trust, modality).
- **Readiness**: motivation times capacity (R = MC²): what lets capacity be built.
- **Building blocks**: the eight capacities of a population-health team (population,
  in-scope services, patient partnership, patient care, digital health, leadership and
  governance, funding and incentives, measurement and quality improvement).
- **Adoption**: the share of organizations preparing, implementing, sustaining or operating at
  a reduced level. **Fidelity**: how faithfully the change is delivered (0-1).
- **Quadruple aim**: population health (here, avoidable emergency admissions per 1,000 people
  a year), patient experience, provider experience and per-capita cost.
- **Replicate**: one run with its own random seed; **paired** replicates share seeds across
  scenarios, so their differences show the scenario and not chance.
- **90 % band**: the range of 90 % of the simulated runs (what a run may look like);
  **95 % interval**: the uncertainty of a mean difference over paired replicates (how sure the
  comparison is). More replicates narrow the interval, not the band.
- **ICER**: incremental cost per avoided admission; **CEAC**: the probability that a scenario
  is cost-effective at each willingness to pay per avoided admission.
"""
DOCS = Path(__file__).resolve().parent.parent / "docs"
READ_IN_PLACE = (  # title, file: what the page lets a reader open in full
    ("The model description (ODD protocol, with every rule and its source)", "odd.md"),
    ("Calibration: the targets, the fit and what it leaves out", "calibration.md"),
)


@solara.component
def About():
    solara.Title("About")
    scenarios = "\n".join(
        f"- **{name}**: {load_scenario(name).description}" for name in list_scenarios()
    )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=markdown_html(SUMMARY + "\n## Shipped scenarios\n\n" + scenarios),
    )
    for title, name in READ_IN_PLACE:
        if (DOCS / name).is_file():  # the repository's docs; an installed package has none
            with solara.Details(title):
                text = (DOCS / name).read_text(encoding="utf-8")
                solara.HTML(tag="div", unsafe_innerHTML=markdown_html(text))


def markdown_html(text: str) -> str:
    """Markdown as HTML without solara.Markdown, which loads a math renderer from a CDN."""
    return markdown.markdown(text, extensions=["tables", "fenced_code"])
