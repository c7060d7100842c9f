"""``python -m modelhealth``."""

from modelhealth.cli import main

main()
