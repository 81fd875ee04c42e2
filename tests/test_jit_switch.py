"""DOTKMC_DISABLE_JIT=1 runs every kernel as plain Python (simulator/jit.py) and
gives the same numbers, bit for bit, as the compiled kernels."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import simulator as S

ROOT = Path(__file__).resolve().parents[1]
# tiny: pure-Python kernels are about a thousand times slower
CONFIG = {"lattice": {"d": 1, "L": 6, "levels": 2}, "couplings": {"cutoff": 2.0},
          "dynamics": {"gamma1": 0.05},
          "run": {"t_max": 300.0, "probes": 3, "seed": 5, "batches": 4, "checkpoint_every": 0.0,
                  "tau": {"min": 1.0, "max": 60.0, "points": 4, "t0_spacing": 5.0},
                  "trajectory": {"probes": 1, "dt": 20.0}}}
ARRAYS = ("echo", "echo_stderr", "ramsey", "ramsey_imag", "n_windows", "energy", "events_per_dot")

SCRIPT = f"""
import hashlib, json, sys
import numpy as np
import simulator as S
import simulator.jit as J
assert J.DISABLED
ds = S.run({CONFIG!r}, progress=False, threads=2)
print(json.dumps({{k: hashlib.sha256(np.ascontiguousarray(ds[k].values).tobytes()).hexdigest()
                  for k in {ARRAYS!r}}}))
"""


def test_disabled_jit_gives_the_same_numbers():
    ds = S.run(CONFIG, progress=False)
    want = {k: hashlib.sha256(np.ascontiguousarray(ds[k].values).tobytes()).hexdigest() for k in ARRAYS}
    assert int(ds["n_events"]) > 0
    env = {**os.environ, "DOTKMC_DISABLE_JIT": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == want


# the resonant kernel (simulator/resonant.py), flip and hop: its cache hints
# (simulator.jit.prefetch) and unsigned indices must mean nothing without the JIT
RESONANT = {
    kind: {"lattice": {"d": 1, "L": 6, "levels": M}, "couplings": {"cutoff": 2.0, "static_width": 1.0},
           "dynamics": {"kind": kind, "gamma1": 0.05, "resonance_width": 0.5, **extra},
           "run": {"t_max": 300.0, "probes": 3, "seed": 5, "batches": 4, "checkpoint_every": 0.0,
                   "tau": {"min": 1.0, "max": 60.0, "points": 4, "t0_spacing": 5.0}, "trajectory": {"probes": 0}}}
    for kind, M, extra in (("flip", 2, {}), ("hop", 3, {"filling": 1.0 / 3}))}

RESONANT_SCRIPT = f"""
import hashlib, json
import numpy as np
import simulator as S
import simulator.jit as J
from simulator.engine import Simulation
assert J.DISABLED
out = {{}}
for kind, cfg in {RESONANT!r}.items():
    sim = Simulation(S.load_config(cfg))
    while not sim.finished:
        sim.step()
    out[kind] = {{k: hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()
                 for k, v in sim.state_arrays().items()}}
print(json.dumps(out))
"""


def test_disabled_jit_gives_the_same_resonant_run():
    from simulator.engine import Simulation

    want = {}
    for kind, cfg in RESONANT.items():
        sim = Simulation(S.load_config(cfg))
        while not sim.finished:
            sim.step()
        assert sim.n_events > 0 and sim.dynamics.n_proposals() > sim.n_events   # some proposals rejected
        want[kind] = {k: hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()
                      for k, v in sim.state_arrays().items()}
    env = {**os.environ, "DOTKMC_DISABLE_JIT": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", RESONANT_SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == want
