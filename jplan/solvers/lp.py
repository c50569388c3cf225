"""Exact LPs: jplan's dense simplex (`linprog`, `linprog_on_basis`), batched and differentiable.

The solver lives in the numerical layer (`jplan._simplex`, beside `jplan._linalg`) so that the economy
samplers below the solvers can use it without an import reaching up; this is its public address.
"""

from .._simplex import (INFEASIBLE, ITERATION_LIMIT, LP_STATUS, NUMERICAL, OPTIMAL, UNBOUNDED, LPSolution, linprog,
                        linprog_on_basis, lp_status_name, optimal_value)

__all__ = ["LPSolution", "linprog", "linprog_on_basis", "optimal_value", "LP_STATUS", "lp_status_name", "OPTIMAL",
           "INFEASIBLE", "UNBOUNDED", "ITERATION_LIMIT", "NUMERICAL"]
