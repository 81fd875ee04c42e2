"""The spectral-diffusion width sigma^2(t_w) (docs/model.md §4, docs/spectral-diffusion.md §2).

* the hop closed form of one dot against its Markov chain (matrix exponential),
  and the flip closed form against the frequency autocorrelation;
* the measured ``sd_variance`` against the exact value, probe by probe at every
  t_w, for flip and hop at fixed seeds: every point within the Bonferroni bound of
  Student's t_31 (B = 32 batches), the pooled mean z^2 consistent with 31/29
  (N_eff = number of probes, each probe's points one correlated group, as in
  tests/test_error_bars.py), and a 20 % wrong rate detected (for flip the error is now
  the exact variance of the estimator, E z^2 = 1, inside the same band; its own tests
  are tests/test_sd_error.py);
* resonant rates with a width far above every energy change (fixed rates in the
  limit) against the flip value;
* bit-identity of the new arrays over chunking, threads and checkpoint-resume,
  and the refusal of a checkpoint of the previous format.

The engine's sums themselves are checked against the slow twin in
tests/test_kernel_twin.py (rows EN1, EN2, SD2, AD2, QD2).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats

import simulator as S
from analysis import exact
from analysis.compare import exact_sd_variance
from analysis.spectral_exact import telegraph_sd_variance
from simulator.config import CheckpointError
from simulator.dataset import to_dataset
from simulator.engine import Simulation, drive, read_checkpoint
from zstats import t_z2_moments

B = 32
DOF = B - 1
MEAN_Z2, VAR_Z2 = t_z2_moments(DOF)
SD_ARRAYS = ("sd_variance", "sd_variance_stderr", "sd_width", "sd_variance_probe_mean")


# ---------------------------------------------------------------------------
# the closed forms
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("M, n, own", [(2, 1, None), (3, 1, None), (4, 2, None), (5, 2, 3), (4, 3, 0), (6, 1, 2)])
def test_hop_dot_closed_form_matches_the_chain(M, n, own):
    """2 Var(h) (1 - e^{-M Gamma1 t}) equals sum pi_c P_{c'c}(t) (h_c' - h_c)^2 of the dot's chain."""
    rng = np.random.default_rng(M * 10 + n)
    u = rng.normal(size=M)
    if own is not None:
        u[own] = 0.0
    g = 0.37
    t = np.array([0.0, 1e-3, 0.05, 0.4, 1.3, 5.0, 40.0])
    closed = exact.hop_dot_sd_variance(t, u, n, g)
    chain = exact.hop_dot_sd_variance_chain(t, u, n, g)
    np.testing.assert_allclose(closed, chain, rtol=1e-10, atol=1e-13)
    # the long-time limit is twice the stationary variance, by enumeration
    occ = exact.hop_configurations(M, n)
    h = (occ - n / M) @ u
    assert closed[-1] == pytest.approx(2 * h.var(), rel=1e-10)


def test_hop_probe_sums_its_dots_with_its_own_coupling_removed():
    u = np.array([[0.3, -1.2, 0.5], [0.9, 0.1, -0.4]])
    t = np.geomspace(0.01, 100, 9)
    total = exact.hop_sd_variance(t, u, 1, [0.2, 0.05], own_dot_index=1, probe_level=0)
    ref = (exact.hop_dot_sd_variance_chain(t, u[0], 1, 0.2)
           + exact.hop_dot_sd_variance_chain(t, [0.0, 0.1, -0.4], 1, 0.05))
    np.testing.assert_allclose(total, ref, rtol=1e-10)


def test_flip_closed_form_is_twice_the_autocorrelation_drop():
    rng = np.random.default_rng(3)
    U, g = rng.normal(size=12), rng.uniform(0.01, 1.0, size=12)
    t = np.geomspace(1e-3, 1e3, 13)
    sd = exact.flip_sd_variance(t, U, g)
    c = exact.flip_frequency_autocorrelation(np.append(0.0, t), U, g)
    np.testing.assert_allclose(sd, 2 * (c[0] - c[1:]), rtol=1e-12)
    np.testing.assert_allclose(sd, telegraph_sd_variance(t, U, g), rtol=1e-14)
    # hop with M = 2, n = 1 is a telegraph of amplitude u0 - u1 flipping at Gamma1
    np.testing.assert_allclose(exact.hop_dot_sd_variance(t, [0.7, -0.2], 1, 0.3),
                               exact.flip_sd_variance(t, [0.9], [0.3]), rtol=1e-12)


# ---------------------------------------------------------------------------
# measured against exact
# ---------------------------------------------------------------------------
def _cfg(kind, **dyn):
    # tau_min is large enough that every window grid sees many changes of coupled
    # levels (the regime where batch means is a Gaussian error, docs/model.md §4), and
    # t_max / B = 1250 is well above tau_max and 1/Gamma1
    raw = {"lattice": {"d": 2, "L": 6, "levels": 3}, "couplings": {"cutoff": 2.0},
           "dynamics": {"kind": kind, "gamma1": 0.05, **dyn},
           "run": {"t_max": 4e4, "probes": 10, "seed": 21, "batches": B, "checkpoint_every": 0.0,
                   "tau": {"min": 0.2, "max": 200.0, "points": 12}, "trajectory": {"probes": 0}}}
    if kind == "hop":
        raw["dynamics"]["filling"] = 1.0 / 3.0
    return raw


@functools.lru_cache(maxsize=None)
def _measured(kind):
    ds = S.run(S.load_config(_cfg(kind)), progress=False)
    return ds, exact_sd_variance(ds)


