"""Right by default: the 'auto' window schedule and honest error bars at every tau.

Two things are checked here (docs/model.md §4, "Windows" and "Error bars"):

* the exact variance of the surviving fraction of windows, which carries the
  error bar where the probe's own transitions are rare, against a direct
  simulation of the probe's own two-state chain;
* a grid of small, odd and ordinary configurations run with *default* estimator
  settings: every echo point (all probes, all tau, rare-event regimes included)
  within the Bonferroni bound of Student's t_31 of the exact product, the pooled
  mean z^2 consistent with 31/29, and the typical Gamma2 within 4 of its reported
  (bootstrap) errors of the exact typical Gamma2.

Statistics as in tests/test_exact_agreement.py: z = (measured - exact)/stderr is
t-distributed with B - 1 = 31 degrees of freedom; the pooled mean of z^2 is tested
with N_eff = number of probes (each probe's points treated as one fully
correlated group, the conservative count).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats

import simulator as S
from analysis.compare import exact_signals
from analysis.estimates import zscores
from analysis.estimates import median_with_error
from simulator.estimators import SurvivalLaw, survival_count_variance
from simulator.schedule import MIN_WINDOWS_PER_TAU
from zstats import t_z2_moments

B = 32
DOF = B - 1
MEAN_Z2, VAR_Z2 = t_z2_moments(DOF)


# ---------------------------------------------------------------------------
# exact variance of the survival count
# ---------------------------------------------------------------------------
def _simulate_counts(rate_occ, rate_emp, p_occ, tau, stride, n_windows, replicas, seed):
    """Surviving windows of a two-state chain, counted directly, for many replicas."""
    rng = np.random.default_rng(seed)
    h = tau / 2
    starts = np.arange(n_windows) * stride * h
    t_end = starts[-1] + tau
    counts = np.empty(replicas)
    for r in range(replicas):
        state = rng.random() < p_occ
        t = 0.0
        changes = []
        while True:
            t += rng.exponential(1.0 / (rate_occ if state else rate_emp))
            if t > t_end:
                break
            changes.append(t)
            state = not state
        ch = np.asarray(changes)
        # a window survives iff no change falls in (t0, t0 + tau]
        lo = np.searchsorted(ch, starts, side="right")
        hi = np.searchsorted(ch, starts + tau, side="right")
        counts[r] = np.sum(hi == lo)
    return counts


@pytest.mark.parametrize("rate_occ,rate_emp,p_occ,stride", [
    (1.0, 1.0, 0.5, 1),      # flip, overlapping windows
    (1.0, 1.0, 0.5, 3),      # flip, disjoint windows (independent)
    (2.0, 1.0, 1 / 3, 1),    # hop M = 3, n = 1: occupied empties at 2 Gamma1, empty fills at Gamma1
    (2.0, 1.0, 1 / 3, 2),    # hop, touching windows: the chain's memory correlates them
    (3.0, 0.5, 1 / 7, 5),    # p_occ must be the chain's stationary occupation, r_emp / (r_occ + r_emp)
])
def test_survival_count_variance_matches_direct_simulation(rate_occ, rate_emp, p_occ, stride):
    tau, n_windows, replicas = 0.7, 60, 4000
    law = SurvivalLaw(np.array([rate_occ]), np.array([rate_emp]), np.array([p_occ]))
    s, var = survival_count_variance(law, np.array([tau]), np.array([stride]), np.array([n_windows]))
    counts = _simulate_counts(rate_occ, rate_emp, p_occ, tau, stride, n_windows, replicas, seed=stride)
    frac = counts / n_windows
    # the sample mean and variance, each against its own standard error
    assert abs(frac.mean() - s[0, 0]) < 4 * frac.std(ddof=1) / np.sqrt(replicas)
    dev2 = (frac - frac.mean()) ** 2
    var_err = dev2.std(ddof=1) / np.sqrt(replicas)
    assert abs(frac.var(ddof=1) - var[0, 0]) < 4 * var_err, (frac.var(ddof=1), var[0, 0], var_err)


def test_survival_count_variance_limits():
    law = SurvivalLaw(np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([0.5, 0.5]))
    s, var = survival_count_variance(law, np.array([1e-3, 1e3]), np.array([4, 4]), np.array([100, 100]))
    assert np.all(s[0] == 1.0) and np.all(var[0] == 0.0)       # a pinned dot never changes
    # disjoint windows of a flip level are independent: binomial variance
    assert np.allclose(var[1], s[1] * (1 - s[1]) / 100, rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------
# the 'auto' schedule: statistics first
# ---------------------------------------------------------------------------
def test_auto_schedule_gives_enough_windows_to_a_starved_run():
    """Few events, many probes: the cost budget alone gave ~11 windows at the
    crossing; every tau now gets MIN_WINDOWS_PER_TAU windows or the densest grid."""
    cfg = S.load_config({"lattice": {"d": 1, "L": 48, "levels": 2}, "dynamics": {"gamma1": 1e-3},
                         "run": {"t_max": 4e5, "probes": "all", "tau": {"min": 1.0, "max": 3000.0}}})
    sched = S.Simulation(cfg).schedule
    windows = sched.t_max / (sched.stride * sched.h)
    densest = sched.t_max / sched.h
    # strides are rounded, so a target count is met within a factor 2/3
    assert np.all(windows >= np.minimum(densest, MIN_WINDOWS_PER_TAU) * 2 / 3 - 1)


def test_auto_schedule_keeps_the_budget_when_it_is_denser(monkeypatch):
    """Many events: the cost budget's windows are denser than the statistical floor
    and are kept unchanged (schedules of event-rich runs are what they were)."""
    import simulator.schedule as schedule

    cfg = S.load_config({"lattice": {"d": 1, "L": 4096, "levels": 4}, "dynamics": {"gamma1": 1e-2},
                         "run": {"t_max": 2e5, "probes": 8}})
    sched = S.Simulation(cfg).schedule
    assert np.all(sched.t_max / (sched.stride * sched.h) > MIN_WINDOWS_PER_TAU)
    monkeypatch.setattr(schedule, "MIN_WINDOWS_PER_TAU", 1)
    assert np.array_equal(S.Simulation(cfg).schedule.stride, sched.stride)


# ---------------------------------------------------------------------------
# default settings on a grid of configurations
# ---------------------------------------------------------------------------
def _cfg(d=1, L=24, M=3, kind="flip", gamma1=1e-2, amplitude="gauss", probes=8, seed=1, **run):
    raw = {"lattice": {"d": d, "L": L, "levels": M},
           "couplings": {"amplitude": amplitude},
           "dynamics": {"kind": kind, "gamma1": gamma1},
           "run": {"probes": probes, "seed": seed, "trajectory": {"probes": 0}, "checkpoint_every": 0.0, **run}}
    if kind == "hop":
        raw["dynamics"]["filling"] = 1.0 / M
    return raw


GRID = {
    "1d-flip-gauss": _cfg(),
    "1d-flip-pm1-long-all-probes": _cfg(L=48, M=2, gamma1=1e-3, amplitude="pm1", probes="all",
                                        t_max=4e5, tau={"min": 1.0, "max": 3000.0}),
    "1d-flip-short-run": _cfg(L=32, M=4, gamma1=1e-4, flips=300.0, t_max="auto"),
    "1d-flip-one-probe": _cfg(L=16, probes=1, seed=3),
    "1d-flip-tiny-lattice": _cfg(L=2, M=2, probes=4, gamma1=3e-2),
    "1d-hop-single-dot": _cfg(L=1, M=4, kind="hop", probes=4, gamma1=1e-2),
    "1d-hop-M4": _cfg(L=12, M=4, kind="hop", gamma1=1e-3, seed=5),
    "2d-hop-M3": _cfg(d=2, L=6, M=3, kind="hop", gamma1=1e-2, probes=12, seed=7),
    "2d-flip-open-power": {**_cfg(d=2, L=6, M=2, gamma1=1e-3, seed=9),
                           "couplings": {"form": "power", "amplitude": "gauss"}},
    "3d-flip": _cfg(d=3, L=3, M=2, gamma1=1e-3, seed=11),
}
GRID["2d-flip-open-power"]["lattice"]["boundary"] = "open"


@functools.lru_cache(maxsize=None)
def grid_result(name):
    ds = S.run(GRID[name], progress=False)
    return ds, exact_signals(ds)


def _bound(n_points: int, alpha: float = 1e-3) -> float:
    return float(stats.t.ppf(1 - alpha / (2 * n_points), DOF))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(GRID))
def test_default_echo_error_bars_are_honest_at_every_tau(name):
    ds, ref = grid_result(name)
    z = zscores(ds, ref, "echo", min_count=0)
    ok = np.isfinite(z)
    assert ok.sum() >= 0.9 * z.size          # error bars exist everywhere (0 only for exact 1's)
    assert np.max(np.abs(z[ok])) < _bound(int(ok.sum())), name


@pytest.mark.slow
def test_default_echo_mean_z2_pooled_over_the_grid():
    zs, n_probes = [], 0
    for name in GRID:
        ds, ref = grid_result(name)
        z = zscores(ds, ref, "echo", min_count=0)
        zs.append(z[np.isfinite(z)])
        n_probes += ds.sizes["probe"]
    z2 = np.mean(np.concatenate(zs) ** 2)
    assert abs(z2 - MEAN_Z2) < 4.5 * np.sqrt(VAR_Z2 / n_probes), z2


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in GRID if n not in ("1d-flip-tiny-lattice", "1d-hop-single-dot")])
def test_default_typical_gamma2_matches_the_exact_product(name):
    """The typical (median) echo linewidth against the median of the exact
    per-probe linewidths, within 4 of its reported errors (bootstrap over probes;
    with one probe its delta-method error). Tiny systems
    are left out: with a handful of equivalent probes a median has no error bar)."""
    ds, ref = grid_result(name)
    g = ds["gamma2_echo"].values
    g_exact = S.crossing_rate(ds["tau"].values, ref["echo"])
    if g.size == 1:      # one probe: its own (delta-method) error bar
        typical, err = float(g[0]), float(ds["gamma2_echo_stderr"].values[0])
    else:
        typical, err = median_with_error(g)
    assert np.isfinite(typical) and err > 0
    assert abs(typical - np.nanmedian(g_exact)) < 4 * err, (typical, np.nanmedian(g_exact), err)


def grid_table() -> str:
    """The table of docs/model.md §4: ``python tests/test_error_bars.py``."""
    lines = ["| configuration | probes | windows per tau | echo points | mean z² | max abs(z) | typical Γ2 | exact "
             "| (meas − exact)/err |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in GRID:
        ds, ref = grid_result(name)
        z = zscores(ds, ref, "echo", min_count=0)
        z = z[np.isfinite(z)]
        g = ds["gamma2_echo"].values
        g_exact = S.crossing_rate(ds["tau"].values, ref["echo"])
        if g.size == 1:
            typical, err = float(g[0]), float(ds["gamma2_echo_stderr"].values[0])
        else:
            typical, err = median_with_error(g)
        exact = float(np.nanmedian(g_exact))
        nw = ds["n_windows"].values
        lines.append(f"| {name} | {g.size} | {nw.min()}–{nw.max()} | {z.size} | {np.mean(z ** 2):.2f} | "
                     f"{np.max(np.abs(z)):.2f} | {typical:.4g} ± {err:.2g} | {exact:.4g} | "
                     f"{(typical - exact) / err if err > 0 else float('nan'):+.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(grid_table())
