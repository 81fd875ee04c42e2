"""Section IV B-D: Eqs. (10)-(17), their limits and Fig. 6's Gamma_n."""
import numpy as np
import pytest

from analysis.meanfield import dot as D


def test_eq10_is_golden_rule_at_nc():
    W = np.logspace(-8, -1, 8)
    g, dm, Xi, K = 1e-3, 1.0, 0.8, 5.0
    nc = D.nc_eq10(W, dm, K)
    np.testing.assert_allclose(dm * K ** (-nc), W, rtol=1e-12)
    np.testing.assert_allclose(D.gamma_eq10(W, g, dm, Xi, K), g**2 / W * np.exp(-2 * nc / Xi), rtol=1e-12)
    with pytest.raises(ValueError, match="Xi\\*log\\(K\\)"):
        D.gamma_eq10(1e-3, g, dm, 0.5, K, bath="lorentzian")  # Xi log K = 0.80
    assert D.gamma_eq10(1e-3, g, dm, Xi, K, bath="lorentzian") > 0  # Xi log K = 1.29


def test_eq11_exact_and_eq12_leading_order():
    g1 = np.logspace(-40, -4, 10)
    gamma, N2 = 1.0, 16.0
    for d in (1, 2, 3):
        nc = D.nc_eq11(g1, gamma, N2, d)
        np.testing.assert_allclose(nc**d * N2 * g1, gamma * np.exp(-nc), rtol=1e-10)
        # Eq. 12 = Eq. 11 up to log(log) corrections: log Gamma_2 agree to a relative O(loglog/log)
        l11 = np.log(gamma / D.gamma2_eq11(g1, gamma, N2, d))
        l12 = np.log(gamma / D.gamma2_eq12(g1, gamma, N2, d))
        rel = np.abs(l12 / l11 - 1)
        assert rel[0] < 0.15 and rel[0] < rel[-1]


def test_eq12_variants_and_domain():
    assert D.gamma2_eq12(1e-3, 1.0, 10.0, 1) == pytest.approx(1e-2 * np.log(100.0))
    assert D.gamma2_eq12(1e-3, 1.0, 10.0, 2, log_correction=False, z=4) == pytest.approx(0.04)
    assert D.gamma2_eq12(0.0, 1.0, 10.0, 1) == 0.0
    with pytest.raises(ValueError, match="N2\\*gamma1"):
        D.gamma2_eq12(0.2, 1.0, 10.0, 1)
    with pytest.raises(ValueError, match="'z'"):
        D.gamma2_eq12(1e-3, 1.0, 10.0, 1, log_correction=False)
    with pytest.raises(ValueError, match="gamma1"):
        D.gamma2_eq12(-1e-3, 1.0, 10.0, 1)


def test_eq14_vs_eq15_termwise_bound():
    # Eq. 15 replaces each Lorentzian 1/(1+x^2) by min(1, 1/x^2): ratio of sums in [1/2, 1]
    w = np.logspace(-30, -3, 40)
    for Xi, K in [(0.5, 10.0), (1.0, 10.0), (2.0, 4.0)]:
        r = D.gamma1_eq14_rate(w, 1.0, 1.0, Xi, K) / D.gamma1_eq15_rate(w, 1.0, 1.0, Xi, K)
        assert np.all((r >= 0.5 - 1e-12) & (r <= 1 + 1e-12))


def test_eq15_brute_force_sum():
    w, g, dm, Xi, K = 1e-9, 1.0, 1.0, 0.9, 6.0
    Nc = np.log(dm / w) / np.log(K)
    m, n = np.meshgrid(np.arange(1, 200), np.arange(1, 200))
    N = (m + n).astype(float)
    first = np.sum(np.where(N < Nc, g**2 * w / dm**2 * np.exp(-N * (2 / Xi - 2 * np.log(K))), 0.0))
    second = np.sum(np.where(N >= Nc, g**2 / w * np.exp(-2 * N / Xi), 0.0))
    assert D.gamma1_eq15_rate(w, g, dm, Xi, K) == pytest.approx(first + second, rel=1e-12)


def _eq15_over_eq16_asymptotic(Nc, Xi, K):
    """Leading large-N_c ratio Eq.15/Eq.16 = N_c A(theta), theta = N_c - (ceil(N_c)-1)."""
    beta = 2 * (np.log(K) - 1 / Xi)
    theta = Nc - (np.ceil(Nc) - 1)
    A = np.exp(-beta * theta) / (1 - np.exp(-beta)) + np.exp(-2 * (1 - theta) / Xi) / (1 - np.exp(-2 / Xi))
    return Nc * A


