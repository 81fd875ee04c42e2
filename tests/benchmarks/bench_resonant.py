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

Rates are given per second of wall time (``proposals_per_s``) and per second of
this thread's CPU time (``proposals_per_cpu_s``): on a shared machine the second
leaves out the time the process waited for a core (not what other processes do
to the shared caches). ``neighbours`` is the mean number of levels an accepted
event updates, ``ns_per_proposal`` and ``ns_per_accepted`` the CPU time per
proposal and per accepted event (all of ``advance`` divided by the accepted
events, rejected proposals included), so the cases show how the cost grows with
the neighbours (the cutoff, and d at a fixed cutoff).

The same lattice (same seed) is then run with fixed rates (``resonance_width``
= "none"), whose dot pass draws as many events as the resonant kernel draws
proposals: ``fixed_events_per_cpu_s`` and ``fixed_over_resonant`` (its events/s over
the resonant proposals/s, both CPU time) put the two engines side by side.
"""
from __future__ import annotations

import copy
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


def _g3(x: float) -> float:
    return float(f"{x:.3g}")


def _run(raw: dict) -> tuple[Simulation, float, float, float, float]:
    """Run a configuration through the engine, timing the dynamics' advance apart:
    (simulation, advance wall s, advance CPU s, total wall s, setup wall s)."""
    cfg = S.load_config(raw)
    t0 = time.perf_counter()
    sim = Simulation(cfg, threads=1)
    setup = time.perf_counter() - t0
    dyn = sim.dynamics
    advance = dyn.advance
    spent = [0.0, 0.0]

    def timed(grid, bins):
        a, c = time.perf_counter(), time.thread_time()
        out = advance(grid, bins)
        spent[0] += time.perf_counter() - a
        spent[1] += time.thread_time() - c
        return out

    dyn.advance = timed            # type: ignore[method-assign]
    t0 = time.perf_counter()
    while not sim.finished:
        sim.step()
    return sim, spent[0], spent[1], time.perf_counter() - t0, setup


def measure(raw: dict, fixed: bool = True) -> dict:
    """Run a case through the engine (and, with ``fixed``, the same lattice with fixed rates)."""
    sim, wall_adv, cpu_adv, wall, setup = _run(raw)
    dyn = sim.dynamics
    prop, acc = int(dyn.n_proposals()), int(sim.n_events)
    m = sim.model
    tb = dyn.tables
    out = {"d": m.d, "L": m.L, "levels": m.n_levels, "cutoff": m.cutoff,
           "neighbours": round(float(tb.ptr[-1]) / m.n_levels, 1), "proposals": prop, "accepted": acc,
           "acceptance": round(acc / prop, 3), "advance_s": round(wall_adv, 2), "advance_cpu_s": round(cpu_adv, 2),
           "proposals_per_s": _g3(prop / wall_adv), "accepted_per_s": _g3(acc / wall_adv),
           "proposals_per_cpu_s": _g3(prop / cpu_adv), "ns_per_proposal": round(1e9 * cpu_adv / prop, 1),
           "ns_per_accepted": round(1e9 * cpu_adv / max(acc, 1), 1),
           "estimator_s": round(wall - wall_adv, 2), "setup_s": round(setup, 2)}
    if fixed:
        raw_f = copy.deepcopy(raw)
        raw_f["dynamics"]["resonance_width"] = "none"
        sim_f, wall_f, cpu_f, _, _ = _run(raw_f)
        ev = int(sim_f.n_events)
        out.update({"fixed_events": ev, "fixed_events_per_s": _g3(ev / wall_f),
                    "fixed_events_per_cpu_s": _g3(ev / cpu_f),
                    "fixed_over_resonant": round((ev / cpu_f) / (prop / cpu_adv), 2)})
    return out


def main(argv: list[str]) -> None:
    numba.set_num_threads(1)   # one core (the reconstruction pass is parallel otherwise)
    names = argv or list(CASES)
    # warm-up: compile (or load from the cache) every kernel on a tiny case
    measure(_raw(1, 64, 2.0, 2e4))   # both engines
    for name in names:
        print(json.dumps({"case": name, **measure(CASES[name])}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
