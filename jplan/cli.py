"""The `jplan` command. Thin: it parses, loads, calls the library and prints; it holds no numerics.

Bad input (a missing or invalid file, an unknown option value, an economy outside a procedure's
domain) prints one line on stderr and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from ._json import number, numbers
from .errors import JplanInputError

DEFAULT_STUDY = "default"


def _output_path(text: str, *, png: bool = False) -> Path:
    """A file the command will write, checked before any work is done: its folder exists and is
    writable, and the path is not a directory, link or device (see `jplan._files`)."""
    from ._files import check_writable_target

    path = check_writable_target(text)
    if png and path.suffix.lower() != ".png":
        raise JplanInputError(f"{path}: figures are written as PNG; give a file name ending in .png")
    return path


def _json_safe(obj):
    """`obj` with every non-finite float (a welfare of −inf below subsistence, a NaN of a failed run) as
    null: JSON has no NaN or infinity, and a --json output must parse whatever the run did."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _print_json(obj) -> None:
    print(json.dumps(_json_safe(obj), indent=2, allow_nan=False))


def jax_leaves(tree) -> list:
    import jax

    return jax.tree_util.tree_leaves(tree)


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _plan_json(plan) -> dict:
    return {
        "consumption": numbers(plan.consumption),
        "output": numbers(plan.output),
        "resource_use": numbers(plan.resource_use),
        "intermediate_use": numbers(plan.intermediate_use),
    }


def _vector_line(names, values) -> str:
    return ", ".join(f"{n}={v:.6g}" for n, v in zip(names, values))


def _activities(economy, labels, activities) -> list[list[float]]:
    """Each division's activity levels, without the padding."""
    x = np.asarray(activities)
    return [numbers(x[j, :a]) for j, a in enumerate(labels.activities)]


def _divisions_result(args, economy, labels, *, objective, activities, prices, status, steps, extra=()) -> None:
    from .economies.divisions import DivisionPlan, division_infeasibility

    infeasible = number(division_infeasibility(economy, DivisionPlan(activities=activities)))
    if args.json:
        _print_json({"objective": number(objective), "activities": _activities(economy, labels, activities),
                     "resource_prices": None if prices is None else numbers(prices), "infeasibility": infeasible,
                     "status": status, "steps": steps, **dict(extra)})
        return
    rows = [("status", status), ("steps", str(steps)), ("objective", f"{float(objective):.10g}")]
    rows += [(k, f"{v:.6g}" if isinstance(v, float) else str(v)) for k, v in extra]
    for name, x in zip(labels.divisions, _activities(economy, labels, activities)):
        rows.append((f"{name} activities", ", ".join(f"{v:.6g}" for v in x)))
    if prices is not None:
        rows.append(("shared resource prices", _vector_line(labels.resources, prices)))
    rows.append(("infeasibility", f"{infeasible:.2e}"))
    print(_table(rows))


def _optimum_divisions(args, economy, labels) -> int:
    from .solvers.divisions import divisions_optimum
    from .solvers.lp import lp_status_name

    opt = divisions_optimum(economy)
    status = lp_status_name(opt.status)
    if status in ("infeasible", "unbounded"):
        raise JplanInputError(f"{args.file}: the economy's LP is {status}: no optimal plan exists")
    if not args.json:
        print(f"Optimal plan of {args.file} ({economy.divisions} divisions, {economy.shared} shared resources; exact LP)")
    _divisions_result(args, economy, labels, objective=opt.objective, activities=opt.plan.activities,
                      prices=opt.resource_prices, status=status, steps=0)
    return 0 if status == "optimal" else 1


# -- commands --------------------------------------------------------------------------------------
def cmd_optimum(args) -> int:
    from .economies import infeasibility, load_any
    from .economies.divisions import DivisionsEconomy
    from .solvers import optimum

    from .solvers import optimum_status_name

    economy, labels = load_any(args.file)
    if isinstance(economy, DivisionsEconomy):
        return _optimum_divisions(args, economy, labels)
    opt = optimum(economy)
    status = optimum_status_name(opt.status)
    if status == "infeasible":
        from .solvers.production import unfed_subsistence_message

        raise JplanInputError(f"{args.file}: {unfed_subsistence_message(economy)}")
    leaves = [opt.welfare, opt.goods_prices, opt.resource_prices, *jax_leaves(opt.plan)]
    if status != "numerical_failure" and not all(bool(np.all(np.isfinite(np.asarray(x)))) for x in leaves):
        status = "numerical_failure"
    code = 1 if status == "numerical_failure" else 0
    if args.json:
        _print_json(
            {
                "welfare": number(opt.welfare),
                **_plan_json(opt.plan),
                "goods_prices": numbers(opt.goods_prices),
                "resource_prices": numbers(opt.resource_prices),
                "infeasibility": number(infeasibility(economy, opt.plan)),
                "steps": 0,
                "status": status,
                "kkt_residual": number(opt.residual),
            }
        )
        return code
    if status == "numerical_failure":
        print(f"jplan: error: {args.file}: numerical_failure: the optimum could not be computed to tolerance "
              f"(KKT residual {float(opt.residual):.2e}); no plan is reported", file=sys.stderr)
        return 1
    kind = "Optimal plan" if status == "optimal" else "Best known plan (not certified: the problem is not convex)"
    print(f"{kind} of {args.file} (n={economy.n} goods, m={economy.m} resources)")
    print(
        _table(
            [
                ("welfare U*", f"{float(opt.welfare):.10g}"),
                ("consumption", _vector_line(labels.goods, opt.plan.consumption)),
                ("output", _vector_line(labels.goods, opt.plan.output)),
                ("goods shadow prices", _vector_line(labels.goods, opt.goods_prices)),
                ("resource shadow prices", _vector_line(labels.resources, opt.resource_prices)),
                ("infeasibility", f"{float(infeasibility(economy, opt.plan)):.2e}"),
                ("status", status),
            ]
        )
    )
    return code


