"""Studies of resonant dynamics (docs/resonant.md sections 5 and 7).

*Facilitation and freezing* (section 5): for every member of one or more sweeps
(runs/resonant_freezing_*.toml), the measured own-transition rate of the probes
against the exact mean rate of the same configuration
(:func:`analysis.resonant_exact.model_mean_rate`), the typical echo Gamma2, the
acceptance n_events/n_proposals and the waiting-time statistics, as a table
and figures against the resonance width w, the static width W and the
detuning spread s (below).

*Heterogeneity* (section 7): the distributions over probe levels of the
measured rate, the echo Gamma2 and the waiting-time coefficient of variation of
one resonant run (probes = "all"), against a fixed-rate run of the same sample
whose Gamma1 is the resonant run's mean measured rate.

Definitions used in the tables:

* ``rate``: the mean over probes of gamma1_measured / Gamma1 (Gamma1 the bound);
  its error combines the per-probe batch-means errors as if independent;
  ``exact`` the same mean of the exact mean rates; ``z`` = (rate - exact)/error;
  ``zs`` the same difference over the probe-to-probe scatter of (measured -
  exact)/sqrt(P), an error that does not rely on each level's run being ergodic;
  ``z2``, ``zmax`` and ``>4`` the mean square, the largest |z| and the fraction
  beyond 4 (a probe without any own transition counts as beyond) of the
  per-probe z (a mean
  z2 far above 1 means levels keep their own rate for the whole run: the run is
  not ergodic on its length, although the run starts in the stationary state);
* ``gamma2``: the median over probes of the censored per-probe echo Gamma2
  (:func:`analysis.estimates.censored_gamma2`) with a bootstrap error;
* ``s``: the detuning spread over the width, sqrt(W^2/12 + <sum_j U_lj^2>/4)/w,
  the standard deviation of a level's energy over uniform configurations in
  units of w (the probe average of sum_j U_lj^2 from the model's coupling rows).

Command line (regenerates the tables and figures)::

    python -m analysis.studies.resonant_freezing freezing results/resonant_freezing_1d.nc ... --figures DIR
    python -m analysis.studies.resonant_freezing hetero results/resonant_hetero_1d.nc --figures DIR
"""
from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Sequence

import numpy as np
import xarray as xr

import simulator

from ..estimates import median_with_error
from ..plots import save_figure
from ..resonant_exact import model_mean_rate
from ..result import Result
from ..sweeps import is_sweep, parameter_points

__all__ = ["width_of", "exact_rates", "member_row", "freezing_rows", "format_freezing_table", "format_freezing_summary",
           "plot_rate", "plot_gamma2", "plot_collapse", "fixed_rate_config", "run_fixed_companions",
           "heterogeneity", "format_heterogeneity", "plot_heterogeneity", "main"]


def width_of(model: simulator.Model) -> float:
    """The resonance width w of a model's configuration (inf for fixed rates, ``"none"``)."""
    w = model.config["dynamics"]["resonance_width"]
    return np.inf if w == "none" else float(w)


def exact_rates(model: simulator.Model, w: float | None = None) -> np.ndarray:
    """Exact mean own-transition rate of every probe level (docs/resonant.md section 2.2).

    Parameters
    ----------
    model : the run's model.
    w : the resonance width (default: the model's own; inf gives the fixed rates).
    """
    w = width_of(model) if w is None else w
    return np.array([model_mean_rate(model, int(level), w) for level in model.probes])


def _coupling_spread(model: simulator.Model) -> float:
    """Probe mean of sum_j U_lj^2 / 4: the variance of a level's coupling shift."""
    rows = model.coupling_rows()
    sq = [np.sum(rows.U[rows.ptr[p]:rows.ptr[p + 1]] ** 2) for p in range(model.probes.size)]
    return float(np.mean(sq)) / 4.0


