"""Reference optima: the exact centralised plans every procedure is measured against, and exact LPs.

`from jplan.optimum import linprog, optimal_value` (at the top level, `jplan.optimum` is the function).
"""

from .lp import LP_STATUS, LPSolution, linprog, lp_status_name, optimal_value
from .production import Optimum, optimum

__all__ = ["LP_STATUS", "LPSolution", "Optimum", "linprog", "lp_status_name", "optimal_value", "optimum"]
