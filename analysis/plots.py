"""Figures of a single run: echo decays with the exact curves, trajectories."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402


def save_figure(fig, path: str | Path) -> Path:
    """Lay out, write as PNG (creating the folder) and close a figure."""
    path = Path(path)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_run(ds: xr.Dataset, path: str | Path, exact: bool = True, max_probes: int = 6) -> Path:
    """Echo and Ramsey decays of a few probes (points with error bars) against the
    exact product (lines, SPEC §5), the probe-averaged echo, and one energy
    trajectory. Saves a PNG and returns its path."""
    path = Path(path)
    tau = ds["tau"].values
    P = ds.sizes["probe"]
    pick = np.unique(np.linspace(0, P - 1, min(P, max_probes)).round().astype(int))
    ref = None
    if exact:
        try:
            from .compare import exact_signals

            sub = ds.isel(probe=pick)
            ref = exact_signals(sub)
        except Exception as exc:  # exact reference unavailable (e.g. hop with M > 8)
            print(f"note: exact curves not drawn ({exc})")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    colors = plt.cm.viridis(np.linspace(0, 0.9, pick.size))
    for ax, name, title in ((axes[0], "echo", "Hahn echo"), (axes[1], "ramsey", "Ramsey (FID)")):
        for c, (i, p) in zip(colors, enumerate(pick)):
            ax.errorbar(tau, ds[name].values[p], yerr=ds[name + "_stderr"].values[p], fmt="o", ms=3,
                        color=c, label=f"probe {p} (dot {int(ds['probe_dot'][p])})")
            if ref is not None:
                ax.plot(tau, ref[name][i], "-", color=c, lw=1)
        ax.axhline(np.exp(-1), color="gray", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(r"$\tau$  [1/$\gamma$]")
        ax.set_title(title + (" — points: simulation, lines: exact" if ref is not None else ""), fontsize=10)
    axes[0].plot(tau, np.nanmean(ds["echo"].values, axis=0), "k--", lw=2, label="probe average")
    axes[0].set_ylabel("signal (real part)")
    axes[0].legend(fontsize=7)
    ax = axes[2]
    if ds.sizes.get("traj_probe", 0) and ds.sizes.get("time", 0):
        t = ds["time"].values
        for i in range(ds.sizes["traj_probe"]):
            ax.step(t, ds["energy"].values[i], where="post", lw=0.8,
                    label=f"probe {int(ds['traj_probe_index'][i])}")
        ax.set_xlabel(r"$t$  [1/$\gamma$]")
        ax.set_ylabel(r"$\epsilon_i(t)$")
        ax.set_title("spectral diffusion: level energy", fontsize=10)
        ax.legend(fontsize=7)
    else:
        ax.axis("off")
    g2 = float(ds["gamma2_echo_typical"])
    fig.suptitle(f"{ds.attrs.get('kind', '')} dynamics — typical $\\Gamma_2$ (echo) = {g2:.3g}, "
                 f"events = {int(ds['n_events']):.3g}", fontsize=11)
    return save_figure(fig, path)


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
