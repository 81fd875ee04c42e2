"""Tests of analysis.spectral_exact: Poisson-ensemble references (docs/spectral-diffusion.md).

The closed forms are checked against Monte Carlo averages of the per-probe exact
products of analysis.exact (flip_echo, flip_ramsey) over Poisson configurations
drawn in a box here in plain numpy, against their own refined quadrature, and
against the anchors of docs/spectral-diffusion.md §3.
"""
import math

import numpy as np
import pytest
from scipy import integrate, special

from analysis.exact import flip_echo, flip_frequency_autocorrelation, flip_ramsey
from analysis.spectral_exact import (
    DIPOLAR_LORENTZ_CONSTANT,
    PoissonEnsemble,
    black_halperin_slope,
    coupling_square_integral,
    ensemble_log_signal,
    ensemble_sd_variance,
    ensemble_sd_variance_closed,
    motional_narrowing_rate,
    static_dipolar_rate,
    telegraph_sd_variance,
)

# ---------------------------------------------------------------------------
# Monte Carlo twin: Poisson points in the box [-r_c, r_c]^d, probe at the origin
# ---------------------------------------------------------------------------


def draw_configuration(ens: PoissonEnsemble, rng: np.random.Generator):
    """Couplings and rates of one Poisson configuration (only r_min <= r < r_c is kept)."""
    R = ens.r_c
    count = rng.poisson(ens.density * (2 * R) ** ens.d)
    x = rng.uniform(-R, R, size=(count, ens.d))
    r = np.sqrt((x**2).sum(1))
    keep = (r >= ens.r_min) & (r < ens.r_c)
    x, r = x[keep], r[keep]
    u = rng.standard_normal(r.size) if ens.amplitude == "gauss" else rng.choice([-1.0, 1.0], size=r.size)
    if ens.envelope == "exp":
        A = ens.gamma * np.exp(-r / ens.xi)
    elif ens.envelope == "power":
        A = ens.gamma * r ** (-ens.alpha)
    else:  # dipolar: the angle to a fixed axis, from the isotropic positions themselves
        cos = x[:, 2] / r
        A = ens.gamma * (1.0 - 3.0 * cos**2) / r**3
    if ens.gamma1_max is None:
        g = np.full(r.size, ens.gamma1)
    else:
        g = np.exp(rng.uniform(math.log(ens.gamma1), math.log(ens.gamma1_max), size=r.size))
    return A * u, g


def monte_carlo(ens, tau, gamma1_self, n_conf, seed):
    rng = np.random.default_rng(seed)
    e = np.empty((n_conf, tau.size))
    rm = np.empty((n_conf, tau.size))
    for k in range(n_conf):
        U, g = draw_configuration(ens, rng)
        e[k] = flip_echo(tau, U, g, gamma1_self)
        rm[k] = flip_ramsey(tau, U, g, gamma1_self)
    sem = lambda a: a.std(0, ddof=1) / math.sqrt(n_conf)  # noqa: E731
    return e.mean(0), sem(e), rm.mean(0), sem(rm)


