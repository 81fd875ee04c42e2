"""Log-uniform per-dot rates (dynamics.gamma1_distribution = 'loguniform', docs/model.md §1 and §4).

* the drawn rates follow P(Gamma1) ~ 1/Gamma1 on [gamma1_min, gamma1] (Kolmogorov-Smirnov
  test of log Gamma1 against the uniform law, fixed seed), are reproducible, do not depend on
  run.stream, and the bath overrides them in its region;
* the constant default is untouched (the regression pins, tests/test_regression_pins.py, hold
  bit for bit; here: the seed keys of before are unchanged);
* bad keys give one-line errors;
* t_max = 'auto' with gamma1_min = 1e-9 gamma1 ends in seconds;
* the measured echo of a log-uniform run agrees with the per-probe exact products, including
  the quasi-static fluctuators (z-scores with their t_31 statistics, as in
  tests/test_exact_agreement.py);
* so does the Ramsey signal, whose error bar takes the scatter between histories of the
  quasi-static neighbours (simulator.estimators.slow_neighbour_variance; without it z reached
  ~100), over two seeds and two streams; and the line shape within its error bound;
* resonant rates take each dot's drawn Gamma1 as its bound.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy import stats

import simulator as S
from analysis.compare import exact_signals
from analysis.estimates import zscores
from simulator.config import ConfigError
from simulator.estimators import slow_neighbour_variance
from simulator.lineshape import line_shape
from simulator.model import dot_gamma1, loguniform_mean
from simulator.physics import gamma2_estimate
from simulator.seeds import seed_keys
from zstats import t_z2_moments

B = 32
DOF = B - 1
MEAN_Z2, VAR_Z2 = t_z2_moments(DOF)


def loguniform_config(**over):
    raw = {"lattice": {"d": 1, "L": 24, "levels": 3},
           "dynamics": {"gamma1": 1e-1, "gamma1_distribution": "loguniform", "gamma1_min": 1e-10},
           "run": {"t_max": "auto", "seed": 7, "probes": 12, "batches": B, "tau": {"points": 16},
                   "trajectory": {"probes": 0}}}
    return S.load_config(raw, [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in over.items()])


def test_rates_are_loguniform_reproducible_and_stream_independent():
    cfg = loguniform_config(**{"lattice.L": 4000, "lattice.levels": 1, "dynamics.gamma1_min": 1e-7})
    g = dot_gamma1(cfg)
    lo, hi = 1e-7, 1e-1
    assert g.min() >= lo and g.max() <= hi
    x = np.log(g / lo) / np.log(hi / lo)          # uniform on [0, 1] under the log-uniform law
    assert stats.kstest(x, "uniform").pvalue > 1e-3
    # the KS test can fail: a constant or uniform (not log-uniform) draw is refused by it
    assert stats.kstest((g - lo) / (hi - lo), "uniform").pvalue < 1e-6
    assert np.array_equal(g, dot_gamma1(cfg))
    assert np.array_equal(g, dot_gamma1(cfg.with_values({"run.stream": 5})))
    other = dot_gamma1(cfg.with_values({"run.seed": 8}))
    assert not np.array_equal(g, other)
    # a dot's rate does not depend on the lattice size (a pure hash of the dot index)
    small = dot_gamma1(cfg.with_values({"lattice.L": 100}))
    assert np.array_equal(small, g[:100])


def test_bath_overrides_and_constant_default_unchanged():
    cfg = loguniform_config(**{"dynamics.bath.side": "left", "dynamics.bath.width": 2, "dynamics.bath.gamma1": 0.3})
    g = dot_gamma1(cfg)
    assert np.all(g[:2] == 0.3) and np.all(g[2:] < 0.1 + 1e-15)
    const = S.load_config({"dynamics": {"gamma1": 2e-3}, "lattice": {"L": 10}})
    assert const["dynamics"]["gamma1_distribution"] == "constant"
    assert np.all(dot_gamma1(const) == 2e-3)
    # adding the rates key kept every older key's value (the regression pins rely on it)
    words = np.random.SeedSequence(12345).generate_state(4, dtype=np.uint64)
    keys = seed_keys(12345)
    assert [keys[k] for k in ("couplings", "static", "dynamics", "probes")] == list(words)
    assert keys["rates"] not in words


@pytest.mark.parametrize("over, needle", [
    ({"dynamics.gamma1_min": 0.5}, "dynamics.gamma1_min = 0.5 is not allowed"),
    ({"dynamics.gamma1_min": 0.0}, "dynamics.gamma1_min = 0.0 is not allowed"),
    ({"dynamics.gamma1_min": -1e-3}, "dynamics.gamma1_min = -0.001 is not allowed"),
    ({"dynamics.gamma1": 0.0}, "dynamics.gamma1 = 0.0 is not allowed with gamma1_distribution"),
    ({"dynamics.gamma1_distribution": "powerlaw"}, "dynamics.gamma1_distribution = 'powerlaw' is not allowed"),
])
def test_bad_keys_are_one_line_errors(over, needle):
    with pytest.raises(ConfigError) as err:
        loguniform_config(**over)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_auto_gamma1_min_and_auto_t_max_rule():
    cfg = loguniform_config(**{"dynamics.gamma1_min": "auto"})
    m = S.build_model(cfg)
    assert m.gamma1.min() >= 1e-7 and m.gamma1.max() <= 1e-1
    # Gamma2_est follows the mean rate of the distribution
    assert m.gamma2_est == pytest.approx(gamma2_estimate(3, loguniform_mean(1e-7, 1e-1), 1.0, 1))
    from simulator.plan import resolve_t_max
    t = resolve_t_max(cfg, m)
    assert t == pytest.approx(2000.0 / max(m.gamma1.min(), m.gamma2_est / 20.0))


@functools.lru_cache(maxsize=None)
def loguniform_run(seed, stream=0):
    return S.run(loguniform_config(**{"dynamics.gamma1_min": 1e-10, "run.seed": seed, "run.stream": stream}),
                 progress=False)


def test_t_max_auto_with_tiny_gamma1_min_ends_in_seconds():
    # gamma1_min = 1e-9 gamma1: 'auto' would have asked for 2000 / 1e-10 = 2e13 time units before
    ds = loguniform_run(7)
    assert ds["gamma1"].values.min() < 1e-8        # the slow fluctuators are there
    assert ds.attrs["resolved_t_max"] == pytest.approx(2000.0 * 20.0 / ds.attrs["resolved_gamma2_estimate"])
    assert int(ds["n_events"]) < 2_000_000
    assert ds.attrs["wall_time"] < 60


def test_loguniform_echo_agrees_with_exact_products():
    """Quasi-static fluctuators (Gamma1 t_max << 1, about half of them here) refocus in the
    echo; the error bars stay honest (docs/model.md §4, Run length with a rate distribution)."""
    zs = []
    for seed in (7, 8):
        ds = loguniform_run(seed)
        ref = exact_signals(ds)
        slow = ds["gamma1"].values * ds.attrs["resolved_t_max"] < 1
        assert slow.mean() > 0.3
        zs.append(zscores(ds, ref, "echo").ravel())
    z = np.concatenate(zs)
    z = z[np.isfinite(z)]
    n_probes = 24
    assert z.size > 300
    bound = float(stats.t.ppf(1 - 1e-3 / (2 * z.size), DOF))
    assert np.max(np.abs(z)) < bound
    assert abs(np.mean(z**2) - MEAN_Z2) < 4.5 * math.sqrt(VAR_Z2 / n_probes)


RAMSEY_RUNS = ((7, 0), (8, 0), (7, 1), (8, 1))


def test_loguniform_ramsey_agrees_with_exact_products():
    """The Ramsey signal of one run is that of its frozen configuration of the slow
    neighbours; its error bar adds their scatter between histories (docs/model.md §4).

    Tolerances. z = (measured - exact)/ramsey_stderr is not Gaussian where the slow term
    dominates (a frozen neighbour's sign is +-1), so: mean z^2 against the t_31 value with
    the standard error from the spread of the probes' own mean z^2 (the probes are
    independent to a good approximation, their tau points are not); max |z| by the t_31
    Bonferroni bound only where batch means carries at least 70 % of the variance (nearly
    Gaussian there), and by Chebyshev with Bonferroni (P(|z| > k) <= E z^2 / k^2, nothing
    else assumed) where the slow term carries more.
    """
    zs, frac, per_probe = [], [], []
    for seed, stream in RAMSEY_RUNS:
        ds = loguniform_run(seed, stream)
        m = S.model_from_dataset(ds)
        ref = exact_signals(ds, m)
        se = ds["ramsey_stderr"].values
        var, applied = slow_neighbour_variance(ds["tau"].values, m.coupling_rows(), np.repeat(m.gamma1, m.M),
                                               m.gamma1[m.probe_dot], ds.attrs["resolved_t_max"], B)
        assert applied.sum() >= 6                          # most probes have slow neighbours
        z = (ds["ramsey"].values - ref["ramsey"]) / se
        zs.append(z.ravel())
        frac.append((var / se ** 2).ravel())
        per_probe.append(np.nanmean(z ** 2, axis=1))
    z, f, blocks = np.concatenate(zs), np.concatenate(frac), np.concatenate(per_probe)
    ok = np.isfinite(z)
    z, f = z[ok], f[ok]
    assert z.size > 700 and np.mean(f > 0.3) > 0.2         # the slow term matters at many points
    se_mean = blocks.std(ddof=1) / math.sqrt(blocks.size)
    assert abs(np.mean(z ** 2) - MEAN_Z2) < 4.0 * se_mean
    gauss = f < 0.3
    assert np.max(np.abs(z[gauss])) < float(stats.t.ppf(1 - 1e-3 / (2 * gauss.sum()), DOF))
    assert np.max(np.abs(z[~gauss])) < math.sqrt(MEAN_Z2 * (~gauss).sum() / 1e-3)


def test_loguniform_line_shape_within_its_error_bound():
    """The line shape's bound (the sum of |b_k| ramsey_stderr_k) covers the measured line's
    difference from the exact Ramsey product transformed by the same rule and cut (as in
    tests/test_lineshape.py); without the slow-neighbour term it was exceeded ~40 times."""
    for seed in (7, 8):
        ds = loguniform_run(seed)
        ex = exact_signals(ds)
        tau, omega = ds["tau"].values, ds["omega"].values
        cut_tau = ds["lineshape_tau_cut"].values
        cut = np.where(np.isfinite(cut_tau), np.searchsorted(tau, np.nan_to_num(cut_tau)), -1)
        tail = float(S.model_from_dataset(ds).config["run"]["lineshape"]["tail"])
        ref, _, _ = line_shape(tau, ex["ramsey"] + 1j * ex["ramsey_imag"], omega, tail, cut=cut)
        line = ds["lineshape"].values
        assert np.isfinite(line).all()
        # the even part depends on Re R only, whose errors the bound propagates (flip: Im R = 0 exactly)
        even = (line + line[:, ::-1]) / 2
        bound = (ds["lineshape_error_bound"].values + ds["lineshape_error_bound"].values[:, ::-1]) / 2
        z = ((even - ref) / bound)[:, omega >= 0]
        # the bound is at least the standard deviation: E z^2 <= 1 at every point. The mean
        # over probes with the standard error of the probes' own means (their omega points
        # are correlated); max |z| by Chebyshev with Bonferroni (nothing else assumed)
        blocks = np.mean(z ** 2, axis=1)
        assert np.mean(blocks) < 1.0 + 4.0 * blocks.std(ddof=1) / math.sqrt(blocks.size)
        assert np.max(np.abs(z)) < math.sqrt(z.size / 1e-2)


def test_resonant_rates_take_each_dots_drawn_rate_as_bound():
    """With a resonance width far above every energy difference the resonant rate is the
    bound itself, so each probe's own rate is its dot's drawn Gamma1 (flip)."""
    raw = {"lattice": {"d": 1, "L": 16, "levels": 2},
           "dynamics": {"gamma1": 0.1, "gamma1_distribution": "loguniform", "gamma1_min": 1e-3,
                        "resonance_width": 1e6},
           "run": {"t_max": 2e4, "seed": 3, "probes": 8, "tau": {"points": 8}, "trajectory": {"probes": 0}}}
    ds = S.run(S.load_config(raw), progress=False)
    g_self = ds["gamma1"].values[ds["probe_dot"].values]
    assert g_self.max() / g_self.min() > 5            # the probes' bounds differ
    t = ds.attrs["simulated_time"]
    err = np.sqrt(g_self / t)                          # Poisson count of own flips
    z = (ds["gamma1_measured"].values - g_self) / err
    assert np.max(np.abs(z)) < 4.0
