r"""Spectral-diffusion studies of docs/spectral-diffusion.md §5 and §7.

* ``line`` (§5a): the Ramsey line of slow dipolar fluctuators at random positions in
  3D against the static Lorentzian of half-width Gamma* (:func:`analysis.spectral_exact.static_dipolar_rate`)
  and against the exact ensemble signal of the run's box.
* ``crossover-run`` / ``crossover`` (§5b): the mean Ramsey and echo decay rates against
  Gamma1/Gamma* at fixed density, from quasi-static to motional narrowing. The probes'
  own dots flip slowly (``probe_gamma1``, through ``simulator.run(..., gamma1=...)``) and
  their survival is divided out, so the probe's own flips do not mask the dephasing, as
  for the Poisson ensemble's probe (static probe dots would not do: a frozen set of
  static neighbours gives Re prod e^{+-i v tau}, not prod cos v tau).
* ``widths`` (§7): per-probe echo Gamma2 distributions at random positions against the
  hypercubic lattice at the same density and coupling law, with the exact per-probe Gamma2.

**The box ensemble.** The simulator places a fixed number N of dots uniformly in a
periodic box of volume V = L^d. Seen from a probe, the other dots are i.i.d. uniform in
the box, so with the probe's couplings cut at r_c <= L/2,

    <prod_j f_j> = prod over groups (1 - I_g / V)^{N_g},  I_g = int_{r < r_c} d^d r <1 - f>,

exactly, with ``I_g`` the Poisson-ensemble integral at unit density
(``-ensemble_log_signal`` of :class:`analysis.spectral_exact.PoissonEnsemble` with
``density = 1``). The Poisson form exp(-n I) differs by (n I)^2 / (2N) in the log
(:func:`box_log_signal`).

Run ``python -m analysis.studies.spectral --help``.
"""
from __future__ import annotations

import argparse
import math
import sys
import tomllib
from pathlib import Path
from typing import Sequence

import numpy as np
import xarray as xr

import simulator
from simulator.lineshape import line_shape

from ..estimates import censored_gamma2
from ..plots import save_figure
from ..result import Result
from ..spectral_exact import PoissonEnsemble, ensemble_log_signal, static_dipolar_rate
from ..sweeps import is_sweep, parameter_points

__all__ = ["ensemble_of", "box_log_signal", "crossing", "bootstrap", "line_row",
           "fit_lorentzian", "format_line_table", "plot_line", "crossover_config", "run_crossover",
           "crossover_row", "crossover_curve", "format_crossover_table", "plot_crossover",
           "width_stats", "width_row", "format_width_table", "plot_widths", "main"]

N_BOOT = 300  # bootstrap resamples over probes (fixed seed): errors to about 4 %


def _members(path: str | Path) -> list[tuple[dict, xr.Dataset]]:
    """(params, member) of every member of a sweep file, or ({}, run) of a single run."""
    ds = xr.open_dataset(path)
    if not is_sweep(ds):
        return [({}, ds)]
    return [(params, m) for params, members in parameter_points(ds) for m in members]


# ---------------------------------------------------------------------------
# Exact ensemble of a run's box
# ---------------------------------------------------------------------------

def ensemble_of(model: simulator.Model, gamma1: float, density: float = 1.0,
                r_c: float | None = None) -> PoissonEnsemble:
    """The :class:`PoissonEnsemble` of a run's coupling law, rate ``gamma1`` and cutoff."""
    c = model.config["couplings"]
    form = c["form"]
    return PoissonEnsemble(density=density, d=model.d, envelope=form, gamma=float(c["gamma"]),
                           xi=float(c.get("xi", 1.0)), alpha=3.0 if form == "dipolar" else float(c.get("alpha", 3.0)),
                           amplitude=c["amplitude"], gamma1=gamma1,
                           r_c=float(model.cutoff) if r_c is None else r_c)


def box_log_signal(tau: np.ndarray, model: simulator.Model, kind: str,
                   groups: Sequence[tuple[int, float]], gamma1_self: float, poisson: bool = False) -> np.ndarray:
    r"""Exact log of the probe-averaged echo or Ramsey signal of a run's random box (module docstring).

    Parameters
    ----------
    tau : delays > 0.
    model : the run's model (coupling law, cutoff, box size L).
    kind : ``echo`` or ``ramsey``.
    groups : (number of dots, flip rate) of each group of neighbouring dots (M = 1).
    gamma1_self : the probe's own rate (survival e^{-gamma1_self tau}).
    poisson : the Poisson form exp(-n I) instead of the fixed-number form.
    """
    if model.M != 1:
        raise ValueError("box_log_signal: one level per dot only (a dot of M > 1 levels is a cluster)")
    V = float(model.L) ** model.d
    out = -gamma1_self * np.asarray(tau, dtype=float)
    for n_dots, g in groups:
        if n_dots == 0:
            continue
        integral = -ensemble_log_signal(tau, ensemble_of(model, g), kind)
        out = out + (-n_dots * integral / V if poisson else n_dots * np.log1p(-integral / V))
    return out


