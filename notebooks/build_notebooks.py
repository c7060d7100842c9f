"""Write the analyst notebooks of this folder from reviewable Python.

The ``.ipynb`` files are generated: edit the cells here, then run

    .venv/bin/python notebooks/build_notebooks.py          # rewrite the notebooks
    .venv/bin/python notebooks/build_notebooks.py --check  # exit 1 if they are stale

Notebooks are written without outputs or execution counts and with fixed cell ids, so
the same cells always give the same bytes (``tests/test_notebooks.py`` checks both). The
first cell of each notebook holds its parameters and carries the ``parameters`` tag, so
papermill or the test suite can inject other values in a cell right after it.

Every notebook loads through the project's public API (``modelhealth.analysis``,
``ladder.stats``, ``modelhealth.demo``); cells only pick, plot and print.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.notebooknode import NotebookNode

__all__ = ["HERE", "NOTEBOOKS", "build", "main", "render", "write"]

HERE = Path(__file__).resolve().parent

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

#: Shared head of every parameters cell: the repository root, found from the notebook's
#: folder (Jupyter starts kernels there), else from where the installed package lives.
ROOT_LINES = """\
from datetime import date
from pathlib import Path

import monitor

# The repository root: found from the notebook's folder (where Jupyter starts the kernel),
# else from where the installed package lives, so the notebook runs from any directory.
ROOT = next(
    (p for p in (Path.cwd(), *Path.cwd().parents) if (p / "data" / "register.yaml").is_file()),
    Path(monitor.__file__).resolve().parents[1],
)
REGISTER = ROOT / "data" / "register.yaml"
LOGS = ROOT / "data" / "demo" / "logs"
"""


def _md(text: str) -> NotebookNode:
    return nbformat.v4.new_markdown_cell(dedent(text).strip("\n"))


def _code(text: str, *, tags: Sequence[str] = ()) -> NotebookNode:
    cell = nbformat.v4.new_code_cell(dedent(text).strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _parameters(title: str, body: str) -> NotebookNode:
    head = f"# {title}: parameters. Edit them here; everything below reads them.\n"
    return _code(head + ROOT_LINES + dedent(body).strip("\n"), tags=["parameters"])


# --------------------------------------------------------------------------- drift


def drift_exploration() -> list[NotebookNode]:
    """Evidently's report for two windows, drift night by night, the most drifted feature."""
    return [
        _parameters(
            "Drift exploration",
            """
            LABELS = ROOT / "data" / "demo" / "labels.parquet"  # late labels; None without
            MODEL_ID = "churn-classifier"
            AS_OF = date(2026, 10, 28)  # last night of the current window (UTC)
            CURRENT = "7d"  # current window: the 7 days up to AS_OF
            REFERENCE = "14d"  # reference window: the 14 days just before it
            FIRST_NIGHT = date(2026, 10, 8)  # nights of the heatmap
            LAST_NIGHT = date(2026, 10, 30)
            OUT_DIR = ROOT / "out" / "notebooks"  # Evidently's page is saved here (git-ignored)
            EMBED_EVIDENTLY = True  # show the page inline (adds ~4 MB to a saved notebook)
            UNITS = {
                "feature.monthly_spend": "USD per month",
                "feature.tenure_months": "months",
                "feature.support_tickets": "tickets",
                "confidence": "top-label probability",
            }
            """,
        ),
        _md(
            """
            # Drift exploration

            Which inputs of a model moved, when, and by how much. Three views:

            1. **Two windows** — Evidently's report comparing the current window with a
               reference window of your choice (`CURRENT`, `REFERENCE`, ending on `AS_OF`).
            2. **Night by night** — every feature, the prediction and the confidence, each
               night against that night's reference window: exactly the drift the nightly
               check computes.
            3. **The most drifted feature** — its distribution in both windows.

            Drift is measured on each window's bounded, deterministic sample (the rows
            whose prediction-id hash is smallest), so a rerun gives the same numbers. On the
            shipped data, a price change lifts `churn-classifier`'s `monthly_spend` from
            2026-10-22 while the other features stay put.
            """
        ),
        _code(
            """
            import html

            import matplotlib.pyplot as plt
            import numpy as np
            import pandas as pd
            from IPython.display import display

            from modelhealth.analysis import (
                drift_frame,
                feature_drift_by_night,
                most_drifted_feature,
                nights_between,
                sample_frame,
                summarize_window,
                window_drift,
            )
            from thresholds.loader import load_register

            register = load_register(REGISTER).register
            entry = register.model(MODEL_ID)
            labels = LABELS if LABELS is not None and Path(LABELS).exists() else None
            """
        ),
        _md(
            """
            ## 1. Two windows: Evidently's report

            One `ValueDrift` per column. Evidently picks the method from the column type and
            the reference size (Wasserstein distance or Jensen-Shannon distance above 1 000
            reference rows, a K-S or chi-square test below); the table lists the method,
            the score and Evidently's verdict.
            """
        ),
        _code(
            """
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            page = OUT_DIR / f"drift-{MODEL_ID}-{AS_OF}-{CURRENT}-vs-{REFERENCE}.html"
            summary = window_drift(
                register, LOGS, model_id=MODEL_ID, as_of=AS_OF, current=CURRENT,
                reference=REFERENCE, labels=labels, html_path=page,
            )
            print(
                f"{MODEL_ID}: the {CURRENT} up to {AS_OF} against the {REFERENCE} before; "
                f"{summary.sample_size_current} current and {summary.sample_size_reference} "
                f"reference sample rows; {summary.share_drifted_features:.0%} of features drifted"
            )
            drift_frame(summary)[["column", "kind", "method", "statistic", "threshold", "drifted"]]
            """
        ),
        _code(
            """
            if EMBED_EVIDENTLY:
                # Evidently's page is a whole HTML document: an iframe keeps its scripts apart.
                text = html.escape(page.read_text(encoding="utf-8"))
                frame = f'<iframe srcdoc="{text}" width="100%" height="820" style="border:0">'
                display({"text/html": frame + "</iframe>"}, raw=True)
            else:
                print(f"Evidently's report: {page}")
            """
        ),
        _md(
            """
            ## 2. Night by night

            Each night's current window (`1d` in the register) against its reference window
            (`28d`). Colour is Evidently's drift score — a distance here, so larger means
            more drift (for small references Evidently switches to tests, whose p-values run
            the other way); **×** marks the columns Evidently called drifted. Nights without
            a reference yet are skipped and listed.
            """
        ),
        _code(
            """
            nights = nights_between(FIRST_NIGHT, LAST_NIGHT)
            by_night = feature_drift_by_night(
                register, LOGS, model_id=MODEL_ID, nights=nights, labels=labels
            )
            for night, reason in by_night.attrs["skipped"].items():
                print(f"{night}: skipped ({reason})")
            scores = by_night.pivot(index="column", columns="night", values="statistic")
            drifted = by_night.pivot(index="column", columns="night", values="drifted")
            by_night.groupby("column")[["method", "threshold"]].first()
            """
        ),
        _code(
            """
            fig, ax = plt.subplots(figsize=(12, 0.5 * len(scores) + 2))
            image = ax.imshow(scores.to_numpy(dtype=float), aspect="auto", cmap="viridis")
            ax.set_xticks(range(scores.shape[1]), [n.strftime("%m-%d") for n in scores.columns],
                          rotation=90)
            ax.set_yticks(range(scores.shape[0]), list(scores.index))
            for row, column in zip(*np.nonzero(drifted.to_numpy(dtype=bool))):
                ax.text(column, row, "×", ha="center", va="center", color="white",
                        fontsize=13, fontweight="bold")
            fig.colorbar(image, ax=ax, label="drift score (distance, unitless)")
            ax.set_xlabel("night (as-of date, UTC)")
            ax.set_ylabel("column")
            ax.set_title(f"{MODEL_ID}: drift of each column, each night against its "
                         f"{entry.windows.reference} reference (× = drifted)")
            fig.tight_layout()
            plt.show()
            """
        ),
        _code(
            """
            share = by_night.groupby("night")["share_drifted_features"].first() * 100
            limit = entry.thresholds.drift.max_share_drifted_features * 100
            fig, ax = plt.subplots(figsize=(12, 3.5))
            ax.plot(share.index, share.to_numpy(), marker="o", label="drifted features")
            ax.axhline(limit, color="tab:red", linestyle="--",
                       label=f"register limit ({limit:.0f} %)")
            ax.set_ylim(0, 100)
            ax.set_xlabel("night (as-of date, UTC)")
            ax.set_ylabel("drifted features (% of features)")
            ax.set_title(f"{MODEL_ID}: share of features drifting, night by night")
            ax.legend()
            fig.autofmt_xdate()
            plt.show()
            """
        ),
        _md(
            """
            ## 3. The most drifted feature

            The feature furthest past its threshold in the two windows of part 1, drawn from
            the same sample rows Evidently compared.
            """
        ),
        _code(
            """
            feature = most_drifted_feature(summary) or "confidence"
            windows = summarize_window(
                register, LOGS, model_id=MODEL_ID, as_of=AS_OF, current=CURRENT,
                reference=REFERENCE, labels=labels,
            )
            reference = sample_frame(windows.reference)[feature].dropna()
            current = sample_frame(windows.current)[feature].dropna()
            unit = UNITS.get(feature, "as logged")
            print(f"most drifted: {feature} ({unit})")
            numeric = pd.api.types.is_numeric_dtype(current) and pd.api.types.is_numeric_dtype(
                reference
            )
            if numeric:
                table = pd.DataFrame({"reference": reference.describe(),
                                      "current": current.describe()})
            else:
                table = pd.DataFrame({
                    "reference (%)": reference.value_counts(normalize=True) * 100,
                    "current (%)": current.value_counts(normalize=True) * 100,
                }).fillna(0)
            table
            """
        ),
        _code(
            """
            windows_named = {f"reference ({REFERENCE})": reference,
                             f"current ({CURRENT} to {AS_OF})": current}
            fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.2))
            if numeric:
                edges = np.histogram_bin_edges(pd.concat([reference, current]).astype(float),
                                               bins=40)
                for name, values in windows_named.items():
                    left.hist(values, bins=edges, weights=np.full(len(values), 100 / len(values)),
                              alpha=0.55, label=f"{name}, n={len(values)}")
                    ordered = np.sort(values.to_numpy(dtype=float))
                    right.step(ordered, np.arange(1, len(ordered) + 1) / len(ordered) * 100,
                               where="post", label=name)
                left.set_xlabel(f"{feature} ({unit})")
                left.set_ylabel("share of sample rows (%)")
                right.set_xlabel(f"{feature} ({unit})")
                right.set_ylabel("cumulative share of sample rows (%)")
                right.set_title("empirical CDF")
            else:
                shares = table.rename(columns=lambda c: c.replace(" (%)", ""))
                shares.plot.bar(ax=left)
                left.set_xlabel(f"{feature} (category)")
                left.set_ylabel("share of sample rows (%)")
                (shares["current"] - shares["reference"]).plot.bar(ax=right, color="tab:purple")
                right.set_xlabel(f"{feature} (category)")
                right.set_ylabel("current − reference (percentage points)")
                right.set_title("change in share")
            left.set_title(f"{MODEL_ID}: {feature}, current vs reference")
            left.legend()
            if numeric:
                right.legend()
            fig.tight_layout()
            plt.show()
            """
        ),
    ]