def _bound(n_points: int, alpha: float = 1e-3) -> float:
    return float(stats.t.ppf(1 - alpha / (2 * n_points), DOF))


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_measured_sd_variance_matches_exact_at_every_t_w(kind):
    ds, ref = _measured(kind)
    assert ds["n_batches"].values.min() == B
    err = ds["sd_variance_stderr"].values
    assert np.all(err > 0)
    z = (ds["sd_variance"].values - ref) / err
    assert np.max(np.abs(z)) < _bound(z.size), np.max(np.abs(z))
    z2 = np.mean(z ** 2)
    assert abs(z2 - MEAN_Z2) < 4.5 * np.sqrt(VAR_Z2 / ds.sizes["probe"]), z2
    # the width spans the regimes: short waits well below the plateau, long ones on it
    assert np.all(ref[:, 0] < 0.1 * ref[:, -1])
    np.testing.assert_array_equal(ds["sd_width"].values, np.sqrt(ds["sd_variance"].values))
    np.testing.assert_allclose(ds["sd_variance_probe_mean"].values, ds["sd_variance"].values.mean(axis=0))


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_a_wrong_rate_is_detected(kind):
    """The comparison can fail: against the exact value for rates 20 % higher (which moves
    only the crossover, not the plateau) the pooled mean z^2 is outside the band of
    test_measured_sd_variance_matches_exact_at_every_t_w."""
    ds, _ = _measured(kind)
    model = S.model_from_dataset(ds)
    wrong = S.build_model(model.config, gamma1=1.2 * model.gamma1)
    z = (ds["sd_variance"].values - exact_sd_variance(ds, model=wrong)) / ds["sd_variance_stderr"].values
    assert np.mean(z ** 2) - MEAN_Z2 > 4.5 * np.sqrt(VAR_Z2 / ds.sizes["probe"]), np.mean(z ** 2)


def test_resonant_rates_in_the_fixed_rate_limit():
    """With w far above every energy change the resonant rates are Gamma1 (to 1e-8
    relative), so sd_variance measured through the resonant engine has the flip value."""
    raw = _cfg("flip", resonance_width=1e4)
    raw["lattice"] = {"d": 1, "L": 16, "levels": 2}
    raw["couplings"]["cutoff"] = 3.0
    raw["run"] = {**raw["run"], "t_max": 2e4, "probes": 6}
    ds = S.run(S.load_config(raw), progress=False)
    model = S.model_from_dataset(ds)
    fixed = S.load_config(_cfg("flip") | {"lattice": raw["lattice"], "couplings": raw["couplings"],
                                          "run": raw["run"]})
    ref = exact_sd_variance(ds, model=S.build_model(fixed, probes=model.probes))
    z = (ds["sd_variance"].values - ref) / ds["sd_variance_stderr"].values
    assert np.max(np.abs(z)) < _bound(z.size), np.max(np.abs(z))
    assert abs(np.mean(z ** 2) - MEAN_Z2) < 4.5 * np.sqrt(VAR_Z2 / ds.sizes["probe"])


# ---------------------------------------------------------------------------
# determinism and checkpoints
# ---------------------------------------------------------------------------
SMALL = {"lattice": {"d": 2, "L": 6, "levels": 3}, "couplings": {"cutoff": 2.5},
         "dynamics": {"gamma1": 0.02},
         "run": {"t_max": 3000.0, "probes": 6, "seed": 99, "tau": {"min": 0.5, "max": 300.0, "points": 10},
                 "trajectory": {"probes": 0}, "checkpoint_every": 0.0}}


def _same_sd(a, b):
    for name in SD_ARRAYS:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_chunks_and_threads_do_not_change_the_width(kind):
    cfg = S.load_config(SMALL, [f"dynamics.kind={kind}"])
    results = []
    for chunk, threads in ((None, 1), (7.3, 1), (61.0, 3), (1e9, 2)):
        sim = Simulation(cfg, chunk_time=chunk, threads=threads)
        drive(sim, progress=False, checkpoint_every=0)
        results.append(to_dataset(sim))
    assert np.all(np.isfinite(results[0]["sd_variance"].values))
    for r in results[1:]:
        _same_sd(results[0], r)


def test_checkpoint_resume_keeps_the_width(tmp_path):
    cfg = S.load_config(SMALL)
    ref = S.run(cfg, progress=False, chunk_time=40.0)
    for k in (1, 9):
        ck = tmp_path / f"k{k}.ckpt"
        sim = Simulation(cfg, chunk_time=40.0)
        drive(sim, checkpoint=ck, progress=False, checkpoint_every=0, stop_after_chunks=k)
        assert not sim.finished
        out = S.resume(ck, output=tmp_path / f"k{k}.nc", progress=False)
        _same_sd(ref, out)


def test_a_checkpoint_of_the_previous_format_is_refused(tmp_path):
    """A format-2 checkpoint (estimator array without the spectral-diffusion rows)
    is refused with the format message, before its arrays are looked at."""
    cfg = S.load_config(SMALL)
    sim = Simulation(cfg, chunk_time=40.0)
    ck = tmp_path / "run.ckpt"
    drive(sim, checkpoint=ck, progress=False, checkpoint_every=0, stop_after_chunks=2)
    with np.load(ck) as f:
        data = {k: f[k] for k in f.files}
    data["format"] = np.array("dotkmc-checkpoint-2")
    data["est"] = data["est"][:17]
    old = tmp_path / "old.ckpt"
    with open(old, "wb") as fh:
        np.savez(fh, **data)
    with pytest.raises(CheckpointError, match="has the checkpoint format 'dotkmc-checkpoint-2', this dotkmc reads "
                                              "'dotkmc-checkpoint-3'"):
        read_checkpoint(old)
