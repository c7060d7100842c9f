"""The example register and the demo month, shipped inside the package.

They live in ``modelhealth/demo/data/`` (``register.yaml``, ``demo/logs/``,
``demo/labels.parquet``) and reach an installed wheel as package data; the repository's
``data/register.yaml`` and ``data/demo`` are symbolic links to them, so there is one copy
in git. :func:`shipped_data` finds them through :mod:`importlib.resources`, so
``modelhealth demo`` runs from any folder, checkout or wheel.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

__all__ = ["ShippedData", "shipped_data"]


@dataclass(frozen=True)
class ShippedData:
    """Where the shipped example files are on this machine."""

    folder: Path

    @property
    def register(self) -> Path:
        return self.folder / "register.yaml"

    @property
    def logs(self) -> Path:
        return self.folder / "demo" / "logs"

    @property
    def labels(self) -> Path:
        return self.folder / "demo" / "labels.parquet"


def shipped_data() -> ShippedData:
    """The shipped example register and demo logs (an installed package is a folder on
    disk: the demo's logs are read by path, so a zipped install is not supported)."""
    folder = Path(str(files("modelhealth.demo") / "data"))
    if not (folder / "register.yaml").is_file():
        raise FileNotFoundError(
            f"the shipped demo data is missing from {folder}: reinstall modelhealth"
        )
    return ShippedData(folder)
