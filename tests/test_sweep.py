"""Sweeps (docs/sweeps.md): expansion and seeds, dask == serial, worker loss,
restarts, failing members, the combined layout and the CLI entry point."""
from __future__ import annotations

import argparse
import os
import signal
import threading
import time

import numpy as np
import pytest
import xarray as xr

import simulator as S
from simulator import sweep as SW
from simulator import sweep_cli

BASE = {
    "lattice": {"L": 16, "levels": 2},
    "run": {"t_max": 2000.0, "probes": 4, "seed": 7, "trajectory": {"probes": 1}},
}


def make_config(sweep: dict, **tables) -> S.Config:
    raw = {k: dict(v) for k, v in BASE.items()}
    raw["run"] = {**BASE["run"], **tables.pop("run", {})}
    raw.update(tables)
    raw["sweep"] = sweep
    return S.load_config(raw)


SMALL = {"dynamics.gamma1": [1e-2, 1e-3], "couplings.amplitude": ["gauss", "pm1"], "realizations": 2}


def without_wall(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    ds.attrs.pop("wall_time", None)
    return ds


def assert_same(a: xr.Dataset, b: xr.Dataset) -> None:
    """Bit-identical data, coordinates and attributes, wall_time aside."""
    xr.testing.assert_identical(without_wall(a), without_wall(b))
    for name in a.variables:
        va, vb = a[name].values, b[name].values
        if va.dtype.kind == "f":
            assert np.array_equal(va.view(np.uint64), vb.view(np.uint64)), name


# ---------------------------------------------------------------------------
def test_expand_order_seeds_and_configs():
    cfg = make_config(SMALL)
    members = SW.expand(cfg)
    assert len(members) == 2 * 2 * 2
    assert [m.index for m in members] == [(i, j, r) for i in range(2) for j in range(2) for r in range(2)]
    assert [m.flat for m in members] == list(range(8))
    assert members[5].values == {"dynamics.gamma1": 1e-3, "couplings.amplitude": "gauss"}
    assert members[5].realization == 1 and members[5].label == "1-0-1"
    seeds = [m.seed for m in members]
    assert len(set(seeds)) == len(seeds) and all(0 <= s < 2**63 for s in seeds)
    # documented scheme, reproducible, and independent of the sweep's size
    for i, m in enumerate(members):
        child = np.random.SeedSequence(7, spawn_key=(i,))
        assert m.seed == int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))
    assert [m.seed for m in SW.expand(make_config(SMALL))] == seeds
    assert SW.expand(make_config(SMALL, run={"seed": 8}))[0].seed != seeds[0]
    # member configs: swept values and seed set, no [sweep] table, re-loadable alone
    m = members[6]
    assert m.config.get("dynamics.gamma1") == 1e-3 and m.config.get("couplings.amplitude") == "pm1"
    assert m.config.get("run.seed") == m.seed and m.config.sweep == {}
    assert S.load_config(__import__("tomllib").loads(m.config.to_toml())) == m.config


def test_expand_without_sweep_and_bad_members():
    (only,) = SW.expand(S.load_config(BASE))
    assert only.index == (0,) and only.values == {}
    with pytest.raises(S.ConfigError, match="realizations"):
        SW.expand(make_config({"run.seed": [1, 2]}))
    # a member whose configuration is invalid is refused before anything runs
    with pytest.raises(S.ConfigError, match=r"sweep member 1-0 \(lattice.levels=1\).*filling"):
        SW.expand(make_config({"lattice.levels": [2, 1]}, dynamics={"kind": "hop"}))