def crossing(tau: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """1/e crossing rate of the signal(s), as the simulator defines Gamma2 (docs/model.md §4)."""
    return simulator.crossing_rate(np.asarray(tau, dtype=float), np.atleast_2d(signal))


def bootstrap(x: np.ndarray, stat, n: int = N_BOOT, seed: int = 0) -> tuple[float, float]:
    """``stat`` of the rows of ``x`` and its bootstrap standard error over rows (probes)."""
    rng = np.random.default_rng(seed)
    P = x.shape[0]
    vals = np.array([stat(x[rng.integers(0, P, P)]) for _ in range(n)], dtype=float)
    vals = vals[np.isfinite(vals)]
    return float(stat(x)), float(vals.std(ddof=1)) if vals.size > 1 else math.nan


# ---------------------------------------------------------------------------
# §5a: the static dipolar line
# ---------------------------------------------------------------------------

def fit_lorentzian(omega: np.ndarray, line: np.ndarray, sigma: np.ndarray | None = None) -> tuple[float, float]:
    """Least-squares fit of ``A w / (pi (omega^2 + w^2))``: returns (w, A)."""
    from scipy.optimize import curve_fit

    ok = np.isfinite(line)
    peak = float(np.nanmax(line))
    w0 = 1.0 / (math.pi * peak) if peak > 0 else 1.0
    f = lambda o, w, a: a * w / (math.pi * (o * o + w * w))  # noqa: E731
    s = None if sigma is None else np.maximum(sigma[ok], 1e-12)
    (w, a), _ = curve_fit(f, omega[ok], line[ok], p0=(w0, 1.0), sigma=s, maxfev=5000)
    return abs(float(w)), float(a)


def _raw_lines(tau: np.ndarray, omega: np.ndarray, R: np.ndarray, cut: int) -> tuple[np.ndarray, np.ndarray]:
    """Un-normalised lines of the rows of ``R`` cut at grid index ``cut`` (the simulator's rule,
    docs/model.md §4), and the area weights: the line of a mean is the normalised mean of these."""
    from simulator.lineshape import area_weights, spline_filon_weights

    nodes = np.concatenate([[0.0], tau[:cut + 1]])
    W = spline_filon_weights(nodes, omega) / np.pi
    full = np.concatenate([np.ones((R.shape[0], 1)), R[:, :cut + 1]], axis=1).astype(complex)
    return (full @ W.T).real, area_weights(omega)


def _lorentz_distance(omega: np.ndarray, y: np.ndarray) -> float:
    """Relative L2 distance of a line from its best-fit Lorentzian (NaN for no line)."""
    if not np.all(np.isfinite(y)):
        return math.nan
    w, a = fit_lorentzian(omega, y)
    return float(np.linalg.norm(y - a * w / (math.pi * (omega ** 2 + w ** 2))) / np.linalg.norm(y))


def line_row(params: dict, members: Sequence[xr.Dataset]) -> dict:
    """One density of the static-line study (its realizations pooled): 1/e rates of the
    probe-mean Ramsey signal and half-widths of its line, measured and exact."""
    results = [Result(m) for m in members]
    model = results[0].model
    ds0 = members[0]
    g1 = float(model.config["dynamics"]["gamma1"])
    density = float(model.config["lattice"]["density"])
    N = model.gamma1.size
    tau, omega = ds0["tau"].values, ds0["omega"].values
    tail = float(model.config["run"]["lineshape"]["tail"])
    cpl = model.config["couplings"]
    gstar = static_dipolar_rate(density, float(cpl["gamma"]), cpl["amplitude"])
    R = np.concatenate([m["ramsey"].values for m in members])
    sig = np.concatenate([m["ramsey_stderr"].values for m in members])
    P = R.shape[0]
    m = R.mean(0)
    stat_indep = np.sqrt(np.sum(sig ** 2, axis=0)) / P   # probes independent
    stat_bound = sig.mean(0)                              # any correlation between probes
    dis = R.std(0, ddof=1) / math.sqrt(P)
    ex_probe = np.concatenate([r.exact["ramsey"] for r in results]).mean(0)
    log_box = box_log_signal(tau, model, "ramsey", [(N - 1, g1)], g1)
    log_poisson = box_log_signal(tau, model, "ramsey", [(N - 1, g1)], g1, poisson=True)
    box = np.exp(log_box)
    rate, rate_err = bootstrap(R, lambda x: crossing(tau, x.mean(0))[0])
    z_indep = (m - ex_probe) / stat_indep
    z_bound = (m - ex_probe) / stat_bound
    # the ensemble's linear short-time decay comes from rare close pairs (a neighbour with
    # v > 1/tau, about Gamma* tau of the probes): compare only where P Gamma* tau >= 10
    use = (P * gstar * tau >= 10.0) & (box > math.exp(-4.0))
    z_box = (m - box)[use] / np.hypot(dis, stat_bound)[use]
    # lines of the mean: measured (pooled), and the exact box signal, through the same rule and cut
    cut = int(line_shape(tau, m.astype(complex), omega, tail, stat_bound)[2])
    if cut < 0:
        raise ValueError(f"the probe-mean Ramsey signal has not decayed inside the tau grid (density {density:g}); "
                         "raise run.tau.max")
    raw, area = _raw_lines(tau, omega, R, cut)
    norm = lambda y: y / (y @ area)  # noqa: E731
    line_mean, bound, _ = line_shape(tau, m.astype(complex), omega, tail, stat_bound, cut=np.array(cut))
    hw, hw_err = bootstrap(raw, lambda x: fit_lorentzian(omega, norm(x.mean(0)))[0])
    line_box = norm(_raw_lines(tau, omega, box[None, :], cut)[0][0])
    hw_box = fit_lorentzian(omega, line_box)[0]
    lines = np.concatenate([mm["lineshape"].values for mm in members])
    per_probe = np.array([_lorentz_distance(omega, y) for y in lines])
    lor_mean = _lorentz_distance(omega, line_mean)
    ok = box > math.exp(-4.0)
    return dict(params, density=density, gamma1=g1, N=N, probes=P, realizations=len(members),
                r_c=float(model.cutoff), gstar=gstar, rate=rate, rate_err=rate_err,
                rate_box=float(crossing(tau, box)[0]), rate_probe_exact=float(crossing(tau, ex_probe)[0]),
                poisson_vs_box=float(np.max(np.abs(log_poisson - log_box)[ok])),
                z_indep_mean2=float(np.mean(z_indep ** 2)), z_bound_max=float(np.max(np.abs(z_bound))),
                z_indep_max=float(np.max(np.abs(z_indep))),
                z_box_mean2=float(np.mean(z_box ** 2)), z_box_max=float(np.max(np.abs(z_box))), z_box_n=int(use.sum()),
                hw=hw, hw_err=hw_err, hw_box=hw_box, tau_cut=float(tau[cut]), cut_fraction=float(box[cut]),
                lor_mean=lor_mean, lor_probe_median=float(np.nanmedian(per_probe)),
                lor_probe_frac=float(np.nanmean(per_probe > 3 * lor_mean)),
                probe_lines_nan=int(np.sum(~np.isfinite(per_probe))),
                _tau=tau, _mean=m, _err=np.hypot(stat_bound, dis), _box=box, _omega=omega,
                _line=line_mean, _line_err=bound, _line_box=line_box, _lines=lines, _ds=ds0)


def format_line_table(rows: list[dict]) -> str:
    head = ("| density | N | probes | Γ* | 1/e rate of ⟨R⟩ | exact (box) | exact per-probe mean | "
            "half-width of line | exact (box) | max abs(z) vs exact per-probe mean | mean z² vs box (points) | "
            "Lorentz distance: mean line | per-probe median |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    body = [f"| {r['density']:g} | {r['N']} | {r['probes']} | {r['gstar']:.4f} | "
            f"{r['rate']:.4f} ± {r['rate_err']:.4f} | {r['rate_box']:.4f} | {r['rate_probe_exact']:.4f} | "
            f"{r['hw']:.4f} ± {r['hw_err']:.4f} | {r['hw_box']:.4f} | {r['z_bound_max']:.2f} | "
            f"{r['z_box_mean2']:.2f} ({r['z_box_n']}) | {r['lor_mean']:.3f} | {r['lor_probe_median']:.3f} |"
            for r in rows]
    return "\n".join([head] + body)


def plot_line(rows: list[dict], path: str | Path, n_probe_lines: int = 3) -> Path:
    """Three panels: <R> against Gamma* tau, the mean lines, per-probe lines of the densest run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..exact.lineshape import run_exact_lines

    fig, ax = plt.subplots(1, 3, figsize=(14, 4.3))
    for k, r in enumerate(rows):
        c = f"C{k}"
        x = r["gstar"] * r["_tau"]
        ax[0].errorbar(x, r["_mean"], r["_err"], fmt="o", ms=3, color=c, label=f"n = {r['density']:g}")
        ax[0].plot(x, r["_box"], "-", color=c, lw=1)
        o = r["_omega"] / r["gstar"]
        ax[1].fill_between(o, (r["_line"] - r["_line_err"]) * r["gstar"], (r["_line"] + r["_line_err"]) * r["gstar"],
                           color=c, alpha=0.25, lw=0)
        ax[1].plot(o, r["_line"] * r["gstar"], ".", ms=2, color=c,
                   label=f"n = {r['density']:g}: w = {r['hw']:.3f} ± {r['hw_err']:.3f}")
        ax[1].plot(o, r["_line_box"] * r["gstar"], "-", color=c, lw=1)
    xx = np.linspace(0, 6, 100)
    ax[0].plot(xx, np.exp(-xx), "k--", lw=1, label=r"$e^{-\Gamma^*\tau}$")
    ax[0].set_yscale("log")
    ax[0].set_ylim(1e-3, 1.2)
    ax[0].set_xlim(0, 6)
    ax[0].set_xlabel(r"$\Gamma^*\tau$")
    ax[0].set_ylabel(r"probe-mean Ramsey $\langle R\rangle$ (lines: exact box ensemble)")
    ax[0].legend(fontsize=7)
    oo = np.linspace(-8, 8, 400)
    ax[1].plot(oo, 1 / (math.pi * (1 + oo ** 2)), "k--", lw=1, label="Lorentzian, half-width Γ*")
    ax[1].set_xlim(-8, 8)
    ax[1].set_xlabel(r"$\omega/\Gamma^*$")
    ax[1].set_ylabel(r"$\Gamma^* S(\omega)$ (mean line; lines: exact)")
    ax[1].legend(fontsize=7)
    r = rows[-1]
    ds = r["_ds"]
    picks = np.arange(min(n_probe_lines, ds.sizes["probe"]))
    ex = run_exact_lines(ds, probes=picks, tol=1e-4)
    o = r["_omega"] / r["gstar"]
    for j, p in enumerate(picks):
        ax[2].plot(o, r["_lines"][p] * r["gstar"] + 0.6 * j, ".", ms=2, color=f"C{j}")
        ax[2].plot(o, ex["line"][j] * r["gstar"] + 0.6 * j, "-", lw=0.8, color=f"C{j}")
    ax[2].plot(oo, 1 / (math.pi * (1 + oo ** 2)), "k--", lw=1)
    ax[2].set_xlim(-8, 8)
    ax[2].set_xlabel(r"$\omega/\Gamma^*$")
    ax[2].set_ylabel(r"$\Gamma^* S_i(\omega)$ + offset")
    ax[2].set_title(f"per-probe lines, n = {r['density']:g} (dots: measured, lines: exact)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# §5b: the crossover to motional narrowing
# ---------------------------------------------------------------------------

def _load_toml(path: str | Path) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def crossover_config(base: dict, gamma1: float) -> tuple[dict, float]:
    """The run configuration at one ``gamma1`` (tau range and run length from the exact
    ensemble's 1/e times) and Gamma*. ``base`` is the study TOML ([study] table: ``gamma1``
    list, ``tau_factor``, ``windows_factor``, ``flips``, ``probe_gamma1``, ``probe_flips``)."""
    cfg = {k: dict(v) for k, v in base.items() if k != "study"}
    st = base["study"]
    lat, cpl = cfg["lattice"], cfg["couplings"]
    gstar = static_dipolar_rate(lat["density"], cpl["gamma"], cpl["amplitude"])
    ens = PoissonEnsemble(density=lat["density"], d=3, envelope="dipolar", gamma=cpl["gamma"],
                          amplitude=cpl["amplitude"], gamma1=gamma1, r_c=float(cpl["cutoff"]))
    t = np.geomspace(1e-3, 1e4, 200) / gstar
    slow = max(1.0 / crossing(t, np.exp(ensemble_log_signal(t, ens, k)))[0] for k in ("echo", "ramsey"))
    tau_max = float(st["tau_factor"] * slow)
    t_max = max(st["flips"] / gamma1, st["windows_factor"] * tau_max, st["probe_flips"] / st["probe_gamma1"])
    cfg["dynamics"] = dict(cfg["dynamics"], gamma1=gamma1)
    cfg["run"] = dict(cfg["run"], t_max=float(t_max), tau=dict(cfg["run"]["tau"], max=tau_max))
    return cfg, gstar


def _member_paths(base: dict, out_dir: Path) -> list[list[Path]]:
    return [[out_dir / f"gamma1-{g:.3g}-r{k}.nc" for k in range(int(base["study"]["realizations"]))]
            for g in base["study"]["gamma1"]]


def run_crossover(config: str | Path, out_dir: str | Path, threads: int = 1, log=print) -> list[list[Path]]:
    """Run every ``gamma1`` and realization of the study TOML with the probes' own dots slow
    (``probe_gamma1``, module docstring); skips members already on disk."""
    base = _load_toml(config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = _member_paths(base, out_dir)
    for g1, members in zip(base["study"]["gamma1"], paths):
        cfg, _ = crossover_config(base, float(g1))
        for k, path in enumerate(members):
            if path.exists():
                continue
            cfg_k = dict(cfg, run=dict(cfg["run"], seed=int(cfg["run"]["seed"]) + 1000 * k))
            config_obj = simulator.load_config(cfg_k)
            model = simulator.build_model(config_obj)
            rates = np.full(model.gamma1.size, float(g1))
            rates[model.probe_dot] = float(base["study"]["probe_gamma1"])
            ds = simulator.run(config_obj, path, gamma1=rates, probes=model.probes, progress=False, threads=threads)
            log(f"gamma1 = {g1:g} r{k}: {int(ds['n_events'])} events, t_max {float(ds.attrs['simulated_time']):.4g}, "
                f"{float(ds.attrs['wall_time']):.1f} s -> {path}")
    return paths


def crossover_row(members: Sequence[xr.Dataset]) -> dict:
    """Measured and exact 1/e rates of the probe-mean Ramsey and echo at one Gamma1 (realizations
    pooled). The probe's own survival e^{-g_p tau} (g_p its dot's rate) is divided out of the
    measured and the exact per-probe signals: for flip dynamics it is independent of the phase
    (the own level does not enter its energy), and g_p tau << 1 here, so the errors barely grow."""
    results = [Result(m) for m in members]
    model = results[0].model
    g = model.gamma1
    P = members[0].sizes["probe"]
    g_p = float(g[model.probe_dot[0]])
    g1 = float(np.median(g))
    groups = [(int(g.size - P), g1), (P - 1, g_p)]
    density = float(model.config["lattice"]["density"])
    cpl = model.config["couplings"]
    gstar = static_dipolar_rate(density, float(cpl["gamma"]), cpl["amplitude"])
    tau = members[0]["tau"].values
    own = np.exp(-g_p * tau)
    row: dict = dict(gamma1=g1, gamma1_probe=g_p, gstar=gstar, density=density, probes=P * len(members), N=g.size,
               realizations=len(members), t_max=float(members[0].attrs["simulated_time"]),
               events=int(sum(int(m["n_events"]) for m in members)))
    for kind in ("ramsey", "echo"):
        x = np.concatenate([m[kind].values for m in members]) / own
        sig = np.concatenate([m[kind + "_stderr"].values for m in members]) / own
        n = x.shape[0]
        mean = x.mean(0)
        stat = np.sqrt(np.sum(sig ** 2, axis=0)) / n
        dis = x.std(0, ddof=1) / math.sqrt(n)
        box = np.exp(box_log_signal(tau, model, kind, groups, 0.0))
        ex = np.concatenate([r.exact[kind] for r in results]).mean(0) / own
        rate, err = bootstrap(x, lambda y: crossing(tau, y.mean(0))[0])
        # points where the neighbours have dephased the mean by at least 1 %: below, the few
        # windows that see a neighbour change make the batch-means error too small (docs/model.md §4)
        use = (1.0 - ex >= 0.01) & (stat > 0)
        z = (mean - ex)[use] / stat[use]
        zb = (mean - box)[use & (box > math.exp(-4))] / np.hypot(stat, dis)[use & (box > math.exp(-4))]
        row.update({kind: rate, kind + "_err": err, kind + "_box": float(crossing(tau, box)[0]),
                    kind + "_probe_exact": float(crossing(tau, ex)[0]),
                    kind + "_z2": float(np.mean(z ** 2)), kind + "_zmax": float(np.max(np.abs(z))),
                    kind + "_zbox2": float(np.mean(zb ** 2)), kind + "_n": int(use.sum()),
                    "_" + kind: mean, "_" + kind + "_err": np.hypot(stat, dis), "_" + kind + "_box": box})
    row["_tau"] = tau
    return row


def crossover_curve(density: float, r_c: float, gamma1: np.ndarray, amplitude: str = "gauss") -> dict[str, np.ndarray]:
    """Exact Poisson-ensemble 1/e rates of <R> and <E> against gamma1 (probe without own flips),
    at the runs' cutoff and at r_c = inf."""
    out: dict[str, np.ndarray] = {"gamma1": np.asarray(gamma1, dtype=float)}
    gstar = static_dipolar_rate(density, 1.0, amplitude)
    t = np.geomspace(1e-3, 1e5, 160) / gstar
    for label, rc in (("", r_c), ("_inf", math.inf)):
        for kind in ("ramsey", "echo"):
            vals = []
            for g in out["gamma1"]:
                ens = PoissonEnsemble(density=density, d=3, envelope="dipolar", amplitude=amplitude,
                                      gamma1=float(g), r_c=rc)
                vals.append(crossing(t, np.exp(ensemble_log_signal(t, ens, kind)))[0])
            out[kind + label] = np.array(vals)
    return out


