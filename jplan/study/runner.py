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
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm.auto import tqdm

from ..economies.sampling import sample
from ..errors import ConfigError
from ..optimum import closed_form, optimum
from ..optimum.production import reference_function
from ..procedures import make_procedure, run
from .config import StudyConfig
from .storage import chunk_path, load_chunk, open_study, save_chunk

__all__ = ["run_study", "chunk_path", "StudyResult", "RECORD_FIELDS", "load_records"]

#: Per-run arrays stored for each chunk (and in the traces files).
RECORD_FIELDS = ("gap", "welfare", "infeasibility", "messages_down", "messages_up", "solves", "firm_work", "status", "steps",
                 "residual", "optimal_welfare", "reference_status")


@dataclass(frozen=True)
class StudyResult:
    out: Path
    summary: dict
    table: str


_COMPILED: dict = {}


def _compiled_chunk_fn(spec, args, n_devices: int):
    """The compiled chunk function for a procedure spec and argument shapes (cached per process)."""
    shapes = tuple((x.shape, str(x.dtype)) for x in jax.tree_util.tree_leaves(args))
    key = (spec.name, json.dumps(spec.options, sort_keys=True), spec.steps, n_devices, shapes)
    if key not in _COMPILED:
        procedure = make_procedure(spec.name, **spec.options)
        t0 = time.perf_counter()
        compiled = _make_chunk_fn(procedure, spec.steps, n_devices).lower(*args).compile()
        _COMPILED[key] = (compiled, time.perf_counter() - t0)
    return _COMPILED[key]


def _make_chunk_fn(procedure, steps: int, n_devices: int) -> Callable:
    """jit(shard_map(vmap(run))) over a chunk of economies and their optimal welfare."""

    def one(economy, u_star):
        tr = run(procedure, economy, steps, optimal_welfare=u_star)
        return dict(
            gap=tr.gap, welfare=tr.welfare, infeasibility=tr.infeasibility,
            messages_down=tr.messages_down, messages_up=tr.messages_up, solves=tr.solves, firm_work=tr.firm_work,
            status=tr.status, steps=tr.steps, residual=tr.residual[-1],
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


@functools.lru_cache(maxsize=64)
def _sampler(n: int, m: int, options: str):
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(options).items()}
    return jax.jit(jax.vmap(lambda k: sample(k, n, m, **kwargs)))


def _sample_chunk(config: StudyConfig, scenario_index: int, start: int, size: int):
    sc = config.scenarios[scenario_index]
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), scenario_index)
    keys = jax.random.split(key, config.batch)[start : start + size]
    economies = _sampler(sc.n, sc.m, json.dumps(sc.sampler, sort_keys=True))(keys)
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


def run_chunks(config: StudyConfig, out: Path, *, progress: bool = True) -> dict:
    """Run (or resume) every chunk of every scenario × procedure; returns compile timings.

    Chunk boundaries depend on the config alone (never on the device count), so a study resumed on a
    machine with another number of devices completes the same chunks; each chunk is padded to a
    multiple of the device count for the sharded call and the padding is dropped.
    """
    n_dev = jax.device_count()
    chunk = config.chunk
    n_chunks = -(-config.batch // chunk)
    jobs = [(si, sc, p) for si, sc in enumerate(config.scenarios) for p in sc.procedures]
    timings: dict = {}
    bar = tqdm(total=len(jobs) * n_chunks, desc="study", unit="chunk", disable=not progress, dynamic_ncols=True)
    try:
        for si, sc, pname in jobs:
            spec = config.procedure(pname)
            todo = [c for c in range(n_chunks) if load_chunk(chunk_path(out, sc.name, pname, c), RECORD_FIELDS) is None]
            bar.set_postfix_str(f"{sc.name}/{pname}")
            bar.update(n_chunks - len(todo))
            if not todo:
                continue
            compile_s = 0.0
            for c in todo:
                start = c * chunk
                size = min(chunk, config.batch - start)
                economies, opt = _sample_chunk(config, si, start, size)
                width = _padded(chunk, n_dev)
                args = (_pad(economies, width), _pad(opt.welfare, width))
                compiled, compile_s = _compiled_chunk_fn(spec, args, n_dev)
                t0 = time.perf_counter()
                record = jax.block_until_ready(compiled(*args))
                seconds = time.perf_counter() - t0
                record = {k: np.asarray(v)[:size] for k, v in record.items()}
                record["optimal_welfare"] = np.asarray(opt.welfare)
                record["reference_status"] = np.asarray(opt.status)
                save_chunk(
                    chunk_path(out, sc.name, pname, c), **record,
                    wall_seconds=np.asarray(seconds), chunk_size=np.asarray(width), steps_budget=np.asarray(spec.steps),
                )
                bar.update(1)
            timings[f"{sc.name}/{pname}"] = {"compile_seconds": compile_s}
    finally:
        bar.close()
    return timings


def load_records(config: StudyConfig, out: Path, scenario: str, procedure: str) -> dict:
    """Concatenate every chunk of one scenario × procedure (plus per-chunk wall times)."""
    n_chunks = -(-config.batch // config.chunk)
    parts = []
    for c in range(n_chunks):
        part = load_chunk(chunk_path(out, scenario, procedure, c), RECORD_FIELDS)
        if part is None:
            raise ConfigError(f"{chunk_path(out, scenario, procedure, c)}: missing or corrupt chunk; run the study again to recompute it")
        parts.append(part)
    rec = {k: np.concatenate([p[k] for p in parts]) for k in RECORD_FIELDS}
    rec["seconds_per_economy_step"] = np.array(
        [float(p["wall_seconds"]) / (int(p["chunk_size"]) * int(p["steps_budget"])) for p in parts]
    )
    return rec
def run_study(config: StudyConfig, out: str | os.PathLike | None = None, *, fresh: bool = False,
              progress: bool = True, echo: Callable[[str], None] | None = None) -> StudyResult:
    """Run a study end to end: chunks (resumable), then summary.json, traces, report.md and plots."""
    out = Path(out) if out is not None else Path("results") / config.name
    with open_study(out, _marker(config), fresh):
        return _run_locked(config, out, progress, echo)


def _run_locked(config, out, progress, echo) -> StudyResult:
    from .report import write_outputs

    if echo:
        echo(
            f"jplan study '{config.name}': {len(config.scenarios)} scenario(s) x {config.batch} economies, "
            f"procedures {', '.join(p.name for p in config.procedures)}, on {jax.device_count()} "
            f"{jax.devices()[0].platform} device(s) -> {out}"
        )
    t0 = time.perf_counter()
    timings = run_chunks(config, out, progress=progress)
    summary, table = write_outputs(config, out, timings)
    if echo:
        echo("")
        echo(table)
        echo("")
        echo(f"finished in {time.perf_counter() - t0:.1f} s; summary.json, report.md" + (", figures" if config.plots else "") + f" in {out}")
    return StudyResult(out=out, summary=summary, table=table)
