"""Shared by the benchmark scripts: print a markdown report and write it to `--out`."""

from __future__ import annotations

from pathlib import Path


def emit(lines: list[str], out: str | None) -> str:
    """Print the report (one markdown document from `lines`) and write it to `out` when given."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        Path(out).write_text(text)
    return text


def device_label() -> str:
    """The device JAX computes on, by name (e.g. 'cpu x1 (x86_64, 2 cores)' or 'NVIDIA H200 x1'), with jax's version."""
    import os
    import platform

    import jax

    d = jax.devices()[0]
    if d.platform == "cpu":
        name = f"cpu x{jax.device_count()} ({platform.machine()}, {os.cpu_count()} cores)"
    else:
        name = f"{d.device_kind} x{jax.device_count()} (host: {platform.machine()}, {os.cpu_count()} cores)"
    return f"{name}, jax {jax.__version__}"


def device_bounds(size_mb: int = 1024) -> tuple[float, float]:
    """(copy bandwidth in bytes/s counting read + write, float64 matrix-multiply rate in FLOP/s) of the device
    JAX computes on, measured with JAX (best of five copies of `size_mb` MB; of three 4096² products)."""
    import time

    import jax
    import jax.numpy as jnp

    def best(fn, arg, repeats):
        jax.block_until_ready(fn(arg))
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(arg))
            times.append(time.perf_counter() - t0)
        return min(times)

    x = jnp.ones(size_mb * 2**20 // 8, jnp.float64)
    copy = jax.jit(lambda a: a * 1.0000001)  # one read and one write of every element
    bandwidth = 2 * x.nbytes / best(copy, x, 5)
    k = 4096
    a = jnp.ones((k, k), jnp.float64)
    rate = 2 * k**3 / best(jax.jit(lambda m: m @ m), a, 3)
    return bandwidth, rate
