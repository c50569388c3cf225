"""Study configurations: a TOML file in `configs/`, validated into frozen dataclasses.

```toml
name = "default"            # output folder name under results/ unless --out is given
seed = 0
batch = 256                 # economies per scenario
chunk = 128                 # economies per chunk (the unit of progress, memory and resumption)

[[scenarios]]               # one or more
name = "decreasing"
n = 8
m = 2
returns_to_scale = [0.7, 0.95]   # a number or [low, high]
density = 0.7                    # optional sampler options: intermediate_share, tfp, endowments,
                                 # weight_concentration
procedures = ["arrow-hurwicz", "heal"]   # optional; default: every procedure in [procedures]

[procedures.arrow-hurwicz]  # the procedures to run, with their options
steps = 1500                # the step budget
rule = "adaptive"           # any other key is a hyperparameter of the procedure
step_size = 0.1

[procedures.heal]
steps = 60

[[scenarios]]               # a block-angular scenario (jplan.economies.sample_divisions), for the
name = "blocks"             # decomposition procedures (dantzig-wolfe, kornai-liptak, ...)
economy = "divisions"       # default "production"
divisions = 4               # N
activities = 3              # per division
shared = 2                  # m0, shared resources the centre holds
private = 2                 # private constraint rows per division
tightness = [0.3, 0.8]      # optional: b0 as a share of the divisions' unconstrained use
density = 0.8               # optional: share of activities using each shared resource
procedures = ["dantzig-wolfe"]

[outputs]
plots = true                # PNG figures
series = true               # series.parquet: every iteration of every run (the per-step store)
traces = false              # optional: the same per-step records again as npz, for NumPy users
```
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..economies.io import read_toml
from ..errors import ConfigError, EconomyFileError
from ..procedures import PROCEDURES

__all__ = ["StudyConfig", "Scenario", "ProcedureSpec", "load_config", "parse_config", "find_config"]

_TOP = {"name", "seed", "batch", "chunk", "scenarios", "procedures", "outputs", "description", "requires", "cpu_batch"}
_SCENARIO = {"batch", "name", "n", "m", "returns_to_scale", "density", "intermediate_share", "tfp", "endowments",
             "weight_concentration", "procedures", "technology", "elasticity", "welfare", "welfare_elasticity",
             "subsistence", "setup", "economy", "divisions", "activities", "shared", "private", "tightness",
             "table", "perturbation", "single_factor"}
#: The keys of a block-angular (`economy = "divisions"`) scenario.
_DIVISIONS_SCENARIO = {"batch", "name", "economy", "divisions", "activities", "shared", "private", "tightness", "density",
                       "procedures"}
_RANGES = ("returns_to_scale", "intermediate_share", "tfp", "endowments", "elasticity", "welfare_elasticity",
           "subsistence", "setup")
#: Sampler bounds for config ranges (the economy file format's supported magnitudes).
_BOUNDS = {"returns_to_scale": (1e-3, 10.0), "tfp": (1e-12, 1e12), "endowments": (1e-9, 1e12),
           "elasticity": (0.05, 20.0), "welfare_elasticity": (0.05, 20.0), "intermediate_share": (0.0, 0.99),
           "subsistence": (0.0, 0.99), "setup": (0.0, 0.5)}
_OUTPUTS = {"plots", "series", "traces"}
def _hyperparameters(name: str) -> set[str]:
    """The options a procedure takes in a config: its array fields and `rule` (read from the registry,
    so a procedure a user registers in `jplan.PROCEDURES` joins studies without editing this file)."""
    import dataclasses

    cls = PROCEDURES[name]
    return {f.name for f in dataclasses.fields(cls) if f.name != "initial_prices"}


@dataclass(frozen=True)
class Scenario:
    """One scenario: `kind` "production" (n goods, m resources, `sample` options in `sampler`) or
    "divisions" (block-angular: n = N divisions, m = m0 shared resources; `sampler` holds the
    `sample_divisions` sizes and options)."""

    name: str
    n: int
    m: int
    sampler: dict
    procedures: tuple[str, ...]
    kind: str = "production"
    #: economies drawn for this scenario (None: the study's `batch`)
    batch: int | None = None

    @property
    def label(self) -> str:
        """The scenario's sizes as figure titles write them."""
        if self.kind == "divisions":
            s = self.sampler
            return f"N={s['divisions']}, a={s['activities']}, m₀={s['shared']}, p={s['private']}"
        return f"n={self.n}, m={self.m}"


