"""Random dot positions against the hypercubic lattice: events/s and set-up time (docs/model.md §1).

Run:  python tests/benchmarks/bench_random.py [events] [setup]   (default both)

``events``: a 3D random run (density 1) and the hypercubic lattice of the same
size, the same cutoff, probes and rates, measured in the same process, one
thread, alternating A/B/A/B so that load from other processes on a shared
machine falls on both; the target is a random run within a factor 2 of the
lattice. ``setup``: the model of 10^6 random dots in 3D with 64 probes at a few
cutoffs -- positions, k-d tree and probe rows -- and the full Simulation set-up.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import simulator as S  # noqa: E402
from simulator.engine import Simulation  # noqa: E402
from simulator.model import build_model, random_positions  # noqa: E402

BASE = {"lattice": {"d": 3, "L": 40, "levels": 4}, "couplings": {"cutoff": 6.0},
        "dynamics": {"gamma1": 1e-3}, "run": {"t_max": 5e3, "probes": 64, "seed": 3, "checkpoint_every": 0.0,
                                              "trajectory": {"probes": 0}}}


def _with(raw: dict, **lattice) -> dict:
    return {**raw, "lattice": {**raw["lattice"], **lattice}}


def measure(raw: dict) -> dict:
    cfg = S.load_config(raw)
    t0 = time.perf_counter()
    sim = Simulation(cfg, threads=1)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    while not sim.finished:
        sim.step()
    wall = time.perf_counter() - t0
    return {"kind": cfg["lattice"]["kind"], "dots": sim.model.n_dots, "events": sim.n_events,
            "seconds": round(wall, 3), "events_per_s": sim.n_events / wall, "setup_s": round(setup, 2),
            "neighbours_per_probe": float(np.diff(sim.model.coupling_rows().ptr).mean())}


def events(repeats: int = 2) -> None:
    measure(_with(BASE, L=8))                                  # numba compile (cached)
    measure(_with(BASE, L=8, kind="random"))
    rates = {"hypercubic": [], "random": []}
    for _ in range(repeats):
        for kind in ("hypercubic", "random"):
            r = measure(_with(BASE, kind=kind))
            rates[kind].append(r["events_per_s"])
            print(json.dumps(r), flush=True)
    ratio = np.mean(rates["hypercubic"]) / np.mean(rates["random"])
    print(json.dumps({"lattice_over_random_events_per_s": round(float(ratio), 3), "target": "< 2"}), flush=True)


def setup(n_side: int = 100) -> None:
    for rc in (4.0, 8.0, 12.0):
        raw = _with({**BASE, "couplings": {"cutoff": rc, "form": "dipolar"}}, L=n_side, kind="random")
        cfg = S.load_config(raw)
        t0 = time.perf_counter()
        pos = random_positions(cfg)
        t1 = time.perf_counter()
        m = build_model(cfg)
        rows = m.coupling_rows()
        t2 = time.perf_counter()
        Simulation(cfg, threads=1)   # the whole set-up: model, tables, state
        t3 = time.perf_counter()
        print(json.dumps({"dots": pos.shape[0], "cutoff": rc, "probes": int(m.probes.size),
                          "neighbours_per_probe": float(np.diff(rows.ptr).mean()),
                          "positions_s": round(t1 - t0, 2), "model_and_rows_s": round(t2 - t1, 2),
                          "simulation_setup_s": round(t3 - t2, 2)}), flush=True)


def main(argv: list[str]) -> None:
    what = argv or ["events", "setup"]
    if "events" in what:
        events()
    if "setup" in what:
        setup()


if __name__ == "__main__":
    main(sys.argv[1:])
