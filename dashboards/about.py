"""About page: the model in one page, its sources, and how strong the evidence is."""

from __future__ import annotations

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
description is in `docs/odd.md` (ODD protocol), and `tasim scenarios show baseline` lists
every parameter with its range, unit and source.
"""


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


def markdown_html(text: str) -> str:
    """Markdown as HTML without solara.Markdown, which loads a math renderer from a CDN."""
    return markdown.markdown(text)