def cmd_solve(args) -> int:
    from .economies import load_any
    from .economies.divisions import DivisionsEconomy
    from .procedures import check_domain, make_procedure, solve

    economy, labels = load_any(args.file)
    procedure = make_procedure(args.procedure, step_size=args.step_size, rule=args.rule, tolerance=args.tolerance)
    kind = "divisions" if isinstance(economy, DivisionsEconomy) else "production"
    if procedure.economy_kind != kind:
        raise JplanInputError(f'{args.file}: a kind = "{kind}" economy; {procedure.name} runs on kind = '
                              f'"{procedure.economy_kind}" economies')
    check_domain(procedure, economy)
    if kind == "divisions":
        result = solve(procedure, economy, steps=args.steps)
        trace = result.trace
        if not args.json:
            print(f"{procedure.name} on {args.file} ({economy.divisions} divisions, {economy.shared} shared resources)")
        _divisions_result(
            args, economy, labels, objective=trace.welfare[-1], activities=trace.plan.activities,
            prices=trace.resource_prices if procedure.has_prices else None, status=result.status, steps=int(trace.steps),
            extra=(("procedure", procedure.name), *((("failure", result.reason),) if result.reason else ()),
                   ("optimal_objective", float(result.optimal_welfare)),
                   ("gap", number(trace.gap[-1])), ("bound_gap", number(trace.residual[-1])),
                   ("messages_down", int(trace.messages_down.sum())), ("messages_up", int(trace.messages_up.sum())),
                   ("centre_flops", float(trace.centre_flops.sum())), ("firm_flops", float(trace.firm_flops.sum()))))
        return 0 if result.status == "converged" else 1
    try:
        result = solve(procedure, economy, steps=args.steps)
    except JplanInputError as error:
        if str(error).startswith("welfare."):  # about the file's economy
            raise JplanInputError(f"{args.file}: {error}") from None
        raise
    trace = result.trace
    has_prices = procedure.has_prices
    if args.json:
        _print_json(
            {
                "procedure": procedure.name,
                "welfare": float(trace.welfare[-1]),
                **_plan_json(trace.plan),
                "goods_prices": numbers(trace.goods_prices) if has_prices else None,
                "resource_prices": numbers(trace.resource_prices) if has_prices else None,
                "infeasibility": float(trace.infeasibility[-1]),
                "steps": int(trace.steps),
                "status": result.status,
                "failure": result.reason or None,
                "optimal_welfare": float(result.optimal_welfare),
                "gap": number(trace.gap[-1]),
                "residual": number(trace.residual[-1]),
                "messages_down": int(trace.messages_down.sum()),
                "messages_up": int(trace.messages_up.sum()),
                "centre_flops": float(trace.centre_flops.sum()),
                "firm_flops": float(trace.firm_flops.sum()),
                **(
                    {
                        "trace": {
                            "welfare": numbers(trace.welfare[: int(trace.steps) + 1]),
                            "gap": numbers(trace.gap[: int(trace.steps) + 1]),
                            "infeasibility": numbers(trace.infeasibility[: int(trace.steps) + 1]),
                            "messages": numbers((trace.messages_down + trace.messages_up)[: int(trace.steps) + 1]),
                        }
                    }
                    if args.trace
                    else {}
                ),
            }
        )
        return 0 if result.status == "converged" else 1
    rows = [
        ("procedure", procedure.name + (f" ({procedure.rule} rule)" if hasattr(procedure, "rule") else "")),
        ("status", result.status + (f" ({result.reason})" if result.reason else "")),
        ("steps", f"{int(trace.steps)} (limit {args.steps or result.steps_limit})"),
        ("welfare", f"{float(trace.welfare[-1]):.10g}"),
        ("optimal welfare", f"{float(result.optimal_welfare):.10g}"),
        ("gap to optimum", f"{float(trace.gap[-1]):.3e}  (|U - U*| / sum(w), log points of consumption)"),
        ("infeasibility", f"{float(trace.infeasibility[-1]):.3e}  (largest relative excess demand)"),
        ("messages", f"{int(trace.messages_down.sum())} floats down, {int(trace.messages_up.sum())} up"),
        ("consumption", _vector_line(labels.goods, trace.plan.consumption)),
    ]
    if has_prices:
        rows.append(("goods prices", _vector_line(labels.goods, trace.goods_prices)))
        rows.append(("resource prices", _vector_line(labels.resources, trace.resource_prices)))
    print(_table(rows))
    return 0 if result.status == "converged" else 1


def cmd_examples(args) -> int:
    """Copy the bundled example files (economies, tables, Cockshott's toy plan, scripts) into a folder, so
    the README's commands run from a normal install as from a clone."""
    import shutil
    from importlib import resources

    try:
        source = resources.files("jplan.examples")
    except ModuleNotFoundError:
        raise JplanInputError("this jplan install has no bundled examples (reinstall it: python3 -m pip install .)") from None
    names = sorted(p.name for p in source.iterdir() if p.name not in ("__init__.py", "__pycache__"))
    if args.list:
        print("\n".join(names))
        return 0
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise JplanInputError(f"{out}: exists and is not a folder")
    clashes = [n for n in names if (out / n).exists()]
    if clashes:
        raise JplanInputError(f"{out / clashes[0]}: exists; choose another --out (nothing was copied)")
    created = not out.exists()
    copied: list[Path] = []
    try:  # all or nothing: a folder that cannot be created or filled is left as it was
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            with resources.as_file(source / name) as path:
                copied.append(out / name)
                (shutil.copytree if path.is_dir() else shutil.copyfile)(path, out / name)
    except OSError as exc:
        for target in reversed(copied):
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
        if created and out.is_dir():
            shutil.rmtree(out, ignore_errors=True)
        raise JplanInputError(f"{out}: cannot write the examples ({exc.strerror or exc})") from None
    print(f"copied {len(names)} examples to {out}", file=sys.stderr)
    return 0


