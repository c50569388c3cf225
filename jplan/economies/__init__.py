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
from .rudra import (
    GrowthPath,
    ProjectFrontier,
    RudraEconomy,
    SectorColumn,
    Technology,
    capital_weights,
    frontiers,
    sample_frontiers,
    sample_rudra,
    value_added_share,
    with_column,
)
from .rudra_io import RudraFile, load_rudra, loads_rudra
from .sampling import sample, sample_batch
from .technology import ProductionTechnology, generic_coefficients, generic_supply, with_technology

__all__ = [
    "ProductionTechnology",
    "generic_coefficients",
    "generic_supply",
    "with_technology",
    "FirmTechnology",
    "GrowthPath",
    "ProjectFrontier",
    "RudraEconomy",
    "RudraFile",
    "SectorColumn",
    "Technology",
    "capital_weights",
    "frontiers",
    "load_rudra",
    "loads_rudra",
    "sample_frontiers",
    "sample_rudra",
    "value_added_share",
    "with_column",
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
