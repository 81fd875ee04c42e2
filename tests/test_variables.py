"""The output variable registry (simulator/variables.py): every variable and
coordinate of a run, a sweep and a loop history carries CF units and long_name,
with the registered dims; files record Conventions and library versions; the
generated page docs/variables.md matches the registry."""
from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import simulator as S
from analysis.closure import Measurement, run_loop
from simulator import sweep as SW
from simulator import variables as V
from simulator.config import SCHEMA, Field

ROOT = Path(__file__).resolve().parents[1]
TINY = {"lattice": {"d": 1, "L": 8, "levels": 2}, "dynamics": {"gamma1": 1e-2},
        "run": {"t_max": 2000.0, "probes": 3, "seed": 3, "trajectory": {"probes": 1}}}


def assert_described(ds: xr.Dataset, spec_of, sweep_dims: tuple = ()) -> None:
    """Every variable and coordinate has non-empty units and long_name equal to
    the registry's, and the registered dims."""
    assert len(ds.variables) > 0
    for name, var in ds.variables.items():
        spec = spec_of(name)
        assert isinstance(var.attrs.get("units"), str) and var.attrs["units"], name
        assert isinstance(var.attrs.get("long_name"), str) and var.attrs["long_name"], name
        assert (var.attrs["units"], var.attrs["long_name"]) == (spec.units, spec.long_name), name
        assert var.dims == V.expand_dims(spec.dims, sweep_dims), name


def assert_provenance(attrs: dict) -> None:
    import netCDF4
    import numba
    import scipy

    assert attrs["Conventions"] == "CF-1.10"
    for key in V.VERSION_ATTRS:
        assert isinstance(attrs.get(key), str) and attrs[key], key
    # the recorded versions are those of the libraries actually in use
    assert attrs["version_numpy"] == np.__version__
    assert attrs["version_numba"] == numba.__version__
    assert attrs["version_xarray"] == xr.__version__
    assert attrs["version_netCDF4"] == netCDF4.__version__
    assert attrs["version_scipy"] == scipy.__version__
    assert attrs["version_python"] == platform.python_version()


@pytest.fixture(scope="module")
def run_file(tmp_path_factory) -> xr.Dataset:
    out = tmp_path_factory.mktemp("run") / "tiny.nc"
    S.run(S.load_config(TINY), out, progress=False)
    return xr.load_dataset(out)


def test_run_file_describes_itself(run_file):
    ds = run_file
    assert set(ds.variables) == set(V.RUN)   # everything written is registered, and vice versa
    assert set(ds.coords) == {n for n, v in V.RUN.items() if v.is_dimension_coordinate}
    assert_described(ds, V.RUN.__getitem__)
    assert_provenance(ds.attrs)
    assert ds.attrs["version"] == S.dataset.package_version()
    # attributes existing before the registry are kept
    for key in ("title", "config", "seed", "wall_time", "simulated_time", "finished", "units", "kind",
                "resolved_cutoff", "resolved_tau_min", "resolved_tau_max"):
        assert key in ds.attrs, key
    # spot checks of the unit convention: times, rates, counts
    assert ds["tau"].attrs["units"] == ds["time"].attrs["units"] == V.TIME == "couplings_gamma-1"
    assert ds["gamma2_echo"].attrs["units"] == ds["gamma1"].attrs["units"] == V.ENERGY == "couplings_gamma"
    assert ds["echo"].attrs["units"] == ds["n_events"].attrs["units"] == "1"


def test_unregistered_run_variable_is_refused(monkeypatch):
    # a copy without one entry (deleting from the registry itself would reorder it when restored)
    monkeypatch.setattr(V, "RUN", {k: v for k, v in V.RUN.items() if k != "ramsey_imag"})
    with pytest.raises(ValueError, match="ramsey_imag"):
        S.run(S.load_config(TINY), progress=False)
    with pytest.raises(KeyError, match="not in the registry"):
        V.run_variable("no_such_variable", np.zeros(3))


