"""Reference optima: the exact centralised plans every procedure is measured against, and exact LPs.

`from jplan.solvers import linprog, optimal_value`; `jplan.optimum` (the function) is `jplan.solvers.optimum`.
The subpackage was `jplan.optimum` before 0.2, which made `import jplan.optimum.production` fail: the
top-level name is the function.
"""

from .divisions import DivisionsOptimum, divisions_optimum
from .lp import LP_STATUS, LPSolution, linprog, linprog_on_basis, lp_status_name, optimal_value
from .harmony import HARMONY_DEFAULTS, HARMONY_JAVA, HarmonyResult, TechnologyComplex, balance_plan
from .multiyear import MultiYearHarmony, MultiYearPlan, harmony_multiyear, multiyear_complex, multiyear_lp, solve_multiyear
from .production import OPTIMUM_STATUS, Optimum, closed_form, optimum, optimum_status_name
from .sparse import SparseSolution, labour_values, leontief_quantities

__all__ = ["DivisionsOptimum", "divisions_optimum", "LP_STATUS", "LPSolution", "OPTIMUM_STATUS", "Optimum", "closed_form", "linprog", "linprog_on_basis", "lp_status_name", "MultiYearPlan", "multiyear_lp", "solve_multiyear",
           "MultiYearHarmony", "harmony_multiyear", "multiyear_complex", "HARMONY_DEFAULTS", "HARMONY_JAVA", "HarmonyResult",
           "TechnologyComplex", "balance_plan", "optimal_value", "optimum", "optimum_status_name",
           "SparseSolution", "labour_values", "leontief_quantities"]
