"""Proposals per second of the resonant kernel (simulator/resonant.py) on one core.

Run:  python tests/benchmarks/bench_resonant.py [case ...]   (default: all cases)

Cases (flip dynamics, M = 4, 64 probes, Gamma1 = 1e-3, static width 1, w = 1,
couplings gamma = 1, xi = 1):

* ``base``        1D, L = 4096 (16384 levels), cutoff 6 (51 neighbours per level)
* ``cutoff12``    the same with cutoff 12 (99 neighbours)
* ``d1, d2, d3``  4096 dots in d = 1, 2, 3 (L = 4096, 64, 16) at cutoff 2.5
  (5, 21, 81 dots in reach; d = 3 at cutoff 6 would need ~60 M table entries)

Each case runs through the engine (``Simulation`` with ``dynamics.resonance_width``
= 1, numba warmed up and cached) and reports proposals/s and accepted/s of the
dynamics' ``advance`` alone, and the rest of the wall time (estimators).
The kernel is serial (causal order), so one core is what it uses.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

# this checkout's packages first, not an installed dotkmc
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numba  # noqa: E402

import simulator as S  # noqa: E402
from simulator.engine import Simulation  # noqa: E402


def _raw(d, L, cutoff, t_max):
    return {"lattice": {"d": d, "L": L, "levels": 4},
            "couplings": {"cutoff": cutoff, "static_width": 1.0},
            "dynamics": {"kind": "flip", "gamma1": 1e-3, "resonance_width": W},
            "run": {"t_max": t_max, "probes": 64, "seed": 1, "trajectory": {"probes": 0},
                    "checkpoint_every": 0.0, "tau": {"min": 1.0, "max": 200.0, "points": 16}}}


W = 1.0
CASES = {
    "base": _raw(1, 4096, 6.0, 6e5),
    "cutoff12": _raw(1, 4096, 12.0, 6e5),
    "d1": _raw(1, 4096, 2.5, 6e5),
    "d2": _raw(2, 64, 2.5, 6e5),
    "d3": _raw(3, 16, 2.5, 6e5),
}


def measure(raw: dict) -> dict:
    """Run a case through the engine; time the dynamics' advance separately."""
    cfg = S.load_config(raw)
    t0 = time.perf_counter()
    sim = Simulation(cfg, threads=1)
    setup = time.perf_counter() - t0
    dyn = sim.dynamics
    advance = dyn.advance
    spent = [0.0]

    def timed(grid, bins):
        a = time.perf_counter()
        out = advance(grid, bins)
        spent[0] += time.perf_counter() - a
        return out

    dyn.advance = timed            # type: ignore[method-assign]
    t0 = time.perf_counter()
    while not sim.finished:
        sim.step()
    wall = time.perf_counter() - t0
    prop, acc = int(dyn.n_proposals()), int(sim.n_events)
    m = sim.model
    return {"d": m.d, "L": m.L, "levels": m.n_levels, "cutoff": m.cutoff, "proposals": prop, "accepted": acc,
            "acceptance": round(acc / prop, 3), "advance_s": round(spent[0], 2),
            "proposals_per_s": float(f"{prop / spent[0]:.3g}"), "accepted_per_s": float(f"{acc / spent[0]:.3g}"),
            "estimator_s": round(wall - spent[0], 2), "setup_s": round(setup, 2)}


def main(argv: list[str]) -> None:
    numba.set_num_threads(1)   # one core (the reconstruction pass is parallel otherwise)
    names = argv or list(CASES)
    # warm-up: compile (or load from the cache) every kernel on a tiny case
    measure(_raw(1, 64, 2.0, 2e4))
    for name in names:
        print(json.dumps({"case": name, **measure(CASES[name])}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