def _sample_other_kind(args) -> int:
    """`jplan sample --kind divisions|multiyear|rudra-full`: a random block-angular economy (`sample_divisions`),
    multi-year plan (`sample_multiyear`) or economy for Rudra's full calculation (`sample_rudra_full`, step 8
    read as "market-prices"), written as the kind's file."""
    import jax

    from ._files import atomic_write_text
    from .study.config import LIMITS

    if not 0 <= args.seed <= LIMITS["seed"]:
        raise JplanInputError(f"--seed must be between 0 and {LIMITS['seed']}")
    out = _output_path(args.out) if args.out else None
    key = jax.random.PRNGKey(args.seed)
    if args.kind == "divisions":
        from .economies.divisions import dumps_divisions, sample_divisions

        sizes = (args.divisions, args.activities, args.shared, args.private)
        for flag, value, key_ in zip(("--divisions", "--activities", "--shared", "--private"), sizes,
                                     ("divisions", "activities", "shared", "private")):
            if not 1 <= value <= LIMITS[key_]:
                raise JplanInputError(f"{flag} must be between 1 and {LIMITS[key_]}, got {value}")
        text = dumps_divisions(jax.jit(lambda k: sample_divisions(k, *sizes))(key))
    elif args.kind == "rudra-full":
        from .economies.rudra_full import dumps_rudra_full, sample_rudra_full

        if not 3 <= args.n <= 50:
            raise JplanInputError(f"--n (commodities) must be between 3 and 50 for --kind rudra-full, got {args.n}")
        text = dumps_rudra_full(jax.jit(lambda k: sample_rudra_full(k, args.n, closure="market-prices"))(key))
    else:
        from .economies.multiyear import dumps_multiyear, sample_multiyear

        if not (1 <= args.n <= 50 and 1 <= args.years <= 50):
            raise JplanInputError(f"--n (goods) and --years must be between 1 and 50, got {args.n} and {args.years}")
        text = dumps_multiyear(sample_multiyear(key, args.n, args.years))
    if out:
        atomic_write_text(out, text)
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_sample(args) -> int:
    from ._limits import LIMITS

    if args.kind != "production":
        return _sample_other_kind(args)

    if not (1 <= args.n <= LIMITS["n"] and 1 <= args.m <= LIMITS["m"]):
        raise JplanInputError(f"--n must be between 1 and {LIMITS['n']} and --m between 1 and {LIMITS['m']}")
    if not 0 <= args.seed <= LIMITS["seed"]:
        raise JplanInputError(f"--seed must be between 0 and {LIMITS['seed']}")
    rho = _parse_range(args.rho, "--rho")
    import jax

    from .economies import dumps_economy, sample, save_economy
    from .economies.sampling import _range, check_options
    if not (0 < min(_range(rho)) and max(_range(rho)) <= 10):
        raise JplanInputError("--rho must be > 0 and at most 10")
    if not 0.0 <= args.density <= 1.0:
        raise JplanInputError("--density must be between 0 and 1")
    options = dict(technology=args.family, welfare=args.welfare)
    for flag, key, lo, hi in (("--sigma", "elasticity", 0.05, 20.0), ("--eta", "welfare_elasticity", 0.05, 20.0),
                              ("--subsistence", "subsistence", 0.0, 0.99), ("--setup", "setup", 0.0, 0.5)):
        text = getattr(args, key)
        if text is None:
            continue
        value = _parse_range(text, flag)
        if not lo <= min(_range(value)) <= max(_range(value)) <= hi:
            raise JplanInputError(f"{flag} must lie in [{lo:g}, {hi:g}], got {text!r}")
        options[key] = value
    if "elasticity" in options and args.family != "ces":
        raise JplanInputError("--sigma needs --family ces")
    if "welfare_elasticity" in options and args.welfare != "ces":
        raise JplanInputError("--eta needs --welfare ces")
    if "subsistence" in options and args.welfare != "stone-geary":
        raise JplanInputError("--subsistence needs --welfare stone-geary")
    if args.family == "ces":
        options.setdefault("elasticity", (0.5, 2.0))
    if args.welfare == "ces":
        options.setdefault("welfare_elasticity", (0.5, 2.0))
    try:
        check_options(returns_to_scale=rho, **options)
    except ValueError as exc:
        raise JplanInputError(str(exc)) from None
    out = _output_path(args.out) if args.out else None  # refused before any work
    # one compiled program (a single entry in the persistent cache) instead of dozens of op-by-op dispatches
    draw = jax.jit(lambda key: sample(key, args.n, args.m, returns_to_scale=rho, density=args.density, **options))
    economy = draw(jax.random.PRNGKey(args.seed))
    if out:
        save_economy(out, economy)
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(dumps_economy(economy))
    return 0


def _parse_range(text: str, flag: str):
    try:
        parts = [float(t) for t in text.split(":")]
    except ValueError:
        raise JplanInputError(f"{flag}: expected a number or LOW:HIGH, got {text!r}")
    if not all(math.isfinite(x) for x in parts):
        raise JplanInputError(f"{flag}: must be finite, got {text!r}")
    if len(parts) == 1:
        return parts[0]
    if len(parts) != 2 or parts[0] > parts[1]:
        raise JplanInputError(f"{flag}: expected a number or LOW:HIGH with LOW <= HIGH, got {text!r}")
    return (parts[0], parts[1])


