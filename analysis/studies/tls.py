"""Two-level systems with log-uniform rates: spectral diffusion and the echo's shape
(docs/spectral-diffusion.md section 6).

A run of one level per dot (flip, M = 1) at random positions in 3D with dipolar
couplings and log-uniform rates in [g1, g2] is compared with

* the exact per-probe references of the same couplings and rates
  (:func:`analysis.compare.exact_sd_variance`, :func:`analysis.compare.exact_signals`):
  z-scores of ``sd_variance`` and ``echo``, by range of t_w = tau;
* the Poisson-ensemble forms (:mod:`analysis.spectral_exact`) and the closed forms
  derived in docs/spectral-diffusion.md section 6:

  - sigma^2 of one probe is a sum of U^2 over dipolar neighbours, a one-sided
    stable law of index 1/2 over the ensemble (no mean: the close pairs); its
    median is :func:`levy_median_sd_variance`;
  - -ln <E> = Gamma* tau <psi(G tau)>_G with psi(x) -> x/2 (x << 1) and
    sqrt(2/pi) x^{-1/2} (x >> 1), int psi dx/x = pi/2: the three regimes of
    :func:`echo_regime_forms`.

The exact references are also evaluated on every dot of the run's sample and of
``--seeds`` further samples (no simulation: the same configuration with other
``run.seed``), which is the probe scatter the ensemble comparison is judged by.

    python -m analysis.studies.tls results/tls_loguniform.nc [--out DIR] [--seeds 11]

The table is printed and written (``table.txt``) with the figures under the output
folder (default ``results/<file stem>``).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy import special

import simulator
from simulator.model import build_model

from ..compare import exact_sd_variance, exact_signals
from ..estimates import zscores
from ..exact.diffusion import flip_sd_variance
from ..exact.telegraph import flip_echo
from ..plots import save_figure
from ..spectral_exact import PoissonEnsemble, ensemble_echo, static_dipolar_rate

# <|1 - 3 x^2|> over the sphere (docs/spectral-diffusion.md §3a)
MEAN_ABS_DIPOLAR_ANGLE = 4.0 / (3.0 * math.sqrt(3.0))
# median of the one-sided stable law exp(-C sqrt(s)) is C^2 / (4 erfcinv(1/2)^2)
_LEVY_MEDIAN = 1.0 / (4.0 * float(special.erfcinv(0.5)) ** 2)


# ---------------------------------------------------------------------------
# closed forms
# ---------------------------------------------------------------------------

def _rate_average(f, ens: PoissonEnsemble, per_efold: int = 10) -> np.ndarray:
    g, w = ens.rate_nodes(per_efold)
    return f(g) @ w


def own_survival(tau: ArrayLike, ens: PoissonEnsemble) -> np.ndarray:
    """``<exp(-G tau)>_G`` over the rate distribution: the probe's own flips, averaged
    over its own (independently drawn) rate."""
    t = np.asarray(tau, dtype=float)
    return _rate_average(lambda g: np.exp(-t[..., None] * g), ens)


def probe_mean_echo(tau: ArrayLike, ens: PoissonEnsemble) -> np.ndarray:
    """Poisson-ensemble echo averaged over probes and their own rates:
    ``<exp(-G_self tau)>_G * ensemble_echo`` (own level and neighbours independent)."""
    t = np.asarray(tau, dtype=float)
    return own_survival(t, ens) * ensemble_echo(t, ens)


def echo_regime_forms(tau: ArrayLike, gamma_star: float, g1: float, g2: float) -> dict[str, np.ndarray]:
    r"""The three closed forms of the neighbours' part of ``-ln <E>`` (dipolar, 3D, r_c = inf).

    With ``-ln <E> = Gamma* tau <psi(G tau)>_G`` (docs/spectral-diffusion.md §6):

    * ``short`` (tau << 1/g2): ``Gamma* <G> tau^2 / 2``;
    * ``window`` (1/g2 << tau << 1/g1): ``(pi/2) Gamma* tau / ln(g2/g1)``;
    * ``long`` (tau >> 1/g1): ``sqrt(2/pi) Gamma* <G^{-1/2}> tau^{1/2}``.
    """
    t = np.asarray(tau, dtype=float)
    L = math.log(g2 / g1)
    mean_g = (g2 - g1) / L
    mean_isqrt = 2.0 * (g1 ** -0.5 - g2 ** -0.5) / L
    return {"short": 0.5 * gamma_star * mean_g * t ** 2,
            "window": 0.5 * math.pi * gamma_star * t / L,
            "long": math.sqrt(2.0 / math.pi) * gamma_star * mean_isqrt * np.sqrt(t)}


def levy_scale(t_w: ArrayLike, ens: PoissonEnsemble) -> np.ndarray:
    r"""``C(t_w)`` of ``<exp(-s sigma^2)> = exp(-C sqrt(s))`` for dipolar neighbours (r_c = inf):
    ``C = n (4 pi^{3/2}/3) gamma <|1-3x^2|> <|u|> <sqrt((1 - e^{-2 G t_w})/2)>_G``."""
    t = np.abs(np.asarray(t_w, dtype=float))
    root = _rate_average(lambda g: np.sqrt(-0.5 * np.expm1(-2.0 * g * t[..., None])), ens)
    return (ens.density * 4.0 * math.pi ** 1.5 / 3.0 * ens.gamma * MEAN_ABS_DIPOLAR_ANGLE
            * ens.mean_abs_u() * root)


def levy_median_sd_variance(t_w: ArrayLike, ens: PoissonEnsemble) -> np.ndarray:
    """Median over the Poisson ensemble of one probe's sigma^2(t_w) (dipolar, r_c = inf):
    ``C^2 / (4 erfcinv(1/2)^2)`` with ``C`` of :func:`levy_scale` (docs/spectral-diffusion.md §6)."""
    return _LEVY_MEDIAN * levy_scale(t_w, ens) ** 2


def cauchy_halfwidth(t_w: ArrayLike, ens: PoissonEnsemble) -> np.ndarray:
    """Half-width of the ensemble distribution of D = eps(t + t_w) - eps(t) (a Cauchy law for
    dipolar neighbours, r_c = inf): ``Gamma* <1 - e^{-2 G t_w}>_G``."""
    t = np.abs(np.asarray(t_w, dtype=float))
    frac = _rate_average(lambda g: -np.expm1(-2.0 * g * t[..., None]), ens)
    return static_dipolar_rate(ens.density, ens.gamma, ens.amplitude) * frac


def effective_exponent(tau: ArrayLike, signal: ArrayLike, lo: float = 0.01, hi: float = 0.98) -> np.ndarray:
    """``n_eff = d ln(-ln E) / d ln tau`` by centred differences (NaN where E is outside
    ``(lo, hi)``: there -ln E is noise or saturated)."""
    t = np.asarray(tau, dtype=float)
    e = np.asarray(signal, dtype=float)
    ok = (e > lo) & (e < hi)
    y = np.where(ok, np.log(-np.log(np.where(ok, e, 0.5))), np.nan)
    out = np.gradient(y, np.log(t))
    return np.where(ok, out, np.nan)


def neighbour_exponent(tau: ArrayLike, signal: ArrayLike, err: ArrayLike, rel: float = 0.05) -> np.ndarray:
    """:func:`effective_exponent` of a measured signal, kept where ``-ln E`` is known to
    ``rel`` (its error ``err / E`` below ``rel * (-ln E)``) and ``E > 0.01``."""
    e, s = np.asarray(signal, dtype=float), np.asarray(err, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        good = (e > 0.01) & (e < 1) & (s / e < rel * -np.log(e))
    n = effective_exponent(tau, np.where(good, e, np.nan), lo=0.01, hi=1.0)
    return np.where(good, n, np.nan)


# ---------------------------------------------------------------------------
# the run and its samples
# ---------------------------------------------------------------------------

def ensemble_of(model: simulator.Model) -> PoissonEnsemble:
    """The Poisson ensemble of a run's model (M = 1, flip, dipolar, log-uniform rates)."""
    cfg = model.config
    lat, cpl, dyn = cfg["lattice"], cfg["couplings"], cfg["dynamics"]
    if (lat["kind"] != "random" or lat["levels"] != 1 or lat["d"] != 3 or cpl["form"] != "dipolar"
            or dyn["kind"] != "flip" or dyn["gamma1_distribution"] != "loguniform"):
        raise ValueError("the TLS study needs lattice.kind = 'random', d = 3, levels = 1, couplings.form = "
                         "'dipolar', dynamics.kind = 'flip' and gamma1_distribution = 'loguniform'")
    return PoissonEnsemble(density=float(lat["density"]), d=3, envelope="dipolar", gamma=float(cpl["gamma"]),
                           amplitude=cpl["amplitude"], gamma1=float(dyn["gamma1_min"]),
                           gamma1_max=float(dyn["gamma1"]), r_c=float(model.cutoff))


