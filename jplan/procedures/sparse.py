"""The sparse procedures, by their old address: Malinvaud's in `jplan.procedures.malinvaud_sparse`, Heal's
in `jplan.procedures.heal_sparse` (each beside its dense procedure). Kept so that code written against
`jplan.procedures.sparse` keeps working."""

from .heal_sparse import (SparseHealResult, SparseHealState, segment_project_simplex, sparse_firm_report, sparse_heal,
                          sparse_heal_proposal, sparse_heal_residual, sparse_heal_start, sparse_heal_step)
from .malinvaud_sparse import SparseMalinvaudResult, sparse_firm_coefficients, sparse_malinvaud

__all__ = ["sparse_firm_coefficients", "sparse_malinvaud", "SparseMalinvaudResult", "sparse_heal", "SparseHealResult",
           "SparseHealState", "sparse_heal_start", "sparse_heal_step", "sparse_heal_proposal", "sparse_heal_residual",
           "sparse_firm_report", "segment_project_simplex"]