def member_row(params: dict, run: xr.Dataset | Result) -> dict:
    """One row of the freezing table for one run (see the module docstring)."""
    res = run if isinstance(run, Result) else Result(run)
    ds, model = res.ds, res.model
    w = width_of(model)
    g1 = model.gamma1[model.probe_dot]
    meas = ds["gamma1_measured"].values
    err = ds["gamma1_measured_stderr"].values
    exact = exact_rates(model, w)
    P = meas.size
    z_probe = (meas - exact) / np.where(err > 0, err, np.nan)
    rate = float(np.mean(meas / g1))
    rate_err = float(np.sqrt(np.sum((err / g1) ** 2)) / P)
    ex = float(np.mean(exact / g1))
    # the run starts in the stationary (uniform) state, so every probe's count has the
    # exact mean whether or not the run is ergodic; the probe-to-probe scatter of
    # measured - exact is then an error of the probe mean that stays honest when the
    # batch-means errors (one level's history) do not
    spread_err = float(np.std((meas - exact) / g1, ddof=1) / np.sqrt(P)) if P > 1 else np.nan
    g2 = res.gamma2_censored
    g2_med, g2_err = median_with_error(g2)
    cv = ds["waiting_time_cv"].values
    cv_med, cv_err = median_with_error(cv) if np.isfinite(cv).any() else (np.nan, np.nan)
    W = float(model.config["couplings"]["static_width"])
    spread = np.sqrt(W ** 2 / 12.0 + _coupling_spread(model))
    row = dict(params)
    row.update(gamma_scan="couplings.gamma" in params, d=model.d, L=int(model.config["lattice"]["L"]), M=model.M,
               gamma=float(model.config["couplings"]["gamma"]), W=W, w=w, gamma1=float(np.median(g1)),
               probes=P, t_max=float(ds.attrs["simulated_time"]), rate=rate, rate_err=rate_err, exact=ex,
               z=(rate - ex) / rate_err if rate_err > 0 else np.nan,
               zs=(rate - ex) / spread_err if spread_err > 0 else np.nan,
               z2=float(np.nanmean(z_probe ** 2)), zmax=float(np.nanmax(np.abs(z_probe))),
               out4=float(np.mean(np.abs(np.nan_to_num(z_probe, nan=np.inf)) > 4.0)),
               rate_median=float(np.median(meas / g1)),
               gamma2=g2_med, gamma2_err=g2_err, censored=float(np.mean(g2 == 0.0)),
               acceptance=float(ds["n_events"]) / float(ds["n_proposals"]),
               cv=cv_med, cv_err=cv_err, s=spread / w if np.isfinite(w) else 0.0)
    return row


def freezing_rows(datasets: Sequence[xr.Dataset]) -> list[dict]:
    """:func:`member_row` for every member of every sweep (or plain run) given;
    each row also gets ``gamma2_fixed``, the typical Gamma2 of the fixed-rate member
    (w = "none") with the same other parameters, where the sweep has one."""
    rows = []
    for ds in datasets:
        if is_sweep(ds):
            members = [(p, m) for p, ms in parameter_points(ds) for m in ms]
        else:
            members = [({}, ds)]
        part = [member_row(p, m) for p, m in members]
        fixed = {_other_key(r): r for r in part if not np.isfinite(r["w"])}
        for r in part:
            ref = fixed.get(_other_key(r))
            r["gamma2_fixed"] = ref["gamma2"] if ref else np.nan
            r["gamma2_fixed_err"] = ref["gamma2_err"] if ref else np.nan
        rows += part
    return rows


def _other_key(row: dict) -> tuple:
    return tuple((k, row[k]) for k in ("d", "L", "M", "gamma", "W"))


def _fmt_w(w: float) -> str:
    return "none" if not np.isfinite(w) else f"{w:g}"


