"""Resonant dynamics in the real engine (simulator/resonant.py behind
simulator.dynamics.Resonant, selected by ``dynamics.resonance_width``) against the
exact references of docs/resonant.md §2 and the slow twin (tests/twin_resonant.py);
and ``gamma1_measured`` of every run (fixed rates: against Gamma1(I)).

The runs go through :class:`simulator.engine.Simulation` (chunks, reconstruction,
batch means without a survival law: that one is for fixed rates) and
:func:`simulator.dataset.to_dataset`, exactly as ``dotkmc run`` does.
Fixed seeds; tolerances from the estimators' own error bars.
"""
import math

import numpy as np
import xarray as xr
import pytest
from scipy import stats as sps

import simulator as S
from analysis import resonant_exact as R
from simulator import resonant as RK
from simulator.config import ConfigError
from simulator.dataset import to_dataset
from simulator.dynamics import FixedRates, Resonant
from simulator.engine import Simulation, drive
from simulator.kernels.tables import bucket_index

import twin_resonant as T


# ---------------------------------------------------------------------------
# harness
# ---------------------------------------------------------------------------
def _config(kind, d, L, M, *, cutoff, t_max, w, tau=(0.3, 4.0, 4), probes="all", seed=7, gamma1=0.5,
            filling=0.5, boundary="open", spacing=0.0, batches=20, bath=None, static_width=1.0):
    dyn = {"kind": kind, "gamma1": gamma1, "resonance_width": w}
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


def run_engine(cfg, chunk_time=None, recompute_every=None, snapshots=0, threads=None):
    """Run a configuration through :class:`Simulation`; returns a dict of results.

    ``snapshots`` > 0 runs chunks of about t_max/snapshots and records (time, own
    counts, occupation integrals, accepted events) after each (for batch means of
    rates and occupations; the chunk length changes no result).
    ``recompute_every`` replaces the kernel's recomputation period (to exercise it).
    """
    t_max = float(cfg["run"]["t_max"])
    sim = Simulation(cfg, chunk_time=t_max / snapshots if snapshots else chunk_time, threads=threads)
    dyn = sim.dynamics
    assert isinstance(dyn, Resonant)
    if recompute_every is not None:
        dyn.tables = dyn.tables._replace(recompute_every=int(recompute_every))
    st = dyn.state
    snaps = [(0.0, st.own.copy(), np.zeros(sim.model.n_levels), 0)]
    accepted = 0
    while not sim.finished:
        accepted += sim.step()
        if snapshots:
            snaps.append((sim.t, st.own.copy(), RK.mean_occupation(st) * sim.t, int(st.counts[RK.C_ACCEPTED])))
    assert accepted == st.counts[RK.C_ACCEPTED] == sim.n_events
    return {"sim": sim, "model": sim.model, "tables": dyn.tables, "state": st, "stats": sim.statistics(),
            "ds": to_dataset(sim), "snaps": snaps, "tau": sim.schedule.tau, "t_max": sim.t_max}


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
    return _config(c["kind"], c["d"], c["L"], c["M"], cutoff=c["cutoff"], t_max=t_max, seed=seed, w=c["w"],
                   filling=c.get("filling", 0.5)), c["w"]


def _same(a, b):
    """Bit-identical runs: every evolving array and every variable of the dataset."""
    sa, sb = a["sim"].state_arrays(), b["sim"].state_arrays()
    assert set(sa) == set(sb)
    for name in sa:
        np.testing.assert_array_equal(sa[name], sb[name], err_msg=name)
    _same_ds(a["ds"], b["ds"])


def _same_ds(a, b):
    assert set(a.variables) == set(b.variables)
    for name in a.variables:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


# ---------------------------------------------------------------------------
# 0. the configuration key
# ---------------------------------------------------------------------------
def test_resonance_width_key_selects_the_dynamics():
    assert S.load_config({})["dynamics"]["resonance_width"] == "none"
    assert isinstance(Simulation(S.load_config({"lattice": {"L": 8}})).dynamics, FixedRates)
    cfg, _ = _cluster_cfg("flip", 100.0)
    sim = Simulation(cfg)
    assert isinstance(sim.dynamics, Resonant) and sim.survival_law() is None
    # the proposal bound sizes chunks and the work limit
    assert sim.dynamics.event_rate == pytest.approx(float(sim.model.dot_rates().sum()), rel=1e-12)
    for bad in (0, -1.0, float("inf"), float("nan"), "auto", True, "None"):
        with pytest.raises(ConfigError, match=r"dynamics\.resonance_width .* expected a finite number in \(0, "):
            S.load_config({"dynamics": {"resonance_width": bad}})

