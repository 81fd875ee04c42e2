"""Tests of analysis.exact: the exact echo/Ramsey references of docs/exact.md.

Every closed form is checked against an independent, obviously correct twin:
the 2-state Markov-chain matrix form (scipy.linalg.expm), a high-precision
evaluation of the printed formula (mpmath), and a brute-force Monte Carlo
average over simulated hop paths written here in plain numpy.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

try:
    import analysis.exact  # noqa: F401
except ImportError:  # repository root not on sys.path (package not installed)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.exact import (  # noqa: E402
    decay_crossing_rate,
    flip_echo,
    flip_energy_variance,
    flip_frequency_autocorrelation,
    flip_ramsey,
    hop_dot_factor,
    hop_echo,
    hop_ramsey,
    telegraph_echo_factor,
    telegraph_ramsey_factor,
)


# ---------------------------------------------------------------------------
# slow twins
# ---------------------------------------------------------------------------

def telegraph_matrix_twin(tau, v, lam):
    """D and F from the 2-state chain: Q = [[-lam, lam], [lam, -lam]], H = diag(v, -v)."""
    Q = np.array([[-lam, lam], [lam, -lam]])
    A = Q + 1j * np.diag([v, -v])
    pi = np.array([0.5, 0.5])
    one = np.ones(2)
    D = one @ scipy.linalg.expm(A * tau) @ pi
    # echo: first half with -H, second half with +H (right to left in time)
    F = one @ scipy.linalg.expm(A * tau / 2) @ scipy.linalg.expm(A.conj() * tau / 2) @ pi
    return D, F


def _tau_v_lam_grid():
    ratios = np.concatenate([np.logspace(-3, 3, 25), [1.0, 1.0 - 1e-9, 1.0 + 1e-9]])
    cases = []
    for lam in (0.37, 1.0):
        for r in ratios:
            cases.append((r * lam, lam))
    cases += [(0.0, 1.0), (0.0, 0.0), (1.3, 0.0), (1e3, 0.0), (2.0, 2.0)]
    taus = [0.0, 1e-3, 0.1, 0.7, 2.0, 10.0, 55.0, 300.0, 2000.0]
    return cases, taus


def test_closed_forms_match_matrix_twin():
    cases, taus = _tau_v_lam_grid()
    for v, lam in cases:
        d = telegraph_ramsey_factor(np.array(taus), v, lam)
        f = telegraph_echo_factor(np.array(taus), v, lam)
        for k, tau in enumerate(taus):
            D, F = telegraph_matrix_twin(tau, v, lam)
            # expm's own rounding grows with |A| tau (~1e-11 at v tau = 2e6)
            assert abs(D.imag) < 1e-9 and abs(F.imag) < 1e-9
            assert d[k] == pytest.approx(D.real, abs=1e-9), (v, lam, tau)
            assert f[k] == pytest.approx(F.real, abs=1e-9), (v, lam, tau)


def test_stable_evaluation_against_high_precision():
    """Relative accuracy, also where the value is tiny or mu -> 0 (printed formula in mpmath)."""
    import mpmath as mp
    mp.mp.dps = 60

    def exact(tau, v, lam):
        tau, v, lam = mp.mpf(tau), mp.mpf(v), mp.mpf(lam)
        mu = mp.sqrt(mp.mpc(lam**2 - v**2))
        e = mp.exp(-lam * tau)
        if mu == 0:
            return e * (1 + lam * tau), e * (1 + lam * tau + (lam * tau) ** 2 / 2)
        D = e * (mp.cosh(mu * tau) + lam / mu * mp.sinh(mu * tau))
        F = e * (1 + lam / mu * mp.sinh(mu * tau) + (lam / mu) ** 2 * (mp.cosh(mu * tau) - 1))
        return mp.re(D), mp.re(F)

    cases = [
        (1e4, 1e-3, 1.0),            # motional narrowing, lam tau = 1e4
        (1e8, 1e-3, 1.0),            # D ~ 1e-22: overflow-prone cosh(mu tau)
        (30.0, 1.0 - 1e-12, 1.0),    # mu -> 0 from below
        (30.0, 1.0 + 1e-12, 1.0),    # mu -> 0 from above
        (30.0, 1.0 - 1e-6, 1.0),
        (500.0, 1.0, 1.0),           # exactly at mu = 0, tiny value
        (0.9, 0.3, 1.2),             # |mu| tau < 1 branch
        (1e-6, 0.5, 3.0),
        (3.0, 40.0, 0.2),            # v >> lam
        (2.0, 1e-5, 1e3),            # lam >> v, mu - lam cancellation
    ]
    for tau, v, lam in cases:
        D, F = exact(tau, v, lam)
        d = telegraph_ramsey_factor(tau, v, lam)
        f = telegraph_echo_factor(tau, v, lam)
        assert float(d) == pytest.approx(float(D), rel=1e-10, abs=1e-300), (tau, v, lam)
        assert float(f) == pytest.approx(float(F), rel=1e-10, abs=1e-300), (tau, v, lam)


def test_special_values_and_mu_zero_limit():
    tau = np.linspace(0, 50, 201)
    v = 0.8
    assert np.allclose(telegraph_ramsey_factor(tau, v, 0.0), np.cos(v * tau), atol=1e-14)
    assert np.allclose(telegraph_echo_factor(tau, v, 0.0), 1.0, atol=1e-14)
    assert np.allclose(telegraph_ramsey_factor(tau, 0.0, 2.5), 1.0, atol=1e-13)
    assert np.allclose(telegraph_echo_factor(tau, 0.0, 2.5), 1.0, atol=1e-13)
    lam = 0.6
    L = lam * tau
    assert np.allclose(telegraph_ramsey_factor(tau, lam, lam), np.exp(-L) * (1 + L), rtol=1e-13, atol=0)
    assert np.allclose(
        telegraph_echo_factor(tau, lam, lam), np.exp(-L) * (1 + L + L**2 / 2), rtol=1e-13, atol=0
    )
    # continuity through mu = 0
    for eps in (1e-15, 1e-10, 1e-6):
        for s in (-1, 1):
            d = telegraph_ramsey_factor(tau, lam * (1 + s * eps), lam)
            assert np.allclose(d, np.exp(-L) * (1 + L), rtol=0, atol=50 * eps + 1e-14)


def test_robust_everywhere():
    vals = np.array([0.0, 1e-300, 1e-12, 1e-3, 0.5, 1.0, 1.0 + 1e-14, 2.0, 1e3, 1e8])
    taus = np.array([0.0, 1e-300, 1e-8, 1.0, 1e3, 1e8, 1e12])
    T, V, Lm = np.meshgrid(taus, vals, vals, indexing="ij")
    for fn in (telegraph_ramsey_factor, telegraph_echo_factor):
        out = fn(T, V, Lm)
        assert out.shape == T.shape and out.dtype == float
        assert np.all(np.isfinite(out))
        assert np.all(np.abs(out) <= 1 + 1e-12)
    # broadcasting
    assert telegraph_echo_factor(np.ones((3, 1)), np.ones(4), 2.0).shape == (3, 4)
    with pytest.raises(ValueError):
        telegraph_ramsey_factor(-1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        telegraph_echo_factor(1.0, np.nan, 1.0)


# ---------------------------------------------------------------------------
# limits (paper Appendix B rules; docs/exact.md)
# ---------------------------------------------------------------------------

def test_limit_strong_coupling_decays_at_lambda():
    lam, v = 1.0, 1e3
    tau = np.linspace(0.05, 5, 100)  # v tau >> 1
    lnF = np.log(telegraph_echo_factor(tau, v, lam))
    # ln F = -lam tau + O(lam / v)
    assert np.max(np.abs(lnF + lam * tau)) < 5 * lam / v * (1 + lam * tau.max())
    # Ramsey: envelope e^{-lam tau} times the sub-line oscillation
    d = telegraph_ramsey_factor(tau, v, lam)
    w = np.sqrt(v**2 - lam**2)
    assert np.allclose(d, np.exp(-lam * tau) * np.cos(w * tau), atol=2 * lam / v)


def test_limit_motional_narrowing():
    lam, v = 1.0, 1e-2
    rate = v**2 / (2 * lam)
    tau = np.linspace(100, 3e4, 50)  # tau >> 1/lam, rate tau from 5e-3 to 1.5
    lnD = np.log(telegraph_ramsey_factor(tau, v, lam))
    lnF = np.log(telegraph_echo_factor(tau, v, lam))
    # ln D = -rate tau + ln(1/2 (1 + lam/mu)) + O(rate tau v^2/lam^2): offsets ~ v^2/lam^2
    assert np.allclose(lnD, -rate * tau, rtol=0, atol=2 * (v / lam) ** 2 * (1 + rate * tau.max()))
    # the echo narrows at the same rate (only its prefactor differs at O(v^2/lam^2))
    assert np.allclose(lnF, -rate * tau, rtol=0, atol=4 * (v / lam) ** 2 * (1 + rate * tau.max()))


def test_limit_unresolved_neighbour_does_nothing():
    # |phase| <= v tau on every path, so |1 - D|, |1 - F| <= (v tau)^2 / 2
    tau = np.logspace(-4, 0, 30)
    for v, lam in [(1e-3, 1e-3), (1e-3, 10.0), (1e-2, 0.0), (1e-2, 1e-5)]:
        bound = (v * tau) ** 2 / 2 + 1e-15
        assert np.all(np.abs(1 - telegraph_ramsey_factor(tau, v, lam)) <= bound)
        assert np.all(np.abs(1 - telegraph_echo_factor(tau, v, lam)) <= bound)


# ---------------------------------------------------------------------------
# flip dynamics: probe products, autocorrelation
# ---------------------------------------------------------------------------

def test_flip_products_signed():
    rng = np.random.default_rng(3)
    tau = np.linspace(0, 20, 301)
    U = rng.normal(scale=2.0, size=12)
    g = rng.uniform(0.05, 0.5, size=12)
    g_self = 0.1
    E = flip_echo(tau, U, g, g_self)
    R = flip_ramsey(tau, U, g, g_self)
    Fd = np.prod([telegraph_echo_factor(tau, abs(u) / 2, x) for u, x in zip(U, g)], axis=0)
    Dd = np.prod([telegraph_ramsey_factor(tau, abs(u) / 2, x) for u, x in zip(U, g)], axis=0)
    assert np.allclose(E, np.exp(-g_self * tau) * Fd, rtol=1e-10, atol=1e-300)
    assert np.allclose(R, np.exp(-g_self * tau) * Dd, rtol=1e-10, atol=1e-300)
    assert np.any(R < 0)  # sub-lines make the Ramsey signal change sign: sign was kept
    sign, logabs = flip_ramsey(tau, U, g, g_self, return_log=True)
    assert np.allclose(sign * np.exp(logabs), R, rtol=1e-12, atol=0)
    # a factor exactly zero: lam = 0, cos(v tau) = 0
    z = flip_ramsey(np.array([np.pi]), [1.0], [0.0], 0.0)
    assert abs(z[0]) < 1e-15
    # no neighbours: pure survival
    assert np.allclose(flip_echo(tau, [], [], 0.3), np.exp(-0.3 * tau))


def test_flip_autocorrelation_and_variance():
    U = np.array([0.3, -0.1, 0.05])
    g = np.array([0.2, 1.0, 0.01])
    assert flip_frequency_autocorrelation(0.0, U, g) == pytest.approx(flip_energy_variance(U))
    assert flip_energy_variance(U) == pytest.approx(np.sum(U**2) / 4)
    t = np.array([-2.0, 0.5, 3.0])
    C = flip_frequency_autocorrelation(t, U, g)
    assert np.allclose(C, [(U**2 / 4 * np.exp(-2 * g * abs(x))).sum() for x in t])
    # second cumulant: ln R = -int_0^tau (tau - s) C(s) ds + O(U^4) (no survival)
    Us = 1e-2 * U
    tau = np.array([0.5, 3.0, 40.0])
    s = np.linspace(0, tau.max(), 400001)
    Cs = flip_frequency_autocorrelation(s, Us, g)
    for k, T in enumerate(tau):
        m = s <= T
        cum = np.trapezoid((T - s[m]) * Cs[m], s[m])
        lnR = np.log(flip_ramsey(tau, Us, g, 0.0)[k])
        assert lnR == pytest.approx(-cum, rel=1e-3)


# ---------------------------------------------------------------------------
# hop dynamics
# ---------------------------------------------------------------------------

TAU_HOP = np.array([0.25, 0.7, 1.5, 2.5, 4.0])


def test_hop_two_levels_is_a_telegraph():
    # M = 2, n = 1: configurations {0}, {1}; shift u0(n0 - 1/2) + u1(n1 - 1/2) = +-(u0 - u1)/2;
    # the single particle hops at gamma1 out of each configuration -> D, F(|u0 - u1|/2, gamma1)
    tau = np.logspace(-2, 2, 40)
    for u0, u1, g in [(0.3, -0.5, 0.2), (1.0, 0.0, 0.5), (2.0, 0.0, 0.5), (0.0, 0.0, 1.0), (5.0, 4.9, 3.0)]:
        v = abs(u0 - u1) / 2
        for method in ("auto", "expm"):
            e = hop_dot_factor(tau, [u0, u1], 1, g, kind="echo", method=method)
            r = hop_dot_factor(tau, [u0, u1], 1, g, kind="ramsey", method=method)
            assert np.allclose(e, telegraph_echo_factor(tau, v, g), rtol=0, atol=1e-12)
            assert np.allclose(r, telegraph_ramsey_factor(tau, v, g), rtol=0, atol=1e-12)
    # own dot, M = 2, n = 1, probe on level 0: the other level is full iff the probe is
    # empty, a fixed shift +-u1/2 while the probe survives (rate gamma1)
    u1, g = 0.9, 0.3
    e = hop_dot_factor(tau, [7.0, u1], 1, g, kind="echo", fixed_level=0)
    r = hop_dot_factor(tau, [7.0, u1], 1, g, kind="ramsey", fixed_level=0)
    assert np.allclose(e, np.exp(-g * tau), atol=1e-12)
    assert np.allclose(r, np.exp(-g * tau) * np.cos(u1 * tau / 2), atol=1e-12)


def test_hop_own_dot_survival():
    tau = np.linspace(0, 10, 51)
    for M, n, g in [(4, 2, 0.3), (5, 2, 0.7), (6, 1, 0.2), (3, 3, 0.5)]:
        expected = n / M * np.exp(-g * (M - n) * tau) + (M - n) / M * np.exp(-g * n * tau)
        for kind in ("echo", "ramsey"):
            f = hop_dot_factor(tau, np.zeros(M), n, g, kind=kind, fixed_level=1)
            assert np.allclose(f, expected, rtol=1e-12, atol=1e-14), (M, n, kind)


def test_hop_methods_agree_and_echo_is_real():
    rng = np.random.default_rng(11)
    tau = np.logspace(-2, 2, 30)
    u = rng.normal(size=(3, 6))
    g = np.array([0.4, 0.1, 1.3])
    for fixed in (None, 2):
        for kind in ("echo", "ramsey"):
            a = hop_dot_factor(tau, u[0], 3, g[0], kind=kind, fixed_level=fixed, method="eig")
            b = hop_dot_factor(tau, u[0], 3, g[0], kind=kind, fixed_level=fixed, method="expm")
            assert np.allclose(a, b, rtol=0, atol=1e-10)
    E = hop_echo(tau, u, 3, g, own_dot_index=1, probe_level=4)
    assert np.max(np.abs(E.imag)) < 1e-12
    prod = (
        hop_dot_factor(tau, u[0], 3, g[0], "echo")
        * hop_dot_factor(tau, u[1], 3, g[1], "echo", fixed_level=4)
        * hop_dot_factor(tau, u[2], 3, g[2], "echo")
    )
    assert np.allclose(E, prod, atol=1e-14)
    # Ramsey is genuinely complex for hop dynamics away from half filling ...
    R = hop_ramsey(tau, u, 2, g, own_dot_index=1, probe_level=4)
    assert np.max(np.abs(R.imag)) > 1e-3
    assert np.all(np.abs(R) <= 1 + 1e-12)
    # ... and real at half filling (particle-hole symmetry c -> complement maps h -> -h)
    R = hop_ramsey(tau, u, 3, g, own_dot_index=1, probe_level=4)
    assert np.max(np.abs(R.imag)) < 1e-12
    # larger dot (M = 8, n = 4: 70 configurations) stays bounded and real
    e8 = hop_dot_factor(tau, rng.normal(size=8), 4, 0.2, "echo")
    assert np.all(np.abs(e8) <= 1 + 1e-12) and np.max(np.abs(e8.imag)) < 1e-11


def _mc_hop(rng, u, M, n, g, taus, paths, fixed_level=None):
    """Brute-force average of S e^{i phase} over simulated hop paths (pure numpy).

    Returns (echo, echo_stderr, ramsey, ramsey_stderr), complex arrays over taus;
    the stderr is that of the real and imaginary parts (as a complex number).
    """
    u = np.asarray(u, dtype=float).copy()
    if fixed_level is not None:
        u[fixed_level] = 0.0
    nu = n / M
    times = np.unique(np.concatenate([taus / 2, taus]))
    t_max = times.max()
    # uniform initial configuration: n random distinct levels occupied
    order = np.argsort(rng.random((paths, M)), axis=1)
    occ = np.zeros((paths, M), dtype=bool)
    np.put_along_axis(occ, order[:, :n], True, axis=1)
    rate = g * n * (M - n)
    t = np.zeros(paths)
    phi = np.zeros((paths, times.size))
    death = np.full(paths, np.inf)  # first time the probe occupation changes
    while True:
        active = t < t_max
        if not active.any():
            break
        h = (occ - nu) @ u
        dt = rng.exponential(1.0 / rate, size=paths)
        t_next = t + dt
        # exact integral of the piecewise-constant shift up to every sampling time
        phi += h[:, None] * np.clip(np.minimum(t_next[:, None], times[None, :]) - t[:, None], 0, None)
        # hop: a uniformly chosen (occupied, empty) pair
        order = np.argsort(~occ, axis=1, kind="stable")  # occupied levels first
        a = np.take_along_axis(order, rng.integers(0, n, size=(paths, 1)), axis=1)[:, 0]
        b = np.take_along_axis(order, n + rng.integers(0, M - n, size=(paths, 1)), axis=1)[:, 0]
        rows = np.arange(paths)
        occ[rows, a] = False
        occ[rows, b] = True
        if fixed_level is not None:
            hit = (a == fixed_level) | (b == fixed_level)
            death = np.where(hit & np.isinf(death), t_next, death)
        t = t_next
    idx = {x: k for k, x in enumerate(times)}
    out = []
    for kind in ("echo", "ramsey"):
        vals = []
        for T in taus:
            if kind == "echo":
                ph = phi[:, idx[T]] - 2 * phi[:, idx[T / 2]]
            else:
                ph = phi[:, idx[T]]
            vals.append((death > T) * np.exp(1j * ph))
        vals = np.array(vals)
        mean = vals.mean(axis=1)
        se = (vals.real.std(axis=1) + 1j * vals.imag.std(axis=1)) / np.sqrt(paths)
        out += [mean, se]
    return out


@pytest.mark.slow
def test_hop_four_levels_against_monte_carlo():
    rng = np.random.default_rng(20240601)
    g = 0.4
    cases = [
        # M = 4, n = 2 (half filling: Ramsey real by particle-hole symmetry)
        (2, np.array([1.3, -0.4, 0.9, -1.1]), None),
        (2, np.array([0.0, 1.2, -0.8, 0.5]), 0),
        # M = 4, n = 1: asymmetric shift distribution, complex Ramsey (checks its sign)
        (1, np.array([2.0, -0.3, 0.2, 0.1]), None),
        (1, np.array([2.0, 0.0, 0.3, -0.2]), 1),
    ]
    for n, u, fixed in cases:
        M = u.size
        E_mc, E_se, R_mc, R_se = _mc_hop(rng, u, M, n, g, TAU_HOP, 40000, fixed_level=fixed)
        E = hop_dot_factor(TAU_HOP, u, n, g, kind="echo", fixed_level=fixed)
        R = hop_dot_factor(TAU_HOP, u, n, g, kind="ramsey", fixed_level=fixed)
        for ex, mc, se in [(E, E_mc, E_se), (R, R_mc, R_se)]:
            assert np.all(np.abs(ex.real - mc.real) <= 4 * se.real + 1e-12), (n, fixed, ex, mc, se)
            assert np.all(np.abs(ex.imag - mc.imag) <= 4 * se.imag + 1e-12), (n, fixed, ex, mc, se)
        # the test has teeth: signals are far from trivial and the error bars small
        assert np.min(np.abs(E)) < 0.6 and np.max(E_se.real) < 0.01
        if n == 1 and fixed is None:
            # the complex conjugate (wrong phase sign) is excluded by many sigma
            assert np.max(np.abs(-R.imag - R_mc.imag) / R_se.imag) > 20


# ---------------------------------------------------------------------------
# linewidth extraction
# ---------------------------------------------------------------------------

def test_decay_crossing_rate_on_exponentials():
    tau = np.logspace(-2, 3, 101)  # log spacing h = ln(10)/20
    h = np.log(tau[1] / tau[0])
    rates = np.array([[0.05, 0.3], [1.0, 7.7]])
    sig = np.exp(-rates[..., None] * tau)
    got = decay_crossing_rate(tau, sig)
    assert got.shape == rates.shape
    # rigorous bound: |d log tau_e| <= (h^2/8) max|s''| / min|s'| on the bracketing
    # interval (x = log tau, s = exp(-y), y = Gamma e^x: s' = -y e^{-y}, s'' = y(y - 1) e^{-y})
    for r, est in zip(rates.ravel(), got.ravel()):
        k = np.searchsorted(tau, 1 / r)
        y = r * np.exp(np.linspace(np.log(tau[k - 1]), np.log(tau[k]), 1001))
        bound = h**2 / 8 * np.max(np.abs(y * (y - 1) * np.exp(-y))) / np.min(y * np.exp(-y))
        assert abs(np.log(est / r)) <= bound
        assert bound < 3e-4
    # other level, NaN cases
    assert decay_crossing_rate(tau, np.exp(-0.2 * tau), level=0.5) == pytest.approx(
        0.2 / np.log(2), rel=1e-3
    )
    assert np.isnan(decay_crossing_rate(tau, np.ones_like(tau)))
    assert np.isnan(decay_crossing_rate(tau, np.exp(-1e3 * tau)))  # decayed before tau[0]
    # first downward crossing wins (a Ramsey-like revival is ignored)
    s = np.where(tau < 1.0, 1.0, 0.1)
    s[tau > 10] = 1.0
    s[tau > 100] = 0.0
    te = 1 / decay_crossing_rate(tau, s)
    assert tau[tau < 1.0][-1] < te <= tau[tau >= 1.0][0]
