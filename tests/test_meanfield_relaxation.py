"""Section II of the paper: Eqs. (4)-(7) and the dominant channel."""
import numpy as np
import pytest

from analysis.meanfield import relaxation as R


def test_eq4_value():
    W, D, g, xi, d = 0.01, 1.0, 1e-3, 2.0, 2
    expected = g**2 / W * np.exp(-2 * (D / W) ** 0.5 / xi)
    assert R.gamma_a(W, D, g, xi, d) == pytest.approx(expected, rel=1e-14)


def test_eq5_corrected_is_squared_amplitude_d1():
    # d = 1: golden rule gamma^2/W |exp(-n/xi - n/Xi)|^2 at s n = log(Delta/W) is exactly the corrected Eq. 5
    W = np.logspace(-6, -1, 11)
    D, g, xi, Xi, s = 1.0, 1e-3, 1.5, 3.0, 0.5
    n = np.log(D / W) / s
    golden = g**2 / W * np.exp(-2 * n / xi - 2 * n / Xi)
    np.testing.assert_allclose(R.gamma_b_corrected(W, D, g, Xi, s, d=1, xi=xi), golden, rtol=1e-12)
    # the printed exponent is half as large: printed^2 = corrected * gamma^2/W
    pr = R.gamma_b_printed(W, D, g, Xi, s, d=1, xi=xi)
    np.testing.assert_allclose(pr**2, R.gamma_b_corrected(W, D, g, Xi, s, d=1, xi=xi) * g**2 / W, rtol=1e-12)


def test_eq6_forms_and_exact_volume():
    W, D, g, s = 1e-4, 1.0, 1e-2, 0.6
    prod = R.gamma_c(W, D, g, s, form="product")
    powr = R.gamma_c(W, D, g, s, form="power")
    assert prod == pytest.approx(powr * (D / g) ** 2, rel=1e-10)
    x = R.nhat_d_eq6(W, D, s, exact=True)
    assert D * np.exp(-s * x) == pytest.approx(x * W, rel=1e-12)
    # the leading-order volume overestimates the exact one by a log
    assert R.nhat_d_eq6(W, D, s) > x


def test_eq7_selfconsistent_and_leading_order():
    gb, s, xi, d = 1e-8, 0.5, 1.0, np.array([1, 2, 3])
    U0 = 1.0
    Gp = R.linewidth_eq7_selfconsistent(gb, U0, s, xi, d)
    np.testing.assert_allclose(Gp, s * xi**d * gb * np.log(U0 / Gp) ** d, rtol=1e-12)
    # Eq. (7) agrees up to log(log) corrections: the logs agree ever better as U0/A grows
    U0s = np.logspace(2, 200, 5) * s * xi * gb
    r1 = np.log(U0s / R.linewidth_eq7(gb, U0s, s, xi, 1))
    r2 = np.log(U0s / R.linewidth_eq7_selfconsistent(gb, U0s, s, xi, 1))
    rel = np.abs(r1 / r2 - 1)
    assert np.all(np.diff(rel) < 0) and rel[-1] < 0.02


def test_multi_lbit_channel_dominates_as_W_to_zero():
    out = R.dominant_channel(np.array([1e-3, 1e-6, 1e-9]), 1.0, 1e-3, 1.0, 2.0, 0.5, 2)
    assert list(out["channel"]) == ["b", "b", "b"]
    assert np.all(out["gamma_b"] > out["gamma_a"]) and np.all(out["gamma_b"] > out["gamma_c"])
    # with a wide bath relative to Delta^(1/d) scales the single hop can win
    out = R.dominant_channel(0.5, 1.0, 1e-3, 5.0, 0.2, 0.3, 1)
    assert out["channel"] in ("a", "b", "c")


@pytest.mark.parametrize("call, name", [
    (lambda: R.gamma_a(-1, 1, 1, 1, 1), "W"),
    (lambda: R.gamma_a(2, 1, 1, 1, 1), "W"),
    (lambda: R.gamma_b_corrected(0.1, 1, 1, 1, 0.9), "s"),
    (lambda: R.gamma_c(0.1, 1, 2, 0.5), "gamma"),
    (lambda: R.linewidth_eq7(1.0, 0.1, 0.5, 1.0, 1), "gamma_b*s*xi**d"),
    (lambda: R.gamma_a(0.1, 1, 1, 1, 1.5), "d"),
    (lambda: R.dominant_channel(0.1, 1, 0.01, 1, 1, 0.5, 1, eq5="x"), "eq5"),
])
def test_bad_parameters_named(call, name):
    with pytest.raises(ValueError, match=name.replace("*", r"\*")):
        call()
