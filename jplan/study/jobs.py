"""Stage 1 of a study: what to run. The economies of each scenario (keyed draws, so chunking never changes
which economies are drawn), their reference optima, and the chunks of every scenario × procedure.

Economy i of scenario s is drawn from jax.random.split(fold_in(PRNGKey(seed), s), batch)[i]; a chunk is
economies c·chunk … (c+1)·chunk − 1, whatever the device count (`execution` pads a chunk to a multiple of
the device count and drops the padding).
"""

from __future__ import annotations

import functools
import json
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._programs import compiled
from ..economies.divisions import DivisionsEconomy, sample_divisions
from ..economies.sampling import batch_sampler, shared_program
from ..solvers import closed_form, divisions_optimum, optimum
from ..solvers.production import reference_function
from ..solvers.status import NUMERICAL_FAILURE, OPTIMAL
from .config import StudyConfig
from .storage import ECONOMY_COLUMNS

__all__ = ["Job", "jobs", "chunk_count", "sample_scenario", "sample_chunk", "scenario_economies", "economy_columns"]


class Job(NamedTuple):
    """One scenario × procedure and the chunks of it this run is responsible for."""

    scenario_index: int
    procedure: str
    chunks: tuple[int, ...]


def chunk_count(config: StudyConfig, scenario_index: int) -> int:
    """Chunks of scenario `scenario_index` (its economies, `config.chunk` at a time)."""
    return -(-config.economies(scenario_index) // config.chunk)


def jobs(config: StudyConfig, part: tuple[int, int] | None = None) -> list[Job]:
    """Every scenario × procedure with its chunks; with `part` = (k, m) only the chunks c with
    c mod m = k − 1 (one of m machines' share; economies keep their global indices)."""
    def mine(si):
        return tuple(c for c in range(chunk_count(config, si)) if part is None or c % part[1] == part[0] - 1)

    return [Job(si, p, mine(si)) for si, sc in enumerate(config.scenarios) for p in sc.procedures]


def _options(options: str) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(options).items()}


@functools.lru_cache(maxsize=64)
def _sampler(n: int, m: int, options: str, kind: str = "production"):
    kwargs = _options(options)
    if "table" in kwargs:  # economies drawn around the economy calibrated from an input–output table
        from ..economies.table import calibrate_table, perturb_calibrated, read_table

        base, _ = calibrate_table(read_table(kwargs["table_path"]), single_factor=kwargs["single_factor"],
                                  **kwargs.get("calibration", {}))
        sigma, rho = kwargs["perturbation"], kwargs["returns_to_scale"]
        return jax.jit(jax.vmap(lambda k: perturb_calibrated(k, base, sigma, rho)))
    if kind == "divisions":
        sizes = [kwargs.pop(k) for k in ("divisions", "activities", "shared", "private")]
        return jax.jit(jax.vmap(lambda k: sample_divisions(k, *sizes, **kwargs)))
    return batch_sampler(n, m, **kwargs)  # one program per (n, m) for most families


@functools.lru_cache(maxsize=64)
def _shared_sampler(n: int, m: int, options: str):
    """`shared_program` of a scenario's options (its option arrays built once, not per chunk)."""
    return shared_program(n, m, **_options(options))


class _LPReference(NamedTuple):
    """A block-angular scenario's references in the runner's terms: welfare = the LP optimum's value."""

    welfare: jax.Array
    status: jax.Array


@jax.jit
@jax.vmap
def _divisions_reference(economy: DivisionsEconomy) -> _LPReference:
    """The exact LP optimum (jplan's simplex; tested against HiGHS), status OPTIMAL or NUMERICAL_FAILURE."""
    opt = divisions_optimum(economy)
    return _LPReference(welfare=opt.objective, status=jnp.where(opt.status == 0, OPTIMAL, NUMERICAL_FAILURE))


def _reference_batch(economies, kind: str) -> _LPReference:
    """The reference optima of a batch by `optimum` or `closed_form` (`kind`): their welfare and status,
    by a program kept on disk between runs (`jplan._programs.compiled`)."""
    solve = optimum if kind == "optimum" else closed_form

    def batch(e):
        opt = jax.vmap(solve)(e)
        # every output kept (the plans and prices too): a program with fewer outputs is fused differently
        # and moves the welfare's last bits
        return {"welfare": opt.welfare, "status": opt.status, "all": jax.tree_util.tree_leaves(opt)}

    out = compiled(("study-reference", kind), batch, (economies,))(economies)
    return _LPReference(welfare=out["welfare"], status=out["status"])