# ---------------------------------------------------------------------------
# 1. echo and Ramsey against the joint chain
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_echo_ramsey_match_joint_chain(kind):
    cfg, w = _cluster_cfg(kind, 40000.0)
    out = run_engine(cfg, chunk_time=700.0)
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
    np.testing.assert_allclose(out["sim"].probes.eps, st.eps[m.probes] - eps0[m.probes], rtol=0, atol=1e-12)
    # the dataset's diagnostics are the kernel's
    ds = out["ds"]
    assert int(ds["n_proposals"]) == st.counts[RK.C_PROPOSALS] and int(ds["n_events"]) == st.counts[RK.C_ACCEPTED]
    np.testing.assert_array_equal(ds["waiting_time_cv"].values, RK.waiting_time_stats(st)["cv"])


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
                  tau=(1.0, 2.0, 2), spacing=50.0, gamma1=1.0, seed=31, boundary="periodic", w=c["w"])
    return run_engine(cfg, snapshots=20), c


@pytest.mark.slow
def test_own_transition_rate_matches_mean_rate(lattice_run):
    out, c = lattice_run
    m, ds = out["model"], out["ds"]
    # the run's own output: gamma1_measured with its batch-means error (run.batches = 20)
    rate, se = ds["gamma1_measured"].values, ds["gamma1_measured_stderr"].values
    exact = np.array([R.model_mean_rate(m, int(l), c["w"]) for l in m.probes])
    z = (rate - exact) / se
    assert np.all(np.abs(z) < 4), z
    assert np.sum(z ** 2) < sps.chi2.isf(1e-3, z.size), np.sum(z ** 2)
    # the resonance makes the rates differ from level to level (not all at the bound)
    bound = 1.0 if m.kind == "flip" else 2.0 * m.n_particles * (m.M - m.n_particles) / m.M
    assert np.all(exact < bound) and np.ptp(exact) > 0.1 * bound
    # the estimator's own-change counts are the kernel's own transitions
    np.testing.assert_array_equal(out["sim"].probes.cnt, out["state"].own)
    np.testing.assert_array_equal(rate, out["state"].own / out["t_max"])
    np.testing.assert_array_equal(out["sim"].acc.own_at_batch[-1], out["state"].own)
    # the snapshots' batch means (other batch edges) give a comparable error
    s_rate, s_se = _batch_rates(out["snaps"], lambda s: s[1])
    np.testing.assert_allclose(s_rate, rate, rtol=1e-12)
    assert 0.5 < np.median(s_se / se) < 2.0
    wt = RK.waiting_time_stats(out["state"])
    assert np.all(wt["n"] == out["state"].own - 1)
    np.testing.assert_allclose(wt["mean"], out["t_max"] / out["state"].own, rtol=0.2)
    np.testing.assert_array_equal(ds["waiting_time_mean"].values, wt["mean"])


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
def _small(kind, seed=5, w=0.4):
    return _config(kind, 2, 8, 4, cutoff=2.0, t_max=300.0, probes=12, tau=(0.5, 8.0, 5), seed=seed, w=w)


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_chunking_and_seed_determinism(kind):
    cfg = _small(kind)
    a = run_engine(cfg, chunk_time=1e9, recompute_every=97)
    b = run_engine(cfg, chunk_time=3.7, recompute_every=97)
    assert a["state"].counts[RK.C_RECOMPUTES] > 10 and a["state"].counts[RK.C_ACCEPTED] > 1000
    _same(a, b)
    c = run_engine(cfg, chunk_time=11.0, recompute_every=97, threads=2)   # threads change nothing either
    _same(a, c)
    d = run_engine(_small(kind, seed=6), chunk_time=1e9, recompute_every=97)
    assert not np.array_equal(a["state"].accepted, d["state"].accepted)
    # recomputing keeps the maintained energies at the recomputed ones
    assert RK.recompute_energies(a["state"], a["tables"]) < 1e-12


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_checkpoint_resume_is_bit_identical(tmp_path, kind):
    """Stop after k chunks (as a kill would), resume from the checkpoint through the
    Python API: the result equals the uninterrupted run's, bit for bit."""
    cfg = _small(kind)
    ref = S.run(cfg, progress=False, chunk_time=20.0)
    for k in (1, 6):
        ck = tmp_path / f"{kind}{k}.ckpt"
        sim = Simulation(cfg, chunk_time=20.0)
        drive(sim, checkpoint=ck, progress=False, checkpoint_every=0, stop_after_chunks=k)
        assert ck.exists() and not sim.finished
        with np.load(ck) as z:   # the resonant state, not the fixed-rate one, is saved
            assert "resonant_eps" in z.files and "t_next" not in z.files and "own_at_batch" in z.files
        del sim
        out = S.resume(ck, output=tmp_path / f"{kind}{k}.nc", progress=False)
        _same_ds(ref, out)
        assert out.attrs["finished"] == 1 and not ck.exists()


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_huge_width_accepts_every_proposal_at_the_fixed_rates(kind):
    # a bath on the left gives unequal bounds, which exercises the alias table
    cfg = _config(kind, 1, 64, 4, cutoff=3.0, t_max=2000.0, probes=4, tau=(1.0, 2.0, 2), spacing=50.0,
                  gamma1=0.05, bath={"side": "left", "width": 8, "gamma1": 0.4}, w=1e12)
    out = run_engine(cfg, chunk_time=1e9)
    st, m = out["state"], out["model"]
    assert st.counts[RK.C_ACCEPTED] == st.counts[RK.C_PROPOSALS]
    assert int(out["ds"]["n_proposals"]) == int(out["ds"]["n_events"])
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
    out = run_engine(cfg, snapshots=20)
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


