"""The resonant mean-field study and the resonant mean-field law of the loop
(docs/resonant.md section 6, docs/selfconsistent.md "Resonant rate law").

* the mean-field rate Gamma1 w (w + Gamma2)/(eps0^2 + (w + Gamma2)^2) is the rate law
  averaged over a Lorentzian line (numerical quadrature, independent code);
* the study end to end on a tiny chain: every level's measured rate equals the exact
  mean rate within a Bonferroni bound of its batch-means error, and the loop's update
  is the law with the run's own static energies;
* the law's error propagation stays finite where the law is flat in Gamma2;
* bad input: the law's configuration requirements, and the study's missing loop.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

import simulator
from analysis.closure import gamma1_from_gamma2, resonant_mean_field_rate, target_stderr
from analysis.studies import resonant_meanfield as rm

REPO = Path(__file__).resolve().parent.parent

TINY = {
    "lattice": {"d": 1, "L": 16, "levels": 1, "boundary": "periodic"},
    "couplings": {"cutoff": 6.0, "static_width": 1.0},
    "dynamics": {"kind": "flip", "gamma1": 0.05, "resonance_width": 0.3},
    "run": {"t_max": "auto", "flips": 3000.0, "seed": 77, "probes": "all",
            "tau": {"min": 0.1, "max": 2000.0, "points": 12}, "trajectory": {"probes": 0}, "checkpoint_every": 0.0},
    "selfconsistent": {"equation": "resonant", "mode": "profile", "damping": 0.7, "flips": 200.0,
                       "max_iterations": 2},
}


@pytest.mark.parametrize("gamma2,eps0,w", [(0.01, 0.0, 0.3), (0.02, 0.5, 0.03), (0.5, -1.3, 0.2),
                                           (1e-4, 2.0, 3.0), (0.3, 0.31, 0.01)])
def test_lorentzian_convolution_formula(gamma2, eps0, w):
    closed = float(resonant_mean_field_rate(0.7, gamma2, eps0, w))
    assert closed == pytest.approx(rm.lorentzian_average_quadrature(0.7, gamma2, eps0, w), rel=1e-8)
    # the Gamma2 -> 0 limit is the bare law at eps0, and a wider line never beats the peak
    assert float(resonant_mean_field_rate(0.7, 0.0, eps0, w)) == pytest.approx(0.7 * w * w / (eps0 ** 2 + w * w))
    assert closed <= 0.7


def test_meanfield_study_end_to_end(tmp_path):
    cfg = simulator.Config.from_dict(TINY)
    rows = rm.meanfield_study(cfg, tmp_path)
    assert len(rows) == 1
    r = rows[0]
    n = r["levels"]
    assert n == 16 and np.all(r["meas"] > 0) and np.all(r["meas_err"] > 0)
    # measured against exact: each |z| below the two-sided 1 % family-wise bound, and no bias
    bound = norm.isf(0.005 / n)
    assert np.all(np.abs(r["z"]) < bound), r["z"]
    assert abs(r["z"].mean()) < 4.0 / np.sqrt(n)
    # the loop's update is the mean-field law with the run's static energies and bound
    import xarray as xr

    hist = xr.load_dataset(tmp_path / "base" / "loop" / "history.nc")
    target = hist["gamma1_target"].values[-1]
    want = resonant_mean_field_rate(0.05, hist["gamma2"].values[-1], r["eps0"], 0.3)
    np.testing.assert_allclose(target, want, rtol=1e-12)
    # the loop ran fixed rates: its iterations have no resonance width
    it = xr.load_dataset(tmp_path / "base" / "loop" / "iter-0000.nc")
    assert "sim_n_proposals" in it and float(it["sim_n_proposals"]) == float(it["sim_n_events"])
    text = rm.meanfield_table(rows)
    assert "converged" in text or "max_iterations" in text or "running" in text
    assert rm.plot_meanfield(rows, tmp_path / "mf.png").stat().st_size > 0
    # a second call reuses the run on disk
    again = rm.meanfield_point(cfg, tmp_path / "base")
    np.testing.assert_array_equal(again["meas"], r["meas"])


def test_error_propagation_where_the_law_is_flat():
    cfg = simulator.Config.from_dict(TINY)
    from analysis.closure import dot_static_energies

    eps0 = dot_static_energies(cfg)
    w = 0.3
    # Gamma2 = |eps0| - w puts every dot with |eps0| > w at the law's maximum in Gamma2
    g2 = np.where(np.abs(eps0) > w, np.abs(eps0) - w, 0.01)
    err = np.full_like(g2, 1e-3)
    target = gamma1_from_gamma2(g2, cfg)
    sig = target_stderr(g2, err, target, cfg)
    assert np.all(sig > 0) and np.all(np.isfinite(sig))
    # and it matches a linear propagation away from the flat point
    g2b = g2 + 0.2
    tb = gamma1_from_gamma2(g2b, cfg)
    h = 1e-6
    slope = (gamma1_from_gamma2(g2b + h, cfg) - gamma1_from_gamma2(g2b - h, cfg)) / (2 * h)
    np.testing.assert_allclose(target_stderr(g2b, err, tb, cfg), np.abs(slope) * 1e-3, rtol=0.05)


@pytest.mark.parametrize("values,needle", [
    ({"dynamics.resonance_width": "none"}, "needs dynamics.resonance_width"),
    ({"lattice.levels": 2}, "lattice.levels = 1"),
    ({"dynamics.kind": "hop", "lattice.levels": 2}, "dynamics.kind = 'flip'"),
    ({"selfconsistent.mode": "homogeneous"}, "selfconsistent.mode = 'profile'"),
    ({"selfconsistent.disorder": "redraw"}, "disorder 'auto' or 'fixed'"),
])
def test_resonant_law_bad_config(values, needle):
    with pytest.raises(simulator.ConfigError, match=needle):
        simulator.Config.from_dict(TINY).with_values(values)


def test_cli_bad_input_one_line(tmp_path):
    import tomli_w

    bad = dict(TINY, lattice={**TINY["lattice"], "levels": 2})
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(bad))
    p = subprocess.run([sys.executable, "-m", "dotkmc.cli", "selfconsistent", str(path), "-o", str(tmp_path / "o")],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "lattice.levels = 1" in p.stderr
    assert "Traceback" not in p.stderr and not (tmp_path / "o").exists()
    good = tmp_path / "good.toml"
    good.write_text(tomli_w.dumps(TINY))
    # the --critical study compares with Eq. 17 mean field, not with this law
    p = subprocess.run([sys.executable, "-m", "dotkmc.cli", "selfconsistent", str(good), "--critical",
                        "-o", str(tmp_path / "c")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "no --critical" in p.stderr
    p = subprocess.run([sys.executable, "-m", "analysis.studies.resonant_meanfield", "bath", str(good),
                        "--loop", str(tmp_path / "nowhere"), "-o", str(tmp_path / "b")],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "does not exist" in p.stderr
    plain = tmp_path / "plain.toml"
    plain.write_text(tomli_w.dumps(dict(TINY, selfconsistent={"mode": "profile"})))
    p = subprocess.run([sys.executable, "-m", "analysis.studies.resonant_meanfield", "meanfield", str(plain),
                        "-o", str(tmp_path / "m")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "equation = 'resonant'" in p.stderr


def test_bath_study_end_to_end(tmp_path):
    from analysis.closure import run_loop

    chain = {"lattice": {"d": 1, "L": 8, "levels": 2, "boundary": "open"},
             "couplings": {"cutoff": 6.0},
             "dynamics": {"kind": "flip", "gamma1": 1e-2, "bath": {"side": "left", "width": 1, "gamma1": 0.1}},
             "run": {"probes": "all", "seed": 91, "tau": {"points": 10}, "trajectory": {"probes": 0},
                     "checkpoint_every": 0.0},
             "selfconsistent": {"mode": "profile", "delta_m": 5.0, "Xi": 0.5, "flips": 200.0, "max_iterations": 2}}
    sc = simulator.Config.from_dict(chain)
    hist = run_loop(sc, tmp_path / "loop")
    study = simulator.Config.from_dict({**chain, "sweep": {"dynamics.resonance_width": [0.5]}})
    res = rm.bath_study(study, tmp_path / "loop", tmp_path / "out")
    assert set(res["A"]) == {"none", 0.5} and set(res["B"]) == {"none", 0.5}
    # (A) runs at the loop's last profile, (B) at the configured bounds
    np.testing.assert_array_equal(res["A"][0.5]["bound"], hist["gamma1"].values[-1])
    np.testing.assert_array_equal(res["B"]["none"]["bound"], [0.1] + [1e-2] * 7)
    # fixed rates: every dot's measured rate is its bound (1 % family-wise); resonant: never above it
    bound = norm.isf(0.005 / 8)
    for case in "AB":
        p = res[case]["none"]
        assert np.all(np.abs(p["gamma1_measured"] - p["bound"]) < bound * p["gamma1_measured_err"])
        q = res[case][0.5]
        assert np.all(q["gamma1_measured"] < q["bound"] + bound * q["gamma1_measured_err"])
        assert np.median(q["gamma1_measured"] / q["bound"]) < 0.95
    assert "(A) bounds" in rm.bath_table(res) and rm.plot_bath(res, tmp_path / "b.png").stat().st_size > 0
    with pytest.raises(simulator.ConfigError, match="lattice.L"):
        rm.bath_study(study.with_values({"lattice.L": 9}), tmp_path / "loop", tmp_path / "out2")
