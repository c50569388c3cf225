"""Economy files: the TOML format (README, "Economy files"), read and written exactly, with one-line errors.

```toml
kind = "production"
# see README "Economy files" for the whole format; the optional additions are
#   [technology] family = "ces", elasticity = [σ_i] (> 0; 1 is Cobb–Douglas)
#   [technology] setup_cost = [κ_i] (>= 0, any family: q = A (g − κ)₊^ρ, a minimum efficient scale)
#   [technology] family = "leontief": fixed coefficients, q = A min_k x_k/s_k over the shares s > 0 (cost
#                shares at prices 1 as for the other families), returns_to_scale 1, no set-up cost
#   [welfare] family = "log" | "ces" (elasticity = η) | "stone-geary" (subsistence = [γ_k])
[resources]
names = ["labour", "land"]            # optional
endowments = [100.0, 40.0]            # R, > 0
[goods]
names = ["grain", "steel", "cloth"]   # optional
welfare_weights = [0.5, 0.2, 0.3]     # w, >= 0, not all 0
[technology]
family = "cobb-douglas"
tfp = [1.0, 1.2, 0.9]                 # A, > 0
returns_to_scale = [0.9, 0.9, 0.9]    # rho, > 0
resource_shares = [[0.6, 0.4], [0.5, 0.2], [0.6, 0.3]]             # n x m, >= 0
input_shares = [[0.0, 0.0, 0.0], [0.3, 0.0, 0.0], [0.0, 0.1, 0.0]] # n x n, row i = firm i
```
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..errors import EconomyFileError
from ._format import MAX_FILE_BYTES, _array, _fmt, _mat, _shape, _strs, _vec, parse_toml, read_toml  # noqa: F401
from .production import ProductionEconomy

__all__ = [
    "Labels",
    "from_arrays",
    "load_economy",
    "loads_economy",
    "dumps_economy",
    "save_economy",
    "read_toml",
    "welfare_family",
    "technology_family",
    "productivity_matrix",
    "SHARE_TOLERANCE",
]

SHARE_TOLERANCE = 1e-9

#: Magnitudes the float64 computations represent with room to spare; files outside are refused with one
#: line naming the field and the bound (a tfp of 1e-300 or a spectral radius of 0.999999 overflows the
#: optimum's closed form).
BOUNDS = {
    "resources.endowments": (1e-9, 1e12),
    "goods.welfare_weights": (0.0, 1e12),
    "technology.tfp": (1e-12, 1e12),
    "technology.returns_to_scale": (1e-3, 10.0),
}
#: Largest spectral radius of returns_to_scale * input_shares accepted (1 is the productivity limit).
MAX_SPECTRAL_RADIUS = 0.99
_TOP_KEYS = {"kind", "resources", "goods", "technology", "welfare"}
_SECTION_KEYS = {
    "resources": {"names", "endowments"},
    "goods": {"names", "welfare_weights"},
    "technology": {"family", "tfp", "returns_to_scale", "resource_shares", "input_shares", "elasticity", "setup_cost"},
}
_FAMILIES = ("cobb-douglas", "ces", "leontief")
WELFARE_FAMILIES = ("log", "ces", "stone-geary")
_WELFARE_KEYS = {"family", "elasticity", "subsistence"}
#: Elasticities (σ of technologies, η of welfare) accepted: wide enough for every study, narrow enough that
#: x^((σ−1)/σ) stays representable.
ELASTICITY_BOUNDS = (0.05, 20.0)


@dataclass(frozen=True)
class Labels:
    """Names of goods and resources, for printing; never part of the numerics."""

    goods: tuple[str, ...]
    resources: tuple[str, ...]

    @staticmethod
    def default(n: int, m: int) -> "Labels":
        return Labels(tuple(f"good{i + 1}" for i in range(n)), tuple(f"resource{j + 1}" for j in range(m)))


def from_arrays(
    *,
    endowments: Any,
    welfare_weights: Any,
    tfp: Any,
    returns_to_scale: Any,
    resource_shares: Any,
    input_shares: Any,
    elasticity: Any = None,
    welfare_elasticity: Any = None,
    subsistence: Any = None,
    setup_cost: Any = None,
    prefix: str = "",
) -> ProductionEconomy:
    """Validate raw arrays and build a `ProductionEconomy` (float64 when x64 is enabled).

    Raises:
        EconomyFileError: naming the first offending field, e.g.
            "technology.tfp: must be > 0 (entry 2 is -1.0)".
    """
    p = prefix
    R = _array(endowments, f"{p}resources.endowments", 1)
    w = _array(welfare_weights, f"{p}goods.welfare_weights", 1)
    n, m = w.shape[0], R.shape[0]
    A = _array(tfp, f"{p}technology.tfp", 1)
    rho = _array(returns_to_scale, f"{p}technology.returns_to_scale", 1)
    alpha = _array(resource_shares, f"{p}technology.resource_shares", 2)
    beta = _array(input_shares, f"{p}technology.input_shares", 2)
    _shape(A, f"{p}technology.tfp", (n,), "one per good")
    _shape(rho, f"{p}technology.returns_to_scale", (n,), "one per good")
    _shape(alpha, f"{p}technology.resource_shares", (n, m), "goods x resources")
    _shape(beta, f"{p}technology.input_shares", (n, n), "goods x goods")
    for arr, field in ((R, "resources.endowments"), (A, "technology.tfp"), (rho, "technology.returns_to_scale")):
        if np.any(arr <= 0):
            i = int(np.argmax(arr <= 0))
            raise EconomyFileError(f"{p}{field}: must be > 0 (entry {i + 1} is {arr[i].item()!r})")
    for arr, field in ((w, "goods.welfare_weights"), (alpha, "technology.resource_shares"), (beta, "technology.input_shares")):
        if np.any(arr < 0):
            idx = tuple(int(i) + 1 for i in np.unravel_index(np.argmax(arr < 0), arr.shape))
            raise EconomyFileError(f"{p}{field}: must be >= 0 (entry {list(idx)} is {float(arr[tuple(i - 1 for i in idx)]):g})")
    if not np.any(w > 0):
        raise EconomyFileError(f"{p}goods.welfare_weights: must not all be 0")
    for arr, field in ((R, "resources.endowments"), (w, "goods.welfare_weights"), (A, "technology.tfp"),
                       (rho, "technology.returns_to_scale")):
        lo, hi = BOUNDS[field]
        bad = ((arr < lo) & (arr != 0)) | (arr > hi) if lo == 0 else (arr < lo) | (arr > hi)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise EconomyFileError(f"{p}{field}: entry {i + 1} is {arr[i].item()!r}, outside the supported range [{lo:g}, {hi:g}]")
    sums = alpha.sum(axis=1) + beta.sum(axis=1)
    bad = np.abs(sums - 1.0) > SHARE_TOLERANCE
    if np.any(bad):
        i = int(np.argmax(bad))
        raise EconomyFileError(
            f"{p}technology: row {i + 1} of resource_shares plus row {i + 1} of input_shares sums to "
            f"{sums[i]!r}, not 1"
        )
    if np.any(alpha.sum(axis=1) <= 0):
        i = int(np.argmax(alpha.sum(axis=1) <= 0))
        raise EconomyFileError(f"{p}technology.resource_shares: row {i + 1} is all 0 (every firm needs a resource)")
    sigma = np.ones(n) if elasticity is None else _array(elasticity, f"{p}technology.elasticity", 1)
    _shape(sigma, f"{p}technology.elasticity", (n,), "one per good")
    eta = np.asarray(1.0) if welfare_elasticity is None else _array(welfare_elasticity, f"{p}welfare.elasticity", 0)
    gamma = np.zeros(n) if subsistence is None else _array(subsistence, f"{p}welfare.subsistence", 1)
    _shape(gamma, f"{p}welfare.subsistence", (n,), "one per good")
    lo, hi = ELASTICITY_BOUNDS
    for arr, field in ((sigma, "technology.elasticity"), (np.atleast_1d(eta), "welfare.elasticity")):
        bad = (arr < lo) | (arr > hi)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise EconomyFileError(f"{p}{field}: entry {i + 1} is {arr[i].item()!r}, outside the supported range [{lo:g}, {hi:g}] (must be > 0)")
    if np.any(gamma < 0) or np.any(gamma > BOUNDS["resources.endowments"][1]):
        i = int(np.argmax((gamma < 0) | (gamma > BOUNDS["resources.endowments"][1])))
        raise EconomyFileError(f"{p}welfare.subsistence: must be >= 0 and at most {BOUNDS['resources.endowments'][1]:g} (entry {i + 1} is {gamma[i].item()!r})")
    kappa = np.zeros(n) if setup_cost is None else _array(setup_cost, f"{p}technology.setup_cost", 1)
    _shape(kappa, f"{p}technology.setup_cost", (n,), "one per firm")
    if np.any(kappa < 0) or np.any(kappa > BOUNDS["resources.endowments"][1]):
        i = int(np.argmax((kappa < 0) | (kappa > BOUNDS["resources.endowments"][1])))
        raise EconomyFileError(f"{p}technology.setup_cost: must be >= 0 and at most {BOUNDS['resources.endowments'][1]:g} (entry {i + 1} is {kappa[i].item()!r})")
    general = np.any(sigma != 1.0) or eta != 1.0 or np.any(gamma > 0) or np.any(kappa > 0)
    if general and np.any(w <= 0):
        i = int(np.argmax(w <= 0))
        raise EconomyFileError(
            f"{p}goods.welfare_weights: entry {i + 1} is 0; CES technology, set-up costs, CES or Stone-Geary welfare need every weight > 0"
        )
    substitutes = sigma > 1.0
    if np.any(substitutes & (rho > 1.0) & (beta.sum(axis=1) > 0)):
        i = int(np.argmax(substitutes & (rho > 1.0) & (beta.sum(axis=1) > 0)))
        raise EconomyFileError(
            f"{p}technology: firm {i + 1} has elasticity > 1 with increasing returns and intermediate inputs, so "
            "it could grow its output without bound from intermediate goods alone"
        )
    radius = float(np.max(np.abs(np.linalg.eigvals(productivity_matrix(rho, beta, A, sigma)))))
    if radius >= 1.0:
        raise EconomyFileError(
            f"{p}technology: not productive, the spectral radius of returns_to_scale * input_shares is "
            f"{radius:.6g} >= 1 (output could grow without bound)"
        )
    if radius > MAX_SPECTRAL_RADIUS:
        raise EconomyFileError(
            f"{p}technology: the spectral radius of returns_to_scale * input_shares is {radius:.6g}, above the "
            f"supported {MAX_SPECTRAL_RADIUS} (the optimum would overflow float64)"
        )
    return ProductionEconomy(
        endowments=jnp.asarray(R),
        welfare_weights=jnp.asarray(w),
        tfp=jnp.asarray(A),
        returns_to_scale=jnp.asarray(rho),
        resource_shares=jnp.asarray(alpha),
        input_shares=jnp.asarray(beta),
        elasticity=jnp.asarray(sigma),
        welfare_elasticity=jnp.asarray(eta, dtype=jnp.asarray(A).dtype),
        subsistence=jnp.asarray(gamma),
        setup_cost=jnp.asarray(kappa),
    )


def productivity_matrix(rho, beta, tfp, sigma) -> np.ndarray:
    """The matrix whose spectral radius must stay below 1 for output to be bounded.

    Cobb–Douglas rows (σ = 1): ρ_i β_ik (the log-linear input–output matrix). Substitutes (σ > 1, which
    then needs ρ ≤ 1): A_i B_i^(1/θ_i − 1) β_ik with B_i = Σ_k β_ik, a bound on output from intermediate
    goods alone (by the power-mean inequality). Complements (σ < 1): 0, since every used input, resources
    included, is essential and bounds output.
    """
    rho, beta, tfp, sigma = map(np.asarray, (rho, beta, tfp, sigma))
    theta = np.where(sigma > 1.0, (sigma - 1.0) / np.where(sigma > 1.0, sigma, 2.0), 1.0)
    B = beta.sum(axis=1)
    sub = tfp * np.where(B > 0, B, 1.0) ** (1.0 / theta - 1.0)
    scale = np.where(sigma == 1.0, rho, np.where(sigma > 1.0, sub, 0.0))
    return scale[:, None] * beta


def _names(section: dict, field: str, count: int, default: tuple[str, ...]) -> tuple[str, ...]:
    if "names" not in section:
        return default
    names = section["names"]
    if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
        raise EconomyFileError(f"{field}.names: must be a list of strings")
    if len(names) != count:
        raise EconomyFileError(f"{field}.names: expected {count} names, got {len(names)}")
    return tuple(names)


def _economy_from_dict(doc: dict) -> tuple[ProductionEconomy, Labels]:
    kind = doc.get("kind")
    if kind is None:
        raise EconomyFileError('kind: missing (expected "production")')
    if kind == "rudra":
        raise EconomyFileError('kind: this is a "rudra" economy; use the `jplan rudra` commands (or jplan.economies.load_rudra)')
    if kind == "rudra-full":
        raise EconomyFileError('kind: this is a "rudra-full" economy; use `jplan rudra central` (or jplan.economies.load_rudra_full)')
    if kind != "production":
        raise EconomyFileError(f'kind: unknown kind {kind!r} (expected "production", "divisions", "rudra" or "rudra-full")')
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise EconomyFileError(f"{sorted(unknown)[0]}: unknown key")
    for section, keys in _SECTION_KEYS.items():
        if section not in doc:
            raise EconomyFileError(f"[{section}]: missing section")
        if not isinstance(doc[section], dict):
            raise EconomyFileError(f"{section}: must be a table")
        extra = set(doc[section]) - keys
        if extra:
            raise EconomyFileError(f"{section}.{sorted(extra)[0]}: unknown key")
        required = keys - {"names", "elasticity", "setup_cost"}
        missing = sorted(required - set(doc[section]))
        if missing:
            raise EconomyFileError(f"{section}.{missing[0]}: missing")
    tech = doc["technology"]
    if tech["family"] not in _FAMILIES:
        raise EconomyFileError(f"technology.family: unknown family {tech['family']!r} (known: {', '.join(_FAMILIES)})")
    if tech["family"] == "ces" and "elasticity" not in tech:
        raise EconomyFileError('technology.elasticity: missing (family "ces" needs one elasticity per firm)')
    if tech["family"] in ("cobb-douglas", "leontief") and "elasticity" in tech:
        raise EconomyFileError(f'technology.elasticity: only for family "ces" (not {tech["family"]!r})')
    if tech["family"] == "leontief":
        if "setup_cost" in tech:
            raise EconomyFileError('technology.setup_cost: not for family "leontief" (fixed coefficients, constant returns)')
        rts = np.atleast_1d(np.asarray(tech["returns_to_scale"], dtype=object))
        if not all(isinstance(r, (int, float)) and not isinstance(r, bool) and r == 1 for r in rts):
            raise EconomyFileError('technology.returns_to_scale: family "leontief" has constant returns (every entry 1)')
    welfare_elasticity, subsistence = _welfare_table(doc.get("welfare"))
    economy = from_arrays(
        elasticity=tech.get("elasticity"),
        setup_cost=tech.get("setup_cost"),
        welfare_elasticity=welfare_elasticity,
        subsistence=subsistence,
        endowments=doc["resources"]["endowments"],
        welfare_weights=doc["goods"]["welfare_weights"],
        tfp=tech["tfp"],
        returns_to_scale=tech["returns_to_scale"],
        resource_shares=tech["resource_shares"],
        input_shares=tech["input_shares"],
    )
    if tech["family"] == "leontief":
        economy = as_leontief(economy)
    default = Labels.default(economy.n, economy.m)
    labels = Labels(
        goods=_names(doc["goods"], "goods", economy.n, default.goods),
        resources=_names(doc["resources"], "resources", economy.m, default.resources),
    )
    return economy, labels


def _welfare_table(table) -> tuple[Any, Any]:
    """(η, γ) from an optional [welfare] table (None, None: log welfare)."""
    if table is None:
        return None, None
    if not isinstance(table, dict):
        raise EconomyFileError("welfare: must be a table")
    extra = set(table) - _WELFARE_KEYS
    if extra:
        raise EconomyFileError(f"welfare.{sorted(extra)[0]}: unknown key")
    family = table.get("family", "log")
    if family not in WELFARE_FAMILIES:
        raise EconomyFileError(f"welfare.family: unknown family {family!r} (known: {', '.join(WELFARE_FAMILIES)})")
    if family == "ces":
        if "elasticity" not in table:
            raise EconomyFileError('welfare.elasticity: missing (family "ces" needs an elasticity eta > 0)')
        if "subsistence" in table:
            raise EconomyFileError('welfare.subsistence: only for family "stone-geary"')
        return table["elasticity"], None
    if "elasticity" in table:
        raise EconomyFileError(f'welfare.elasticity: only for family "ces", not {family!r}')
    if family == "stone-geary":
        if "subsistence" not in table:
            raise EconomyFileError('welfare.subsistence: missing (family "stone-geary" needs one subsistence level per good)')
        return None, table["subsistence"]
    if "subsistence" in table:
        raise EconomyFileError('welfare.subsistence: only for family "stone-geary"')
    return None, None


def as_leontief(economy: ProductionEconomy) -> ProductionEconomy:
    """The economy with fixed-coefficients firms (`LeontiefTechnology`) using its shares as coefficients at
    its tfp: q = A min_k x_k/s_k, unit cost 1/A at prices 1 as for the Cobb–Douglas firm of the same shares.
    Raises `EconomyFileError` unless it is productive (spectral radius of the input coefficients below 1)."""
    from .technology import LeontiefTechnology, with_technology

    A = np.asarray(economy.input_shares) / np.asarray(economy.tfp)[:, None]
    radius = float(np.max(np.abs(np.linalg.eigvals(A))))
    if radius >= 1.0:
        raise EconomyFileError(f"technology: not productive, the spectral radius of the fixed input coefficients is {radius:.6g} >= 1")
    tech = LeontiefTechnology(resource_coefficients=economy.resource_shares, input_coefficients=economy.input_shares,
                              tfp=economy.tfp)
    return with_technology(economy, tech)


def loads_economy(text: str) -> tuple[ProductionEconomy, Labels]:
    """Parse an economy from TOML text. Returns the economy and its labels."""
    return _economy_from_dict(parse_toml(text))


def load_economy(path: str | os.PathLike) -> tuple[ProductionEconomy, Labels]:
    """Read and validate an economy file. Returns the economy and its labels.

    Raises:
        EconomyFileError: one line naming the file problem or the offending field.
    """
    doc = read_toml(path, "economy file")
    try:
        return _economy_from_dict(doc)
    except EconomyFileError as exc:
        raise EconomyFileError(f"{path}: {exc}") from None


def dumps_economy(economy: ProductionEconomy, labels: Labels | None = None) -> str:
    """The TOML text of an economy, in the file format above (floats round-trip exactly)."""
    labels = labels or Labels.default(economy.n, economy.m)
    tech_family = technology_family(economy)
    if economy.technology is not None and tech_family != "leontief":
        raise ValueError("dumps_economy: a user technology (with_technology) has no file format; save its parameters yourself")
    cd = tech_family != "ces"
    family = welfare_family(economy)
    welfare = {
        "log": [],
        "ces": ["[welfare]", 'family = "ces"', f"elasticity = {_fmt(float(economy.welfare_elasticity))}", ""],
        "stone-geary": ["[welfare]", 'family = "stone-geary"', f"subsistence = {_vec(economy.subsistence)}", ""],
    }[family]
    return "\n".join(
        [
            'kind = "production"',
            "",
            "[resources]",
            f"names = {_strs(labels.resources)}",
            f"endowments = {_vec(economy.endowments)}",
            "",
            "[goods]",
            f"names = {_strs(labels.goods)}",
            f"welfare_weights = {_vec(economy.welfare_weights)}",
            "",
            "[technology]",
            *([f'family = "{tech_family}"'] if cd else ['family = "ces"', f"elasticity = {_vec(economy.elasticity)}"]),
            f"tfp = {_vec(economy.tfp)}",
            f"returns_to_scale = {_vec(economy.returns_to_scale)}",
            f"resource_shares = {_mat(economy.resource_shares)}",
            f"input_shares = {_mat(economy.input_shares)}",
            *([f"setup_cost = {_vec(economy.setup_cost)}"] if bool(np.any(np.asarray(economy.setup_cost) > 0)) else []),
            "",
            *welfare,
        ]
    )


def welfare_family(economy: ProductionEconomy) -> str:
    """The welfare family of one (unbatched) economy: "log", "ces" or "stone-geary"."""
    if float(economy.welfare_elasticity) != 1.0:
        return "ces"
    return "stone-geary" if bool(np.any(np.asarray(economy.subsistence) > 0)) else "log"


def technology_family(economy: ProductionEconomy) -> str:
    """"leontief" for fixed-coefficients firms, "cobb-douglas" when every firm has elasticity 1, else "ces"."""
    from .technology import LeontiefTechnology

    if isinstance(economy.technology, LeontiefTechnology):
        return "leontief"
    return "cobb-douglas" if bool(np.all(np.asarray(economy.elasticity) == 1.0)) else "ces"


def save_economy(path: str | os.PathLike, economy: ProductionEconomy, labels: Labels | None = None) -> None:
    """Write an economy file atomically (a partial file is never left behind)."""
    from .._files import atomic_write_text

    atomic_write_text(path, dumps_economy(economy, labels))
