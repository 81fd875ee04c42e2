"""The two-level-system study (analysis/studies/tls.py, docs/spectral-diffusion.md §6)
end to end on a tiny run, and its closed forms against the ensemble quadrature.

* the study module runs on a result file and writes its table and figures; the
  echo of every probe agrees with its exact product (mean z² within its sampling
  bound, the error bars being honest for the echo, §6);
* the median of the exact per-level σ²(t_w) over several samples agrees with the
  stable-law median within four standard errors of the scatter between samples,
  and a density 30 % off is rejected (the test has power);
* the echo's closed forms: the ensemble's −ln⟨E⟩ approaches Γ*⟨G⟩τ²/2 for
  τ ≪ 1/g2 and (π/2)Γ*τ/ln(g2/g1) (with its leading correction) inside the band,
  and the effective exponent of the ensemble curve runs from 2 to 1.
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

import simulator as S
from analysis.spectral_exact import PoissonEnsemble, ensemble_log_signal, static_dipolar_rate
from analysis.studies import tls

RAW = {"lattice": {"d": 3, "L": 8, "levels": 1, "kind": "random", "density": 0.5},
       "couplings": {"form": "dipolar", "amplitude": "gauss", "cutoff": 3.9},
       "dynamics": {"kind": "flip", "gamma1": 0.1, "gamma1_distribution": "loguniform", "gamma1_min": 1e-4},
       "run": {"t_max": 2e4, "seed": 77, "probes": 24, "checkpoint_every": 0.0,
               "tau": {"min": 0.1, "max": 2000.0, "points": 12, "t0_spacing": 1.0},
               "trajectory": {"probes": 0}}}

SEEDS = 7


def test_tls_study_end_to_end(tmp_path):
    path = tmp_path / "tls_tiny.nc"
    S.run(S.load_config(RAW), path, progress=False, threads=1)
    out = tmp_path / "study"
    assert tls.main([str(path), "--out", str(out), "--seeds", str(SEEDS)]) == 0
    text = (out / "table.txt").read_text()
    assert "z-scores" in text and "stable-law median" in text
    assert (out / "study_sd_width.png").stat().st_size > 0
    assert (out / "study_echo_shape.png").stat().st_size > 0

    res = tls.analyse(xr.load_dataset(path), seeds=SEEDS)
    # echo: honest error bars (z with ~B - 1 = 31 degrees of freedom: E z² = 31/29);
    # the bound allows 5 standard deviations of the mean of n correlated-free z²
    z = res["echo_z"][np.isfinite(res["echo_z"])]
    var_z2 = 3 * 31**2 / (29 * 27) - (31 / 29) ** 2
    assert abs(np.mean(z**2) - 31 / 29) < 5 * math.sqrt(var_z2 / z.size) + 0.1, np.mean(z**2)

    # sigma^2: median of all levels of the samples against the stable law (r_c of the run);
    # the law is for r_c = inf: the levels beyond r_c add at most their mean, bounded below
    tau, ens = res["tau"], res["ens"]
    med, err = res["median_sample"], res["median_sample_err"]
    levy = tls.levy_median_sd_variance(tau, ens)
    tail = (ens.density * 4 * math.pi * 0.8 * ens.gamma**2 / (3 * ens.r_c**3)
            * 0.5 * (1 - tls.own_survival(2 * tau, ens)))
    z_levy = (med - levy) / np.hypot(err, tail)
    assert np.all(np.abs(z_levy) < 4), z_levy
    off = tls.levy_median_sd_variance(tau, PoissonEnsemble(**{**ens.__dict__, "density": 1.3 * ens.density}))
    assert np.max(np.abs((med - off) / np.hypot(err, tail))) > 4


def test_echo_closed_forms_and_effective_exponent():
    g1, g2, n = 1e-5, 1.0, 0.05
    ens = PoissonEnsemble(density=n, d=3, envelope="dipolar", amplitude="gauss", gamma1=g1, gamma1_max=g2)
    gs = static_dipolar_rate(n, 1.0, "gauss")
    short = np.array([1e-3, 3e-3])
    ratio = -ensemble_log_signal(short, ens) / tls.echo_regime_forms(short, gs, g1, g2)["short"]
    assert np.all(np.abs(ratio - 1) < 0.02), ratio          # corrections O(g2 tau)
    mid = np.array([300.0, 1000.0])
    # window form with its leading correction from the fast side, -2 sqrt(2/pi) (g2 tau)^-1/2
    corr = 1 - 2 * math.sqrt(2 / math.pi) / np.sqrt(g2 * mid) / (math.pi / 2)
    ratio = -ensemble_log_signal(mid, ens) / (tls.echo_regime_forms(mid, gs, g1, g2)["window"] * corr)
    assert np.all(np.abs(ratio - 1) < 0.01), ratio
    # long times: sqrt(2/pi) Gamma* <G^-1/2> tau^1/2, checked with a narrow band far beyond 1/g1
    narrow = PoissonEnsemble(density=n, d=3, envelope="dipolar", amplitude="gauss", gamma1=0.5, gamma1_max=2.0)
    late = np.array([2e3, 1e4])
    ratio = -ensemble_log_signal(late, narrow) / tls.echo_regime_forms(late, gs, 0.5, 2.0)["long"]
    assert np.all(np.abs(ratio - 1) < 0.03), ratio
    # effective exponent of the ensemble curve: 2 at short times, 1 inside the band
    tau = np.geomspace(1e-3, 3e3, 40)
    neff = tls.effective_exponent(tau, np.exp(ensemble_log_signal(tau, ens)), lo=1e-300, hi=1 - 1e-15)
    assert abs(neff[1] - 2) < 0.02 and abs(neff[-2] - 1) < 0.05, neff
    assert np.all(np.diff(neff[1:-1]) < 0.01)              # decreasing from one law to the next
