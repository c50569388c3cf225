"""The Monte Carlo runner behind `jplan study`.

For every scenario it samples the economies (keyed, so chunking never changes which economies are
drawn), computes their exact optima, and runs every procedure on the whole batch with jit + vmap, one
chunk at a time so memory stays bounded. Each chunk is sharded over all visible JAX devices with
`shard_map` (so devices never synchronise inside the step loop), padded to a multiple of the device
count. Runs have fixed step budgets (a `lax.scan`), not `while_loop`s: under vmap a while loop runs
until its slowest member finishes.

Every finished chunk is written atomically to `<out>/chunks/`; a study that is interrupted and run
again with the same config and output folder resumes from the finished chunks and ends with results
identical to an uninterrupted run. The same config gives bit-identical results on the same machine.
"""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm.auto import tqdm

from ..economies.divisions import DivisionsEconomy, sample_divisions
from ..economies.production import Plan, welfare_index
from ..economies.sampling import sample
from ..errors import ConfigError
from ..solvers import closed_form, divisions_optimum, optimum
from ..solvers.general import NUMERICAL_FAILURE, OPTIMAL
from ..solvers.production import reference_function
from ..procedures.base import relative_gap
from ..procedures import make_procedure, run
from .config import StudyConfig
from .storage import chunk_path, load_chunk, open_study, save_chunk

__all__ = ["run_study", "chunk_path", "StudyResult", "RECORD_FIELDS", "DIVISIONS_RECORD_FIELDS", "record_fields",
           "load_records", "refine_references"]

_COMMON_FIELDS = ("gap", "welfare", "infeasibility", "messages_down", "messages_up", "solves", "firm_work", "status",
                  "steps", "residual", "optimal_welfare", "reference_status", "reference_refined")
#: Per-run arrays stored for each chunk (and in the traces files) of a production scenario.
RECORD_FIELDS = _COMMON_FIELDS + ("plan_consumption", "plan_output", "plan_resource_use", "plan_intermediate_use")
#: The same for a block-angular scenario: the final plan is every division's activities.
DIVISIONS_RECORD_FIELDS = _COMMON_FIELDS + ("plan_activities",)


def record_fields(kind: str) -> tuple[str, ...]:
    """The per-run arrays stored for a scenario of this kind ("production" or "divisions")."""
    return DIVISIONS_RECORD_FIELDS if kind == "divisions" else RECORD_FIELDS
#: Per-economy arrays of a scenario's refined reference (see `refine_references`).
REFERENCE_FIELDS = ("optimal_welfare", "reference_status", "refined")


@dataclass(frozen=True)
class StudyResult:
    out: Path
    summary: dict
    table: str


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
    key = (spec.name, json.dumps(spec.options, sort_keys=True), spec.steps, n_devices, shapes)
    if key in _COMPILED:
        return _COMPILED[key], 0.0
    procedure = make_procedure(spec.name, **spec.options)
    t0 = time.perf_counter()
    _COMPILED[key] = _make_chunk_fn(procedure, spec.steps, n_devices).lower(*args).compile()
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
            status=tr.status, steps=tr.steps, residual=tr.residual[-1], **plan,
        )

    batched = jax.vmap(one)
    if n_devices == 1:
        return jax.jit(batched)
    mesh = jax.make_mesh((n_devices,), ("batch",), axis_types=(AxisType.Auto,))
    # check_vma=False: initial carries built from hyperparameters are device-invariant constants
    sharded = jax.shard_map(batched, mesh=mesh, in_specs=P("batch"), out_specs=P("batch"), check_vma=False)
    batch_axis = NamedSharding(mesh, P("batch"))
    return jax.jit(sharded, in_shardings=batch_axis, out_shardings=batch_axis)


_optimum_batch = jax.jit(jax.vmap(optimum))
_closed_form_batch = jax.jit(jax.vmap(closed_form))
_optimum_from_plans = jax.jit(jax.vmap(lambda e, plans: optimum(e, plans=plans)))
_gaps = jax.jit(jax.vmap(relative_gap))


