"""The spectral-diffusion studies of docs/spectral-diffusion.md §5 and §7
(analysis/studies/spectral.py), end to end on a tiny random dipolar run (seconds).

Fixed seeds; tolerances from the estimators' own errors.
"""
import math

import numpy as np
import pytest

import simulator as S
from analysis.exact.telegraph import flip_echo, flip_ramsey
from analysis.spectral_exact import static_dipolar_rate
from analysis.studies import spectral as SP


def _config(seed=7301, probes=32, gamma1=0.01, tau=None):
    return S.load_config({
        "lattice": {"d": 3, "L": 8, "levels": 1, "boundary": "periodic", "kind": "random", "density": 0.5},
        "couplings": {"gamma": 1.0, "form": "dipolar", "amplitude": "gauss", "cutoff": 3.5},
        "dynamics": {"kind": "flip", "gamma1": gamma1},
        "run": {"t_max": "auto", "flips": 300.0, "seed": seed, "probes": probes,
                "tau": tau or {"min": 0.005, "max": 8.0, "points": 20},
                "lineshape": {"points": 161, "omega_max": 8.0, "tail": 0.01},
                "trajectory": {"probes": 0}, "checkpoint_every": 0.0},
    })


@pytest.fixture(scope="module")
def tiny_run():
    return S.run(_config(), None, progress=False, threads=1)


def test_box_ensemble_against_probe_products():
    """The fixed-number box form against the probe average of exact per-probe products over
    independent boxes (no simulation); a density 15 % off is rejected."""
    tau = np.array([0.3, 0.8, 2.0])
    means = {"ramsey": [], "echo": []}
    for seed in range(8):
        model = S.build_model(_config(seed=100 + seed, probes="all"))
        rows = [model.probe_couplings(p) for p in range(model.probes.size)]
        means["ramsey"].append(np.mean([flip_ramsey(tau, r["U"], r["gamma1"], r["gamma1_self"]) for r in rows], 0))
        means["echo"].append(np.mean([flip_echo(tau, r["U"], r["gamma1"], r["gamma1_self"]) for r in rows], 0))
    N = model.gamma1.size
    for kind in ("ramsey", "echo"):
        x = np.array(means[kind])
        m, err = x.mean(0), x.std(0, ddof=1) / math.sqrt(x.shape[0])
        box = np.exp(SP.box_log_signal(tau, model, kind, [(N - 1, 0.01)], 0.01))
        z = (m - box) / err
        assert np.all(np.abs(z) < 4.0), (kind, z)
        if kind == "ramsey":
            off = np.exp(SP.box_log_signal(tau, model, kind, [(int(1.15 * (N - 1)), 0.01)], 0.01))
            assert np.max(np.abs((m - off) / err)) > 4.0
            # the Poisson form is the box form up to (n I)^2 / (2 N) in the log
            poisson = SP.box_log_signal(tau, model, kind, [(N - 1, 0.01)], 0.01, poisson=True)
            assert np.all(np.abs(poisson - np.log(box)) <= (np.log(box) ** 2) / N + 1e-12)


def test_line_study_end_to_end(tiny_run):
    ds = tiny_run
    row = SP.line_row({}, [ds])
    gstar = static_dipolar_rate(0.5, 1.0, "gauss")
    assert row["gstar"] == pytest.approx(gstar)
    # measured probe mean against the exact per-probe mean: within 4 of the error bound that holds
    # for any correlation between probes, at every tau
    assert row["z_bound_max"] < 4.0
    # the exact box line through the simulator's rule is a Lorentzian close to Gamma* + Gamma1
    # (the tail cut at R ~ 0.05 widens it by a few per cent, docs/model.md §4)
    assert row["hw_box"] == pytest.approx(gstar + 0.01, rel=0.1)
    # the measured half-width agrees with the exact box line within 4 bootstrap errors (disorder)
    assert abs(row["hw"] - row["hw_box"]) < 4 * row["hw_err"]
    # the typical per-probe line is farther from a Lorentzian than the mean line of only 32 probes
    assert row["lor_probe_median"] > row["lor_mean"]
    assert len(SP.format_line_table([row]).splitlines()) == 3


def test_width_row_and_cli(tiny_run, tmp_path, capsys):
    ds = S.run(_config(seed=7302, gamma1=0.05, tau={"points": 16}), None, progress=False, threads=1)
    row = SP.width_row({}, ds)
    assert row["probes"] == 32 and row["kind"] == "random"
    # measured and exact median Gamma2 of the same probes differ by statistics only
    assert abs(row["median"] - row["exact_median"]) < 4 * row["median_err"]
    assert 0.0 <= row["outliers"] <= 1.0 and row["iqr"] > 0
    path = tmp_path / "tiny.nc"
    ds.to_netcdf(path)
    assert SP.main(["widths", str(path), "--figures", str(tmp_path / "fig"), "--tables", str(tmp_path)]) == 0
    assert (tmp_path / "widths.md").read_text().count("| random |") == 1
    assert (tmp_path / "fig" / "widths.png").exists()
    # the slow tiny run's echo does not decay inside its grid (static fluctuators refocus)
    tiny_run.to_netcdf(tmp_path / "slow.nc")
    for bad in (tmp_path / "missing.nc", tmp_path / "slow.nc"):
        capsys.readouterr()
        assert SP.main(["widths", str(bad), "--tables", str(tmp_path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("spectral: error:")
