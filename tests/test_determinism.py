"""One seed, one bit-identical result: however chunked, checkpointed, killed and resumed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import simulator as S
from long_run import long_run_config
from simulator.dataset import NONDETERMINISTIC_ATTRS, to_dataset
from simulator.engine import Simulation, drive

SMALL = {"lattice": {"d": 2, "L": 6, "levels": 3}, "couplings": {"cutoff": 2.5},
         "dynamics": {"gamma1": 0.02},
         "run": {"t_max": 3000.0, "probes": 6, "seed": 99, "tau": {"min": 0.5, "max": 300.0, "points": 10},
                 "trajectory": {"probes": 2, "dt": 5.0}}}




def assert_identical(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    for name in a.coords:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    strip = lambda d: {k: v for k, v in d.items() if k not in NONDETERMINISTIC_ATTRS}  # noqa: E731
    assert strip(a.attrs) == strip(b.attrs)


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_same_seed_same_file(tmp_path, kind):
    cfg = S.load_config(SMALL, [f"dynamics.kind={kind}"])
    S.run(cfg, tmp_path / "a.nc", progress=False)
    S.run(cfg, tmp_path / "b.nc", progress=False)
    assert_identical(xr.load_dataset(tmp_path / "a.nc"), xr.load_dataset(tmp_path / "b.nc"))


def test_different_seed_differs():
    a = S.run(S.load_config(SMALL), progress=False)
    b = S.run(S.load_config(SMALL, ["run.seed=100"]), progress=False)
    assert not np.array_equal(a["echo"].values, b["echo"].values)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_chunking_does_not_change_result(kind):
    cfg = S.load_config(SMALL, [f"dynamics.kind={kind}"])
    results = []
    for chunk in (None, 7.3, 61.0, 1e9):
        sim = Simulation(cfg, chunk_time=chunk)
        drive(sim, progress=False, checkpoint_every=0)
        results.append(to_dataset(sim))
    for r in results[1:]:
        assert_identical(results[0], r)


def test_checkpoint_resume_api(tmp_path):
    """Stop after k chunks (as a kill would), resume from the checkpoint, compare."""
    cfg = S.load_config(SMALL)
    ref = S.run(cfg, progress=False, chunk_time=40.0)
    for k in (1, 5, 17):
        ck = tmp_path / f"k{k}.ckpt"
        sim = Simulation(cfg, chunk_time=40.0)
        drive(sim, checkpoint=ck, progress=False, checkpoint_every=0, stop_after_chunks=k)
        assert ck.exists() and not sim.finished
        del sim
        out = S.resume(ck, output=tmp_path / f"k{k}.nc", progress=False)
        assert_identical(ref, out)
        assert not ck.exists()  # removed once the run completed


@pytest.mark.slow
def test_sigkill_and_resume_cli(tmp_path):
    """A real `dotkmc run` killed with SIGKILL mid-run, then `dotkmc resume`."""
    cfg = long_run_config(tmp_path / "long.toml", t_max=40000.0, checkpoint_every=0.0001)
    out = tmp_path / "long.nc"
    ck = Path(str(out) + ".ckpt")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "dotkmc.cli", "run", str(cfg), "-o", str(out), "--no-plot", "-q"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not ck.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert killed, "the run finished before it could be killed; make the test config longer"
    assert ck.exists() and not out.exists()
    res = subprocess.run([sys.executable, "-m", "dotkmc.cli", "resume", str(ck), "-q"], env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    resumed = xr.load_dataset(out)
    assert resumed.attrs["finished"] == 1
    full = S.run(S.load_config(cfg), progress=False)
    assert_identical(full, resumed)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["flip", "hop"])
@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_thread_blocks_do_not_change_result(kind, boundary):
    """Blocks of dots advanced in parallel (halo dots re-simulated from a snapshot)
    give the serial result bit for bit, for any number of blocks."""
    cfg = S.load_config(SMALL, [f"dynamics.kind={kind}", f"lattice.boundary={boundary}", "run.probes=20"])
    results = []
    for threads in (1, 2, 3, 7):
        sim = Simulation(cfg, chunk_time=100.0, threads=threads)
        drive(sim, progress=False, checkpoint_every=0)
        results.append(to_dataset(sim))
    for r in results[1:]:
        assert_identical(results[0], r)


@pytest.mark.slow
def test_ctrl_c_checkpoints_and_resumes(tmp_path):
    """SIGINT to a real `dotkmc run`: it finishes the chunk, writes a checkpoint,
    exits 130 with the resume command; resuming gives the uninterrupted result."""
    cfg = long_run_config(tmp_path / "long.toml", t_max=150000.0, checkpoint_every=0.2)
    out = tmp_path / "long.nc"
    ck = Path(str(out) + ".ckpt")
    proc = subprocess.Popen([sys.executable, "-m", "dotkmc.cli", "run", str(cfg), "-o", str(out), "--no-plot", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120     # the first periodic checkpoint: the run is in its chunk loop
    while not ck.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "dotkmc resume" in err and ck.exists() and not out.exists()
    res = subprocess.run([sys.executable, "-m", "dotkmc.cli", "resume", str(ck), "-q"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert_identical(S.run(S.load_config(cfg), progress=False), xr.load_dataset(out))
