"""The escalation desk: a web service where model owners see, decide and are reminded.

``modelhealth serve`` runs :func:`create_app` on uvicorn over the same state store the
nightly check writes. Pages (inbox, step, model, audit, ladder, matrix, stats) and a
JSON API call the same :mod:`ladder` functions as the CLI; the desk adds transport —
identity, sessions, CSRF, source addresses — and never a rule of its own. See
``docs/desk.md``.

Modules: :mod:`.settings` (options), :mod:`.desk` (the store and the pinned register),
:mod:`.identity` (tokens, sessions, SSO, CSRF), :mod:`.views` and :mod:`.records` (view
models), :mod:`.render` (templates), :mod:`.errors` (refusals → responses),
:mod:`.pages`, :mod:`.api`, :mod:`.ticker` (the SLA loop), :mod:`.app`.
"""

from modelhealth.serve.app import create_app, run
from modelhealth.serve.settings import DeskSettings

__all__ = ["DeskSettings", "create_app", "run"]
