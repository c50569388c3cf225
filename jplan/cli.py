"""The `jplan` command. Thin: it parses, loads, calls the library and prints; it holds no numerics.

Bad input (a missing or invalid file, an unknown option value, an economy outside a procedure's
domain) prints one line on stderr and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from .errors import JplanInputError

DEFAULT_STUDY = "default"


def _float_list(x) -> list:
    import numpy as np

    arr = np.asarray(x, dtype=float)
    return [None if not math.isfinite(v) else float(v) for v in arr.ravel()] if arr.ndim == 1 else [_float_list(r) for r in arr]


def _num(x) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2))


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _plan_json(plan) -> dict:
    return {
        "consumption": _float_list(plan.consumption),
        "output": _float_list(plan.output),
        "resource_use": _float_list(plan.resource_use),
        "intermediate_use": _float_list(plan.intermediate_use),
    }


def _vector_line(names, values) -> str:
    return ", ".join(f"{n}={v:.6g}" for n, v in zip(names, values))


# -- commands --------------------------------------------------------------------------------------
def cmd_optimum(args) -> int:
    from .economies import infeasibility, load_economy
    from .optimum import optimum

    economy, labels = load_economy(args.file)
    opt = optimum(economy)
    if args.json:
        _print_json(
            {
                "welfare": float(opt.welfare),
                **_plan_json(opt.plan),
                "goods_prices": _float_list(opt.goods_prices),
                "resource_prices": _float_list(opt.resource_prices),
                "infeasibility": float(infeasibility(economy, opt.plan)),
                "steps": 0,
                "status": "optimal",
            }
        )
        return 0
    print(f"Optimal plan of {args.file} (n={economy.n} goods, m={economy.m} resources)")
    print(
        _table(
            [
                ("welfare U*", f"{float(opt.welfare):.10g}"),
                ("consumption", _vector_line(labels.goods, opt.plan.consumption)),
                ("output", _vector_line(labels.goods, opt.plan.output)),
                ("goods shadow prices", _vector_line(labels.goods, opt.goods_prices)),
                ("resource shadow prices", _vector_line(labels.resources, opt.resource_prices)),
                ("infeasibility", f"{float(infeasibility(economy, opt.plan)):.2e}"),
            ]
        )
    )
    return 0


def cmd_solve(args) -> int:
    from .economies import load_economy
    from .procedures import check_domain, make_procedure, solve

    economy, labels = load_economy(args.file)
    procedure = make_procedure(args.procedure, step_size=args.step_size, rule=args.rule, tolerance=args.tolerance)
    check_domain(procedure, economy)
    result = solve(procedure, economy, steps=args.steps)
    trace = result.trace
    has_prices = procedure.has_prices
    if args.json:
        _print_json(
            {
                "procedure": procedure.name,
                "welfare": float(trace.welfare[-1]),
                **_plan_json(trace.plan),
                "goods_prices": _float_list(trace.goods_prices) if has_prices else None,
                "resource_prices": _float_list(trace.resource_prices) if has_prices else None,
                "infeasibility": float(trace.infeasibility[-1]),
                "steps": int(trace.steps),
                "status": result.status,
                "optimal_welfare": float(result.optimal_welfare),
                "gap": _num(trace.gap[-1]),
                "residual": _num(trace.residual[-1]),
                "messages_down": int(trace.messages_down.sum()),
                "messages_up": int(trace.messages_up.sum()),
            }
        )
        return 0 if result.status == "converged" else 1
    rows = [
        ("procedure", procedure.name + (f" ({procedure.rule} rule)" if hasattr(procedure, "rule") else "")),
        ("status", result.status),
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


def cmd_sample(args) -> int:
    import jax

    from .economies import dumps_economy, sample, save_economy
    from .economies.sampling import _range

    if args.n < 1 or args.m < 1:
        raise JplanInputError("--n and --m must be at least 1")
    rho = _parse_range(args.rho, "--rho")
    if min(_range(rho)) <= 0:
        raise JplanInputError("--rho must be > 0")
    if not 0.0 <= args.density <= 1.0:
        raise JplanInputError("--density must be between 0 and 1")
    economy = sample(jax.random.PRNGKey(args.seed), args.n, args.m, returns_to_scale=rho, density=args.density)
    if args.out:
        out = Path(args.out)
        if not out.parent.exists():
            raise JplanInputError(f"{out.parent}: directory does not exist")
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
    if len(parts) == 1:
        return parts[0]
    if len(parts) != 2 or parts[0] > parts[1]:
        raise JplanInputError(f"{flag}: expected a number or LOW:HIGH with LOW <= HIGH, got {text!r}")
    return (parts[0], parts[1])


def cmd_study(args) -> int:
    from .study import load_config, run_study

    config = load_config(args.config or DEFAULT_STUDY)
    run_study(config, out=args.out, fresh=args.fresh, progress=not args.quiet, echo=print)
    return 0


def cmd_sensitivity(args) -> int:
    from .economies import load_economy
    from .sensitivity import optimum_sensitivities

    economy, labels = load_economy(args.file)
    sens = optimum_sensitivities(economy)
    if args.plot:
        from .sensitivity import plot_jacobians

        plot_jacobians(sens, labels, args.plot)
    if args.json:
        _print_json(sens.to_json())
        return 0
    print(sens.to_text(labels))
    if args.plot:
        print(f"\nheatmaps written to {args.plot}")
    return 0


# -- parser ------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jplan",
        description="Decentralised economic planning procedures in JAX: optima, procedures, Monte Carlo studies.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("optimum", help="the exact centralised optimum of an economy file")
    p.add_argument("file", help="economy TOML file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_optimum)

    p = sub.add_parser("solve", help="run a planning procedure on an economy file")
    p.add_argument("file", help="economy TOML file")
    p.add_argument("--procedure", required=True, choices=["arrow-hurwicz", "malinvaud", "heal"])
    p.add_argument("--steps", type=int, default=None, help="step limit (default: per procedure)")
    p.add_argument("--step-size", type=float, default=None, help="initial step size (AH, Heal)")
    p.add_argument("--rule", default=None, help="Arrow–Hurwicz price rule: adaptive, multiplicative, additive")
    p.add_argument("--tolerance", type=float, default=None, help="stopping tolerance on the procedure's residual")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("sample", help="write a random economy as TOML")
    p.add_argument("--n", type=int, default=5, help="number of goods (default 5)")
    p.add_argument("--m", type=int, default=2, help="number of resources (default 2)")
    p.add_argument("--rho", default="0.9", help="returns to scale, a number or LOW:HIGH (default 0.9)")
    p.add_argument("--density", type=float, default=1.0, help="share of intermediate-input links (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="file to write (default: stdout)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("study", help="Monte Carlo comparison of the procedures (the main job)")
    p.add_argument("config", nargs="?", default=None, help="study TOML file or a bundled name (default: default)")
    p.add_argument("--out", default=None, help="output folder (default: results/<study name>)")
    p.add_argument("--fresh", action="store_true", help="discard finished chunks instead of resuming")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("sensitivity", help="gradients of the optimum with respect to every parameter")
    p.add_argument("file", help="economy TOML file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", default=None, metavar="PNG", help="write heatmaps of the Jacobians to this file")
    p.set_defaults(func=cmd_sensitivity)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ._x64 import enable_x64

    enable_x64()
    try:
        return args.func(args)
    except JplanInputError as exc:
        print(f"jplan: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jplan: interrupted (finished chunks are kept; run the same command again to resume)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `jplan ... | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