def cmd_study(args) -> int:
    if args.distributed:  # before anything creates an array (jplan's modules do at import)
        _initialize_distributed(args)
    from .study import load_config, run_study

    part = None
    if args.part is not None:
        k, slash, m = args.part.partition("/")
        if not (slash and k.isdigit() and m.isdigit() and 1 <= int(k) <= int(m)):
            raise JplanInputError(f"--part: expected K/M with 1 <= K <= M (machine K of M), got {args.part!r}")
        part = (int(k), int(m))
    config = load_config(args.config or DEFAULT_STUDY)
    import jax

    echo = print if jax.process_index() == 0 else None
    run_study(config, out=args.out, fresh=args.fresh, progress=not args.quiet and echo is not None, echo=echo, part=part,
              merge=tuple(args.merge or ()))
    return 0


def _initialize_distributed(args) -> None:
    """`jax.distributed.initialize`: from --coordinator/--num-processes/--process-id where given, else from the
    cluster's environment (SLURM, Open MPI's mpirun, …: JAX detects them)."""
    import jax

    given = [args.coordinator, args.num_processes, args.process_id]
    if any(v is not None for v in given) and not all(v is not None for v in given):
        raise JplanInputError("--coordinator, --num-processes and --process-id go together (or give none: the cluster's "
                              "environment, e.g. SLURM or mpirun, then says them)")
    if args.num_processes is not None and not 0 <= args.process_id < args.num_processes:
        raise JplanInputError(f"--process-id must be between 0 and --num-processes - 1, got {args.process_id}")
    try:
        jax.distributed.initialize(coordinator_address=args.coordinator, num_processes=args.num_processes,
                                   process_id=args.process_id)
    except (RuntimeError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise JplanInputError(f"--distributed: cannot join the JAX cluster ({first})") from None


def cmd_sensitivity(args) -> int:
    from .economies import load_economy
    from .sensitivity import optimum_sensitivities

    plot = _output_path(args.plot, png=True) if args.plot else None
    economy, labels = load_economy(args.file)
    sens = optimum_sensitivities(economy)
    if not all(bool(np.all(np.isfinite(np.asarray(x)))) for x in jax_leaves(sens.to_json())):
        raise JplanInputError(
            f"{args.file}: numerical_failure: some derivatives are not finite (e.g. with respect to the weight "
            "of a good with welfare weight 0, where welfare is not differentiable); no sensitivities reported"
        )
    if plot:
        from .sensitivity import plot_jacobians

        plot_jacobians(sens, labels, plot)
    if args.json:
        _print_json(sens.to_json())
        return 0
    print(sens.to_text(labels))
    if args.plot:
        print(f"\nheatmaps written to {args.plot}")
    return 0


def _rudra_file(path):
    from .economies import load_rudra

    return load_rudra(path)


def cmd_rudra_example(args) -> int:
    from .rudra.appendix2 import APPENDIX2_TOML, reproduce_appendix2
    from .rudra.report import plot_example, text_table

    plot = _output_path(args.plot, png=True) if args.plot else None
    if args.save:
        from ._files import atomic_write_text

        out = _output_path(args.save)
        atomic_write_text(out, APPENDIX2_TOML)  # a full disk: one line naming the file, nothing half-written
        print(f"wrote {out}", file=sys.stderr)
    rep = reproduce_appendix2()
    if plot:
        plot_example(rep, plot)
    if args.json:
        _print_json(rep)
        return 0
    opt = rep["optimal_technology"]
    print("Rudra's frame paper, Appendix 2: the central LP with the appendix's data (commodity 2 not imported)")
    print(_table([
        ("targets X", ", ".join(f"{x:.1f}" for x in rep["targets"]) + "   (seed: 307.7, 284.6)"),
        ("imports m", ", ".join(f"{x:.6g}" for x in rep["imports"])),
        ("gamma", ", ".join(f"{x:.4g}" for x in rep["gamma"]) + "   (seed: 2.08, 1.46)"),
        ("lambda", f"{rep['lambda']:.4f}   (seed: 1055)"),
    ]))
    print()
    rows = [[p["name"], f"{p['coefficients']['inputs'][1]:.4g}", f"{p['coefficients']['capital']:.4g}", f"{p['coefficients']['growth']:.4g}", f"{p['gamma_1']:.4f}", f"{p['lambda_1']:.2f}"] for p in rep["projects"]]
    rows.append(["gradient search (theta=%.4f)" % opt["theta"][1], f"{opt['coefficients']['inputs'][1]:.4g}", f"{opt['coefficients']['capital']:.4g}", f"{opt['coefficients']['growth']:.4g}", "", f"{opt['lambda_1']:.4f}"])
    print(text_table(["sector 1 technique", "a21", "k1", "r1", "gamma_1", "lambda_1"], rows))
    print("(seed: lambda_1 = 1126.9 and 1372; the seed's 1126.9 uses gamma_1 rounded to 2.63)")
    print(f"grid search over {opt['grid_points']} points: theta = {opt['grid_theta']:.5f}, lambda_1 = {opt['grid_lambda_1']:.6f}")
    cyc = rep["cycles"]
    print(f"planning cycles: {cyc['status']} after {cyc['cycles']} cycle(s); lambda per cycle: " + ", ".join(f"{x:.4f}" for x in cyc["lambda"]))
    free = rep["unrestricted_imports"]
    print(
        f"\nNote: with both commodities importable the LP imports commodity 2 instead (targets "
        f"{free['targets'][0]:.1f}, {free['targets'][1]:.1f}; lambda = {free['lambda']:.2f}): the seed's rule "
        f"'gamma_1 > gamma_2 => m2 = 0' compares the wrong quantities (an import saves gamma'(I-A)^-1 e_i: "
        f"{free['commodity_values'][0]:.3f} vs {free['commodity_values'][1]:.3f})."
    )
    if args.plot:
        print(f"figure written to {args.plot}")
    return 0


#: Limits on the Rudra commands' loops, refused in one line before any work (each round and cycle keeps a
#: history row; a cycle runs `steps` gradient steps per sector).
MAX_ROUNDS = 1_000
MAX_CYCLES = 1_000
MAX_RUDRA_STEPS = 100_000
MAX_CYCLE_STEPS = 1_000_000


def _check_counts(rounds=None, cycles=None, steps=None) -> None:
    for name, value, hi in (("--rounds", rounds, MAX_ROUNDS), ("--cycles", cycles, MAX_CYCLES),
                            ("--steps", steps, MAX_RUDRA_STEPS)):
        if value is not None and not 1 <= value <= hi:
            raise JplanInputError(f"{name} must be between 1 and {hi:,}, got {value}")
    if cycles is not None and steps is not None and cycles * steps > MAX_CYCLE_STEPS:
        raise JplanInputError(f"--cycles x --steps must be at most {MAX_CYCLE_STEPS:,} gradient steps per sector, "
                              f"got {cycles * steps:,}")


def cmd_rudra_plan(args) -> int:
    from .rudra.report import plan_report, plan_text, plot_cycles

    _check_counts(cycles=args.cycles, steps=args.steps)
    plot = _output_path(args.plot, png=True) if args.plot else None
    f = _rudra_file(args.file)
    report, _ = plan_report(f, cycles=args.cycles, steps=args.steps)
    if plot:
        plot_cycles(report, f, plot)
    if args.json:
        _print_json(report)
    else:
        print(plan_text(report, f))
        if args.plot:
            print(f"figure written to {args.plot}")
    return 0 if report["status"] == "converged" else 1


def cmd_rudra_shortest_time(args) -> int:
    from .rudra.report import shortest_time_report, text_table

    f = _rudra_file(args.file)
    if f.growth_path is None:
        raise JplanInputError(f"{args.file}: shortest-time needs a [time] table (base_ratio, reference_length)")
    if not 1 <= args.min_length <= args.max_length:
        raise JplanInputError("--min-length and --max-length must satisfy 1 <= min <= max")
    if not math.isfinite(args.assistance):
        raise JplanInputError("--assistance must be a finite number")
    rep = shortest_time_report(f, args.assistance, min_length=args.min_length, max_length=args.max_length)
    if args.json:
        _print_json(rep)
    else:
        print(text_table(["trial", "T", "lambda*(T)", "<= assistance?"], [
            [str(i + 1), str(t["T"]), t["lp"] if t["lambda"] is None else f"{t['lambda']:.8g}", "yes" if t["lambda"] is not None and t["lambda"] <= args.assistance else "no"]
            for i, t in enumerate(rep["trials"])
        ]))
        if rep["status"] == "unbounded":
            print(f"\nunbounded: the central LP has no finite minimum at T = {rep['trials'][-1]['T']} "
                  "(some sector's capital coefficient gamma_j(T) is negative); no plan length is reported")
        elif rep["length"] is None:
            print(f"\nnot reached: even T = {args.max_length} needs more than {args.assistance:g}")
        else:
            note = " (lambda*(T) is not monotone here; found by the verification scan)" if rep["status"] == "non_monotone" else ""
            print(f"\nshortest plan length T = {rep['length']} years, lambda*(T) = {rep['lambda']:.8g} <= {args.assistance:g}{note}")
    return 0 if rep["length"] is not None else 1


def cmd_rudra_central(args) -> int:
    from .economies.rudra_full import load_rudra_full
    from .rudra.full_report import central_report, central_text

    _check_counts(rounds=args.rounds, cycles=args.cycles, steps=args.steps)
    f = load_rudra_full(args.file)
    if args.cycles is not None:
        from .rudra.full_report import cycles_report, cycles_text

        if f.technologies is None:
            raise JplanInputError(f"{args.file}: --cycles needs [[technology]] tables (the sectors' technology sets)")
        rep = cycles_report(f, cycles=args.cycles, steps=args.steps, rounds=args.rounds)
        _print_json(rep) if args.json else print(cycles_text(rep))
        return 0 if rep["status"] == "converged" else 1
    rep = central_report(f, rounds=args.rounds)
    if args.json:
        _print_json(rep)
    else:
        print(central_text(rep))
    return 0 if rep["status"] == "converged" else 1


def cmd_rudra_sensitivity(args) -> int:
    from .rudra.report import sensitivity_report, sensitivity_text

    f = _rudra_file(args.file)
    rep = sensitivity_report(f)
    if args.json:
        _print_json(rep)
    else:
        print(sensitivity_text(rep, f))
    return 0 if "lambda" in rep else 1


def cmd_table_summary(args) -> int:
    from .economies.table import read_table, table_summary

    rep = table_summary(read_table(args.file, labour_row=args.labour_row))
    if args.json:
        _print_json(rep)
        return 0
    print(f"{args.file}: {rep['n']} sectors; final demand: {', '.join(rep['final_demand_columns']) or 'none'}; "
          f"value added: {', '.join(rep['value_added_rows']) or 'none'}")
    print(f"spectral radius of A: {rep['spectral_radius']:.6g} ({'productive' if rep['productive'] else 'NOT productive: no Leontief inverse'})")
    if rep["productive"]:
        from .rudra.report import text_table

        values = rep["labour_values"]
        rows = [[s, f"{rep['output'][j]:.6g}", f"{rep['output_multipliers'][j]:.6g}", "-" if values is None else f"{values[j]:.6g}"]
                for j, s in enumerate(rep["sectors"])]
        print(text_table(["sector", "gross output", "output multiplier", f"labour value ({rep['labour_row'] or 'no labour row'})"], rows))
        print(f"residuals: Leontief inverse {rep['leontief_residual']:.2g}"
              + ("" if values is None else f", labour values {rep['labour_value_residual']:.2g} (relative)"))
    return 0


def cmd_table_economy(args) -> int:
    from ._files import atomic_write_text
    from .economies.io import dumps_economy
    from .economies.table import calibrate_table, read_table

    economy, labels = calibrate_table(read_table(args.file, labour_row=None), single_factor=args.single_factor,
                                      technology=args.technology, elasticity=args.elasticity, welfare=args.welfare,
                                      welfare_elasticity=args.welfare_elasticity, subsistence=args.subsistence,
                                      returns_to_scale=args.returns_to_scale)
    tech = args.technology + ("" if args.elasticity is None or args.technology != "ces" else f" sigma={args.elasticity:g}")
    wel = args.welfare + {"ces": f" eta={args.welfare_elasticity}", "stone-geary": f" subsistence={args.subsistence:g} of final demand"}.get(args.welfare, "")
    returns = "constant returns" if args.returns_to_scale == 1 else f"returns to scale {args.returns_to_scale:g}"
    claim = ("its optimum replicates the table (consumption = final demand, outputs = gross output)" if args.returns_to_scale == 1
             else "returns below 1 (no pure profit in the table): its optimum does not replicate the table")
    text = f"# calibrated from {os.path.basename(args.file)} by `jplan table economy` ({tech}, {returns}, {wel} welfare):\n" \
           f"# {claim}\n" + dumps_economy(economy, labels)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}: {economy.n} goods, {economy.m} resource(s) ({', '.join(labels.resources)})")
    else:
        print(text, end="")
    return 0