def sample_scenario(config: StudyConfig, scenario_index: int, start: int = 0, size: int | None = None):
    """Economies start .. start + size of a scenario (all of them by default): economy i is drawn from
    jax.random.split(fold_in(PRNGKey(seed), scenario_index), batch)[i], so chunking never changes it."""
    sc = config.scenarios[scenario_index]
    batch = config.economies(scenario_index)
    size = batch - start if size is None else size
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), scenario_index)
    keys = jax.random.split(key, batch)[start : start + size]
    options = json.dumps(sc.sampler, sort_keys=True)
    if "table" in sc.sampler:  # closes over the table's data, which a stored program's key would not cover
        return _sampler(sc.n, sc.m, options, sc.kind)(keys)
    # the draws are functions of the options alone: their programs are kept on disk between runs, one per
    # shape for the families whose options enter as arrays (`shared_program`), else one per option set
    shared = _shared_sampler(sc.n, sc.m, options) if sc.kind == "production" else None
    if shared is not None:
        program, arrays, constants = shared
        return compiled(("study-sampler-shared", sc.n, sc.m, constants), program, (keys, arrays))(keys, arrays)
    sampler = _sampler(sc.n, sc.m, options, sc.kind)
    return compiled(("study-sampler", sc.n, sc.m, options, sc.kind), sampler, (keys,))(keys)


#: The reference optima (welfare and status: a few numbers per economy) of the chunks this process has
#: computed, keyed by the study's fingerprint (everything that determines its economies, a table's content
#: included), the scenario and the chunk, so that a scenario's procedures share one computation.
_REFERENCES: dict = {}


def sample_chunk(config: StudyConfig, scenario_index: int, start: int, size: int):
    """(economies, reference optima) of economies start .. start + size of a scenario. The references are
    computed once per chunk in a process (every procedure of a scenario runs on the same economies; the
    reference is the study's costliest part on CES economies, 0.47 s per economy at n = 64 on 2 cores)."""
    economies = sample_scenario(config, scenario_index, start, size)
    key = (config.fingerprint(), scenario_index, start, size)
    if key not in _REFERENCES:
        if isinstance(economies, DivisionsEconomy):
            reference = _divisions_reference
        else:
            kind = "optimum" if reference_function(economies) is optimum else "closed_form"
            reference = functools.partial(_reference_batch, kind=kind)
        _REFERENCES[key] = jax.block_until_ready(reference(economies))
    return economies, _REFERENCES[key]


def scenario_economies(config: StudyConfig, scenario: str | int):
    """The batch of economies a study draws for one scenario (by name or index), as the runner does."""
    index = scenario if isinstance(scenario, int) else [s.name for s in config.scenarios].index(scenario)
    return sample_scenario(config, index)


def economy_columns(economies) -> dict:
    """Per economy, the summaries of its parameters named in `storage.ECONOMY_COLUMNS` (NaN for block-angular
    economies, whose production parameters do not exist), and its families: technology ("cobb-douglas" or
    "ces"), welfare ("log", "ces", "stone-geary"), returns regime ("decreasing": every ρ < 1 and no set-up
    cost; "constant"; "increasing": every ρ ≥ 1 with some ρ > 1 or a set-up cost; "mixed"); block-angular
    economies are "linear" with constant returns."""
    if isinstance(economies, DivisionsEconomy):
        k = economies.resources.shape[0]
        families = {"technology_family": np.full(k, "linear"), "welfare_family": np.full(k, "linear"),
                    "returns_regime": np.full(k, "constant")}
        return {c: families.get(c, np.full(k, np.nan)) for c in ECONOMY_COLUMNS}
    e = {k: np.asarray(v) for k, v in vars(economies).items() if k != "technology" and v is not None}
    beta = e["input_shares"]
    sigma, rho, eta = e["elasticity"], e["returns_to_scale"], e["welfare_elasticity"].reshape(-1)
    cobb_douglas = np.all(sigma == 1.0, axis=1)
    regime = np.select([np.all(rho < 1, axis=1) & np.all(e["setup_cost"] == 0, axis=1), np.all(rho == 1, axis=1)
                        & np.all(e["setup_cost"] == 0, axis=1), np.all(rho >= 1, axis=1)],
                       ["decreasing", "constant", "increasing"], "mixed")
    return {
        "technology_family": np.where(cobb_douglas, "cobb-douglas", "ces"),
        "welfare_family": np.where(eta != 1.0, "ces", np.where(np.any(e["subsistence"] > 0, axis=1), "stone-geary", "log")),
        "returns_regime": regime,
        "returns_to_scale_mean": e["returns_to_scale"].mean(axis=1),
        "returns_to_scale_min": e["returns_to_scale"].min(axis=1),
        "returns_to_scale_max": e["returns_to_scale"].max(axis=1),
        "elasticity_mean": e["elasticity"].mean(axis=1),
        "elasticity_min": e["elasticity"].min(axis=1),
        "elasticity_max": e["elasticity"].max(axis=1),
        "welfare_elasticity": e["welfare_elasticity"].reshape(-1),
        "tfp_mean": e["tfp"].mean(axis=1),
        "intermediate_share_mean": beta.sum(axis=2).mean(axis=1),
        "density": (beta > 0).mean(axis=(1, 2)),
        "subsistence_mean": e["subsistence"].mean(axis=1),
        "setup_cost_mean": e["setup_cost"].mean(axis=1),
    }
