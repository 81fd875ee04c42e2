"""Figures of a run and of a sweep.

* :func:`quicklook_figure` / :func:`plot_run`: the quick look written by
  ``dotkmc run`` and ``dotkmc plot`` (described in docs/model.md, section 8).
* :func:`sweep_figure` / :func:`plot_sweep`: the typical linewidth across a sweep
  (``dotkmc plot`` on a sweep result).
* :func:`plot_loop`: the self-consistent loop.
"""
from __future__ import annotations

import itertools
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from .estimates import median_with_error  # noqa: E402

if TYPE_CHECKING:
    from .result import Result

E1 = float(np.exp(-1.0))
#: length of the trajectory window, in integrated correlation times of eps_i
WINDOW_CORRELATION_TIMES = 6.0
#: samples shown when the sampling interval is not finer than the correlation time
WINDOW_SAMPLES = 100


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Lay out, write as PNG atomically (temporary file + rename, creating the folder)
    and close a figure."""
    path = Path(path)
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        fig.savefig(tmp, dpi=110, format="png")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
        plt.close(fig)
    return path


def _parts(run: xr.Dataset | Result) -> tuple[xr.Dataset, Result | None]:
    """The Dataset of a run and its :class:`~analysis.result.Result`, if given one.
    (Duck-typed: this module does not import :mod:`analysis.result`, which keeps
    the import graph shallow.)"""
    return (run, None) if isinstance(run, xr.Dataset) else (run.ds, run)


def _units(gamma: float) -> tuple[str, str]:
    """Labels of the energy and time units. Energies and rates are numbers in the unit
    couplings.gamma is given in (docs/model.md), i.e. in units of gamma when gamma = 1."""
    if gamma == 1.0:
        return r"$\gamma$", r"$1/\gamma$"
    return rf"$\gamma/{gamma:g}$", rf"${gamma:g}/\gamma$"


def _fmt(x: float) -> str:
    return f"{x:.3g}" if np.isfinite(x) else "n/a"


def _rate_text(g1: np.ndarray, eu: str) -> str:
    lo, hi = float(np.min(g1)), float(np.max(g1))
    return rf"$\Gamma_1$ = {lo:.3g} {eu}" if lo == hi else rf"$\Gamma_1$ from {lo:.3g} to {hi:.3g} {eu}"


def _decay_panel(ax, ds: xr.Dataset, name: str, pick: np.ndarray, colors, ref: dict | None,
                 typical: float, tu: str) -> None:
    """Points with error bars for the picked probes, exact lines, the mean over all
    probes, the 1/e level and tau = 1/(typical rate)."""
    tau = ds["tau"].values
    for i, (c, p) in enumerate(zip(colors, pick)):
        ax.errorbar(tau, ds[name].values[p], yerr=ds[name + "_stderr"].values[p], fmt="o", ms=3.5,
                    color=c, elinewidth=0.9, zorder=3)
        if ref is not None:
            ax.plot(tau, ref[name][i], "-", color=c, lw=1.3, zorder=2)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(ds[name].values, axis=0) if ds.sizes["probe"] else np.full(tau.size, np.nan)
    ax.plot(tau, mean, "k--", lw=2, zorder=4)
    ax.axhline(E1, color="0.45", ls=":", lw=1.2)
    ax.text(tau[-1], E1, "1/e ", ha="right", va="bottom", fontsize=8, color="0.35")
    if np.isfinite(typical) and typical > 0:
        ax.axvline(1.0 / typical, color="C3", ls="-.", lw=1.2)
    ax.set_xscale("log")
    ax.set_xlabel(rf"$\tau$  [{tu}]")
    ax.set_ylim(min(-0.15, ax.get_ylim()[0]), 1.08)


def _own_rate_axis(ax, g1: np.ndarray) -> None:
    """A top axis in units of the own transition rate, Gamma1 tau, when Gamma1 is uniform."""
    if g1.size and np.all(g1 == g1[0]) and g1[0] > 0:
        r = float(g1[0])
        top = ax.secondary_xaxis("top", functions=(lambda t: t * r, lambda x: x / r))
        top.set_xlabel(r"$\Gamma_1\tau$", fontsize=9)
        top.tick_params(labelsize=8)


def _trajectory_panels(ax, axh, ds: xr.Dataset, model, eu: str, tu: str) -> None:
    """(a) a window of a few correlation times of eps_i(t) - eps0_i as steps;
    (b) beside it, the histogram of all stored samples against the exact stationary
    distribution (analysis/stationary.py)."""
    from .stationary import correlation_time, default_edges, shift_moments, stationary_bins

    t = ds["time"].values
    k = 0
    p = int(ds["traj_probe_index"].values[k])
    x = ds["energy"].values[k] - float(ds["static_energy"].values[p])
    row = model.probe_couplings(p)
    kind, M, n = model.kind, model.M, model.n_particles
    dt = float(t[1] - t[0])
    try:
        tau_c = correlation_time(row, kind, M, n)
        sigma = float(np.sqrt(shift_moments(row, kind, M, n)[1]))
    except ValueError:
        tau_c, sigma = float("nan"), float("nan")
    if np.isfinite(tau_c) and dt < tau_c:
        n_win = int(np.ceil(WINDOW_CORRELATION_TIMES * tau_c / dt)) + 1
        what = (rf"first {WINDOW_CORRELATION_TIMES:g} $\tau_c$ ($\tau_c$ = {tau_c:.3g} {tu}, "
                rf"exact integrated correlation time), sampled every $\Delta t$ = {dt:.3g} {tu}")
    else:
        n_win = WINDOW_SAMPLES
        why = (rf"$\Delta t$ = {dt:.3g} $\geq$ $\tau_c$ = {tau_c:.3g} {tu}" if np.isfinite(tau_c)
               else rf"$\Delta t$ = {dt:.3g} {tu}, $\tau_c$ unknown")
        what = f"first {WINDOW_SAMPLES} samples: sampling coarser than the correlation time ({why})"
    n_win = min(n_win, x.size)
    ax.step(t[:n_win], x[:n_win], where="post", lw=1.0, color="C0", label=r"$\epsilon_i(t)-\epsilon^0_i$")
    ax.axhline(0.0, color="0.6", lw=0.8)
    if np.isfinite(sigma):
        for s in (-sigma, sigma):
            ax.axhline(s, color="k", ls="--", lw=0.9, label=r"$\pm\sigma$ (exact)" if s > 0 else None)
    ax.set_xlim(t[0], t[n_win - 1])
    ax.set_xlabel(rf"$t$  [{tu}]")
    ax.set_ylabel(rf"$\epsilon_i(t)-\epsilon^0_i$  [{eu}]")
    n_traj = ds.sizes["traj_probe"]
    ax.set_title(f"level energy of probe {p} (dot {int(ds['probe_dot'].values[p])})"
                 + (f", 1 of {n_traj} recorded" if n_traj > 1 else "") + ":\n" + what, fontsize=9)
    ax.legend(fontsize=8, loc="upper right")

    # effective number of independent samples, for the number of bins
    span = float(t[-1] - t[0]) + dt
    n_eff = x.size if not np.isfinite(tau_c) or tau_c <= 0 else min(x.size, span / (2.0 * tau_c))
    bins = int(np.clip(np.sqrt(n_eff), 12, 40))
    exact_prob, note = None, None
    try:
        edges = default_edges(row, kind, M, n, bins, samples=x)
        exact_prob, _ = stationary_bins(row, kind, M, n, edges)
    except ValueError as exc:        # e.g. hop dots with too many configurations to enumerate
        edges = np.linspace(x.min() - 1e-9, x.max() + 1e-9, bins + 1)
        note = f"exact distribution not drawn ({exc})"
    width = np.diff(edges)
    counts, _ = np.histogram(x, edges)
    axh.stairs(counts / (x.size * width), edges, orientation="horizontal", fill=True, color="C0", alpha=0.35,
               label=f"all {x.size} samples")
    if exact_prob is not None:
        axh.stairs(exact_prob / width, edges, orientation="horizontal", color="k", lw=1.4,
                   label="exact stationary")
    axh.set_xlabel(f"probability density  [1/{eu}]")
    axh.set_ylabel(rf"$\epsilon_i-\epsilon^0_i$  [{eu}]")
    axh.tick_params(labelleft=False)
    axh.set_title("its stationary distribution", fontsize=9)
    axh.legend(fontsize=8, loc="upper right")
    lines = [rf"$\sigma$ exact = {sigma:.3g}", rf"$\sigma$ samples = {np.std(x):.3g}",
             rf"$\approx${n_eff:.3g} independent" if n_eff < x.size else f"{x.size} samples"]
    if note:
        lines.append(note)
    axh.text(0.97, 0.03, "\n".join(lines), transform=axh.transAxes, ha="right", va="bottom", fontsize=8)
    axh.set_ylim(edges[0], edges[-1])



def _line_panel(ax, ds: xr.Dataset, pick: np.ndarray, colors, ref: dict | None, model, eu: str, tu: str) -> None:
    """Line shapes (docs/model.md §4, Line shape): the picked probes' measured lines
    (points), their exact lines through the same tau grid and cut (lines), and the line
    of the probe-averaged Ramsey signal with its error bound (band)."""
    from simulator.lineshape import lines_on_grid

    omega = ds["omega"].values
    lines = ds["lineshape"].values
    tail = float(model.config["run"]["lineshape"]["tail"])
    exact = lines_on_grid(ds, ref["ramsey"] + 1j * ref["ramsey_imag"], pick, tail) if ref is not None else None
    for i, (c, p) in enumerate(zip(colors, pick)):
        ax.plot(omega, lines[p], "o", ms=1.6, color=c, alpha=0.6, zorder=3)
        if exact is not None:
            ax.plot(omega, exact[i], "-", color=c, lw=1.1, zorder=2)
    mean, bound = ds["lineshape_mean"].values, ds["lineshape_mean_error_bound"].values
    ax.fill_between(omega, mean - bound, mean + bound, color="0.6", alpha=0.4, lw=0, zorder=1)
    ax.plot(omega, mean, "k--", lw=1.8, zorder=4)
    ok = np.isfinite(mean)
    if ok.any() and np.nanmax(mean) > 0:
        # show where the mean line carries weight, not the whole resolvable axis
        big = omega[ok][mean[ok] > 0.02 * np.nanmax(mean)]
        half = 1.5 * float(np.max(np.abs(big))) if big.size else float(omega[-1])
        ax.set_xlim(-min(half, float(omega[-1])), min(half, float(omega[-1])))
    ax.set_xlabel(rf"$\omega$ (from $\epsilon^0_i$)  [{eu}]")
    ax.set_ylabel(rf"$S(\omega)$  [{tu}]")
    ax.set_title("line shape (Ramsey spectrum)", fontsize=10)
    handles = [Line2D([], [], color="0.3", marker="o", ls="none", ms=3, label="simulation, picked probes")]
    if ref is not None:
        handles.append(Line2D([], [], color="0.3", lw=1.1, label="exact, same tau grid and cut"))
    handles.append(Line2D([], [], color="k", ls="--", lw=1.8, label="line of the probe-mean signal ± bound"))
    ax.legend(handles=handles, fontsize=7, loc="upper right")

def quicklook_figure(run: xr.Dataset | Result, exact: bool = True, max_probes: int = 6) -> Figure:
    """The quick-look figure of one run (see docs/model.md, section 8).

    Top: Hahn echo and Ramsey decays of up to ``max_probes`` probes (points with
    batch-means error bars) against the exact product (lines, docs/exact.md), the
    mean over all probes, the 1/e level and tau = 1/(typical rate). Bottom: a
    window of a few correlation times of one recorded level-energy trajectory,
    the histogram of all its samples against the exact stationary
    distribution (:mod:`analysis.stationary`), and the line shapes (measured,
    exact through the same tau grid, and the line of the probe-mean signal).

    Parameters
    ----------
    run : a run result (``simulator.run`` or one member of a sweep), or its
        :class:`~analysis.result.Result` (whose model and exact references are reused).
    exact : draw the exact references.
    max_probes : probes drawn in the decay panels (evenly spread over the probe list).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import simulator

    ds, res = _parts(run)
    model = res.model if res is not None else simulator.model_from_dataset(ds)
    eu, tu = _units(float(model.config["couplings"]["gamma"]))
    g1 = ds["gamma1"].values
    P = ds.sizes["probe"]
    pick = np.unique(np.linspace(0, P - 1, min(P, max_probes)).round().astype(int)) if P else np.zeros(0, int)
    ref, note = None, None
    if exact and pick.size:
        from .compare import exact_signals

        try:
            ref = res.exact_for(pick) if res is not None else exact_signals(ds, model, probes=pick)
        except ValueError as exc:   # exact reference unavailable (hop with M > 8)
            note = f"exact curves not drawn: {exc}"
    g2, g2r = float(ds["gamma2_echo_typical"]), float(ds["gamma2_ramsey_typical"])

    traj = ds.sizes.get("traj_probe", 0) > 0 and ds.sizes.get("time", 0) >= 2
    has_line = "lineshape_mean" in ds and P > 0 and bool(np.isfinite(ds["lineshape_mean"].values).any())
    rows = 2 if (traj or has_line) else 1
    fig = plt.figure(figsize=(14, 9.6 if rows == 2 else 5.4), layout="constrained")
    gs = fig.add_gridspec(rows, 4, height_ratios=[1.2, 1] if rows == 2 else [1])
    ax_e = fig.add_subplot(gs[0, :2])
    ax_r = fig.add_subplot(gs[0, 2:])
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(pick.size, 1)))
    _decay_panel(ax_e, ds, "echo", pick, colors, ref, g2, tu)
    _decay_panel(ax_r, ds, "ramsey", pick, colors, ref, g2r, tu)
    ax_e.set_ylabel(r"Re $E_i(\tau)$  (Hahn echo)")
    ax_r.set_ylabel(r"Re $R_i(\tau)$  (Ramsey, $\epsilon^0_i\tau$ removed)")
    ax_e.set_title(rf"Hahn echo: typical $\Gamma_2$ = {_fmt(g2)} {eu} (median over {P} probes)", fontsize=10)
    ax_r.set_title(rf"Ramsey (free induction): typical $\Gamma_2^*$ = {_fmt(g2r)} {eu}", fontsize=10)
    for ax in (ax_e, ax_r):
        _own_rate_axis(ax, g1)
    grey = "0.3"
    style = [Line2D([], [], color=grey, marker="o", ls="none", ms=4, label=r"simulation ($\pm$1 s.e., batch means)")]
    if ref is not None:
        style.append(Line2D([], [], color=grey, lw=1.3, label="exact (independent fluctuators, same couplings)"))
    style += [Line2D([], [], color="k", ls="--", lw=2, label=f"simulation, mean over all {P} probes"),
              Line2D([], [], color="0.45", ls=":", lw=1.2, label="1/e (defines $\\Gamma_2 = 1/\\tau_{1/e}$)"),
              Line2D([], [], color="C3", ls="-.", lw=1.2,
                     label=r"$\tau = 1/\Gamma_2$ (typical; Ramsey panel: $1/\Gamma_2^*$)")]
    ax_e.legend(handles=style, fontsize=8, loc="lower left", title="markers and lines (both panels)",
                title_fontsize=8)
    g2p, g2rp = ds["gamma2_echo"].values, ds["gamma2_ramsey"].values
    probes = [Line2D([], [], color=c, marker="o", ms=4, lw=1.3,
                     label=rf"probe {p} (dot {int(ds['probe_dot'].values[p])}): $\Gamma_2$ = {_fmt(g2p[p])}, "
                           rf"$\Gamma_2^*$ = {_fmt(g2rp[p])}")
              for c, p in zip(colors, pick)]
    ax_r.legend(handles=probes, fontsize=7.5, loc="upper right", title="probes (same colours in both panels)",
                title_fontsize=8)
    if note:
        ax_r.text(0.02, 0.02, note, transform=ax_r.transAxes, fontsize=7, color="C3")
    if traj:
        ax_t = fig.add_subplot(gs[1, :2] if has_line else gs[1, :3])
        ax_h = fig.add_subplot(gs[1, 2] if has_line else gs[1, 3], sharey=ax_t)
        _trajectory_panels(ax_t, ax_h, ds, model, eu, tu)
    if has_line:
        _line_panel(fig.add_subplot(gs[1, 3]), ds, pick, colors, ref, model, eu, tu)
    n_part = f", n = {model.n_particles}" if model.kind == "hop" else ""
    where = f", {model.n_dots} random dots" if model.random else ""
    fig.suptitle(f"{model.kind} dynamics: d = {model.d}, L = {model.L}{where}, M = {model.M}{n_part}, "
                 f"{_rate_text(g1, eu)}, cutoff r$_c$ = {model.cutoff:.3g} — typical $\\Gamma_2$ = {_fmt(g2)} {eu} "
                 f"— {int(ds['n_events']):.3g} events over "
                 f"t = {float(ds.attrs.get('simulated_time', np.nan)):.3g} {tu}",
                 fontsize=11)
    return fig


