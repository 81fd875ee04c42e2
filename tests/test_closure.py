"""The self-consistent loop (docs/selfconsistent.md) with a known Gamma2(Gamma1) and with the simulator."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

import simulator as S
from analysis.closure import Measurement, run_loop, simulate_gamma2

N_TR, GAMMA = 4, 1.0


def eq12(g1, d=1):
    """Stand-in for the simulation: Gamma2 = n Gamma1 log^d(gamma/(n Gamma1))."""
    g1 = np.asarray(g1, float)
    out = np.zeros_like(g1)
    pos = g1 > 0
    out[pos] = N_TR * g1[pos] * np.log(GAMMA / (N_TR * g1[pos])) ** d
    return out


def known(config, g1, k):
    g2 = eq12(g1)
    return Measurement(g2, 1e-4 * g2)


def cfg(**sc):
    base = {"lattice": {"d": 1, "L": 8, "levels": 4}, "dynamics": {"gamma1": 1e-3},
            "selfconsistent": {"damping": 1.0, "max_iterations": 300, "tolerance": 1.0, **sc}}
    return S.load_config(base)


def test_eq17_fixed_point(tmp_path):
    # Xi log K < 1: Gamma1 = Gamma2 gamma/delta_m; fixed point log(gamma/(n G1)) = delta_m/(gamma n)
    delta = 20.0
    c = cfg(delta_m=delta, Xi=0.5, K=4.0)
    hist = run_loop(c, tmp_path, measure=known)
    assert hist.attrs["status"] == "converged" and hist.attrs["law"] == "17"
    exact = GAMMA / N_TR * math.exp(-delta / (GAMMA * N_TR))
    got = float(hist["gamma1_next"][-1, 3])
    assert got == pytest.approx(exact, rel=5e-4)   # within tolerance x sigma (1e-4) / (1 - slope)


def test_eq16_fixed_point_from_above_and_below(tmp_path):
    Xi, K, delta = 1.0, 6.0, 1000.0   # Xi log K = 1.79 > 1
    x = Xi * math.log(K)

    def gap(lg1):
        g1 = math.exp(lg1)
        return math.log(GAMMA**2 / delta * (eq12(g1) / GAMMA) ** (2 - x)) - lg1

    exact = math.exp(brentq(gap, math.log(1e-12), math.log(0.2)))
    for start in (exact * 30, exact / 30):
        c = cfg(delta_m=delta, Xi=Xi, K=K, gamma1_init=start, damping=0.7)
        hist = run_loop(c, tmp_path / f"s{start:.3g}", measure=known)
        assert hist.attrs["status"] == "converged"
        assert float(hist["gamma1_next"][-1, 0]) == pytest.approx(exact, rel=5e-4)


def test_pinned_chain_collapses_below_critical_coupling(tmp_path):
    """With a linear stand-in Gamma2(I) = sum over the chain of Gamma1 (every level
    sensitive to every flip), Eq. 17 gives Gamma1' = (gamma/delta) S Gamma1: the
    metal survives only if the largest eigenvalue of (gamma/delta) S exceeds 1."""
    L = 8

    def linear(config, g1, k):
        g2 = np.full(L, min(N_TR * g1.sum(), 0.3))  # saturates: the metal has a finite fixed point
        return Measurement(g2, 1e-4 * np.maximum(g2, 1e-300))

    interior = L - 2                      # pinned ends carry no rate
    critical = 1.0 / (N_TR * interior)    # gamma/delta at which the growth factor is 1
    for ratio, expect in ((0.8 * critical, "collapsed"), (1.25 * critical, "converged")):
        c = cfg(delta_m=GAMMA / ratio, Xi=0.5, K=4.0, pin="ends", floor=1e-12)
        c = c.with_values({"lattice.boundary": "open", "selfconsistent.mode": "profile"})
        hist = run_loop(c, tmp_path / f"r{ratio:.4g}", measure=linear)
        assert hist.attrs["status"] == expect
        assert float(hist["gamma1_next"][-1, 0]) == 0.0


def test_interrupted_loop_resumes_to_the_same_history(tmp_path):
    c = cfg(delta_m=20.0, Xi=0.5, K=4.0, damping=0.5)
    full = run_loop(c, tmp_path / "full", measure=known)

    class Killed(Exception):
        pass

    def dies_at_5(config, g1, k):
        if k == 5:
            raise Killed
        return known(config, g1, k)

    with pytest.raises(Killed):
        run_loop(c, tmp_path / "part", measure=dies_at_5)
    assert len(list((tmp_path / "part").glob("iter-*.nc"))) == 5
    resumed = run_loop(c, tmp_path / "part", measure=known)
    for v in full.data_vars:
        np.testing.assert_array_equal(full[v].values, resumed[v].values)


def test_loop_with_the_simulator(tmp_path):
    """Two real iterations on a small chain: per-dot Gamma2 measured, Eq. 17 applied,
    history saved; rerunning the same folder recomputes nothing."""
    c = S.load_config({"lattice": {"d": 1, "L": 10, "levels": 2, "boundary": "open"},
                       "dynamics": {"gamma1": 3e-3}, "couplings": {"cutoff": 4.0},
                       "run": {"tau": {"points": 12}, "trajectory": {"probes": 0}},
                       "selfconsistent": {"delta_m": 2.0, "Xi": 0.5, "K": 4.0, "mode": "profile",
                                          "max_iterations": 2, "flips": 400.0}})
    hist = run_loop(c, tmp_path, measure=None)
    assert hist.sizes["iteration"] == 2
    g2 = hist["gamma2"].values[0]
    assert np.all(g2 > 0) and np.all(np.isfinite(g2))
    np.testing.assert_allclose(hist["gamma1_target"].values[0], g2 * 1.0 / 2.0)   # Eq. 17: Gamma2 gamma/delta_m
    mtime = (tmp_path / "iter-0000.nc").stat().st_mtime_ns
    again = run_loop(c, tmp_path, measure=None)
    assert (tmp_path / "iter-0000.nc").stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(again["gamma2"].values, hist["gamma2"].values)
    m = simulate_gamma2(c, hist["gamma1"].values[0], 0)
    np.testing.assert_array_equal(m.gamma2, g2)


def test_growth_factor_power_iteration_finds_top_eigenvalue(tmp_path):
    """With a known sensitivity matrix S the power iteration returns rho(S)."""
    L = 10
    x = np.arange(L)
    S_mat = np.exp(-np.abs(x[:, None] - x[None, :]) / 3.0)

    def linear(config, g1, k):
        return Measurement(S_mat @ g1, np.zeros(L))

    from analysis.closure import growth_factor
    c = cfg(pin="ends").with_values({"lattice.L": L, "lattice.boundary": "open"})
    res = growth_factor(c, iterations=60, measure=linear)
    inner = S_mat[1:-1, 1:-1]
    assert res["rho"] == pytest.approx(np.linalg.eigvalsh(inner).max(), rel=1e-9)
    assert res["profile"][0] == 0 and res["profile"][-1] == 0


def test_raising_the_iteration_limit_continues_the_loop(tmp_path):
    c = cfg(delta_m=20.0, Xi=0.5, K=4.0, damping=0.5)
    full = run_loop(c, tmp_path / "full", measure=known)
    short = run_loop(c.with_values({"selfconsistent.max_iterations": 4}), tmp_path / "part", measure=known)
    assert short.attrs["status"] == "max_iterations" and short.sizes["iteration"] == 4
    more = run_loop(c, tmp_path / "part", measure=known)
    np.testing.assert_array_equal(full["gamma1_next"].values, more["gamma1_next"].values)


def test_slow_contraction_does_not_stop_early(tmp_path):
    """Eq. 17 with delta_m = 80 in d = 1: log(gamma/(n G1*)) = 20, map slope 1 - 1/20.
    With 1% error bars, 'step < 2 sigma' would stop ~40% short of the fixed point;
    the projected distance |step|/(1 - s) must be below 2 sigma instead."""
    def noisy_bars(config, g1, k):
        g2 = eq12(g1)
        return Measurement(g2, 1e-2 * g2)

    delta = 80.0
    c = cfg(delta_m=delta, Xi=0.5, K=4.0, gamma1_init=1e-12, tolerance=2.0, damping=1.0)
    hist = run_loop(c, tmp_path, measure=noisy_bars)
    assert hist.attrs["status"] == "converged"
    exact = GAMMA / N_TR * math.exp(-delta / (GAMMA * N_TR))
    got = float(hist["gamma1_next"][-1, 0])
    assert abs(got / exact - 1) < 0.03, got / exact
    assert 0.9 < float(hist["map_slope"][-1]) < 1.0


def test_still_moving_rule():
    import xarray as xr

    from analysis.closure import still_moving

    free = np.ones(3, dtype=bool)

    def hist(vals):
        return [xr.Dataset({"gamma1": (("dot",), np.full(3, v))}) for v in vals]

    rising = [1.0, 1.1, 1.2, 1.3]
    assert still_moving(hist(rising), np.full(3, 1.4), free, noise=0.02)        # steps ~8% > noise/2
    assert not still_moving(hist([1.0, 1.05, 0.98, 1.03]), np.full(3, 1.0), free, noise=0.02)   # signs change
    tiny = [1.0, 1.0001, 1.0002, 1.0003]
    assert not still_moving(hist(tiny), np.full(3, 1.0004), free, noise=0.02)  # far below the noise
    assert still_moving(hist(rising[:2]), np.full(3, 1.3), free, noise=0.02)   # too few iterations to judge


def test_family_threshold():
    from scipy.stats import norm

    from analysis.closure import family_threshold

    assert family_threshold(2.0, 1) == 2.0
    t = family_threshold(2.0, 60)
    assert t == pytest.approx(3.37, abs=0.01)
    assert 60 * 2 * norm.sf(t) == pytest.approx(2 * norm.sf(2.0), rel=1e-9)   # same family-wise rate


def test_noisy_profile_converges_to_the_fixed_point_of_every_dot(tmp_path):
    """60 independent dots, Eq. 12 stand-in with 1 % measurement noise (seeded by the
    iteration) and 1 % error bars, Eq. 17. At the fixed point 'all 60 within 2 sigma'
    rarely holds at once; the family-wise threshold lets the loop stop soon after the
    distance has shrunk to the noise (contraction 0.75 per iteration from a log
    distance of 3.5: ~20 iterations; this seed: 25, the per-dot 2-sigma rule: 39), and
    every dot must then sit at the analytic fixed point within 4 of its stationary
    standard deviations (AR(1): a sigma / sqrt(1 - (1 - a(1 - s))^2), s = 1 - 1/l)."""
    L, delta, a = 60, 8.0, 0.5

    def noisy(config, g1, k):
        rng = np.random.default_rng(1000 + k)
        g2 = eq12(g1) * np.exp(0.01 * rng.standard_normal(g1.size))
        return Measurement(g2, 0.01 * g2)

    c = cfg(delta_m=delta, Xi=0.5, K=4.0, gamma1_init=1e-3, damping=a, tolerance=2.0, max_iterations=30)
    c = c.with_values({"lattice.L": L, "lattice.boundary": "open", "selfconsistent.mode": "profile"})
    hist = run_loop(c, tmp_path, measure=noisy)
    assert hist.attrs["status"] == "converged"
    exact = GAMMA / N_TR * math.exp(-delta / (GAMMA * N_TR))
    s = 1 - 1 / (delta / (GAMMA * N_TR))
    sd = a * 0.01 / math.sqrt(1 - (1 - a * (1 - s)) ** 2)
    dev = np.log(hist["gamma1_next"].values[-1] / exact)
    assert np.abs(dev).max() < 4 * sd, (np.abs(dev).max(), sd)


def test_profile_loop_keeps_the_sample_and_redraws_the_dynamics():
    """disorder = auto: a profile loop's iterations share couplings and probes but not
    the transition history; a homogeneous loop draws a new sample every iteration."""
    c = S.load_config({"lattice": {"d": 1, "L": 10, "levels": 2, "boundary": "open"},
                       "dynamics": {"gamma1": 3e-3}, "couplings": {"cutoff": 4.0},
                       "run": {"probes": 6, "tau": {"points": 12}, "trajectory": {"probes": 0}},
                       "selfconsistent": {"delta_m": 2.0, "Xi": 0.5, "K": 4.0, "flips": 200.0}})
    g = np.full(10, 3e-3)
    for mode, same_sample in (("profile", True), ("homogeneous", False)):
        cm = c.with_values({"selfconsistent.mode": mode})
        d0, d1 = (simulate_gamma2(cm, g, k).dataset for k in (0, 1))
        m0, m1 = S.model_from_dataset(d0), S.model_from_dataset(d1)
        assert not np.array_equal(d0["echo"].values, d1["echo"].values)
        same = np.array_equal(d0["probe_level"].values, d1["probe_level"].values) and all(
            np.array_equal(m0.probe_couplings(p)["U"], m1.probe_couplings(p)["U"]) for p in range(d0.sizes["probe"]))
        assert same == same_sample, mode


def test_still_moving_sees_a_creeping_tail():
    import xarray as xr

    from analysis.closure import still_moving

    n = 40
    free = np.ones(n, dtype=bool)
    tail = np.arange(n) >= 30

    def prof(step):               # the last quarter drifts down 3 % per iteration, the rest sits still
        return np.where(tail, np.exp(-0.03 * step), 1.0)

    hist = [xr.Dataset({"gamma1": (("dot",), prof(k))}) for k in range(4)]
    assert not still_moving(hist, prof(4), free, noise=0.01)          # the median over all dots has settled
    assert still_moving(hist, prof(4), free, noise=0.01, blocks=4)    # the tail block has not


def test_bath_chain_study_over_samples(tmp_path):
    """Two samples with a linear stand-in Gamma2 = c_sample A Gamma1 (A_ij = n e^-|i-j|):
    one loop per sample in its own folder, each at its own fixed point of
    Gamma1 = (gamma/delta) Gamma2 with the bath held, and the compared profile is
    their geometric mean with the standard error of the mean log."""
    from analysis.studies import closure_study as cs

    L = 12
    x = np.arange(L)
    A = N_TR * np.exp(-np.abs(x[:, None] - x[None, :]))

    def scale(config):
        return 1.0 + 0.5 * (config["run"]["seed"] % 2)   # the members' seeds differ: two "samples"

    def linear(config, g1, k):
        g2 = scale(config) * A @ g1
        return Measurement(g2, 1e-4 * g2)

    c = S.load_config({"lattice": {"d": 1, "L": L, "levels": N_TR, "boundary": "open"},
                       "dynamics": {"gamma1": 1e-5, "bath": {"side": "left", "width": 1, "gamma1": 1e-3}},
                       "selfconsistent": {"mode": "profile", "delta_m": 50.0, "Xi": 0.5, "K": 4.0, "damping": 1.0,
                                          "max_iterations": 200, "tolerance": 1.0},
                       "sweep": {"realizations": 2}})
    assert len({scale(m.config) for m in cs.expand(c)}) == 2
    hists, dirs, cmp = cs.bath_chain_study(c, tmp_path, measure=linear)
    assert [d.name for d in dirs] == ["realization=0", "realization=1"]
    assert all(h.attrs["status"] == "converged" for h in hists)
    finals = []
    for member, h in zip(cs.expand(c), hists):
        M = (1.0 / 50.0) * scale(member.config) * A     # Gamma1 = M Gamma1 on free dots, dot 0 held at 1e-3
        exact = np.linalg.solve(np.eye(L - 1) - M[1:, 1:], M[1:, 0] * 1e-3)
        np.testing.assert_allclose(h["gamma1_next"].values[-1][1:], exact, rtol=2e-3)
        finals.append(h["gamma2"].values[-1][1:])
    logs = np.log(finals)
    np.testing.assert_allclose(cmp["gamma2"], np.exp(logs.mean(axis=0)), rtol=1e-12)
    np.testing.assert_allclose(cmp["gamma2_err"], cmp["gamma2"] * logs.std(axis=0, ddof=1) / np.sqrt(2), rtol=1e-12)
    assert cmp["mf_gamma2"].shape == (L - 1,) and np.all(cmp["mf_gamma2"] > 0)
    assert cs.plot_bath_chain(cmp, tmp_path / "p.png").stat().st_size > 0


def test_rule_sum_chain_is_self_consistent():
    """The rule-sum chain on a real sample's couplings returns a profile that the
    rule sum maps onto itself through Eq. 17, with the bath dot held."""
    from analysis.closure import gamma1_from_gamma2, rule_sum_chain, rule_sum_profile

    c = S.load_config({"lattice": {"d": 1, "L": 12, "levels": 2, "boundary": "open"},
                       "couplings": {"cutoff": 8.0},
                       "dynamics": {"gamma1": 1e-5, "bath": {"side": "left", "width": 1, "gamma1": 1e-3}},
                       "selfconsistent": {"mode": "profile", "delta_m": 50.0, "Xi": 0.5, "K": 4.0}})
    start = np.full(12, 1e-5)
    start[0] = 1e-3
    g2 = rule_sum_chain(c, start)
    g1 = gamma1_from_gamma2(g2, c)
    g1[0] = 1e-3
    np.testing.assert_allclose(rule_sum_profile(c, g1)[1:], g2[1:], rtol=1e-5)
    assert g2[-1] < 0.3 * g2[1]             # falls off away from the bath (not monotone: random couplings)


@pytest.mark.slow
def test_selfconsistent_cli_bath_chain_over_samples(tmp_path, capsys):
    """`dotkmc selfconsistent` on a small bath chain with two samples: one loop folder
    per sample, the comparison table and figure; a second call recomputes nothing."""
    from dotkmc.cli import main

    toml = tmp_path / "bath.toml"
    toml.write_text("""
