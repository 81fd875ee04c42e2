"""The fast resonant kernel (simulator/resonant.py) against the exact references of
docs/resonant.md §2 and the slow twin (tests/twin_resonant.py).

A small harness drives the kernel as an engine would: the sample grid from
simulator.schedule, one ``resonant.advance`` per chunk in place of the fixed-rate
dot pass, then simulator.kernel.batch_plan + reconstruct_and_estimate (+ flush_batch)
and simulator.estimators.batch_means (no survival law: that one is for fixed rates).
Fixed seeds; tolerances from the estimators' own error bars.
"""
import math

import numpy as np
import pytest
from scipy import stats as sps

import simulator as S
from analysis import resonant_exact as R
from simulator import resonant as RK
from simulator.estimators import batch_means
from simulator.kernel import (N_EST, batch_plan, bucket_index, flush_batch, initial_energies,
                              reconstruct_and_estimate)
from simulator.schedule import build_schedule

import twin_resonant as T


# ---------------------------------------------------------------------------
# harness
# ---------------------------------------------------------------------------
def _config(kind, d, L, M, *, cutoff, t_max, tau=(0.3, 4.0, 4), probes="all", seed=7, gamma1=0.5,
            filling=0.5, boundary="open", spacing=0.0, batches=20, bath=None, static_width=1.0):
    dyn = {"kind": kind, "gamma1": gamma1}
    if kind == "hop":
        dyn["filling"] = filling
    if bath:
        dyn["bath"] = bath
    return S.load_config({
        "lattice": {"d": d, "L": L, "levels": M, "boundary": boundary},
        "couplings": {"cutoff": cutoff, "static_width": static_width},
        "dynamics": dyn,
        "run": {"t_max": t_max, "probes": probes, "seed": seed, "batches": batches,
                "tau": {"min": tau[0], "max": tau[1], "points": tau[2], "t0_spacing": spacing},
                "trajectory": {"probes": 0}}})


def run_kernel(cfg, w, chunk_time, recompute_every=None, snapshots=0):
    """Run the resonant kernel over a whole configuration; returns a dict of results.

    ``snapshots`` > 0 records (time, own counts, occupation integrals, accepted
    events) at the end of chunks of about t_max/snapshots (for batch means of rates
    and occupations; the chunk length does not change any result).
    """
    m = S.build_model(cfg)
    tb = RK.from_model(m, w, recompute_every)
    pt = RK.probe_tables(m)
    P = m.probes.size
    st = RK.init_state(tb, m.n_dots, P, m.keys["dynamics"])
    sched, res = build_schedule(cfg, m, P, float(m.dot_rates().sum()), 0.0)
    t_max = res["t_max"]
    B = cfg["run"]["batches"]
    t_batch = t_max / B
    K = sched.K
    rows = m.coupling_rows()
    phi = np.zeros(P)
    eps = np.zeros(P)
    initial_energies(rows.ptr, rows.level, rows.U, st.occ, m.nu, eps)
    cnt = np.zeros(P, dtype=np.int64)
    est = np.zeros((N_EST, K, P))
    cnt1 = np.zeros((K, P), dtype=np.int64)
    cnt2 = np.zeros((K, P), dtype=np.int64)
    kstat = np.zeros((4, K))
    batch = np.zeros(1, dtype=np.int64)
    flush_nb = np.zeros((B, K))
    traj_p = np.zeros(0, dtype=np.int64)
    energy = np.zeros((0, 1))
    p_edges = np.array([0, P], dtype=np.int64)
    snaps = [(0.0, st.own.copy(), np.zeros(m.n_levels), 0)]
    step = t_max / snapshots if snapshots else chunk_time
    t = 0.0
    accepted = 0
    while t < t_max:
        t_b = sched.boundary_after(t + min(chunk_time, step))
        ts, ks, js = sched.samples(t, t_b)
        n = ts.shape[0]
        dEP = np.zeros((n, P, 2))
        dC = np.zeros((n, P), dtype=np.int32)
        buckets = np.empty(2 * n + 1, dtype=np.int64)
        bucket_index(ts, n, t, buckets)
        accepted += RK.advance(st, tb, pt, ts, n, t, buckets, dEP, dC)
        batch0 = int(batch[0])
        batch_plan(ts, ks, js, n, sched.stride, kstat, batch, t_batch, B, flush_nb)
        t = reconstruct_and_estimate(ts, ks, js, n, t, phi, eps, cnt, dEP, dC, sched.stride, est, cnt1, cnt2,
                                     batch0, t_batch, B, flush_nb, traj_p, np.zeros(0), energy, p_edges)
        if snapshots:   # every chunk is at least t_max/snapshots long
            snaps.append((t, st.own.copy(), RK.mean_occupation(st) * t, int(st.counts[RK.C_ACCEPTED])))
    flush_batch(est, kstat)
    assert accepted == st.counts[RK.C_ACCEPTED]
    return {"model": m, "tables": tb, "state": st, "stats": batch_means(est, kstat), "est": est, "kstat": kstat,
            "probe_eps": eps, "phi": phi, "cnt": cnt, "snaps": snaps, "tau": sched.tau, "t_max": t_max}