def format_crossover_table(rows: list[dict]) -> str:
    head = ("| Γ1/Γ* | events | Ramsey rate/Γ* | exact (box) | exact per-probe mean | mean z² | "
            "echo rate/Γ* | exact (box) | exact per-probe mean | mean z² |\n|---|---|---|---|---|---|---|---|---|---|")
    body = []
    for r in rows:
        s = r["gstar"]
        body.append(f"| {r['gamma1'] / s:.3g} | {r['events']:.3g} | "
                    f"{r['ramsey'] / s:.4f} ± {r['ramsey_err'] / s:.4f} | "
                    f"{r['ramsey_box'] / s:.4f} | {r['ramsey_probe_exact'] / s:.4f} | {r['ramsey_z2']:.2f} | "
                    f"{r['echo'] / s:.4f} ± {r['echo_err'] / s:.4f} | {r['echo_box'] / s:.4f} | "
                    f"{r['echo_probe_exact'] / s:.4f} | {r['echo_z2']:.2f} |")
    return "\n".join([head] + body)


def plot_crossover(rows: list[dict], curve: dict, path: str | Path) -> Path:
    """Rates against Gamma1/Gamma* with exact curves and asymptotes; the mean signals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = rows[0]["gstar"]
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    x = curve["gamma1"] / s
    ax[0].plot(x, curve["ramsey"] / s, "C0-", lw=1.2, label="Ramsey, exact ensemble (r_c of the runs)")
    ax[0].plot(x, curve["ramsey_inf"] / s, "C0:", lw=1, label=r"Ramsey, exact ensemble, $r_c=\infty$")
    ax[0].plot(x, curve["echo"] / s, "C1-", lw=1.2, label="echo, exact ensemble")
    ax[0].plot(x, curve["echo_inf"] / s, "C1:", lw=1)
    ax[0].axhline(1.0, color="k", ls="--", lw=0.8, label=r"static: $\Gamma^*$")
    ax[0].plot(x, 2 / (math.pi * x), "k-.", lw=0.8, label=r"fast: $2\Gamma^{*2}/(\pi\Gamma_1)$")
    ax[0].plot(x, np.sqrt(x / 2), "k:", lw=0.8, label=r"slow echo: $\sqrt{\Gamma^*\Gamma_1/2}$")
    gx = np.array([r["gamma1"] for r in rows]) / s
    for kind, c in (("ramsey", "C0"), ("echo", "C1")):
        ax[0].errorbar(gx, [r[kind] / s for r in rows], [r[kind + "_err"] / s for r in rows], fmt="o", color=c,
                       ms=5, label=f"{kind}, measured")
        ax[0].plot(gx, [r[kind + "_probe_exact"] / s for r in rows], "kx", ms=5,
                   label="exact per-probe mean, same probes" if kind == "echo" else None)
    ax[0].set_xscale("log")
    ax[0].set_yscale("log")
    ax[0].set_ylim(0.02, 2)
    ax[0].set_xlabel(r"$\Gamma_1/\Gamma^*$")
    ax[0].set_ylabel(r"1/e rate of the probe mean $/\Gamma^*$")
    ax[0].legend(fontsize=6.5)
    for k, r in enumerate(rows):
        c = f"C{k}"
        t = r["_tau"] * s
        ax[1].errorbar(t, r["_ramsey"], r["_ramsey_err"], fmt="o", ms=2.5, color=c,
                       label=f"Γ1/Γ* = {r['gamma1'] / s:.2g}")
        ax[1].plot(t, r["_ramsey_box"], "-", lw=0.8, color=c)
    ax[1].set_xscale("log")
    ax[1].set_xlabel(r"$\Gamma^*\tau$")
    ax[1].set_ylabel(r"$\langle R\rangle$ (dots: measured; lines: exact box ensemble)")
    ax[1].legend(fontsize=6.5)
    fig.tight_layout()
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# §7: linewidth distributions
# ---------------------------------------------------------------------------

def width_stats(g: np.ndarray) -> dict[str, float]:
    """Width of a per-probe Gamma2 sample: interquartile range and 5-95 % range of log10 Gamma2,
    the fraction of probes more than a factor 1.5 from the median (``outliers``) and the
    fraction beyond Tukey's fences, 1.5 IQR outside the quartiles (``tukey``)."""
    g = g[np.isfinite(g) & (g > 0)]
    if g.size < 2:
        raise ValueError("fewer than 2 probes with a finite echo Gamma2 "
                         "(the echo did not cross 1/e inside the tau grid)")
    lg = np.log10(g)
    q5, q25, q50, q75, q95 = np.percentile(lg, [5, 25, 50, 75, 95])
    return {"median": float(10 ** q50), "iqr": float(q75 - q25), "r90": float(q95 - q5),
            "outliers": float(np.mean(np.abs(lg - q50) > math.log10(1.5))),
            "tukey": float(np.mean((lg < q25 - 1.5 * (q75 - q25)) | (lg > q75 + 1.5 * (q75 - q25))))}


