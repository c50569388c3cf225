"""float64 switch and the compile cache: results users read are computed in float64 on CPU.

Neither function imports JAX: where JAX is not imported yet they set the environment variables JAX reads
when it is (`JAX_ENABLE_X64`, `JAX_COMPILATION_CACHE_DIR`, ...), so that the command line's error paths,
which often end before any computation, do not pay for importing JAX.
"""

import os
import sys


def _set(option: str, value) -> None:
    """JAX's configuration option `option`: through `jax.config` once JAX is imported, else through the
    environment variable JAX reads at import (the option's name in capitals)."""
    if "jax" in sys.modules:
        sys.modules["jax"].config.update(option, value)
    else:
        os.environ[option.upper()] = str(value)


def enable_x64() -> None:
    """Turn on float64 for JAX (call before creating arrays)."""
    _set("jax_enable_x64", True)


def enable_compilation_cache() -> str | None:
    """Keep compiled programs on disk between runs (JAX's persistent cache): the `jplan` command does;
    call it once in a script or notebook to start the next session's programs without compiling them.

    The folder is `$JPLAN_CACHE_DIR`, else `$XDG_CACHE_HOME/jplan/jax`, else `~/.cache/jplan/jax`;
    `JPLAN_CACHE_DIR=off` turns the cache off. A cache that cannot be created is skipped silently (it only
    saves time). Returns the folder in use, or None.

    The cache holds compiled machine code that JAX loads by a key (a hash of the program, its options and
    the device), without checking what the file holds: whoever can write the folder can make jplan run
    their code, and swapped entries run the wrong program. It is therefore trusted like an installed
    package: jplan creates it private (mode 0700) and does not use a folder that other users can write.
    """
    from pathlib import Path

    folder = os.environ.get("JPLAN_CACHE_DIR")
    if folder == "off":
        return None
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = str(Path(base) / "jplan" / "jax")
    try:
        Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.stat(folder).st_mode & 0o022:  # group- or world-writable: not trusted with code
            return None
    except OSError:
        return None
    import warnings

    # two processes filling the cache at once can see each other's half-written entry; JAX then just
    # compiles again, so its warning is noise (and would break the CLI's one-line error contract)
    warnings.filterwarnings("ignore", message="Error (reading|writing) persistent compilation cache entry")
    _set("jax_compilation_cache_dir", folder)
    _set("jax_persistent_cache_min_compile_time_secs", 0.0)
    _set("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