def test_serial_sweep_members_and_layout(tmp_path):
    cfg = make_config(SMALL)
    out = tmp_path / "small.nc"
    ds = SW.run_sweep(cfg, out, workers=0, progress=False)
    assert out.exists()
    files = sorted(p.name for p in SW.members_dir(out).iterdir())
    assert files == [f"member-{i}-{j}-{r}.nc" for i in range(2) for j in range(2) for r in range(2)]
    assert ds.attrs["sweep_dims"] == "dynamics__gamma1 couplings__amplitude realization"
    assert ds["echo"].dims == ("dynamics__gamma1", "couplings__amplitude", "realization", "probe", "tau")
    assert list(ds["dynamics__gamma1"].values) == [1e-2, 1e-3]
    assert list(ds["couplings__amplitude"].values) == ["gauss", "pm1"]
    assert ds["tau_value"].dims == ("dynamics__gamma1", "couplings__amplitude", "realization", "tau")
    assert int(ds.attrs["failed"]) == 0 and not ds["member_failed"].any()
    assert S.load_config(__import__("tomllib").loads(ds.attrs["config"])).sweep == cfg.sweep
    members = SW.expand(cfg)
    assert [int(ds["member_seed"][m.index]) for m in members] == [m.seed for m in members]
    # every member of the combined file is its own run, and re-runs alone from its config
    on_disk = xr.load_dataset(out)
    assert_same(on_disk, ds)
    for m in members:
        own = xr.load_dataset(SW.member_path(out, m))
        assert_same(SW.member_dataset(on_disk, m.index), own)
    alone = S.run(members[3].config, progress=False)
    assert_same(SW.member_dataset(on_disk, members[3].index), alone)


def test_shape_changing_key_is_padded(tmp_path):
    cfg = make_config({"lattice.L": [8, 16], "run.probes": [2, 4]})
    ds = SW.run_sweep(cfg, tmp_path / "pad.nc", workers=0, progress=False)
    assert ds.sizes["dot"] == 16 and ds.sizes["probe"] == 4
    small = ds["gamma1"].isel(lattice__L=0, run__probes=0, realization=0).values
    assert np.all(np.isfinite(small[:8])) and np.all(np.isnan(small[8:]))
    assert ds["probe_dot"].attrs[SW._DTYPE_FLAG] == "int64"
    for m in SW.expand(cfg):
        assert_same(SW.member_dataset(ds, m.index),
                    xr.load_dataset(SW.member_path(tmp_path / "pad.nc", m)))


@pytest.mark.slow
def test_local_cluster_equals_serial(tmp_path):
    cfg = make_config(SMALL)
    serial = SW.run_sweep(cfg, tmp_path / "serial.nc", workers=0, progress=False)
    dask = SW.run_sweep(cfg, tmp_path / "dask.nc", workers=2, progress=False)
    assert_same(dask, serial)
    assert_same(xr.load_dataset(tmp_path / "dask.nc"), xr.load_dataset(tmp_path / "serial.nc"))


@pytest.mark.slow
def test_killed_worker_still_completes(tmp_path):
    from dask.distributed import Client, LocalCluster

    # members of ~1-2 s each; a worker is killed 0.3 s after it is seen processing
    # one, so a member is lost mid-run (not waiting for a result file: the client
    # may only write files after every task has already finished)
    cfg = make_config({"dynamics.gamma1": [1e-2, 0.8e-2], "realizations": 2},
                      run={"t_max": 4e7})
    serial = SW.run_sweep(cfg, tmp_path / "serial.nc", workers=0, progress=False)
    out = tmp_path / "killed.nc"
    killed = []

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        def busy_workers():
            return [w for w, keys in client.processing().items() if keys]

        def killer():
            deadline = time.monotonic() + 120
            try:
                while time.monotonic() < deadline and not killed:
                    busy = busy_workers()
                    if busy:
                        time.sleep(0.3)
                        if busy[0] in busy_workers():
                            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                            os.kill(pid, signal.SIGKILL)
                            killed.append(busy[0])
                            return
                    time.sleep(0.01)
            except Exception:   # the cluster is shutting down: nothing left to kill
                return

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        ds = SW.run_sweep(cfg, out, scheduler=cluster.scheduler_address, progress=False)
        thread.join(timeout=5)
    assert killed, "no worker was seen processing a member"
    assert int(ds.attrs["failed"]) == 0
    assert_same(ds, serial)