@dataclass(frozen=True)
class ProcedureSpec:
    name: str
    steps: int
    options: dict


@dataclass(frozen=True)
class StudyConfig:
    name: str
    seed: int
    batch: int
    chunk: int
    scenarios: tuple[Scenario, ...]
    procedures: tuple[ProcedureSpec, ...]
    plots: bool = True
    series: bool = True
    traces: bool = False
    description: str = ""
    source: str = field(default="", compare=False)
    #: a line the runner prints first: how `requires = "gpu"` or `chunk = "auto"` were resolved here
    note: str = ""

    def fingerprint(self) -> str:
        """A hash of everything that determines the results (not the source path, the description or the
        outputs asked for: turning plots, series or traces on or off resumes the same study)."""
        data = asdict(self)
        for key in ("source", "description", "plots", "series", "traces", "note"):
            data.pop(key)
        for sc in data["scenarios"]:  # production scenarios hash as before block-angular ones existed
            if sc["kind"] == "production":
                sc.pop("kind")
            if sc["batch"] is None:  # scenarios without their own batch hash as before it existed
                sc.pop("batch")
            sc["sampler"].pop("table_path", None)  # where the table lies is not what it holds (its hash is)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def procedure(self, name: str) -> ProcedureSpec:
        return next(p for p in self.procedures if p.name == name)

    @property
    def economies_label(self) -> str:
        """The economies per scenario as prose writes them: "64", or "128–1000" where scenarios differ."""
        counts = sorted({self.economies(i) for i in range(len(self.scenarios))})
        return str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"

    def economies(self, scenario_index: int) -> int:
        """How many economies scenario `scenario_index` draws: its own `batch`, else the study's."""
        own = self.scenarios[scenario_index].batch
        return self.batch if own is None else own


#: Names of studies and scenarios become folder names: letters, digits, '-', '_' and '.', not starting
#: with '.', at most 64 characters (so no '.', '..', separators or control characters).
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")


def _safe_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _SAFE_NAME.fullmatch(value):
        raise ConfigError(
            f"{where}: must be 1-64 letters, digits, '-', '_' or '.', not starting with '.', got {value!r}"
        )
    return value


#: Size limits, refused with one line before anything is allocated.
from .._limits import LIMITS  # noqa: E402  (re-exported: the command line reads it without importing JAX)


#: The most memory one chunk's arrays may need (estimated before anything is allocated, see `chunk_bytes`).
MAX_CHUNK_BYTES = 8 * 2**30


def chunk_bytes(scenario, steps: int, chunk: int) -> int:
    """An upper estimate of the bytes one chunk of a scenario × procedure holds at once: per economy its
    data, plan, the procedure's state and their copies (about ten n×n arrays; block-angular: four copies of
    every division's padded constraint rows × activities and five of the reference LP's tableau), plus the per-step records (eight float64 series
    over the step budget)."""
    if scenario.kind == "divisions":
        s = scenario.sampler
        rows, cols = s["shared"] + s["divisions"] * s["private"], s["divisions"] * s["activities"]
        # the data and the procedures' copies, and the exact reference LP's dense tableau (a few copies)
        per_economy = 4 * s["divisions"] * (s["private"] + s["shared"] + 2) * s["activities"] + 5 * rows * (rows + cols)
    else:
        n, m = scenario.n, scenario.m
        per_economy = 10 * n * n + 10 * n * m + 10 * n
    return 8 * chunk * (per_economy + 8 * (steps + 1))


def _platform() -> str:
    """The platform JAX computes on here ("cpu", "gpu", "tpu")."""
    import jax

    return jax.default_backend()


