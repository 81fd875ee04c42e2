"""The resonant studies of docs/resonant.md sections 5 and 7
(analysis/studies/resonant_freezing.py), end to end on tiny runs (seconds).

Fixed seeds; tolerances from the runs' own batch-means errors.
"""
import numpy as np
import pytest
import xarray as xr

import simulator as S
from analysis.resonant_exact import model_mean_rate
from analysis.studies import resonant_freezing as RF


def _config(w, *, seed=31, static_width=1.0, t_max=4e3):
    return S.load_config({
        "lattice": {"d": 1, "L": 12, "levels": 2, "boundary": "periodic"},
        "couplings": {"cutoff": 2.0, "static_width": static_width},
        "dynamics": {"kind": "flip", "gamma1": 0.2, "resonance_width": w},
        "run": {"t_max": t_max, "seed": seed, "probes": 10, "tau": {"min": 0.5, "max": 50.0, "points": 6},
                "trajectory": {"probes": 0}, "checkpoint_every": 0.0, "batches": 16},
    })


@pytest.fixture(scope="module")
def resonant_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("rf") / "res.nc"
    ds = S.run(_config(0.4), path, progress=False, threads=1)
    return path, ds


def test_freezing_row_against_exact_mean_rate(resonant_run):
    _, ds = resonant_run
    row = RF.member_row({}, ds)
    model = S.model_from_dataset(ds)
    # the table's exact column is the probe mean of model_mean_rate / Gamma1, computed here independently
    exact = np.array([model_mean_rate(model, int(l), 0.4) for l in ds["probe_index"].values]) / 0.2
    assert row["exact"] == pytest.approx(exact.mean(), rel=1e-12)
    assert 0.05 < row["exact"] < 0.95      # the resonance really thins the rate
    # measured mean rate against the exact mean: within 4 of its own errors
    meas = ds["gamma1_measured"].values / 0.2
    err = np.sqrt(np.sum(ds["gamma1_measured_stderr"].values ** 2)) / 0.2 / meas.size
    assert row["rate"] == pytest.approx(meas.mean(), rel=1e-12)
    assert row["rate_err"] == pytest.approx(err, rel=1e-12)
    assert abs(row["z"]) < 4.0
    assert row["zmax"] < 4.5                # 10 probes: a two-sided Bonferroni bound near 1 %
    assert row["acceptance"] == pytest.approx(float(ds["n_events"]) / float(ds["n_proposals"]))
    assert 0.0 < row["acceptance"] < 1.0
    assert row["cv"] > 0.8                  # resonant transitions are never more regular than Poisson here
    assert row["w"] == 0.4 and row["W"] == 1.0
    table = RF.format_freezing_table([row | {"gamma2_fixed": np.nan, "gamma2_fixed_err": np.nan}])
    assert len(table.splitlines()) == 2


def test_fixed_rate_member_has_unit_rate(tmp_path):
    ds = S.run(_config("none", seed=32), None, progress=False, threads=1)
    row = RF.member_row({}, ds)
    assert row["exact"] == 1.0 and not np.isfinite(row["w"]) and row["s"] == 0.0
    assert abs(row["z"]) < 4.0
    assert row["acceptance"] == 1.0


def test_heterogeneity_companions(resonant_run, tmp_path):
    path, ds = resonant_run
    res, fixed, fixed_cv = RF.run_fixed_companions(path, log=lambda s: None)
    g1 = float(np.mean(ds["gamma1_measured"].values))
    # the companions are the same sample (couplings, static energies, probes) at the matched fixed rate
    for comp, width in ((fixed, "none"), (fixed_cv, 1e12)):
        cfg = S.model_from_dataset(comp).config
        assert cfg["dynamics"]["gamma1"] == g1
        assert cfg["dynamics"]["resonance_width"] == width
        np.testing.assert_array_equal(comp["probe_index"].values, ds["probe_index"].values)
        np.testing.assert_array_equal(comp["static_energy"].values, ds["static_energy"].values)
        # measured rates of fixed rates: Gamma1 within 4 errors of the probe mean
        m = comp["gamma1_measured"].values
        e = np.sqrt(np.sum(comp["gamma1_measured_stderr"].values ** 2)) / m.size
        assert abs(m.mean() - g1) < 4 * e
    assert np.isnan(fixed["waiting_time_cv"].values).all()
    assert np.isfinite(fixed_cv["waiting_time_cv"].values).all()
    # a second call finds the companions on disk (same configuration) and does not rerun them
    again = RF.run_fixed_companions(path, log=lambda s: pytest.fail("companion rerun: " + s))
    xr.testing.assert_identical(again[1], fixed)
    h = RF.heterogeneity(res, fixed, fixed_cv)
    assert h["fixed"]["rate"]["median"] == pytest.approx(g1, rel=0.5)
    assert h["resonant"]["probes"] == 10
    assert h["resonant"]["exact_mean"] == pytest.approx(float(np.mean(h["resonant"]["exact_rates"])))
    # the resonant rates spread over the levels far more than Poisson noise around one rate
    assert h["resonant"]["rate"]["iqr"] > h["fixed"]["rate"]["iqr"]
    assert "resonant" in RF.format_heterogeneity(h)
    png = RF.plot_heterogeneity(res, fixed, fixed_cv, tmp_path / "h.png")
    assert png.stat().st_size > 0


def test_cli_bad_file(tmp_path, capsys):
    bad = tmp_path / "missing.nc"
    assert RF.main(["freezing", str(bad), "--figures", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("resonant_freezing: error:") and "missing.nc" in err[0]
