"""The nightly report as one self-contained HTML page.

:func:`render_html` is the entry point; the page is built in layers: :mod:`.format`
(numbers and statuses as text), :mod:`.charts` (SVG geometry), :mod:`.views` (one view
model per model) and :mod:`.render` (the Jinja2 template in ``templates/``).
"""

from modelhealth.outputs.html.render import render_html
from modelhealth.outputs.html.views import LadderView, NightPoint

__all__ = ["LadderView", "NightPoint", "render_html"]