def width_row(params: dict, ds: xr.Dataset) -> dict:
    """Measured and exact per-probe Gamma2 widths of one run, with bootstrap errors."""
    res = Result(ds)
    model = res.model
    meas = censored_gamma2(ds)
    exact = res.gamma2_exact
    row = dict(params, kind=model.config["lattice"]["kind"], d=model.d, form=model.config["couplings"]["form"],
               gamma1=float(model.config["dynamics"]["gamma1"]), probes=meas.size,
               censored=int(np.sum(~np.isfinite(ds["gamma2_echo"].values))),
               _meas=meas, _exact=exact)
    for label, g in (("", meas), ("exact_", exact)):
        for key in ("median", "iqr", "r90", "outliers", "tukey"):
            v, e = bootstrap(g[:, None], lambda x, key=key: width_stats(x[:, 0])[key])
            row[label + key], row[label + key + "_err"] = v, e
    return row


def format_width_table(rows: list[dict]) -> str:
    head = ("| case | positions | probes | median Γ2 | exact | IQR of log10 Γ2 | exact | 5–95 % range | exact | "
            "beyond ×1.5 of median | exact | beyond Tukey fences | exact |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    body = [f"| {r['form']} {r['d']}D, Γ1 = {r['gamma1']:g} | {r['kind']} | {r['probes']} | "
            f"{r['median']:.4g} ± {r['median_err']:.2g} | {r['exact_median']:.4g} | "
            f"{r['iqr']:.3f} ± {r['iqr_err']:.3f} | {r['exact_iqr']:.3f} | {r['r90']:.3f} ± {r['r90_err']:.3f} | "
            f"{r['exact_r90']:.3f} | {r['outliers']:.3f} ± {r['outliers_err']:.3f} | {r['exact_outliers']:.3f} | "
            f"{r['tukey']:.3f} ± {r['tukey_err']:.3f} | {r['exact_tukey']:.3f} |"
            for r in rows]
    return "\n".join([head] + body)


