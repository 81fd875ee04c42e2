"""Events-per-second benchmarks of the kinetic Monte Carlo (targets and results: docs/performance.md).

Run:  python tests/benchmarks/bench_events.py [case ...]   (cases: a b c, default all)

Every case is measured with one thread (one core) and with two (both cores of
the reference machine); results are bit-identical, only the speed differs.

Each case builds the model, runs a short warm-up (numba compile, cached), then
times ``Simulation.step`` over the whole run on one core and reports
events/s, the set-up time, and the process's peak resident memory.
Also run: ``cutoff`` -- case (a) with cutoff 6, 12, 24 to show that the cost per
event does not grow with the cutoff when probes are few.
"""
from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np

import simulator as S
from simulator.engine import Simulation

CASES = {
    # 1D, M = 4, cutoff 12, constant Gamma1, 64 probes
    "a": {"lattice": {"d": 1, "L": 262144, "levels": 4}, "couplings": {"cutoff": 12},
          "dynamics": {"gamma1": 1e-3}, "run": {"t_max": 5e4, "probes": 64, "trajectory": {"probes": 0}}},
    # same model, every level a probe
    "b": {"lattice": {"d": 1, "L": 16384, "levels": 4}, "couplings": {"cutoff": 12},
          "dynamics": {"gamma1": 1e-3}, "run": {"t_max": 3e5, "probes": "all", "trajectory": {"probes": 0}}},
    # 3D, L = 100, cutoff 8, 1000 probes
    "c": {"lattice": {"d": 3, "L": 100, "levels": 4}, "couplings": {"cutoff": 8},
          "dynamics": {"gamma1": 1e-3}, "run": {"t_max": 1.5e4, "probes": 1000, "trajectory": {"probes": 0}}},
}


def measure(raw: dict, threads: int = 1) -> dict:
    cfg = S.load_config(raw)
    t0 = time.perf_counter()
    sim = Simulation(cfg, threads=threads)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    while not sim.finished:
        sim.step()
    wall = time.perf_counter() - t0
    ev = sim.n_events
    return {"threads": sim.threads, "events": ev, "seconds": round(wall, 3), "events_per_s": ev / wall,
            "setup_s": round(setup, 2),
            "probes": sim.P, "levels": sim.model.n_levels, "cutoff": sim.model.cutoff,
            "neighbours_per_probe": float(np.diff(sim.model.coupling_rows().ptr).mean()),
            "t0_spacing": sim.resolved["t0_spacing"],
            "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def warmup():
    S.run({"lattice": {"L": 16, "levels": 2}, "run": {"t_max": 1e4, "probes": 2}}, progress=False)
    S.run({"lattice": {"L": 16, "levels": 2}, "dynamics": {"kind": "hop"}, "run": {"t_max": 1e4, "probes": 2}},
          progress=False)


def main(argv):
    cases = argv or ["a", "b", "c"]
    warmup()
    for name in cases:
        if name == "cutoff":
            for rc in (6, 12, 24):
                raw = {**CASES["a"], "couplings": {"cutoff": rc}}
                print(json.dumps({"case": f"a/cutoff={rc}", **measure(raw)}), flush=True)
            continue
        for threads in (1, 2):
            print(json.dumps({"case": name, **measure(CASES[name], threads)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
