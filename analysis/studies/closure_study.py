"""Studies built on the self-consistent loop (docs/selfconsistent.md): fixed points
over a sweep, the critical coupling of finite chains against the 1/L law (paper
Fig. 7), and the self-consistent profile of a chain with a bath at one end.

The loop itself and its library functions (update, growth factor, rule-sum
profile and chain) are in :mod:`analysis.closure`."""
from __future__ import annotations

import math
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING, Callable

import numpy as np
import xarray as xr

from simulator import build_model
from simulator.config import Config
from simulator.sweep import expand

from ..closure import growth_factor, law, rule_sum_chain, rule_sum_profile, run_loop
from ..meanfield.chain import critical_coupling, fit_power_law, solve_chain
from ..meanfield.selfconsistent import gamma2_eq19_corrected, gamma2_eq19_printed, solve_selfconsistent
from ..plots import save_figure

if TYPE_CHECKING:
    from simulator.sweep import Member

Log = Callable[[str], None]


def member_label(member: Member, members: Sequence[Member] = ()) -> str:
    """Folder name of a member's loop: its swept values, plus the realization when
    the sweep has several."""
    parts = [f"{k.split('.')[-1]}={v}" for k, v in member.values.items()]
    if any(m.realization > 0 for m in members):
        parts.append(f"realization={member.realization}")
    return "_".join(parts) or "base"


def fixed_point_study(config: Config, outdir: str | Path, log: Log | None = None,
                      measure: Callable | None = None) -> list[dict]:
    """One loop per [sweep] member (e.g. a list of selfconsistent.Xi, or of
    selfconsistent.gamma1_init to start above and below); each row: parameters,
    status, iterations, the simulated fixed point (median over dots), and the
    homogeneous mean-field solutions of Eq. (12) + Eq. (16)/(17) with the real
    transition count (stable roots). ``measure`` as in :func:`analysis.closure.run_loop`."""
    outdir = Path(outdir)
    rows = []
    members = expand(config)
    for member in members:
        c = member.config
        hist = run_loop(c, outdir / member_label(member, members), measure=measure, log=log)
        sc = c["selfconsistent"]
        g1 = float(np.median(hist["gamma1_next"].values[-1]))
        g2 = float(np.median(hist["gamma2"].values[-1]))
        g2_err = float(np.median(hist["gamma2_stderr"].values[-1]))
        n_tr = build_model(c).n_tr
        mf_law = "eq16" if law(c) == "16" else "eq17"
        try:
            roots = solve_selfconsistent(c["couplings"]["gamma"], sc["delta_m"], n_tr, c["lattice"]["d"], sc["Xi"],
                                         sc["K"], law=mf_law, eq17_prefactor_kind="printed")
            stable = [r for r in roots if r.stable and r.gamma1 > 0]
            mf = stable[0] if stable else None
        except ValueError:
            mf = None
        args = (c["couplings"]["gamma"], sc["delta_m"], n_tr, c["lattice"]["d"], sc["Xi"], sc["K"])
        extra = {}
        for name, fn in (("eq19_printed", gamma2_eq19_printed), ("eq19_corrected", gamma2_eq19_corrected)):
            try:
                extra[name] = float(fn(*args))
            except (ValueError, RuntimeError):
                extra[name] = np.nan
        try:   # Eq. 12 + the full order sum Eq. 15 (stable non-zero root, if any)
            r15 = [r for r in solve_selfconsistent(*args, law="eq15") if r.stable and r.gamma1 > 0]
            extra["mf15_gamma2"] = r15[0].gamma2 if r15 else np.nan
        except ValueError:
            extra["mf15_gamma2"] = np.nan
        rows.append({**member.values, **extra, "label": member_label(member, members), "status": hist.attrs["status"],
                     "iterations": hist.sizes["iteration"], "Xi_logK": sc["Xi"] * math.log(sc["K"]),
                     "law": law(c), "gamma1": g1, "gamma2": g2, "gamma2_err": g2_err,
                     "mf_gamma1": mf.gamma1 if mf else np.nan, "mf_gamma2": mf.gamma2 if mf else np.nan,
                     "history": hist})
    return rows


def critical_study(config: Config, iterations: int = 24, log: Log | None = None) -> list[dict]:
    """For each [sweep] member (typically a list of lattice.L with pin = 'ends'),
    the growth factor rho of the linearised loop and the critical gamma/delta_m =
    1/rho, beside the Appendix-B mean-field chain's critical coupling for the same
    number of free dots (analysis.meanfield.chain.critical_coupling, n_tr = M)."""
    rows = []
    for member in expand(config):
        c = member.config
        res = growth_factor(c, iterations=iterations)
        L = c["lattice"]["L"]
        free = L - 2 if c["selfconsistent"]["pin"] == "ends" else L
        try:
            mf, _ = critical_coupling(free, xi=c["couplings"]["xi"], gamma=c["couplings"]["gamma"],
                                      n_tr=float(c["lattice"]["levels"]))
        except Exception as exc:  # report, keep going
            mf = np.nan
            if log:
                log(f"mean-field chain failed for L={L}: {exc}")
        row = {**member.values, "L": L, "free_dots": free, "rho": res["rho"], "rho_err": res["rho_err"],
               "critical": res["critical_gamma_over_delta"],
               "critical_err": res["rho_err"] / res["rho"] ** 2 if np.isfinite(res["rho_err"]) else np.nan,
               "mf_critical": mf, "rho_history": res["history"]}
        rows.append(row)
        if log:
            log(f"L={L}: rho = {res['rho']:.4g} +- {row['rho_err']:.2g}  (gamma/delta_m)_c = {row['critical']:.4g}"
                f"   mean-field chain: {mf:.4g}")
    return rows


