"""The numba kernels against their slow pure-Python twin (tests/twin.py)."""
import numpy as np
import pytest

import simulator as S
from simulator.engine import Simulation
from simulator.kernels.layout import (BD2, BER, BRI, BRR, BS, EN1, EN2, NB_CUR, PH1, PH2, REBASE_EVERY, ramsey_imag_sum,
                                      sd_sums, signal_sums, survival_sums, window_counts)
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
    # 20 batches: the phases are rebased at batch boundaries 8 and 16 (REBASE_EVERY)
    raw = {**raw, "run": {"t_max": 2000.0, "probes": 5, "batches": 20, "seed": 7,
                          "tau": {"min": 0.7, "max": 300.0, "points": 7, "t0_spacing": t0_spacing},
                          "trajectory": {"probes": 2, "dt": 37.0}}}
    return S.load_config(raw)


def _close(actual, expected, scale, what):
    np.testing.assert_allclose(actual / scale, expected / scale, rtol=0, atol=1e-9, err_msg=what)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("t0_spacing", [0.0, 25.0, "auto"])
def test_kernel_matches_twin(name, t0_spacing):
    """Every row of the estimator array, the counters and the final state agree
    with the twin, whose schedule and batches are its own (tests/twin.py)."""
    sim = Simulation(_config(CASES[name], t0_spacing), chunk_time=150.0)
    ref = twin.simulate(Simulation(_config(CASES[name], t0_spacing)))
    assert twin.REBASE_EVERY == REBASE_EVERY and sim.plan.n_batches > 2 * REBASE_EVERY
    np.testing.assert_array_equal(sim.plan.tau, ref["tau"])
    np.testing.assert_array_equal(sim.plan.stride, ref["stride"])
    if t0_spacing == "auto":   # the statistical floor binds at the smallest tau
        assert ref["stride"][0] > 1
    while not sim.finished:
        sim.step()
    assert sim.n_events == ref["n_events"] > 0
    est, kstat = sim.acc.est, sim.acc.kstat
    nwin = window_counts(kstat)
    np.testing.assert_array_equal(nwin.total, ref["n_windows"])
    np.testing.assert_array_equal(nwin.batches, ref["n_batches"])
    np.testing.assert_array_equal(nwin.sq, ref["n_windows_sq"])
    assert not kstat[NB_CUR].any()
    n = nwin.total[:, None]
    for signal, twin_name in (("echo", "echo"), ("ramsey", "ramsey_re")):
        sums = signal_sums(est, signal)
        _close(sums.total, ref[twin_name], n, f"{signal} total")
        _close(sums.sq, ref[twin_name + "_sq"], n * n, f"{signal} sum of squared batch sums")
        _close(sums.by_count, ref[twin_name + "_by_count"], n * n, f"{signal} batch sum x count")
        _close(sums.by_survival, ref[twin_name + "_by_survival"], n * n, f"{signal} batch sum x survival")
    _close(ramsey_imag_sum(est), ref["ramsey_im"], n, "ramsey imag total")
    surv = survival_sums(est)
    _close(surv.total, ref["survival"], n, "survival total (TS)")
    _close(surv.sq, ref["survival_sq"], n * n, "survival squared batch sums (ASS)")
    # spectral diffusion (docs/model.md §4): sums of D^2 over every window, scaled by
    # the probe's largest D^2 so that the tolerance is relative
    d2 = sd_sums(est)
    scale = np.maximum(ref["sd2"].max(axis=0, keepdims=True), 1e-300)
    assert ref["sd2"].max() > 0
    _close(d2.total, ref["sd2"], scale, "sd D^2 total (SD2)")
    _close(d2.sq, ref["sd2_sq"], scale * scale, "sd D^2 squared batch sums (AD2)")
    _close(d2.by_count, ref["sd2_by_count"], n * scale, "sd D^2 batch sum x count (QD2)")
    _close(est[EN1], ref["en1"], 1.0, "EN1")
    _close(est[EN2], ref["en2"], 1.0, "EN2")
    for row in (BER, BRR, BRI, BS, BD2):   # the last batch is closed at the end
        assert not est[row].any()
    # the stored phases and the probes' phases, rebased as the kernel does
    _close(est[PH1], ref["ph1"], 1.0, "PH1")
    _close(est[PH2], ref["ph2"], 1.0, "PH2")
    _close(sim.probes.phi, ref["phi"], 1.0, "phi")
    _close(sim.probes.eps, ref["eps"], 1.0, "eps")
    np.testing.assert_array_equal(sim.probes.cnt, ref["cnt"])
    np.testing.assert_array_equal(sim.acc.cnt1, ref["cnt1"])
    np.testing.assert_array_equal(sim.acc.cnt2, ref["cnt2"])
    # and the batch means built from these sums
    stats = sim.statistics()
    assert np.array_equal(stats["n_windows"], ref["n_windows"])
    traj = sim.traj
    np.testing.assert_array_equal(traj.probes, ref["traj_probes"])
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
