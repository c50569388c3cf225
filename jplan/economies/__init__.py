"""Economies: pytrees of arrays, their file format and random samplers. Knows nothing of procedures."""

from .io import Labels, dumps_economy, from_arrays, load_economy, loads_economy, save_economy
from .production import (
    FirmTechnology,
    Plan,
    ProductionEconomy,
    excess_demand,
    firm_output,
    infeasibility,
    output,
    plan_from_inputs,
    welfare,
)
from .sampling import sample, sample_batch

__all__ = [
    "FirmTechnology",
    "Labels",
    "Plan",
    "ProductionEconomy",
    "dumps_economy",
    "excess_demand",
    "firm_output",
    "from_arrays",
    "infeasibility",
    "load_economy",
    "loads_economy",
    "output",
    "plan_from_inputs",
    "sample",
    "sample_batch",
    "save_economy",
    "welfare",
]
