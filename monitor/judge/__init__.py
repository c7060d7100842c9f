"""Judge: a model's metrics against its thresholds, with their uncertainty.

A ceiling is **breached** when the whole interval lies above it and only a
**warning** when the point estimate does; floors mirror that. Metrics measured on
fewer rows than ``min_samples`` are ``insufficient_data``. A model with no rows
tonight is ``blind`` — a monitor that cannot see never says healthy.

Signal rules (``thresholds.signal``, see ``docs/signal-quality.md``): every limit check
also gets a one-sided p-value, and *baseline* checks (tonight against the reference
window) and *sequential* checks (EWMA/CUSUM over the last nights) are added. All
p-values of the night form one Benjamini–Hochberg family at a level derived from the
false-alarm budget: a limit check whose interval lies beyond its limit is a breach only
if it also survives the correction (else a warning); a baseline or sequential check is a
breach when it is both significant after the correction and material (its point
estimate past the minimum effect), a warning when material and significant for the
model alone. Their ``limit`` is the reference value moved by the minimum effect, and
their magnitude is measured past it like any limit's.

Each check is built in one module — :mod:`.limits`, :mod:`.baseline`,
:mod:`.sequential` — and decided in one (:mod:`.decision`), with severity from
:mod:`.severity` and the family from :mod:`.fleet`. :func:`judge_night` runs them as one
pure pipeline and returns frozen :class:`ModelVerdict` values whose status is computed
once (:mod:`.verdict`).
"""

from monitor.judge.pipeline import ModelEvidence, NightVerdict, judge, judge_night, rejudge
from monitor.judge.sequential import NightValue, night_values
from monitor.judge.verdict import ModelVerdict

__all__ = [
    "ModelEvidence",
    "ModelVerdict",
    "NightValue",
    "NightVerdict",
    "judge",
    "judge_night",
    "night_values",
    "rejudge",
]
