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

__all__ = ["Sensitivities", "optimum_sensitivities", "welfare_gradient", "plan_jacobian", "plot_jacobians"]

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
    )


def plot_jacobians(sens: Sensitivities, labels: Labels, path: str) -> None:
    """Heatmaps of ∂c/∂R, ∂c/∂A, ∂q/∂R and ∂q/∂A written to a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("∂ consumption / ∂ endowments", sens.d_consumption["endowments"], labels.resources),
        ("∂ consumption / ∂ tfp", sens.d_consumption["tfp"], labels.goods),
        ("∂ output / ∂ endowments", sens.d_output["endowments"], labels.resources),
        ("∂ output / ∂ tfp", sens.d_output["tfp"], labels.goods),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.5))
    for ax, (title, mat, cols) in zip(axes, panels):
        lim = float(np.max(np.abs(mat))) or 1.0
        im = ax.imshow(mat, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set(title=title, xticks=range(len(cols)), yticks=range(len(labels.goods)))
        ax.set_xticklabels(cols, rotation=45, ha="right")
        ax.set_yticklabels(labels.goods)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    from ._files import atomic_write

    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"), suffix=".png")
    plt.close(fig)
