"""float64 switch: results users read are computed in float64 on CPU (DESIGN.md §6)."""

import jax


def enable_x64() -> None:
    """Turn on float64 for JAX (call before creating arrays)."""
    jax.config.update("jax_enable_x64", True)