def _cluster(m):
    """eps0, U (dense), dot, gamma1 of a small model, from its coupling rows."""
    N = m.n_levels
    rows = R.model_level_rows(m, np.arange(N))
    U = np.zeros((N, N))
    for l, (lev, u) in rows.items():
        U[l, lev] = u
    assert np.array_equal(U, U.T)
    return m.static_energies(np.arange(N)), U, np.arange(N) // m.M, m.gamma1.copy()


def _batch_rates(snaps, counts_of):
    """Weighted batch means of a count per unit time from snapshots: (mean, stderr) arrays."""
    t = np.array([s[0] for s in snaps])
    c = np.array([counts_of(s) for s in snaps], dtype=float)
    dt = np.diff(t)
    dc = np.diff(c, axis=0)
    B = dt.size
    mean = (c[-1] - c[0]) / (t[-1] - t[0])
    r = dc / dt.reshape((-1,) + (1,) * (dc.ndim - 1))
    wgt = (dt / dt.mean()).reshape(r.shape[:1] + (1,) * (dc.ndim - 1))
    var = np.sum(wgt ** 2 * (r - mean) ** 2, axis=0) / (B * (B - 1))
    return mean, np.sqrt(var)


CLUSTERS = {
    # 8 flip levels (4 dots x 2), all pairs within the cutoff, static disorder ~ 1
    "flip": dict(kind="flip", d=1, L=4, M=2, cutoff=3.0, w=0.7),
    # 9 hop levels (3 dots x 3, one particle each): 27 joint states
    "hop": dict(kind="hop", d=1, L=3, M=3, cutoff=3.0, w=0.5, filling=1.0 / 3),
}


def _cluster_cfg(kind, t_max, seed=7):
    c = CLUSTERS[kind]
    return _config(c["kind"], c["d"], c["L"], c["M"], cutoff=c["cutoff"], t_max=t_max, seed=seed,
                   filling=c.get("filling", 0.5)), c["w"]


