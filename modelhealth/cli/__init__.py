"""The ``modelhealth`` command line (console script ``modelhealth = modelhealth.cli:main``).

:func:`main` runs the commands inside the guard of :mod:`modelhealth.cli.crash`: even a
damaged installation (a dependency that fails to import) exits 3 with a log, never 1.
"""

from __future__ import annotations

import contextlib

__all__ = ["app", "main"]

# A damaged installation is not reported here: main() imports the commands again, inside
# the guard, and reports the error with exit 3.
with contextlib.suppress(Exception):
    from modelhealth.cli.app import app


def main() -> None:
    """Console-script entry point."""
    from modelhealth.cli.crash import main as guarded_main

    guarded_main()
