"""Compiled programs kept across runs: the lowered program on disk (`jax.export`) beside JAX's compilation cache.

JAX's persistent compilation cache (`jplan._x64.enable_compilation_cache`) skips XLA's compiling on a second
run, but not the tracing and lowering that come before it: in a warm default study those were 11.5 of 14 s
of its programs' start-up (2026-12-06). `compiled` keeps the lowered program itself (`jax.export`, serialised
with flatbuffers), so a second run deserialises it in milliseconds and the compilation cache supplies the
machine code; the program is the same StableHLO either way (the first run calls it through the same
`Exported`), so results are identical.

A stored program is found by a hash of everything that could change it: the caller's key (which names the
function and its static options), the arguments' tree structure (static fields included), shapes and dtypes,
the versions of jax, jaxlib and equinox, the float64 flag, the device, and the bytes of every source file of
the `jplan` package. Code from outside the package (a user's procedure or technology class in the arguments'
structure) is not covered by that hash, so such calls are not stored (`storable`). The folder is trusted like
the compilation cache (private, mode 0700; see `enable_compilation_cache`). Anything that fails here (no
cache folder, an unserialisable program, a truncated file) falls back to plain `jax.jit`: it only saves time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Callable

import jax

__all__ = ["compiled", "storable", "store_folder"]

_SUBFOLDER = "jplan-exported"
_PROGRAMS: dict = {}  # this process's compiled programs, stored or not, by the identity that names the files


def store_folder() -> Path | None:
    """Where lowered programs are kept: a subfolder of the compilation cache in use, or None (cache off)."""
    folder = jax.config.jax_compilation_cache_dir
    return Path(folder) / _SUBFOLDER if folder else None


@functools.lru_cache(maxsize=1)
def _environment() -> str:
    """The versions, flags and package sources a stored program depends on (hashed once per process)."""
    import equinox
    import jaxlib

    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".json") and path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    device = jax.devices()[0]
    return "|".join([jax.__version__, jaxlib.__version__, equinox.__version__, str(jax.config.jax_enable_x64),
                     device.platform, getattr(device, "device_kind", ""), digest.hexdigest()])


def _node_types(treedef) -> list[type]:
    data = treedef.node_data()
    types = [data[0]] if data else []
    for child in treedef.children():
        types += _node_types(child)
    return types


def storable(treedef, *objects: Any) -> bool:
    """Whether a program over arguments of this structure (and built from these objects, e.g. the procedure)
    is covered by the package's source hash: every class involved is jplan's or a builtin."""
    types = _node_types(treedef) + [type(o) for o in objects]
    return all(t.__module__ == "builtins" or t.__module__.split(".")[0] == "jplan" for t in types)


def compiled(key: tuple, fn: Callable, args: tuple, *, objects: tuple = ()) -> Callable[..., Any]:
    """`jax.jit(fn)` compiled for `args` (a tuple of pytrees of arrays), returned as a function of arguments of
    the same structure; its lowered program is stored and reused across runs (see the module docstring).
    `key` names `fn` and every static option it closes over (a repr-stable tuple); `objects` are the Python
    objects `fn` is built from whose classes must be jplan's for the program to be stored."""
    leaves, treedef = jax.tree_util.tree_flatten(args)
    avals = [jax.ShapeDtypeStruct(x.shape, x.dtype) for x in leaves]
    ident = hashlib.sha256(repr((key, str(treedef), [(a.shape, str(a.dtype)) for a in avals],
                                 _environment())).encode()).hexdigest()
    if ident not in _PROGRAMS:  # each program compiled once per process, stored or not
        fn = _named(fn, key)
        folder = store_folder()
        if folder is None or not storable(treedef, *objects):
            _PROGRAMS[ident] = jax.jit(fn).lower(*args).compile()
        else:
            _PROGRAMS[ident] = _compile_stored(folder / (ident + ".bin"), fn, args, treedef, avals)
    return _PROGRAMS[ident]


def _named(fn: Callable, key: tuple) -> Callable:
    """`fn` under a name made of its key's short words (e.g. `study_chunk_heal`), so that compile logs,
    `jax.monitoring` events, XLA dumps and profiles say which program is which."""
    words = [re.sub(r"\W+", "_", str(k)).strip("_") for k in key if isinstance(k, (str, int)) and len(str(k)) <= 24]
    return _renamed(fn, "_".join(w for w in words if w) or "program")


def _renamed(fn: Callable, name: str) -> Callable:
    def program(*args):
        return fn(*args)

    program.__name__ = program.__qualname__ = name
    return program


