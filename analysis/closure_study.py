"""Studies built on the self-consistent loop (issue 5): fixed points over a sweep,
and the critical coupling of finite chains against the 1/L law (paper Fig. 7)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr

from simulator import build_model
from simulator.config import Config
from simulator.sweep import expand

from .plots import save_figure
from .closure import growth_factor, law, run_loop
from .meanfield.chain import critical_coupling, fit_power_law
from .meanfield.selfconsistent import gamma2_eq19_corrected, gamma2_eq19_printed, solve_selfconsistent


def _label(member) -> str:
    return "_".join(f"{k.split('.')[-1]}={v}" for k, v in member.values.items()) or "base"


def fixed_point_study(config: Config, outdir: str | Path, log=None) -> list[dict]:
    """One loop per [sweep] member (e.g. a list of selfconsistent.Xi, or of
    selfconsistent.gamma1_init to start above and below); each row: parameters,
    status, iterations, the simulated fixed point (median over dots), and the
    homogeneous mean-field solutions of Eq. (12) + Eq. (16)/(17) with the real
    transition count (stable roots)."""
    outdir = Path(outdir)
    rows = []
    for member in expand(config):
        c = member.config
        hist = run_loop(c, outdir / _label(member), log=log)
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
        rows.append({**member.values, **extra, "label": _label(member), "status": hist.attrs["status"],
                     "iterations": hist.sizes["iteration"], "Xi_logK": sc["Xi"] * math.log(sc["K"]),
                     "law": law(c), "gamma1": g1, "gamma2": g2, "gamma2_err": g2_err,
                     "mf_gamma1": mf.gamma1 if mf else np.nan, "mf_gamma2": mf.gamma2 if mf else np.nan,
                     "history": hist})
    return rows


def critical_study(config: Config, iterations: int = 6, log=None) -> list[dict]:
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


def bath_chain_comparison(hist: xr.Dataset, config: Config) -> dict:
    """Final self-consistent profile of a chain with a bath at its left end against
    the Appendix-B mean-field chain with the same L, gamma/delta_m, bath rate and
    n_tr (analysis.meanfield.chain.solve_chain, boundary='bath')."""
    from .meanfield.chain import solve_chain

    sc = config["selfconsistent"]
    bath = config["dynamics"]["bath"]
    L = config["lattice"]["L"]
    width = bath["width"]
    g2 = hist["gamma2"].values[-1]
    err = hist["gamma2_stderr"].values[-1]
    mf = solve_chain(L - width, config["couplings"]["gamma"] / sc["delta_m"], xi=config["couplings"]["xi"],
                     gamma=config["couplings"]["gamma"], boundary="bath", bath_gamma1=bath["gamma1"],
                     bath_width=width, n_tr=float(config["lattice"]["levels"]))
    return {"x": np.arange(1, L - width + 1), "gamma2": g2[width:], "gamma2_err": err[width:],
            "gamma1": hist["gamma1_next"].values[-1][width:], "mf_gamma2": mf.gamma2, "mf_gamma1": mf.gamma1,
            "mf_status": mf.status}


def plot_bath_chain(cmp: dict, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, logx in ((axes[0], False), (axes[1], True)):
        ax.errorbar(cmp["x"], cmp["gamma2"], yerr=cmp["gamma2_err"], fmt="o", ms=3, label=r"simulation $\Gamma_2$")
        ax.plot(cmp["x"], cmp["mf_gamma2"], "k-", lw=1, label=r"App. B mean-field chain $\Gamma_2$")
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
