"""jplan: a JAX-accelerated, differentiable toolkit for decentralised economic planning procedures.

Economies (`jplan.economies`) are pytrees of arrays; procedures (`jplan.procedures`) are frozen equinox
Modules with pure `init`/`step`/`observe`; `jplan.run` drives any of them under jit/vmap/grad; and
`jplan.optimum` is the exact centralised optimum every gap is measured against (its machinery lives in
the subpackage `jplan.solvers`, with `linprog`, a JAX simplex with exact basis polish). The decomposition procedures (`DantzigWolfe`, `KornaiLiptak`) run on block-angular economies
(`jplan.economies.DivisionsEconomy`, reference `jplan.solvers.divisions_optimum`). `jplan.rudra` is Rudra's long-term planning frame (central LP,
sectoral technology choice by gradient descent, planning cycles, shortest time). Results users read are
meant to be float64: call `jplan.enable_x64()` (the CLI and the tests do) before creating arrays.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers and the API reference; at run time the names load on first use (below)
    from . import rudra
    from ._batching import vmap_chunked
    from ._x64 import enable_compilation_cache, enable_x64
    from .economies import (Labels, Plan, ProductionEconomy, from_arrays, infeasibility, load_economy, sample,
                            sample_batch, save_economy, welfare)
    from .procedures import (PROCEDURES, ArrowHurwicz, ArrowHurwiczAdaptive, DantzigWolfe, Heal, HealProportional,
                             KornaiLiptak, KornaiLiptakSubgradient, Malinvaud, MalinvaudMemory, Procedure, Trace,
                             make_procedure, register_procedure, run, solve, status_name)
    from .solvers import Optimum, optimum, optimum_status_name

# Names are imported on first use (PEP 562), so that `import jplan` — and with it `jplan --version`,
# `jplan --help` and every CLI start — does not pay for importing JAX until a command needs it.
_LAZY = {
    "enable_x64": "jplan._x64",
    "enable_compilation_cache": "jplan._x64",
    "vmap_chunked": "jplan._batching",
    **{name: "jplan.economies" for name in ("Labels", "Plan", "ProductionEconomy", "from_arrays", "infeasibility",
                                             "load_economy", "sample", "sample_batch", "save_economy", "welfare")},
    **{name: "jplan.solvers" for name in ("Optimum", "optimum", "optimum_status_name")},
    **{name: "jplan.procedures" for name in ("PROCEDURES", "ArrowHurwicz", "ArrowHurwiczAdaptive", "DantzigWolfe", "Heal",
                                              "HealProportional", "KornaiLiptak", "KornaiLiptakSubgradient", "Malinvaud",
                                              "MalinvaudMemory", "Procedure", "Trace", "make_procedure",
                                              "register_procedure", "run", "solve", "status_name")},
}
_SUBMODULES = ("economies", "solvers", "procedures", "rudra", "study", "errors", "sensitivity", "multiyear", "cli")


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"jplan.{name}")
    else:
        raise AttributeError(f"module 'jplan' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


__version__ = "0.2.0"

__all__ = [
    "ArrowHurwicz",
    "ArrowHurwiczAdaptive",
    "DantzigWolfe",
    "Heal",
    "HealProportional",
    "KornaiLiptak",
    "KornaiLiptakSubgradient",
    "Labels",
    "Malinvaud",
    "MalinvaudMemory",
    "Optimum",
    "PROCEDURES",
    "Plan",
    "Procedure",
    "ProductionEconomy",
    "Trace",
    "enable_compilation_cache",
    "enable_x64",
    "from_arrays",
    "infeasibility",
    "load_economy",
    "make_procedure",
    "register_procedure",
    "rudra",
    "optimum",
    "optimum_status_name",
    "run",
    "sample",
    "sample_batch",
    "save_economy",
    "solve",
    "status_name",
    "vmap_chunked",
    "welfare",
]
