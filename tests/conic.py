"""An independent reference: the planning problem of any convex family as a conic program (CVXPY + Clarabel).

Every CES aggregate is written with explicit 3-D power cones (x^α y^(1−α) ≥ |z|), never with weights
raised to 1/θ (which overflow near σ = 1):

- θ ∈ (0, 1):  g(x) ≥ t  ⇔  Σ_l a_l u_l ≥ t,  x_l^θ t^(1−θ) ≥ u_l;
- θ < 0:       g(x) ≥ t  ⇔  Σ_l a_l u_l ≤ t,  u_l^(1/(1−θ)) x_l^(−θ/(1−θ)) ≥ t;
- θ = 0 (Cobb–Douglas): a chain of power cones for the weighted geometric mean.

Technology: q_i ≤ A_i g_i^ρ_i (ρ_i ≤ 1), i.e. g_i^ρ_i · 1^(1−ρ_i) ≥ q_i/A_i. Welfare: maximise Σ w log(c − γ)
(log, Stone–Geary: exponential cones) or log t with t ≤ the CES aggregate of c (CES welfare). Used by the
tests only; it assumes a convex economy (every ρ ≤ 1).
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np


def _hypograph(shares: np.ndarray, x, sigma: float, t) -> list:
    """Constraints saying t ≤ g(x), the degree-1 CES aggregate with weights `shares` (zero shares dropped)."""
    used = np.flatnonzero(shares > 0)
    a = shares[used]
    xs = [x[i] for i in used]
    k = len(used)
    if k == 1:
        return [t <= a[0] ** (1.0 if abs(sigma - 1) < 1e-12 else sigma / (sigma - 1.0)) * xs[0]]
    if abs(sigma - 1.0) < 1e-12:
        a = a / a.sum()
        cons, current, rest = [], t, 1.0
        for l in range(k - 1):
            weight = a[l] / rest
            y = cp.Variable(nonneg=True) if l < k - 2 else xs[-1]
            cons.append(cp.PowCone3D(xs[l], y, current, weight))
            current, rest = y, rest - a[l]
        return cons
    theta = (sigma - 1.0) / sigma
    u = cp.Variable(k, nonneg=True)
    if theta > 0:
        return [a @ u >= t] + [cp.PowCone3D(xs[l], t, u[l], theta) for l in range(k)]
    alpha = 1.0 / (1.0 - theta)
    return [a @ u <= t] + [cp.PowCone3D(u[l], xs[l], t, alpha) for l in range(k)]


def _technology(e):
    """Variables (r, v, c, q) and the constraints of every feasible plan of an unbatched convex economy."""
    R = np.asarray(e.endowments); w = np.asarray(e.welfare_weights); A = np.asarray(e.tfp)
    rho = np.asarray(e.returns_to_scale); alpha = np.asarray(e.resource_shares); beta = np.asarray(e.input_shares)
    sigma = np.asarray(e.elasticity)
    n, m = w.shape[0], R.shape[0]
    r = cp.Variable((n, m), nonneg=True); v = cp.Variable((n, n), nonneg=True)
    c = cp.Variable(n, nonneg=True); q = cp.Variable(n, nonneg=True); g = cp.Variable(n, nonneg=True)
    cons = [cp.sum(r, axis=0) <= R, c + cp.sum(v, axis=0) <= q]
    for i in range(n):
        x = cp.hstack([r[i], v[i]])
        cons += _hypograph(np.concatenate([alpha[i], beta[i]]), x, float(sigma[i]), g[i])
        if rho[i] == 1.0:
            cons.append(q[i] <= A[i] * g[i])
        else:
            cons.append(cp.PowCone3D(g[i], np.ones(()), q[i] / A[i], float(rho[i])))
    return c, q, cons


def _solve(prob):
    try:
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, max_iter=500)
    except cp.error.SolverError:
        try:
            prob.solve(solver=cp.CLARABEL, max_iter=500)
        except cp.error.SolverError:
            return False
    return True


def conic_reach(e, gamma) -> float:
    """max θ such that a feasible plan consumes θ·gamma (Clarabel), for `subsistence_reach`."""
    c, _, cons = _technology(e)
    theta = cp.Variable()
    prob = cp.Problem(cp.Maximize(theta), cons + [c >= theta * np.asarray(gamma)])
    return float(theta.value) if _solve(prob) and prob.status in ("optimal", "optimal_inaccurate") else float("nan")


def conic_optimum(e) -> dict:
    """Solve one unbatched convex economy (every ρ ≤ 1) with Clarabel; returns status, c and q."""
    w = np.asarray(e.welfare_weights); eta = float(e.welfare_elasticity); gamma = np.asarray(e.subsistence)
    c, q, cons = _technology(e)
    y = c - gamma
    if abs(eta - 1.0) < 1e-12:
        objective = cp.sum(cp.multiply(w, cp.log(y)))
    else:
        t = cp.Variable(nonneg=True)
        cons += [y >= 0] + _hypograph(w / w.sum(), y, eta, t)
        objective = cp.log(t)
    prob = cp.Problem(cp.Maximize(objective), cons)
    if not _solve(prob):
        return {"status": "solver_error", "c": None, "q": None}
    return {"status": prob.status, "c": np.asarray(c.value), "q": np.asarray(q.value),
            "solve_time": prob.solver_stats.solve_time}