@pytest.mark.parametrize("Xi, K", [(1.0, 10.0), (0.5, 20.0), (3.0, 2.0)])
def test_limit_eq15_to_eq16(Xi, K):
    """Xi log K > 1: Eq.15 = Eq.16 x N_c A(theta) (a log factor dropped by Eq.16), exactly as N_c -> inf."""
    assert Xi * np.log(K) > 1
    w = np.logspace(-60, -280, 7)
    Nc = D.fock_order_Nc(w, 1.0, K)
    ratio = D.gamma1_eq15_rate(w, 1.0, 1.0, Xi, K) / D.gamma1_eq16_rate(w, 1.0, 1.0, Xi, K)
    pred = _eq15_over_eq16_asymptotic(Nc, Xi, K)
    err = np.abs(ratio / pred - 1)
    assert np.all(err < 2.5 / Nc)  # O(1/N_c) corrections
    # the effective power law of Eq. 15 approaches that of Eq. 16: exponent 2/kappa - 1
    lw = np.log(w)
    slope = np.polyfit(lw, np.log(D.gamma1_eq15_rate(w, 1.0, 1.0, Xi, K)), 1)[0]
    assert slope == pytest.approx(2 / (Xi * np.log(K)) - 1, abs=0.02)


@pytest.mark.parametrize("Xi, K", [(0.4, 5.0), (0.9, 2.5), (0.2, 50.0)])
def test_limit_eq15_to_eq17(Xi, K):
    """Xi log K < 1: Eq.15 / Eq.17(lowest-order prefactor) -> 1/(1-r)^2, r = exp(2(log K - 1/Xi))."""
    assert Xi * np.log(K) < 1
    w = np.logspace(-20, -200, 6)
    r = np.exp(2 * (np.log(K) - 1 / Xi))
    ratio = D.gamma1_eq15_rate(w, 1.0, 1.0, Xi, K) / D.gamma1_eq17_rate(w, 1.0, 1.0, Xi, K,
                                                                        prefactor="lowest_order")
    np.testing.assert_allclose(ratio, 1 / (1 - r) ** 2, rtol=1e-6)
    # and the printed Eq. 17 differs from Eq. 15 by a w-independent constant
    rp = D.gamma1_eq15_rate(w, 1.0, 1.0, Xi, K) / D.gamma1_eq17_rate(w, 1.0, 1.0)
    np.testing.assert_allclose(rp / rp[-1], 1.0, rtol=1e-6)


def test_explicit_gamma1_solutions():
    g2 = np.logspace(-12, -3, 7)
    Xi, K, g, dm = 0.8, 10.0, 1.0, 1e3
    g1 = D.gamma1_eq16(g2, g, dm, Xi, K)
    np.testing.assert_allclose(g1, D.gamma1_eq16_rate(g2**2 / g1, g, dm, Xi, K), rtol=1e-12)
    Xi2 = 0.3
    g1 = D.gamma1_eq17(g2, g, dm, Xi2, K, prefactor="lowest_order")
    np.testing.assert_allclose(g1, D.gamma1_eq17_rate(g2**2 / g1, g, dm, Xi2, K, prefactor="lowest_order"),
                               rtol=1e-12)
    g1 = D.gamma1_eq15(g2[:3], g, dm, Xi, K)
    np.testing.assert_allclose(g1, D.gamma1_eq15_rate(g2[:3] ** 2 / g1, g, dm, Xi, K), rtol=1e-9)


def test_gamma_n_peak_moves_with_nc():
    n = np.arange(2, 80, dtype=float)
    for w in (1e-10, 1e-20, 1e-40):
        Gn = D.gamma_n_order(n, w, 1.0, 1.0, 1.0, 10.0)
        Nc = D.fock_order_Nc(w, 1.0, 10.0)
        assert abs(n[np.argmax(Gn)] - Nc) <= 1.5
    assert np.sum(D.gamma_n_order(np.arange(2, 400.0), 1e-10, 1.0, 1.0, 1.0, 10.0)) == pytest.approx(
        D.gamma1_eq14_rate(1e-10, 1.0, 1.0, 1.0, 10.0), rel=1e-12)


@pytest.mark.parametrize("call, name", [
    (lambda: D.gamma1_eq16(1e-3, 1.0, 1e3, 0.3, 10.0), "Xi\\*log\\(K\\)"),
    (lambda: D.gamma1_eq17(1e-3, 1.0, 1e3, 2.0, 10.0, prefactor="lowest_order"), "Xi\\*log\\(K\\)"),
    (lambda: D.gamma1_eq16_rate(-1.0, 1.0, 1e3, 2.0, 10.0), "'w'"),
    (lambda: D.fock_order_Nc(1e-3, 1.0, 1.0), "'K'"),
    (lambda: D.gamma_n_order(1, 1e-3, 1.0, 1.0, 1.0, 10.0), "'n'"),
    (lambda: D.nc_eq11(1e-3, -1.0, 10.0, 1), "'gamma'"),
])
def test_bad_parameters_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()