def reference_path(out: Path, scenario: str, index: int) -> Path:
    return out / "chunks" / scenario / "_reference" / f"{index:05d}.npz"


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
    changed = 0
    for c in range(-(-config.batch // chunk)):
        marker = reference_path(out, sc.name, c)
        done = load_chunk(marker, REFERENCE_FIELDS)
        paths = [chunk_path(out, sc.name, p, c) for p in sc.procedures]
        records = [load_chunk(path, RECORD_FIELDS) for path in paths]
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
            economies, first = _sample_chunk(config, scenario_index, start, status.size)
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
                save_chunk(path, **rec)
        save_chunk(marker, optimal_welfare=u_star, reference_status=status, refined=refined)
        changed += int(refined.sum())
    return changed


@functools.lru_cache(maxsize=64)
def _sampler(n: int, m: int, options: str, kind: str = "production"):
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(options).items()}
    if "table" in kwargs:  # economies drawn around the economy calibrated from an input–output table
        from ..economies.table import calibrate_table, perturb_calibrated, read_table

        base, _ = calibrate_table(read_table(kwargs["table_path"]), single_factor=kwargs["single_factor"])
        sigma, rho = kwargs["perturbation"], kwargs["returns_to_scale"]
        return jax.jit(jax.vmap(lambda k: perturb_calibrated(k, base, sigma, rho)))
    if kind == "divisions":
        sizes = [kwargs.pop(k) for k in ("divisions", "activities", "shared", "private")]
        return jax.jit(jax.vmap(lambda k: sample_divisions(k, *sizes, **kwargs)))
    return jax.jit(jax.vmap(lambda k: sample(k, n, m, **kwargs)))


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


def sample_scenario(config: StudyConfig, scenario_index: int, start: int = 0, size: int | None = None):
    """Economies start .. start + size of a scenario (all of them by default): economy i is drawn from
    jax.random.split(fold_in(PRNGKey(seed), scenario_index), batch)[i], so chunking never changes it."""
    sc = config.scenarios[scenario_index]
    size = config.batch - start if size is None else size
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), scenario_index)
    keys = jax.random.split(key, config.batch)[start : start + size]
    return _sampler(sc.n, sc.m, json.dumps(sc.sampler, sort_keys=True), sc.kind)(keys)


def _sample_chunk(config: StudyConfig, scenario_index: int, start: int, size: int):
    economies = sample_scenario(config, scenario_index, start, size)
    if isinstance(economies, DivisionsEconomy):
        return economies, _divisions_reference(economies)
    reference = _optimum_batch if reference_function(economies) is optimum else _closed_form_batch
    return economies, reference(economies)


def _pad(tree, size: int):
    """Pad the leading axis to `size` by repeating the last entry (padding is dropped afterwards)."""

    def pad(x):
        extra = size - x.shape[0]
        return x if extra == 0 else jnp.concatenate([x, jnp.repeat(x[-1:], extra, axis=0)])

    return jax.tree_util.tree_map(pad, tree)


