"""Appendix A: Eqs. (A1)-(A5) against brute-force maximisation over n."""
import functools

import numpy as np
import pytest

from analysis.meanfield import appendix_a as A


@pytest.mark.parametrize("d", [1, 2, 3])
def test_a2_corrected_vs_bruteforce(d):
    """nhat^d from the corrected A2 equals the brute-force maximiser of A1 (relative 1e-6)."""
    for W in (1e-2, 1e-4):
        for Xi in (0.5, 2.0, 5.0):
            for s in (0.3, np.log(2)):
                f = functools.partial(A.gamma_n_gaussian, W=W, Delta=1.0, gamma=1.0, Xi=Xi, s=s, d=d)
                nd = float(A.nhat_d_a2_corrected(W, 1.0, Xi, s))
                n_hat = nd ** (1 / d)
                brute = A.argmax_bruteforce(f, 2 * n_hat + 2)
                assert brute**d == pytest.approx(nd, rel=1e-6)
                # the printed A2 is off by log(2)/(2s) in nhat^d
                assert float(A.nhat_d_a2_printed(W, 1.0, Xi, s)) == pytest.approx(nd - np.log(2) / (2 * s),
                                                                                 rel=1e-12)


def test_a5_vs_bruteforce_and_a4():
    for W in (1e-3, 1e-6):
        for Xi, K in ((1.0, np.e**2), (0.6, 10.0), (3.0, 5.0)):
            f = functools.partial(A.gamma_n_lorentzian, W=W, Delta=1.0, gamma=1.0, Xi=Xi, K=K)
            nh = float(A.nhat_a5(W, 1.0, Xi, K))
            brute = A.argmax_bruteforce(f, 2 * nh + 5)
            assert brute == pytest.approx(nh, rel=1e-6)
            assert np.exp(-2 * nh * np.log(K)) == pytest.approx(float(A.exp_a4(W, 1.0, Xi, K)), rel=1e-10)
            # integer orders: the best integer is a neighbour of nhat
            ib = A.argmax_bruteforce(f, 2 * nh + 5, integer=True)
            assert abs(ib - nh) <= 1.0


def test_a3_lowest_order_when_kappa_below_1():
    f = functools.partial(A.gamma_n_lorentzian, W=1e-3, Delta=1.0, gamma=1.0, Xi=0.3, K=5.0)
    assert A.argmax_bruteforce(f, 30) == 0.0
    with pytest.raises(ValueError, match="Xi\\*log\\(K\\)"):
        A.nhat_a5(1e-3, 1.0, 0.3, 5.0)
    with pytest.raises(ValueError, match="Xi\\*log\\(K\\)"):
        A.exp_a4(1e-3, 1.0, 0.3, 5.0)


def test_bad_parameters():
    with pytest.raises(ValueError, match="'s'"):
        A.nhat_d_a2_corrected(1e-3, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="'W'"):
        A.gamma_n_gaussian(1.0, -1.0, 1.0, 1.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="W\\*\\*2"):
        A.nhat_d_a2_corrected(10.0, 1.0, 0.1, 0.1)
    with pytest.raises(ValueError, match="'n'"):
        A.gamma_n_lorentzian(-1.0, 1e-3, 1.0, 1.0, 1.0, 5.0)