def format_freezing_table(rows: list[dict]) -> str:
    """The freezing table as text, one line per run (values relative to the bound Gamma1)."""
    head = (f"{'d':>2s}{'L':>5s}{'gamma':>7s}{'W':>5s}{'w':>7s}{'s':>7s}{'accept':>8s}{'rate':>9s}{'+-':>8s}"
            f"{'exact':>9s}{'z':>7s}{'zs':>7s}{'z2':>7s}{'zmax':>7s}{'>4':>6s}{'Gamma2':>10s}{'+-':>9s}{'G2/fixed':>9s}"
            f"{'cens':>6s}{'cv':>6s}{'+-':>6s}")
    lines = [head]
    for r in rows:
        rel = r["gamma2"] / r["gamma2_fixed"] if r["gamma2_fixed"] > 0 else np.nan
        lines.append(f"{r['d']:>2d}{r['L']:>5d}{r['gamma']:>7.3g}{r['W']:>5.3g}{_fmt_w(r['w']):>7s}{r['t_max']:>8.2g}{r['s']:>7.3g}"
                     f"{r['acceptance']:>8.4f}{r['rate']:>9.4g}{r['rate_err']:>8.2g}{r['exact']:>9.4g}"
                     f"{r['z']:>7.2f}{r['zs']:>7.2f}{r['z2']:>7.2f}{r['zmax']:>7.2f}{r['out4']:>6.2f}{r['gamma2']:>10.4g}{r['gamma2_err']:>9.2g}"
                     f"{rel:>9.3f}{r['censored']:>6.2f}{r['cv']:>6.3f}{r['cv_err']:>6.3f}")
    return "\n".join(lines)


def format_freezing_summary(rows: list[dict]) -> str:
    """Per dimension (and the gamma scan): how well the measured mean rate matches
    the exact mean (max |z|, mean z^2 of ``z`` and ``zs`` over the runs) and how many
    runs have per-probe mean z^2 above 2 (levels not ergodic over the run)."""
    lines = [f"{'group':>14s}{'runs':>6s}{'max|z|':>8s}{'mean z2':>9s}{'max|zs|':>9s}{'mean zs2':>9s}"
             f"{'runs with probe z2 > 2':>24s}"]
    groups = _groups(rows, ("gamma_scan", "d"))
    for (scan, d), rs in sorted(groups.items()):
        z = np.array([r["z"] for r in rs])
        zs = np.array([r["zs"] for r in rs])
        bad = [f"L={r['L']},W={r['W']:g},w={_fmt_w(r['w'])}" for r in rs if r["z2"] > 2]
        lines.append(f"{('gamma scan' if scan else f'd = {d}'):>14s}{len(rs):>6d}{np.nanmax(np.abs(z)):>8.2f}"
                     f"{np.nanmean(z ** 2):>9.2f}{np.nanmax(np.abs(zs)):>9.2f}{np.nanmean(zs ** 2):>9.2f}"
                     f"{len(bad):>6d}  {' '.join(bad)}")
    return "\n".join(lines)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _groups(rows: list[dict], by: tuple[str, ...]) -> dict:
    out: dict = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in by), []).append(r)
    return out


