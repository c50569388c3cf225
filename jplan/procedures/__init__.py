"""Planning procedures: one module each, one protocol, one run loop. Knows nothing of files or the CLI."""

from .arrow_hurwicz import ArrowHurwicz, ArrowHurwiczAdaptive
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
from .heal import Heal, HealProportional
from .malinvaud import Malinvaud
from .solve import DEFAULT_STEPS, PROCEDURES, SolveResult, make_procedure, register_procedure, solve

__all__ = [
    "ArrowHurwicz",
    "ArrowHurwiczAdaptive",
    "Heal",
    "HealProportional",
    "Malinvaud",
    "Messages",
    "Observation",
    "PROCEDURES",
    "register_procedure",
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