CASES = [
    # (ensemble, gamma1_self, taus)
    (PoissonEnsemble(density=0.5, d=1, envelope="exp", xi=1.5, amplitude="gauss", gamma1=0.3, r_c=8.0),
     0.0, [0.5, 2.0, 5.0, 12.0]),
    (PoissonEnsemble(density=0.3, d=1, envelope="power", alpha=2.0, amplitude="pm1", gamma1=0.01, gamma1_max=1.0,
                     r_min=0.5, r_c=10.0), 0.02, [0.5, 2.0, 5.0, 20.0]),
    (PoissonEnsemble(density=0.2, d=2, envelope="exp", xi=1.0, amplitude="pm1", gamma1=0.1, r_min=0.5, r_c=5.0),
     0.0, [0.5, 2.0, 6.0, 20.0]),
    (PoissonEnsemble(density=0.1, d=2, envelope="power", alpha=3.0, amplitude="gauss", gamma1=0.01, gamma1_max=1.0,
                     r_c=5.0), 0.0, [0.5, 2.0, 8.0, 30.0]),
    (PoissonEnsemble(density=0.05, d=3, envelope="power", alpha=2.0, amplitude="gauss", gamma1=0.2, r_min=0.4,
                     r_c=4.0), 0.0, [0.5, 2.0, 8.0]),
    (PoissonEnsemble(density=0.04, d=3, envelope="dipolar", amplitude="gauss", gamma1=0.05, r_c=4.0),
     0.0, [0.3, 1.0, 4.0, 15.0]),
    (PoissonEnsemble(density=0.04, d=3, envelope="dipolar", amplitude="pm1", gamma1=0.003, gamma1_max=0.3,
                     r_min=0.3, r_c=4.0), 0.01, [0.3, 1.0, 4.0, 15.0]),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", range(len(CASES)))
def test_poisson_closed_form_matches_monte_carlo(case):
    ens, g_self, taus = CASES[case]
    tau = np.array(taus)
    e_mc, e_se, r_mc, r_se = monte_carlo(ens, tau, g_self, n_conf=3000, seed=1234 + case)
    e_ex = np.exp(ensemble_log_signal(tau, ens, "echo", g_self))
    r_ex = np.exp(ensemble_log_signal(tau, ens, "ramsey", g_self))
    # the signals must be non-trivial for the comparison to test anything
    assert e_ex[-1] < 0.8 and np.all(e_ex > 0.02)
    assert np.all(np.abs(e_mc - e_ex) < 4 * e_se), (e_mc, e_ex, e_se)
    assert np.all(np.abs(r_mc - r_ex) < 4 * r_se), (r_mc, r_ex, r_se)


def test_monte_carlo_twin_resolves_a_wrong_density():
    """The comparison above has power: 10 % more fluctuators is seen at > 4 sigma."""
    ens, g_self, taus = CASES[0]
    tau = np.array(taus)
    e_mc, e_se, _, _ = monte_carlo(ens, tau, g_self, n_conf=3000, seed=1234)
    wrong = PoissonEnsemble(**{**ens.__dict__, "density": 1.1 * ens.density})
    e_wrong = np.exp(ensemble_log_signal(tau, wrong, "echo"))
    assert np.any(np.abs(e_mc - e_wrong) > 4 * e_se)


# ---------------------------------------------------------------------------
# Quadrature accuracy
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", [0, 1, 3, 6])
def test_quadrature_converges(case):
    ens, g_self, taus = CASES[case]
    tau = np.array(taus + [100.0])
    for kind in ("echo", "ramsey"):
        base = ensemble_log_signal(tau, ens, kind, g_self)
        fine = ensemble_log_signal(tau, ens, kind, g_self, nodes=24, inner_nodes=80, rate_nodes=16, y_win=80.0)
        assert np.all(np.abs(base / fine - 1) < 1e-5), (kind, base / fine - 1)


@pytest.mark.parametrize("amplitude", ["pm1", "gauss"])
def test_static_dipolar_lorentzian(amplitude):
    """Static dipolar telegraphs in 3D: <R> = exp(-Gamma* tau), Gamma* = (4 pi^2/(9 sqrt 3)) n gamma <|u|>."""
    n, gamma = 0.02, 0.7
    ens = PoissonEnsemble(density=n, d=3, envelope="dipolar", gamma=gamma, amplitude=amplitude, gamma1=0.0)
    tau = np.logspace(-1, 2, 6)
    log_r = ensemble_log_signal(tau, ens, "ramsey")
    rate = static_dipolar_rate(n, gamma, amplitude)
    assert np.all(np.abs(-log_r / (rate * tau) - 1) < 2e-6)
    # the constant from its two ingredients, integrated numerically: (2/3) int_0^inf (1 - cos s)/s^2 ds
    # times <|1 - 3x^2|> over x in [0, 1], times 1/2 (v = |U|/2)
    radial = (integrate.quad(lambda s: (1 - math.cos(s)) / s**2, 0, 1)[0] + 1.0
              - integrate.quad(lambda s: 1 / s**2, 1, np.inf, weight="cos", wvar=1.0)[0])
    angular = integrate.quad(lambda x: abs(1 - 3 * x**2), 0, 1, points=[3**-0.5])[0]
    assert DIPOLAR_LORENTZ_CONSTANT == pytest.approx(4 * math.pi / 3 * radial * angular / 2, rel=1e-5)
    # the static echo refocuses completely
    assert np.all(np.abs(ensemble_log_signal(tau, ens, "echo")) < 1e-12)


def test_static_power_law_is_a_stretched_exponential():
    """r^-alpha in d dims, static: -log <R> = n (S_d/alpha) <(|u|/2)^p> Gamma(1-p) cos(pi p/2)/p (gamma tau)^p."""
    for d, alpha in [(1, 1.5), (2, 3.0), (3, 2.0)]:
        ens = PoissonEnsemble(density=0.1, d=d, envelope="power", alpha=alpha, amplitude="gauss", gamma1=0.0)
        p = d / alpha
        mom = 2 ** (p / 2) * special.gamma((p + 1) / 2) / math.sqrt(math.pi) / 2**p  # <(|u|/2)^p>
        s_d = {1: 2.0, 2: 2 * math.pi, 3: 4 * math.pi}[d]
        c = s_d / alpha * mom * special.gamma(1 - p) * math.cos(math.pi * p / 2) / p
        tau = np.array([0.3, 3.0, 30.0])
        log_r = ensemble_log_signal(tau, ens, "ramsey")
        assert np.all(np.abs(-log_r / (0.1 * c * tau**p) - 1) < 1e-5), (d, alpha)


def test_motional_narrowing_rate():
    ens = PoissonEnsemble(density=0.1, d=3, envelope="power", alpha=3.0, gamma=0.01, amplitude="gauss", gamma1=1.0,
                          r_min=1.0)
    rate = motional_narrowing_rate(ens)
    tau = np.array([20.0, 40.0])
    for kind in ("echo", "ramsey"):
        log_s = ensemble_log_signal(tau, ens, kind)
        slope = -(log_s[1] - log_s[0]) / (tau[1] - tau[0])
        # corrections: (v/lambda)^2 ~ 1e-4 (the gauss tail reaches a few times that)
        assert slope == pytest.approx(rate, rel=2e-3), kind


# ---------------------------------------------------------------------------
# Spectral diffusion
# ---------------------------------------------------------------------------

def test_sd_variance_single_telegraph_direct_simulation():
    """<(n(t+t_w) - n(t))^2> of a simulated flip chain (exponential waiting times) = (1 - e^{-2 lam t_w})/2."""
    rng = np.random.default_rng(7)
    lam, t_w, N = 0.8, np.array([0.1, 0.5, 1.0, 3.0]), 20000
    for t in t_w:
        n0 = rng.integers(0, 2, size=N)
        # flips in [0, t]: cumulative exponential waiting times
        times = np.cumsum(rng.exponential(1.0 / lam, size=(N, 40)), axis=1)
        assert np.all(times[:, -1] > t)
        flips = (times < t).sum(1)
        n1 = (n0 + flips) % 2
        sq = (n1 - n0) ** 2.0
        exact = telegraph_sd_variance(t, [1.0], [lam])
        assert abs(sq.mean() - exact) < 4 * sq.std(ddof=1) / math.sqrt(N)
        assert exact == pytest.approx(0.5 * (1 - math.exp(-2 * lam * t)))


def test_sd_variance_is_twice_the_autocorrelation_drop():
    rng = np.random.default_rng(3)
    U, g = rng.standard_normal(30), rng.uniform(0.01, 2.0, 30)
    t = np.array([0.0, 0.1, 1.0, 10.0])
    c = flip_frequency_autocorrelation(t, U, g)
    assert np.allclose(telegraph_sd_variance(t, U, g), 2 * (c[0] - c), rtol=1e-13, atol=1e-15)


def test_sd_variance_poisson_average_matches_monte_carlo():
    ens = PoissonEnsemble(density=0.3, d=2, envelope="power", alpha=2.0, amplitude="gauss", gamma1=0.01,
                          gamma1_max=10.0, r_min=0.5, r_c=6.0)
    t = np.array([0.03, 1.0, 30.0])
    rng = np.random.default_rng(11)
    vals = np.array([telegraph_sd_variance(t, *draw_configuration(ens, rng)) for _ in range(4000)])
    se = vals.std(0, ddof=1) / math.sqrt(len(vals))
    assert np.all(np.abs(vals.mean(0) - ensemble_sd_variance(t, ens)) < 4 * se)


def test_coupling_square_integral_closed_forms():
    # power law with r_c = inf: S_d gamma^2 r_min^{d - 2 alpha} / (2 alpha - d), times <w^2> = 4/5 (dipolar)
    ens = PoissonEnsemble(density=1.0, d=2, envelope="power", alpha=1.5, gamma=2.0, r_min=0.7)
    assert coupling_square_integral(ens) == pytest.approx(2 * math.pi * 4.0 * 0.7 ** (2 - 3.0) / 1.0, rel=1e-10)
    ens = PoissonEnsemble(density=1.0, d=3, envelope="dipolar", r_min=0.5)
    assert coupling_square_integral(ens) == pytest.approx(4 * math.pi * 0.5**-3 / 3 * 0.8, rel=1e-10)
    # exp in 3D: 4 pi gamma^2 * 2! (xi/2)^3
    ens = PoissonEnsemble(density=1.0, d=3, envelope="exp", xi=1.3)
    assert coupling_square_integral(ens) == pytest.approx(4 * math.pi * 2 * (1.3 / 2) ** 3, rel=1e-10)
    with pytest.raises(ValueError, match="r_min"):
        coupling_square_integral(PoissonEnsemble(density=1.0, d=3, envelope="power", alpha=2.0))


def test_sd_variance_rate_quadrature_matches_exponential_integral():
    ens = PoissonEnsemble(density=0.2, d=3, envelope="dipolar", gamma1=1e-4, gamma1_max=10.0, r_min=0.5)
    t = np.logspace(-3, 6, 19)
    assert np.allclose(ensemble_sd_variance(t, ens), ensemble_sd_variance_closed(t, ens), rtol=1e-8, atol=0)


def test_black_halperin_logarithmic_growth():
    g1, g2 = 1e-6, 1e2
    ens = PoissonEnsemble(density=0.2, d=3, envelope="dipolar", gamma1=g1, gamma1_max=g2, r_min=0.5)
    t = 1.0 / math.sqrt(g1 * g2)
    h = 0.01
    s = ensemble_sd_variance(np.array([t * math.exp(-h), t * math.exp(h)]), ens)
    slope = (s[1] - s[0]) / (2 * h)
    # corrections: 2 g1 t (= 2e-4) and e^{-2 g2 t}
    assert slope == pytest.approx(black_halperin_slope(ens), rel=1e-3)
    mid = float(ensemble_sd_variance(np.array([t]), ens)[0])
    assert mid == pytest.approx(black_halperin_slope(ens) * (math.log(2 * g2 * t) + np.euler_gamma), rel=1e-3)


def test_bad_ensembles_are_refused_with_one_line():
    bad = [dict(density=0.0), dict(density=1.0, d=4), dict(density=1.0, envelope="yukawa"),
           dict(density=1.0, envelope="dipolar", d=2), dict(density=1.0, amplitude="uniform"),
           dict(density=1.0, gamma1=1.0, gamma1_max=0.5), dict(density=1.0, r_min=2.0, r_c=1.0),
           dict(density=1.0, d=3, envelope="power", alpha=1.0)]
    for kw in bad:
        with pytest.raises(ValueError) as err:
            PoissonEnsemble(**kw)
        assert "\n" not in str(err.value)
    ens = PoissonEnsemble(density=1.0)
    with pytest.raises(ValueError, match="kind"):
        ensemble_log_signal([1.0], ens, "hahn")
    with pytest.raises(ValueError, match="tau"):
        ensemble_log_signal([0.0, 1.0], ens)
