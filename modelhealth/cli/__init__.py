"""The ``modelhealth`` command line (console script ``modelhealth = modelhealth.cli:main``)."""

from modelhealth.cli.app import app, main

__all__ = ["app", "main"]