def plot_widths(rows: list[dict], path: str | Path) -> Path:
    """Histograms of log10[Gamma2(i)/median], measured and exact, one panel per coupling law."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = sorted({(r["form"], r["d"]) for r in rows}, key=lambda c: (c[1], c[0]), reverse=True)
    fig, axes = plt.subplots(1, len(cases), figsize=(6 * len(cases), 4.3), squeeze=False)
    for ax, case in zip(axes[0], cases):
        sel = [r for r in rows if (r["form"], r["d"]) == case]
        allx = np.concatenate([np.log10(r["_exact"][r["_exact"] > 0] / r["exact_median"]) for r in sel])
        lim = max(0.3, float(np.nanmax(np.abs(allx[np.isfinite(allx)]))) * 1.05)
        bins = np.linspace(-lim, lim, 41)
        for k, r in enumerate(sel):
            c = f"C{k}"
            m = r["_meas"][np.isfinite(r["_meas"]) & (r["_meas"] > 0)]
            e = r["_exact"][np.isfinite(r["_exact"]) & (r["_exact"] > 0)]
            ax.hist(np.log10(e / r["exact_median"]), bins=bins.tolist(), histtype="stepfilled", alpha=0.25, color=c,
                    density=True, label=f"{r['kind']}: exact (IQR {r['exact_iqr']:.3f})")
            ax.hist(np.log10(m / r["median"]), bins=bins.tolist(), histtype="step", color=c, lw=1.3,
                    density=True, label=f"{r['kind']}: measured (IQR {r['iqr']:.3f} ± {r['iqr_err']:.3f})")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\log_{10}[\Gamma_2(i)/\mathrm{median}]$")
        ax.set_ylabel("density")
        ax.set_title(f"{case[0]} couplings, d = {case[1]}, density 1, Γ1 = {sel[0]['gamma1']:g}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def _write(text: str, path: Path | None) -> None:
    print(text)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text + "\n")
        tmp.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analysis.studies.spectral",
                                description="Spectral-diffusion studies (docs/spectral-diffusion.md §5, §7).")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("line", help="§5a: the static dipolar line (a density sweep)")
    a.add_argument("result")
    a.add_argument("--figures")
    b = sub.add_parser("crossover-run", help="§5b: run the crossover members (probe dots static)")
    b.add_argument("config")
    b.add_argument("--out", default=None, help="folder of the members (default results/<config name>)")
    b.add_argument("--threads", type=int, default=1)
    c = sub.add_parser("crossover", help="§5b: table and figure of the crossover members")
    c.add_argument("config")
    c.add_argument("--out", default=None)
    c.add_argument("--figures")
    d = sub.add_parser("widths", help="§7: linewidth distributions, random against lattice")
    d.add_argument("results", nargs="+")
    d.add_argument("--figures")
    for sp in (a, c, d):
        sp.add_argument("--tables", default="results/spectral", help="folder for the markdown tables")
    args = p.parse_args(argv)
    try:
        return _dispatch(args)
    except (OSError, ValueError, KeyError) as exc:
        print(f"spectral: error: {exc}", file=sys.stderr)
        return 2


def _dispatch(args) -> int:
    fig = Path(args.figures) if getattr(args, "figures", None) else None
    if args.cmd == "line":
        ds = xr.open_dataset(args.result)
        rows = [line_row(params, members) for params, members in parameter_points(ds)]
        _write(format_line_table(rows), Path(args.tables) / "dipolar_line.md")
        for r in rows:
            print(f"n = {r['density']:g}: r_c = {r['r_c']:g}, vs exact per-probe mean: max |z| (bound) "
                  f"{r['z_bound_max']:.2f}, (independent probes) mean z2 {r['z_indep_mean2']:.2f} max |z| "
                  f"{r['z_indep_max']:.2f}; box: mean z2 {r['z_box_mean2']:.2f}, max |z| {r['z_box_max']:.2f} over "
                  f"{r['z_box_n']} points; |log Poisson - log box| <= {r['poisson_vs_box']:.2e} (R > e^-4); "
                  f"line cut at tau = {r['tau_cut']:.3g} (box R there {r['cut_fraction']:.3g}); per-probe lines "
                  f"> 3x the mean line's Lorentz distance: {r['lor_probe_frac']:.2f} "
                  f"({r['probe_lines_nan']} without a line)")
        if fig:
            print(plot_line(rows, fig / "dipolar_line.png"))
        return 0
    if args.cmd in ("crossover-run", "crossover"):
        out = Path(args.out) if args.out else Path("results") / Path(args.config).stem
        if args.cmd == "crossover-run":
            run_crossover(args.config, out, threads=args.threads)
            return 0
        base = _load_toml(args.config)
        rows = [crossover_row([xr.open_dataset(p) for p in paths]) for paths in _member_paths(base, out)]
        _write(format_crossover_table(rows), Path(args.tables) / "crossover.md")
        for r in rows:
            print(f"Gamma1/Gamma* = {r['gamma1'] / r['gstar']:.3g}: max z ramsey {r['ramsey_zmax']:.2f}, "
                  f"(over {r['ramsey_n']} points), echo {r['echo_zmax']:.2f} ({r['echo_n']}); mean z2 vs box: ramsey "
                  f"{r['ramsey_zbox2']:.2f}, echo {r['echo_zbox2']:.2f}")
        if fig:
            s = rows[0]["gstar"]
            curve = crossover_curve(rows[0]["density"], float(base["couplings"]["cutoff"]),
                                    np.geomspace(3e-3, 30, 19) * s, base["couplings"]["amplitude"])
            print(plot_crossover(rows, curve, fig / "crossover.png"))
        return 0
    rows = [width_row(params, m) for path in args.results for params, m in _members(path)]
    _write(format_width_table(rows), Path(args.tables) / "widths.md")
    if fig:
        print(plot_widths(rows, fig / "widths.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
