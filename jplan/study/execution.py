"""Stage 2 of a study: running it. Every procedure runs on each chunk of its scenario's economies with
jit + vmap, one chunk at a time so memory stays bounded; finished chunks go to storage (resumable).

Each chunk is sharded over all visible JAX devices with `shard_map` (so devices never synchronise inside
the step loop), padded to a multiple of the device count. Runs have fixed step budgets (a `lax.scan`),
not `while_loop`s: under vmap a while loop runs until its slowest member finishes.

Every finished chunk is written atomically to `<out>/chunks/` with the per-economy parameter summaries
(`storage.ECONOMY_COLUMNS`) the runs table reports; a study that is interrupted and run again with the
same config and output folder resumes from the finished chunks and ends with results identical to an
uninterrupted run. The same config gives bit-identical results on the same machine. Parts of a study run
on several machines (`part`) are checked and copied in by `check_part` and `import_chunks`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm.auto import tqdm

from ..economies.divisions import DivisionsEconomy
from ..economies.production import Plan, specialise, welfare_index
from ..errors import ConfigError
from ..procedures import make_procedure, run
from ..procedures.base import relative_gap
from ..solvers import optimum
from .._batching import pad_batch
from .._programs import compiled
from ..solvers.status import NUMERICAL_FAILURE, OPTIMAL
from .config import StudyConfig
from .jobs import chunk_count, economy_columns, jobs, sample_chunk
from .storage import (MARKER, REFERENCE_FIELDS, RECORD_FIELDS, chunk_path, load_chunk, record_fields, reference_path,
                      save_chunk)

__all__ = ["run_chunks", "refine_references", "check_part", "import_chunks", "compile_seconds"]

_COMPILED: dict = {}
_COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                   "/jax/core/compile/backend_compile_duration")
_compile_seconds = [0.0]  # every program's tracing, lowering and XLA compiling in this process (jax.monitoring)


def _count_compile(event: str, duration: float, **_) -> None:
    if event in _COMPILE_EVENTS:
        _compile_seconds[0] += duration


jax.monitoring.register_event_duration_secs_listener(_count_compile)


def _compiled_chunk_fn(spec, args, n_devices: int):
    """The compiled chunk function for a procedure spec and argument shapes (cached per process), and the
    seconds spent compiling it in this call (0 when it was compiled before: each (procedure, shape) once)."""
    shapes = tuple((x.shape, str(x.dtype)) for x in jax.tree_util.tree_leaves(args))
    key = (spec.name, json.dumps(spec.options, sort_keys=True), spec.steps, n_devices, shapes,
           str(jax.tree_util.tree_structure(args)))  # the structure holds `specialise`'s static marks
    if key in _COMPILED:
        return _COMPILED[key], 0.0
    procedure = make_procedure(spec.name, **spec.options)
    t0 = time.perf_counter()
    fn = _make_chunk_fn(procedure, spec.steps, n_devices)
    if n_devices == 1:  # the lowered program kept on disk between runs (a sharded one is compiled as usual)
        _COMPILED[key] = compiled(("study-chunk", *key[:4]), fn, args, objects=(procedure,))
    else:
        _COMPILED[key] = fn.lower(*args).compile()
    return _COMPILED[key], time.perf_counter() - t0


def _make_chunk_fn(procedure, steps: int, n_devices: int) -> Callable:
    """jit(shard_map(vmap(run))) over a chunk of economies and their optimal welfare."""

    def one(economy, u_star):
        tr = run(procedure, economy, steps, optimal_welfare=u_star)
        if isinstance(economy, DivisionsEconomy):
            plan = dict(plan_activities=tr.plan.activities)
        else:
            plan = dict(plan_consumption=tr.plan.consumption, plan_output=tr.plan.output,
                        plan_resource_use=tr.plan.resource_use, plan_intermediate_use=tr.plan.intermediate_use)
        return dict(
            gap=tr.gap, welfare=tr.welfare, infeasibility=tr.infeasibility,
            messages_down=tr.messages_down, messages_up=tr.messages_up, solves=tr.solves, firm_work=tr.firm_work,
            centre_flops=tr.centre_flops, firm_flops=tr.firm_flops,
            status=tr.status, steps=tr.steps, residual=tr.residual[-1], **plan,
        )

    batched = jax.vmap(one)
    if n_devices == 1:
        return jax.jit(batched)
    # this process's own devices: in a multi-process study (`jax.distributed`) every process runs its own
    # chunks, and no computation spans processes
    mesh = jax.make_mesh((n_devices,), ("batch",), axis_types=(AxisType.Auto,), devices=jax.local_devices())
    # check_vma=False: initial carries built from hyperparameters are device-invariant constants
    sharded = jax.shard_map(batched, mesh=mesh, in_specs=P("batch"), out_specs=P("batch"), check_vma=False)
    batch_axis = NamedSharding(mesh, P("batch"))
    return jax.jit(sharded, in_shardings=batch_axis, out_shardings=batch_axis)


def _optimum_from_plans(economies, plans):
    """`jplan.optimum` of each economy with the procedures' plans as extra starts, by a program kept on disk
    between runs (`jplan._programs.compiled`: in a warm study its tracing was 1.7 of 5.7 s)."""
    batch = jax.vmap(lambda e, p: optimum(e, plans=p))
    return compiled(("study-refinement",), batch, (economies, plans))(economies, plans)


_gaps = jax.jit(jax.vmap(relative_gap))


def refine_references(config: StudyConfig, out: Path, scenario_index: int) -> int:
    """Make the procedures' own final plans starts of the reference multistart, where it is not certified.

    For every chunk of a scenario whose references are not all `optimal` (a non-convex scenario), the
    KKT solve is run again with one extra start per procedure: that procedure's final plan on the same
    economy (`jplan.optimum(..., plans=...)`). Where this converges to a better point than the
    first multistart (or the first did not converge), the reference welfare and status of every
    procedure's records are replaced, their gaps recomputed from their welfare series, and
    `reference_refined` is set. A marker file per chunk (`chunks/<scenario>/_reference/`) records that
    the chunk is done; the step is deterministic, so an interrupted study redoes it identically.
    Returns the number of economies whose reference changed.
    """
    sc = config.scenarios[scenario_index]
    chunk = config.chunk
    study = config.fingerprint()
    changed = 0
    for c in range(chunk_count(config, scenario_index)):
        marker = reference_path(out, sc.name, c)
        done = load_chunk(marker, REFERENCE_FIELDS, study=study)
        paths = [chunk_path(out, sc.name, p, c) for p in sc.procedures]
        records = [load_chunk(path, RECORD_FIELDS, study=study) for path in paths]
        if any(r is None for r in records):
            raise ConfigError(f"{sc.name}: chunk {c} is missing; run the study again to recompute it")
        # done, unless a procedure's chunk was recomputed since (it would carry the first reference)
        if done is not None and all(np.array_equal(r["optimal_welfare"], done["optimal_welfare"]) for r in records):
            changed += int(np.sum(done["refined"]))
            continue
        status = records[0]["reference_status"]
        u_star = records[0]["optimal_welfare"]
        refined = np.zeros(status.shape, bool)
        if np.any(status != OPTIMAL):
            start = c * chunk
            economies, first = sample_chunk(config, scenario_index, start, status.size)
            # one extra start per procedure, padded with copies of the last to the most procedures any
            # production scenario of the study runs, so that every scenario of one shape shares one compiled
            # program (a copy gives the same point as its original, and the first best start is kept)
            width = max(len(s.procedures) for s in config.scenarios if s.kind == "production")
            padded = records + [records[-1]] * (width - len(records))
            stack = lambda field: jnp.asarray(np.stack([r[field] for r in padded], axis=1))
            plans = Plan(consumption=stack("plan_consumption"), output=stack("plan_output"),
                         resource_use=stack("plan_resource_use"), intermediate_use=stack("plan_intermediate_use"))
            second = _optimum_from_plans(economies, plans)
            index = jax.vmap(welfare_index)
            old_u = np.asarray(index(economies, first.welfare))
            new_u = np.asarray(index(economies, second.welfare))
            old_ok = np.asarray(first.status) != NUMERICAL_FAILURE
            new_ok = np.asarray(second.status) != NUMERICAL_FAILURE
            refined = new_ok & (~old_ok | (new_u > old_u + 1e-12))
            u_star = np.where(refined, np.asarray(second.welfare), np.asarray(first.welfare))
            status = np.where(refined, np.asarray(second.status), np.asarray(first.status))
            for path, rec in zip(paths, records):
                gap = np.asarray(_gaps(economies, jnp.asarray(rec["welfare"]), jnp.asarray(u_star)))
                rec["gap"] = np.where(refined[:, None] & ~np.isnan(rec["gap"]), gap, rec["gap"])
                rec["optimal_welfare"], rec["reference_status"], rec["reference_refined"] = u_star, status, refined
                save_chunk(path, study=study, **rec)
        save_chunk(marker, study=study, optimal_welfare=u_star, reference_status=status, refined=refined)
        changed += int(refined.sum())
    return changed


#: A job (scenario × procedure) runs programs specialised to its chunks' families (`specialise`) only from
#: this many economy-steps (economies × step budget) on. A specialised program saves about 0.3–0.5 µs per
#: economy-step at n = 10 on 2 CPU cores (`docs/benchmarks.md`) but is a program of its own, compiled for
#: 2–4 s, where unmarked scenarios of one shape share one: in the default study (64 economies, ≤ 3,000
#: steps) marking every chunk cost 30 s more compiling than it saved running (cold: 134 s against 106 s).
SPECIALISE_MIN_ECONOMY_STEPS = 10_000_000


def _padded(size: int, n_devices: int) -> int:
    """Economies per compiled call: the chunk padded to a multiple of the device count."""
    return -(-size // n_devices) * n_devices


def run_chunks(config: StudyConfig, out: Path, *, progress: bool = True, part: tuple[int, int] | None = None) -> dict:
    """Run (or resume) every chunk of every scenario × procedure; returns compile timings.

    Chunk boundaries depend on the config alone (never on the device count), so a study resumed on a
    machine with another number of devices completes the same chunks; each chunk is padded to a
    multiple of the device count for the sharded call and the padding is dropped. With `part` = (k, m)
    only the chunks c with c mod m = k − 1 are run (one of m machines' share; economies keep their global
    indices, so the chunks are those a single run writes) and the reference refinement, which needs every
    chunk, is left to the run that merges the parts.
    """
    todo_jobs = jobs(config, part)
    study = config.fingerprint()
    timings: dict = {}
    bar = tqdm(total=sum(len(j.chunks) for j in todo_jobs), desc="study", unit="chunk", disable=not progress,
               dynamic_ncols=True)
    try:
        for si, pname, mine in todo_jobs:
            sc, spec = config.scenarios[si], config.procedure(pname)
            todo = [c for c in mine if load_chunk(chunk_path(out, sc.name, pname, c), record_fields(sc.kind), study=study) is None]
            bar.set_postfix_str(f"{sc.name}/{pname}")
            bar.update(len(mine) - len(todo))
            if todo:
                timings[f"{sc.name}/{pname}"] = _run_job(config, out, si, spec, todo, bar)
            if part is None and pname == sc.procedures[-1] and sc.kind == "production":  # LP references are certified optima
                timings[f"{sc.name}/reference"] = {"refined_by_procedure_plans": refine_references(config, out, si)}
    finally:
        bar.close()
    return timings


def _run_job(config: StudyConfig, out: Path, si: int, spec, todo: list, bar) -> dict:
    """Run the missing chunks `todo` of one scenario × procedure; returns the seconds spent compiling, and
    the economy-steps run (economies × step budget, padding included) with the seconds they took."""
    sc, pname, chunk, n_dev = config.scenarios[si], spec.name, config.chunk, jax.local_device_count()
    compile_s, economy_steps, run_s = 0.0, 0, 0.0
    for c in todo:
        start = c * chunk
        size = min(chunk, config.economies(si) - start)
        economies, opt = sample_chunk(config, si, start, size)
        if config.economies(si) * spec.steps >= SPECIALISE_MIN_ECONOMY_STEPS:
            economies = specialise(economies)  # the chunk's families, decided here once: no branch on them per step
        width = _padded(chunk, n_dev)
        args = (pad_batch(economies, width), pad_batch(opt.welfare, width))
        compiled, fresh = _compiled_chunk_fn(spec, args, n_dev)
        compile_s += fresh
        t0 = time.perf_counter()
        record = jax.block_until_ready(compiled(*args))
        seconds = time.perf_counter() - t0
        economy_steps += width * spec.steps
        run_s += seconds
        record = {k: np.asarray(v)[:size] for k, v in record.items()}
        record["optimal_welfare"] = np.asarray(opt.welfare)
        record["reference_status"] = np.asarray(opt.status)
        record["reference_refined"] = np.zeros(size, bool)
        record.update({f"economy_{k}": v for k, v in economy_columns(economies).items()})
        save_chunk(
            chunk_path(out, sc.name, pname, c), study=config.fingerprint(), **record,
            wall_seconds=np.asarray(seconds), chunk_size=np.asarray(width), steps_budget=np.asarray(spec.steps),
        )
        bar.update(1)
    return {"compile_seconds": compile_s, "economy_steps": economy_steps, "run_seconds": run_s}


def check_part(config: StudyConfig, source: Path, out: Path) -> None:
    if source.resolve() == out.resolve():
        raise ConfigError(f"{source}: is the output folder itself; merge other folders into it")
    try:
        marker = json.loads((source / MARKER).read_text())
    except (OSError, ValueError):
        raise ConfigError(f"{source}: not a jplan study folder (no readable {MARKER})") from None
    if marker.get("fingerprint") != config.fingerprint():
        raise ConfigError(f"{source}: holds results of a different study configuration; merge only parts of this one")


def import_chunks(config: StudyConfig, source: Path, out: Path) -> int:
    """Copy the valid chunks of `source` (a part of the same study) that `out` lacks; returns how many."""
    study = config.fingerprint()
    copied = 0
    for si, sc in enumerate(config.scenarios):
        fields = record_fields(sc.kind)
        for pname in sc.procedures:
            for c in range(chunk_count(config, si)):
                target = chunk_path(out, sc.name, pname, c)
                if load_chunk(target, fields, study=study) is not None:
                    continue
                record = load_chunk(chunk_path(source, sc.name, pname, c), fields, study=study)
                if record is not None:
                    save_chunk(target, study=study, **record)
                    copied += 1
    return copied




def compile_seconds() -> float:
    """Seconds this process has spent tracing, lowering and compiling (every program, from jax.monitoring)."""
    return _compile_seconds[0]