def _compile_stored(path: Path, fn: Callable, args: tuple, treedef, avals) -> Callable[..., Any]:
    leaves = jax.tree_util.tree_leaves(args)
    try:
        stored = _load(path)
        if stored is None:
            structure = {}

            def flat(*xs):
                out = fn(*jax.tree_util.tree_unflatten(treedef, xs))
                structure["code"], structure["treedef"] = _encode(out), jax.tree_util.tree_structure(out)
                return jax.tree_util.tree_leaves(out)

            flat.__name__ = flat.__qualname__ = fn.__name__
            exported = jax.export.export(jax.jit(flat))(*avals)
            code, out_treedef = structure["code"], structure["treedef"]
            if code is not None and _decode(code) == out_treedef:  # an output structure the codec rebuilds
                _save(path, exported.serialize(), json.dumps(code))
        else:
            exported, out_treedef = stored
        program = jax.jit(_renamed(exported.call, fn.__name__)).lower(*leaves).compile()
    except Exception:  # noqa: BLE001 - a program that cannot be exported or stored is compiled as usual
        return jax.jit(fn).lower(*args).compile()
    return lambda *a: jax.tree_util.tree_unflatten(out_treedef, program(*jax.tree_util.tree_leaves(a)))


# -- output structures: a JSON description of a pytree's nodes (its leaves left out), rebuilt as a treedef
def _encode(tree) -> Any:
    """The structure of an output pytree as JSON data: builtin containers, None, and jplan's equinox modules
    (their fields, static ones by value when they are strings, numbers or tuples of them); None where some
    node is none of these (the program is then not stored)."""
    import dataclasses

    import equinox as eqx

    if tree is None:
        return {"none": 0}
    if isinstance(tree, (list, tuple)) and type(tree) in (list, tuple):
        items = [_encode(x) for x in tree]
        return None if any(i is None for i in items) else {type(tree).__name__: items}
    if type(tree) is dict:
        if not all(isinstance(k, str) for k in tree):
            return None
        items = {k: _encode(v) for k, v in tree.items()}
        return None if any(i is None for i in items.values()) else {"dict": items}
    if isinstance(tree, eqx.Module):
        cls = type(tree)
        if cls.__module__.split(".")[0] != "jplan":
            return None
        fields = {}
        for f in dataclasses.fields(tree):
            value = getattr(tree, f.name)
            if f.metadata.get("static", False):
                if not _literal(value):
                    return None
                fields[f.name] = {"static": repr(value)}
            else:
                code = _encode(value)
                if code is None:
                    return None
                fields[f.name] = code
        return {"module": [cls.__module__, cls.__qualname__], "fields": fields}
    if hasattr(tree, "shape") and hasattr(tree, "dtype"):  # an array (a tracer while exporting)
        return {"leaf": 0}
    return None


def _literal(value) -> bool:
    if isinstance(value, tuple):
        return all(_literal(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def _decode(code):
    """The treedef `_encode` described (a stand-in object at every leaf)."""
    return jax.tree_util.tree_structure(_rebuild(code))


def _rebuild(code):
    if "module" in code:
        return _rebuild_module(code)
    (kind, body), = code.items()
    if kind == "none":
        return None
    if kind == "leaf":
        return 0.0
    if kind in ("list", "tuple"):
        items = [_rebuild(c) for c in body]
        return items if kind == "list" else tuple(items)
    return {k: _rebuild(c) for k, c in body.items()}  # "dict"


def _rebuild_module(code):
    import ast
    import importlib

    module, qualname = code["module"]
    if module.split(".")[0] != "jplan":
        raise ValueError(f"not a jplan class: {module}")
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    obj = object.__new__(cls)  # as equinox rebuilds a module from its fields
    for name, c in code["fields"].items():
        object.__setattr__(obj, name, ast.literal_eval(c["static"]) if "static" in c else _rebuild(c))
    return obj


def _load(path: Path):
    """(Exported, output treedef) from a stored program, or None (absent, truncated or foreign)."""
    try:
        blob, code = path.read_bytes(), path.with_suffix(".json").read_text()
        return jax.export.deserialize(bytearray(blob)), _decode(json.loads(code))
    except Exception:  # noqa: BLE001 - export again
        return None


def _save(path: Path, blob: bytes | bytearray, code: str) -> None:
    """Write both files atomically (the structure first: a reader that finds the program finds it too);
    failures are ignored."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        for target, data in ((path.with_suffix(".json"), code.encode()), (path, bytes(blob))):
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
    except OSError:
        pass
