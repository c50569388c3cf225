"""A procedure of your own, from jplan's public API only: multiplicative price tâtonnement with
heavy-ball momentum (a user's variant for illustration, not Arrow and Hurwicz's rule).

    python examples/momentum_tatonnement.py     # registers it and runs it through a small study

The centre broadcasts prices; each firm answers with its profit-maximising plan (`firm_supply`); the
centre hears totals, computes relative excess demands e and moves log prices by a velocity
v ← βv + ηe. Registered, it joins `make_procedure`, `solve` and study configs by its name.
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

import jplan
from jplan.economies import Plan, consumer_demand
from jplan.procedures import Messages, Observation, firm_supply


@jplan.register_procedure(default_steps=2000)
class MomentumTatonnement(jplan.Procedure):
    name: ClassVar[str] = "momentum-tatonnement"
    step_size: jax.Array = eqx.field(default_factory=lambda: jnp.asarray(0.2), converter=jnp.asarray)
    momentum: jax.Array = eqx.field(default_factory=lambda: jnp.asarray(0.7), converter=jnp.asarray)
    tolerance: jax.Array = eqx.field(default_factory=lambda: jnp.asarray(1e-7), converter=jnp.asarray)

    def domain_violation(self, economy):  # firms maximise profit: decreasing returns only
        return jnp.any(economy.returns_to_scale >= 1.0)

    def respond(self, economy, log_prices):  # centre -> firms: prices; firms -> centre: totals
        n, prices = economy.n, jnp.exp(log_prices)
        q, r, v, _ = jax.vmap(firm_supply)(economy.firms, jnp.arange(n), jnp.broadcast_to(prices, (n, prices.size)))
        plan = Plan(consumption=consumer_demand(economy, prices[:n]), output=q, resource_use=r, intermediate_use=v)
        return plan, Messages.of(prices, (q, v.sum(0), r.sum(0)), firm_work=n)

    def excess(self, economy, plan):  # relative excess demand of goods, then resources, in [-1, 1]
        demand = jnp.concatenate([plan.consumption + plan.intermediate_use.sum(0), plan.resource_use.sum(0)])
        supply = jnp.concatenate([plan.output, economy.endowments])
        return (demand - supply) / (demand + supply)

    def init(self, economy):
        log_prices = jnp.zeros(economy.n + economy.m, economy.tfp.dtype)
        plan, msgs = self.respond(economy, log_prices)
        return (log_prices, jnp.zeros_like(log_prices), plan), msgs

    def step(self, economy, state):
        log_prices, velocity, plan = state
        velocity = self.momentum * velocity + self.step_size * self.excess(economy, plan)
        plan, msgs = self.respond(economy, log_prices + velocity)
        return (log_prices + velocity, velocity, plan), msgs

    def observe(self, economy, state):
        log_prices, _, plan = state
        return Observation(plan=plan, goods_prices=jnp.exp(log_prices[: economy.n]),
                           resource_prices=jnp.exp(log_prices[economy.n :]),
                           residual=jnp.max(jnp.abs(self.excess(economy, plan))), failed=jnp.asarray(False))


STUDY = """
name = "momentum"
batch = 32
chunk = 32
[[scenarios]]
name = "cd-decreasing"
n = 8
m = 2
returns_to_scale = [0.7, 0.95]
density = 0.7
procedures = ["momentum-tatonnement", "arrow-hurwicz-adaptive"]
[procedures.momentum-tatonnement]
steps = 1500
[procedures.arrow-hurwicz-adaptive]
steps = 1500
[outputs]
plots = false
traces = false
"""

if __name__ == "__main__":
    import sys
    import tempfile
    import tomllib

    from jplan.study import parse_config, run_study

    jplan.enable_x64()
    out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="jplan-momentum-")
    print(run_study(parse_config(tomllib.loads(STUDY)), out, progress=True).table)
