"""Closing the loop with simulation (docs/selfconsistent.md).

The paper closes Gamma2 <- Gamma1 (Eq. 12) with Gamma1 <- Gamma2 (Eqs. 16/17).
Here the simulator replaces Eq. (12): each iteration runs the kinetic Monte
Carlo with the current Gamma1 profile, measures Gamma2 (echo), maps it through
Eq. (16) (Xi log K > 1) or Eq. (17) (Xi log K < 1) -- or, with
selfconsistent.equation = 'resonant', the mean-field average of the resonant
rate law over a line of width Gamma2 (:func:`resonant_mean_field_rate`,
docs/resonant.md section 6) -- to a new Gamma1, and damps:

    log Gamma1 <- (1 - a) log Gamma1 + a log Gamma1_new      (a = selfconsistent.damping)

(geometric damping, since rates span decades; a dot whose new rate is 0 shrinks
by (1 - a)). Converged when the change of every updated dot is within
``tolerance`` standard errors of its new value (the measurement's error
propagated through Eq. 16/17) and the iterate has stopped drifting. A
homogeneous loop projects its one change onto the distance to the fixed point
with the measured map slope (a slowly contracting map takes small steps long
before it is close); a profile is tested dot by dot at the family-wise level of
``tolerance`` (:func:`family_threshold`), with the drift rule guarding against a
slow approach. Collapsed (the insulating fixed point Gamma = 0) when the
largest updated rate falls below ``floor * gamma``.

A profile loop keeps one sample (couplings, energies, probes) and gives each
iteration a new dynamics history (``selfconsistent.disorder``, see
:func:`disorder`).

Every iteration is written atomically as ``iter-NNNN.nc`` in the output folder
(the simulation's own dataset plus the loop variables); a loop started again in
the same folder continues after the last iteration on disk, and gives the same
history as an uninterrupted loop (iteration k runs dynamics history k on the
sample of run.seed, or with selfconsistent.disorder = 'redraw' the sample
SeedSequence([run.seed, k])).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

from simulator.seeds import iteration_seed  # one seed tree (docs/architecture.md)
import simulator
from simulator import variables
from simulator.config import Config

from .bath import bath_mask, configured_gamma1
from .estimates import censored_gamma2, median_with_error, rule_sum_per_probe
from .meanfield.dot import gamma1_eq16, gamma1_eq17


def law(config: Config) -> str:
    """'16', '17' or 'resonant': forced by selfconsistent.equation, else by Xi log K (> 1: Eq. 16)."""
    sc = config["selfconsistent"]
    if sc["equation"] != "auto":
        return sc["equation"]
    return "16" if sc["Xi"] * math.log(sc["K"]) > 1 else "17"


def resonant_mean_field_rate(gamma1: np.ndarray | float, gamma2: np.ndarray | float, eps0: np.ndarray | float,
                             w: float) -> np.ndarray:
    """Mean-field rate of a resonant flip (docs/resonant.md, section 6).

    The rate law Gamma1 w^2/(eps^2 + w^2) averaged over a Lorentzian line of
    half-width Gamma2 centred on the static energy eps0: a Lorentzian of
    half-width w convolved with one of half-width Gamma2 is one of half-width
    w + Gamma2, so the mean is

        Gamma1 w (w + Gamma2) / (eps0^2 + (w + Gamma2)^2).

    Parameters
    ----------
    gamma1 : the bound (dynamics.gamma1, or the bath's).
    gamma2 : the line's half-width (>= 0; 0 gives the bare law at eps0).
    eps0 : the static energy of the level.
    w : the resonance width (> 0).
    """
    a = float(w) + np.asarray(gamma2, dtype=float)
    e = np.asarray(eps0, dtype=float)
    return np.asarray(gamma1, dtype=float) * float(w) * a / (e * e + a * a)


def dot_static_energies(config: Config) -> np.ndarray:
    """Static energy of every dot's one level (lattice.levels = 1) on the sample
    of run.seed, in dot order: what the resonant law needs per dot."""
    model = simulator.build_model(config)
    return model.static_energies(np.arange(model.n_levels, dtype=np.int64))


def gamma1_from_gamma2(gamma2: np.ndarray | float, config: Config) -> np.ndarray:
    """New Gamma1 from measured Gamma2 by Eq. (16) or (17), 0 where Gamma2 is not
    positive; or by the resonant law (:func:`resonant_mean_field_rate`, one value
    per dot, bound dynamics.gamma1), which is finite at Gamma2 = 0 and 0 only
    where Gamma2 is not finite."""
    sc = config["selfconsistent"]
    gamma = config["couplings"]["gamma"]
    g2 = np.asarray(gamma2, dtype=float)
    out = np.zeros_like(g2)
    if law(config) == "resonant":
        eps0 = dot_static_energies(config)
        if g2.shape != eps0.shape:
            raise ValueError(f"the resonant law needs one Gamma2 per dot ({eps0.size}), got shape {g2.shape}")
        ok = np.isfinite(g2) & (g2 >= 0)
        bound = configured_gamma1(config)
        out[ok] = resonant_mean_field_rate(bound[ok], g2[ok], eps0[ok], config["dynamics"]["resonance_width"])
        return out
    pos = np.isfinite(g2) & (g2 > 0)
    if pos.any():
        if law(config) == "16":
            out[pos] = gamma1_eq16(g2[pos], gamma, sc["delta_m"], sc["Xi"], sc["K"])
        else:
            out[pos] = gamma1_eq17(g2[pos], gamma, sc["delta_m"])
    return out


def log_slope(config: Config) -> float:
    """d ln Gamma1_new / d ln Gamma2 of Eq. (16)/(17) (error propagation; the
    resonant law has no single slope, see :func:`target_stderr`)."""
    if law(config) == "17":
        return 1.0
    if law(config) == "resonant":
        raise ValueError("the resonant law has a slope per dot; use target_stderr")
    sc = config["selfconsistent"]
    return abs(2.0 - sc["Xi"] * math.log(sc["K"]))


def target_stderr(gamma2: np.ndarray, stderr: np.ndarray, target: np.ndarray, config: Config) -> np.ndarray:
    """Standard error of the new Gamma1 from the measured Gamma2's.

    Eq. (16)/(17) are power laws: linear propagation with :func:`log_slope`.
    The resonant law is flat where eps0 = w + Gamma2 (its maximum in Gamma2),
    where a linear propagation would give 0 and the convergence test would never
    pass; there the larger one-sided change, |F(Gamma2 +- stderr) - F(Gamma2)|,
    keeps the curvature term.
    """
    if law(config) != "resonant":
        return target * log_slope(config) * stderr / gamma2
    up = gamma1_from_gamma2(gamma2 + stderr, config)
    down = gamma1_from_gamma2(np.maximum(gamma2 - stderr, 0.0), config)
    return np.maximum(np.abs(up - target), np.abs(down - target))


@dataclass
class Measurement:
    gamma2: np.ndarray          # per dot
    stderr: np.ndarray          # per dot
    dataset: xr.Dataset | None = None
    few_windows: int = 0        # probes with < simulator.MIN_WINDOWS windows at their crossing


def disorder(config: Config) -> str:
    """'fixed' or 'redraw' (selfconsistent.disorder; auto: fixed for a profile,
    redraw for a homogeneous loop).

    A per-dot profile is a property of one sample: its Gamma2 on a dot depends on
    that dot's own couplings, and the per-dot error bar only measures the noise
    of the dynamics. Redrawing the couplings every iteration would move each dot
    by its sample-to-sample spread (tens of per cent, far outside its error bar)
    and the loop could never settle. A homogeneous loop uses the typical Gamma2
    over many probes, whose bootstrap error already contains the spread between
    probes, so a new sample each iteration is covered by the error bar.
    """
    d = config["selfconsistent"]["disorder"]
    if d != "auto":
        return d
    return "fixed" if config["selfconsistent"]["mode"] == "profile" else "redraw"


def iteration_run_values(config: Config, iteration: int) -> dict:
    """Seed settings of iteration k: the same sample with dynamics history k
    (fixed disorder), or the sample SeedSequence([run.seed, k]) (redraw)."""
    if disorder(config) == "fixed":
        return {"run.seed": int(config["run"]["seed"]), "run.stream": int(iteration)}
    return {"run.seed": iteration_seed(config["run"]["seed"], iteration)}


def simulate_gamma2(config: Config, gamma1: np.ndarray, iteration: int, progress: bool = False) -> Measurement:
    """Run the kinetic Monte Carlo at this Gamma1 profile and measure Gamma2 per dot.

    homogeneous: the typical value (median over probes) on every dot, with a
    bootstrap error. profile: every level is a probe; a dot's Gamma2 is the mean
    over its levels, its error from the probes' delta-method errors.
    """
    sc = config["selfconsistent"]
    n_dots = gamma1.size
    pos = gamma1[gamma1 > 0]
    if pos.size == 0:
        return Measurement(np.zeros(n_dots), np.zeros(n_dots))
    values = {"run.t_max": "auto", "run.flips": float(sc["flips"]), "run.checkpoint_every": 0.0,
              **iteration_run_values(config, iteration)}
    if sc["mode"] == "profile":
        values["run.probes"] = "all"
    if law(config) == "resonant":
        # mean field: the line replaces the resonant dynamics, so the iterations run
        # fixed rates (the equation is reset only so that the run's config is valid)
        values.update({"dynamics.resonance_width": "none", "selfconsistent.equation": "17"})
    cfg = config.with_values(values)
    ds = simulator.run(cfg, gamma1=gamma1, progress=progress)
    g = censored_gamma2(ds)
    err = ds["gamma2_echo_stderr"].values
    few = int(np.sum(simulator.windows_at_crossing(ds["tau"].values, ds["n_windows"].values, g)
                     < simulator.MIN_WINDOWS))
    if sc["mode"] == "homogeneous":
        med, e = median_with_error(g)
        return Measurement(np.full(n_dots, med), np.full(n_dots, e), ds, few)
    dots = ds["probe_dot"].values
    cnt = np.bincount(dots, minlength=n_dots)
    g2 = np.bincount(dots, weights=g, minlength=n_dots) / np.maximum(cnt, 1)
    e2 = np.sqrt(np.bincount(dots, weights=np.nan_to_num(err, nan=0.0) ** 2, minlength=n_dots)) / np.maximum(cnt, 1)
    return Measurement(g2, e2, ds, few)


def fixed_mask(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """(mask of dots whose rate is held fixed, their fixed values): bath dots
    (:func:`analysis.bath.bath_mask`) keep bath.gamma1; with pin = 'ends' both
    faces of the first axis are held at 0 (docs/selfconsistent.md)."""
    lat = config["lattice"]
    n = lat["L"] ** lat["d"]
    # from the configuration, not the rates: a bath as fast as the chain is still held
    fixed = bath_mask(config).copy()
    values = configured_gamma1(config)
    if config["selfconsistent"]["pin"] == "ends":
        x0 = np.arange(n) % lat["L"]
        ends = (x0 == 0) | (x0 == lat["L"] - 1)
        fixed |= ends
        values[ends] = 0.0
    return fixed, values


def initial_profile(config: Config) -> np.ndarray:
    """Starting Gamma1 profile: selfconsistent.gamma1_init (auto: dynamics.gamma1) on
    the free dots, the fixed values of :func:`fixed_mask` on the others."""
    fixed, values = fixed_mask(config)
    g0 = config["selfconsistent"]["gamma1_init"]
    g0 = config["dynamics"]["gamma1"] if g0 == "auto" else g0
    prof = np.full(values.shape, float(g0))
    prof[fixed] = values[fixed]
    return prof


def damped(g: np.ndarray, target: np.ndarray, a: float) -> np.ndarray:
    """Geometric damping log g <- (1 - a) log g + a log target; a zero target
    shrinks g by (1 - a), a zero g grows to a * target."""
    out = np.empty_like(g)
    both = (g > 0) & (target > 0)
    out[both] = np.exp((1 - a) * np.log(g[both]) + a * np.log(target[both]))
    zero_t = target <= 0
    out[zero_t] = (1 - a) * g[zero_t]
    grow = (g <= 0) & (target > 0)
    out[grow] = a * target[grow]
    return out


def update(g: np.ndarray, gamma2: np.ndarray, config: Config, fixed: np.ndarray,
           damping: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One step of the loop: the target Gamma1 from Gamma2 by Eq. (16)/(17) and the
    damped new profile (``damping`` defaults to selfconsistent.damping); the
    ``fixed`` dots (bath, pinned) keep their rate in both."""
    target = gamma1_from_gamma2(gamma2, config)
    target[fixed] = g[fixed]
    new = damped(g, target, config["selfconsistent"]["damping"] if damping is None else damping)
    new[fixed] = g[fixed]
    return target, new


def map_slope(history: list[xr.Dataset], g: np.ndarray, target: np.ndarray, free: np.ndarray,
              sigma: np.ndarray) -> float:
    """Slope s of the loop map in log space, d log F(G(x)) / d log x, from the last two
    iterations (median over free dots); NaN until a step well above the noise
    has been taken (then the previous estimate is kept)."""
    if not history:
        return np.nan
    prev = history[-1]
    g0, t0 = prev["gamma1"].values, prev["gamma1_target"].values
    ok = free & (g > 0) & (g0 > 0) & (target > 0) & (t0 > 0)
    if not ok.any():
        return np.nan
    dx = np.median(np.log(g[ok]) - np.log(g0[ok]))
    noise = np.median(sigma[ok] / target[ok])
    if not (abs(dx) > 3 * noise):
        return float(prev["map_slope"]) if "map_slope" in prev else np.nan
    dR = np.median(np.log(target[ok] / g[ok]) - np.log(t0[ok] / g0[ok]))
    return float(1.0 + dR / dx)


MONOTONE_STEPS = 4


def relative_noise(sigma: np.ndarray, target: np.ndarray, free: np.ndarray) -> float:
    """Median relative error sigma/target over the free dots with a non-zero target."""
    ok = free & (target > 0) & np.isfinite(sigma)
    return float(np.median(sigma[ok] / target[ok])) if ok.any() else 0.0


def still_moving(history: list[xr.Dataset], new: np.ndarray, free: np.ndarray, noise: float,
                 blocks: int = 1) -> bool:
    """True while the last MONOTONE_STEPS updates all moved the (median log)
    rate the same way by at least half the relative measurement noise: an iterate
    drifting in one direction by steps comparable to the noise is still
    approaching the fixed point (at the fixed point the noise makes the steps
    change sign); steps far below the noise are left to the distance criterion.

    ``blocks`` > 1 applies the rule to that many contiguous groups of the free
    dots and reports drift in any of them: a profile's far tail can still be
    creeping while the median over all dots has settled."""
    if len(history) < MONOTONE_STEPS:
        return True
    seq = [h["gamma1"].values for h in history[-MONOTONE_STEPS:]] + [new]
    idx = np.flatnonzero(free)
    for part in np.array_split(idx, max(1, min(blocks, idx.size))):
        med = []
        for g in seq:
            v = g[part]
            v = v[v > 0]
            if v.size == 0:
                break
            med.append(np.median(np.log(v)))
        if len(med) < len(seq):
            continue
        d = np.diff(med)
        steps = np.sign(d)
        if np.all(steps == steps[0]) and steps[0] != 0 and np.all(np.abs(d) > 0.5 * noise):
            return True
    return False


DRIFT_BLOCKS = 4


def family_threshold(tolerance: float, n: int) -> float:
    """Threshold on max |z| over n independent dots with the false-alarm rate
    that ``tolerance`` standard errors have for one dot (Bonferroni):
    P(|z| > t_n) = P(|z| > tolerance) / n. Equal to ``tolerance`` for n = 1; for
    tolerance 2 it is 3.37 at 60 dots. Without it a profile at its fixed point
    would almost never have all of its 60 dots within 2 sigma at once (P = 6 %)."""
    from scipy.stats import norm

    if n <= 1:
        return float(tolerance)
    return float(norm.isf(norm.sf(tolerance) / n))


def run_loop(config: Config, outdir: str | Path, measure: Callable | None = None,
             progress: bool = False, log: Callable[[str], None] | None = None) -> xr.Dataset:
    """Iterate to the self-consistent Gamma1 profile; returns the history Dataset
    (dimension ``iteration``) and writes ``history.nc`` beside the iteration files.

    ``measure(config, gamma1, iteration) -> Measurement`` defaults to
    :func:`simulate_gamma2`; tests replace it by a known function.
    """
    measure = measure or (lambda c, g, k: simulate_gamma2(c, g, k, progress))
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    sc = config["selfconsistent"]
    gamma = config["couplings"]["gamma"]
    fixed, _ = fixed_mask(config)
    free = ~fixed
    text = config.to_toml()
    # the iterations on disk belong to this loop if everything but the iteration limit matches
    identity = config.with_values({"selfconsistent.max_iterations": 1}).to_toml()
    history = []
    for k in range(sc["max_iterations"]):
        path = outdir / f"iter-{k:04d}.nc"
        if path.exists():
            it = xr.load_dataset(path)
            if it.attrs.get("loop_identity") != identity:
                raise simulator.ConfigError(f"{path} belongs to a loop with another configuration; "
                                            f"use a new output folder")
            history.append(it)
            if it.attrs["status"] not in ("running", "max_iterations"):
                break
            continue
        g = history[-1]["gamma1_next"].values if history else initial_profile(config)
        meas = measure(config, g, k)
        target, new = update(g, meas.gamma2, config, fixed)
        with np.errstate(invalid="ignore", divide="ignore"):
            sigma = target_stderr(meas.gamma2, meas.stderr, target, config)
            z = np.abs(target - g) / sigma
        # The residual target - g is (s - 1) times the distance to the fixed point,
        # s the slope of the map Gamma1 -> F(Gamma2(Gamma1)) (log space). With s near
        # 1 (slow contraction) a small step does not mean we are close: project.
        # A profile's dots are not one number: no single slope projects them all;
        # they are tested at the family-wise level, drift per group of dots.
        slope = map_slope(history, g, target, free, sigma)
        profile = sc["mode"] == "profile"
        if not profile:
            z = z / max(1.0 - slope, 0.05) if np.isfinite(slope) and slope > 0 else z
        zf = z[free & np.isfinite(z)]
        bound = family_threshold(sc["tolerance"], zf.size if profile else 1)
        if free.any() and new[free].max() < sc["floor"] * gamma:
            status = "collapsed"
        elif (zf.size and zf.max() < bound and np.isfinite(z[free]).all()
              and not still_moving(history, new, free, relative_noise(sigma, target, free),
                                   blocks=DRIFT_BLOCKS if profile else 1)):
            status = "converged"
        elif k == sc["max_iterations"] - 1:
            status = "max_iterations"
        else:
            status = "running"
        it = xr.Dataset(
            {"gamma1": (("dot",), g), "gamma2": (("dot",), meas.gamma2), "gamma2_stderr": (("dot",), meas.stderr),
             "gamma1_target": (("dot",), target), "gamma1_next": (("dot",), new),
             "max_z": ((), float(zf.max()) if zf.size else np.nan), "map_slope": ((), slope)},
            attrs={"loop_config": text, "loop_identity": identity, "status": status, "iteration": k,
                   "law": law(config)})
        if meas.dataset is not None:
            keep = meas.dataset.drop_vars(["gamma1"], errors="ignore").rename(
                {v: f"sim_{v}" for v in meas.dataset.data_vars if v != "gamma1"})
            it = it.merge(keep.drop_vars(["dot"], errors="ignore"), compat="override")
            it.attrs.update({"loop_config": text, "loop_identity": identity, "status": status, "iteration": k,
                             "law": law(config)})
        for name in ("gamma1", "gamma2", "gamma2_stderr", "gamma1_target", "gamma1_next", "max_z", "map_slope"):
            it[name].attrs.update(variables.HISTORY[name].attrs)   # the history's registry entry, one iteration
        it.attrs.update(variables.provenance_attrs())
        simulator.write_netcdf(it, path)
        history.append(it)
        if log and meas.few_windows:
            log(f"warning: iteration {k}: {meas.few_windows} probes have fewer than {simulator.MIN_WINDOWS} windows "
                f"at their 1/e crossing; Gamma2 and its error bars (and so the convergence test) are unreliable: "
                f"raise selfconsistent.flips")
        if log:
            free_g = g[free] if free.any() else g
            log(f"iteration {k}: Gamma1 in [{free_g.min():.4g}, {free_g.max():.4g}]  "
                f"Gamma2 median {np.median(meas.gamma2[free]) if free.any() else np.nan:.4g}  "
                f"max |change|/sigma = {float(zf.max()) if zf.size else float('nan'):.3g}  -> {status}")
        if status != "running":
            break
    hist = xr.concat([h[["gamma1", "gamma2", "gamma2_stderr", "gamma1_target", "gamma1_next", "max_z", "map_slope"]]
                      for h in history], dim="iteration")
    hist = hist.assign_coords(iteration=np.arange(len(history)))
    hist.attrs = {"title": "dotkmc self-consistent loop history", "config": text,
                  "status": history[-1].attrs["status"], "law": law(config), **variables.provenance_attrs()}
    # units, long_name and comment of every variable from the registry (docs/variables.md)
    variables.annotate(hist, variables.HISTORY.__getitem__)
    simulator.write_netcdf(hist, outdir / "history.nc")
    return hist


def growth_factor(config: Config, iterations: int = 24, scale: float = 1e-9,
                  measure: Callable | None = None) -> dict:
    """Largest eigenvalue rho of the linearised map Gamma2 = S Gamma1 at vanishing
    rates, by power iteration with the simulator (profile mode).

    With Eq. (17), Gamma1' = (gamma/delta_m) Gamma2, so the insulating fixed point
    Gamma = 0 is unstable -- a metal survives -- iff gamma/delta_m > 1/rho: the
    critical coupling of a finite system is (gamma/delta_m)_c = 1/rho. Fixed
    dots (pinned ends, bath) are held at 0. Each step measures S v for the current
    profile v (total scale ``scale``) and renormalises. rho is the mean of the
    ratios of totals over the second half of the steps (the first half lets the
    profile converge to the top eigenvector), its error the standard error of
    that mean: each step runs a new dynamics history, so with a converged
    profile the ratios are independent measurements (one step's ratio scatters
    by 4–7 % with 20 000 flips per step, by ~20 % with 1500, where the steps have
    fewer than 50 windows at the crossing).
    """
    measure = measure or (lambda c, g, k: simulate_gamma2(c, g, k))
    cfg = config.with_values({"selfconsistent.mode": "profile"})
    fixed, _ = fixed_mask(cfg)
    v = np.where(fixed, 0.0, 1.0)
    v *= scale / v.sum()
    rhos = []
    for k in range(iterations):
        meas = measure(cfg, v, k)
        w = np.where(fixed, 0.0, np.nan_to_num(meas.gamma2))
        rhos.append(w.sum() / v.sum())
        v = w * (scale / w.sum())
    half = np.array(rhos[len(rhos) // 2:])
    rho = float(half.mean())
    return {"rho": rho, "rho_err": float(half.std(ddof=1) / np.sqrt(half.size)) if half.size > 1 else np.nan,
            "history": np.array(rhos), "profile": v / scale, "critical_gamma_over_delta": 1.0 / rho}


def iterate_past_convergence(config: Config, hist: xr.Dataset, iterations: int = 16,
                             measure: Callable | None = None) -> np.ndarray:
    """Continue a finished loop for ``iterations`` more iterations (same update,
    the iteration numbers after the history's; nothing is written) and return
    their log Gamma1 profiles, shape (iterations, dot). The honest check of a
    stochastic loop's convergence: a profile at its fixed point only scatters
    around it, one still approaching keeps moving one way (docs/selfconsistent.md)."""
    measure = measure or (lambda c, g, k: simulate_gamma2(c, g, k))
    fixed, _ = fixed_mask(config)
    g = hist["gamma1_next"].values[-1].copy()
    out = []
    for k in range(hist.sizes["iteration"], hist.sizes["iteration"] + iterations):
        _, g = update(g, measure(config, g, k).gamma2, config, fixed)
        with np.errstate(divide="ignore"):
            out.append(np.log(g))
    return np.array(out)


def rule_sum_profile(config: Config, gamma1: np.ndarray) -> np.ndarray:
    """Per-dot Appendix-B rule sum (docs/meanfield.md) at the rate profile ``gamma1``
    with the couplings the sample's levels actually have (mean over a dot's levels):
    mean field's Gamma2 <- Gamma1 map evaluated where the simulation measured."""
    model = simulator.build_model(config.with_values({"run.probes": "all"}), gamma1=np.asarray(gamma1, float))
    g = rule_sum_per_probe(model)
    n = gamma1.size
    counts = np.maximum(np.bincount(model.probe_dot, minlength=n), 1)
    return np.bincount(model.probe_dot, weights=g, minlength=n) / counts


def rule_sum_chain(config: Config, gamma1: np.ndarray, damping: float = 0.7, tol: float = 1e-7,
                   max_iter: int = 2000) -> np.ndarray:
    """Self-consistent Gamma2 profile of the mean-field loop on this sample: the
    rule sum with the sample's own couplings (:func:`rule_sum_profile`) closed
    with Eq. (16)/(17) as the simulated loop is, bath and pinned dots held,
    started from ``gamma1``. Between the Appendix-B chain (typical couplings
    gamma e^-r) and the simulation (exact dynamics) it separates the two
    approximations of mean field: typical couplings, and the rule sum itself."""
    fixed, _ = fixed_mask(config)
    g = np.asarray(gamma1, float).copy()
    for _ in range(max_iter):
        _, new = update(g, rule_sum_profile(config, g), config, fixed, damping)
        pos = (new > 0) & (g > 0)
        step = np.abs(np.log(new[pos] / g[pos])).max() if pos.any() else 0.0
        g = new
        if step < tol:
            break
    return rule_sum_profile(config, g)
