"""Proposals per second of the resonant kernel (simulator/resonant.py) on one core.

Run:  python tests/benchmarks/bench_resonant.py [case ...]   (default: all cases)

Cases (flip dynamics, M = 4, 64 probes, Gamma1 = 1e-3, static width 1, w = 1,
couplings gamma = 1, xi = 1):

* ``base``        1D, L = 4096 (16384 levels), cutoff 6 (51 neighbours per level)
* ``cutoff12``    the same with cutoff 12 (99 neighbours)
* ``d1, d2, d3``  4096 dots in d = 1, 2, 3 (L = 4096, 64, 16) at cutoff 2.5
  (5, 21, 81 dots in reach; d = 3 at cutoff 6 would need ~60 M table entries)

Each case builds the tables, warms numba up (cached), then drives the run chunk by
chunk as an engine would (sample grid of simulator.schedule, ``resonant.advance``,
then batch_plan + reconstruct_and_estimate), and reports proposals/s and
accepted/s of ``advance`` alone, and the estimator's share of the wall time.
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
import numpy as np  # noqa: E402

import simulator as S
from simulator import resonant as RK
from simulator.kernel import N_EST, batch_plan, bucket_index, flush_batch, initial_energies, reconstruct_and_estimate
from simulator.schedule import build_schedule


def _raw(d, L, cutoff, t_max):
    return {"lattice": {"d": d, "L": L, "levels": 4},
            "couplings": {"cutoff": cutoff, "static_width": 1.0},
            "dynamics": {"kind": "flip", "gamma1": 1e-3},
            "run": {"t_max": t_max, "probes": 64, "seed": 1, "trajectory": {"probes": 0},
                    "tau": {"min": 1.0, "max": 200.0, "points": 16}}}


CASES = {
    "base": _raw(1, 4096, 6.0, 6e5),
    "cutoff12": _raw(1, 4096, 12.0, 6e5),
    "d1": _raw(1, 4096, 2.5, 6e5),
    "d2": _raw(2, 64, 2.5, 6e5),
    "d3": _raw(3, 16, 2.5, 6e5),
}
W = 1.0


def measure(raw: dict) -> dict:
    cfg = S.load_config(raw)
    t0 = time.perf_counter()
    m = S.build_model(cfg)
    tb = RK.from_model(m, W)
    pt = RK.probe_tables(m)
    P = m.probes.size
    st = RK.init_state(tb, m.n_dots, P, m.keys["dynamics"])
    sched, res = build_schedule(cfg, m, P, float(m.dot_rates().sum()), 0.0)
    setup = time.perf_counter() - t0
    t_max, B, K = res["t_max"], cfg["run"]["batches"], sched.K
    rows = m.coupling_rows()
    phi, eps, cnt = np.zeros(P), np.zeros(P), np.zeros(P, dtype=np.int64)
    initial_energies(rows.ptr, rows.level, rows.U, st.occ, m.nu, eps)
    est = np.zeros((N_EST, K, P))
    cnt1, cnt2 = np.zeros((K, P), dtype=np.int64), np.zeros((K, P), dtype=np.int64)
    kstat, batch, flush_nb = np.zeros((4, K)), np.zeros(1, dtype=np.int64), np.zeros((B, K))
    chunk = t_max / 40
    t = 0.0
    t_adv = t_rec = 0.0
    while t < t_max:
        t_b = sched.boundary_after(t + chunk)
        ts, ks, js = sched.samples(t, t_b)
        n = ts.shape[0]
        dEP, dC = np.zeros((n, P, 2)), np.zeros((n, P), dtype=np.int32)
        buckets = np.empty(2 * n + 1, dtype=np.int64)
        bucket_index(ts, n, t, buckets)
        a = time.perf_counter()
        RK.advance(st, tb, pt, ts, n, t, buckets, dEP, dC)
        b = time.perf_counter()
        batch0 = int(batch[0])
        batch_plan(ts, ks, js, n, sched.stride, kstat, batch, t_max / B, B, flush_nb)
        t = reconstruct_and_estimate(ts, ks, js, n, t, phi, eps, cnt, dEP, dC, sched.stride, est, cnt1, cnt2,
                                     batch0, t_max / B, B, flush_nb, np.zeros(0, dtype=np.int64), np.zeros(0),
                                     np.zeros((0, 1)), np.array([0, P], dtype=np.int64))
        t_rec += time.perf_counter() - b
        t_adv += b - a
    flush_batch(est, kstat)
    prop, acc = int(st.counts[RK.C_PROPOSALS]), int(st.counts[RK.C_ACCEPTED])
    nnz = int(tb.ptr[-1])
    return {"d": m.d, "L": m.L, "levels": m.n_levels, "cutoff": m.cutoff,
            "neighbours": round(nnz / m.n_levels, 1), "proposals": prop, "accepted": acc,
            "acceptance": round(acc / prop, 3), "advance_s": round(t_adv, 2),
            "proposals_per_s": float(f"{prop / t_adv:.3g}"), "accepted_per_s": float(f"{acc / t_adv:.3g}"),
            "estimator_s": round(t_rec, 2), "setup_s": round(setup, 2),
            "recomputes": int(st.counts[RK.C_RECOMPUTES])}


def main(argv: list[str]) -> None:
    numba.set_num_threads(1)   # one core (the reconstruction pass is parallel otherwise)
    names = argv or list(CASES)
    # warm-up: compile (or load from the cache) every kernel on a tiny case
    measure(_raw(1, 64, 2.0, 2e4))
    for name in names:
        print(json.dumps({"case": name, **measure(CASES[name])}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
