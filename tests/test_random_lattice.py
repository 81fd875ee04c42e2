"""Random dot positions and dipolar couplings (docs/model.md §1, "Random positions").

* positions: uniform (a KS test per axis), reproducible from the seed, independent
  of run.stream, Morton-ordered;
* probe rows against a brute-force all-pairs minimum-image computation (exp, power,
  dipolar with its angular factor; periodic and open boxes; dipolar on the lattice);
* one-line errors for every refused combination;
* the average over many probes of the exact per-probe echo and Ramsey signal
  against the Poisson-ensemble closed form of analysis/spectral_exact.py (the
  positions are uniform and the couplings have the right law);
* the auto cutoff's tail bound, checked as a paired comparison (same seed, r_c
  against 2 r_c, exact per-probe echoes);
* the measured echo of random-lattice runs against the exact per-probe products
  (slow), with the statistics of tests/test_error_bars.py.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy import stats

import simulator as S
from analysis.compare import exact_signals
from analysis.estimates import median_with_error, zscores
from analysis.exact import flip_echo, flip_ramsey
from analysis.spectral_exact import PoissonEnsemble, ensemble_echo, ensemble_ramsey
from simulator.config import ConfigError
from simulator.model import TAIL_TAU, build_model, dot_gamma1, random_positions, tail_integral
from simulator.rng import pair_amplitude
from simulator.seeds import seed_keys
from zstats import t_z2_moments

B = 32
DOF = B - 1
MEAN_Z2, VAR_Z2 = t_z2_moments(DOF)


def _raw(d=3, L=8, M=2, density=1.0, form="exp", cutoff=2.5, boundary="periodic", probes=8, seed=5, **extra):
    raw = {"lattice": {"d": d, "L": L, "levels": M, "kind": "random", "density": density, "boundary": boundary},
           "couplings": {"form": form, "cutoff": cutoff},
           "dynamics": {"gamma1": 1e-2},
           "run": {"probes": probes, "seed": seed, "checkpoint_every": 0.0, "trajectory": {"probes": 0}}}
    for key, value in extra.items():
        table, name = key.split("__")
        raw[table][name] = value
    return raw


# ---------------------------------------------------------------------------
# positions
# ---------------------------------------------------------------------------
def test_seed_keys_of_the_four_key_tree_are_unchanged():
    """Adding the positions key changed no earlier key (regression pins stay bit-identical)."""
    for seed in (0, 12345, 2**62 + 3):
        old = np.random.SeedSequence(seed).generate_state(4, dtype=np.uint64)
        keys = seed_keys(seed)
        assert [keys[k] for k in ("couplings", "static", "dynamics", "probes")] == list(old)
        assert keys["positions"] not in old


def test_positions_are_uniform_reproducible_and_independent_of_the_stream():
    cfg = S.load_config(_raw(L=30, density=0.75, seed=2024))
    pos = random_positions(cfg)
    assert pos.shape == (round(0.75 * 30**3), 3) and pos.dtype == np.float64
    assert np.all((pos >= 0) & (pos < 30))
    for k in range(3):   # KS per axis at a fixed seed
        assert stats.kstest(pos[:, k] / 30, "uniform").pvalue > 1e-3, k
    m = build_model(cfg)
    assert m.n_dots == pos.shape[0] and m.n_levels == 2 * pos.shape[0]
    assert np.array_equal(m.positions, pos)
    assert np.array_equal(build_model(cfg.with_values({"run.stream": 7})).positions, pos)
    assert np.array_equal(random_positions(S.load_config(_raw(L=30, density=0.75, seed=2024))), pos)
    assert not np.array_equal(random_positions(cfg.with_values({"run.seed": 2025})), pos)
    # the dataset's probe coordinates are these positions
    assert np.array_equal(m.dot_coords(m.probe_dot), pos[m.probe_dot])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_positions_are_in_morton_order(d):
    """The top bits of the Z-curve are the halves of the box: the dots of each
    half-box orthant form one contiguous index range, in Z order."""
    cfg = S.load_config(_raw(d=d, L=12, density=1.3))
    pos = random_positions(cfg)
    orthant = ((pos >= 6).astype(int) * (2 ** np.arange(d))).sum(axis=1)
    assert np.all(np.diff(orthant) >= 0)
    assert np.unique(orthant).size == 2 ** d


def test_bath_on_random_positions_uses_the_first_coordinate():
    cfg = S.load_config(_raw(L=10, dynamics__bath={"side": "left", "width": 2, "gamma1": 0.5}))
    pos = random_positions(cfg)
    g = dot_gamma1(cfg)
    assert np.array_equal(g == 0.5, pos[:, 0] < 2) and np.all(g[pos[:, 0] >= 2] == 1e-2)
    cfg = cfg.with_values({"dynamics.bath.side": "all"})
    g = dot_gamma1(cfg)
    assert np.array_equal(g == 0.5, ((pos < 2) | (pos >= 8)).any(axis=1))


# ---------------------------------------------------------------------------
# probe rows against all pairs
# ---------------------------------------------------------------------------
def _brute_rows(m, cfg, p):
    """Row of probe p by brute force over every dot: minimum image per axis, the
    envelope written out here, cos(theta) = dz / r."""
    c = cfg["couplings"]
    pos = m.dot_positions()
    L = float(m.L)
    lp = int(m.probes[p])
    I = lp // m.M
    out = {}
    for J in range(m.n_dots):
        sep = pos[J] - pos[I]
        if m.periodic:
            sep = np.where(sep > L / 2, sep - L, np.where(sep < -L / 2, sep + L, sep))
        r = math.sqrt(float(np.sum(sep * sep)))
        if r > m.cutoff:
            continue
        if J == I:
            a = c["gamma"]
        elif c["form"] == "exp":
            a = c["gamma"] * math.exp(-r / c["xi"])
        elif c["form"] == "power":
            a = c["gamma"] * r ** -c["alpha"]
        else:
            a = c["gamma"] * (1 - 3 * (sep[2] / r) ** 2) / r**3
        for b in range(m.M):
            lj = J * m.M + b
            if lj != lp:
                out[lj] = (a * pair_amplitude(m.keys["couplings"], lp, lj, c["amplitude"] == "gauss"), r)
    return out


@pytest.mark.parametrize("form,d,boundary,amplitude", [
    ("exp", 3, "periodic", "gauss"), ("power", 3, "periodic", "pm1"), ("dipolar", 3, "periodic", "gauss"),
    ("dipolar", 3, "open", "pm1"), ("exp", 2, "open", "gauss"), ("power", 1, "periodic", "gauss"),
])
def test_probe_rows_equal_all_pairs(form, d, boundary, amplitude):
    L = {1: 40, 2: 9, 3: 6}[d]
    cfg = S.load_config(_raw(d=d, L=L, M=2, density=0.8, form=form, cutoff=2.9, boundary=boundary, probes=12,
                             couplings__amplitude=amplitude))
    m = build_model(cfg)
    rows = m.coupling_rows()
    for p in range(m.probes.size):
        row = rows.row(p)
        want = _brute_rows(m, cfg, p)
        assert sorted(row["level"].tolist()) == sorted(want)          # same neighbours, each once
        assert row["r"][0] == 0.0 and np.all(np.diff(row["r"]) >= 0)  # own dot first, then by distance
        U = np.array([want[j][0] for j in row["level"]])
        r = np.array([want[j][1] for j in row["level"]])
        np.testing.assert_allclose(row["U"], U, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(row["r"], r, rtol=1e-12, atol=1e-14)
        assert np.array_equal(row["dot"], row["level"] // m.M)


def test_dipolar_on_the_hypercubic_lattice_has_the_angular_factor():
    cfg = S.load_config({"lattice": {"d": 3, "L": 6, "levels": 2},
                         "couplings": {"form": "dipolar", "cutoff": 2.5}, "run": {"probes": 5, "seed": 3}})
    m = build_model(cfg)
    for p in range(5):
        row = m.coupling_rows().row(p)
        want = _brute_rows(m, cfg, p)
        assert sorted(row["level"].tolist()) == sorted(want)
        np.testing.assert_allclose(row["U"], [want[j][0] for j in row["level"]], rtol=1e-12, atol=1e-14)
    # couplings along z are -2 gamma u / r^3, in the plane +gamma u / r^3: both signs occur
    assert np.any(m.coupling_rows().U[m.coupling_rows().r > 0] != 0)


# ---------------------------------------------------------------------------
# refusals
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("raw,words", [
    ({"lattice": {"d": 2}, "couplings": {"form": "dipolar"}}, ("couplings.form = 'dipolar'", "lattice.d = 3")),
    ({"lattice": {"kind": "random"}, "dynamics": {"resonance_width": 0.1}},
     ("dynamics.resonance_width", "lattice.kind = 'random'", "hypercubic")),
    ({"lattice": {"kind": "random", "d": 1, "L": 10, "density": 0.01}}, ("lattice.density", "0 random dots", "1 to")),
    ({"lattice": {"kind": "random", "d": 3, "L": 1000, "density": 60.0}}, ("lattice.density", "random dots", "5e+07")),
    ({"lattice": {"kind": "random", "d": 3, "L": 10}, "couplings": {"form": "power", "alpha": 1.5}},
     ("couplings.cutoff = 'auto'", "alpha = 1.5", "2*alpha <= d")),
    ({"lattice": {"kind": "random", "density": 0.0}}, ("lattice.density = 0.0", "(0, inf)")),
    ({"lattice": {"kind": "poisson"}}, ("lattice.kind = 'poisson'", "'hypercubic', 'random'")),
    ({"lattice": {"density": 0.5}}, ("lattice.density = 0.5", "lattice.kind = 'hypercubic'", "'random' only")),
])
def test_bad_combinations_are_refused_with_one_line(raw, words):
    with pytest.raises(ConfigError) as err:
        build_model(S.load_config(raw))
    msg = str(err.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, (w, msg)


# ---------------------------------------------------------------------------
# the probe average against the Poisson ensemble
# ---------------------------------------------------------------------------
# tau ranges where each ensemble signal falls from ~1 to ~0.1 (beyond, the probe
# average is dominated by rare probes and its spread over seeds is no error bar)
@pytest.mark.parametrize("form,amplitude,gamma1,tau_echo,tau_ramsey", [
    pytest.param("dipolar", "gauss", 1e-2, np.geomspace(1.0, 14.0, 8), np.geomspace(0.05, 1.5, 8),
                 marks=pytest.mark.slow),
    ("exp", "pm1", 3e-2, np.geomspace(0.5, 6.0, 8), np.geomspace(0.1, 1.5, 8)),
    ("power", "gauss", 1e-2, np.geomspace(0.5, 9.0, 8), np.geomspace(0.05, 1.2, 8)),
])
def test_probe_average_matches_the_poisson_ensemble(form, amplitude, gamma1, tau_echo, tau_ramsey):
    """Mean over probes of the exact per-probe echo and Ramsey signal against the
    ensemble closed form with the same r_c (M = 1: every dot one independent level).
    Error: the spread of the per-seed means over 24 independent seeds."""
    density, rc, L = 0.9, 3.5, 20
    per_seed = {"echo": [], "ramsey": []}
    for seed in range(24):
        cfg = S.load_config(_raw(L=L, M=1, density=density, form=form, cutoff=rc, probes=48, seed=100 + seed,
                                 couplings__amplitude=amplitude, couplings__xi=1.5, couplings__alpha=2.0,
                                 dynamics__gamma1=gamma1))
        m = build_model(cfg)
        e, r = [], []
        for p in range(m.probes.size):
            row = m.probe_couplings(p)
            e.append(flip_echo(tau_echo, row["U"], row["gamma1"], row["gamma1_self"]))
            r.append(flip_ramsey(tau_ramsey, row["U"], row["gamma1"], row["gamma1_self"]))
        per_seed["echo"].append(np.mean(e, axis=0))
        per_seed["ramsey"].append(np.mean(r, axis=0))
    ens = PoissonEnsemble(density=density, d=3, envelope=form, amplitude=amplitude, gamma1=gamma1, r_c=rc,
                          xi=1.5, alpha=3.0 if form == "dipolar" else 2.0)
    # a finite box holds N - 1 other dots, not a Poisson number: log<E> differs by
    # O(p <1-F>) with p = ball / box volume (< 1 % here), far below the error below
    off = PoissonEnsemble(**{**ens.__dict__, "density": 1.15 * density})
    bound = stats.t.ppf(1 - 1e-3 / (2 * 2 * tau_echo.size), 23)
    for name, tau, law in (("echo", tau_echo, ensemble_echo), ("ramsey", tau_ramsey, ensemble_ramsey)):
        s = np.asarray(per_seed[name])
        mean, err = s.mean(axis=0), s.std(axis=0, ddof=1) / np.sqrt(s.shape[0])
        z = (mean - law(tau, ens, gamma1_self=gamma1)) / err
        assert np.all(np.abs(z) < bound), (name, z)
        # the test has power: a density 15 % off is far outside
        assert np.max(np.abs((mean - law(tau, off, gamma1_self=gamma1)) / err)) > bound, name


# ---------------------------------------------------------------------------
# the auto cutoff: its tail bound, as a paired comparison
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("form,gamma1,M", [pytest.param("dipolar", 0.1, 1, marks=pytest.mark.slow),
                                            ("power", 0.2, 1), ("exp", 0.02, 2)])
def test_auto_cutoff_bounds_the_tail(form, gamma1, M):
    """Same seed, r_c (auto) against 2 r_c: every coupling inside r_c is identical, so
    the difference of the exact per-probe echoes is the added shell alone. Its mean
    effect on -ln E at tau* = TAIL_TAU / Gamma2_est is below cutoff_tol (the bound is
    on the mean variance), and the typical exact Gamma2 moves by less than the
    error of a typical Gamma2 measured on these probes."""
    base = _raw(L=10, M=M, form=form, cutoff="auto", probes=64, seed=31, couplings__alpha=3.0,
                dynamics__gamma1=gamma1, couplings__cutoff_tol=0.02)
    m1 = build_model(S.load_config(base))
    rc = m1.cutoff
    L = int(math.ceil(4 * rc)) + 1              # 2 r_c inside half the box: every dot once
    cfg1 = S.load_config({**base, "lattice": {**base["lattice"], "L": L}})
    m1 = build_model(cfg1)
    assert m1.cutoff == rc
    m2 = build_model(cfg1.with_values({"couplings.cutoff": 2 * rc}))
    tau_star = TAIL_TAU / m1.gamma2_est
    tau = np.unique(np.append(np.geomspace(0.02 * tau_star, 50 * tau_star, 48), tau_star))
    d_log, g_1, g_2 = [], [], []
    for p in range(m1.probes.size):
        a, b = m1.probe_couplings(p), m2.probe_couplings(p)
        n = a["U"].size     # rows are sorted by distance: the r_c row is the head of the 2 r_c row
        assert np.array_equal(a["U"], b["U"][:n]) and np.array_equal(a["level"], b["level"][:n])
        e1 = flip_echo(tau, a["U"], a["gamma1"], a["gamma1_self"])
        e2 = flip_echo(tau, b["U"], b["gamma1"], b["gamma1_self"])
        both = (e1 > 1e-250) & (e2 > 1e-250)          # far beyond the crossing both underflow
        d_log.append(np.where(both, np.log(np.where(both, e1, 1.0)) - np.log(np.where(both, e2, 1.0)), 0.0))
        g_1.append(S.crossing_rate(tau, e1[None])[0])
        g_2.append(S.crossing_rate(tau, e2[None])[0])
    d_log = np.asarray(d_log)
    assert np.all(d_log > -1e-12)                                     # more couplings, less echo
    at_star = d_log[:, np.searchsorted(tau, tau_star)]
    print(form, "r_c", rc, "Gamma2_est", m1.gamma2_est, "exact typical", np.nanmedian(g_1),
          "mean dlnE(tau*)", at_star.mean())
    assert at_star.mean() < 0.02, at_star.mean()
    # the mean variance of the shell is what the rule bounds: tail_integral(r_c) - tail_integral(2 r_c)
    c = cfg1["couplings"]
    shell = m1.M * 1.0 * 0.25 * (tail_integral(c, 3, rc) - tail_integral(c, 3, 2 * rc)) * tau_star**2 / 2
    assert shell <= 0.02 * (1 + 1e-9)
    g_1, g_2 = np.asarray(g_1), np.asarray(g_2)
    ok = np.isfinite(g_1) & np.isfinite(g_2)
    assert ok.sum() >= 48
    _, err = median_with_error(g_1[ok])
    assert abs(np.median(g_2[ok]) - np.median(g_1[ok])) < err
    assert np.any(g_2[ok] != g_1[ok])                                 # not vacuous


# ---------------------------------------------------------------------------
# measured echoes against the exact per-probe products
# ---------------------------------------------------------------------------
RUNS = {
    "random-exp-3d": _raw(L=8, M=2, density=0.7, form="exp", cutoff="auto", probes=12, seed=41,
                          dynamics__gamma1=1e-2, run__t_max=3e4),
    "random-dipolar-3d": _raw(L=8, M=2, density=0.5, form="dipolar", cutoff=3.5, probes=12, seed=43,
                              dynamics__gamma1=1e-2, run__t_max=3e4),
    "random-power-2d-open": _raw(d=2, L=12, M=2, density=1.2, form="power", cutoff=4.0, boundary="open",
                                 probes=12, seed=47, dynamics__gamma1=1e-2, run__t_max=3e4),
}


@functools.lru_cache(maxsize=None)
def measured(name):
    ds = S.run(RUNS[name], progress=False)
    return ds, exact_signals(ds)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNS))
def test_measured_echo_matches_the_exact_product_probe_by_probe(name):
    ds, ref = measured(name)
    lat = RUNS[name]["lattice"]
    assert ds.sizes["dot"] == round(lat["density"] * lat["L"] ** lat["d"])
    assert ds["probe_position"].dtype == np.float64
    z = zscores(ds, ref, "echo", min_count=0)
    ok = np.isfinite(z)
    assert ok.sum() >= 0.9 * z.size
    assert np.max(np.abs(z[ok])) < stats.t.ppf(1 - 1e-3 / (2 * ok.sum()), DOF), name


@pytest.mark.slow
def test_measured_echo_mean_z2_pooled():
    zs, n_probes = [], 0
    for name in RUNS:
        ds, ref = measured(name)
        z = zscores(ds, ref, "echo", min_count=0)
        zs.append(z[np.isfinite(z)])
        n_probes += ds.sizes["probe"]
    z2 = np.mean(np.concatenate(zs) ** 2)
    assert abs(z2 - MEAN_Z2) < 4.5 * np.sqrt(VAR_Z2 / n_probes), z2


def test_random_runs_are_bit_identical_for_any_thread_count():
    """Contiguous (Morton) blocks of random dots: same history, same sums, any thread count."""
    raw = _raw(L=6, M=2, density=0.8, form="dipolar", cutoff=2.5, probes=6, seed=8, run__t_max=2e3)
    a = S.run(raw, progress=False, threads=1)
    b = S.run(raw, progress=False, threads=2)
    for name in ("echo", "ramsey", "events_per_dot", "energy"):
        assert np.array_equal(a[name].values, b[name].values), name
