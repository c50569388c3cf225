"""Sensitivity of the optimal plan to the economy's parameters, by exact gradients.

The optimum of a Cobb–Douglas/log-welfare economy is the solution of its KKT conditions, which
`jplan.optimum` solves in closed form with two linear systems. Differentiating that solution is
implicit differentiation of the optimality conditions (JAX differentiates the linear solves through
their adjoint, with no unrolled iterations). The results obey the envelope theorem, ∂U*/∂R_j = s_j
(the resource's shadow price), which the tests check, along with central finite differences.

Gradients *through a procedure* (unrolled, optionally checkpointed) are `jax.grad` of `jplan.run`;
see `experiments/tune_step_size.py` for tuning a step size by gradient descent with optax.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass

import jax
import numpy as np

from .economies import Labels, ProductionEconomy
from .solvers import optimum
from .solvers.production import reference_function

__all__ = ["Sensitivities", "optimum_sensitivities", "welfare_gradient", "plan_jacobian", "plot_jacobians", "elasticities"]

PARAMETERS = ("endowments", "tfp", "welfare_weights", "returns_to_scale", "resource_shares", "input_shares")


def welfare_gradient(economy: ProductionEconomy) -> ProductionEconomy:
    """∂U*/∂(every parameter), as an economy-shaped pytree of gradients."""
    return _welfare_gradient(economy, reference_function(economy))


def plan_jacobian(economy: ProductionEconomy):
    """Jacobians of optimal consumption and output [n] with respect to every parameter (reverse mode)."""
    return _plan_jacobian(economy, reference_function(economy))


@functools.partial(jax.jit, static_argnums=1)
def _welfare_gradient(economy, opt):
    return jax.grad(lambda e: opt(e).welfare)(economy)


@functools.partial(jax.jit, static_argnums=1)
def _plan_jacobian(economy, opt):
    return jax.jacrev(lambda e: (opt(e).plan.consumption, opt(e).plan.output))(economy)


@dataclass(frozen=True)
class Sensitivities:
    """Gradients of the optimum of one economy (numpy arrays)."""

    welfare: float
    resource_prices: np.ndarray
    d_welfare: dict  # parameter -> array shaped like the parameter
    d_consumption: dict  # parameter -> [n, *parameter shape]
    d_output: dict
    consumption: np.ndarray
    endowments: np.ndarray
    output: np.ndarray | None = None
    tfp: np.ndarray | None = None

    @property
    def consumption_elasticities(self) -> np.ndarray:
        """∂log c_i/∂log R_j [n, m]."""
        with np.errstate(invalid="ignore", divide="ignore"):  # a zero consumption: reported as not finite
            return self.d_consumption["endowments"] * self.endowments[None, :] / self.consumption[:, None]

    def to_json(self) -> dict:
        out = {"welfare": self.welfare, "resource_shadow_prices": self.resource_prices.tolist()}
        for name in PARAMETERS:
            out[f"d_welfare_d_{name}"] = self.d_welfare[name].tolist()
        out["d_consumption_d_endowments"] = self.d_consumption["endowments"].tolist()
        out["d_consumption_d_tfp"] = self.d_consumption["tfp"].tolist()
        out["d_output_d_endowments"] = self.d_output["endowments"].tolist()
        out["d_output_d_tfp"] = self.d_output["tfp"].tolist()
        out["consumption_elasticities_endowments"] = self.consumption_elasticities.tolist()
        return out

    def to_text(self, labels: Labels) -> str:
        def vec(names, xs):
            return ", ".join(f"{n}={x:.6g}" for n, x in zip(names, xs))

        lines = [
            f"optimal welfare U* = {self.welfare:.10g}",
            "",
            "dU*/d endowments     " + vec(labels.resources, self.d_welfare["endowments"]),
            "  (shadow prices     " + vec(labels.resources, self.resource_prices) + ")",
            "dU*/d tfp            " + vec(labels.goods, self.d_welfare["tfp"]),
            "dU*/d weights        " + vec(labels.goods, self.d_welfare["welfare_weights"]),
            "dU*/d returns        " + vec(labels.goods, self.d_welfare["returns_to_scale"]),
            "",
            "elasticity of consumption (rows) with respect to endowments (columns):",
        ]
        width = max(len(n) for n in labels.goods)
        lines.append(" " * (width + 2) + "".join(f"{r:>14}" for r in labels.resources))
        for g, row in zip(labels.goods, self.consumption_elasticities):
            lines.append(f"{g:<{width}}  " + "".join(f"{x:>14.6g}" for x in row))
        lines.append("")
        lines.append("dU*/d resource_shares (rows: goods, columns: resources) and d input_shares are in --json.")
        return "\n".join(lines)


def optimum_sensitivities(economy: ProductionEconomy) -> Sensitivities:
    """Gradients of U* and Jacobians of the optimal plan with respect to every parameter group."""
    opt = optimum(economy)
    g = welfare_gradient(economy)
    jc, jq = plan_jacobian(economy)
    as_np = lambda tree: {k: np.asarray(getattr(tree, k)) for k in PARAMETERS}
    return Sensitivities(
        welfare=float(opt.welfare),
        resource_prices=np.asarray(opt.resource_prices),
        d_welfare=as_np(g),
        d_consumption=as_np(jc),
        d_output=as_np(jq),
        consumption=np.asarray(opt.plan.consumption),
        endowments=np.asarray(economy.endowments),
        output=np.asarray(opt.plan.output),
        tfp=np.asarray(economy.tfp),
    )


def elasticities(jacobian: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂log y_i/∂log x_j = (∂y_i/∂x_j) x_j / y_i: unit-free, so goods and resources measured in different
    units can share one colour scale (NaN where y_i = 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(y[:, None] != 0, jacobian * x[None, :] / y[:, None], np.nan)


def plot_jacobians(sens: Sensitivities, labels: Labels, path: str) -> None:
    """Heatmaps of the elasticities of optimal consumption and output with respect to endowments and tfp,
    with their values in the cells, written to a PNG file.

    A panel whose elasticities all have one sign uses a sequential colour map (darker = larger in
    magnitude); a panel with both signs a diverging one centred on 0.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output = sens.output if sens.output is not None else np.full_like(sens.consumption, np.nan)
    tfp = sens.tfp if sens.tfp is not None else np.full_like(sens.consumption, np.nan)
    panels = [
        ("consumption c w.r.t. endowments R", elasticities(sens.d_consumption["endowments"], sens.endowments, sens.consumption), labels.resources),
        ("consumption c w.r.t. tfp A", elasticities(sens.d_consumption["tfp"], tfp, sens.consumption), labels.goods),
        ("output q w.r.t. endowments R", elasticities(sens.d_output["endowments"], sens.endowments, output), labels.resources),
        ("output q w.r.t. tfp A", elasticities(sens.d_output["tfp"], tfp, output), labels.goods),
    ]
    n = len(labels.goods)
    widths = [max(len(cols), 1) + 1.5 for _, _, cols in panels]
    fig, axes = plt.subplots(1, 4, figsize=(min(3.2 + 0.55 * sum(widths), 30), 1.6 + 0.45 * max(n, 4)),
                             gridspec_kw={"width_ratios": widths})
    for ax, (title, mat, cols) in zip(axes, panels):
        finite = mat[np.isfinite(mat)]
        lim = float(np.max(np.abs(finite))) if finite.size and np.max(np.abs(finite)) > 0 else 1.0
        if finite.size and finite.min() >= 0:
            cmap, vmin, vmax = "Blues", 0.0, lim
        elif finite.size and finite.max() <= 0:
            cmap, vmin, vmax = "Reds_r", -lim, 0.0
        else:
            cmap, vmin, vmax = "RdBu_r", -lim, lim
        im = ax.imshow(mat, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
        ax.set_title(title.replace(" w.r.t. ", "\nw.r.t. "), fontsize=9)
        ax.set(xticks=range(len(cols)), yticks=range(n))
        ax.set_xticklabels(cols, rotation=45, ha="right", fontsize=8)
        ax.set_yticklabels(labels.goods, fontsize=8)
        if n * len(cols) <= 400:  # values in the cells while they stay legible
            for (i, j), v in np.ndenumerate(mat):
                shade = 0.0 if not np.isfinite(v) else abs(v) / lim
                ax.text(j, i, "—" if not np.isfinite(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if shade > 0.6 else "black")
        fig.colorbar(im, ax=ax, shrink=0.8, label="∂log y / ∂log x")
    fig.suptitle("Elasticities of the optimal plan, ∂log y / ∂log x (rows: goods; columns: the parameter)", fontsize=10)
    fig.tight_layout()
    from ._files import atomic_write

    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=130, format="png"), suffix=".png")
    plt.close(fig)
