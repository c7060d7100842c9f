"""``modelhealth init``: a starting register inferred from a sample of one's own logs.

:func:`infer_register` reads what a sample says (:mod:`.infer`); :func:`render_register`
writes it as commented YAML (:mod:`.render`).
"""

from modelhealth.onboard.infer import Inferred, infer_register, read_sample
from modelhealth.onboard.render import render_register

__all__ = ["Inferred", "infer_register", "read_sample", "render_register"]
