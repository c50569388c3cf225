import os
import tempfile

import jax
import pytest

# Compiled programs persist between tests and the CLI subprocesses they start (which inherit this
# variable): the same programs are compiled again and again otherwise. The cache is keyed by the
# program itself, so a stale entry can never be used for changed code.
os.environ.setdefault("JPLAN_CACHE_DIR", os.path.join(tempfile.gettempdir(), "jplan-tests-jax-cache"))

from jplan._x64 import enable_compilation_cache  # noqa: E402

enable_compilation_cache()
jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)
