"""A price rule learned by gradient (beyond the seeds): Arrow–Hurwicz's messages, a centre rule trained with optax.

The messages are Arrow–Hurwicz's (prices broadcast, the firms' anonymous totals up). The centre moves each log
price by

    Δ_k = η e^{a·tanh(g₁)} e_k + β_max σ(g₂) Δ_k⁻,     (g₁, g₂) = g_θ(e_k, e_k⁻, Δ_k⁻),

with e_k = (D_k − S_k)/(D_k + S_k) the relative excess demand it computes from the totals, e_k⁻ and Δ_k⁻ the same
quantities one round earlier (its own memory), η the multiplicative rule's step and g_θ a small multilayer
perceptron (3 → 16 → 16 → 2, tanh), the *same* for every good and resource: a learned per-good step size (within
a factor e^{±a} of η) and a learned momentum (σ the logistic function, β_max = 0.95). So the rule sees only what
the centre sees (the privacy tests run it with every technology field NaN), it is permutation-equivariant across
goods, it applies to economies of any size, and a balanced market stays put (Δ = 0 where e = 0 and Δ⁻ = 0: the
optimum's prices are a fixed point whatever θ is).

The parameters (θ, log η, and a = `amplitude`) are trained by `jplan.learn.train_rule`: gradient descent (Adam,
optax) on the mean log welfare gap over the first K rounds, differentiated through `run` over batches of
random economies; `python experiments/learned_rule.py` is the one command that trains, stores the parameters
in `learned_rule.json` (next to this module; `LearnedTatonnement()` loads them) and evaluates on held-out
economies and on families and sizes not seen in training (README, "Procedures learned by gradient").

Domain: Arrow–Hurwicz's (strictly decreasing returns, no set-up cost).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ..economies.production import Plan, ProductionEconomy
from .arrow_hurwicz import ArrowHurwicz
from .base import Messages

__all__ = ["LearnedTatonnement", "RuleNetwork", "load_rule", "save_rule"]

WIDTH = 16
FEATURES = 3
MAX_MOMENTUM = 0.95


class RuleNetwork(eqx.Module):
    """g_θ: (e, e⁻, Δ⁻) → (g₁, g₂), per good (arrays only, so it jits, vmaps and differentiates)."""

    w1: Array
    b1: Array
    w2: Array
    b2: Array
    w3: Array
    b3: Array

    @staticmethod
    def initial(key, dtype=jnp.float64) -> "RuleNetwork":
        """Small random weights (the rule then starts as the multiplicative one)."""
        k1, k2, k3 = jax.random.split(key, 3)
        init = lambda k, shape: 0.3 * jax.random.normal(k, shape, dtype) / jnp.sqrt(shape[0])
        return RuleNetwork(init(k1, (FEATURES, WIDTH)), jnp.zeros((WIDTH,), dtype), init(k2, (WIDTH, WIDTH)),
                           jnp.zeros((WIDTH,), dtype), 0.1 * init(k3, (WIDTH, 2)), jnp.zeros((2,), dtype))

    def __call__(self, features: Array) -> Array:
        h = jnp.tanh(features @ self.w1 + self.b1)
        h = jnp.tanh(h @ self.w2 + self.b2)
        return h @ self.w3 + self.b3


def _rule_file():
    return resources.files("jplan.procedures").joinpath("learned_rule.json")


def save_rule(path, network: RuleNetwork, log_step: Array, amplitude: Array, meta: dict) -> None:
    """Write the trained parameters as JSON (names → nested lists) with what produced them."""
    data = {name: jnp.asarray(getattr(network, name)).tolist() for name in ("w1", "b1", "w2", "b2", "w3", "b3")}
    data.update(log_step=float(log_step), amplitude=float(amplitude), trained_by=meta)
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")


def load_rule(path=None):
    """(network, log η, amplitude) from a JSON file written by `save_rule` (default: the shipped one)."""
    text = (_rule_file().read_text() if path is None else open(path).read())
    data = json.loads(text)
    dtype = jnp.result_type(float)
    net = RuleNetwork(*(jnp.asarray(data[k], dtype) for k in ("w1", "b1", "w2", "b2", "w3", "b3")))
    return net, jnp.asarray(data["log_step"], dtype), jnp.asarray(data["amplitude"], dtype)


class LearnedState(eqx.Module):
    goods_prices: Array
    resource_prices: Array
    plan: Plan
    dual: Array
    previous_excess: Array  # e⁻ [n + m]
    previous_move: Array  # Δ⁻ [n + m]


def _shipped(index: int):
    return lambda: load_rule()[index]


class LearnedTatonnement(ArrowHurwicz):
    """The learned price rule (see the module docstring). Messages per step as Arrow–Hurwicz's.

    Attributes:
        network: g_θ (default: the shipped trained parameters).
        log_step: log η.
        amplitude: a, the bound on the learned part of a move.
        tolerance: stop when the largest relative excess demand |D − S|/(D + S) is below this.
    """

    name: ClassVar[str] = "learned-tatonnement"
    network: RuleNetwork = eqx.field(default_factory=_shipped(0))
    log_step: Array = eqx.field(default_factory=_shipped(1), converter=jnp.asarray)
    amplitude: Array = eqx.field(default_factory=_shipped(2), converter=jnp.asarray)
    rule: str = eqx.field(default="multiplicative", static=True)

    totals = None  # its state keeps the plan: `run` observes every step

    def init(self, economy: ProductionEconomy):
        p, s = self.start_prices(economy)
        plan, (dual, *_), msgs = self._respond(economy, p, s)
        zeros = jnp.zeros((economy.n + economy.m,), p.dtype)
        return LearnedState(p, s, plan, dual, zeros, zeros), msgs

    def observe(self, economy: ProductionEconomy, state: LearnedState):
        return self._observe_kept_plan(economy, state)

    def move(self, e: Array, previous_excess: Array, previous_move: Array) -> Array:
        """Δ, the change of log prices, from the centre's own observations."""
        features = jnp.stack([e, previous_excess, previous_move], axis=-1)
        g = self.network(features)
        step = jnp.exp(self.log_step + self.amplitude * jnp.tanh(g[..., 0]))
        return step * e + MAX_MOMENTUM * jax.nn.sigmoid(g[..., 1]) * previous_move

    def step(self, economy: ProductionEconomy, state: LearnedState):
        n, m = economy.n, economy.m
        (e_goods, e_res), _ = self._relative_excess(economy, state.plan)
        e = jnp.concatenate([e_goods, e_res])
        delta = self.move(e, state.previous_excess, state.previous_move)
        p = state.goods_prices * jnp.exp(delta[:n])
        s = state.resource_prices * jnp.exp(delta[n:])
        plan, (dual, *_), msgs = self._respond(economy, p, s)
        # the centre's extra work: the network per price (2·(3·16 + 16·16 + 32) multiply–adds, 32 tanh, the move)
        msgs = msgs + Messages.of((), (), centre_flops=(2 * (FEATURES * WIDTH + WIDTH * WIDTH + 2 * WIDTH) + 2 * WIDTH + 12) * (n + m))
        return LearnedState(p, s, plan, dual, e, delta), msgs
