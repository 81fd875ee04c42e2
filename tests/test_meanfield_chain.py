"""Appendix B chain: the three rules, the 1/L threshold with pinned ends, the bath falloff."""
import numpy as np
import pytest

from analysis.meanfield import chain as C


def test_rule_f_three_limits():
    # (1) U << Gamma_2: nothing
    assert C.rule_f(1e-6, 1e-3, 1.0) < 1e-14
    # (2) U >> Gamma_1, Gamma_2: Gamma_1
    assert C.rule_f(1.0, 1e-5, 1e-6) == pytest.approx(1e-5, rel=1e-9)
    # (3) Gamma_1 >> U >> Gamma_2: U^2/Gamma_1 (motional narrowing)
    assert C.rule_f(1e-3, 1.0, 1e-8) == pytest.approx(1e-6, rel=1e-5)
    # zero rate or zero coupling contributes nothing; sign of U irrelevant
    assert C.rule_f(0.0, 0.0, 0.0) == 0.0 and C.rule_f(-0.5, 0.1, 0.2) == C.rule_f(0.5, 0.1, 0.2)


def test_critical_coupling_scales_as_inverse_L():
    """Pinned ends: critical gamma/delta_m by bisection; fitted exponent is -1 within 3 error bars."""
    Ls = np.array([8, 16, 32, 64])
    res = [C.critical_coupling(L, rtol=1e-7) for L in Ls]
    crit = np.array([r[0] for r in res])
    err = np.array([r[1] for r in res])
    fit = C.fit_power_law(Ls, crit, sigma_log_y=err)
    assert abs(fit["exponent"] + 1) < 3 * fit["exponent_err"]
    assert fit["exponent_err"] < 1e-6
    # and the prefactor: critical gamma/delta_m = 1/(n_tr L) in the linear regime (f -> Gamma_1)
    np.testing.assert_allclose(crit * Ls, 1.0, rtol=2e-7)
    c2, _ = C.critical_coupling(16, rtol=1e-7, n_tr=4.0, xi=0.5)
    assert c2 * 16 * 4 == pytest.approx(1.0, rel=2e-7)


def test_pinned_chain_fixed_points():
    L = 16
    ins = C.solve_chain(L, 0.5 / L)
    assert ins.status == "insulator" and not ins.metallic and ins.growth == pytest.approx(0.5, rel=1e-9)
    met = C.solve_chain(L, 3.0 / L, seed=1e-3, classify=False, damping=0.9, tol=1e-10)
    assert met.status == "converged" and met.metallic
    # pinned ends: the rate is largest in the middle and symmetric
    assert np.argmax(met.gamma2) in ((L - 1) // 2, L // 2)
    np.testing.assert_allclose(met.gamma2, met.gamma2[::-1], rtol=1e-8)
    # residual of the chain equations at the converged profile
    x = met.x
    U = C.coupling_profile(np.abs(x[:, None] - x[None, :]))
    rhs = np.sum(C.rule_f(U, met.gamma1[None, :], met.gamma2[:, None]), axis=1)
    np.testing.assert_allclose(met.gamma2, rhs, rtol=1e-8)
    np.testing.assert_allclose(met.gamma1, (3.0 / L) * met.gamma2, rtol=1e-8)


def test_bath_falloff_power_law_like_L800():
    """Strong left bath, L = 800, xi = 0.3: log-log straight over a decade of x while Gamma_2 drops >100x."""
    c, xi = 0.10, 0.3
    r = C.solve_chain(800, c, xi=xi, boundary="bath", bath_gamma1=1.0, r_cut=22, damping=0.9, tol=1e-9)
    assert r.status == "converged"
    m = (r.x >= 4) & (r.x <= 40)
    lx, lg = np.log(r.x[m]), np.log(r.gamma2[m])
    res_pow = lg - np.polyval(np.polyfit(lx, lg, 1), lx)
    res_exp = lg - np.polyval(np.polyfit(r.x[m], lg, 1), r.x[m])
    rms_pow, rms_exp = np.sqrt(np.mean(res_pow**2)), np.sqrt(np.mean(res_exp**2))
    assert r.gamma2[m][0] / r.gamma2[m][-1] > 100
    assert rms_pow < 0.15 and rms_pow < 0.3 * rms_exp
    # far from both ends the profile reaches the homogeneous (infinite chain) fixed point
    assert r.gamma2[400] == pytest.approx(C.bulk_gamma2(c, xi=xi), rel=1e-6)


def test_r_cut_does_not_change_bath_profile():
    a = C.solve_chain(60, 0.15, xi=0.5, boundary="bath", damping=0.9, tol=1e-11)
    b = C.solve_chain(60, 0.15, xi=0.5, boundary="bath", damping=0.9, tol=1e-11, r_cut=30)
    np.testing.assert_allclose(a.gamma2, b.gamma2, rtol=1e-9)


def test_eq16_law_has_no_threshold():
    # sublinear Gamma_1(Gamma_2): the zero solution is unstable at any coupling
    r = C.solve_chain(8, 0.01, gamma1_law="eq16", kappa=1.5, classify=True)
    assert r.status in ("metal", "converged") and r.metallic


@pytest.mark.parametrize("kw, name", [
    (dict(L=0, gamma_over_delta=0.1), "'L'"),
    (dict(L=8, gamma_over_delta=-0.1), "gamma_over_delta"),
    (dict(L=8, gamma_over_delta=0.1, boundary="left"), "'boundary'"),
    (dict(L=8, gamma_over_delta=0.1, gamma1_law="eq16"), "'kappa'"),
    (dict(L=8, gamma_over_delta=0.1, damping=0.0), "'damping'"),
    (dict(L=8, gamma_over_delta=0.1, boundary="bath", bath_gamma1=-1.0), "bath_gamma1"),
    (dict(L=8, gamma_over_delta=0.1, xi=0.0), "'xi'"),
])
def test_bad_parameters_named(kw, name):
    with pytest.raises(ValueError, match=name):
        C.solve_chain(**kw)