def device_memory_bytes() -> int:
    """The memory of one local device: the accelerator's allocator limit, or the host's physical memory for
    a CPU."""
    import os

    import jax

    try:
        stats = jax.local_devices()[0].memory_stats() or {}
    except Exception:  # a backend without memory statistics (the CPU)
        stats = {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"])
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


#: `chunk = "auto"` lets one chunk's arrays take at most this share of a device's memory.
AUTO_CHUNK_SHARE = 0.25


def _auto_chunk(scenarios, procs, largest: int) -> tuple[int, int]:
    """`chunk = "auto"`: the largest power of two (at most the largest batch and `LIMITS["chunk"]`) whose every
    scenario × procedure fits `AUTO_CHUNK_SHARE` of the device memory per local device (and `MAX_CHUNK_BYTES`,
    by `chunk_bytes`' estimate). Returns (chunk, the device memory it was sized from)."""
    import jax

    memory = device_memory_bytes()
    budget = min(MAX_CHUNK_BYTES, int(AUTO_CHUNK_SHARE * memory * jax.local_device_count()))
    steps = {p.name: p.steps for p in procs}
    chunk = 1
    while 2 * chunk <= min(largest, LIMITS["chunk"]) and all(
            chunk_bytes(sc, steps[p], 2 * chunk) <= budget for sc in scenarios for p in sc.procedures):
        chunk *= 2
    return chunk, memory


def _check_chunk_memory(scenarios, procs, chunk: int) -> None:
    """Refuse, in one line and before allocating, a chunk × size × steps combination that cannot fit."""
    steps = {p.name: p.steps for p in procs}
    for sc in scenarios:
        for pname in sc.procedures:
            need = chunk_bytes(sc, steps[pname], chunk)
            if need > MAX_CHUNK_BYTES:
                fit = max(1, chunk * MAX_CHUNK_BYTES // need)
                raise ConfigError(f"chunk: {chunk} economies of scenario {sc.name!r} with {pname} need about "
                                  f"{need / 2**30:,.0f} GiB at once (at most {MAX_CHUNK_BYTES // 2**30} GiB); "
                                  f"set chunk to at most {fit}")


def _int(value: Any, where: str, minimum: int = 1, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{where}: must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{where}: must be at most {maximum}, got {value}")
    return value


def _number_or_range(value: Any, where: str, positive: bool = True):
    def num(x):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise ConfigError(f"{where}: must be a finite number or [low, high], got {value!r}")
        if positive and not x > 0 or not positive and x < 0:
            raise ConfigError(f"{where}: must be {'> 0' if positive else '>= 0'}, got {x!r}")
        return float(x)

    if isinstance(value, list):
        if len(value) != 2:
            raise ConfigError(f"{where}: a range is [low, high], got {value!r}")
        lo, hi = num(value[0]), num(value[1])
        if lo > hi:
            raise ConfigError(f"{where}: low {lo} is above high {hi}")
        return (lo, hi)
    return num(value)


def _as_range(value) -> tuple[float, float]:
    return value if isinstance(value, tuple) else (value, value)


def parse_config(doc: dict, source: str = "") -> StudyConfig:
    """Validate a parsed TOML document into a `StudyConfig` (one-line `ConfigError` on any problem)."""
    unknown = set(doc) - _TOP
    if unknown:
        raise ConfigError(f"{sorted(unknown)[0]}: unknown key")
    name = _safe_name(doc.get("name", Path(source).stem if source else "study"), "name")
    seed = _int(doc.get("seed", 0), "seed", 0, LIMITS["seed"])
    batch = _int(doc.get("batch", 256), "batch", 1, LIMITS["batch"])
    auto_chunk = doc.get("chunk") == "auto"
    chunk = 1 if auto_chunk else _int(doc.get("chunk", min(batch, 128)), "chunk", 1, LIMITS["chunk"])
    notes, reduced = [], False
    requires = doc.get("requires")
    if requires not in (None, "gpu"):
        raise ConfigError(f'requires: "gpu" or absent, got {requires!r}')
    cpu_batch = None if doc.get("cpu_batch") is None else _int(doc["cpu_batch"], "cpu_batch", 1, LIMITS["batch"])
    if cpu_batch is not None and requires is None:
        raise ConfigError('cpu_batch: only with requires = "gpu" (the size to run where there is no GPU)')
    if requires == "gpu":
        platform = _platform()
        if platform != "gpu":
            if cpu_batch is None:
                raise ConfigError(f"this study is sized for a GPU ({batch:,} economies per scenario) and JAX sees "
                                  f"only {platform} devices: run it on a GPU machine, or give it a reduced cpu_batch")
            notes.append(f"no GPU here ({platform}): the reduced size, {cpu_batch:,} economies per scenario instead "
                         f"of {batch:,} (cpu_batch)")
            batch, reduced = cpu_batch, True
    if "procedures" not in doc or not isinstance(doc["procedures"], dict) or not doc["procedures"]:
        raise ConfigError("[procedures]: missing (name at least one procedure table)")
    procs = []
    for pname, table in doc["procedures"].items():
        if pname not in PROCEDURES:
            from ..procedures.registry import load_plugins

            load_plugins()
        if pname not in PROCEDURES:
            raise ConfigError(f"procedures.{pname}: unknown procedure (known: {', '.join(PROCEDURES)})")
        if not isinstance(table, dict):
            raise ConfigError(f"procedures.{pname}: must be a table")
        extra = set(table) - {"steps"} - _hyperparameters(pname)
        if extra:
            raise ConfigError(f"procedures.{pname}.{sorted(extra)[0]}: unknown option")
        steps = _int(table.get("steps", 100), f"procedures.{pname}.steps", 1, LIMITS["steps"])
        options = {k: v for k, v in table.items() if k != "steps"}
        for k, v in options.items():
            if k == "rule":
                if v not in ("additive", "multiplicative", "adaptive"):
                    raise ConfigError(f"procedures.{pname}.rule: unknown rule {v!r} (additive, multiplicative, adaptive)")
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or not (v > 0 and math.isfinite(v)):
                raise ConfigError(f"procedures.{pname}.{k}: must be a finite number > 0, got {v!r}")
        procs.append(ProcedureSpec(pname, steps, options))
    scenarios_doc = doc.get("scenarios")
    if not isinstance(scenarios_doc, list) or not scenarios_doc:
        raise ConfigError("[[scenarios]]: missing (give at least one scenario)")
    scenarios, seen, batches = [], set(), []
    for i, sc in enumerate(scenarios_doc):
        where = f"scenarios[{i}]"
        if not isinstance(sc, dict):
            raise ConfigError(f"{where}: must be a table")
        batches.append(_int(sc["batch"], f"{where}.batch", 1, LIMITS["batch"]) if "batch" in sc else None)
        extra = set(sc) - _SCENARIO
        if extra:
            raise ConfigError(f"{where}.{sorted(extra)[0]}: unknown key")
        sname = _safe_name(sc.get("name", f"scenario{i + 1}"), f"{where}.name")
        if sname in seen:
            raise ConfigError(f"{where}.name: {sname!r} names two scenarios")
        seen.add(sname)
        kind = sc.get("economy", "production")
        if kind not in ("production", "divisions", "table"):
            raise ConfigError(f"{where}.economy: must be \"production\", \"divisions\" or \"table\", got {kind!r}")
        if kind == "divisions":
            scenarios.append(_divisions_scenario(sc, where, sname, procs))
            continue
        if kind == "table":
            scenarios.append(_table_scenario(sc, where, sname, procs, source))
            continue
        for key in ("divisions", "activities", "shared", "private", "tightness"):
            if key in sc:
                raise ConfigError(f"{where}.{key}: an option of block-angular scenarios (economy = \"divisions\")")
        for key in ("table", "perturbation", "single_factor"):
            if key in sc:
                raise ConfigError(f"{where}.{key}: an option of table scenarios (economy = \"table\")")
        for key in ("n", "m"):
            if key not in sc:
                raise ConfigError(f"{where}.{key}: missing")
        n, m = _int(sc["n"], f"{where}.n", 1, LIMITS["n"]), _int(sc["m"], f"{where}.m", 1, LIMITS["m"])
        sampler = {}
        for key in ("technology", "welfare"):
            if key in sc:
                from ..economies.sampling import TECHNOLOGIES, WELFARES

                known = TECHNOLOGIES if key == "technology" else WELFARES
                if sc[key] not in known:
                    raise ConfigError(f"{where}.{key}: unknown family {sc[key]!r} (known: {', '.join(known)})")
                sampler[key] = sc[key]
        for key in _RANGES:
            if key in sc:
                value = _number_or_range(sc[key], f"{where}.{key}", positive=key not in ("intermediate_share", "subsistence", "setup"))
                lo, hi = _BOUNDS[key]
                if min(_as_range(value)) < lo or max(_as_range(value)) > hi:
                    raise ConfigError(f"{where}.{key}: must lie in [{lo:g}, {hi:g}], got {sc[key]!r}")
                sampler[key] = value
        try:
            from ..economies.sampling import check_options

            check_options(**{k: v for k, v in sampler.items() if k in ("technology", "elasticity", "returns_to_scale",
                                                                        "welfare", "subsistence", "setup")})
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if "density" in sc:
            d = sc["density"]
            if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d <= 1:
                raise ConfigError(f"{where}.density: must be between 0 and 1, got {d!r}")
            sampler["density"] = float(d)
        if "weight_concentration" in sc:
            sampler["weight_concentration"] = _number_or_range(sc["weight_concentration"], f"{where}.weight_concentration")
            if isinstance(sampler["weight_concentration"], tuple):
                raise ConfigError(f"{where}.weight_concentration: must be a number")
        names = _scenario_procedures(sc, where, procs, "production")
        scenarios.append(Scenario(sname, n, m, sampler, names))
    outputs = doc.get("outputs", {})
    if not isinstance(outputs, dict):
        raise ConfigError("outputs: must be a table")
    extra = set(outputs) - _OUTPUTS
    if extra:
        raise ConfigError(f"outputs.{sorted(extra)[0]}: unknown key")
    for k, v in outputs.items():
        if not isinstance(v, bool):
            raise ConfigError(f"outputs.{k}: must be true or false")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description: must be a string")
    if reduced:
        batches = [None if b is None else min(b, cpu_batch) for b in batches]
    scenarios = [s if b is None else dataclasses.replace(s, batch=b) for s, b in zip(scenarios, batches)]
    largest = max([batch] + [b for b in batches if b is not None])
    if auto_chunk:
        chunk, memory = _auto_chunk(scenarios, procs, largest)
        notes.append(f'chunk = "auto": {chunk:,} economies per chunk (from {memory / 2**30:,.1f} GiB of device memory)')
    chunk = min(chunk, largest)
    _check_chunk_memory(scenarios, procs, chunk)
    return StudyConfig(
        name=name, seed=seed, batch=batch, chunk=chunk, scenarios=tuple(scenarios),
        procedures=tuple(procs), plots=outputs.get("plots", True), series=outputs.get("series", True),
        traces=outputs.get("traces", False),
        description=description, source=source, note="; ".join(notes),
    )


def _scenario_procedures(sc: dict, where: str, procs: list, kind: str) -> tuple[str, ...]:
    """The scenario's procedure names: its `procedures` list, or every configured procedure of its kind."""
    names = sc.get("procedures", [p.name for p in procs if PROCEDURES[p.name].economy_kind == kind])
    if not isinstance(names, list) or not names:
        raise ConfigError(f"{where}.procedures: must be a non-empty list of procedure names"
                          + ("" if "procedures" in sc else f" (no configured procedure runs on {kind} economies)"))
    for pn in names:
        if pn not in {p.name for p in procs}:
            raise ConfigError(f"{where}.procedures: {pn!r} has no [procedures.{pn}] table")
        if PROCEDURES[pn].economy_kind != kind:
            raise ConfigError(f"{where}.procedures: {pn!r} runs on {PROCEDURES[pn].economy_kind} economies; this scenario "
                              f"draws {kind} economies" + (" (set economy = \"divisions\")"
                                                           if PROCEDURES[pn].economy_kind == "divisions" else ""))
    return tuple(names)


#: The keys of a scenario drawn around an input–output table (`economy = "table"`).
_TABLE_SCENARIO = {"batch", "name", "economy", "table", "perturbation", "returns_to_scale", "single_factor", "procedures",
                   "technology", "elasticity", "welfare", "welfare_elasticity", "subsistence"}
#: The calibration options of a table scenario (`calibrate_table`'s families), passed through when given.
_CALIBRATION = ("technology", "elasticity", "welfare", "welfare_elasticity", "subsistence")


def _table_scenario(sc: dict, where: str, name: str, procs: list, source: str) -> Scenario:
    """Economies drawn around the economy calibrated from an input–output table (`calibrate_table`,
    `perturb_calibrated`): the table's path (relative to the config file's folder) or a shipped table's name
    (`BUILTIN_TABLES`), the perturbation σ, the returns to scale, whether value added is one factor, and the
    calibration's families (technology, elasticity, welfare, welfare_elasticity, subsistence; defaults
    Cobb–Douglas and log). The table's content hash enters the study's fingerprint, so a changed table is
    a different study."""
    import hashlib

    from ..economies.table import BUILTIN_TABLES, calibrate_table, read_table, table_path

    extra = set(sc) - _TABLE_SCENARIO
    if extra:
        raise ConfigError(f"{where}.{sorted(extra)[0]}: not an option of table scenarios (economy = \"table\")")
    if not isinstance(sc.get("table"), str) or not sc["table"]:
        raise ConfigError(f"{where}.table: missing (the path of an input-output table CSV, relative to this file)")
    path = Path(table_path(sc["table"]))
    if sc["table"] not in BUILTIN_TABLES and not path.is_absolute():
        path = (Path(source).parent if source else Path.cwd()) / path
    try:
        table = read_table(str(path))
        calibration = {k: sc[k] for k in _CALIBRATION if k in sc}
        economy, labels = calibrate_table(table, single_factor=bool(sc.get("single_factor", False)), **calibration)
    except EconomyFileError as exc:
        raise ConfigError(f"{where}.table: {exc}") from None
    sigma = sc.get("perturbation", 0.1)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma <= 2:
        raise ConfigError(f"{where}.perturbation: must be a number in [0, 2], got {sigma!r}")
    rho = sc.get("returns_to_scale", 1.0)
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not 0 < rho <= 1:
        raise ConfigError(f"{where}.returns_to_scale: must be a number in (0, 1] for a table scenario, got {rho!r}")
    single = sc.get("single_factor", False)
    if not isinstance(single, bool):
        raise ConfigError(f"{where}.single_factor: must be true or false")
    sampler = {"table": sc["table"], "table_path": str(path.resolve()),
               "table_sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16],
               "perturbation": float(sigma), "returns_to_scale": float(rho), "single_factor": single}
    if calibration:  # only when given, so that a Cobb–Douglas study keeps its fingerprint
        sampler["calibration"] = calibration
    names = _scenario_procedures(sc, where, procs, "production")
    return Scenario(name, economy.n, economy.m, sampler, names)


def _divisions_scenario(sc: dict, where: str, name: str, procs: list) -> Scenario:
    """A block-angular scenario: sizes and `sample_divisions` options."""
    extra = set(sc) - _DIVISIONS_SCENARIO
    if extra:
        raise ConfigError(f"{where}.{sorted(extra)[0]}: not an option of block-angular scenarios "
                          f"(they take {', '.join(sorted(_DIVISIONS_SCENARIO - {'name', 'economy', 'procedures'}))})")
    sampler: dict = {}
    for key in ("divisions", "activities", "shared", "private"):
        if key not in sc:
            raise ConfigError(f"{where}.{key}: missing (a block-angular scenario needs divisions, activities, shared, private)")
        sampler[key] = _int(sc[key], f"{where}.{key}", 1, LIMITS[key])
    if "tightness" in sc:
        value = _number_or_range(sc["tightness"], f"{where}.tightness")
        if max(_as_range(value)) > 1.0:
            raise ConfigError(f"{where}.tightness: must lie in (0, 1] (a share of the unconstrained use), got {sc['tightness']!r}")
        sampler["tightness"] = value
    if "density" in sc:
        d = sc["density"]
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d <= 1:
            raise ConfigError(f"{where}.density: must be between 0 and 1, got {d!r}")
        sampler["density"] = float(d)
    names = _scenario_procedures(sc, where, procs, "divisions")
    return Scenario(name, sampler["divisions"], sampler["shared"], sampler, names, kind="divisions")


def find_config(name_or_path: str) -> Path:
    """A study file by path, or by name in ./configs/ or among the bundled studies (the repository's configs/
    folder, installed as the data package `jplan.configs`)."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return path
    candidate = Path.cwd() / "configs" / f"{name_or_path}.toml"
    if candidate.is_file():
        return candidate
    try:
        folder = resources.files("jplan.configs")
    except ModuleNotFoundError:  # an install made before the studies were bundled
        raise ConfigError(f"{name_or_path}: not found in ./configs/, and this jplan install has no bundled studies "
                          "(reinstall it: python3 -m pip install .)") from None
    bundled = folder / f"{name_or_path}.toml"
    if bundled.is_file():
        return Path(str(bundled))
    names = ", ".join(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))
    raise ConfigError(f"{name_or_path}: no such study file, ./configs/{name_or_path}.toml or bundled study ({names})")


def load_config(name_or_path: str) -> StudyConfig:
    """Read and validate a study configuration by path or bundled name."""
    path = find_config(name_or_path)
    try:
        doc = read_toml(path, "study file")
    except EconomyFileError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return parse_config(doc, source=str(path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
