"""Reproductions of the paper's Figs. 4-9 from the equations (PNG files).

Parameters the paper does not state are fixed here and documented in
docs/meanfield.md:

* Figs. 4-6: ``gamma = 1`` (unit), ``N2 = N^2 = 100``, ``log K = 2``
  (``Xi = kappa / log K``), ``z = 2 d``.  Fig. 4's "gamma/N^2 delta_m = 0.1"
  is read as the combination that enters Eqs. (19)-(20),
  ``g = N^2 gamma/delta_m = 0.1``.  Fig. 6 uses ``g = 1e-3`` (with g = 0.1
  the optimal order is below 2 for every kappa shown).
* Figs. 7-9: chain of :mod:`analysis.meanfield.chain`, ``gamma = 1``,
  Eq. (17) site by site; Figs. 8-9 use ``xi = 0.3`` ("small localization
  lengths") and a bath rate ``Gamma_1 = gamma`` on one boundary dot.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import chain as _chain
from .dot import fock_order_Nc, gamma_n_order
from .selfconsistent import (gamma1_eq19_corrected, gamma2_eq18, gamma2_eq19_corrected, gamma2_eq19_printed,
                             solve_selfconsistent)

__all__ = ["fig4", "fig5", "fig6", "fig7", "fig8", "fig9", "make_all", "FIGURES"]

GAMMA = 1.0
N2 = 100.0
LOGK = 2.0
K = float(np.exp(LOGK))


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, outdir, name):
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / name
    fig.savefig(path, dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return path


def fig4(outdir="docs/figures", g=0.1, d=1):
    """Fig. 4: log10 Gamma_2 against Xi log K (d = 1, N^2 gamma/delta_m = 0.1)."""
    plt = _plt()
    dm = N2 * GAMMA / g
    kap = np.linspace(0.6, 2.0, 281)
    Xi = kap / LOGK
    corr = gamma2_eq19_corrected(GAMMA, dm, N2, d, Xi, K)
    prin = gamma2_eq19_printed(GAMMA, dm, N2, d, Xi, K)
    nolog = gamma2_eq18(GAMMA, dm, N2, 2 * d, Xi, K)
    ks = np.array([0.6, 0.8, 0.9, 1.0, 1.1, 1.3, 1.6, 1.9])
    num = []
    for k in ks:
        roots = [r for r in solve_selfconsistent(GAMMA, dm, N2, d, k / LOGK, K) if r.gamma1 > 0 and r.stable]
        num.append(roots[0].gamma2 if roots else np.nan)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(kap, np.log10(corr), "k-", lw=2, label="with log correction: exact (Eq. 19 corrected)")
    ax.plot(kap, np.log10(prin), "C0:", lw=1.5, label="Eq. (19) as printed")
    m = kap > 1.0
    with np.errstate(divide="ignore"):
        ax.plot(kap[m], np.log10(nolog[m]), "k--", lw=1.5, label="without log correction (Eq. 18)")
    ax.plot(ks, np.log10(num), "o", color="C3", ms=5, label="numerical root, Eq. 12 + Eq. 16/17")
    ax.axvline(1.0, color="0.7", lw=0.8)
    ax.set_ylim(-45, 1)
    ax.set_xlabel(r"$\Xi \log K$")
    ax.set_ylabel(r"$\log_{10}(\Gamma_2/\gamma)$")
    ax.set_title(r"Fig. 4: $d=1$, $N^2\gamma/\delta_m=0.1$, $N^2=100$, $\log K=2$")
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, outdir, "fig4_gamma2_vs_XilogK.png")


def fig5(outdir="docs/figures", kappa=1.1, d=3):
    """Fig. 5: Gamma_1, Gamma_2 in d = 3 for Xi log K = 1.1, with and without the log correction."""
    plt = _plt()
    g = np.logspace(-9, -1, 161)
    dm = N2 * GAMMA / g
    Xi = kappa / LOGK
    g1 = gamma1_eq19_corrected(GAMMA, dm, N2, d, Xi, K)
    g2 = gamma2_eq19_corrected(GAMMA, dm, N2, d, Xi, K)
    z = 2 * d
    g2n = gamma2_eq18(GAMMA, dm, N2, z, Xi, K)
    g1n = g2n / (z * N2)
    ell = np.log(GAMMA / (N2 * g1))
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(g, np.log10(g2), "k-", lw=2, label=r"$\Gamma_2$ with log (left axis)")
    ax.plot(g, np.log10(g1), "C0-", lw=2, label=r"$\Gamma_1$ with log (left axis)")
    bad = ell <= d
    if np.any(bad):
        ax.axvspan(g[bad].min(), g[bad].max(), color="0.9", label=r"$\ell\leq d$: Eq. (12) not monotone")
    ax2 = ax.twinx()
    ax2.plot(g, np.log10(g2n), "k--", lw=1.5, label=r"$\Gamma_2$ without log (right axis)")
    ax2.plot(g, np.log10(g1n), "C0--", lw=1.5, label=r"$\Gamma_1$ without log (right axis)")
    ax.set_xscale("log")
    ax.set_xlabel(r"$N^2\gamma/\delta_m$")
    ax.set_ylabel(r"$\log_{10}(\Gamma/\gamma)$, with log correction")
    ax2.set_ylabel(r"$\log_{10}(\Gamma/\gamma)$, without (Eq. 18)")
    ax.set_title(r"Fig. 5: $d=3$, $\Xi\log K=1.1$, $N^2=100$, $z=6$")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
    return _save(fig, outdir, "fig5_selfconsistent_d3.png")


def fig6(outdir="docs/figures", g=1e-3, d=1, kappas_minus_1=(0.55, 0.3, 0.15)):
    """Fig. 6: Gamma_n against total order n at the self-consistent bath linewidth."""
    plt = _plt()
    dm = N2 * GAMMA / g
    n = np.arange(2, 31, dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    styles = {0.55: ("k--", 1.2), 0.3: ("k-", 0.8), 0.15: ("k-", 2.5)}
    for km1 in kappas_minus_1:
        Xi = (1 + km1) / LOGK
        G1 = gamma1_eq19_corrected(GAMMA, dm, N2, d, Xi, K)
        G2 = gamma2_eq19_corrected(GAMMA, dm, N2, d, Xi, K)
        w = float(G2**2 / G1)
        Gn = gamma_n_order(n, w, GAMMA, dm, Xi, K)
        Nc = float(fock_order_Nc(w, dm, K))
        st, lw = styles.get(km1, ("-", 1.0))
        ax.plot(n, Gn / Gn.max(), st, lw=lw, marker="o", ms=3,
                label=rf"$\Xi\log K-1={km1}$ ($N_c={Nc:.1f}$)")
    ax.set_xlabel(r"total order $n$ (system + bath)")
    ax.set_ylabel(r"$\Gamma_n/\max_n\Gamma_n$ (each curve rescaled)")
    ax.set_title(r"Fig. 6: $d=1$, $N^2\gamma/\delta_m=10^{-3}$, $\log K=2$")
    ax.legend(fontsize=8)
    return _save(fig, outdir, "fig6_gamma_n.png")


def fig7(outdir="docs/figures", Ls=(8, 16, 32, 64, 128, 256), Ls_b=(16, 32, 64)):
    """Fig. 7: critical gamma/delta_m of the pinned chain against L, with fit, and the bulk onset."""
    plt = _plt()
    crit_t, err = zip(*[_chain.critical_coupling(L, rtol=1e-6) for L in Ls])
    crit = np.array(crit_t)
    fit = _chain.fit_power_law(np.array(Ls, float), crit, sigma_log_y=np.array(err))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    ax.loglog(Ls, crit, "ko", label="bisection (pinned ends)")
    LL = np.logspace(np.log10(min(Ls)) - 0.1, np.log10(max(Ls)) + 0.1, 10)
    ax.loglog(LL, fit["prefactor"] * LL ** fit["exponent"], "C3-",
              label=rf"fit: $\propto L^{{{fit['exponent']:.4f}\pm{fit['exponent_err']:.1e}}}$")
    ax.set_xlabel("L (free dots)")
    ax.set_ylabel(r"critical $\gamma/\delta_m$")
    ax.set_title(r"Fig. 7: threshold for a bulk metal, $\Gamma_{1,2}=0$ at both ends")
    ax.legend(fontsize=8)
    below = np.array([0.5, 0.8, 0.95])
    above = np.array([1.2, 1.5, 2.0, 3.0, 4.0])
    data = []
    for L in Ls_b:
        ins = np.array([not _chain.chain_is_metallic(L, x / L) for x in below])
        g2s = []
        for x in above:
            r = _chain.solve_chain(L, x / L, seed=1e-3, classify=False, max_iter=20000, tol=1e-8, damping=0.9)
            g2s.append(r.gamma2[(L - 1) // 2] if r.status == "converged" else np.nan)
        data.append((L, ins, np.array(g2s)))
    bottom = min(np.nanmin(v) for _, _, v in data) / 100
    xs = np.linspace(1.0, 4.0, 40)
    for i, (L, ins, vals) in enumerate(data):
        bx.semilogy(above, vals, "o-", ms=4, color=f"C{i}", label=f"L = {L}: centre of the chain")
        bx.semilogy(below[ins], np.full(ins.sum(), bottom * 10 ** (i / 2)), "x", color=f"C{i}", ms=6)
        bx.semilogy(xs, [_chain.bulk_gamma2(x / L) for x in xs], ":", color=f"C{i}", lw=0.8)
    bx.text(0.5, bottom * 30, "x: iteration collapses to $\\Gamma_{1,2}=0$", fontsize=7)
    bx.axvline(1.0, color="0.5", ls="--", lw=0.8)
    bx.set_xlabel(r"$(\gamma/\delta_m)\,L$")
    bx.set_ylabel(r"$\Gamma_2/\gamma$ (dotted: infinite chain)")
    bx.set_title(r"onset of the bulk metal at $\gamma/\delta_m = 1/L$ ($\xi=1$)")
    bx.legend(fontsize=8)
    return _save(fig, outdir, "fig7_critical_vs_L.png")


def _bath_profiles(L, cs, xi, bath_gamma1=1.0):
    out = []
    for c in cs:
        r = _chain.solve_chain(L, c, xi=xi, boundary="bath", bath_gamma1=bath_gamma1,
                               r_cut=int(40 * xi) + 10, damping=0.9, tol=1e-10, max_iter=20000)
        out.append(r)
    return out


def fig8(outdir="docs/figures", L=150, cs=(0.12, 0.14, 0.16, 0.18), xi=0.3):
    """Fig. 8: linewidth falloff from a strong left-boundary bath, L = 150 (semilog)."""
    plt = _plt()
    res = _bath_profiles(L, cs, xi)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for i, (c, r) in enumerate(zip(cs, res)):
        ax.semilogy(r.x, r.gamma2, "-", color=f"C{i}", label=rf"$\gamma/\delta_m={c}$")
        ax.axhline(_chain.bulk_gamma2(c, xi=xi), color=f"C{i}", ls=":", lw=0.8)
    ax.set_xlabel("distance from the bath x (dots)")
    ax.set_ylabel(r"$\Gamma_2(x)/\gamma$")
    ax.set_title(rf"Fig. 8: bath $\Gamma_1=\gamma$ at x=0, L={L}, $\xi={xi}$ (dotted: bulk)")
    ax.legend(fontsize=8)
    return _save(fig, outdir, "fig8_bath_falloff_L150.png")


def fig9(outdir="docs/figures", L=800, cs=(0.08, 0.10, 0.12), xi=0.3, window=(4, 40)):
    """Fig. 9: linewidth falloff from a strong left-boundary bath, L = 800 (log-log)."""
    plt = _plt()
    res = _bath_profiles(L, cs, xi)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for i, (c, r) in enumerate(zip(cs, res)):
        ax.loglog(r.x, r.gamma2, "-", color=f"C{i}", label=rf"$\gamma/\delta_m={c}$")
        m = (r.x >= window[0]) & (r.x <= window[1])
        f = _chain.fit_power_law(r.x[m], r.gamma2[m])
        ax.loglog(r.x[m], f["prefactor"] * r.x[m] ** f["exponent"], "k--", lw=0.8)
        ax.text(r.x[m][-1] * 1.1, r.gamma2[m][-1], rf"$x^{{{f['exponent']:.2f}}}$", fontsize=7, color=f"C{i}")
    ax.set_xlabel("distance from the bath x (dots)")
    ax.set_ylabel(r"$\Gamma_2(x)/\gamma$")
    ax.set_title(rf"Fig. 9: L={L}, $\xi={xi}$; dashed: power-law fits on x={window[0]}-{window[1]}")
    ax.legend(fontsize=8)
    return _save(fig, outdir, "fig9_bath_falloff_L800.png")


FIGURES = {"4": fig4, "5": fig5, "6": fig6, "7": fig7, "8": fig8, "9": fig9}


def make_all(outdir="docs/figures", which=None):
    """Regenerate the figures (all, or the keys in ``which``) under ``outdir``; returns the paths."""
    keys = list(FIGURES) if not which else [str(w) for w in which]
    for k in keys:
        if k not in FIGURES:
            raise ValueError(f"parameter 'which' must name figures among {sorted(FIGURES)} (got {k!r})")
    return [FIGURES[k](outdir) for k in keys]