def test_annotate_refuses_unknown_names_and_wrong_dims():
    bad_name = xr.Dataset({"no_such_variable": (("iteration",), np.zeros(2))})
    with pytest.raises(ValueError, match="no_such_variable"):
        V.annotate(bad_name, V.HISTORY.__getitem__)
    bad_dims = xr.Dataset({"max_z": (("dot",), np.zeros(2))})
    with pytest.raises(ValueError, match="max_z.*registry says"):
        V.annotate(bad_dims, V.HISTORY.__getitem__)


def test_sweep_file_describes_itself(tmp_path):
    cfg = S.load_config({**TINY, "sweep": {"dynamics.gamma1": [1e-2, 2e-2]}})
    out = tmp_path / "sweep.nc"
    SW.run_sweep(cfg, out, workers=0, progress=False)
    ds = xr.load_dataset(out)
    sweep_dims = tuple(ds.attrs["sweep_dims"].split())
    assert sweep_dims == ("dynamics__gamma1", "realization")
    assert_described(ds, lambda n: V.sweep_spec(n, ["dynamics.gamma1"]), sweep_dims)
    assert_provenance(ds.attrs)
    assert ds["dynamics__gamma1"].attrs["units"] == "couplings_gamma"
    assert ds["tau_value"].attrs["units"] == "couplings_gamma-1"
    assert ds["resolved_tau_max"].attrs["units"] == "couplings_gamma-1"
    # per-member run attributes are variables; provenance stays a global attribute
    assert "resolved_cutoff" in ds.data_vars and "version_numpy" not in ds.data_vars
    # one member taken out is described like a run, with the run's tau attributes
    member = SW.member_dataset(ds, (1, 0))
    assert_described(member, V.RUN.__getitem__)
    assert_provenance(member.attrs)


def test_loop_history_describes_itself(tmp_path):
    def known(config, g1, k):   # Gamma2 = 4 Gamma1 log(1/(4 Gamma1)), the paper's Eq. (12) for d = 1
        g2 = 4 * g1 * np.log(1 / (4 * g1))
        return Measurement(g2, 1e-3 * g2)

    cfg = S.load_config({"lattice": {"d": 1, "L": 8, "levels": 2}, "dynamics": {"gamma1": 1e-3},
                         "selfconsistent": {"delta_m": 20.0, "Xi": 0.5, "max_iterations": 4}})
    run_loop(cfg, tmp_path, measure=known)
    ds = xr.load_dataset(tmp_path / "history.nc")
    assert set(ds.variables) == set(V.HISTORY)
    assert_described(ds, V.HISTORY.__getitem__)
    assert_provenance(ds.attrs)
    assert {"config", "status", "law"} <= set(ds.attrs)
    first = xr.load_dataset(tmp_path / "iter-0000.nc")          # each iteration's file too
    for name in first.data_vars:
        assert first[name].attrs.get("units") and first[name].attrs.get("long_name"), name
    assert_provenance(first.attrs)


def _schema_keys(table: dict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in table.items():
        keys += [prefix + k] if isinstance(v, Field) else _schema_keys(v, f"{prefix}{k}.")
    return keys


def test_config_units_cover_the_schema():
    assert sorted(V.CONFIG_UNITS) == sorted(_schema_keys(SCHEMA))
    spec = V.swept_key("run.tau.max")
    assert (spec.name, spec.dims, spec.units) == ("run__tau__max", ("run__tau__max",), "couplings_gamma-1")


def test_docs_page_is_up_to_date():
    page = (ROOT / "docs" / "variables.md").read_text()
    assert page == V.render_page(), \
        f"docs/variables.md is out of date with simulator/variables.py: regenerate it with `{V.COMMAND}`"
    for table in (V.RUN, V.SWEEP, V.MEMBER_ATTRS, V.HISTORY):
        for name in table:
            assert f"| `{name}` |" in page, name