# ---------------------------------------------------------------------------
# 1. echo and Ramsey against the joint chain
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_echo_ramsey_match_joint_chain(kind):
    cfg, w = _cluster_cfg(kind, 40000.0)
    out = run_kernel(cfg, w, chunk_time=700.0)
    m, st, s = out["model"], out["state"], out["stats"]
    eps0, U, dot, g = _cluster(m)
    c = R.cluster_generator(eps0, U, dot, g, w, m.kind, m.n_particles)
    z = []
    for p in range(m.n_levels):
        e, r = R.cluster_echo_ramsey(c, p, out["tau"])
        z.append((s["echo"][p] - e.real) / s["echo_stderr"][p])
        z.append((s["ramsey"][p] - r.real) / s["ramsey_stderr"][p])
    z = np.concatenate(z)
    assert np.all(s["echo_stderr"] < 0.02)
    # every z below a Bonferroni bound (two-sided 1 % over all of them)
    assert np.max(np.abs(z)) < sps.norm.isf(0.005 / z.size), z
    # mean z^2 ~ 1; the taus of one probe share windows, so count one independent
    # value per (probe, signal) for a conservative chi^2 bound
    n_eff = 2 * m.n_levels
    assert sps.chi2.isf(0.999, n_eff) / n_eff < np.mean(z ** 2) < sps.chi2.isf(1e-3, n_eff) / n_eff, np.mean(z ** 2)
    # the resonance width matters, and the maintained energies are the exact ones
    assert 0.2 < st.counts[RK.C_ACCEPTED] / st.counts[RK.C_PROPOSALS] < 0.9
    assert RK.recompute_energies(st, out["tables"]) < 1e-12
    np.testing.assert_allclose(out["probe_eps"], st.eps[m.probes] - eps0[m.probes], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------
# 2. + 3. own-transition rates and stationarity on a lattice of thousands of levels
# ---------------------------------------------------------------------------
LATTICE = {
    "flip": dict(kind="flip", d=1, L=1024, M=4, cutoff=3.0, w=0.5, t_max=2500.0, probes=64),
    # hop has slow modes (configurations whose every move is off resonance): some
    # occupations stay correlated over ~1000/Gamma1, so its batches must be longer
    # than that for batch means to be honest (at t_max = 2500, 16 batches of 150,
    # one level of 2048 came out at 8 "sigma"; two independent streams at
    # t_max = 1e4 gave it 0.49 and 0.50)
    "hop": dict(kind="hop", d=1, L=256, M=4, cutoff=2.0, w=0.5, t_max=10000.0, probes=32),
}


@pytest.fixture(scope="module", params=["flip", "hop"])
def lattice_run(request):
    c = LATTICE[request.param]
    cfg = _config(c["kind"], c["d"], c["L"], c["M"], cutoff=c["cutoff"], t_max=c["t_max"], probes=c["probes"],
                  tau=(1.0, 2.0, 2), spacing=50.0, gamma1=1.0, seed=31, boundary="periodic")
    return run_kernel(cfg, c["w"], chunk_time=1e9, snapshots=20), c


@pytest.mark.slow
def test_own_transition_rate_matches_mean_rate(lattice_run):
    out, c = lattice_run
    m = out["model"]
    rate, se = _batch_rates(out["snaps"], lambda s: s[1])
    exact = np.array([R.model_mean_rate(m, int(l), c["w"]) for l in m.probes])
    z = (rate - exact) / se
    assert np.all(np.abs(z) < 4), z
    assert np.sum(z ** 2) < sps.chi2.isf(1e-3, z.size), np.sum(z ** 2)
    # the resonance makes the rates differ from level to level (not all at the bound)
    bound = 1.0 if m.kind == "flip" else 2.0 * m.n_particles * (m.M - m.n_particles) / m.M
    assert np.all(exact < bound) and np.ptp(exact) > 0.1 * bound
    # the totals of the state agree with the snapshots
    np.testing.assert_array_equal(out["snaps"][-1][1], out["state"].own)
    wt = RK.waiting_time_stats(out["state"])
    assert np.all(wt["n"] == out["state"].own - 1)
    np.testing.assert_allclose(wt["mean"], out["t_max"] / out["state"].own, rtol=0.2)


@pytest.mark.slow
def test_stationary_occupations(lattice_run):
    out, c = lattice_run
    m, snaps = out["model"], out["snaps"]
    t = np.array([s[0] for s in snaps])
    integ = np.array([s[2] for s in snaps])
    dt = np.diff(t)
    occ_b = np.diff(integ, axis=0) / dt[:, None]       # (B, n_levels) batch means
    B = dt.size
    mean = integ[-1] / t[-1]
    # batches have (almost) equal length: plain batch means, a t distribution with B-1 dof
    se = occ_b.std(axis=0, ddof=1) / math.sqrt(B)
    z = (mean - m.nu) / se
    N = z.size
    assert np.max(np.abs(z)) < sps.t.isf(0.005 / N, B - 1), np.max(np.abs(z))
    # the mean of z^2 of a t_{B-1} variable is (B-1)/(B-3), its variance that of F(1, B-1)
    ez2 = (B - 1) / (B - 3)
    sd = math.sqrt(sps.f(1, B - 1).var() / N)
    assert abs(np.mean(z ** 2) - ez2) < 4 * sd, np.mean(z ** 2)
    # no drift: first half against second half, pooled within-half variance (t, B - 2 dof)
    h = B // 2
    a, b = occ_b[:h], occ_b[h:]
    s2 = (a.var(axis=0, ddof=1) * (h - 1) + b.var(axis=0, ddof=1) * (B - h - 1)) / (B - 2)
    zd = (a.mean(axis=0) - b.mean(axis=0)) / np.sqrt(s2 * (1.0 / h + 1.0 / (B - h)))
    assert np.max(np.abs(zd)) < sps.t.isf(0.005 / N, B - 2), np.max(np.abs(zd))
    assert abs(np.mean(zd)) < 4 * math.sqrt((B - 2) / (B - 4) / N)
    if m.kind == "hop":   # particle number per dot is conserved
        assert np.all(out["state"].occ.reshape(m.n_dots, m.M).sum(axis=1) == m.n_particles)


# ---------------------------------------------------------------------------
# 4. determinism and the fixed-rate limit
# ---------------------------------------------------------------------------
def _same(a, b):
    for name in ("est", "kstat", "phi", "probe_eps", "cnt"):
        np.testing.assert_array_equal(a[name], b[name])
    for x, y in zip(a["state"], b["state"]):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_chunking_and_seed_determinism(kind):
    cfg = _config(kind, 2, 8, 4, cutoff=2.0, t_max=300.0, probes=12, tau=(0.5, 8.0, 5), seed=5)
    a = run_kernel(cfg, 0.4, chunk_time=1e9, recompute_every=97)
    b = run_kernel(cfg, 0.4, chunk_time=3.7, recompute_every=97)
    assert a["state"].counts[RK.C_RECOMPUTES] > 10 and a["state"].counts[RK.C_ACCEPTED] > 1000
    _same(a, b)
    c = run_kernel(cfg, 0.4, chunk_time=11.0, recompute_every=97)
    _same(a, c)
    d = run_kernel(_config(kind, 2, 8, 4, cutoff=2.0, t_max=300.0, probes=12, tau=(0.5, 8.0, 5), seed=6),
                   0.4, chunk_time=1e9, recompute_every=97)
    assert not np.array_equal(a["state"].accepted, d["state"].accepted)
    # recomputing keeps the maintained energies at the recomputed ones
    assert RK.recompute_energies(a["state"], a["tables"]) < 1e-12


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_huge_width_accepts_every_proposal_at_the_fixed_rates(kind):
    # a bath on the left gives unequal bounds, which exercises the alias table
    cfg = _config(kind, 1, 64, 4, cutoff=3.0, t_max=2000.0, probes=4, tau=(1.0, 2.0, 2), spacing=50.0,
                  gamma1=0.05, bath={"side": "left", "width": 8, "gamma1": 0.4})
    out = run_kernel(cfg, 1e12, chunk_time=1e9)
    st, m = out["state"], out["model"]
    assert st.counts[RK.C_ACCEPTED] == st.counts[RK.C_PROPOSALS]
    lam = m.dot_rates() * out["t_max"]
    n = st.counts[RK.C_PROPOSALS]
    assert abs(n - lam.sum()) < 4 * math.sqrt(lam.sum())
    # every dot's events ~ Poisson(n_tr Gamma1(I) t): pooled chi^2
    chi2 = np.sum((st.accepted - lam) ** 2 / lam)
    assert sps.chi2.isf(0.999, lam.size) < chi2 < sps.chi2.isf(1e-3, lam.size), chi2
    # and each within a Bonferroni bound of the exact Poisson tails (two-sided 1 %)
    tail = np.minimum(sps.poisson.sf(st.accepted - 1, lam), sps.poisson.cdf(st.accepted, lam))
    assert np.all(tail > 0.005 / lam.size), tail.min()


def test_bad_input_is_refused():
    cfg, w = _cluster_cfg("flip", 100.0)
    m = S.build_model(cfg)
    with pytest.raises(ValueError, match="resonance width"):
        RK.from_model(m, 0.0)
    with pytest.raises(ValueError, match="resonance width"):
        RK.from_model(m, float("nan"))
    tb = RK.from_model(m, w)
    pt = RK.probe_tables(m)
    st = RK.init_state(tb, m.n_dots, m.probes.size, m.keys["dynamics"])
    ts = np.array([1.0, 2.0])
    bk = np.empty(5, dtype=np.int64)
    bucket_index(ts, 2, 0.0, bk)
    dEP = np.zeros((2, m.probes.size, 2))
    dC = np.zeros((2, m.probes.size), dtype=np.int32)
    with pytest.raises(ValueError, match="contiguous"):
        RK.advance(st, tb, pt, ts, 2, 0.5, bk, dEP, dC)
    with pytest.raises(ValueError, match="dC must be int32"):
        RK.advance(st, tb, pt, ts, 2, 0.0, bk, dEP, dC.astype(np.int64))
    with pytest.raises(ValueError, match="n must lie"):
        RK.advance(st, tb, pt, ts, 3, 0.0, bk, dEP, dC)
    RK.advance(st, tb, pt, ts, 2, 0.0, bk, dEP, dC)
    with pytest.raises(ValueError, match="contiguous"):      # the same chunk twice
        RK.advance(st, tb, pt, ts, 2, 0.0, bk, dEP, dC)


# ---------------------------------------------------------------------------
# 5. against the slow twin
# ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_agrees_with_slow_twin(kind):
    t_max = 20000.0
    cfg, w = _cluster_cfg(kind, t_max, seed=11)
    out = run_kernel(cfg, w, chunk_time=1e9, snapshots=20)
    m, s = out["model"], out["stats"]
    eps0, U, dot, g = _cluster(m)
    h = T.simulate_thinning(eps0, U, dot, g, w, m.kind, m.n_particles, t_max, seed=23)
    # total accepted-event rate, batch means on both sides
    k_rate, k_se = _batch_rates(out["snaps"], lambda x: x[3])
    counts = np.bincount(np.minimum((h.times / (t_max / 20)).astype(int), 19), minlength=20) / (t_max / 20)
    t_rate, t_se = counts.mean(), counts.std(ddof=1) / math.sqrt(20)
    assert abs(k_rate - t_rate) < 4 * math.hypot(k_se, t_se), (k_rate, t_rate)
    for p in range(m.n_levels):
        e = T.estimate(h, p, out["tau"])
        d = s["echo"][p] - e["echo"]
        assert np.all(np.abs(d) < 4 * np.hypot(s["echo_stderr"][p], e["echo_se"])), (p, d)
