"""Name what is failing: classify a window's failures into the failure-mode taxonomy.

Two kinds of evidence are combined:

**Annotations** — reviewers' or evaluators' ``failure_mode`` texts. A text names a mode
when it equals a mode id (ignoring case and surrounding whitespace) or when the
register's ``failure_modes.annotations`` maps it (same normalisation); any other text is
reported in ``unmapped_annotations`` with its count, never dropped.

**Signals** — measured, and named only when they stand out from ordinary background
noise: significantly and materially worse than the reference window, or past a limit
the register sets (a check at ``warning`` or ``breach``).

=============================  ==============================================  ===================
mode                           fires when                                      count
=============================  ==============================================  ===================
``format_violation``           invalid-format share significantly above the    format-invalid rows
                               reference (one-sided Fisher at the night's
                               level⁴, rate ratio ≥ 1.5) or its Wilson 95 %
                               lower bound above 1 %
``confidence_miscalibration``  ``calibration.ece`` or ``calibration.drift``    wrong answers with
                               at warning/breach                               confidence ≥ 0.85¹
``domain_misapplication``      a segment's failure rate above all other        that segment's
                               segments' (one-sided Fisher at the night's      excess failures²
                               level⁴, rate ratio ≥ 1.5), and either new
                               against the reference window (p < 0.01, ratio
                               ≥ 1.5) or a quality / error-rate check fired
``latency_regression``         a ``latency_ms.*`` check at warning/breach      rows above the
                                                                               lowest fired limit³
``availability``               an ``error_rate*`` check at warning/breach, or  hard errors²
                               the error share above the reference (Fisher at
                               the night's level⁴, rate ratio ≥ 1.5)
=============================  ==============================================  ===================

¹ Read exactly off the reliability table's 1/100-wide bins (no approximation), then
reduced by the share of wrong answers a more specific cause already explains (a
flagged segment's excess or answer-content annotations, the larger of the two since they
may overlap): miscalibration is a symptom, and the cause is the more useful name.

² Failures are *wrong answers* (``correct`` false, over labeled rows) and *hard errors*
(over all rows), tested separately so that uneven labelling across segments cannot
fake a concentration. A segment's excess is ``observed − rows × rate elsewhere``. Hard
errors a flagged segment explains are taken out of ``availability`` before it is
judged, so one broken segment is named as such, not as an outage.

³ Counted from the latency sketch's buckets (exact up to its relative accuracy, 0.5 %).

⁴ The discovery tests of a night (every per-segment test, format against the reference,
hard errors against the reference) form one Bonferroni family at α = 0.01, so a healthy
model-night names a mode by chance with probability at most 1 %.

**Confidence** of a mode, in [0, 1], by a simple fixed rule:

- signal at breach level (check ``breach``, or significant against the reference):
  0.85; at warning level (check ``warning``, or only the absolute 1 % format rule):
  0.65; a segment concentration 0.75 when new against the reference, else 0.6 (a
  harder segment is a weaker sign of misapplication than a change is);
- annotations, with ``s`` the mode's share of the mapped annotations: with at least
  ``min_annotations`` of them ``0.5 + 0.5·s`` (+0.1 with five times as many), capped at
  0.99; with fewer, ``0.4·s·n/min_annotations`` — below 0.4, so never dominant;
- both for one mode: ``1 − (1 − c_signal)(1 − c_annotation)`` (independent evidence).

A mode's count is the larger of its signal and annotation counts; its share is its
count over the sum of all modes' counts. The **dominant** mode is the top mode by count
when its share is at least 0.3, its confidence at least 0.5 and its count at least 5 %
of the night's failing rows (so a chance finding of the 1 % above, a few dozen extra
errors, does not become dominant); otherwise there is none and a note says why.
"""

from monitor.failure_modes.classify import (
    DOMINANT_MIN_CONFIDENCE,
    DOMINANT_MIN_OF_FAILING,
    DOMINANT_MIN_SHARE,
    FailureModeResult,
    classify,
)
from monitor.failure_modes.evidence import (
    ALPHA,
    FORMAT_MATERIAL_SHARE,
    MATERIAL_RATIO,
    OVERCONFIDENT_AT,
)

__all__ = [
    "ALPHA",
    "DOMINANT_MIN_CONFIDENCE",
    "DOMINANT_MIN_OF_FAILING",
    "DOMINANT_MIN_SHARE",
    "FORMAT_MATERIAL_SHARE",
    "MATERIAL_RATIO",
    "OVERCONFIDENT_AT",
    "FailureModeResult",
    "classify",
]
