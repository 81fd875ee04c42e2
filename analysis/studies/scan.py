"""Study: Gamma2 from Gamma1 over a sweep, measured vs exact vs mean field (docs/results.md).

For each parameter point of a sweep (all swept keys except ``realization``):

* measured: the typical linewidth, the median over all probes of all
  realizations of the per-probe echo Gamma2 (censored values made explicit, see
  :func:`analysis.estimates.censored_gamma2`), with a bootstrap error;
* exact: the same median of the per-probe Gamma2 of the exact product
  (docs/exact.md), for the same couplings and rates (flip; hop with M <= 8);
* rule sum: the same median of the Appendix-B rule sum solved per probe with the
  couplings it saw (docs/meanfield.md; :func:`analysis.estimates.rule_sum_per_probe`);
* Eq. 12: n_tr Gamma1 log^d[gamma/(n_tr Gamma1)] with the real transition count.

For hop dynamics the rate of a neighbouring *level* in the rule sum is its mean
switching rate 2 n (M - n) Gamma1 / M (each event moves two levels), and the
probe's own term the same.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import xarray as xr

from ..bath import distance_from_bath, position_means
from ..estimates import median_with_error
from ..exact.telegraph import flip_frequency_autocorrelation
from ..meanfield.predictions import gamma2_eq12_config
from ..plots import plot_run, save_figure
from ..result import Result, as_result
from ..sweeps import is_sweep, parameter_points

__all__ = ["is_sweep", "parameter_points", "sweep_points", "point_row", "table_rows", "format_table",
           "fit_log_exponent", "plot_scaling", "plot_distributions", "frequency_autocorrelation",
           "plot_trajectory", "report", "bath_profile", "plot_bath_profile"]

#: (params, member results) of every parameter point of a sweep
Points = list[tuple[dict, list[Result]]]


def sweep_points(ds: xr.Dataset) -> Points:
    """Every parameter point of a sweep with its members wrapped as
    :class:`~analysis.result.Result` (each member's model is built at most once)."""
    return [(params, [Result(m) for m in members]) for params, members in parameter_points(ds)]




def point_row(params: dict, members: Sequence[xr.Dataset | Result], exact: bool = True, rule: bool = True) -> dict:
    """One row of the scan table: measured, exact, rule-sum and Eq. 12 linewidths
    at one parameter point (the module docstring defines them)."""
    meas, ex, rs, g1s = [], [], [], []
    model = None
    members = [as_result(m) for m in members]
    for m in members:
        model = m.model
        meas.append(m.gamma2_censored)
        g1s.append(model.gamma1[model.probe_dot])
        if exact and m.has_exact:
            ex.append(m.gamma2_exact)
        if rule:
            rs.append(m.rule_sum)
    row = dict(params)
    if model is None:
        return row | {"failed": True}
    med, err = median_with_error(np.concatenate(meas))
    g1 = float(np.median(np.concatenate(g1s)))
    gamma = model.config["couplings"]["gamma"]
    row.update(kind=model.kind, d=model.d, M=model.M, n_tr=model.n_tr, gamma1=g1, gamma=gamma,
               measured=med, measured_err=err, realizations=len(members),
               probes=int(sum(m.ds.sizes["probe"] for m in members)),
               eq12=float(gamma2_eq12_config(g1, model.n_tr, gamma, model.d)))
    row["exact"] = float(np.nanmedian(np.concatenate(ex))) if ex else np.nan
    row["rule_sum"] = float(np.median(np.concatenate(rs))) if rs else np.nan
    return row


def table_rows(ds: xr.Dataset, exact: bool = True, rule: bool = True, points: Points | None = None) -> list[dict]:
    """:func:`point_row` for every parameter point of a sweep (``points``: its
    :func:`sweep_points`, if already made)."""
    points = sweep_points(ds) if points is None else points
    return [point_row(p, ms, exact, rule) for p, ms in points]


def format_table(rows: list[dict]) -> str:
    """The scan table as text, one line per parameter point."""
    keys = [k for k in rows[0] if k not in ("kind", "d", "M", "n_tr", "gamma1", "gamma", "measured",
                                              "measured_err", "realizations", "probes", "eq12", "exact",
                                              "rule_sum", "failed")] if rows else []
    head = "".join(f"{k.split('.')[-1]:>12s}" for k in keys)
    head += f"{'kind':>6s}{'d':>3s}{'M':>3s}{'Gamma1':>11s}{'measured':>11s}{'+-':>9s}{'exact':>11s}" \
            f"{'rule sum':>11s}{'Eq. 12':>11s}{'(m-x)/err':>10s}"
    lines = [head]
    for r in rows:
        line = "".join(f"{str(r[k]):>12s}" if isinstance(r[k], str) else f"{r[k]:>12.4g}" for k in keys)
        if r.get("failed"):
            lines.append(line + "   (failed)")
            continue
        z = (r["measured"] - r["exact"]) / r["measured_err"] if r["measured_err"] > 0 else np.nan
        line += (f"{r['kind']:>6s}{r['d']:>3d}{r['M']:>3d}{r['gamma1']:>11.3g}{r['measured']:>11.4g}"
                 f"{r['measured_err']:>9.2g}{r['exact']:>11.4g}{r['rule_sum']:>11.4g}{r['eq12']:>11.4g}{z:>10.2f}")
        lines.append(line)
    return "\n".join(lines)


def fit_log_exponent(rows: list[dict], min_log: float = 2.0) -> dict[tuple[str, int], tuple[float, float, int]]:
    """Fit Gamma2/(n_tr Gamma1) = c * ell^p, ell = log(gamma/(n_tr Gamma1)), per (kind, d):
    least squares in log-log over points with ell >= min_log, weighted by the
    measured relative errors; returns {(kind, d): (p, p_err, n_points)}."""
    out = {}
    groups: dict = {}
    for r in rows:
        if r.get("failed"):
            continue
        groups.setdefault((r["kind"], r["d"]), []).append(r)
    for key, rs in groups.items():
        x = np.array([np.log(np.log(r["gamma"] / (r["n_tr"] * r["gamma1"]))) for r in rs
                      if np.log(r["gamma"] / (r["n_tr"] * r["gamma1"])) >= min_log])
        sel = [r for r in rs if np.log(r["gamma"] / (r["n_tr"] * r["gamma1"])) >= min_log]
        if len(sel) < 3:
            continue
        y = np.log([r["measured"] / (r["n_tr"] * r["gamma1"]) for r in sel])
        sy = np.array([max(r["measured_err"] / r["measured"], 1e-3) for r in sel])
        A = np.stack([np.ones_like(x), x], axis=1) / sy[:, None]
        coef, *_ = np.linalg.lstsq(A, y / sy, rcond=None)
        cov = np.linalg.inv(A.T @ A)
        resid = (y - (coef[0] + coef[1] * x)) / sy
        scale = max(1.0, float(np.sum(resid ** 2) / max(len(sel) - 2, 1)))   # inflate by reduced chi^2 if > 1
        out[key] = (float(coef[1]), float(np.sqrt(cov[1, 1] * scale)), len(sel))
    return out


def plot_scaling(rows: list[dict], path: str | Path) -> Path:
    """Gamma2/(n_tr Gamma1) against log(gamma/(n_tr Gamma1)), log-log, with slope-d lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(7, 5))
    markers = {1: "o", 2: "s", 3: "^"}
    colors = {"flip": "C0", "hop": "C3"}
    seen = set()
    for r in rows:
        if r.get("failed"):
            continue
        ell = np.log(r["gamma"] / (r["n_tr"] * r["gamma1"]))
        y = r["measured"] / (r["n_tr"] * r["gamma1"])
        lab = f"{r['kind']} d={r['d']} M={r['M']}"
        ax.errorbar(ell, y, yerr=r["measured_err"] / (r["n_tr"] * r["gamma1"]), fmt=markers[r["d"]],
                    color=colors[r["kind"]], mfc="none" if r["M"] == 2 else colors[r["kind"]], ms=6,
                    label=None if lab in seen else lab)
        seen.add(lab)
        if np.isfinite(r["exact"]):
            ax.plot(ell, r["exact"] / (r["n_tr"] * r["gamma1"]), "k.", ms=3)
        if np.isfinite(r["rule_sum"]):
            ax.plot(ell, r["rule_sum"] / (r["n_tr"] * r["gamma1"]), "x", color="gray", ms=4)
    ells = np.geomspace(1, 20, 50)
    for d in sorted({r["d"] for r in rows if not r.get("failed")}):
        ax.plot(ells, ells ** d, "--", color="gray", lw=0.8)
        ax.text(ells[-1], ells[-1] ** d, f" slope {d}", fontsize=8, va="center")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\ell = \log[\gamma/(n_{tr}\Gamma_1)]$")
    ax.set_ylabel(r"$\Gamma_2 / (n_{tr}\Gamma_1)$")
    ax.set_title("Eq. 12: measured (markers), exact product (black dots), rule sum (x)", fontsize=9)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_distributions(ds: xr.Dataset, path: str | Path, max_curves: int = 6, points: Points | None = None) -> Path:
    """Distribution of per-probe Gamma2 / typical Gamma2 for one dynamics (the first
    point's kind and M) at up to ``max_curves`` values of the other swept keys."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    points = [(p, ms) for p, ms in (sweep_points(ds) if points is None else points) if ms]
    if points:
        first = points[0][0]
        fixed = {k: v for k, v in first.items() if isinstance(v, str) or k == "lattice.levels"}
        points = [(p, ms) for p, ms in points if all(p.get(k) == v for k, v in fixed.items())]
        keep = np.unique(np.linspace(0, len(points) - 1, min(max_curves, len(points))).astype(int))
        points = [points[i] for i in keep]
    data = []
    for params, members in points:
        g = np.concatenate([m.gamma2_censored for m in members])
        g = g[np.isfinite(g) & (g > 0)]
        if g.size >= 5:
            label = ", ".join(f"{k.split('.')[-1]}={v:.0e}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
                              for k, v in params.items())
            data.append((label, np.log10(g / np.median(g))))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if data:
        lim = max(np.percentile(np.abs(x), 99.5) for _, x in data) * 1.2
        bins = np.linspace(-lim, lim, 40)
        for label, x in data:
            ax.hist(x, bins=bins.tolist(), histtype="step", density=True, label=label)
    ax.set_xlabel(r"$\log_{10}[\Gamma_2(i) / \Gamma_2^{typ}]$")
    ax.set_ylabel("density")
    ax.set_title("spread of the per-probe echo linewidths", fontsize=10)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def frequency_autocorrelation(energy: np.ndarray, dt: float, max_lag: int) -> np.ndarray:
    """<delta eps(t0 + k dt) delta eps(t0)> over t0 from one sampled trajectory."""
    x = energy - np.mean(energy)
    n = x.size
    return np.array([np.mean(x[: n - k] * x[k:]) for k in range(max_lag)])


def plot_trajectory(run: xr.Dataset | Result, path: str | Path) -> Path:
    """An energy trajectory and its frequency autocorrelation against the exact
    form (flip: sum_j (U_j/2)^2 exp(-2 Gamma1_j t))."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = as_result(run)
    run = res.ds
    path = Path(path)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    t = run["time"].values
    e = run["energy"].values[0]
    axes[0].step(t, e, where="post", lw=0.7)
    axes[0].set_xlabel(r"$t$ [1/$\gamma$]")
    axes[0].set_ylabel(r"$\epsilon_i(t)$")
    dt = float(t[1] - t[0])
    g1 = float(np.min(run["gamma1"].values[run["gamma1"].values > 0]))
    lag = max(20, min(e.size // 10, int(4.0 / (2.0 * g1 * dt)) + 1))   # about four correlation times
    c = frequency_autocorrelation(e, dt, lag)
    tl = np.arange(lag) * dt
    axes[1].plot(tl, c, "o", ms=3, label="measured (one trajectory)")
    model = res.model
    if model.kind == "flip":
        p = int(run["traj_probe_index"].values[0])
        row = model.probe_couplings(p)
        axes[1].plot(tl, flip_frequency_autocorrelation(tl, row["U"], row["gamma1"]), "k-", label="exact")
    axes[1].set_xlabel("lag [1/$\\gamma$]")
    axes[1].set_ylabel(r"$\langle\delta\epsilon(t)\delta\epsilon(0)\rangle$")
    axes[1].legend()
    return save_figure(fig, path)


def report(paths: list[str | Path], figures: str | Path | None = None, exact: bool = True,
           datasets: list[xr.Dataset] | None = None) -> str:
    """Table (and figures) for one or more sweep results (e.g. the 1D, 2D, 3D scans).

    Parameters
    ----------
    paths : the sweep results (their names head the tables and the figures).
    figures : folder for the figures (none without it).
    exact : include the exact product (docs/exact.md).
    datasets : the sweeps already loaded (else loaded from ``paths``).

    Returns
    -------
    str
        Per sweep its table and figure paths, then the fits of Gamma2/(n_tr Gamma1)
        ~ ell^p (Eq. 12 predicts p = d) and the scaling figure.
    """
    all_rows, out = [], []
    for i, path in enumerate(paths):
        ds = xr.load_dataset(path) if datasets is None else datasets[i]
        points = sweep_points(ds)
        rows = table_rows(ds, exact=exact, points=points)
        all_rows += rows
        out.append(f"== {path}")
        out.append(format_table(rows))
        if figures:
            fig = Path(figures)
            stem = Path(path).stem
            out.append(f"figure: {plot_distributions(ds, fig / f'{stem}_gamma2_distribution.png', points=points)}")
            first = next((ms[0] for _, ms in points if ms), None)
            if first is not None:
                out.append(f"figure: {plot_run(first, fig / f'{stem}_echo.png', exact=exact)}")
                if first.ds.sizes.get("traj_probe", 0):
                    out.append(f"figure: {plot_trajectory(first, fig / f'{stem}_trajectory.png')}")
    for min_log in (2.0, 5.0):
        fits = fit_log_exponent(all_rows, min_log=min_log)
        for (kind, d), (p, e, n) in sorted(fits.items()):
            out.append(f"fit Gamma2/(n_tr Gamma1) ~ ell^p over ell >= {min_log:g}  [{kind}, d={d}]: "
                       f"p = {p:.3f} +- {e:.3f} ({n} points; Eq. 12 says {d})")
    if figures:
        out.append(f"figure: {plot_scaling(all_rows, Path(figures) / 'gamma2_scaling.png')}")
    return "\n".join(out)


def bath_profile(run: xr.Dataset | Result) -> dict[str, Any]:
    """Per-dot Gamma2 against position along the first axis (the bath's), measured,
    exact (docs/exact.md) and Appendix-B rule sum (docs/meanfield.md), each
    averaged over the dot's probes; and the measured own-transition rate
    ``gamma1_measured`` (mean over the dot's probes) with its error. A resonant
    run (docs/resonant.md) has no factorised exact reference and its rates are
    not the bounds the rule sum would use: ``exact`` and ``rule_sum`` are NaN."""
    res = as_result(run)
    run = res.ds
    x = run["probe_position"].values[:, 0]
    g_meas = res.gamma2_censored
    xs, measured, err = position_means(x, g_meas, run["gamma2_echo_stderr"].values, positive=True)
    none = np.full(xs.shape, np.nan)
    out = {"x": xs, "measured": measured, "measured_err": err,
           "exact": position_means(x, res.gamma2_exact, positive=True)[1] if res.has_exact else none,
           "rule_sum": position_means(x, res.rule_sum, positive=True)[1] if res.has_exact else none}
    if "gamma1_measured" in run:
        _, out["gamma1_measured"], out["gamma1_measured_err"] = position_means(
            x, run["gamma1_measured"].values, run["gamma1_measured_stderr"].values)
    return out


def plot_bath_profile(run: xr.Dataset | Result, path: str | Path) -> Path:
    """Figure of :func:`bath_profile` against the distance from the bath
    (:func:`analysis.bath.distance_from_bath`, from the configuration), semilog and log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = as_result(run)
    path = Path(path)
    prof = bath_profile(res)
    dist = distance_from_bath(res.config, prof["x"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, logx in ((axes[0], False), (axes[1], True)):
        sel = dist > 0 if logx else np.ones_like(dist, bool)
        ax.errorbar(dist[sel], prof["measured"][sel], yerr=prof["measured_err"][sel], fmt="o", ms=3, label="simulation")
        ax.plot(dist[sel], prof["exact"][sel], "k-", lw=1, label="exact product")
        ax.plot(dist[sel], prof["rule_sum"][sel], "--", color="gray", label="App. B rule sum")
        ax.set_yscale("log")
        if logx:
            ax.set_xscale("log")
        ax.set_xlabel("distance from the bath (dots)")
        ax.set_ylabel(r"$\Gamma_2$ (mean over the dot's levels)")
        ax.legend(fontsize=8)
    axes[0].set_title("semilog", fontsize=9)
    axes[1].set_title("log-log", fontsize=9)
    return save_figure(fig, path)
