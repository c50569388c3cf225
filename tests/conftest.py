import os
import tempfile

import jax
import pytest

# Compiled programs persist between tests and the CLI subprocesses they start (which inherit this
# variable): the same programs are compiled again and again otherwise. The cache is keyed by the
# program itself, so a stale entry can never be used for changed code.
os.environ.setdefault("JPLAN_CACHE_DIR", os.path.join(tempfile.gettempdir(), "jplan-tests-jax-cache"))
# The suite's time on a fresh machine is mostly XLA compiling ~190 large programs; LLVM's optimisation
# passes are a share of that which tests do not need (they check values, not speed; XLA CPU does not use
# fast math either way). Measured on test_run_loop.py from a cold cache: 168 s -> 143 s. Set before JAX
# starts its backend; subprocesses (the CLI tests) inherit it.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
                               " --xla_llvm_disable_expensive_passes=true").strip()

# On a GPU every process would otherwise reserve 75% of the device's memory at its first array, and the
# second test worker (and the CLI subprocesses) would fail to allocate; allocate on demand instead. No effect
# on a CPU. Set before JAX starts its backend.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

from jplan._x64 import enable_compilation_cache  # noqa: E402

enable_compilation_cache()
jax.config.update("jax_enable_x64", True)


@pytest.fixture(autouse=True, scope="module")
def _unload_compiled_programs():
    """Drop JAX's in-memory compiled programs after each test module. XLA's CPU runtime keeps three memory
    mappings per loaded executable; a worker that keeps every program of its share of the suite passed
    65,530 mappings (the usual vm.max_map_count) and aborted inside jaxlib, late in the run, when this
    session's tests were added. Programs the next module needs again come back from the persistent cache."""
    yield
    jax.clear_caches()


def pytest_report_header(config):
    """Say when this machine's mapping limit is low: XLA's CPU runtime keeps three memory mappings per loaded
    executable, a worker of this suite loads ~22,000, and past vm.max_map_count it segfaults inside jaxlib
    (`.ci/run` raises the limit where it may: `sysctl -w vm.max_map_count=262144`)."""
    try:
        limit = int(open("/proc/sys/vm/max_map_count").read())
    except (OSError, ValueError):
        return None
    if limit < 200_000:
        return f"note: vm.max_map_count = {limit}; if a test worker segfaults late in the run, raise it (sysctl -w vm.max_map_count=262144)"
    return None


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)