def plot_run(run: xr.Dataset | Result, path: str | Path, exact: bool = True, max_probes: int = 6) -> Path:
    """Write the quick-look figure of a run (:func:`quicklook_figure`) as PNG; returns its path."""
    return save_figure(quicklook_figure(run, exact=exact, max_probes=max_probes), path)


#: swept keys whose values are energies or rates (labelled with the energy unit)
_ENERGY_KEYS = {"dynamics.gamma1", "dynamics.bath.gamma1", "couplings.gamma", "couplings.intra",
                "couplings.static_width"}


def _median_error(values: np.ndarray) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    return median_with_error(v) if v.size else (np.nan, np.nan)


def _spans_decades(v: np.ndarray) -> bool:
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v > 0) and v.max() >= 10 * v.min())


def sweep_figure(ds: xr.Dataset) -> Figure:
    """Typical Gamma2 (echo) across a sweep, against the first swept key.

    One line per combination of the other swept keys: the median of the per-probe
    Gamma2 over all probes of all realizations, with its bootstrap error; each
    realization's own typical Gamma2 as an open marker. Probes whose echo does not
    cross 1/e inside the tau grid have no Gamma2 and are left out (their number is
    stated). Log axes where the values span a decade or more.

    Parameters
    ----------
    ds : a combined sweep result (``dotkmc sweep``; see docs/sweeps.md).

    Returns
    -------
    matplotlib.figure.Figure
    """
    dims = ds.attrs["sweep_dims"].split()
    pdims = [d for d in dims if d != "realization"]
    has_real = "realization" in dims
    xdim = pdims[0] if pdims else "realization"
    others = pdims[1:]
    base = tomllib.loads(ds.attrs["config"])
    gamma = base.get("couplings", {}).get("gamma", 1.0)
    eu, _ = _units(float(gamma)) if "couplings__gamma" not in pdims else ("[unit of couplings.gamma]", "")
    xkey = xdim.replace("__", ".")
    xv = ds[xdim].values
    numeric = xv.dtype.kind in "iuf"
    xpos = xv.astype(float) if numeric else np.arange(xv.size, dtype=float)
    g = ds["gamma2_echo"]
    order = [xdim] + ([] if xdim == "realization" else (["realization"] if has_real else [])) + ["probe"]
    fig, ax = plt.subplots(figsize=(8.5, 5.6), layout="constrained")
    all_y = []
    combos = list(itertools.product(*(range(ds.sizes[o]) for o in others)))
    colors = plt.cm.tab10(np.arange(len(combos)) % 10)
    for c, combo in zip(colors, combos):
        sub = g.isel(dict(zip(others, combo))).transpose(*order, ...).values
        sub = sub.reshape(xv.size, -1, ds.sizes["probe"]) if xdim != "realization" else sub.reshape(xv.size, 1, -1)
        med = np.full(xv.size, np.nan)
        err = np.full(xv.size, np.nan)
        for i in range(xv.size):
            med[i], err[i] = _median_error(sub[i].ravel())
        # the legend's title names the keys, so one key needs only its value
        label = (str(ds[others[0]].values[combo[0]]) if len(others) == 1 else
                 ", ".join(f"{o.replace('__', '.')} = {ds[o].values[j]}" for o, j in zip(others, combo)) or None)
        by_real = xdim == "realization"             # realizations are not an ordered parameter: no line
        ax.errorbar(xpos, med, yerr=np.where(np.isfinite(err), err, 0.0), fmt="o" if by_real else "o-", color=c,
                    ms=5, capsize=3, label="one realization (median over its probes)" if by_real else label)
        if by_real:
            pooled, perr = _median_error(sub.ravel())
            if np.isfinite(pooled):
                ax.axhline(pooled, color=c, lw=1.2, label="all realizations pooled")
                if np.isfinite(perr):
                    ax.axhspan(pooled - perr, pooled + perr, color=c, alpha=0.15, label=r"$\pm$ bootstrap error")
            ax.set_xticks(xpos, [str(int(v)) for v in xv])
        all_y.append(med)
        if has_real and xdim != "realization" and sub.shape[1] > 1:
            for r in range(sub.shape[1]):
                per = np.array([np.median(v[np.isfinite(v)]) if np.isfinite(v).any() else np.nan
                                for v in sub[:, r, :]])
                ax.plot(xpos, per, "o", mfc="none", color=c, ms=4, alpha=0.6)
                all_y.append(per)
    # probes without a crossing, out of the probes of members that ran
    run = ds["member_failed"].values == 0
    probe_sizes = ds["member_sizes"].sel(member_dim="probe").values if "probe" in ds["member_dim"].values else None
    finite = np.sum(np.isfinite(g.values), axis=-1)
    total = int(np.sum(probe_sizes[run])) if probe_sizes is not None else int(np.sum(finite))
    missing = total - int(np.sum(finite[run]))
    handles, labels = ax.get_legend_handles_labels()
    if has_real and xdim != "realization" and ds.sizes["realization"] > 1:
        handles.append(Line2D([], [], color="0.3", marker="o", mfc="none", ls="none", ms=4))
        labels.append("one realization (its typical $\\Gamma_2$)")
    if xkey == "dynamics.gamma1" and numeric:
        xs = np.sort(xpos[xpos > 0])
        if xs.size:
            ax.plot(xs, xs, ":", color="0.4", lw=1.2)
            handles.append(Line2D([], [], color="0.4", ls=":", lw=1.2))
            labels.append(r"$\Gamma_2 = \Gamma_1$")
    if numeric and _spans_decades(xpos):
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(xpos, [str(v) for v in xv])
    y = np.concatenate(all_y) if all_y else np.zeros(0)
    if _spans_decades(y):
        ax.set_yscale("log")
    unit = f"  [{eu}]" if xkey in _ENERGY_KEYS and numeric else ""
    ax.set_xlabel(xkey + unit)
    ax.set_ylabel(rf"typical $\Gamma_2$ (echo)  [{eu}]")
    nreal = ds.sizes.get("realization", 1)
    title = (rf"sweep: typical $\Gamma_2$ (echo) against {xkey}" + f" ({int(ds.attrs.get('members', 0))} members)\n"
             + (rf"filled: median over the probes of all {nreal} realization(s), $\pm$ bootstrap error"
                if xdim != "realization" else r"points: median over each realization's probes, $\pm$ bootstrap error"))
    if int(ds.attrs.get("failed", 0)):
        title += f", {int(ds.attrs['failed'])} failed (not drawn)"
    if missing:
        title += f"; {missing} of {total} probes did not cross 1/e inside the $\\tau$ grid (left out)"
    ax.set_title(title, fontsize=9)
    if handles:
        ax.legend(handles, labels, fontsize=8, title=", ".join(o.replace("__", ".") for o in others) or None,
                  title_fontsize=8)
    return fig


