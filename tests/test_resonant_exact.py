"""Exact references of resonant dynamics (analysis/resonant_exact.py) and the slow twin
(tests/twin_resonant.py): energy changes, the joint generator, the fixed-rate limit
against analysis/exact.py, the characteristic-function mean rate against enumeration,
and the twin's echo, Ramsey and own-transition rate against the joint chain."""
import itertools

import numpy as np
import pytest

import simulator as S
from analysis import exact as X
from analysis import resonant_exact as R

import twin_resonant as T


def _random_system(seed, sizes, scale=1.0, static=1.0):
    """Symmetric couplings (same-dot pairs included), static energies and rates."""
    rng = np.random.default_rng(seed)
    dot = np.repeat(np.arange(len(sizes)), sizes)
    N = dot.size
    A = scale * rng.normal(size=(N, N))
    U = np.triu(A, 1)
    U = U + U.T
    eps0 = rng.uniform(-static, static, N)
    g = rng.uniform(0.3, 1.0, len(sizes))
    return eps0, U, dot, g


# ---------------------------------------------------------------------------
# energies and the generator
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind,sizes,n", [("flip", [3, 2, 3], None), ("flip", [1, 1, 1, 1, 1], None),
                                          ("hop", [3, 4, 2], [1, 2, 1]), ("hop", [4, 4], [2, 1])])
def test_energy_change_local_formulas(kind, sizes, n):
    eps0, U, dot, g = _random_system(11, sizes)
    c = R.cluster_generator(eps0, U, dot, g, 0.6, kind, n)
    eps = R.level_energies(c.occ, eps0, U, c.nu)
    assert c.dE.size > 0
    if kind == "flip":
        l = np.where(c.level_from >= 0, c.level_from, c.level_to)
        local = (1 - 2 * c.occ[c.src, l]) * eps[c.src, l]
    else:
        a, b = c.level_from, c.level_to
        local = eps[c.src, b] - eps[c.src, a] - U[a, b]
    # c.dE is E(c') - E(c) from the total energy
    np.testing.assert_allclose(c.dE, local, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c.dE, c.energy[c.dst] - c.energy[c.src], rtol=0, atol=0)


@pytest.mark.parametrize("kind,sizes,n", [("flip", [2, 2, 3], None), ("hop", [3, 3, 4], [1, 2, 2])])
def test_generator_symmetric_and_uniform_stationary(kind, sizes, n):
    eps0, U, dot, g = _random_system(3, sizes)
    c = R.cluster_generator(eps0, U, dot, g, 0.4, kind, n)
    Q = c.Q.toarray()
    np.testing.assert_allclose(Q.sum(axis=0), 0.0, atol=1e-13)          # conserves probability
    np.testing.assert_allclose(Q, Q.T, rtol=0, atol=1e-15)                # W(c->c') = W(c'->c)
    np.testing.assert_allclose(Q @ np.full(c.n_states, 1.0 / c.n_states), 0.0, atol=1e-15)
    changed = np.where(c.level_from >= 0, c.level_from, c.level_to)
    assert np.all(c.rate <= g[dot[changed]]) and np.all(c.rate > 0)
    # each configuration has n_tr transitions, and the resonance width matters
    n_tr = np.bincount(c.src, minlength=c.n_states)
    expected = sum(sizes) if kind == "flip" else sum(k * (m - k) for m, k in zip(sizes, n))
    assert np.all(n_tr == expected)
    assert np.ptp(c.rate / g[dot[changed]]) > 0.1


def test_bad_input_is_refused():
    eps0, U, dot, g = _random_system(0, [2, 2])
    with pytest.raises(ValueError, match="symmetric"):
        R.cluster_generator(eps0, U + np.triu(np.ones_like(U), 1), dot, g, 1.0)
    with pytest.raises(ValueError, match="resonance width"):
        R.cluster_generator(eps0, U, dot, g, 0.0)
    with pytest.raises(ValueError, match="n_particles"):
        R.cluster_generator(eps0, U, dot, g, 1.0, "hop")
    with pytest.raises(ValueError, match="kind"):
        R.cluster_generator(eps0, U, dot, g, 1.0, "jump")


# ---------------------------------------------------------------------------
# echo and Ramsey from the joint chain
# ---------------------------------------------------------------------------

TAU = np.array([0.05, 0.3, 1.0, 2.5, 6.0, 15.0])


