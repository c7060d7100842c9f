"""Regenerate the demo month under ``data/demo/``, byte for byte.

Usage (from the repository root)::

    .venv/bin/python data/make_demo_data.py           # rewrite data/demo/
    .venv/bin/python data/make_demo_data.py --check   # regenerate elsewhere, compare hashes

The story of the month and what each file holds are in ``data/README.md``. Output is
deterministic for a given pyarrow version: the simulator's streams are seeded by
(seed, model, day) and Parquet is written with fixed options
(:data:`modelhealth.demo.simulate.PARQUET_OPTIONS`).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from modelhealth.demo.profiles import demo_profiles
from modelhealth.demo.simulate import late_labels, write_logs, write_table

__all__ = ["LATE_LABEL_MODELS", "NIGHTS", "SEED", "START", "generate"]

#: First night of the demo month; the month has 30 nights, 2026-10-01 … 2026-10-30.
START = date(2026, 10, 1)
NIGHTS = 30
SEED = 20261001
#: Late labels: this share of the unlabeled rows of the last nights of these models.
LATE_LABEL_MODELS = ("support-assistant", "invoice-extractor")
LATE_LABEL_NIGHTS = 3
LATE_LABEL_SHARE = 0.6

DEMO_DIR = Path(__file__).resolve().parent / "demo"


def generate(out: Path) -> list[Path]:
    """Write the demo logs and late labels under ``out`` (replacing ``out/logs``).

    Returns
    -------
    list of Path
        Every file written: ``logs/date=YYYY-MM-DD/part-0.parquet`` per night, then
        ``labels.parquet``.
    """
    logs = out / "logs"
    if logs.exists():
        shutil.rmtree(logs)
    profiles = demo_profiles(START)
    files = write_logs(profiles, START, NIGHTS, logs, seed=SEED, fmt="parquet")
    labeled = [p for p in profiles if p.model_id in LATE_LABEL_MODELS]
    first_late = START + timedelta(days=NIGHTS - LATE_LABEL_NIGHTS)
    labels = late_labels(labeled, first_late, LATE_LABEL_NIGHTS, seed=SEED, share=LATE_LABEL_SHARE)
    files.append(write_table(labels, out / "labels.parquet"))
    return files


def digests(files: list[Path], root: Path) -> dict[str, str]:
    """SHA-256 of each file, keyed by its path relative to ``root``."""
    return {
        f.relative_to(root).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest() for f in files
    }


def main(argv: list[str] | None = None) -> int:
    """Regenerate ``data/demo`` or, with ``--check``, verify it is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary directory and compare with data/demo (exit 1 if not)",
    )
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = digests(generate(Path(tmp)), Path(tmp))
        shipped = {
            name: hashlib.sha256((DEMO_DIR / name).read_bytes()).hexdigest()
            for name in fresh
            if (DEMO_DIR / name).is_file()
        }
        stale = sorted(name for name in fresh if shipped.get(name) != fresh[name])
        extra = sorted(
            p.relative_to(DEMO_DIR).as_posix()
            for p in DEMO_DIR.rglob("*.parquet")
            if p.relative_to(DEMO_DIR).as_posix() not in fresh
        )
        for name in stale:
            print(f"differs or missing: {name}")
        for name in extra:
            print(f"not produced by the generator: {name}")
        print("data/demo is up to date" if not stale and not extra else "data/demo is stale")
        return 1 if stale or extra else 0
    files = generate(DEMO_DIR)
    total = 0
    for name, digest in digests(files, DEMO_DIR).items():
        size = (DEMO_DIR / name).stat().st_size
        total += size
        print(f"{size:>9,d}  {digest[:16]}  {name}")
    print(f"{total:>9,d}  bytes in {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
