"""Minimal reproduction of the hang that keeps LAPACK-backed solves out of jplan's procedures.

    python benchmarks/repro_lapack_hang.py            # runs the reproduction in a subprocess, 60 s limit

A `lax.scan` whose body solves with a matrix M and then with Mᵀ (M depending on the carry, as in
Malinvaud's step) hangs at 0% CPU on XLA CPU with jax/jaxlib 0.10.2 on a 2-core machine, at n = 32 and a
batch of 128 (n = 10 with batch 1024, one solve per step, or an M that does not change, all run). A
native backtrace (gdb) of the hung process shows the cause: jaxlib's LAPACK kernel (`lapack_dgetrf_ffi`
→ `LuDecomposition::Kernel` → `jax::ParallelBatchMap`) splits its batch over XLA's intra-op thread pool
and blocks a pool thread in `BlockingCounter::Wait` until the pieces finish. The two factorisations of
the step are independent, so the runtime starts both at once; on a two-thread pool both threads then
wait for pieces queued behind themselves, and nothing runs again (a thread-pool starvation deadlock).
jplan solves its systems with pure-JAX elimination instead (`jplan._linalg`), which has no custom call,
batches as ordinary array operations and runs unchanged on GPU.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    n, batch, steps = 32, 128, 20
    A = jax.random.uniform(jax.random.PRNGKey(0), (batch, n, n)) / n * 0.9
    def body(x, _):
        M = jnp.eye(n) - A * (1 + 0.01 * jnp.tanh(x))[..., None, :]
        y = jnp.linalg.solve(M, x[..., None])[..., 0]
        y = jnp.linalg.solve(jnp.swapaxes(M, -1, -2), y[..., None])[..., 0]
        return y / jnp.max(y, axis=-1, keepdims=True), None
    f = jax.jit(lambda b: jax.lax.scan(body, b, None, length=steps)[0])
    jax.block_until_ready(f(jnp.ones((batch, n))))
    print("finished")
    """
)


def main() -> int:
    try:
        out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        print("hung: no result after 60 s (the deadlock described in this script's docstring)")
        return 1
    print("finished: this jax/jaxlib and machine do not reproduce the hang" if "finished" in out.stdout
          else f"failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