def _marker(config: StudyConfig) -> dict:
    return {"name": config.name, "fingerprint": config.fingerprint(), "source": config.source,
            "jax_version": jax.__version__}


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
    n_dev = jax.device_count()
    chunk = config.chunk
    n_chunks = -(-config.batch // chunk)
    jobs = [(si, sc, p) for si, sc in enumerate(config.scenarios) for p in sc.procedures]
    timings: dict = {}
    per_job = n_chunks if part is None else len(range(part[0] - 1, n_chunks, part[1]))
    bar = tqdm(total=len(jobs) * per_job, desc="study", unit="chunk", disable=not progress, dynamic_ncols=True)
    try:
        for si, sc, pname in jobs:
            spec = config.procedure(pname)
            mine = [c for c in range(n_chunks) if part is None or c % part[1] == part[0] - 1]
            todo = [c for c in mine if load_chunk(chunk_path(out, sc.name, pname, c), record_fields(sc.kind)) is None]
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
    sc, pname, chunk, n_dev = config.scenarios[si], spec.name, config.chunk, jax.device_count()
    compile_s, economy_steps, run_s = 0.0, 0, 0.0
    for c in todo:
        start = c * chunk
        size = min(chunk, config.batch - start)
        economies, opt = _sample_chunk(config, si, start, size)
        width = _padded(chunk, n_dev)
        args = (_pad(economies, width), _pad(opt.welfare, width))
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
        save_chunk(
            chunk_path(out, sc.name, pname, c), **record,
            wall_seconds=np.asarray(seconds), chunk_size=np.asarray(width), steps_budget=np.asarray(spec.steps),
        )
        bar.update(1)
    return {"compile_seconds": compile_s, "economy_steps": economy_steps, "run_seconds": run_s}


def load_records(config: StudyConfig, out: Path, scenario: str, procedure: str) -> dict:
    """Concatenate every chunk of one scenario × procedure (plus per-chunk wall times)."""
    n_chunks = -(-config.batch // config.chunk)
    fields = record_fields(next(sc.kind for sc in config.scenarios if sc.name == scenario))
    parts = []
    for c in range(n_chunks):
        part = load_chunk(chunk_path(out, scenario, procedure, c), fields)
        if part is None:
            raise ConfigError(f"{chunk_path(out, scenario, procedure, c)}: missing or corrupt chunk; run the study again to recompute it")
        parts.append(part)
    rec = {k: np.concatenate([p[k] for p in parts]) for k in fields}
    rec["seconds_per_economy_step"] = np.array(
        [float(p["wall_seconds"]) / (int(p["chunk_size"]) * int(p["steps_budget"])) for p in parts]
    )
    return rec
def run_study(config: StudyConfig, out: str | os.PathLike | None = None, *, fresh: bool = False,
              progress: bool = True, echo: Callable[[str], None] | None = None,
              part: tuple[int, int] | None = None, merge: tuple = ()) -> StudyResult:
    """Run a study end to end: chunks (resumable), then summary.json, traces, report.md and plots.

    Several machines: run `part=(k, m)` on machine k of m (k = 1 … m), each into its own folder (only its
    chunks, no summary), then on one machine `merge=(folder_1, …, folder_m)`: the parts' chunks are
    checked (same configuration, checksums) and copied in, any chunk still missing is computed, and the
    summary is written. The result is the single-machine study's, chunk for chunk.
    """
    if part is not None and not (len(part) == 2 and 1 <= part[0] <= part[1]):
        raise ConfigError(f"part: expected K/M with 1 <= K <= M, got {part!r}")
    if part is not None and merge:
        raise ConfigError("part and merge: a run either computes one part or merges the parts, not both")
    out = Path(out) if out is not None else Path("results") / config.name
    sources = [Path(m) for m in merge]
    for source in sources:
        _check_part(config, source, out)
    with open_study(out, _marker(config), fresh):
        for source in sources:
            _import_chunks(config, source, out)
        return _run_locked(config, out, progress, echo, part)


def _check_part(config: StudyConfig, source: Path, out: Path) -> None:
    from .storage import MARKER

    if source.resolve() == out.resolve():
        raise ConfigError(f"{source}: is the output folder itself; merge other folders into it")
    try:
        marker = json.loads((source / MARKER).read_text())
    except (OSError, ValueError):
        raise ConfigError(f"{source}: not a jplan study folder (no readable {MARKER})") from None
    if marker.get("fingerprint") != config.fingerprint():
        raise ConfigError(f"{source}: holds results of a different study configuration; merge only parts of this one")


def _import_chunks(config: StudyConfig, source: Path, out: Path) -> int:
    """Copy the valid chunks of `source` (a part of the same study) that `out` lacks; returns how many."""
    copied = 0
    for sc in config.scenarios:
        fields = record_fields(sc.kind)
        for pname in sc.procedures:
            for c in range(-(-config.batch // config.chunk)):
                target = chunk_path(out, sc.name, pname, c)
                if load_chunk(target, fields) is not None:
                    continue
                record = load_chunk(chunk_path(source, sc.name, pname, c), fields)
                if record is not None:
                    save_chunk(target, **record)
                    copied += 1
    return copied


def _run_locked(config, out, progress, echo, part=None) -> StudyResult:
    from .report import write_outputs

    if echo:
        echo(
            f"jplan study '{config.name}': {len(config.scenarios)} scenario(s) x {config.batch} economies, "
            f"procedures {', '.join(p.name for p in config.procedures)}, on {jax.device_count()} "
            f"{jax.devices()[0].platform} device(s) -> {out}"
        )
    t0, compiled0 = time.perf_counter(), _compile_seconds[0]
    timings = run_chunks(config, out, progress=progress, part=part)
    if part is not None:
        if echo:
            echo(f"part {part[0]}/{part[1]} finished in {time.perf_counter() - t0:.1f} s; merge the parts with "
                 f"jplan study CONFIG --merge FOLDER... (this one: {out})")
        return StudyResult(out=out, summary={}, table="")
    procedures_s = sum(t.get("compile_seconds", 0.0) for t in timings.values())
    economy_steps = sum(t.get("economy_steps", 0) for t in timings.values())
    run_s = sum(t.get("run_seconds", 0.0) for t in timings.values())
    summary, table = write_outputs(config, out, timings)
    wall, compile_s = time.perf_counter() - t0, _compile_seconds[0] - compiled0
    if echo:
        echo("")
        echo(table)
        echo("")
        echo(f"finished in {wall:.1f} s, of which tracing and compiling {compile_s:.1f} s ({100 * compile_s / max(wall, 1e-9):.0f}%; "
             f"the procedures' programs {procedures_s:.1f} s, each (procedure, shape) once; the rest samplers, references, "
             f"summaries)"
             + (f"; the procedures ran {economy_steps:.3g} economy-steps (economies x step budget) at "
                f"{economy_steps / run_s:.3g} economy-steps/s" if run_s > 0 else "")
             + "; summary.json, report.md" + (", figures" if config.plots else "") + f" in {out}")
    return StudyResult(out=out, summary=summary, table=table)