# ----------------------------------------------------------------------- calibration


def calibration() -> list[NotebookNode]:
    """Reliability current vs reference, calibration and routing over time, slices."""
    return [
        _parameters(
            "Calibration",
            """
            LABELS = ROOT / "data" / "demo" / "labels.parquet"  # late labels; None without
            MODEL_ID = "support-assistant"
            AS_OF = date(2026, 10, 20)  # the night whose reliability diagram and slices are drawn
            FIRST_NIGHT = date(2026, 10, 1)  # nights of the time series
            LAST_NIGHT = date(2026, 10, 30)
            SLICE_BY = ("output_type", "segment")
            MIN_BIN_ROWS = 20  # reliability bins with fewer labeled rows are not drawn
            """,
        ),
        _md(
            """
            # Calibration

            Does the model's confidence mean what it says, and what does that do to routing?

            1. **Reliability** — accuracy against confidence, current window against
               reference window, on the night `AS_OF`.
            2. **Over time** — top-label ECE (15 equal-width bins, Guo et al. 2017) and the
               overconfidence gap (mean confidence − accuracy), night by night.
            3. **Routing** — the confidence bands the register routes on (≥ auto: answered
               automatically; review … auto: human review; < review: general queue) and the
               escalation rate (everything below auto).
            4. **Slices** — the same by output type and by segment, to find where it breaks.

            On the shipped data `support-assistant` answers with made-up citations from
            2026-10-16 to 10-23: accuracy falls while confidence does not, so it is
            overconfident — in its `answer` outputs only.
            """
        ),
        _code(
            """
            import matplotlib.pyplot as plt
            import pandas as pd

            from modelhealth.analysis import (
                calibration_by_slice,
                confidence_distribution,
                nightly_metrics,
                nights_between,
                reliability_frame,
                slice_aggregates,
                summarize_window,
                window_metrics,
            )
            from thresholds.loader import load_register

            register = load_register(REGISTER).register
            entry = register.model(MODEL_ID)
            thresholds = entry.thresholds
            bands = thresholds.confidence
            labels = LABELS if LABELS is not None and Path(LABELS).exists() else None
            """
        ),
        _md("## 1. Reliability: current vs reference"),
        _code(
            """
            windows = summarize_window(register, LOGS, model_id=MODEL_ID, as_of=AS_OF,
                                       labels=labels)
            names = {"reference": f"reference ({entry.windows.reference})",
                     "current": f"current ({AS_OF})"}
            fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
            left.plot([0, 100], [0, 100], color="grey", linestyle=":", label="perfect calibration")
            lowest = 100.0
            for key, window in (("reference", windows.reference), ("current", windows.current)):
                bins = reliability_frame(window)
                bins = bins[bins["n"] >= MIN_BIN_ROWS]
                left.plot(bins["mean_confidence"] * 100, bins["accuracy"] * 100, marker="o",
                          label=f"{names[key]}, {window.n_labeled} labeled rows")
                hist = confidence_distribution(window, n_bins=50)
                edges = [*hist["lower"], hist["upper"].iloc[-1]]
                right.stairs(hist["share"] * 100, [e * 100 for e in edges], label=names[key])
                lowest = min(lowest, 100 * hist.loc[hist["n"] > 0, "lower"].min())
            for cut, name in ((bands.review, "review"), (bands.auto, "auto")):
                right.axvline(cut * 100, color="grey", linestyle="--")
                right.text(cut * 100, 0.97, f"{name} ≥ {cut:.0%} ", rotation=90, ha="right",
                           va="top", transform=right.get_xaxis_transform())
            left.set_xlim(40, 100)
            left.set_ylim(40, 100)
            left.set_xlabel("mean confidence in bin (%)")
            left.set_ylabel("accuracy in bin (%)")
            left.set_title(f"{MODEL_ID}: reliability diagram (15 bins, ≥ {MIN_BIN_ROWS} rows)")
            left.legend(loc="upper left")
            right.set_xlim(min(lowest, bands.review * 100) // 10 * 10, 100)
            right.set_xlabel("confidence (%)")
            right.set_ylabel("share of rows (%)")
            right.set_title("confidence distribution (all rows) and routing cut points")
            right.legend(loc="center left")
            fig.tight_layout()
            plt.show()
            window_metrics(register, windows)[
                ["window", "n_rows", "n_labeled", "quality", "confidence_mean", "ece",
                 "overconfidence_gap", "brier", "escalation_rate"]
            ]
            """
        ),
        _md(
            """
            ## 2. ECE and overconfidence over time

            The dotted line is the ECE a perfectly calibrated model would show with the
            night's bin counts (the estimator's bias); the register judges the ceiling on
            the excess over it.
            """
        ),
        _code(
            """
            nightly = nightly_metrics(register, LOGS, model_id=MODEL_ID,
                                      nights=nights_between(FIRST_NIGHT, LAST_NIGHT),
                                      labels=labels)
            fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
            top.plot(nightly["night"], nightly["ece"] * 100, marker="o", label="ECE")
            top.plot(nightly["night"], nightly["overconfidence_gap"] * 100, marker="s",
                     label="overconfidence gap (confidence − accuracy)")
            top.plot(nightly["night"], nightly["ece_noise_floor"] * 100, linestyle=":",
                     color="grey", label="ECE of a calibrated model (noise floor)")
            top.axhline(thresholds.calibration.ece_max * 100, color="tab:red", linestyle="--",
                        label="ECE ceiling")
            top.axhline(0, color="black", linewidth=0.5)
            top.set_ylabel("percentage points")
            top.set_title(f"{MODEL_ID}: calibration, night by night")
            top.legend()
            bottom.plot(nightly["night"], nightly["quality"] * 100, marker="o", label="accuracy")
            bottom.fill_between(nightly["night"], nightly["quality_ci_low"] * 100,
                                nightly["quality_ci_high"] * 100, alpha=0.2,
                                label="95 % interval")
            bottom.plot(nightly["night"], nightly["confidence_mean"] * 100, marker=".",
                        label="mean confidence")
            if thresholds.quality is not None:
                bottom.axhline(thresholds.quality.min * 100, color="tab:red", linestyle="--",
                               label="quality floor")
            bottom.set_ylabel("%")
            bottom.set_xlabel("night (as-of date, UTC)")
            bottom.set_title("accuracy against confidence")
            bottom.legend()
            fig.autofmt_xdate()
            fig.tight_layout()
            plt.show()
            """
        ),
        _md("## 3. Routing bands and escalation rate"),
        _code(
            """
            fig, ax = plt.subplots(figsize=(12, 4.5))
            ax.stackplot(
                nightly["night"],
                nightly["band_auto"] * 100,
                nightly["band_review"] * 100,
                nightly["band_general"] * 100,
                labels=[f"auto (≥ {bands.auto:.0%})",
                        f"review ({bands.review:.0%} – {bands.auto:.0%})",
                        f"general queue (< {bands.review:.0%})"],
                alpha=0.8,
            )
            ax.plot(nightly["night"], nightly["escalation_rate"] * 100, color="black",
                    marker="o", label="escalation rate (review + general)")
            ax.set_ylim(0, 100)
            ax.set_xlabel("night (as-of date, UTC)")
            ax.set_ylabel("share of predictions (%)")
            ax.set_title(f"{MODEL_ID}: confidence bands and escalation rate")
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
            fig.autofmt_xdate()
            plt.show()
            nightly[["night", "n_rows", "band_auto", "band_review", "band_general",
                     "escalation_rate"]].describe().loc[["mean", "min", "max"]]
            """
        ),
        _md(
            """
            ## 4. Slices: output type and segment

            Each slice's rows are summarised on their own, so each has its own reliability
            table. Bars compare the reference window with the night `AS_OF`.
            """
        ),
        _code(
            """
            tables = {by: calibration_by_slice(register, LOGS, model_id=MODEL_ID, as_of=AS_OF,
                                               by=by, labels=labels)
                      for by in SLICE_BY}
            fig, axes = plt.subplots(1, len(tables), figsize=(6.5 * len(tables), 4.5),
                                     squeeze=False)
            for ax, (by, table) in zip(axes[0], tables.items()):
                wide = table.pivot(index="slice", columns="window", values="ece") * 100
                wide[["reference", "current"]].plot.bar(ax=ax, rot=0)
                ax.set_xlabel(by.replace("_", " "))
                ax.set_ylabel("ECE (percentage points)")
                ax.set_title(f"{MODEL_ID}: ECE by {by.replace('_', ' ')}")
                ax.legend(title="window")
            fig.tight_layout()
            plt.show()
            pd.concat(tables, names=["by"])[
                ["slice", "window", "n_labeled", "quality", "ece", "overconfidence_gap",
                 "escalation_rate"]
            ]
            """
        ),
        _code(
            """
            by = SLICE_BY[0]
            slices = slice_aggregates(register, LOGS, model_id=MODEL_ID, as_of=AS_OF, by=by,
                                      labels=labels)
            fig, axes = plt.subplots(1, len(slices), figsize=(4.5 * len(slices), 4.2),
                                     squeeze=False, sharey=True)
            for ax, (name, aggregate) in zip(axes[0], slices.items()):
                ax.plot([0, 100], [0, 100], color="grey", linestyle=":")
                for key, window in (("reference", aggregate.reference),
                                    ("current", aggregate.current)):
                    bins = reliability_frame(window)
                    bins = bins[bins["n"] >= MIN_BIN_ROWS]
                    ax.plot(bins["mean_confidence"] * 100, bins["accuracy"] * 100, marker="o",
                            label=f"{key}, n={window.n_labeled}")
                ax.set_xlim(40, 100)
                ax.set_ylim(40, 100)
                ax.set_title(f"{by.replace('_', ' ')} = {name}")
                ax.set_xlabel("mean confidence in bin (%)")
                ax.legend(loc="upper left")
            axes[0][0].set_ylabel("accuracy in bin (%)")
            fig.suptitle(f"{MODEL_ID}: reliability by {by.replace('_', ' ')} on {AS_OF} "
                         f"(bins with ≥ {MIN_BIN_ROWS} labeled rows)")
            fig.tight_layout()
            plt.show()
            """
        ),
        _code(
            """
            by_slice = nightly_metrics(register, LOGS, model_id=MODEL_ID,
                                       nights=nights_between(FIRST_NIGHT, LAST_NIGHT),
                                       labels=labels, by=SLICE_BY[0])
            fig, ax = plt.subplots(figsize=(12, 4))
            for name, rows in by_slice.groupby("slice"):
                ax.plot(rows["night"], rows["overconfidence_gap"] * 100, marker="o", label=name)
            ax.axhline(0, color="black", linewidth=0.5)
            ax.set_xlabel("night (as-of date, UTC)")
            ax.set_ylabel("overconfidence gap (percentage points)")
            ax.set_title(f"{MODEL_ID}: overconfidence by {SLICE_BY[0].replace('_', ' ')}")
            ax.legend(title=SLICE_BY[0].replace("_", " "))
            fig.autofmt_xdate()
            plt.show()
            """
        ),
    ]