def fit_critical(rows: list[dict]) -> dict:
    """Power-law fits ``critical ~ L^p`` of the simulated and the mean-field critical
    couplings over the free dots (three points at least; :func:`analysis.meanfield.chain.fit_power_law`)."""
    L = np.array([r["free_dots"] for r in rows], float)
    out = {}
    for key in ("critical", "mf_critical"):
        y = np.array([r[key] for r in rows], float)
        ok = np.isfinite(y) & (y > 0)
        if ok.sum() >= 3:
            fit = fit_power_law(L[ok], y[ok])
            out[key] = fit
    return out


def plot_critical(rows: list[dict], path: str | Path) -> Path:
    """Critical gamma/delta_m against the free dots: simulation, mean-field chain and 1/L."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    L = np.array([r["free_dots"] for r in rows], float)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.errorbar(L, [r["critical"] for r in rows], yerr=[r["critical_err"] for r in rows], fmt="o",
                label="simulation: 1/rho(S)")
    ax.plot(L, [r["mf_critical"] for r in rows], "s", mfc="none", label="App. B mean-field chain")
    ax.plot(L, 1.0 / (rows[0]["rho"] / L[0]) / L, "k--", lw=0.8, label=r"$\propto 1/L$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("free dots in the chain")
    ax.set_ylabel(r"critical $\gamma/\delta_m$")
    ax.set_title("pinned ends: below the critical coupling only Gamma = 0 survives", fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_fixed_points(rows: list[dict], path: str | Path) -> Path:
    """The loops of :func:`fixed_point_study` against iteration, and their fixed
    points against Xi log K beside the mean-field solutions (Eqs. 12, 15-17, 19)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for r in rows:
        h = r["history"]
        axes[0].semilogy(h["iteration"], np.median(h["gamma1"].values, axis=1), "o-", ms=3, label=r["label"])
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel(r"$\Gamma_1$ (median over dots)")
    axes[0].legend(fontsize=7)
    x = [r["Xi_logK"] for r in rows]
    axes[1].errorbar(x, [r["gamma2"] for r in rows], yerr=[r["gamma2_err"] for r in rows], fmt="o",
                     label="simulated fixed point")
    axes[1].plot(x, [r["mf_gamma2"] for r in rows], "s", mfc="none", label="mean field Eq. 12 + 16/17")
    axes[1].plot(x, [r["mf15_gamma2"] for r in rows], "D", mfc="none", label="mean field Eq. 12 + 15")
    axes[1].plot(x, [r["eq19_corrected"] for r in rows], "k_", ms=12, label="Eq. 19 (exact solution)")
    axes[1].plot(x, [r["eq19_printed"] for r in rows], "x", color="gray", label="Eq. 19 as printed")
    axes[1].set_yscale("log")
    axes[1].set_xlabel(r"$\Xi \log K$")
    axes[1].set_ylabel(r"$\Gamma_2$ at the fixed point")
    axes[1].legend(fontsize=8)
    return save_figure(fig, path)


def bath_chain_study(config: Config, outdir: str | Path, log: Log | None = None,
                     measure: Callable | None = None) -> tuple[list[xr.Dataset], list[Path], dict]:
    """One self-consistent loop per sample ([sweep] realizations; each its own
    couplings), then :func:`bath_chain_comparison` of the final profiles.
    Returns the histories, their folders and the comparison (``measure`` as in
    :func:`analysis.closure.run_loop`)."""
    outdir = Path(outdir)
    members = expand(config)
    hists, dirs = [], []
    for member in members:
        if log and len(members) > 1:
            log(f"sample {member.realization + 1} of {len(members)}")
        dirs.append(outdir if len(members) == 1 else outdir / member_label(member, members))
        hists.append(run_loop(member.config, dirs[-1], measure=measure, log=log))
    configs = [m.config for m in members] if measure is None else None
    return hists, dirs, bath_chain_comparison(hists, config, configs)