[lattice]
d = 1
L = 8
boundary = "open"
levels = 2
[couplings]
cutoff = 6.0
[dynamics]
gamma1 = 1e-4
bath = { side = "left", width = 1, gamma1 = 1e-2 }
[run]
seed = 11
tau = { points = 12 }
trajectory = { probes = 0 }
checkpoint_every = 0.0
[selfconsistent]
mode = "profile"
delta_m = 50.0
Xi = 0.5
max_iterations = 2
flips = 100.0
[sweep]
realizations = 2
""")
    out = tmp_path / "loop"
    code = main(["selfconsistent", str(toml), "-o", str(out), "--quiet"])
    text = capsys.readouterr().out
    assert code == 1                                 # two iterations: not converged, and says so
    assert "rule chain" in text and text.count("status: max_iterations after 2 iterations") == 2
    assert (out / "bath_profile.png").stat().st_size > 0
    files = sorted(p.relative_to(out).as_posix() for p in out.glob("realization=*/iter-*.nc"))
    assert files == [f"realization={r}/iter-000{k}.nc" for r in (0, 1) for k in (0, 1)]
    stamps = [(out / f).stat().st_mtime_ns for f in files]
    assert main(["selfconsistent", str(toml), "-o", str(out), "--quiet"]) == 1
    assert [(out / f).stat().st_mtime_ns for f in files] == stamps


def test_iterate_past_convergence_continues_the_same_update(tmp_path):
    """Continuing a converged loop with the same stand-in reproduces what the loop
    would have done next: with a deterministic map the iterates stay at the fixed point."""
    from analysis.closure import iterate_past_convergence

    c = cfg(delta_m=20.0, Xi=0.5, K=4.0, damping=0.5)
    hist = run_loop(c, tmp_path, measure=known)
    more = iterate_past_convergence(c, hist, iterations=5, measure=known)
    assert more.shape == (5, 8)
    exact = GAMMA / N_TR * math.exp(-20.0 / (GAMMA * N_TR))
    np.testing.assert_allclose(np.exp(more), exact, rtol=5e-4)


@pytest.mark.slow
def test_few_windows_are_reported(tmp_path, capsys):
    """A run too short for its rates has few windows at the echo's crossing: the
    helper counts them, `dotkmc run` and the loop say so; a long run does not."""
    from dotkmc.cli import main

    assert np.allclose(S.windows_at_crossing(np.array([1.0, 100.0]), np.array([1000.0, 10.0]),
                                             np.array([0.1, np.nan, 0.0])), [100.0, np.nan, np.nan], equal_nan=True)
    toml = tmp_path / "q.toml"
    toml.write_text('[lattice]\nd = 1\nL = 16\n[dynamics]\ngamma1 = 1e-2\n[run]\nseed = 3\n'
                    'tau = { points = 12 }\ntrajectory = { probes = 0 }\ncheckpoint_every = 0.0\n')
    assert main(["run", str(toml), "-o", str(tmp_path / "short.nc"), "--set", "run.t_max=50"]) == 0
    assert "fewer than 50 windows" in capsys.readouterr().out
    assert main(["run", str(toml), "-o", str(tmp_path / "long.nc"), "--set", "run.t_max=2e5"]) == 0
    assert "fewer than 50 windows" not in capsys.readouterr().out
    c = S.load_config(toml).with_values({"selfconsistent.max_iterations": 1, "selfconsistent.flips": 2.0,
                                         "selfconsistent.mode": "profile"})
    lines = []
    run_loop(c, tmp_path / "loop", log=lines.append)
    assert any("fewer than 50 windows" in s for s in lines)
