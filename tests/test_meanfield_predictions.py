"""Per-configuration predictions (docs/meanfield.md, "Per-configuration predictions")."""
import numpy as np
import pytest
from scipy.optimize import brentq

from analysis.meanfield import predictions as P
from analysis.meanfield.chain import rule_f


def test_transition_count():
    assert P.transition_count("flip", 6) == 6
    assert P.transition_count("hop", 6, 2) == 8
    np.testing.assert_array_equal(P.transition_count("hop", 8, np.arange(9)), np.arange(9) * (8 - np.arange(9)))
    with pytest.raises(ValueError, match="'n'"):
        P.transition_count("hop", 4, 5)
    with pytest.raises(ValueError, match="'kind'"):
        P.transition_count("jump", 4)


def test_eq12_config_and_small_log():
    g1 = np.array([0.0, 1e-4, 1e-2])
    out = P.gamma2_eq12_config(g1, 4.0, 1.0, 2)
    np.testing.assert_allclose(out, [0.0, 4e-4 * np.log(1 / 4e-4) ** 2, 4e-2 * np.log(25.0) ** 2])
    # gamma/(n_tr gamma1) < e: clamp -> n_tr gamma1, continuous at the threshold
    thr = 1.0 / (4.0 * np.e)
    below, above = P.gamma2_eq12_config([thr * (1 - 1e-9), thr * (1 + 1e-9)], 4.0, 1.0, 3)
    assert below == pytest.approx(above, rel=1e-7)
    assert P.gamma2_eq12_config(0.2, 4.0, 1.0, 1) == pytest.approx(0.8)
    assert np.isnan(P.gamma2_eq12_config(0.2, 4.0, 1.0, 1, small_log="nan"))
    with pytest.raises(ValueError, match="gamma1"):
        P.gamma2_eq12_config(0.2, 4.0, 1.0, 1, small_log="raise")
    with pytest.raises(ValueError, match="gamma1"):
        P.gamma2_eq12_config(-0.2, 4.0, 1.0, 1)


def test_rule_sum_matches_brentq_per_probe():
    rng = np.random.default_rng(7)
    U = rng.normal(size=(40, 25)) * np.exp(-rng.uniform(0, 12, size=(40, 25)))
    g1 = 10 ** rng.uniform(-7, 0, size=(40, 25))
    gs = 10 ** rng.uniform(-7, -2, size=40)
    G = P.gamma2_rule_sum(U, g1, gs)
    for i in range(40):
        ref = brentq(lambda x: x - gs[i] - np.sum(rule_f(U[i], g1[i], x)), gs[i], gs[i] + g1[i].sum(),
                     xtol=1e-300, rtol=1e-15)
        assert G[i] == pytest.approx(ref, rel=1e-11)


def test_rule_sum_limits_padding_and_broadcast():
    # one strongly coupled slow neighbour: Gamma_2 = Gamma_1self + Gamma_1
    assert P.gamma2_rule_sum([10.0], 1e-4, 1e-5) == pytest.approx(1.1e-4, rel=1e-6)
    # a fast weakly coupled neighbour: motional narrowing U^2/Gamma_1
    assert P.gamma2_rule_sum([1e-3], 1.0, 1e-9) == pytest.approx(1e-9 + 1e-6, rel=1e-4)
    # NaN padding contributes nothing; gamma1 broadcast; batch shape kept
    U = np.array([[0.5, np.nan], [0.5, 0.2]])
    out = P.gamma2_rule_sum(U, 1e-3, [1e-4, 1e-4])
    assert out.shape == (2,)
    assert out[0] == pytest.approx(P.gamma2_rule_sum([0.5], 1e-3, 1e-4), rel=1e-12)
    assert out[1] > out[0]
    assert P.gamma2_rule_sum([0.0, 0.0], [0.0, 0.0], 0.0) == 0.0
    with pytest.raises(ValueError, match="gamma1_self"):
        P.gamma2_rule_sum([0.1], 1e-3, -1.0)
    with pytest.raises(ValueError, match="'gamma1'"):
        P.gamma2_rule_sum([0.1], -1e-3, 1.0)
