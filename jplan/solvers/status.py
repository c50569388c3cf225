"""Status codes of the reference optima (`jplan.optimum`), shared by every solver module."""

__all__ = ["OPTIMAL", "BEST_KNOWN", "NUMERICAL_FAILURE", "INFEASIBLE", "OPTIMUM_STATUS", "optimum_status_name"]

OPTIMAL, BEST_KNOWN, NUMERICAL_FAILURE, INFEASIBLE = 0, 1, 2, 3
OPTIMUM_STATUS = ("optimal", "best_known", "numerical_failure", "infeasible")


def optimum_status_name(code) -> str:
    """"optimal", "best_known", "numerical_failure" or "infeasible"."""
    return OPTIMUM_STATUS[int(code)]
