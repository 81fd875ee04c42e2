"""The numba kernels against their slow pure-Python twin (tests/twin.py)."""
import numpy as np
import pytest

import simulator as S
from simulator.engine import Simulation
from simulator.kernels.layout import ramsey_imag_sum, signal_sums, window_counts
from simulator.model import coupling_envelope

import twin

CASES = {
    "flip-1d-periodic": {"lattice": {"d": 1, "L": 12, "levels": 3}, "couplings": {"cutoff": 3.0},
                         "dynamics": {"gamma1": 0.05}},
    "flip-2d-open-pm1": {"lattice": {"d": 2, "L": 5, "levels": 2, "boundary": "open"},
                         "couplings": {"cutoff": 2.3, "amplitude": "pm1", "static_width": 0.5},
                         "dynamics": {"gamma1": 0.05, "bath": {"side": "left", "width": 1, "gamma1": 0.2}}},
    "hop-1d": {"lattice": {"d": 1, "L": 8, "levels": 4}, "couplings": {"cutoff": 2.0},
               "dynamics": {"kind": "hop", "gamma1": 0.03}},
    "hop-3d-power": {"lattice": {"d": 3, "L": 3, "levels": 3}, "couplings": {"cutoff": 1.5, "form": "power"},
                     "dynamics": {"kind": "hop", "gamma1": 0.03, "filling": 0.34}},
}


def _config(raw, t0_spacing):
    raw = {**raw, "run": {"t_max": 2000.0, "probes": 5, "batches": 4, "seed": 7,
                          "tau": {"min": 0.7, "max": 300.0, "points": 7, "t0_spacing": t0_spacing},
                          "trajectory": {"probes": 2, "dt": 37.0}}}
    return S.load_config(raw)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("t0_spacing", [0.0, 25.0])
def test_kernel_matches_twin(name, t0_spacing):
    sim = Simulation(_config(CASES[name], t0_spacing), chunk_time=150.0)
    ref = twin.simulate(Simulation(_config(CASES[name], t0_spacing)))
    while not sim.finished:
        sim.step()
    assert sim.n_events == ref["n_events"] > 0
    est = sim.acc.est
    nwin = window_counts(sim.acc.kstat).total
    np.testing.assert_array_equal(nwin, ref["n_windows"])
    scale = nwin[:, None]
    np.testing.assert_allclose(signal_sums(est, "echo").total / scale, ref["echo"] / scale, rtol=0, atol=1e-9)
    np.testing.assert_allclose(signal_sums(est, "ramsey").total / scale, ref["ramsey_re"] / scale, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ramsey_imag_sum(est) / scale, ref["ramsey_im"] / scale, rtol=0, atol=1e-9)
    traj = sim.traj
    for i, p in enumerate(traj.probes):
        np.testing.assert_allclose(traj.energy[i], traj.eps0[i] + ref["trajectory"][int(p)], rtol=0, atol=1e-12)


@pytest.mark.parametrize("amplitude", ["gauss", "pm1"])
def test_coupling_hash_matches_twin(amplitude):
    cfg = S.load_config({"lattice": {"d": 2, "L": 6, "levels": 2}, "couplings": {"cutoff": 2.5, "amplitude": amplitude},
                         "run": {"probes": 4}})
    m = S.build_model(cfg)
    rows = m.coupling_rows()
    key = int(m.keys["couplings"])
    for p in range(4):
        row = rows.row(p)
        env = coupling_envelope(row["r"], cfg["couplings"])
        ref = [pair_u * e for pair_u, e in zip(
            [twin.pair_amplitude(key, int(m.probes[p]), int(j), amplitude == "gauss") for j in row["level"]], env)]
        np.testing.assert_allclose(row["U"], ref, rtol=1e-14, atol=0)