# ---------------------------------------------------------------------------
# 6. gamma1_measured of a fixed-rate run
# ---------------------------------------------------------------------------
def test_fixed_rate_gamma1_measured_is_gamma1_with_honest_errors():
    """Flip levels with fixed rates change at Gamma1(I), independently of each other:
    gamma1_measured agrees with it within its batch-means error for every probe
    (Bonferroni), and the errors are honest: mean z^2 over 400 probes matches that
    of a t variable with B - 1 degrees of freedom."""
    B = 32
    cfg = S.load_config({"lattice": {"d": 1, "L": 200, "levels": 2},
                         "dynamics": {"gamma1": 0.05, "bath": {"side": "left", "width": 20, "gamma1": 0.2}},
                         "run": {"t_max": 4000.0, "probes": "all", "seed": 41, "batches": B,
                                 "tau": {"min": 0.5, "max": 50.0, "points": 4, "t0_spacing": 5.0},
                                 "trajectory": {"probes": 0}}})
    ds = S.run(cfg, progress=False)
    exact = ds["gamma1"].values[ds["probe_dot"].values]
    assert set(np.unique(exact)) == {0.05, 0.2}
    z = (ds["gamma1_measured"].values - exact) / ds["gamma1_measured_stderr"].values
    N = z.size
    assert N == 400
    assert np.max(np.abs(z)) < sps.t.isf(0.005 / N, B - 1), np.max(np.abs(z))
    ez2 = (B - 1) / (B - 3)
    assert abs(np.mean(z ** 2) - ez2) < 4 * math.sqrt(sps.f(1, B - 1).var() / N), np.mean(z ** 2)
    # nothing is rejected, and the fixed-rate pass records no waiting times
    assert int(ds["n_proposals"]) == int(ds["n_events"])
    assert np.all(np.isnan(ds["waiting_time_mean"].values)) and np.all(np.isnan(ds["waiting_time_cv"].values))


def test_self_consistent_loop_drives_resonant_dynamics(tmp_path):
    """The loop runs on the resonant engine unchanged (docs/resonant.md): every
    iteration simulates with rates bounded by that iteration's Gamma1 and rejects
    proposals (n_proposals > n_events)."""
    from analysis.closure import run_loop

    cfg = S.load_config({"lattice": {"d": 1, "L": 16, "levels": 2}, "couplings": {"static_width": 1.0},
                         "dynamics": {"gamma1": 0.01, "resonance_width": 0.5},
                         "run": {"probes": 8, "seed": 3, "tau": {"points": 12}, "trajectory": {"probes": 0},
                                 "checkpoint_every": 0.0},
                         "selfconsistent": {"delta_m": 5.0, "Xi": 0.5, "max_iterations": 2, "flips": 200.0}})
    hist = run_loop(cfg, tmp_path, progress=False)
    assert hist.sizes["iteration"] == 2
    for k in range(2):
        it = xr.load_dataset(tmp_path / f"iter-{k:04d}.nc")
        assert int(it["sim_n_proposals"]) > int(it["sim_n_events"]) > 0
        assert np.allclose(it["gamma1"].values, hist["gamma1"].values[k])