def plot_rate(rows: list[dict], path: str | Path) -> Path:
    """Measured mean rate / Gamma1 against w (markers, one panel per d), with the
    exact mean rate of the same configurations as a line."""
    plt = _plt()
    rows = [r for r in rows if np.isfinite(r["w"]) and not r["gamma_scan"]]
    ds_ = sorted({r["d"] for r in rows})
    fig, axes = plt.subplots(1, max(len(ds_), 1), figsize=(4.2 * max(len(ds_), 1), 4), squeeze=False)
    Ws = sorted({r["W"] for r in rows})
    Ls = {d: sorted({r["L"] for r in rows if r["d"] == d}) for d in ds_}
    for ax, d in zip(axes[0], ds_):
        for (W, L), rs in sorted(_groups([r for r in rows if r["d"] == d], ("W", "L")).items()):
            rs = sorted(rs, key=lambda r: r["w"])
            c = f"C{Ws.index(W)}"
            filled = L == Ls[d][-1]
            w = np.array([r["w"] for r in rs])
            ax.errorbar(w, [r["rate"] for r in rs], yerr=[r["rate_err"] for r in rs], fmt="o" if filled else "s",
                        color=c, mfc=c if filled else "none", ms=5, ls="none", label=f"W={W:g}, L={L}")
            ax.plot(w, [r["exact"] for r in rs], "-", color=c, lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("w / gamma")
        ax.set_title(f"d = {d}: mean own rate / bound (lines: exact mean)", fontsize=9)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(r"$\Gamma_1^{meas}/\Gamma_1$")
    return save_figure(fig, path)


def plot_gamma2(rows: list[dict], path: str | Path) -> Path:
    """Typical echo Gamma2 against w (one panel per d); dashed: the fixed-rate
    Gamma2 (w = "none") of the same W and L."""
    plt = _plt()
    rows = [r for r in rows if not r["gamma_scan"]]
    ds_ = sorted({r["d"] for r in rows})
    fig, axes = plt.subplots(1, max(len(ds_), 1), figsize=(4.2 * max(len(ds_), 1), 4), squeeze=False)
    Ws = sorted({r["W"] for r in rows})
    for ax, d in zip(axes[0], ds_):
        Ls = sorted({r["L"] for r in rows if r["d"] == d})
        for (W, L), rs in sorted(_groups([r for r in rows if r["d"] == d], ("W", "L")).items()):
            res = sorted([r for r in rs if np.isfinite(r["w"])], key=lambda r: r["w"])
            c = f"C{Ws.index(W)}"
            filled = L == Ls[-1]
            ax.errorbar([r["w"] for r in res], [r["gamma2"] for r in res], yerr=[r["gamma2_err"] for r in res],
                        fmt="o-" if filled else "s--", color=c, mfc=c if filled else "none", ms=5, lw=0.7,
                        label=f"W={W:g}, L={L}")
            fixed = [r for r in rs if not np.isfinite(r["w"])]
            if fixed:
                ax.axhline(fixed[0]["gamma2"], color=c, ls=":" if filled else "-.", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("w / gamma")
        ax.set_title(f"d = {d}: typical echo Gamma2 (dotted: fixed rates)", fontsize=9)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(r"$\Gamma_2$ (units of gamma)")
    return save_figure(fig, path)


def plot_collapse(rows: list[dict], path: str | Path) -> Path:
    """Mean rate / Gamma1, Gamma2 / fixed-rate Gamma2 and the median waiting-time CV
    against the detuning spread s of every resonant run (all d, W, L, gamma)."""
    plt = _plt()
    rows = [r for r in rows if np.isfinite(r["w"])]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    marks = {1: "o", 2: "s", 3: "^"}
    seen = set()
    for r in rows:
        lab = f"d={r['d']}" + (" (gamma scan)" if r["gamma_scan"] else "")
        c = "C3" if r["gamma_scan"] else f"C{r['d'] - 1}"
        kw = dict(color=c, marker=marks[r["d"]], ms=5, ls="none", label=None if lab in seen else lab)
        seen.add(lab)
        axes[0].errorbar(r["s"], r["rate"], yerr=r["rate_err"], **kw)
        if r["gamma2_fixed"] > 0:
            axes[1].plot(r["s"], r["gamma2"] / r["gamma2_fixed"], **kw)
        axes[2].errorbar(r["s"], r["cv"], yerr=r["cv_err"], **kw)
    s = np.geomspace(min([r["s"] for r in rows] or [0.1]), max([r["s"] for r in rows] or [10]), 100)
    # Gaussian detuning of standard deviation s w: E[w^2/(X^2 + w^2)] = sqrt(pi/2)/s e^{1/2s^2} erfc(1/(sqrt2 s))
    from scipy.special import erfcx

    axes[0].plot(s, np.sqrt(np.pi / 2) / s * erfcx(1 / (np.sqrt(2) * s)), "k-", lw=0.8, label="Gaussian detuning")
    axes[0].set_ylabel(r"$\Gamma_1^{meas}/\Gamma_1$")
    axes[1].set_ylabel(r"$\Gamma_2 / \Gamma_2^{fixed}$")
    axes[2].set_ylabel("median waiting-time CV")
    axes[2].axhline(1.0, color="gray", lw=0.6)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("s = spread of the detuning / w")
        ax.legend(fontsize=7)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    return save_figure(fig, path)


# ---------------------------------------------------------------- heterogeneity

def fixed_rate_config(ds: xr.Dataset, gamma1: float, width: str | float = "none") -> simulator.Config:
    """The configuration of run ``ds`` with dynamics.gamma1 = ``gamma1`` and
    dynamics.resonance_width = ``width``: same seed, hence the same couplings,
    static energies and probes."""
    raw = tomllib.loads(ds.attrs["config"])
    raw["dynamics"]["gamma1"] = float(gamma1)
    raw["dynamics"]["resonance_width"] = width
    return simulator.load_config(raw)


def run_fixed_companions(path: str | Path, log=print) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
    """Load the resonant run at ``path`` and its two fixed-rate companions with
    Gamma1 = its mean measured rate: ``<stem>_fixed.nc`` (resonance_width = "none")
    and ``<stem>_fixed_w1e12.nc`` (w = 1e12: every proposal accepted, so fixed rates
    through the resonant engine, which records waiting times). Each companion is
    run (and written atomically) unless a file with the same configuration exists."""
    path = Path(path)
    res = xr.load_dataset(path)
    g1 = float(np.mean(res["gamma1_measured"].values))
    out = []
    for suffix, width in (("_fixed", "none"), ("_fixed_w1e12", 1e12)):
        target = path.with_name(path.stem + suffix + ".nc")
        config = fixed_rate_config(res, g1, width)
        if target.exists():
            ds = xr.load_dataset(target)
            if ds.attrs.get("config") == config.to_toml():
                out.append(ds)
                continue
        log(f"running {target} (Gamma1 = {g1:.6g}, resonance_width = {width})")
        out.append(simulator.run(config, target, progress=False, threads=1))
    return res, out[0], out[1]


def _log_stats(x: np.ndarray) -> dict:
    x = x[np.isfinite(x) & (x > 0)]
    lx = np.log10(x)
    q5, q25, q50, q75, q95 = np.percentile(lx, [5, 25, 50, 75, 95]) if x.size else [np.nan] * 5
    med, err = median_with_error(x)
    return dict(n=int(x.size), median=med, median_err=err, iqr=q75 - q25, lo=q5 - q50, hi=q95 - q50)


def heterogeneity(res: xr.Dataset, fixed: xr.Dataset, fixed_cv: xr.Dataset) -> dict:
    """Distribution statistics of per-level rate, Gamma2 and waiting-time CV.

    Returns ``{"resonant": {...}, "fixed": {...}}`` with, for ``rate`` and
    ``gamma2``, :func:`_log_stats` of the positive per-probe values (median,
    interquartile range of log10 and the 5-95 % range of log10(x/median); the
    levels without any own transition are counted in ``no_transition``); for ``cv`` the
    median and quartiles of the CV (the fixed-rate CV from ``fixed_cv``, the w =
    1e12 run); ``exact_z2`` and ``exact_zmax`` of the per-probe rates against the
    exact mean rates (resonant run); ``censored`` the fraction of probes whose
    echo never fell below 1/e.
    """
    out = {}
    for name, ds, cvds in (("resonant", res, res), ("fixed", fixed, fixed_cv)):
        r = Result(ds)
        g2 = r.gamma2_censored
        cv = cvds["waiting_time_cv"].values
        cv = cv[np.isfinite(cv)]
        q = np.percentile(cv, [25, 50, 75]) if cv.size else [np.nan] * 3
        out[name] = dict(rate=_log_stats(ds["gamma1_measured"].values), gamma2=_log_stats(g2),
                         censored=float(np.mean(g2 == 0.0)), cv_q25=q[0], cv_median=q[1], cv_q75=q[2],
                         rate_mean=float(np.mean(ds["gamma1_measured"].values)),
                         no_transition=int(np.sum(ds["gamma1_measured"].values == 0)),
                         probes=int(ds.sizes["probe"]))
    r = Result(res)
    exact = exact_rates(r.model)
    err = res["gamma1_measured_stderr"].values
    # a level without a single own transition has no batch-means error: counted, not compared
    z = (res["gamma1_measured"].values - exact) / np.where(err > 0, err, np.nan)
    out["resonant"].update(exact_z2=float(np.nanmean(z ** 2)), exact_zmax=float(np.nanmax(np.abs(z))),
                           no_error=int(np.sum(err == 0)),
                           exact_mean=float(np.mean(exact)), exact_rates=exact,
                           corr_rate_gamma2=float(np.corrcoef(np.log(res["gamma1_measured"].values
                                                                     .clip(1e-300)),
                                                              np.log(r.gamma2_censored.clip(1e-300)))[0, 1]))
    return out


def format_heterogeneity(h: dict) -> str:
    """The heterogeneity table as text."""
    lines = [f"{'run':>9s}{'quantity':>9s}{'median':>11s}{'+-':>9s}{'IQR log10':>11s}{'5-95% log10(x/med)':>22s}"]
    for name in ("resonant", "fixed"):
        for q in ("rate", "gamma2"):
            s = h[name][q]
            lines.append(f"{name:>9s}{q:>9s}{s['median']:>11.4g}{s['median_err']:>9.2g}{s['iqr']:>11.3f}"
                         f"{s['lo']:>+11.3f} .. {s['hi']:+.3f}")
        lines.append(f"{name:>9s}{'cv':>9s}{h[name]['cv_median']:>11.3f}   quartiles {h[name]['cv_q25']:.3f} .. "
                     f"{h[name]['cv_q75']:.3f}   censored Gamma2: {h[name]['censored']:.3f}")
    rr = h["resonant"]
    lines.append(f"resonant: {rr['probes']} probes, mean rate {rr['rate_mean']:.5g} (exact {rr['exact_mean']:.5g}); "
                 f"per-probe z against the exact rates: mean z^2 = {rr['exact_z2']:.3f}, max |z| = "
                 f"{rr['exact_zmax']:.2f} ({rr['no_error']} probes without an error bar left out); "
                 f"corr(log rate, log Gamma2) = {rr['corr_rate_gamma2']:.3f}")
    lines.append(f"levels without any own transition: resonant {rr['no_transition']}, "
                 f"fixed {h['fixed']['no_transition']} (left out of the log statistics)")
    return "\n".join(lines)


def plot_heterogeneity(res: xr.Dataset, fixed: xr.Dataset, fixed_cv: xr.Dataset, path: str | Path,
                       exact: np.ndarray | None = None) -> Path:
    """Histograms over probe levels (log axes) of the measured rate, the echo Gamma2
    and the waiting-time CV, resonant against fixed rates; a fourth panel: measured
    against exact rate per level (``exact``: the resonant run's :func:`exact_rates`,
    computed if not given)."""
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    data = {"resonant": (res, res), "fixed rates": (fixed, fixed_cv)}
    for k, (name, (ds, cvds)) in enumerate(data.items()):
        c = f"C{k}"
        rate = ds["gamma1_measured"].values
        g2 = Result(ds).gamma2_censored
        cv = cvds["waiting_time_cv"].values
        for ax, x in zip(axes[:3], (rate, g2, cv)):
            x = x[np.isfinite(x) & (x > 0)]
            if x.size:
                bins = np.geomspace(x.min() / 1.1, x.max() * 1.1, 40)
                ax.hist(x, bins=bins, histtype="step", color=c, lw=1.3, label=f"{name} ({x.size})")
    exact = exact_rates(simulator.model_from_dataset(res)) if exact is None else exact
    axes[3].errorbar(exact, res["gamma1_measured"].values, yerr=res["gamma1_measured_stderr"].values, fmt=".",
                     ms=3, color="C0", elinewidth=0.5)
    lim = [exact.min() / 1.5, exact.max() * 1.5]
    axes[3].plot(lim, lim, "k-", lw=0.6)
    for ax, lab in zip(axes, (r"$\Gamma_1^{meas}$ per level", r"echo $\Gamma_2$ per level",
                              "waiting-time CV per level", r"exact mean rate")):
        ax.set_xscale("log")
        ax.set_xlabel(lab)
    for ax in axes[:3]:
        ax.set_yscale("log")
        ax.set_ylabel("levels")
        ax.legend(fontsize=7)
    axes[3].set_yscale("log")
    axes[3].set_ylabel(r"measured $\Gamma_1^{meas}$")
    return save_figure(fig, path)


# ---------------------------------------------------------------- command line

def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.studies.resonant_freezing {freezing,hetero} ...``."""
    p = argparse.ArgumentParser(prog="python -m analysis.studies.resonant_freezing",
                                description="Resonant-dynamics studies of docs/resonant.md sections 5 and 7: "
                                            "print the tables and write the figures.")
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("freezing", help="facilitation and freezing (section 5) from sweep results")
    f.add_argument("results", nargs="+", help="combined sweep results (or runs) of runs/resonant_freezing_*.toml")
    f.add_argument("--figures", default="results/resonant_freezing", help="folder for the figures")
    hp = sub.add_parser("hetero", help="heterogeneity (section 7): resonant run vs its fixed-rate companions")
    hp.add_argument("result", help="a resonant run result, e.g. results/resonant_hetero_1d.nc; its fixed-rate "
                                  "companions <stem>_fixed.nc and <stem>_fixed_w1e12.nc are run if missing")
    hp.add_argument("--figures", default="results/resonant_freezing", help="folder for the figures")
    args = p.parse_args(argv)
    try:
        if args.command == "freezing":
            datasets = []
            for path in args.results:
                datasets.append(_load(path))
            rows = freezing_rows(datasets)
            print(format_freezing_table(rows))
            print(format_freezing_summary(rows))
            out = Path(args.figures)
            for fn, name in ((plot_rate, "resonant_freezing_rate.png"), (plot_gamma2, "resonant_freezing_gamma2.png"),
                             (plot_collapse, "resonant_freezing_collapse.png")):
                print("figure:", fn(rows, out / name))
        else:
            _load(args.result)   # a clear error for a missing or unreadable file
            res, fixed, fixed_cv = run_fixed_companions(args.result)
            h = heterogeneity(res, fixed, fixed_cv)
            print(format_heterogeneity(h))
            name = Path(args.result).stem + "_distributions.png"
            print("figure:", plot_heterogeneity(res, fixed, fixed_cv, Path(args.figures) / name,
                                                exact=h["resonant"]["exact_rates"]))
    except (_InputError, simulator.ConfigError) as exc:
        print(f"resonant_freezing: error: {exc}", file=sys.stderr)
        return 2
    return 0


class _InputError(Exception):
    pass


def _load(path: str) -> xr.Dataset:
    try:
        ds = xr.load_dataset(path)
    except (OSError, ValueError) as exc:
        raise _InputError(f"cannot read result {path!r}: {exc}") from None
    if "gamma1_measured" not in ds:
        raise _InputError(f"{path!r} is not a dotkmc run or sweep result with gamma1_measured "
                          "(expected the output of 'dotkmc run' or 'dotkmc sweep')")
    return ds


if __name__ == "__main__":
    sys.exit(main())
