"""The Gamma2-vs-Gamma1 scan analysis (docs/results.md): on small configs the table's
measured and exact columns agree."""
import numpy as np

import simulator as S
from analysis.studies.scan import fit_log_exponent, format_table, table_rows
from simulator.sweep import run_sweep

SWEEP = {"lattice": {"d": 1, "L": 24, "levels": 2},
         "run": {"t_max": "auto", "flips": 800.0, "probes": 8, "tau": {"points": 14}, "trajectory": {"probes": 1}},
         "sweep": {"dynamics.gamma1": [1e-2, 1e-3], "dynamics.kind": ["flip", "hop"], "realizations": 2}}


def test_table_measured_agrees_with_exact(tmp_path):
    ds = run_sweep(S.load_config(SWEEP), tmp_path / "s.nc", workers=0, progress=False)
    rows = table_rows(ds)
    assert len(rows) == 4
    for r in rows:
        assert r["realizations"] == 2 and r["probes"] == 16
        # the median of per-probe exact linewidths over the same probes, within 4 sigma of the measurement
        assert abs(r["measured"] - r["exact"]) < 4 * r["measured_err"], format_table(rows)
        assert r["measured_err"] > 0 and np.isfinite(r["rule_sum"]) and np.isfinite(r["eq12"])
    text = format_table(rows)
    assert "measured" in text and len(text.splitlines()) == 5


def test_log_exponent_fit_recovers_a_known_power():
    rows = [{"kind": "flip", "d": 2, "M": 2, "n_tr": 2, "gamma": 1.0, "gamma1": g,
             "measured": 2 * g * 1.7 * np.log(1 / (2 * g)) ** 2,
             "measured_err": 0.01 * 2 * g * np.log(1 / (2 * g)) ** 2}
            for g in np.geomspace(1e-7, 1e-2, 8)]
    p, err, n = fit_log_exponent(rows)[("flip", 2)]
    assert n == 8 and abs(p - 2) < 1e-8 + 4 * err
