"""Convenience front door: build a procedure by name and run it to convergence on one economy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import equinox as eqx
import jax.numpy as jnp

from ..economies.production import ProductionEconomy
from ..errors import JplanInputError
from ..solvers import optimum
from ..solvers.general import INFEASIBLE
from ..solvers.production import unfed_subsistence_message
from .accelerated_dual import AcceleratedDual
from .admm import ADMM, PDHG
from .learned import LearnedTatonnement
from .participatory import Participatory
from .arrow_hurwicz import RULES, ArrowHurwicz, ArrowHurwiczAdaptive
from .base import Procedure, Trace, run, status_name
from .dantzig_wolfe import DantzigWolfe
from .kornai_liptak import KornaiLiptak, KornaiLiptakCuttingPlane, KornaiLiptakSubgradient
from .heal import Heal, HealProportional
from .malinvaud import Malinvaud
from .malinvaud_memory import MalinvaudMemory, MalinvaudMemoryCentred

__all__ = ["make_procedure", "register_procedure", "load_plugins", "ENTRY_POINT_GROUP", "solve", "SolveResult", "DEFAULT_STEPS", "PROCEDURES"]

#: The procedures jplan ships, in the order commands list them.
BUILTIN = (ArrowHurwicz, ArrowHurwiczAdaptive, AcceleratedDual, Participatory, ADMM, PDHG, LearnedTatonnement, Malinvaud,
           MalinvaudMemory, MalinvaudMemoryCentred, Heal, HealProportional, DantzigWolfe, KornaiLiptak,
           KornaiLiptakSubgradient, KornaiLiptakCuttingPlane)

#: The procedures by their command-line names.
PROCEDURES = {cls.name: cls for cls in BUILTIN}
"""The procedure registry: name -> class, the built-in ones and any registered (`register_procedure`) or
installed under the entry-point group `jplan.procedures` (`load_plugins`)."""

#: The largest step budget accepted (a run records every step).
MAX_STEPS = 100_000

#: Generous step limits; every procedure stops earlier at its own tolerance.
DEFAULT_STEPS = {"arrow-hurwicz": 50000, "arrow-hurwicz-adaptive": 20000, "accelerated-dual": 20000, "participatory": 20000, "admm": 5000, "pdhg": 5000, "learned-tatonnement": 20000, "malinvaud": 200, "malinvaud-memory": 300, "malinvaud-memory-centred": 300, "heal": 20000,
                 "heal-proportional": 2000, "dantzig-wolfe": 200,
                 "kornai-liptak": 2000, "kornai-liptak-subgradient": 2000,
                 "kornai-liptak-cutting-plane": 100}


_NAME = __import__("re").compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def register_procedure(cls=None, *, default_steps: int = 1000, replace: bool = False):
    """Make a `Procedure` subclass available by its `name` everywhere procedures are named: `make_procedure`,
    `solve`, study configs (`procedures = [...]` and a `[procedures.<name>]` table with `steps` and any of
    its array fields as options) and `jplan.PROCEDURES`. Usable as a decorator (`@register_procedure`) or
    a call; returns the class. `default_steps` is the step limit `solve` uses when none is given.

    The class must set `name` (lower case letters, digits and '-'), and implement `init`, `step` and
    `observe` (see `jplan.procedures.base.Procedure`); its centre may read only what firms report (the
    tests' structural privacy check shows how to test that). Registering a taken name raises unless
    `replace=True`.
    """

    def register(cls):
        if not (isinstance(cls, type) and issubclass(cls, Procedure)):
            raise TypeError(f"register_procedure: {cls!r} is not a jplan Procedure subclass")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not _NAME.match(name) or name == Procedure.name:
            raise ValueError(f"register_procedure: {cls.__name__}.name must be a lower-case name such as 'my-heal', got {name!r}")
        if name in PROCEDURES and PROCEDURES[name] is not cls and not replace:
            raise ValueError(f"register_procedure: {name!r} is taken by {PROCEDURES[name].__name__} (pass replace=True)")
        if not (isinstance(default_steps, int) and 1 <= default_steps <= MAX_STEPS):
            raise ValueError(f"register_procedure: default_steps must be an int in 1..{MAX_STEPS}")
        PROCEDURES[name] = cls
        DEFAULT_STEPS[name] = default_steps
        return cls

    return register if cls is None else register(cls)


#: Installed packages declare procedures under this entry-point group (name = "module:Class").
ENTRY_POINT_GROUP = "jplan.procedures"
_plugins_loaded = False


def load_plugins() -> list[str]:
    """Register every procedure that installed packages declare under the entry-point group
    `jplan.procedures` (in a package's pyproject.toml: `[project.entry-points."jplan.procedures"]`,
    `my-heal = "my_package.module:MyHeal"`), so `jplan solve --procedure my-heal` and study configs find it.
    Runs once per process (the CLI calls it at start-up; `make_procedure` and study configs call it when a
    name is unknown). A plugin that fails to load is skipped with a one-line warning. Returns the names added.
    """
    global _plugins_loaded
    if _plugins_loaded:
        return []
    _plugins_loaded = True
    import sys
    from importlib.metadata import entry_points

    added = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
            if PROCEDURES.get(getattr(cls, "name", None)) is not cls:
                register_procedure(cls, default_steps=getattr(cls, "default_steps", 1000))
                added.append(cls.name)
        except Exception as exc:  # a broken plugin must not break jplan
            print(f"jplan: warning: procedure plugin {ep.name!r} ({ep.value}) not loaded: {exc}".splitlines()[0], file=sys.stderr)
    return added


def _fields(cls) -> set[str]:
    import dataclasses

    return {f.name for f in dataclasses.fields(cls)}


def make_procedure(name: str, *, step_size=None, rule=None, tolerance=None, **options) -> Procedure:
    """A procedure by name with its defaults, overriding only the options given (None = default)."""
    if name not in PROCEDURES:
        load_plugins()
    if name not in PROCEDURES:
        raise JplanInputError(f"unknown procedure {name!r} (known: {', '.join(PROCEDURES)})")
    kwargs = dict(options)
    fields = _fields(PROCEDURES[name])
    if step_size is not None:
        if "step_size" not in fields:
            raise JplanInputError(f"{name} has no step size")
        if not (step_size > 0 and math.isfinite(step_size)):
            raise JplanInputError(f"step size must be a finite number > 0, got {step_size}")
        kwargs["step_size"] = step_size
    if rule is not None:
        if "rule" not in fields:
            raise JplanInputError(f"--rule applies to arrow-hurwicz only, not {name}")
        if rule not in RULES:
            raise JplanInputError(f"unknown arrow-hurwicz rule {rule!r} (known: {', '.join(RULES)})")
        kwargs["rule"] = rule
    if tolerance is not None:
        if not 0 < tolerance < 1:
            raise JplanInputError(f"tolerance must be between 0 and 1 (a relative residual), got {tolerance}")
        kwargs["tolerance"] = tolerance
    return PROCEDURES[name](**kwargs)


@dataclass(frozen=True)
class SolveResult:
    """A finished run on one economy, with the reference optimum it was measured against."""

    trace: Trace
    status: str
    optimal_welfare: jnp.ndarray
    steps_limit: int
    reason: str = ""  # for a failed run: what failed, and at which step (`Procedure.failure_message`)


@eqx.filter_jit
def _run(procedure, economy, optimal_welfare, steps):
    return run(procedure, economy, steps, optimal_welfare=optimal_welfare)


def solve(procedure: Procedure, economy: ProductionEconomy, steps: int | None = None) -> SolveResult:
    """Run `procedure` on one economy until it stops (tolerance, divergence or the step limit)."""
    steps = int(steps) if steps is not None else DEFAULT_STEPS.get(procedure.name, 1000)
    if not 1 <= steps <= MAX_STEPS:
        raise JplanInputError(f"--steps must be between 1 and {MAX_STEPS}, got {steps}")
    from ..economies.divisions import DivisionsEconomy

    kind = "divisions" if isinstance(economy, DivisionsEconomy) else "production"
    if procedure.economy_kind != kind:
        raise JplanInputError(f'{procedure.name} runs on kind = "{procedure.economy_kind}" economies, not "{kind}"')
    if kind == "divisions":
        from ..solvers.divisions import divisions_optimum
        from ..solvers.lp import lp_status_name

        reference = divisions_optimum(economy)
        if lp_status_name(reference.status) != "optimal":
            raise JplanInputError(f"the economy's LP is {lp_status_name(reference.status)}: there is no optimal plan to plan towards")
        u_star = reference.objective
    else:
        reference = optimum(economy)
        if int(reference.status) == INFEASIBLE:
            raise JplanInputError(unfed_subsistence_message(economy))
        u_star = reference.welfare
    try:
        trace = _run(procedure, economy, u_star, steps)
    except JplanInputError:
        raise
    except Exception as exc:
        module = type(procedure).__module__
        if module.split(".")[0] == "jplan":
            raise  # a bug in jplan itself: the full traceback
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise JplanInputError(f"procedure {procedure.name!r} (a plugin, {module}) raised {type(exc).__name__}: {first} "
                              "(run with --debug for its traceback)") from exc
    status = status_name(trace.status)
    reason = ""
    if status == "failed":
        said = procedure.failure_message(int(trace.failure))
        reason = f"{said} at step {int(trace.steps)}" if said else ""
    return SolveResult(trace=trace, status=status, optimal_welfare=u_star, steps_limit=steps, reason=reason)
