"""Every procedure on the US economy of 2021 (15 sectors, `examples/us_bea_2021_15.csv`, built by
`experiments/build_us_table.py` from BEA's supply and use tables): the README's table "Every procedure on
a real economy".

    python experiments/us_table.py [--skip-slow]

Three economies calibrated from the one table (`jplan.economies.calibrate_table`, Cobb–Douglas firms, log
welfare), because the procedures' domains differ and the table itself has constant returns:

- *one factor, constant returns*: value added as one primary factor — Malinvaud's (LSM) domain; its
  optimum *is* the table;
- *four factors, constant returns*: labour, surplus, imports and scrap as primary inputs — the table
  again, for the quantity-guided procedures;
- *four factors, returns 0.9*: every firm's returns lowered to 0.9 (tfp kept) — the price-guided
  procedures' domain (Arrow–Hurwicz needs decreasing returns); no longer the table.

For each (economy, procedure) in the procedure's domain it runs `jplan.procedures.solve` with the
procedure's default step budget (that of `jplan solve`) and prints status, steps, the welfare gap to the
reference optimum (log points of uniform consumption), messages and wall time. `--skip-slow` leaves out
`malinvaud-memory` (about 8 minutes on 2 CPU cores: its master grows with the proposals it keeps).
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

from jplan.economies.table import calibrate_table, read_table  # noqa: E402
from jplan.procedures import PROCEDURES, make_procedure, solve  # noqa: E402
from jplan.procedures.registry import load_plugins  # noqa: E402

ECONOMIES = (("one factor, returns 1", dict(single_factor=True)), ("four factors, returns 1", dict()),
             ("four factors, returns 0.9", dict(returns_to_scale=0.9)))
SLOW = ("malinvaud-memory",)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-slow", action="store_true", help=f"leave out {', '.join(SLOW)}")
    args = parser.parse_args(argv)
    load_plugins()
    table = read_table("us-bea-2021-15")
    rows = []
    for label, options in ECONOMIES:
        economy, _ = calibrate_table(table, **options)
        for name in PROCEDURES:
            procedure = make_procedure(name)
            if procedure.economy_kind != "production" or bool(procedure.domain_violation(economy)):
                continue
            if args.skip_slow and name in SLOW:
                continue
            t0 = time.perf_counter()
            result = solve(procedure, economy)
            trace = result.trace
            gap = float(trace.gap[-1])
            seconds = time.perf_counter() - t0
            messages = int(trace.messages_down.sum() + trace.messages_up.sum())
            rows.append((label, name, result.status, int(trace.steps), gap, messages, seconds))
            print(f"{label:26s} {name:26s} {result.status:14s} {int(trace.steps):6d} {gap:9.2e} {seconds:7.1f}s", flush=True)
    print()
    print("| economy | procedure | status | steps | welfare gap | messages | seconds |")
    print("|---|---|---|---|---|---|---|")
    for label, name, status, steps, gap, messages, seconds in rows:
        print(f"| {label} | {name} | {status} | {steps} | {gap:.1e} | {messages:,} | {seconds:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
