"""Self-consistent solutions: closed forms Eqs. (18)-(20) against the numerical roots, stability, validity."""
import numpy as np
import pytest

from analysis.meanfield import selfconsistent as S

LOGK = 2.0
K = float(np.exp(LOGK))
N2 = 100.0


def _nonzero(roots):
    return [r for r in roots if r.log_gamma1 > -np.inf]


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("g", [1e-1, 1e-3, 1e-6])
def test_eq19_corrected_equals_numerical_root(d, g):
    """Exact (Lambert-W) solution vs Brent roots of Eq. 12 + Eq. 16 (kappa > 1) / Eq. 17 (kappa <= 1): rtol 1e-8."""
    dm = N2 / g
    for kappa in (0.5, 0.8, 1.0, 1.02, 1.2, 1.5, 1.9, 2.0, 2.5, 3.5):
        Xi = kappa / LOGK
        roots = _nonzero(S.solve_selfconsistent(1.0, dm, N2, d, Xi, K))
        ell = S.ell_eq19_corrected(1.0, dm, N2, d, Xi, K)
        if not np.isfinite(ell):  # no metallic root (kappa > 2, argument below -1/e)
            assert kappa > 2
            continue
        phys = min(roots, key=lambda r: r.log_gamma1)  # largest ell
        # compare logs (rates underflow for kappa < 1 and small g: ell up to ~1e7 here)
        ell_num = np.log(1.0 / N2) - phys.log_gamma1
        assert ell_num == pytest.approx(float(ell), rel=1e-8)
        assert phys.log_gamma2 == pytest.approx(np.log(float(ell)) * d - float(ell), rel=1e-8, abs=1e-8)
        if ell < 500:
            assert phys.gamma1 == pytest.approx(float(S.gamma1_eq19_corrected(1.0, dm, N2, d, Xi, K)), rel=1e-8)
            assert phys.gamma2 == pytest.approx(float(S.gamma2_eq19_corrected(1.0, dm, N2, d, Xi, K)),
                                                rel=1e-8)
        if kappa < 2:
            assert len(roots) == 1


def test_eq19_corrected_kappa_above_2_other_branch():
    dm, d = N2 / 1e-1, 1
    Xi = 2.5 / LOGK
    roots = _nonzero(S.solve_selfconsistent(1.0, dm, N2, d, Xi, K))
    other = S.gamma1_eq19_corrected(1.0, dm, N2, d, Xi, K, branch="other")
    assert len(roots) == 2
    assert max(r.gamma1 for r in roots) == pytest.approx(float(other), rel=1e-8)


def test_eq18_equals_numerical_root_without_log():
    for kappa in (1.1, 1.5, 2.0, 2.9, 4.0):
        for g in (1e-1, 1e-4):
            Xi, dm, z = kappa / LOGK, N2 / g, 2.0
            roots = _nonzero(S.solve_selfconsistent(1.0, dm, N2, 1, Xi, K, log_correction=False, z=z))
            assert len(roots) == 1
            assert roots[0].gamma2 == pytest.approx(float(S.gamma2_eq18(1.0, dm, N2, z, Xi, K)), rel=1e-9)
            assert roots[0].gamma1 == pytest.approx(roots[0].gamma2 / (z * N2), rel=1e-9)
            # multiplier of the log-free map is 2 - kappa
            assert roots[0].multiplier == pytest.approx(2 - kappa, abs=1e-6)
            assert roots[0].stable == (abs(2 - kappa) < 1)


def test_eq18_zero_for_kappa_below_1():
    Xi = 0.8 / LOGK
    assert S.gamma2_eq18(1.0, 1e4, N2, 2.0, Xi, K) == 0.0
    roots = S.solve_selfconsistent(1.0, 1e4, N2, 1, Xi, K, log_correction=False, z=2.0)
    assert len(roots) == 1 and roots[0].gamma1 == 0.0 and roots[0].stable is True


def test_eq19_printed_solves_its_own_approximate_equation():
    """Printed upper branch solves (G2/gamma)^(kappa-1) = g log^d(gamma/(N G2)), not Eq. 12 + 16."""
    for d in (1, 2, 3):
        for kappa in (1.05, 1.3, 1.8):
            g, Xi = 1e-3, kappa / LOGK
            G2 = float(S.gamma2_eq19_printed(1.0, N2 / g, N2, d, Xi, K))
            lhs = G2 ** (kappa - 1)
            rhs = g * np.log(1.0 / (np.sqrt(N2) * G2)) ** d
            assert lhs == pytest.approx(rhs, rel=1e-10)
            exact = float(S.gamma2_eq19_corrected(1.0, N2 / g, N2, d, Xi, K))
            assert abs(np.log(G2 / exact)) > 0.1  # a real discrepancy


