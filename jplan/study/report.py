"""Stage 5 of a study, rendering: the table, report.md and the figures (from the summary and the records).

Definitions used throughout (also written into report.md):

- gap: |U − U*| / Σw, the welfare distance to the exact optimum in log points of uniform consumption;
  in block-angular scenarios (`economy = "divisions"`), |V* − V|/max(1, |V*|) of the plan's value V.
- iterations to a tolerance: the first iteration from which the gap stays at or below it for the rest
  of the run (so a price procedure crossing the optimum's welfare on its way does not count).
- feasible at every iterate: largest relative excess demand ≤ 1e-9 at every iterate.
- monotone: welfare never falls by more than 1e-12 (relative) from one iterate to the next.
- messages per step: floats sent centre → agents (down) and agents → centre (up) per step, counted
  under the seed's conventions (a broadcast counts once; Arrow–Hurwicz's centre hears totals only).
- floats to a tolerance: all floats exchanged, opening rounds included, until the gap stays below it.
- time to a tolerance: median iterations to it × the measured wall time per economy-step (batched,
  compile excluded, opening rounds amortised over the step budget); from timings.json, machine-dependent.
- work per step: the centre's linear solves / the firms' responses computed (Lustosa's criterion 2), and
  the same work in one unit, floating-point operations of the centre / of the firms (`jplan.procedures.work`).
- failed: share of runs whose procedure could not form a start or a step (e.g. no cost-covering start
  price for Malinvaud, a start below subsistence for Heal); they count as not reaching any tolerance.
- per-step rates (floats, work) are medians over the runs that took at least one step.
- gap after k iterations: Lustosa's criterion (b), how close the first few iterations get.
- reference: share of economies whose reference optimum is certified (`optimal`) rather than the best
  plan found (`best_known`, non-convex economies).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._files import atomic_write, atomic_write_text
from ..procedures.base import OUT_OF_DOMAIN, STATUS_NAMES
from .config import StudyConfig
from .measures import EARLY, iterations_to

__all__ = ["write_report", "gap_quantiles", "LEGEND"]

#: What the table's columns mean (written under the table in report.md; the README quotes it).
LEGEND = """*gap*: the welfare distance to the reference optimum in log points of uniform consumption (above
subsistence, for Stone–Geary; 1e-2 ≈ 1% of every good), one meaning for every welfare family; in
block-angular scenarios, |V* − V|/max(1, |V*|) of the plan's value against the exact LP optimum. *runs*:
in domain / all (and the share whose reference is the best plan found rather than a certified optimum,
non-convex). *failed*: share of runs whose procedure could not form a start (no cost-covering start
price for Malinvaud, a start left below subsistence for Heal) or a step. *conv.*: stopped by the
procedure's own tolerance. *feas.* / *mono.*: share feasible at every iterate / never losing welfare.
*gap@k*: median gap after k iterations (Lustosa's criterion (b)). *it→tol*: median iterations until the
gap stays ≤ tol (share of runs that got there). *floats→1e-4*: all floats exchanged until then, opening
rounds included. *ms→1e-4*: it→1e-4 × µs/econ-step. *floats/step*: down/up per step under the seed's
conventions (a broadcast counts once; Arrow–Hurwicz's centre hears anonymous totals). *work/step c/f*:
the centre's linear solves / the firms' responses computed per step (Lustosa's criterion 2). *flops/step
c/f*: the same work in one unit, the centre's / the firms' floating-point operations per step (closed-form
counts of the centre's algorithm; XLA's cost analysis of one firm's response × the firms;
`jplan.procedures.work`).
*µs/econ-step*: wall time per economy per step, batched, compile excluded (machine-dependent, from
timings.json). Per-step rates are medians over runs that took at least one step."""


def _fmt(x, spec=".2e") -> str:
    return "—" if x is None else format(x, spec)


def _table(summary: dict, timings: dict) -> str:
    header = ["scenario", "procedure", "runs", "failed", "conv.", "feas.", "mono.", "gap@5", "gap@10", "gap@50",
              "final gap", "it→1e-2", "it→1e-4", "it→1e-6", "floats→1e-4", "ms→1e-4", "floats/step ↓/↑",
              "work/step c/f", "flops/step c/f", "µs/econ-step"]
    rows = []
    for sc, procs in summary["scenarios"].items():
        for p, s in procs.items():
            if "reach" not in s:
                rows.append([sc, p, "out of domain"] + ["—"] * (len(header) - 3))
                continue
            r = s["reach"]
            it = lambda t: "—" if r[t]["iterations_median"] is None else f"{r[t]['iterations_median']:.0f} ({r[t]['fraction_reached']:.0%})"
            mps = s["messages_per_step"]
            ref = s["reference"]
            runs = f"{s['in_domain']}/{s['runs']}" + ("" if ref["best_known"] == 0 else f" ({ref['best_known']:.0%} best-known)")
            us = _per_step_us(timings, sc, p)
            iters = r["1e-4"]["iterations_median"]
            ms = None if us is None or iters is None else iters * us / 1e3
            rows.append([
                sc, p, runs, f"{s['fraction_failed']:.0%}", f"{s['fraction_converged']:.0%}",
                f"{s['fraction_feasible_every_iterate']:.0%}", f"{s['fraction_monotone']:.0%}",
                *[_fmt(s["gap_after"][str(k)], ".1e") for k in EARLY], _fmt(s["final_gap"]["median"], ".1e"),
                it("1e-2"), it("1e-4"), it("1e-6"), _fmt(r["1e-4"]["messages_median"], ".3g"), _fmt(ms, ".2g"),
                f"{_fmt(mps['down'], '.0f')}/{_fmt(mps['up'], '.0f')}",
                f"{_fmt(s['solves_per_step'], '.0f')}/{_fmt(s['firm_work_per_step'], '.0f')}",
                f"{_fmt(s['centre_flops_per_step'], '.2g')}/{_fmt(s['firm_flops_per_step'], '.2g')}",
                _fmt(us, ".2f"),
            ])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def _per_step_us(timings: dict, scenario: str, procedure: str) -> float | None:
    seconds = timings.get(f"{scenario}/{procedure}", {}).get("wall_seconds_per_economy_step")
    return None if seconds is None else seconds * 1e6


def gap_quantiles(gap: np.ndarray):
    """(25%, median, 75%) of the gap at every iteration over the in-domain runs `gap` [runs, iterations] —
    the curve and band of `gap_vs_iteration.png` (a stopped run's final gap is carried forward; runs that
    failed at the start have none). None where no run has a gap."""
    gap = np.maximum(gap, 1e-16)
    gap = np.where(np.isfinite(gap), gap, np.nan)
    if np.all(np.isnan(gap)):
        return None
    return column_quantiles(gap, (0.25, 0.5, 0.75))


def column_quantiles(x: np.ndarray, qs) -> np.ndarray:
    """`np.nanquantile(x, qs, axis=0)` (linear interpolation, NaN ignored; NaN where a column has no
    number), vectorised: NumPy's own falls back to one call per column when NaNs are present (85,000 calls,
    most of the time of re-summarising the default study)."""
    s = np.sort(x, axis=0)  # NaN last
    count = np.sum(~np.isnan(x), axis=0)
    out = []
    for q in qs:
        pos = q * np.maximum(count - 1, 0)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, np.maximum(count - 1, 0))
        frac = pos - lo
        a = np.take_along_axis(s, lo[None], axis=0)[0]
        b = np.take_along_axis(s, hi[None], axis=0)[0]
        out.append(np.where(count > 0, a + frac * (b - a), np.nan))
    return np.stack(out)


#: The y-axis label of each kind of gap (the two are different quantities: never one label for both).
GAP_LABELS = {"production": "welfare gap (log points)", "divisions": "objective gap |V* − V|/max(1, |V*|)"}


def _gap_label(sc) -> str:
    return GAP_LABELS["divisions" if sc.kind == "divisions" else "production"]


def _not_drawn(rec: dict) -> str | None:
    """Why a procedure has no curve in a scenario's panel (None: it has one): every run out of its domain,
    or no run with a gap (every run failed or diverged at the start)."""
    status = np.asarray(rec["status"])
    total = status.size
    ood = int(np.sum(status == OUT_OF_DOMAIN))
    if ood == total:
        return f"out of domain ({ood}/{total})"
    gap = np.asarray(rec["gap"])[status != OUT_OF_DOMAIN]
    if not np.any(np.isfinite(gap)):
        return f"no gap recorded ({STATUS_NAMES[int(np.bincount(status).argmax())]}, {total - ood}/{total} in domain)"
    return None


def _plots(config: StudyConfig, records: dict, out: Path, manifest: dict | None = None) -> list[str]:
    """The study's three figures. Every procedure of a scenario is accounted for in its panel: a curve, or
    a note in the panel saying why there is none (out of domain, no gap); one legend per figure, outside
    the panels. `manifest`, if given, is filled with {figure: {scenario: {"drawn": [...], "noted": [...]}}}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .._plotting import procedure_style

    k = len(config.scenarios)
    files = []
    manifest = {} if manifest is None else manifest

    def panels(ax, sc, figure):
        """(procedure, its in-domain runs) to draw; the others are noted in the panel."""
        drawn, noted = [], []
        for p in sc.procedures:
            rec = records[(sc.name, p)]
            why = _not_drawn(rec)
            if why is not None:
                noted.append(f"{p}: {why}")
                continue
            ok = rec["status"] != OUT_OF_DOMAIN
            drawn.append(p)
            yield p, {key: rec[key][ok] for key in ("gap", "messages_down", "messages_up")}
        if noted:
            ax.text(0.02, 0.02, "not drawn:\n" + "\n".join(noted), transform=ax.transAxes, fontsize="x-small",
                    va="bottom", ha="left", color="0.25", bbox=dict(boxstyle="round", fc="white", ec="0.7", alpha=0.9))
        manifest.setdefault(figure, {})[sc.name] = {"drawn": drawn, "noted": [n.split(":")[0] for n in noted]}

    def save(fig, axes, name):
        """One legend for the figure, below the panels (never over a curve), with every procedure drawn."""
        handles = {}
        for ax in axes:
            for h, label in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(label.split(" (")[0], h)
        if handles:
            fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=min(len(handles), 5),
                       fontsize="small", frameon=False)
        legend_rows = -(-len(handles) // 5) if handles else 0
        fig.tight_layout(rect=(0, (0.1 + 0.3 * legend_rows) / fig.get_figheight(), 1, 1))  # inches kept for the legend
        atomic_write(out / name, lambda tmp: fig.savefig(tmp, dpi=110, format="png"), suffix=".png")
        plt.close(fig)
        files.append(name)

    def grid(title):
        cols = min(k, 4)
        rows = -(-k // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.8 * rows + 0.6), squeeze=False)
        fig.suptitle(title)
        for ax in axes.ravel()[k:]:
            ax.set_visible(False)
        return fig, axes.ravel()[:k]

    # 1. median gap vs iteration with interquartile bands
    fig, axes = grid("Gap to the reference optimum (median and 25–75% band over runs that started)")
    for ax, sc in zip(axes, config.scenarios):
        for p, runs in panels(ax, sc, "gap_vs_iteration.png"):
            lo, med, hi = gap_quantiles(runs["gap"])
            t = np.arange(runs["gap"].shape[1]) + 1
            ax.plot(t, med, label=p, **procedure_style(p))
            ax.fill_between(t, lo, hi, color=procedure_style(p)["color"], alpha=0.2)
        ax.set(xscale="log", yscale="log", xlabel="iteration + 1", ylabel=_gap_label(sc), title=f"{sc.name} ({sc.label})")
        ax.grid(True, which="major", alpha=0.3)
    save(fig, axes, "gap_vs_iteration.png")

    # 2. gap vs messages exchanged
    fig, axes = grid("Gap vs floats exchanged (median and 25–75% band over runs, at the median run's cumulative floats)")
    for ax, sc in zip(axes, config.scenarios):
        for p, runs in panels(ax, sc, "gap_vs_messages.png"):
            msgs = np.cumsum(runs["messages_down"] + runs["messages_up"], axis=1)
            gap = np.where(np.isfinite(runs["gap"]), runs["gap"], np.nan)
            lo, med, hi = np.maximum(column_quantiles(gap, (0.25, 0.5, 0.75)), 1e-16)
            x = np.median(msgs, axis=0)
            ax.plot(x, med, label=p, **procedure_style(p))
            ax.fill_between(x, lo, hi, color=procedure_style(p)["color"], alpha=0.2)
        ax.set(xscale="log", yscale="log", xlabel="floats exchanged (down + up, cumulative)", ylabel=_gap_label(sc),
               title=f"{sc.name} ({sc.label})")
        ax.grid(True, alpha=0.3)
    save(fig, axes, "gap_vs_messages.png")

    # 3. share of runs within 1e-4 by iteration (an empirical distribution function: its height at the
    #    right edge is the share that ever got there, so failures stay visible instead of being dropped)
    fig, axes = grid("Share of runs whose gap stays ≤ 1e-4 from iteration k on (all in-domain runs; a curve ending below 1: the rest never got there)")
    for ax, sc in zip(axes, config.scenarios):
        for p, runs in panels(ax, sc, "iterations_to_tolerance.png"):
            gap = np.where(np.isfinite(runs["gap"]), runs["gap"], np.inf)
            it = iterations_to(gap, 1e-4)
            reached = np.sort(it[np.isfinite(it)]) + 1
            total = len(it)
            k_max = gap.shape[1]
            x = np.concatenate([[1], reached, [k_max]])
            y = np.concatenate([[0], np.arange(1, reached.size + 1), [reached.size]]) / total
            ax.step(x, y, where="post", label=p, **procedure_style(p))
            ax.annotate(f"{reached.size}/{total}", (x[-1], y[-1]), fontsize="x-small", color=procedure_style(p)["color"],
                        xytext=(-2, 2), textcoords="offset points", ha="right")
        ax.set(xscale="log", ylim=(-0.02, 1.02), xlabel="iteration + 1",
               ylabel=f"share within 1e-4 ({'objective' if sc.kind == 'divisions' else 'welfare'} gap)",
               title=f"{sc.name} ({sc.label})")
        ax.grid(True, alpha=0.3)
    save(fig, axes, "iterations_to_tolerance.png")
    return files


def write_report(config: StudyConfig, out: Path, summary: dict, timings: dict, records: dict) -> str:
    """report.md with the table, its legend and the figures (if the config asks for them); returns the table."""
    table = _table(summary, timings)
    figures = _plots(config, records, out) if config.plots else []
    report = [
        f"# Study `{config.name}`",
        "",
        config.description,
        "",
        f"{config.economies_label} random economies per scenario (seed {config.seed}); every procedure runs on the same economies.",
        "",
        table,
        "",
        LEGEND,
        "",
        *[f"![{f}]({f})" for f in figures],
        "",
    ]
    atomic_write_text(out / "report.md", "\n".join(report))
    return table