def sample_exact(model: simulator.Model, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact sigma^2, echo and neighbours' echo (own flips left out), each shape (level, tau),
    of every level of a model's sample."""
    every = build_model(model.config, gamma1=model.gamma1, probes=np.arange(model.gamma1.size * model.M))
    sd = np.empty((every.probes.size, tau.size))
    echo = np.empty_like(sd)
    nb = np.empty_like(sd)
    for p in range(every.probes.size):
        row = every.probe_couplings(p)
        sd[p] = flip_sd_variance(tau, row["U"], row["gamma1"])
        nb[p] = flip_echo(tau, row["U"], row["gamma1"], 0.0)
        echo[p] = nb[p] * np.exp(-row["gamma1_self"] * tau)
    return sd, echo, nb


def caught_changes(ds: xr.Dataset, model: simulator.Model) -> np.ndarray:
    """Expected number of the dominant neighbour's flips that fall inside a window, per
    (probe, t_w): ``G_dom t_max min(1, t_w / spacing)`` with ``G_dom`` the rate of the
    neighbour with the largest ``U^2 (1 - e^{-2 G t_w})`` and ``spacing`` the window
    spacing (stride x t_w / 2).  Where it is small, sigma^2 is a sum over a few rare events
    whose Poisson noise batch means misses; the flip error bar, now computed from the model,
    takes it (docs/model.md section 4, Spectral diffusion: the error)."""
    tau = ds["tau"].values
    t_max = float(ds.attrs["simulated_time"])
    spacing = ds["t0_stride"].values * tau / 2.0
    cover = np.minimum(1.0, tau / spacing)
    out = np.empty((ds.sizes["probe"], tau.size))
    for p in range(ds.sizes["probe"]):
        row = model.probe_couplings(p)
        w = row["U"][:, None] ** 2 * -np.expm1(-2.0 * row["gamma1"][:, None] * tau[None, :])
        out[p] = row["gamma1"][np.argmax(w, axis=0)] * t_max * cover
    return out


def _ranges(tau: np.ndarray, g1: float, g2: float) -> dict[str, np.ndarray]:
    return {"t_w < 1/g2": tau < 1.0 / g2, "1/g2 <= t_w <= 1/g1": (tau >= 1.0 / g2) & (tau <= 1.0 / g1),
            "t_w > 1/g1": tau > 1.0 / g1, "all": np.ones(tau.size, bool)}


def _zstats(z: np.ndarray) -> tuple[float, float, float, int]:
    z = z[np.isfinite(z)]
    if z.size == 0:
        return math.nan, math.nan, math.nan, 0
    return float(np.mean(z ** 2)), float(np.max(np.abs(z))), float(np.mean(np.abs(z) > 4)), int(z.size)


def _fmt(a: tuple[float, float, float, int]) -> str:
    return f"{a[0]:.2f}, {a[1]:.1f}, {a[2]:.3f}, {a[3]}"


def _median_err(x: np.ndarray, rng: np.random.Generator, n_boot: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Median over axis 0 and its bootstrap standard error."""
    med = np.median(x, axis=0)
    idx = rng.integers(0, x.shape[0], size=(n_boot, x.shape[0]))
    boots = np.array([np.median(x[i], axis=0) for i in idx])
    return med, boots.std(axis=0, ddof=1)


def analyse(ds: xr.Dataset, seeds: int = 11) -> dict:
    """Everything the table and the figures show (see the module docstring)."""
    model = simulator.model_from_dataset(ds)
    ens = ensemble_of(model)
    tau = ds["tau"].values
    assert ens.gamma1_max is not None      # ensemble_of requires log-uniform rates
    g1, g2 = ens.gamma1, ens.gamma1_max
    out: dict = {"tau": tau, "ens": ens, "g1": g1, "g2": g2,
                 "gamma_star": static_dipolar_rate(ens.density, ens.gamma, ens.amplitude)}
    # measured against the exact values of the run's probes
    sd_ex = exact_sd_variance(ds, model)
    sd, sd_err = ds["sd_variance"].values, ds["sd_variance_stderr"].values
    out.update(sd=sd, sd_err=sd_err, sd_exact=sd_ex,
               sd_z=(sd - sd_ex) / np.where(sd_err > 0, sd_err, np.nan))
    ref = exact_signals(ds, model)
    out.update(echo=ds["echo"].values, echo_err=ds["echo_stderr"].values, echo_exact=ref["echo"],
               echo_z=zscores(ds, ref, "echo", model=model))
    # exact values on every dot of this sample and of `seeds` further samples
    sds, echoes, nbs = [], [], []
    base = model.config
    for k in range(seeds + 1):
        m = model if k == 0 else build_model(base.with_values({"run.seed": int(base["run"]["seed"]) + 1000 + k}))
        s, e, b = sample_exact(m, tau)
        sds.append(s)
        echoes.append(e)
        nbs.append(b.mean(axis=0))
    out["n_samples"] = len(sds)
    out["sample_sd"], out["sample_echo"] = np.concatenate(sds), np.concatenate(echoes)
    out["sample_echo_means"] = np.array([e.mean(axis=0) for e in echoes])
    nb_means = np.array(nbs)
    out["nb_sample"] = nb_means.mean(axis=0)
    # error of the mean: scatter of the per-sample means over sqrt(S)
    out["nb_sample_err"] = (nb_means.std(axis=0, ddof=1) / math.sqrt(nb_means.shape[0]) if nb_means.shape[0] > 1
                            else np.full(tau.size, np.nan))
    rng = np.random.default_rng(0)
    out["median_meas"], out["median_meas_err"] = _median_err(sd, rng)
    out["median_exact_run"] = np.median(sd_ex, axis=0)
    # the levels of one sample share its rates (a finite draw of the distribution, whose
    # fast tail sets the short-t_w median), so the error is the scatter between samples
    out["median_sample"] = np.median(out["sample_sd"], axis=0)
    per = np.array([np.median(s, axis=0) for s in sds])
    out["median_sample_err"] = (per.std(axis=0, ddof=1) / math.sqrt(len(sds)) if len(sds) > 1
                                else np.full(tau.size, np.nan))
    out["caught"] = caught_changes(ds, model)
    out["batch_length"] = float(ds.attrs["simulated_time"]) / int(model.config["run"]["batches"])
    out["median_levy"] = levy_median_sd_variance(tau, ens)
    out["halfwidth"] = cauchy_halfwidth(tau, ens)
    # the probe mean of sigma^2, and the rate-averaged form with this sample's sum of U^2
    out["mean_meas"] = sd.mean(axis=0)
    out["mean_exact_run"] = sd_ex.mean(axis=0)
    K_run = np.array([np.sum(model.probe_couplings(p)["U"] ** 2) for p in range(model.probes.size)]).mean()
    frac = _rate_average(lambda g: -np.expm1(-2.0 * g * tau[..., None]), ens)
    out["mean_rate_averaged"] = 0.5 * K_run * frac
    out["K_run"] = K_run
    # echo: probe means and the ensemble
    out["echo_mean_meas"] = out["echo"].mean(axis=0)
    out["echo_mean_exact_run"] = out["echo_exact"].mean(axis=0)
    out["echo_ensemble"] = probe_mean_echo(tau, ens)
    out["echo_ensemble_inf"] = probe_mean_echo(tau, PoissonEnsemble(**{**ens.__dict__, "r_c": math.inf}))
    out["own"] = own_survival(tau, ens)
    # the neighbours' echo: the probes in the slowest 40 % of the log rate band, their own
    # flips divided out (an exact factor e^{-G_self tau}); own and neighbours' rates are
    # independent, so this subset samples the same neighbourhoods
    g_self = ds["gamma1"].values[ds["probe_dot"].values]
    slow = g_self <= g1 * (g2 / g1) ** 0.4
    back = np.exp(np.outer(g_self[slow], tau))
    n_slow = int(slow.sum())
    out["nb_probes"] = n_slow
    out["nb_meas"] = (out["echo"][slow] * back).mean(axis=0)
    out["nb_err"] = np.sqrt(np.sum((out["echo_err"][slow] * back) ** 2, axis=0)) / max(n_slow, 1)
    out["nb_exact"] = (out["echo_exact"][slow] * back).mean(axis=0)
    out["nb_ensemble"] = ensemble_echo(tau, ens)
    out["nb_ensemble_inf"] = ensemble_echo(tau, PoissonEnsemble(**{**ens.__dict__, "r_c": math.inf}))
    share = sd_ex.max(axis=0) / sd_ex.sum(axis=0)
    out["top_share"] = share
    smeans = np.array([s.mean(axis=0) for s in sds])
    out["mean_sample"] = smeans.mean(axis=0)
    out["mean_sample_err"] = (smeans.std(axis=0, ddof=1) / math.sqrt(len(sds)) if len(sds) > 1
                              else np.full(tau.size, np.nan))
    out["forms"] = echo_regime_forms(tau, out["gamma_star"], g1, g2)
    return out


# ---------------------------------------------------------------------------
# table and figures
# ---------------------------------------------------------------------------

def table(res: dict) -> str:
    tau, g1, g2 = res["tau"], res["g1"], res["g2"]
    lines = [f"Gamma* = {res['gamma_star']:.4g}, rates [{g1:.3g}, {g2:.3g}], probes {res['sd'].shape[0]}, "
             f"exact sample {res['sample_sd'].shape[0]} levels",
             "", "z-scores against the exact per-probe values (mean z^2, max |z|, fraction |z| > 4, points)",
             "| range | sd_variance | echo |", "|---|---|---|"]
    for name, sel in _ranges(tau, g1, g2).items():
        a = _zstats(res["sd_z"][:, sel])
        b = _zstats(res["echo_z"][:, sel])
        lines.append(f"| {name} | {a[0]:.2f}, {a[1]:.1f}, {a[2]:.3f}, {a[3]} | {b[0]:.2f}, {b[1]:.1f}, "
                     f"{b[2]:.3f}, {b[3]} |")
    lines += ["", "sd_variance z-scores by the expected number of the dominant neighbour's flips caught in "
              "windows, and windows longer than a batch (mean z^2, max |z|, fraction |z| > 4, points)",
              "| points | sd_variance |", "|---|---|"]
    short = np.broadcast_to(tau <= res["batch_length"], res["caught"].shape)
    lines.append(f"| t_w > t_max/B = {res['batch_length']:.3g} (any) | {_fmt(_zstats(res['sd_z'][~short]))} |")
    for lo, hi in ((0, 10), (10, 100), (100, 1000), (1000, np.inf)):
        sel = (res["caught"] >= lo) & (res["caught"] < hi) & short
        lines.append(f"| t_w <= t_max/B, {lo:g}–{hi:g} | {_fmt(_zstats(res['sd_z'][sel]))} |")
    sel = (res["caught"] >= 10) & short
    lines.append(f"| t_w <= t_max/B, >= 10 | {_fmt(_zstats(res['sd_z'][sel]))} |")
    lines += ["", "sigma^2(t_w): median over probes (measured +- bootstrap, exact of the run's probes, exact "
              "of all levels of the samples +- scatter between samples, stable law), probe mean (measured, "
              "exact, largest probe's share of the exact sum, rate-averaged with the run's sum of U^2, mean of "
              "all levels of the samples +- scatter between samples)",
              "| t_w | median meas | median exact | median samples | stable-law median | mean meas | mean exact | "
              "top share | rate-averaged | mean samples |", "|---|---|---|---|---|---|---|---|---|---|"]
    for k in range(0, tau.size, 3):
        lines.append(f"| {tau[k]:.3g} | {res['median_meas'][k]:.4g} ± {res['median_meas_err'][k]:.2g} | "
                     f"{res['median_exact_run'][k]:.4g} | {res['median_sample'][k]:.4g} ± "
                     f"{res['median_sample_err'][k]:.2g} | {res['median_levy'][k]:.4g} | "
                     f"{res['mean_meas'][k]:.4g} | {res['mean_exact_run'][k]:.4g} | "
                     f"{res['top_share'][k]:.2f} | {res['mean_rate_averaged'][k]:.4g} | "
                     f"{res['mean_sample'][k]:.4g} ± {res['mean_sample_err'][k]:.2g} |")
    nm = effective_exponent(tau, res["echo_mean_meas"])
    ne = effective_exponent(tau, res["echo_mean_exact_run"])
    ns = effective_exponent(tau, res["sample_echo"].mean(axis=0))
    nq = effective_exponent(tau, res["echo_ensemble"])
    nbm = neighbour_exponent(tau, res["nb_meas"], res["nb_err"])
    nbe = effective_exponent(tau, res["nb_exact"], lo=1e-4, hi=1 - 1e-6)
    nbq = effective_exponent(tau, res["nb_ensemble"], lo=1e-4, hi=1 - 1e-6)
    nbs = effective_exponent(tau, res["nb_sample"], lo=1e-4, hi=1 - 1e-6)
    forms = res["forms"]
    sm = res["sample_echo_means"]
    serr = sm.std(axis=0, ddof=1) / math.sqrt(sm.shape[0]) if sm.shape[0] > 1 else np.full(tau.size, np.nan)
    emerr = np.sqrt(np.sum(res["echo_err"] ** 2, axis=0)) / res["echo"].shape[0]
    lines += ["", "echo: probe mean (measured +- sqrt(sum stderr^2)/P, exact of the run's probes, exact of the "
              "samples +- scatter of the sample means, Poisson ensemble r_c and r_c = inf), n_eff",
              "| tau | meas | exact | samples | ensemble | ens. r_c=inf | n_eff meas | n_eff exact | "
              "n_eff samples | n_eff ensemble |", "|---|---|---|---|---|---|---|---|---|---|"]
    for k in range(tau.size):
        if res["echo_ensemble"][k] < 1e-4 or res["echo_ensemble"][k] > 0.999:
            continue
        lines.append(f"| {tau[k]:.3g} | {res['echo_mean_meas'][k]:.4f} ± {emerr[k]:.4f} | "
                     f"{res['echo_mean_exact_run'][k]:.4f} | {res['sample_echo'].mean(axis=0)[k]:.4f} ± "
                     f"{serr[k]:.4f} | {res['echo_ensemble'][k]:.4f} | {res['echo_ensemble_inf'][k]:.4f} | "
                     f"{nm[k]:.2f} | {ne[k]:.2f} | {ns[k]:.2f} | {nq[k]:.2f} |")
    lines += ["", f"neighbours' echo ({res['nb_probes']} probes in the slowest 40 % of the rate band, own flips "
              "divided out): -ln of the probe mean (measured +- error, exact; all levels of the samples +- "
              "scatter between samples), Poisson ensemble (r_c, r_c = inf), the three closed forms, n_eff "
              "(measured where -ln E is known to 5 %, exact, samples, ensemble)",
              "| tau | -ln meas | -ln exact | -ln samples | -ln ens. | -ln ens. r_c=inf | short | window | long "
              "| n_eff meas | n_eff exact | n_eff samples | n_eff ens. |", "|---" * 13 + "|"]
    for k in range(tau.size):
        q = res["nb_ensemble"][k]
        if q < 1e-4 or q > 1 - 1e-6:
            continue
        m = res["nb_meas"][k]
        lm = f"{-math.log(m):.4g} ± {res['nb_err'][k] / m:.2g}" if np.isfinite(m) and m > 0 else "–"
        le = f"{-math.log(res['nb_exact'][k]):.4g}" if np.isfinite(res["nb_exact"][k]) else "–"
        ms = res["nb_sample"][k]
        lines.append(f"| {tau[k]:.3g} | {lm} | {le} | {-math.log(ms):.4g} ± {res['nb_sample_err'][k] / ms:.2g} | "
                     f"{-math.log(q):.4g} | "
                     f"{-math.log(res['nb_ensemble_inf'][k]):.4g} | {forms['short'][k]:.4g} | "
                     f"{forms['window'][k]:.4g} | {forms['long'][k]:.4g} | {nbm[k]:.2f} | {nbe[k]:.2f} | "
                     f"{nbs[k]:.2f} | {nbq[k]:.2f} |")
    return "\n".join(lines)


def figures(res: dict, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    tau, g1, g2 = res["tau"], res["g1"], res["g2"]
    paths = []
    # (a) sigma^2(t_w)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    ax = axes[0]
    for i in range(min(8, res["sd"].shape[0])):
        ax.plot(tau, res["sd_exact"][i], color="0.8", lw=0.8, label="exact, single probes" if i == 0 else None)
    ax.errorbar(tau, res["median_meas"], yerr=res["median_meas_err"], fmt="o", ms=3, color="C0",
                label="median over probes, measured")
    ax.plot(tau, res["median_exact_run"], color="C0", lw=1, label="median, exact (same probes)")
    ax.plot(tau, res["median_sample"], "--", color="C2",
            label=f"median, exact (all levels, {res['n_samples']} samples)")
    ax.plot(tau, res["median_levy"], ":", color="k", lw=1.5, label="median, stable law (ensemble)")
    ax.plot(tau, res["mean_meas"], "s", ms=3, color="C3", label="probe mean, measured")
    ax.plot(tau, res["mean_exact_run"], color="C3", lw=1, label="probe mean, exact")
    ax.plot(tau, res["mean_rate_averaged"], "-.", color="C1", label="rate-averaged, run's ΣU²")
    for x in (1 / g2, 1 / g1):
        ax.axvline(x, color="0.5", ls=":", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="t_w", ylabel="σ²(t_w)", title="spectral-diffusion variance")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.errorbar(tau, np.sqrt(res["median_meas"]), yerr=0.5 * res["median_meas_err"] / np.sqrt(res["median_meas"]),
                fmt="o", ms=3, color="C0", label="typical σ (√ median), measured")
    ax.plot(tau, np.sqrt(res["median_sample"]), "--", color="C2", label="typical σ, exact (samples)")
    ax.plot(tau, np.sqrt(res["median_levy"]), ":", color="k", lw=1.5, label="typical σ, stable law")
    ax.plot(tau, res["halfwidth"], color="C4", label="half-width of D's Cauchy law (ensemble)")
    L = math.log(g2 / g1)
    win = (tau > 1 / g2) & (tau < 1 / g1)
    ax.plot(tau[win], res["gamma_star"] * (np.log(2 * g2 * tau[win]) + np.euler_gamma) / L, color="C4", ls="--",
            lw=0.8, label="Black–Halperin: Γ*[ln(2g₂t_w)+γ_E]/ln(g₂/g₁)")
    for x in (1 / g2, 1 / g1):
        ax.axvline(x, color="0.5", ls=":", lw=0.8)
    ax.set(xscale="log", xlabel="t_w", ylabel="width", title="widths on a linear scale: log law in the band")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(save_figure(fig, out / f"{out.name}_sd_width.png"))
    plt.close(fig)
    # (b) echo shape
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    ax = axes[0]
    emerr = np.sqrt(np.sum(res["echo_err"] ** 2, axis=0)) / res["echo"].shape[0]
    ax.errorbar(tau, res["echo_mean_meas"], yerr=emerr, fmt="o", ms=3, label="probe mean, measured")
    ax.plot(tau, res["echo_mean_exact_run"], color="C0", label="probe mean, exact products")
    ax.plot(tau, res["sample_echo"].mean(axis=0), "--", color="C2",
            label=f"exact, all levels of {res['n_samples']} samples")
    ax.plot(tau, res["echo_ensemble"], ":", color="k", lw=1.5, label="Poisson ensemble × ⟨e^{-Gτ}⟩ (own)")
    ax.set(xscale="log", ylim=(-0.05, 1.05), xlabel="τ", ylabel="⟨E(τ)⟩", title="echo, probe mean")
    ax.legend(fontsize=7)
    ax = axes[1]
    forms = res["forms"]
    ax.plot(tau, -np.log(res["nb_ensemble"]), ":", color="k", lw=1.5, label="ensemble (r_c of the run)")
    ax.plot(tau, -np.log(res["nb_ensemble_inf"]), color="0.5", lw=0.8, label="ensemble, r_c = ∞")
    for key, c, lab in (("short", "C3", "Γ*⟨G⟩τ²/2"), ("window", "C1", "(π/2)Γ*τ/ln(g₂/g₁)"),
                        ("long", "C4", "√(2/π)Γ*⟨G^-½⟩τ^½")):
        ax.plot(tau, forms[key], color=c, lw=0.9, ls="-.", label=lab)
    m = res["nb_meas"]
    ok = np.isfinite(m) & (m > 0.01) & (m < 1) & (res["nb_err"] < 0.3 * m)
    ax.errorbar(tau[ok], -np.log(m[ok]), yerr=res["nb_err"][ok] / m[ok], fmt="o", ms=3, color="C0",
                label="measured (own flips divided out)")
    ex = res["nb_exact"]
    ok = np.isfinite(ex) & (ex < 1)
    ax.plot(tau[ok], -np.log(ex[ok]), color="C0", lw=1, label="exact products (same probes)")
    ax.plot(tau, -np.log(res["nb_sample"]), "--", color="C2", label=f"exact, all levels of {res['n_samples']} samples")
    for x in (1 / g2, 1 / g1):
        ax.axvline(x, color="0.5", ls=":", lw=0.8)
    ax.set(xscale="log", yscale="log", ylim=(1e-6, 30), xlabel="τ", ylabel="−ln⟨E⟩ (neighbours)",
           title="the neighbours' echo and its closed forms")
    ax.legend(fontsize=7)
    ax = axes[2]
    ax.plot(tau, neighbour_exponent(tau, res["nb_meas"], res["nb_err"]), "o", ms=3,
            label=f"measured ({res['nb_probes']} slow probes, own flips divided out)")
    ax.plot(tau, effective_exponent(tau, res["nb_exact"], lo=1e-4, hi=1 - 1e-6), "-", label="exact (same probes)")
    ax.plot(tau, effective_exponent(tau, res["nb_sample"], lo=1e-4, hi=1 - 1e-6), "--", color="C2",
            label="exact, samples")
    ax.plot(tau, effective_exponent(tau, res["nb_ensemble"], lo=1e-300, hi=1 - 1e-12), ":", color="k",
            label="ensemble")
    ax.plot(tau, effective_exponent(tau, res["echo_mean_meas"]), "s", ms=3, mfc="none", color="C3",
            label="measured, with own flips")
    for v in (3, 2, 1, 0.5):
        ax.axhline(v, color="0.7", lw=0.6)
    for x in (1 / g2, 1 / g1):
        ax.axvline(x, color="0.5", ls=":", lw=0.8)
    ax.set(xscale="log", ylim=(0, 3.2), xlabel="τ", ylabel="n_eff = d ln(−ln E)/d ln τ",
           title="effective exponent")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(save_figure(fig, out / f"{out.name}_echo_shape.png"))
    plt.close(fig)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.studies.tls", description=__doc__.split("\n")[0])
    ap.add_argument("result", help="netCDF result of a run like runs/tls_loguniform.toml")
    ap.add_argument("--out", help="output folder (default results/<file stem>)")
    ap.add_argument("--seeds", type=int, default=11, help="further samples for the exact statistics (default 11)")
    args = ap.parse_args(argv)
    path = Path(args.result)
    if args.seeds < 0:
        print(f"tls: error: --seeds = {args.seeds} is not allowed: expected 0 or more", file=sys.stderr)
        return 2
    try:
        ds = xr.load_dataset(path)
    except (OSError, ValueError) as exc:
        print(f"tls: error: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    try:
        res = analyse(ds, seeds=args.seeds)
    except (ValueError, KeyError) as exc:
        print(f"tls: error: {path}: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path("results") / path.stem
    out.mkdir(parents=True, exist_ok=True)
    text = table(res)
    print(text)
    tmp = out / "table.txt.tmp"
    tmp.write_text(text + "\n")
    tmp.replace(out / "table.txt")
    for p in figures(res, out):
        print(f"figure: {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