@pytest.mark.parametrize("w", [1e12, np.inf])
def test_fixed_rate_limit_flip_matches_exact_products(w):
    eps0, U, dot, g = _random_system(5, [2, 2, 2], scale=0.8)
    c = R.cluster_generator(eps0, U, dot, g, w, "flip")
    for p in range(c.n_levels):
        e, r = R.cluster_echo_ramsey(c, p, TAU)
        oth = np.arange(c.n_levels) != p
        np.testing.assert_allclose(e, X.flip_echo(TAU, U[p, oth], g[dot[oth]], g[dot[p]]), rtol=0, atol=1e-9)
        np.testing.assert_allclose(r, X.flip_ramsey(TAU, U[p, oth], g[dot[oth]], g[dot[p]]), rtol=0, atol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("M,n", [(3, 1), (4, 2), (3, 2)])
def test_fixed_rate_limit_hop_matches_exact_products(M, n):
    eps0, U, dot, g = _random_system(8, [M] * 3, scale=0.8)
    c = R.cluster_generator(eps0, U, dot, g, 1e12, "hop", n)
    for p in range(c.n_levels):
        e, r = R.cluster_echo_ramsey(c, p, TAU)
        u = U[p].reshape(3, M)
        np.testing.assert_allclose(e, X.hop_echo(TAU, u, n, g, p // M, p % M), rtol=0, atol=1e-9)
        np.testing.assert_allclose(r, X.hop_ramsey(TAU, u, n, g, p // M, p % M), rtol=0, atol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("kind,sizes,n", [("flip", [2, 2, 2], None), ("hop", [3, 4], [1, 2])])
def test_methods_agree_and_echo_is_real(kind, sizes, n):
    eps0, U, dot, g = _random_system(21, sizes)
    c = R.cluster_generator(eps0, U, dot, g, 0.5, kind, n)
    for p in (0, c.n_levels - 1):
        e, r = R.cluster_echo_ramsey(c, p, TAU, method="eig")
        for method in ("expm", "krylov"):
            e2, r2 = R.cluster_echo_ramsey(c, p, TAU, method=method)
            np.testing.assert_allclose(e2, e, rtol=0, atol=1e-10)
            np.testing.assert_allclose(r2, r, rtol=0, atol=1e-10)
        assert np.max(np.abs(e.imag)) < 1e-12
        assert np.max(np.abs(r.imag)) > 1e-4        # resonant Ramsey is complex in general
        assert np.all(np.diff(e.real) < 0) and e.real[0] < 1.0


# ---------------------------------------------------------------------------
# mean rates: characteristic function vs enumeration
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("w", [0.03, 0.4, 5.0])
def test_flip_mean_rate_matches_enumeration(w):
    eps0, U, dot, g = _random_system(2, [3, 3, 3, 3], scale=0.7)   # 12 levels, 4096 states
    c = R.cluster_generator(eps0, U, dot, g, w, "flip")
    for l in range(c.n_levels):
        brute = R.cluster_level_rate(c, l)
        assert R.cluster_mean_rate(c, l) == pytest.approx(brute, abs=1e-9 * g.max())
        oth = np.arange(c.n_levels) != l
        assert R.flip_mean_rate(w, g[dot[l]], eps0[l], U[l, oth]) == pytest.approx(brute, abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("w", [0.05, 0.5])
@pytest.mark.parametrize("sizes,n", [([4, 4, 4], [2, 2, 1]), ([3, 5, 2], [1, 2, 1])])
def test_hop_mean_rates_match_enumeration(w, sizes, n):
    eps0, U, dot, g = _random_system(4, sizes, scale=0.7)
    c = R.cluster_generator(eps0, U, dot, g, w, "hop", n)
    N = c.n_levels
    for l in range(N):
        assert R.cluster_mean_rate(c, l) == pytest.approx(R.cluster_level_rate(c, l), abs=1e-9)
    # one move and its reverse, conditioned on being allowed
    J = 1
    a, b = np.flatnonzero(dot == J)[:2]
    others = np.setdiff1d(np.arange(N), [a, b])
    for x, y in ((a, b), (b, a)):
        brute = c.rate[(c.level_from == x) & (c.level_to == y)].mean()
        got = R.hop_move_mean_rate(w, g[J], eps0[x], eps0[y], U[y, others] - U[x, others], dot[others], J,
                                   n, sizes)
        assert got == pytest.approx(brute, abs=1e-9)


def test_lorentzian_expectation_small_width_and_groups():
    rng = np.random.default_rng(9)
    a = rng.normal(size=9)
    grp = rng.normal(size=5)
    w, x0 = 0.01, 0.3
    vals = np.array([x0 + np.dot(s, a) for s in itertools.product((-1, 1), repeat=a.size)])
    vals = (vals[:, None] + grp[None, :]).ravel()
    brute = np.mean(w**2 / (vals**2 + w**2))
    assert R.lorentzian_expectation(w, x0, a, [grp]) == pytest.approx(brute, abs=1e-10)
    assert R.lorentzian_expectation(w, x0, None, [[0.2], [-0.1]]) == pytest.approx(w**2 / (0.4**2 + w**2), abs=1e-15)


def _lattice(kind, d, L, M, cutoff, filling=0.5, seed=3):
    dyn = {"kind": kind, "gamma1": 0.2}
    if kind == "hop":
        dyn["filling"] = filling
    return S.load_config({"lattice": {"d": d, "L": L, "levels": M},
                          "couplings": {"cutoff": cutoff, "static_width": 1.0},
                          "dynamics": dyn, "run": {"probes": 3, "seed": seed}})


@pytest.mark.parametrize("kind,M", [("flip", 2), ("hop", 3)])
def test_model_mean_rate_matches_enumeration_of_the_rows(kind, M):
    model = S.build_model(_lattice(kind, 1, 9, M, 1.0, filling=1.0 / 3))
    w = 0.3
    for p, level in enumerate(model.probes.tolist()):
        rows = R.model_level_rows(model, [level])
        pc = model.probe_couplings(p)
        order = np.argsort(pc["level"])
        np.testing.assert_array_equal(rows[level][0], pc["level"][order])
        np.testing.assert_array_equal(rows[level][1], pc["U"][order])
        got = R.model_mean_rate(model, level, w)
        I = level // M
        dot_lev = np.arange(I * M, (I + 1) * M)
        allrows = R.model_level_rows(model, dot_lev)
        eps0 = dict(zip(dot_lev.tolist(), model.static_energies(dot_lev).tolist()))
        neigh = np.union1d(allrows[int(dot_lev[0])][0], [dot_lev[0]])    # every level of the 3 dots
        # U of the dot's levels to every neighbour, from the rows
        Urow = {l: dict(zip(*[a.tolist() for a in allrows[l]])) for l in dot_lev.tolist()}
        g = model.gamma1[I]
        if kind == "flip":
            # all 2^5 configurations of the other levels
            oth = [j for j in neigh.tolist() if j != level]
            tot = 0.0
            for occ in itertools.product((0, 1), repeat=len(oth)):
                e = eps0[level] + sum(Urow[level][j] * (o - 0.5) for j, o in zip(oth, occ))
                tot += g * w**2 / (e**2 + w**2)
            brute = tot / 2 ** len(oth)
        else:
            n = model.n_particles
            dots = sorted(set((neigh // M).tolist()))
            per_dot = [[set(s) for s in itertools.combinations(range(J * M, (J + 1) * M), n)] for J in dots]
            tot, cnt = 0.0, 0
            for choice in itertools.product(*per_dot):
                filled = set().union(*choice)
                nu = n / M

                def eps(l):
                    return eps0[l] + sum(u * ((j in filled) - nu) for j, u in Urow[l].items())
                for a in dot_lev.tolist():
                    for b in dot_lev.tolist():
                        if a in filled and b not in filled and level in (a, b):
                            dE = eps(b) - eps(a) - Urow[a][b]
                            tot += g * w**2 / (dE**2 + w**2)
                cnt += 1
            brute = tot / cnt
        assert got == pytest.approx(brute, abs=1e-9)


@pytest.mark.parametrize("kind,M", [("flip", 2), ("hop", 4)])
def test_model_mean_rate_large_lattice_against_sampling(kind, M):
    """A 2D lattice of 3200-6400 levels: the exact mean rate against random configurations."""
    model = S.build_model(_lattice(kind, 2, 40, M, 3.0, seed=12))
    level = int(model.probes[0])
    w = 0.2
    got = R.model_mean_rate(model, level, w)
    rng = np.random.default_rng(0)
    I = level // M
    dot_lev = np.arange(I * M, (I + 1) * M)
    rows = R.model_level_rows(model, dot_lev)
    eps0 = model.static_energies(dot_lev)
    g = model.gamma1[I]
    K = 20000
    if kind == "flip":
        lev, U = rows[level]
        n = rng.integers(0, 2, size=(K, lev.size))
        e = eps0[level - I * M] + (n - 0.5) @ U
        samples = g * w**2 / (e**2 + w**2)
    else:
        # random configurations: a uniform n-subset of every dot within reach
        n_p = model.n_particles
        levs = rows[int(dot_lev[0])][0]
        allv = np.union1d(levs, dot_lev)
        dots = np.unique(allv // M)
        keys = rng.random((K, dots.size, M))
        occ_dot = (np.argsort(np.argsort(keys, axis=2), axis=2) < n_p).astype(float)
        occ = {int(J) * M + b: occ_dot[:, k, b] for k, J in enumerate(dots) for b in range(M)}
        nu = n_p / M

        def eps(l):
            lv, U = rows[l]
            return eps0[l - I * M] + sum(u * (occ[int(j)] - nu) for j, u in zip(lv, U))
        E = {int(l): eps(int(l)) for l in dot_lev}
        samples = np.zeros(K)
        for a in dot_lev.tolist():
            for b in dot_lev.tolist():
                if a != b and level in (a, b):
                    Uab = rows[a][1][np.searchsorted(rows[a][0], b)]
                    dE = E[b] - E[a] - Uab
                    samples += g * occ[a] * (1 - occ[b]) * w**2 / (dE**2 + w**2)
    mc, se = samples.mean(), samples.std(ddof=1) / np.sqrt(K)
    assert abs(got - mc) < 4 * se
    assert 0 < got < g * (1 if kind == "flip" else 2 * (M - model.n_particles) * model.n_particles / M)


# ---------------------------------------------------------------------------
# the slow twin against the joint chain
# ---------------------------------------------------------------------------

TWIN_TAU = np.array([0.3, 1.0, 2.0, 4.0])


def _cluster_case(kind):
    if kind == "flip":
        eps0, U, dot, g = _random_system(1, [2, 2, 2, 2], scale=0.8)
        return eps0, U, dot, g, 0.7, None
    eps0, U, dot, g = _random_system(6, [3, 3, 3], scale=0.8)
    return eps0, U, dot, g, 0.5, 1


def _z(est, e, r):
    return np.concatenate([(est["echo"] - e.real) / est["echo_se"],
                           (est["ramsey"].real - r.real) / est["ramsey_se_re"],
                           (est["ramsey"].imag - r.imag) / est["ramsey_se_im"]])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_twin_thinning_matches_joint_chain(kind):
    eps0, U, dot, g, w, n = _cluster_case(kind)
    c = R.cluster_generator(eps0, U, dot, g, w, kind, n)
    t_max = 30000.0
    h = T.simulate_thinning(eps0, U, dot, g, w, kind, n, t_max, seed=17)
    bound = t_max * sum(g[J] * (np.sum(dot == J) if kind == "flip" else n * (np.sum(dot == J) - n))
                        for J in range(g.size))
    assert abs(h.n_proposals - bound) < 4 * np.sqrt(bound)
    assert 0.2 < h.times.size / h.n_proposals < 0.9          # the resonance width matters
    for p in range(c.n_levels):
        est = T.estimate(h, p, TWIN_TAU)
        e, r = R.cluster_echo_ramsey(c, p, TWIN_TAU)
        assert np.all(est["echo_se"] < 0.02)
        assert np.max(np.abs(_z(est, e, r))) < 4, (p, _z(est, e, r))
        exact_rate = R.cluster_level_rate(c, p)
        assert exact_rate == pytest.approx(R.cluster_mean_rate(c, p), abs=1e-9)
        assert abs(est["rate"] - exact_rate) < 4 * est["rate_se"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_twin_thinning_agrees_with_gillespie(kind):
    eps0, U, dot, g, w, n = _cluster_case(kind)
    t_max = 30000.0
    a = T.simulate_thinning(eps0, U, dot, g, w, kind, n, t_max, seed=101)
    b = T.simulate_gillespie(eps0, U, dot, g, w, kind, n, t_max, seed=202)
    c = R.cluster_generator(eps0, U, dot, g, w, kind, n)
    for p in range(c.n_levels):
        ea, eb = T.estimate(a, p, TWIN_TAU), T.estimate(b, p, TWIN_TAU)
        for key, se in (("echo", "echo_se"), ("rate", "rate_se")):
            diff = np.abs(np.real(ea[key]) - np.real(eb[key]))
            assert np.all(diff < 4 * np.hypot(ea[se], eb[se])), (p, key)
        for part, se in ((np.real, "ramsey_se_re"), (np.imag, "ramsey_se_im")):
            assert np.all(np.abs(part(ea["ramsey"]) - part(eb["ramsey"])) < 4 * np.hypot(ea[se], eb[se]))
        e, r = R.cluster_echo_ramsey(c, p, TWIN_TAU)
        assert np.max(np.abs(_z(eb, e, r))) < 4
        assert abs(eb["rate"] - R.cluster_level_rate(c, p)) < 4 * eb["rate_se"]
    # the total accepted-event rate: the mean over configurations of the sum of all rates
    exact_total = c.rate.sum() / c.n_states
    for h in (a, b):
        counts = np.bincount((h.times / (t_max / 20)).astype(int), minlength=20)[:20] / (t_max / 20)
        assert abs(counts.mean() - exact_total) < 4 * counts.std(ddof=1) / np.sqrt(20)


def test_twin_fixed_rate_limit_accepts_every_proposal():
    eps0, U, dot, g, w, n = _cluster_case("hop")
    h = T.simulate_thinning(eps0, U, dot, g, np.inf, "hop", n, 500.0, seed=3)
    assert h.times.size == h.n_proposals > 0