def cmd_table_rudra(args) -> int:
    from ._files import atomic_write_text
    from .economies.table import read_table, rudra_from_table

    text, rep = rudra_from_table(read_table(args.file), plan_years=args.plan_years, growth_rate=args.growth,
                                 capital_return=args.capital_return, savings_rate=args.savings_rate)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}: savings rate {rep['savings_rate']:.4g}, growth coefficient {rep['growth']:.6g}, "
              f"capital per unit of output {min(rep['capital']):.3g}..{max(rep['capital']):.3g}"
              + (f", {rep['targets_set_to_zero']} negative target(s) set to 0" if rep["targets_set_to_zero"] else ""))
    else:
        print(text, end="")
    return 0


def cmd_multiyear(args) -> int:
    from .economies.multiyear import load_multiyear
    from .multiyear import multiyear_report, multiyear_text

    if not args.lp and not args.harmony:
        raise JplanInputError("--no-lp leaves nothing to do: add --harmony pascal|java")
    rep = multiyear_report(load_multiyear(args.path), lp=args.lp, harmony=args.harmony)
    _print_json(rep) if args.json else print(multiyear_text(rep))
    if args.lp:
        return 0 if rep["status"] == "optimal" else 1
    return 1 if rep["harmony"]["failed"] else 0


# -- parser ------------------------------------------------------------------------------------------
#: The built-in procedures' names (a test keeps this equal to `jplan.procedures.PROCEDURES`): a command that
#: names one is parsed without importing the registry, and so JAX, before its input files are checked.
BUILTIN_PROCEDURES = ('arrow-hurwicz', 'arrow-hurwicz-adaptive', 'accelerated-dual', 'participatory', 'admm', 'pdhg', 'learned-tatonnement', 'malinvaud', 'malinvaud-memory', 'malinvaud-memory-centred', 'heal', 'heal-proportional', 'dantzig-wolfe', 'kornai-liptak', 'kornai-liptak-subgradient', 'kornai-liptak-cutting-plane')