def plot_sweep(ds: xr.Dataset, path: str | Path) -> Path:
    """Write :func:`sweep_figure` as PNG; returns its path."""
    return save_figure(sweep_figure(ds), path)


def plot_loop(hist: xr.Dataset, path: str | Path) -> Path:
    """Self-consistent loop: Gamma1 and Gamma2 against iteration (median over dots),
    and the final profiles against position."""
    path = Path(path)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    it = hist["iteration"].values
    for name, style in (("gamma1", "o-"), ("gamma2", "s-")):
        v = hist[name].values
        axes[0].plot(it, np.median(v, axis=1), style, label=f"median {name}")
    g1 = hist["gamma1"].values
    if np.ptp(g1[-1]) > 0:          # a profile: show how its slowest dot settled (the tail converges last)
        axes[0].plot(it, np.min(np.where(g1 > 0, g1, np.inf), axis=1), "^-", ms=3, label="smallest non-zero gamma1")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("iteration")
    axes[0].set_title(f"loop ({hist.attrs.get('law', '')}): {hist.attrs.get('status', '')}", fontsize=10)
    axes[0].legend()
    x = np.arange(hist.sizes["dot"])
    def positive(v):                # pinned dots (rate 0) are left out of the log plot
        return np.where(v > 0, v, np.nan)

    axes[1].semilogy(x, positive(hist["gamma1_next"].values[-1]), "o-", ms=3, label=r"$\Gamma_1$ (final)")
    axes[1].semilogy(x, positive(hist["gamma2"].values[-1]), "s-", ms=3, label=r"$\Gamma_2$ (last measured)")
    axes[1].set_xlabel("dot index")
    axes[1].legend()
    return save_figure(fig, path)
