"""The nightly report as one self-contained HTML page, for the people who own the models.

:func:`render_html` turns a :class:`~monitor.report.Report` into a single file that opens
offline: inline CSS, inline SVG charts, no fonts, scripts or images from anywhere else (a
Content-Security-Policy in the page enforces it), and the only script — the optional
"copy" buttons next to ladder commands — is pinned by its hash. The page reads fully
without JavaScript and prints.

Everything that comes from logs or the register (model ids, output types, segments,
annotations, evidence, feature names, summaries, commands …) is rendered by Jinja2 with
autoescaping, SVG text included; nothing here marks such a string safe.

The template ships compiled (``compiled/``, what Jinja2's
:meth:`~jinja2.Environment.compile_templates` writes), because compiling its 43 KB of
source took 0.07 s of every check. The folder's ``KEY`` names what it was compiled from
(Jinja2's version, the environment's options and every template's bytes); when that is
not what is installed, the page is compiled from the source as before, so a stale copy
is never used. ``make templates`` (:func:`compile_templates`) compiles it again, and a
test fails while the committed copy is stale.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import Environment, ModuleLoader, PackageLoader, StrictUndefined
from markupsafe import Markup

from modelhealth.outputs.html.format import (
    count,
    money,
    ms,
    num,
    p_value,
    pct,
    status_style,
    title,
    utc,
)
from modelhealth.outputs.html.views import LadderView, NightPoint, ingest_bars, model_view
from monitor.report import Report

if TYPE_CHECKING:
    from ladder.stats import LadderStats
    from modelhealth.outputs.html.process import ProcessPanel

__all__ = ["COMPILED", "compile_templates", "compiled_key", "render_html"]

_HERE = Path(__file__).resolve().parent
#: The compiled templates and their ``KEY``.
COMPILED = _HERE / "compiled"
_OPTIONS: dict[str, Any] = {
    "autoescape": True,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
}


#: The page's only script: adds "Copy" buttons to command blocks. The page works without it.
_COPY_SCRIPT = """
document.querySelectorAll("pre.command").forEach(function (pre) {
  if (!navigator.clipboard) { return; }
  var button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "Copy";
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(pre.querySelector("code").textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    }, function () { button.textContent = "Select and copy"; });
  });
  pre.appendChild(button);
});
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_COPY_SCRIPT.encode()).digest()).decode()


def compiled_key() -> str:
    """What compiled templates must have been compiled from to be used: Jinja2's version,
    the environment's options and every template's name and bytes (SHA-256)."""
    digest = hashlib.sha256(f"{jinja2.__version__}\0{sorted(_OPTIONS.items())}".encode())
    for path in sorted((_HERE / "templates").glob("*.j2")):
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _fresh(folder: Path) -> bool:
    try:
        return (folder / "KEY").read_text().strip() == compiled_key()
    except OSError:
        return False


def compile_templates(folder: Path = COMPILED) -> Path:
    """Compile every template into ``folder`` (Python modules) and write its ``KEY``."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("tmpl_*.py"):
        old.unlink()
    _environment(compiled=False).compile_templates(folder, zip=None, ignore_errors=False)
    (folder / "KEY").write_text(compiled_key() + "\n")
    return folder


@cache
def _environment(*, compiled: bool = True) -> Environment:
    """The page's environment; its templates come from ``compiled/`` when that is fresh."""
    loader: jinja2.BaseLoader = (
        ModuleLoader(str(COMPILED))
        if compiled and _fresh(COMPILED)
        else PackageLoader("modelhealth.outputs.html", "templates")
    )
    env = Environment(loader=loader, undefined=StrictUndefined, **_OPTIONS)
    env.filters.update(pct=pct, ms=ms, num=num, count=count, p_value=p_value, utc=utc, title=title)
    env.globals.update(money=money, status=status_style)
    return env


def render_html(
    report: Report,
    *,
    trends: Mapping[str, Sequence[NightPoint]] | None = None,
    ladders: Mapping[str, LadderView] | None = None,
    process: LadderStats | None = None,
) -> str:
    """The report as one self-contained HTML document.

    Parameters
    ----------
    report : Report
        Tonight's report.
    trends : mapping of model id to sequence of NightPoint, optional
        Past nights per model, from the ladder's state store, for the trend charts.
        Models without history get no trend charts.
    ladders : mapping of model id to LadderView, optional
        Each model's ladder (rungs, allowed, current, tried). A model without one is
        shown on the default six rungs at ``ModelReport.ladder_position``.
    process : LadderStats, optional
        ``ladder stats`` over every escalation of the store (with the incidents' facts,
        at the run's clock): the page then has a ladder-process panel with escalations
        per week and their trend, process durations and SLA misses by tier.

    Returns
    -------
    str
        The HTML page. It loads nothing from the network, is readable without
        JavaScript, and escapes every string that came from logs or the register.
    """
    trends = trends or {}
    ladders = ladders or {}
    views = [
        model_view(i, model, trends.get(model.model_id, ()), ladders.get(model.model_id))
        for i, model in enumerate(report.models)
    ]
    counts: dict[str, int] = {}
    for view in views:
        counts[view.status.key] = counts.get(view.status.key, 0) + 1
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        overall=status_style(report.status),
        views=views,
        status_counts=[
            (status_style(key), counts[key])
            for key in ("breach", "blind", "warning", "insufficient_data", "healthy", "unknown")
            if key in counts
        ],
        ingest_bars=ingest_bars(report),
        process=_process_panel(process) if process is not None else None,
        script=Markup(_COPY_SCRIPT),  # our own constant, pinned by the CSP hash below
        script_hash=_SCRIPT_HASH,
        legend_statuses=[
            status_style(s) for s in ("healthy", "warning", "breach", "insufficient_data", "blind")
        ],
    )


def _process_panel(stats: LadderStats) -> ProcessPanel:
    # Imported here: the process panel reads the ladder package (and so SQLAlchemy, about
    # 0.4 s), which a check that records nothing (--no-ladder) never needs.
    from modelhealth.outputs.html.process import process_panel

    return process_panel(stats)
