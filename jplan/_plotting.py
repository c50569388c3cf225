"""One look for every figure jplan draws: a colour per procedure (Okabe–Ito, readable with colour-vision
deficiencies) and a line style that tells an author's rule (solid) from a variant (dashed)."""

from __future__ import annotations

#: Colours of the built-in procedures; a procedure's variant shares its family's hue in a lighter shade.
PROCEDURE_COLOURS = {
    "arrow-hurwicz": "#D55E00",           # vermillion
    "arrow-hurwicz-adaptive": "#E69F00",  # orange
    "participatory": "#6A3D9A",           # deep purple: councils and a facilitation board
    "admm": "#66A61E",                    # olive green: the proximal (modern) procedures
    "pdhg": "#A6D854",                    # light olive
    "learned-tatonnement": "#E7298A",     # magenta: a rule learned by gradient
    "accelerated-dual": "#B8860B",        # dark goldenrod: Arrow–Hurwicz's family, a modern rule
    "malinvaud": "#0072B2",               # blue
    "malinvaud-memory": "#882255",        # wine (Tol), near Dantzig–Wolfe: the nonlinear Dantzig–Wolfe
    "malinvaud-memory-centred": "#AA4499",  # purple (Tol)
    "heal": "#009E73",                    # bluish green
    "heal-proportional": "#56B4E9",       # sky blue
    "dantzig-wolfe": "#CC79A7",           # reddish purple
    "kornai-liptak": "#000000",           # black
    "kornai-liptak-subgradient": "#999999",  # grey
    "kornai-liptak-cutting-plane": "#555555",  # dark grey
}
_OTHERS = ("#F0E442", "#8C564B", "#17BECF", "#7F7F00")  # yellow, brown, cyan, olive
VARIANTS = frozenset({"arrow-hurwicz-adaptive", "heal-proportional", "kornai-liptak-subgradient", "kornai-liptak-cutting-plane",
                      "malinvaud-memory-centred"})


def procedure_style(name: str) -> dict:
    """Matplotlib keywords (color, linestyle) for a procedure, the same in every figure."""
    colour = PROCEDURE_COLOURS.get(name)
    if colour is None:  # a user's procedure: a stable colour from its name
        colour = _OTHERS[sum(map(ord, name)) % len(_OTHERS)]
    return {"color": colour, "linestyle": "--" if name in VARIANTS else "-"}