def bath_chain_comparison(hists: xr.Dataset | list[xr.Dataset], config: Config,
                          sample_configs: list[Config] | None = None) -> dict:
    """Final self-consistent profile of a chain with a bath at its left end against
    the Appendix-B mean-field chain with the same L, gamma/delta_m, bath rate and
    n_tr (analysis.meanfield.chain.solve_chain, boundary='bath').

    ``hists``: one loop history, or a list (one per sample). With several samples
    the profile is the geometric mean over samples (the mean-field chain is a
    theory of typical values) and its error the standard error of that mean
    (sample-to-sample spread, far larger than one iteration's noise); with one,
    the last measurement's error.

    With ``sample_configs`` (each loop's configuration) also, averaged the same
    way, the rule sum at each sample's final rate profile (:func:`rule_sum_profile`;
    ``map_ratio`` = measured / rule sum at the same Gamma1, per dot) and the
    self-consistent rule-sum profile of each sample (:func:`rule_sum_chain`,
    ``rule_chain_gamma2``).
    """
    if isinstance(hists, xr.Dataset):
        hists = [hists]
    sc = config["selfconsistent"]
    bath = config["dynamics"]["bath"]
    L = config["lattice"]["L"]
    width = bath["width"]
    g2s = np.array([h["gamma2"].values[-1][width:] for h in hists])
    g1s = np.array([h["gamma1_next"].values[-1][width:] for h in hists])
    if len(hists) == 1:
        g2, err, g1 = g2s[0], hists[0]["gamma2_stderr"].values[-1][width:], g1s[0]
    else:
        with np.errstate(divide="ignore"):
            lg2, lg1 = np.log(g2s), np.log(g1s)
        g2, g1 = np.exp(lg2.mean(axis=0)), np.exp(lg1.mean(axis=0))
        err = g2 * lg2.std(axis=0, ddof=1) / np.sqrt(len(hists))
    extra = {}
    if sample_configs is not None:
        rs = np.array([rule_sum_profile(c, h["gamma1"].values[-1])[width:] for c, h in zip(sample_configs, hists)])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log(np.array([h["gamma2"].values[-1][width:] for h in hists]) / rs)
        chain = np.array([rule_sum_chain(c, h["gamma1"].values[-1])[width:] for c, h in zip(sample_configs, hists)])
        extra = {"rule_gamma2": np.exp(np.log(rs).mean(axis=0)), "map_ratio": np.exp(ratio.mean(axis=0)),
                 "rule_chain_gamma2": np.exp(np.log(chain).mean(axis=0)),
                 "map_ratio_err": (np.exp(ratio.mean(axis=0)) * ratio.std(axis=0, ddof=1) / np.sqrt(len(hists))
                                   if len(hists) > 1 else np.full(ratio.shape[1], np.nan))}
    mf = solve_chain(L - width, config["couplings"]["gamma"] / sc["delta_m"], xi=config["couplings"]["xi"],
                     gamma=config["couplings"]["gamma"], boundary="bath", bath_gamma1=bath["gamma1"],
                     bath_width=width, n_tr=float(config["lattice"]["levels"]))
    return {"x": np.arange(1, L - width + 1), "gamma2": g2, "gamma2_err": err, "gamma1": g1,
            "samples_gamma2": g2s, "status": [h.attrs["status"] for h in hists],
            "iterations": [h.sizes["iteration"] for h in hists],
            "mf_gamma2": mf.gamma2, "mf_gamma1": mf.gamma1, "mf_status": mf.status, **extra}


def plot_bath_chain(cmp: dict, path: str | Path) -> Path:
    """Figure of :func:`bath_chain_comparison`: simulated and mean-field profiles
    against the distance from the bath, semilog and log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    several = cmp["samples_gamma2"].shape[0] > 1
    for ax, logx in ((axes[0], False), (axes[1], True)):
        if several:
            for i, s in enumerate(cmp["samples_gamma2"]):
                ax.plot(cmp["x"], s, "-", color="C0", lw=0.6, alpha=0.35,
                        label=r"one sample $\Gamma_2$" if i == 0 else None)
        ax.errorbar(cmp["x"], cmp["gamma2"], yerr=cmp["gamma2_err"], fmt="o", ms=3,
                    label=(r"simulation $\Gamma_2$, geometric mean of %d samples" % cmp["samples_gamma2"].shape[0])
                    if several else r"simulation $\Gamma_2$")
        ax.plot(cmp["x"], cmp["mf_gamma2"], "k-", lw=1, label=r"App. B mean-field chain $\Gamma_2$")
        if "rule_chain_gamma2" in cmp:
            ax.plot(cmp["x"], cmp["rule_chain_gamma2"], "k:", lw=1.2,
                    label=r"rule-sum chain with the samples' couplings $\Gamma_2$")
        ax.plot(cmp["x"], cmp["gamma1"], "s", ms=2, color="C1", label=r"simulation $\Gamma_1$")
        ax.plot(cmp["x"], cmp["mf_gamma1"], "--", color="C1", lw=1, label=r"mean field $\Gamma_1$")
        ax.set_yscale("log")
        if logx:
            ax.set_xscale("log")
        ax.set_xlabel("distance from the bath (dots)")
        ax.legend(fontsize=7)
    axes[0].set_title("self-consistent profile, semilog", fontsize=9)
    axes[1].set_title("log-log", fontsize=9)
    return save_figure(fig, path)
