"""The central correctness test (docs/exact.md, docs/model.md §4): the measured echo (and Ramsey signal) of
every probe against the exact product, within the simulator's own error bars.

Statistics
----------
Each measured value carries a batch-means standard error from B = 32 batches, so
z = (measured - exact) / stderr follows Student's t with B - 1 = 31 degrees of
freedom (E z^2 = 31/29, Var z^2 = 2.54). Points of one probe are correlated (the
same windows feed every tau), so two checks are used that hold under any
correlation or are computed for an explicitly conservative count of independent
groups:

* every |z| below the two-sided Bonferroni bound of the t_31 distribution at
  family-wise error 1e-3 (union bound: valid whatever the correlations);
* the mean of z^2 pooled over all runs of a family within
  31/29 +- 4.5 sqrt(2.54 / N_eff), with N_eff = the number of probes (treating
  each probe's points as one fully correlated group, the conservative choice) --
  this also fails if the error bars are too *large*.

Only points where the probe's own-occupation statistics are Gaussian are used
(see :func:`analysis.compare.zscores`).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats

import simulator as S
from analysis.compare import exact_signals
from analysis.estimates import zscores
from simulator.model import gamma2_estimate
from zstats import t_z2_moments

B = 32
DOF = B - 1
MEAN_Z2, VAR_Z2 = t_z2_moments(DOF)
P = 8


def bonferroni(n_points: int, alpha: float = 1e-3) -> float:
    return float(stats.t.ppf(1 - alpha / (2 * n_points), DOF))


def run_config(kind, d, amplitude, gamma1, M, seed, cutoff="auto", t_flips=1500.0, L=None):
    n = None if kind == "flip" else round(0.5 * M)
    n_tr = M if kind == "flip" else n * (M - n)
    g2 = gamma2_estimate(n_tr, gamma1, 1.0, d)
    L = L or (24 if d == 1 else 6)
    raw = {
        "lattice": {"d": d, "L": L, "levels": M},
        "couplings": {"amplitude": amplitude, "cutoff": cutoff},
        "dynamics": {"kind": kind, "gamma1": gamma1},
        "run": {"t_max": t_flips / gamma1, "seed": seed, "probes": P, "batches": B,
                "tau": {"points": 16, "t0_spacing": 0.25 / g2}, "trajectory": {"probes": 0}},
    }
    return S.load_config(raw)


FLIP_CASES = [(d, amp, g1) for d in (1, 2) for amp in ("gauss", "pm1") for g1 in (1e-1, 1e-2, 1e-3, 1e-4)]
FLIP_CASES.append((1, "gauss", 1e-8))   # phases stay accurate at gamma/Gamma2 ~ 1e7
HOP_CASES = [(M, g1) for M in (2, 4, 6) for g1 in (1e-2, 1e-3)]
# the longer runs (d = 2 at small Gamma1, the 1e-8 case, M = 6 at 1e-3) are in the slow tier
FLIP_PARAMS = [pytest.param(*c, marks=pytest.mark.slow) if (c[0] == 2 and c[2] <= 1e-3) or c[2] < 1e-4 else c
               for c in FLIP_CASES]
HOP_PARAMS = [pytest.param(*c, marks=pytest.mark.slow) if c == (6, 1e-3) else c for c in HOP_CASES]


@functools.lru_cache(maxsize=None)
def flip_result(d, amp, g1):
    seed = 1000 + FLIP_CASES.index((d, amp, g1))
    ds = S.run(run_config("flip", d, amp, g1, 3 if d == 1 else 2, seed), progress=False)
    ref = exact_signals(ds)
    return ds, ref


@functools.lru_cache(maxsize=None)
def hop_result(M, g1):
    seed = 2000 + HOP_CASES.index((M, g1))
    ds = S.run(run_config("hop", 1, "gauss", g1, M, seed, L=12), progress=False)
    return ds, exact_signals(ds)


def _check_bonferroni(ds, ref, name):
    z = zscores(ds, ref, name)
    zf = z[np.isfinite(z)]
    # enough usable points to make the test meaningful (every probe contributes)
    assert zf.size >= 3 * ds.sizes["probe"], f"only {zf.size} usable points"
    bound = bonferroni(zf.size)
    worst = np.unravel_index(np.nanargmax(np.abs(z)), z.shape)
    assert np.abs(zf).max() < bound, (
        f"{name}: max |z| = {np.abs(zf).max():.2f} >= {bound:.2f} at probe {worst[0]}, "
        f"tau = {ds.tau.values[worst[1]]:.4g}")
    return zf


def _check_pooled(zs, n_groups):
    z2 = np.mean(np.concatenate(zs) ** 2)
    half = 4.5 * np.sqrt(VAR_Z2 / n_groups)
    assert MEAN_Z2 - half < z2 < MEAN_Z2 + half, f"pooled mean z^2 = {z2:.3f}, expected {MEAN_Z2:.3f} +- {half:.3f}"


@pytest.mark.parametrize("d,amp,g1", FLIP_PARAMS)
def test_flip_echo_matches_exact_product(d, amp, g1):
    ds, ref = flip_result(d, amp, g1)
    _check_bonferroni(ds, ref, "echo")


@pytest.mark.parametrize("d,amp,g1", FLIP_PARAMS)
def test_flip_ramsey_matches_exact_product(d, amp, g1):
    ds, ref = flip_result(d, amp, g1)
    _check_bonferroni(ds, ref, "ramsey")


@pytest.mark.slow
def test_flip_error_bars_are_calibrated():
    """Pooled over all flip runs: the z^2 are neither too large nor too small."""
    for name in ("echo", "ramsey"):
        zs = [zscores(*flip_result(*c), name) for c in FLIP_CASES]
        _check_pooled([z[np.isfinite(z)] for z in zs], n_groups=len(FLIP_CASES) * P)


@pytest.mark.parametrize("M,g1", HOP_PARAMS)
def test_hop_echo_matches_exact_fock_product(M, g1):
    ds, ref = hop_result(M, g1)
    _check_bonferroni(ds, ref, "echo")
    _check_bonferroni(ds, ref, "ramsey")


@pytest.mark.slow
def test_hop_error_bars_are_calibrated():
    zs = [zscores(*hop_result(*c), "echo") for c in HOP_CASES]
    _check_pooled([z[np.isfinite(z)] for z in zs], n_groups=len(HOP_CASES) * P)


def test_exact_linewidth_of_mean_echo_is_reproduced():
    """Gamma2 of the probe-averaged echo within its delta-method error of the exact one."""
    ds, ref = flip_result(1, "gauss", 1e-3)
    tau = ds.tau.values
    g_meas = float(ds["gamma2_echo_of_mean"])
    g_exact = float(S.crossing_rate(tau, ref["echo"].mean(axis=0)))
    mean_err = np.sqrt((ds["echo_stderr"].values ** 2).sum(axis=0)) / ds.sizes["probe"]
    sig = float(S.crossing_rate_stderr(tau, ds["echo"].values.mean(axis=0), mean_err))
    assert abs(g_meas - g_exact) < 4 * sig, (g_meas, g_exact, sig)


@pytest.mark.slow
def test_gamma2_converged_in_cutoff():
    """Doubling r_c moves the typical Gamma2 by less than its error bar.

    Same seed: the couplings inside r_c and all the dynamics are identical (hashed
    couplings, per-dot streams), so the difference is the effect of the added
    couplings alone.
    """
    base = run_config("flip", 1, "gauss", 1e-3, 3, seed=77, L=64)
    m = S.build_model(base)
    rc = m.cutoff
    res = {}
    for r in (rc, 2 * rc):
        cfg = base.with_values({"couplings.cutoff": r, "run.probes": 24})
        ds = S.run(cfg, progress=False)
        res[r] = ds
    g1, g2 = (res[r]["gamma2_echo"].values for r in (rc, 2 * rc))
    e1 = res[rc]["gamma2_echo_stderr"].values
    ok = np.isfinite(g1) & np.isfinite(g2) & np.isfinite(e1)
    assert ok.sum() >= 20
    typ_err = 1.2533 * np.std(g1[ok]) / np.sqrt(ok.sum())  # error of a median over probes
    assert abs(np.median(g2[ok]) - np.median(g1[ok])) < typ_err
    # probe by probe: every shift below the probe's own error bar
    assert np.all(np.abs(g2[ok] - g1[ok]) < e1[ok]), np.max(np.abs(g2[ok] - g1[ok]) / e1[ok])
    # and the added couplings do change something (the test is not vacuous)
    assert np.any(g2[ok] != g1[ok])