def test_eq19_printed_lower_branch_and_eq20_are_gamma1():
    for d in (1, 2, 3):
        g = 1e-2
        dm = N2 / g
        for kappa in (0.5, 0.9, 1.0):
            Xi = kappa / LOGK
            pr = float(S.gamma2_eq19_printed(1.0, dm, N2, d, Xi, K))
            assert pr == pytest.approx(float(S.gamma1_eq19_corrected(1.0, dm, N2, d, Xi, K)), rel=1e-12)
            ell = float(S.ell_eq19_corrected(1.0, dm, N2, d, Xi, K))
            assert float(S.gamma2_eq19_corrected(1.0, dm, N2, d, Xi, K)) == pytest.approx(pr * N2 * ell**d,
                                                                                          rel=1e-12)
        # Eq. 20 (kappa = 1): both laws coincide, numerical root vs corrected closed form
        roots = _nonzero(S.solve_selfconsistent(1.0, dm, N2, d, 1.0 / LOGK, K, law="eq17"))
        assert roots[0].gamma2 == pytest.approx(float(S.gamma2_eq20_corrected(1.0, dm, N2, d)), rel=1e-8)
        assert roots[0].gamma1 == pytest.approx(float(S.gamma2_eq20_printed(1.0, dm, N2, d)), rel=1e-8)
        # continuity of the corrected Eq. 19 across kappa = 1
        lo = S.gamma2_eq19_corrected(1.0, dm, N2, d, (1 - 1e-9) / LOGK, K)
        hi = S.gamma2_eq19_corrected(1.0, dm, N2, d, (1 + 1e-9) / LOGK, K)
        assert float(lo) == pytest.approx(float(hi), rel=1e-6)


def test_stability_by_iteration():
    g, d = 1e-1, 1
    for kappa in (0.7, 1.5):
        Xi = kappa / LOGK
        roots = S.solve_selfconsistent(1.0, N2 / g, N2, d, Xi, K)
        assert roots[0].gamma1 == 0.0 and roots[0].stable is False  # bad metal: zero is unstable
        r = _nonzero(roots)[0]
        assert r.stable
        seq = S.iterate_selfconsistent(r.gamma1 * 3, 1000, 1.0, N2 / g, N2, d, Xi, K)
        assert seq[-1] == pytest.approx(r.gamma1, rel=1e-5)
        assert np.all(np.diff(np.abs(np.log(seq / r.gamma1))) <= 1e-12)  # monotone approach (0 < lambda < 1)
        # analytic multiplier of Eq. 16: (2 - kappa)(1 - d/ell); of Eq. 17: 1 - d/ell
        ell = np.log(1.0 / (N2 * r.gamma1))
        expect = (2 - kappa) * (1 - d / ell) if kappa > 1 else 1 - d / ell
        assert r.multiplier == pytest.approx(expect, rel=1e-6)


def test_eq15_solver_agrees_with_eq16_scaling():
    # Eq. 15 differs from Eq. 16 by the prefactor N_c A(theta): the self-consistent
    # solutions differ by a modest factor only when kappa is not close to 1
    g, d, Xi = 1e-4, 1, 1.8 / LOGK
    r15 = _nonzero(S.solve_selfconsistent(1.0, N2 / g, N2, d, Xi, K, law="eq15"))
    r16 = _nonzero(S.solve_selfconsistent(1.0, N2 / g, N2, d, Xi, K, law="eq16"))
    assert len(r15) >= 1 and len(r16) == 1
    best = min(r15, key=lambda r: abs(np.log(r.gamma2 / r16[0].gamma2)))
    assert abs(np.log(best.gamma2 / r16[0].gamma2)) < np.log(10.0)


def test_validity_conditions():
    d, z = 1, 2.0
    # deep in the valid regime: tiny coupling, kappa slightly above 1
    g, kappa = 1e-6, 1.05
    Xi, dm = kappa / LOGK, N2 / g
    G1 = S.gamma1_eq19_corrected(1.0, dm, N2, d, Xi, K)
    G2 = S.gamma2_eq19_corrected(1.0, dm, N2, d, Xi, K)
    v = S.validity(G1, G2, 1.0, dm, N2, d, Xi, K, z, margin=5.0)
    assert v["eq21"]["holds"] and v["eq22_right"]["holds"] and v["leading_order_in_gamma"]["holds"]
    # Fig. 4's g = 0.1 at kappa = 1.3 violates the inhomogeneity condition w << gamma (Eq. 22)
    Xi, dm = 1.3 / LOGK, N2 / 0.1
    G1 = S.gamma1_eq19_corrected(1.0, dm, N2, d, Xi, K)
    G2 = S.gamma2_eq19_corrected(1.0, dm, N2, d, Xi, K)
    v = S.validity(G1, G2, 1.0, dm, N2, d, Xi, K, z)
    assert not v["eq22_right"]["holds"] and not v["all"]
    # Eq. 23 in its exponent form
    v = S.validity(1e-9, 1e-6, 1.0, 1e9, 4.0, 1, 1.1 / LOGK, K, 2.0)
    assert v["eq23"]["rhs"] == pytest.approx(8.0 ** -1.1)


@pytest.mark.parametrize("call, name", [
    (lambda: S.solve_selfconsistent(1.0, 1e3, N2, 1, 0.3, K, law="eq16"), "Xi\\*log\\(K\\)"),
    (lambda: S.solve_selfconsistent(1.0, 1e3, N2, 1, 0.8, K, law="eq17"), "Xi\\*log\\(K\\)"),
    (lambda: S.solve_selfconsistent(-1.0, 1e3, N2, 1, 0.8, K), "'gamma'"),
    (lambda: S.solve_selfconsistent(1.0, 1e3, N2, 1, 0.8, K, law="eq99"), "'law'"),
    (lambda: S.solve_selfconsistent(1.0, 1e3, N2, 1, 0.8, K, log_correction=False), "'z'"),
    (lambda: S.gamma2_eq19_corrected(1.0, 1e3, -N2, 1, 0.8, K), "'N2'"),
    (lambda: S.validity(1e-3, 1e-2, 1.0, 1e3, N2, 1, 0.8, K, 2.0, margin=-1), "'margin'"),
    (lambda: S.iterate_selfconsistent(1e-5, 3, 1.0, 1e3, N2, 1, 0.8, K, damping=2.0), "'damping'"),
])
def test_bad_parameters_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()