@pytest.mark.slow
def test_restart_recomputes_only_missing(tmp_path, monkeypatch):
    cfg = make_config(SMALL)
    out = tmp_path / "restart.nc"
    first = SW.run_sweep(cfg, out, workers=0, progress=False)
    members = SW.expand(cfg)
    paths = [SW.member_path(out, m) for m in members]
    mtimes = [p.stat().st_mtime_ns for p in paths]
    paths[3].unlink()
    paths[6].write_bytes(b"truncated by a crash")  # unreadable: recomputed
    calls = []
    real = SW.compute_member

    def counting(config_toml):
        calls.append(config_toml)
        return real(config_toml)

    monkeypatch.setattr(SW, "compute_member", counting)
    second = SW.run_sweep(cfg, out, workers=0, progress=False)
    assert calls == [members[3].config.to_toml(), members[6].config.to_toml()]
    for i, p in enumerate(paths):
        if i not in (3, 6):
            assert p.stat().st_mtime_ns == mtimes[i]
    assert_same(second, first)
    # nothing missing: nothing runs; a changed base config recomputes everything
    calls.clear()
    SW.run_sweep(cfg, out, workers=0, progress=False)
    assert calls == []
    SW.run_sweep(make_config(SMALL, run={"probes": 3}), out, workers=0, progress=False)
    assert len(calls) == len(members)


def test_failing_member_is_reported_and_others_complete(tmp_path, capsys):
    # 64 probes on a 32-level lattice: valid schema, refused by build_model at run time
    cfg = make_config({"run.probes": [4, 64], "dynamics.gamma1": [1e-2, 1e-3]})
    out = tmp_path / "fail.nc"
    ds = SW.run_sweep(cfg, out, workers=0, progress=False)
    err = capsys.readouterr().err
    assert "member 1-0-0 (run.probes=64, dynamics.gamma1=0.01, realization=0) failed: ConfigError: " \
           "run.probes = 64 is not allowed" in err
    assert "member 1-1-0 (run.probes=64, dynamics.gamma1=0.001" in err
    assert int(ds.attrs["failed"]) == 2
    assert ds["member_failed"].values[:, :, 0].tolist() == [[0, 0], [1, 1]]
    assert "only 32 levels" in str(ds["member_error"].values[1, 0, 0])
    assert ds["member_error"].values[0, 0, 0] == ""
    assert np.isnan(ds["echo"].values[1]).all() and np.isfinite(ds["echo"].values[0, :, 0, :, 0]).all()
    assert out.exists() and len(list(SW.members_dir(out).glob("*.nc"))) == 2
    err_file = SW.members_dir(out) / "member-1-0-0.err"
    assert "run.probes=64" in err_file.read_text() and "Traceback" in err_file.read_text()
    with pytest.raises(ValueError, match="failed"):
        SW.member_dataset(ds, (1, 0, 0))
    # the CLI exits non-zero at the end, after writing the combined file
    toml = tmp_path / "fail.toml"
    toml.write_text(cfg.to_toml())
    parser = argparse.ArgumentParser(prog="dotkmc")
    sweep_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sweep", str(toml), "-o", str(tmp_path / "cli.nc"), "--workers", "0", "-q"])
    assert args.func(args) == 1
    assert (tmp_path / "cli.nc").exists()


def test_cli_parser(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="dotkmc")
    sweep_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sweep", "runs/x.toml"])
    assert args.workers is None and args.scheduler is None and args.func is sweep_cli.run
    assert sweep_cli.default_output(args.config).as_posix() == "results/x.nc"
    for bad in (["sweep", "c.toml", "--workers", "2", "--scheduler", "tcp://h:8786"],
                ["sweep", "c.toml", "--workers", "-1"]):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(bad)
        assert exc.value.code == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["sweep", "--help"])
    assert "--scheduler ADDRESS" in capsys.readouterr().out
    toml = tmp_path / "ok.toml"
    toml.write_text(make_config({"dynamics.gamma1": [1e-2]}).to_toml())
    args = parser.parse_args(["sweep", str(toml), "-o", str(tmp_path / "ok.nc"), "--workers", "0", "-q",
                              "--set", "sweep.realizations=2"])
    assert args.func(args) == 0
    assert xr.load_dataset(tmp_path / "ok.nc").sizes["realization"] == 2
    args = parser.parse_args(["sweep", str(toml), "--set", "sweep.nosuch.key=[1]", "--workers", "0"])
    with pytest.raises(S.ConfigError, match="nosuch"):
        args.func(args)