# ---------------------------------------------------------------------------- ladder


def ladder_history() -> list[NotebookNode]:
    """A model's escalation timeline, spend against budget, and the ladder's process."""
    return [
        _parameters(
            "Ladder history",
            """
            # The ladder's state store. `make demo` writes demo-out/state.db; when it is
            # missing, the next cells build the demo month into DEMO_DIR (about a minute).
            STATE = ROOT / "demo-out" / "state.db"
            DEMO_DIR = ROOT / "out" / "notebooks" / "demo-state"
            MODEL_ID = "support-assistant"
            NOW = "2026-11-02T08:00:00+00:00"  # judge the SLA clocks as of this time (UTC)
            """,
        ),
        _md(
            """
            # Ladder history

            What the escalation ladder did for one model, and what it cost:

            1. **Nights** — the model's recorded status and headline quality, night by night.
            2. **Timeline** — breaches, the recommendation, approvals, the rung applied, the
               recovery and the resolution, from the recorded nights and the tamper-evident
               audit log (the rows of `modelhealth ladder history MODEL`).
            3. **Money** — what approved steps committed against the model's budget period.
            4. **Process** — `modelhealth ladder stats`: time to detection, acknowledgement,
               communication (stakeholder brief sent), decision and resolution.
            5. **Frequency and misses** — escalations per week by tier with their trend, SLA
               clocks that ran out by tier, and the process records (briefs, reviews).

            On the shipped month `support-assistant` breaches from 2026-10-16, the ladder
            recommends `retrieval_augmentation` at tier 3, alice briefs the stakeholders,
            bob approves it, alice applies it before the 24th, the model recovers and the
            incident gets its post-incident review.
            """
        ),
        _code(
            """
            import io
            import logging
            import warnings

            import matplotlib.pyplot as plt
            import pandas as pd
            from IPython.display import display
            from matplotlib.ticker import StrMethodFormatter
            from rich.console import Console

            from datetime import datetime

            from ladder.incident_store import incident_facts, load_records
            from ladder.stats import compute_stats
            from ladder.store import LadderStore, list_escalations
            from modelhealth.analysis import (
                committed_steps,
                escalation_timeline,
                night_history,
                spend_against_budget,
                stats_frame,
                weekly_frame,
            )
            from modelhealth.demo import run_demo
            from thresholds.loader import load_register

            loaded = load_register(REGISTER)
            register = loaded.register
            entry = register.model(MODEL_ID)

            if not Path(STATE).exists():
                # No state yet (a fresh clone): run the demo month once; report.html is the
                # last file it writes, so its presence means the month ran to the end.
                if not (DEMO_DIR / "report.html").exists():
                    print(f"building the demo month's ladder state in {DEMO_DIR} …")
                    # MLflow pulls in tqdm, which warns in kernels without ipywidgets, and
                    # logs its table set-up: neither matters here.
                    warnings.filterwarnings("ignore", message="IProgress not found")
                    logging.getLogger("mlflow").setLevel(logging.WARNING)
                    run_demo(loaded, LOGS, DEMO_DIR, console=Console(file=io.StringIO()))
                STATE = DEMO_DIR / "state.db"
            store = LadderStore(f"sqlite:///{Path(STATE).resolve()}")
            print(f"state: {STATE}")
            """
        ),
        _md("## 1. Nights"),
        _code(
            """
            nights = night_history(store, MODEL_ID)
            timeline = escalation_timeline(store, MODEL_ID)
            colours = {"healthy": "tab:green", "warning": "tab:orange", "breach": "tab:red",
                       "blind": "black", "insufficient_data": "tab:blue"}
            fig, ax = plt.subplots(figsize=(12, 4.5))
            ax.plot(nights["night"], nights["quality"] * 100, color="grey", zorder=1)
            for status, rows in nights.groupby("status"):
                ax.scatter(rows["night"], rows["quality"] * 100, color=colours.get(status, "grey"),
                           label=status, zorder=2)
            if entry.thresholds.quality is not None:
                ax.axhline(entry.thresholds.quality.min * 100, color="tab:red", linestyle="--",
                           label="quality floor")
            marks = {"recommendation": "tab:purple", "approval": "tab:blue",
                     "applied": "tab:cyan", "resolved": "tab:green"}
            for kind, colour in marks.items():
                for moment in timeline.loc[timeline["kind"] == kind, "time"]:
                    ax.axvline(moment.tz_localize(None), color=colour, linestyle=":",
                               label=kind)
            metric = entry.thresholds.quality.metric if entry.thresholds.quality else "quality"
            ax.set_xlabel("night (UTC)")
            ax.set_ylabel(f"{metric.replace('_', ' ')} (%)")
            ax.set_title(f"{MODEL_ID}: nightly status and quality, with the ladder's actions")
            handles, names = ax.get_legend_handles_labels()
            unique = dict(zip(names, handles))
            ax.legend(unique.values(), unique.keys(), loc="lower left", ncols=2)
            fig.autofmt_xdate()
            plt.show()
            nights["status"].value_counts()
            """
        ),
        _md("## 2. The escalation timeline"),
        _code(
            """
            pd.set_option("display.max_colwidth", 110)
            timeline[["time", "kind", "rung", "actor", "night", "reason"]]
            """
        ),
        _code(
            """
            kinds = list(dict.fromkeys(timeline["kind"]))
            fig, ax = plt.subplots(figsize=(12, 0.45 * len(kinds) + 2))
            for row in timeline.itertuples():
                y = kinds.index(row.kind)
                ax.scatter(row.time.tz_localize(None), y, s=60,
                           color="tab:red" if row.kind == "breach" else "tab:blue")
                if row.kind != "breach":
                    label = row.actor + (f" · {row.rung}" if isinstance(row.rung, str) else "")
                    ax.annotate(label, (row.time.tz_localize(None), y),
                                textcoords="offset points", xytext=(6, 4), fontsize=8)
            ax.set_yticks(range(len(kinds)), kinds)
            ax.invert_yaxis()
            ax.margins(x=0.15)
            ax.set_xlabel("time (UTC)")
            ax.set_ylabel("event")
            ax.set_title(f"{MODEL_ID}: escalation timeline (red = nights with a breach)")
            fig.autofmt_xdate()
            plt.show()
            """
        ),
        _md(
            """
            ## 3. Cost against budget

            A step commits its one-off cost plus its monthly cost for a whole budget
            period, to the period in which it was approved, whatever became of it.
            """
        ),
        _code(
            """
            spend = spend_against_budget(store, register, MODEL_ID)
            steps = committed_steps(store, register, MODEL_ID)
            currency = entry.ladder.budget.currency
            fig, ax = plt.subplots(figsize=(8, 4))
            periods = [f"{p:%Y-%m-%d} … {e:%Y-%m-%d}"
                       for p, e in zip(spend["period_start"], spend["period_end"])]
            ax.bar(periods, spend["budget"], color="lightgrey", label="budget")
            ax.bar(periods, spend["committed"], color="tab:blue", width=0.5, label="committed")
            for x, (committed, used) in enumerate(zip(spend["committed"], spend["used"])):
                ax.annotate(f"{committed:,.0f} ({used:.0%})", (x, committed),
                            textcoords="offset points", xytext=(0, 4), ha="center")
            ax.set_xlabel(f"budget period ({entry.ladder.budget.period}, UTC)")
            ax.set_ylabel(f"cost ({currency})")
            ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
            ax.set_title(f"{MODEL_ID}: committed cost against budget")
            ax.legend()
            plt.show()
            display(spend)
            steps
            """
        ),
        _md(
            """
            ## 4. Process metrics (`modelhealth ladder stats`)

            Time to detection runs from the start of the first night a rule counted to the
            escalation opening; to acknowledgement, from a step's request to the first
            person who saw it (`ladder ack`, or the first approval or rejection); to
            communication, from opening to the first stakeholder brief sent; to decision,
            from a step's request to its approval or rejection; to resolution, from opening
            to resolution.
            """
        ),
        _code(
            """
            now = datetime.fromisoformat(NOW)
            scopes = {
                MODEL_ID: store.read(lambda c: list_escalations(c, model_id=MODEL_ID)),
                "all models": store.read(lambda c: list_escalations(c)),
            }
            facts = store.read(incident_facts)
            frames = {scope: stats_frame(compute_stats(escalations, facts=facts, now=now))
                      for scope, escalations in scopes.items()}
            figures = pd.concat(frames, names=["scope"]).reset_index(level=0)
            fig, ax = plt.subplots(figsize=(9, 4))
            medians = figures.pivot(index="measure", columns="scope", values="median_hours")
            medians.reindex(figures["measure"].unique()[::-1]).plot.barh(ax=ax)
            ax.set_xlabel("median duration (hours)")
            ax.set_ylabel("")
            ax.set_title("escalation ladder: how long each stage takes")
            ax.legend(title="escalations of", loc="upper left", bbox_to_anchor=(1.01, 1))
            plt.show()
            for scope, escalations in scopes.items():
                stats = compute_stats(escalations, facts=facts, now=now)
                rate = "—" if stats.repeat_rate is None else f"{stats.repeat_rate:.0%}"
                print(f"{scope}: {stats.escalations} escalation(s); by tier {stats.by_tier}; "
                      f"by status {stats.by_status}; repeat rate {rate}")
            figures
            """
        ),
        _md(
            """
            ## 5. Escalation frequency, SLA misses and the process records

            Escalations opened per ISO week (UTC) by tier, with the least-squares trend of
            the weekly counts over the last eight weeks; and the SLA clocks that ran out
            (acknowledgement, decision, communication, post-incident review), by tier, as
            they stand at `NOW`. `modelhealth ladder sla-review --week 2026-W42` lists them.
            """
        ),
        _code(
            """
            stats = compute_stats(scopes["all models"], facts=facts, now=now)
            weeks = weekly_frame(stats)
            colours = {1: "#56B4E9", 2: "#F0E442", 3: "#E69F00", 4: "#D55E00"}
            fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4),
                                              gridspec_kw={"width_ratios": [3, 2]})
            bottom = pd.Series(0, index=weeks.index)
            for tier, colour in colours.items():
                left.bar(weeks["week"], weeks[f"tier_{tier}"], bottom=bottom, color=colour,
                         label=f"tier {tier}")
                bottom = bottom + weeks[f"tier_{tier}"]
            slope = weeks.attrs["trend"].get(0)
            recent = weeks.tail(stats.trend_weeks)
            if slope is not None and len(recent) >= 2:
                middle = (len(recent) - 1) / 2
                fitted = [max(recent["total"].mean() + slope * (k - middle), 0.0)
                          for k in range(len(recent))]
                left.plot(recent["week"], fitted, "k--",
                          label=f"trend {slope:+.2f}/week")
            left.set_xlabel("ISO week (UTC)")
            left.set_ylabel("escalations opened")
            left.set_title("escalations per week, by tier")
            left.tick_params(axis="x", rotation=45)
            left.legend(loc="upper left")
            tiers = [1, 2, 3, 4]
            right.bar([f"tier {t}" for t in tiers],
                      [stats.misses_by_tier.get(t, 0) for t in tiers],
                      color=[colours[t] for t in tiers])
            right.set_xlabel("severity tier")
            right.set_ylabel("clocks that ran out")
            right.set_title(f"SLA misses by tier, as of {now:%Y-%m-%d}")
            plt.tight_layout()
            plt.show()
            print(f"SLA misses by clock: {stats.misses_by_clock or 'none'}")
            records = store.read(load_records)
            for esc_id, sent in records.briefs.items():
                print(f"esc-{esc_id}: {len(sent)} brief(s), the first sent "
                      f"{sent[0].sent_at:%Y-%m-%d %H:%M} UTC by {sent[0].sent_by}")
            for esc_id, review in records.reviews.items():
                print(f"esc-{esc_id}: post-incident review {review.status}, due "
                      f"{review.due_at:%Y-%m-%d}, {len(review.actions)} follow-up action(s)")
            weeks
            """
        ),
        _code("store.close()"),
    ]


