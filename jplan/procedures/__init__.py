"""Planning procedures: one module each, one protocol, one run loop. Knows nothing of files or the CLI.

The firm-side agents are public, for writing your own procedure: `firm_supply` (a firm's
profit-maximising plan at prices, closed form for the built-in technologies) and `firm_report` (output and
marginal productivities at an allocation), and for proximal procedures `firm_proximal` (the plan best at
prices and close to a reference plan); the centre's consumption is `jplan.economies.consumer_demand`.
"""

from .accelerated_dual import AcceleratedDual
from .admm import ADMM, PDHG
from .learned import LearnedTatonnement
from .participatory import Participatory
from .arrow_hurwicz import ArrowHurwicz, ArrowHurwiczAdaptive, firm_supply
from .base import (
    CONVERGED,
    DIVERGED,
    FAILED,
    OUT_OF_DOMAIN,
    RUNNING,
    STATUS_NAMES,
    Messages,
    Observation,
    Procedure,
    Trace,
    check_domain,
    relative_gap,
    run,
    status_name,
)
from .dantzig_wolfe import DantzigWolfe
from .heal import Heal, HealProportional, firm_report
from .kornai_liptak import KornaiLiptak, KornaiLiptakCuttingPlane, KornaiLiptakSubgradient
from .malinvaud import Malinvaud
from .malinvaud_memory import MalinvaudMemory, MalinvaudMemoryCentred, capped_supply
from .heal_sparse import SparseHealResult, SparseHealState, sparse_heal
from .malinvaud_sparse import SparseMalinvaudResult, sparse_malinvaud
from .proximal import firm_proximal
from .registry import DEFAULT_STEPS, PROCEDURES, SolveResult, load_plugins, make_procedure, register_procedure, solve

__all__ = [
    "sparse_malinvaud",
    "SparseMalinvaudResult",
    "sparse_heal",
    "SparseHealResult",
    "SparseHealState",
    "AcceleratedDual",
    "ADMM",
    "LearnedTatonnement",
    "PDHG",
    "firm_proximal",
    "Participatory",
    "ArrowHurwicz",
    "ArrowHurwiczAdaptive",
    "DantzigWolfe",
    "Heal",
    "HealProportional",
    "KornaiLiptak",
    "KornaiLiptakSubgradient",
    "KornaiLiptakCuttingPlane",
    "Malinvaud",
    "MalinvaudMemory",
    "MalinvaudMemoryCentred",
    "capped_supply",
    "Messages",
    "Observation",
    "firm_report",
    "firm_supply",
    "PROCEDURES",
    "register_procedure",
    "load_plugins",
    "DEFAULT_STEPS",
    "SolveResult",
    "make_procedure",
    "solve",
    "Procedure",
    "Trace",
    "check_domain",
    "relative_gap",
    "run",
    "status_name",
    "STATUS_NAMES",
    "RUNNING",
    "CONVERGED",
    "DIVERGED",
    "OUT_OF_DOMAIN",
    "FAILED",
]
