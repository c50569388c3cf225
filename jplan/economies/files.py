"""Economy files by kind: `KINDS` maps a file's `kind` to the module that owns its format, and `load_any`
reads any file a production procedure or the decomposition procedures run on."""

from __future__ import annotations

import os

from ..errors import EconomyFileError
from ._format import read_toml

__all__ = ["KINDS", "load_any"]

#: kind -> (the module that owns the format, its loader of a path); the Rudra and multi-year kinds are run by
#: their own commands (`jplan rudra`, `jplan multiyear`).
KINDS = {
    "production": ("jplan.economies.io", "load_economy"),
    "divisions": ("jplan.economies.divisions", "load_divisions"),
    "rudra": ("jplan.economies.rudra_io", "load_rudra"),
    "rudra-full": ("jplan.economies.rudra_full", "load_rudra_full"),
    "multiyear": ("jplan.economies.multiyear", "load_multiyear"),
}


def load_any(path: str | os.PathLike):
    """Read an economy file of kind "production" or "divisions": (economy, labels) of the matching type
    (`ProductionEconomy` with `Labels`, or `DivisionsEconomy` with `DivisionLabels`)."""
    doc = read_toml(path, "economy file")
    try:
        if doc.get("kind") == "divisions":
            from .divisions import _from_dict

            return _from_dict(doc)
        from .io import _economy_from_dict

        return _economy_from_dict(doc)
    except EconomyFileError as exc:
        raise EconomyFileError(f"{path}: {exc}") from None