class _ProcedureNames:
    """The registered procedures as argparse `choices`, read only when a command needs them: building the
    parser (and so `jplan --version` and `jplan --help`) imports no JAX, and a built-in name is accepted
    without importing the registry (a plugin's name loads it)."""

    @staticmethod
    def _names() -> list[str]:
        from .procedures import PROCEDURES
        from .procedures.registry import load_plugins

        load_plugins()
        return list(PROCEDURES)

    def __contains__(self, name) -> bool:
        return name in BUILTIN_PROCEDURES or name in self._names()

    def __iter__(self):
        return iter(self._names())


class _Parser(argparse.ArgumentParser):
    """argparse with the error contract: one line on stderr, exit 2 (no usage block)."""

    def error(self, message: str):
        print(f"jplan: error: {message} (see jplan {self.prog.split(' ', 1)[-1] if ' ' in self.prog else ''} --help)".replace("  ", " "), file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jplan",
        description="Decentralised economic planning procedures in JAX: optima, procedures, Monte Carlo studies.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"jplan {__version__}")
    parser.add_argument("--debug", action="store_true", help="on an error raised by a procedure plugin, also print its traceback")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("examples", help="copy the bundled example files into a folder")
    p.add_argument("--out", default="jplan-examples", help="folder to copy them into (default: jplan-examples)")
    p.add_argument("--list", action="store_true", help="only list them")
    p.set_defaults(func=cmd_examples)

    p = sub.add_parser("optimum", help="the exact centralised optimum of an economy file")
    p.add_argument("file", help="economy TOML file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_optimum)

    p = sub.add_parser("solve", help="run a planning procedure on an economy file")
    p.add_argument("file", help="economy TOML file")
    p.add_argument("--procedure", required=True, choices=_ProcedureNames(), metavar="NAME",
                   help="the procedure: %(choices)s")
    p.add_argument("--steps", type=int, default=None, help="step limit (default: per procedure)")
    p.add_argument("--step-size", type=float, default=None, help="initial step size (AH, Heal)")
    p.add_argument("--rule", default=None, help="Arrow–Hurwicz price rule: adaptive, multiplicative, additive")
    p.add_argument("--tolerance", type=float, default=None, help="stopping tolerance on the procedure's residual")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--trace", action="store_true", help="with --json: add the per-step series (index 0 is the start)")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("sample", help="write a random economy as TOML")
    p.add_argument("--kind", choices=["production", "divisions", "multiyear", "rudra-full"], default="production",
                   help="economy kind (default production; divisions: a block-angular economy; multiyear: a plan over years; "
                        "rudra-full: an economy for Rudra's central calculation, one sector per commodity, --n commodities)")
    p.add_argument("--n", type=int, default=5, help="number of goods (default 5)")
    p.add_argument("--m", type=int, default=2, help="number of resources (default 2)")
    p.add_argument("--rho", default="0.9", help="returns to scale, a number or LOW:HIGH (default 0.9)")
    p.add_argument("--density", type=float, default=1.0, help="share of intermediate-input links (default 1)")
    p.add_argument("--family", choices=["cobb-douglas", "ces"], default="cobb-douglas", help="technology family")
    p.add_argument("--sigma", dest="elasticity", default=None,
                   help="CES elasticities of substitution, a number or LOW:HIGH drawn log-uniformly (default 0.5:2)")
    p.add_argument("--welfare", choices=["log", "ces", "stone-geary"], default="log", help="welfare family")
    p.add_argument("--eta", dest="welfare_elasticity", default=None, help="CES welfare elasticity or LOW:HIGH (default 0.5:2)")
    p.add_argument("--subsistence", default=None,
                   help="Stone-Geary subsistence as a fraction (or LOW:HIGH) of a feasible plan's consumption (default 0.5)")
    p.add_argument("--setup", default=None,
                   help="set-up cost per firm as a fraction (or LOW:HIGH, at most 0.5) of its input aggregate in a feasible plan")
    p.add_argument("--divisions", type=int, default=4, help="--kind divisions: divisions N (default 4)")
    p.add_argument("--activities", type=int, default=3, help="--kind divisions: activities per division (default 3)")
    p.add_argument("--shared", type=int, default=2, help="--kind divisions: shared resources m0 (default 2)")
    p.add_argument("--private", type=int, default=2, help="--kind divisions: private constraints per division (default 2)")
    p.add_argument("--years", type=int, default=5, help="--kind multiyear: plan years T (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="file to write (default: stdout)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("study", help="Monte Carlo comparison of the procedures (the main job)")
    p.add_argument("config", nargs="?", default=None, help="study TOML file or a bundled name (default: default)")
    p.add_argument("--out", default=None, help="output folder (default: results/<study name>)")
    p.add_argument("--fresh", action="store_true", help="discard finished chunks instead of resuming")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--part", default=None, metavar="K/M", help="run only machine K's share of M (its own --out; no summary)")
    p.add_argument("--distributed", action="store_true",
                   help="one process of a multi-process study on JAX's runtime (jax.distributed; shared --out folder)")
    p.add_argument("--coordinator", default=None, metavar="HOST:PORT", help="with --distributed: process 0's address")
    p.add_argument("--num-processes", type=int, default=None, help="with --distributed: the number of processes")
    p.add_argument("--process-id", type=int, default=None, help="with --distributed: this process's index (0 writes the summary)")
    p.add_argument("--merge", nargs="+", default=None, metavar="FOLDER", help="copy in the chunks of these parts' folders, then finish the study")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("sensitivity", help="gradients of the optimum with respect to every parameter")
    p.add_argument("file", help="economy TOML file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", default=None, metavar="PNG", help="write heatmaps of the Jacobians to this file")
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("table", help="input-output tables: summary, a calibrated economy, a Rudra file")
    tsub = p.add_subparsers(dest="table_command", required=True, metavar="SUBCOMMAND")
    q = tsub.add_parser("summary", help="A's spectral radius, output multipliers and labour values of an IO table (CSV)")
    q.add_argument("file", help="an input-output table in jplan's labelled CSV format (docs: Economies and file formats), or a shipped table's name (us-bea-2021-15)")
    q.add_argument("--labour-row", default=None, metavar="LABEL", help="the value-added row holding labour (default: labour, compensation, ...)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_table_summary)
    q = tsub.add_parser("economy", help="a production economy calibrated so that its optimum replicates the table")
    q.add_argument("file", help="an input-output table in jplan's labelled CSV format, or a shipped table's name (us-bea-2021-15)")
    q.add_argument("--single-factor", action="store_true", help="merge the value-added rows into one primary resource")
    q.add_argument("--technology", choices=("cobb-douglas", "ces", "leontief"), default="cobb-douglas",
                   help="the firms' family (default cobb-douglas; ces needs --elasticity; leontief: fixed coefficients, "
                        "needs --single-factor)")
    q.add_argument("--elasticity", type=float, default=None, metavar="S",
                   help="the firms' elasticity of substitution for --technology ces (small S: near fixed coefficients)")
    q.add_argument("--welfare", choices=("log", "ces", "stone-geary"), default="log", help="the welfare family (default log)")
    q.add_argument("--welfare-elasticity", type=float, default=None, metavar="E", help="for --welfare ces")
    q.add_argument("--subsistence", type=float, default=0.5, metavar="SHARE",
                   help="for --welfare stone-geary: subsistence as a share of final demand (default 0.5)")
    q.add_argument("--returns-to-scale", type=float, default=1.0, metavar="R",
                   help="every firm's returns (default 1, which replicates the table; below 1 enters Arrow-Hurwicz's domain)")
    q.add_argument("--out", "-o", default=None, metavar="TOML", help="write the economy file here (default: print it)")
    q.set_defaults(func=cmd_table_economy)
    q = tsub.add_parser("rudra", help="a kind = \"rudra\" file (Rudra's central LP) built from a table, with capital, savings and growth imputed")
    q.add_argument("file", help="an input-output table in jplan's labelled CSV format, or a shipped table's name (us-bea-2021-15)")
    q.add_argument("--plan-years", type=int, default=5, metavar="T", help="plan length in years (default 5)")
    q.add_argument("--growth", type=float, default=0.03, metavar="G", help="annual growth of output and targets (default 0.03)")
    q.add_argument("--capital-return", type=float, default=0.10, metavar="R",
                   help="gross return on capital that imputes capital from the surplus rows (default 0.10)")
    q.add_argument("--savings-rate", type=float, default=None, metavar="V",
                   help="one savings rate for all sectors (default: investment / domestic value added)")
    q.add_argument("--out", "-o", default=None, metavar="TOML", help="write the file here (default: print it)")
    q.set_defaults(func=cmd_table_rudra)

    p = sub.add_parser("multiyear", help="Cockshott's multi-year plan: the optimal plan of a folder of his CSV files or a kind = \"multiyear\" file")
    p.add_argument("path", help="a folder holding flows.csv, cap.csv, dep.csv and labtarg.csv, or a kind = \"multiyear\" TOML file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--harmony", choices=["pascal", "java"], default=None,
                   help="also balance the plan by Cockshott's harmony algorithm (his Pascal or Java constants) and report its "
                        "distance to the LP optimum")
    p.add_argument("--no-lp", dest="lp", action="store_false", help="skip the LP (with --harmony, for plans too large for it)")
    p.set_defaults(func=cmd_multiyear)

    p = sub.add_parser("rudra", help="Rudra's long-term planning frame (central LP, sectoral choice, cycles)")
    rsub = p.add_subparsers(dest="rudra_command", required=True, metavar="SUBCOMMAND")
    q = rsub.add_parser("example", help="reproduce the seed's Appendix 2 and search its technology frontier")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.add_argument("--plot", default=None, metavar="PNG", help="write the frontier figure to this file")
    q.add_argument("--save", default=None, metavar="TOML", help="also write the example economy file here")
    q.set_defaults(func=cmd_rudra_example)
    q = rsub.add_parser("plan", help="run the planning cycles on a kind = \"rudra\" economy file")
    q.add_argument("file", help="Rudra economy TOML file")
    q.add_argument("--cycles", type=int, default=30, help="cycle limit (default 30)")
    q.add_argument("--steps", type=int, default=300, help="gradient steps per sectoral search (default 300)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.add_argument("--plot", default=None, metavar="PNG", help="write lambda and targets per cycle to this file")
    q.set_defaults(func=cmd_rudra_plan)
    q = rsub.add_parser("shortest-time", help="smallest plan length T with lambda*(T) <= the assistance available")
    q.add_argument("file", help="Rudra economy TOML file with a [time] table")
    q.add_argument("--assistance", type=float, required=True, metavar="L0", help="foreign assistance available, lambda_0")
    q.add_argument("--min-length", type=int, default=1, help="shortest T considered (default 1)")
    q.add_argument("--max-length", type=int, default=100, help="longest T considered (default 100)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_rudra_shortest_time)
    q = rsub.add_parser("central", help="the full central calculation (steps 1-8 in rounds) on a kind = \"rudra-full\" file")
    q.add_argument("file", help="kind = \"rudra-full\" economy TOML file")
    q.add_argument("--rounds", type=int, default=30, help="round limit (default 30)")
    q.add_argument("--cycles", type=int, default=None, help="run this many planning cycles (section 8) with the file's [[technology]] tables")
    q.add_argument("--steps", type=int, default=40, help="gradient steps per sectoral search in a cycle (default 40)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_rudra_central)
    q = rsub.add_parser("sensitivity", help="d lambda*/d(coefficients, targets, foreign exchange) from the LP duals")
    q.add_argument("file", help="Rudra economy TOML file")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_rudra_sensitivity)
    return parser


def _preflight(args) -> None:
    """The cheap checks, before any command imports JAX: input files that are missing, folders, devices or
    too large end here in a fraction of a second, with the loaders' own one-line messages."""
    from ._files import check_input_file

    economy_file_commands = (cmd_optimum, cmd_solve, cmd_sensitivity, cmd_rudra_plan, cmd_rudra_shortest_time,
                             cmd_rudra_central, cmd_rudra_sensitivity)
    if args.func is cmd_rudra_plan:  # the commands' own first checks, in their order
        _check_counts(cycles=args.cycles, steps=args.steps)
    elif args.func is cmd_rudra_central:
        _check_counts(rounds=args.rounds, cycles=args.cycles, steps=args.steps)
    if args.func in economy_file_commands:
        check_input_file(args.file, "economy file")
    elif args.func is cmd_study and args.config and Path(args.config).suffix == ".toml":
        check_input_file(args.config, "study file")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ._x64 import enable_compilation_cache, enable_x64

    enable_x64()
    enable_compilation_cache()
    try:
        _preflight(args)
        return args.func(args)
    except JplanInputError as exc:
        if getattr(args, "debug", False) and exc.__cause__ is not None:
            import traceback

            traceback.print_exception(exc.__cause__, file=sys.stderr)
        print(f"jplan: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `jplan ... | head` (an OSError: caught before the clause below)
        try:  # the reader has gone: send what is left nowhere, quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 0
    except OSError as exc:  # permissions, a full disk, a vanished folder: the environment, not a bug
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"jplan: error: {where}{exc.strerror or exc.__class__.__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jplan: interrupted (finished chunks are kept; run the same command again to resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
