"""The model of docs/model.md §1-2: lattice geometry, couplings' statistics, rates, initial state."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import simulator as S
from simulator.engine import Simulation
from simulator.model import coupling_envelope, neighbour_offsets


def model(**over):
    raw = {"lattice": {"d": 2, "L": 9, "levels": 2}, "couplings": {"cutoff": 3.0}, "run": {"probes": "all"}}
    for k, v in over.items():
        t, key = k.split("__")
        raw.setdefault(t, {})[key] = v
    return S.build_model(S.load_config(raw))


@pytest.mark.parametrize("amplitude", ["gauss", "pm1"])
@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_couplings_symmetric(amplitude, boundary):
    m = model(couplings__amplitude=amplitude, lattice__boundary=boundary)
    rows = m.coupling_rows()
    U = {}
    for p in range(m.probes.size):
        r = rows.row(p)
        for j, u in zip(r["level"], r["U"]):
            U[(int(m.probes[p]), int(j))] = u
    for (i, j), u in U.items():
        assert U[(j, i)] == u          # bit-identical, not just close
    assert all(i != j for i, j in U)   # no self-coupling


def test_pm1_amplitudes_are_plus_minus_envelope():
    m = model(couplings__amplitude="pm1")
    rows = m.coupling_rows()
    env = coupling_envelope(rows.r, m.config["couplings"])
    np.testing.assert_array_equal(np.abs(rows.U), env)
    frac = np.mean(rows.U > 0)
    n = rows.U.size // 2  # each pair appears twice
    assert abs(frac - 0.5) < 4 * 0.5 / math.sqrt(n)


def test_gauss_amplitudes_standard_normal_at_every_distance():
    m = S.build_model(S.load_config({"lattice": {"d": 1, "L": 4000, "levels": 3}, "couplings": {"cutoff": 5.0},
                                     "run": {"probes": 3000}}))
    rows = m.coupling_rows()
    # use each unordered pair once: keep entries with probe level < neighbour level
    probe_of_entry = np.repeat(m.probes, np.diff(rows.ptr))
    once = probe_of_entry < rows.level
    u = rows.U[once] / coupling_envelope(rows.r[once], m.config["couplings"])
    assert stats.kstest(u, "norm").pvalue > 1e-3
    for r in np.unique(rows.r[once]):                    # distance law: unit variance in every shell
        x = u[rows.r[once] == r]
        chi2 = (x ** 2).sum()
        lo, hi = stats.chi2.ppf([1e-4, 1 - 1e-4], x.size)
        assert lo < chi2 < hi, (r, x.size, chi2 / x.size)


def test_envelope_forms():
    c = S.load_config({"couplings": {"form": "power", "alpha": 3.0, "gamma": 2.0, "intra": 0.5}})["couplings"]
    np.testing.assert_allclose(coupling_envelope([0.0, 1.0, 2.0], c), [0.5, 2.0, 2.0 / 8])
    c = S.load_config({"couplings": {"xi": 2.0}})["couplings"]
    np.testing.assert_allclose(coupling_envelope([0.0, 1.0, 4.0], c), [1.0, math.exp(-0.5), math.exp(-2.0)])


@pytest.mark.parametrize("d,L,periodic,rc,expected", [
    (1, 10, True, 3.0, 7), (1, 4, True, 3.0, 4), (2, 10, True, 1.0, 5), (2, 10, True, 1.5, 9),
    (3, 10, True, 1.0, 7), (2, 3, True, 5.0, 9), (1, 10, False, 3.0, 7),
])
def test_neighbour_offsets_count_each_image_once(d, L, periodic, rc, expected):
    off, dist = neighbour_offsets(d, L, periodic, rc)
    assert off.shape[0] == expected
    assert len({tuple(o % L) for o in off}) == expected
    assert np.all(dist <= rc + 1e-12)


def test_auto_cutoff_rule():
    cfg = S.load_config({"couplings": {"cutoff_tol": 0.01}, "dynamics": {"gamma1": 1e-3}})
    m = S.build_model(cfg)
    A = coupling_envelope(np.array([m.cutoff]), cfg["couplings"])[0]
    assert A == pytest.approx(0.01 * m.gamma2_est)


def test_bath_profile():
    cfg = S.load_config({"lattice": {"d": 1, "L": 10}, "dynamics": {"gamma1": 1e-3,
                         "bath": {"side": "left", "width": 3, "gamma1": 0.5}}})
    g = S.build_model(cfg).gamma1
    np.testing.assert_array_equal(g, [0.5] * 3 + [1e-3] * 7)
    cfg = S.load_config({"lattice": {"d": 2, "L": 4}, "dynamics": {"bath": {"side": "all", "width": 1, "gamma1": 2.0}}})
    g = S.build_model(cfg).gamma1.reshape(4, 4)
    assert g[1:3, 1:3].max() < 2.0 and g[0].min() == 2.0 and g[:, 3].min() == 2.0


def test_initial_state_is_stationary():
    # flip: every level Bernoulli(1/2)
    sim = Simulation(S.load_config({"lattice": {"d": 1, "L": 20000, "levels": 2}, "couplings": {"cutoff": 1.0},
                                    "run": {"probes": 1, "trajectory": {"probes": 0}}}))
    n = sim.dynamics.occupations().size
    assert abs(sim.dynamics.occupations().mean() - 0.5) < 4 * 0.5 / math.sqrt(n)
    # hop: exactly n particles per dot, uniform over the C(M, n) configurations
    sim = Simulation(S.load_config({"lattice": {"d": 1, "L": 30000, "levels": 4}, "couplings": {"cutoff": 1.0},
                                    "dynamics": {"kind": "hop"}, "run": {"probes": 1, "trajectory": {"probes": 0}}}))
    occ = sim.dynamics.occupations().reshape(-1, 4)
    assert np.all(occ.sum(axis=1) == 2)
    codes = occ @ np.array([1, 2, 4, 8])
    counts = np.array([np.sum(codes == c) for c in np.unique(codes)])
    assert counts.size == 6
    assert stats.chisquare(counts).pvalue > 1e-3


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_event_rates(kind):
    cfg = S.load_config({"lattice": {"d": 1, "L": 500, "levels": 4}, "couplings": {"cutoff": 1.0},
                         "dynamics": {"kind": kind, "gamma1": 0.01,
                                      "bath": {"side": "left", "width": 100, "gamma1": 0.05}},
                         "run": {"t_max": 2000.0, "probes": 2, "tau": {"min": 1.0, "max": 100.0},
                                 "trajectory": {"probes": 0}}})
    ds = S.run(cfg, progress=False)
    n_tr = 4 if kind == "flip" else 4
    expected = n_tr * ds["gamma1"].values * 2000.0
    ev = ds["events_per_dot"].values
    for sel in (slice(0, 100), slice(100, 500)):   # Poisson counts: 4 sigma on each region's total
        assert abs(ev[sel].sum() - expected[sel].sum()) < 4 * math.sqrt(expected[sel].sum())


def test_stream_changes_only_the_dynamics_key():
    from simulator.model import seed_keys

    base, again, other = seed_keys(77), seed_keys(77, 0), seed_keys(77, 1)
    assert base == again
    assert other["dynamics"] != base["dynamics"]
    assert all(other[k] == base[k] for k in ("couplings", "static", "probes"))
    assert seed_keys(77, 2)["dynamics"] not in (base["dynamics"], other["dynamics"])