NOTEBOOKS = {
    "drift_exploration.ipynb": drift_exploration,
    "calibration.ipynb": calibration,
    "ladder_history.ipynb": ladder_history,
}


def build(name: str) -> NotebookNode:
    """The notebook ``name`` (a key of :data:`NOTEBOOKS`), stripped, with fixed cell ids."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = {"name": "python"}
    stem = name.removesuffix(".ipynb").replace("_", "-")
    for index, cell in enumerate(NOTEBOOKS[name]()):
        cell.id = f"{stem}-{index:02d}"
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def render(name: str) -> str:
    """The file text of notebook ``name``."""
    return nbformat.writes(build(name)) + "\n"


def write(directory: Path = HERE) -> list[Path]:
    """Write every notebook into ``directory``; returns their paths."""
    paths = []
    for name in NOTEBOOKS:
        path = directory / name
        path.write_text(render(name), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the notebooks, or with ``--check`` report stale ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a notebook differs from what this script writes",
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = [
            name
            for name in NOTEBOOKS
            if not (HERE / name).exists()
            or (HERE / name).read_text(encoding="utf-8") != render(name)
        ]
        for name in stale:
            print(f"{name} is stale: run python notebooks/build_notebooks.py", file=sys.stderr)
        return 1 if stale else 0
    for path in write():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
