"""The starved case behind the 'auto' window floor (docs/model.md §4, "Windows").

1D, L = 48, M = 2, +-1 couplings, Gamma1 = 1e-3, t_max = 4e5, every level a probe,
tau from 1 to 3000: the typical (median) echo Gamma2 against the exact product's,
for several window floors (1 = the old cost-only rule) and dense windows (every
tau/2), over five seeds.

    python runs/window_floor_bias.py            # about a minute
"""
from __future__ import annotations

import time

import numpy as np

import simulator
import simulator.schedule as schedule
from analysis.compare import exact_signals
from analysis.estimates import median_with_error

FLOORS = (1, 300, 1000, 3000, "dense")
SEEDS = (1, 2, 3, 4, 5)


def config(seed: int, dense: bool) -> dict:
    tau = {"min": 1.0, "max": 3000.0, **({"t0_spacing": 0} if dense else {})}
    return {"lattice": {"d": 1, "L": 48, "levels": 2}, "couplings": {"amplitude": "pm1"},
            "dynamics": {"gamma1": 1e-3},
            "run": {"t_max": 4e5, "probes": "all", "seed": seed, "tau": tau, "trajectory": {"probes": 0},
                    "checkpoint_every": 0}}


def main() -> None:
    default = schedule.MIN_WINDOWS_PER_TAU
    print(f"{'floor':>6s} {'seed':>4s} {'windows@1/e':>11s} {'typical/exact':>13s} {'err':>7s} {'wall s':>7s}")
    ratios: dict = {f: [] for f in FLOORS}
    for floor in FLOORS:
        schedule.MIN_WINDOWS_PER_TAU = default if floor == "dense" else floor
        for seed in SEEDS:
            t0 = time.perf_counter()
            ds = simulator.run(config(seed, floor == "dense"), progress=False)
            wall = time.perf_counter() - t0
            exact = np.nanmedian(simulator.crossing_rate(ds["tau"].values, exact_signals(ds)["echo"]))
            g = ds["gamma2_echo"].values
            typical, err = median_with_error(g)
            windows = np.nanmedian(simulator.windows_at_crossing(ds["tau"].values, ds["n_windows"].values, g))
            ratios[floor].append(typical / exact)
            print(f"{floor!s:>6s} {seed:>4d} {windows:>11.0f} {typical / exact:>13.4f} {err / exact:>7.4f} "
                  f"{wall:>7.2f}")
    schedule.MIN_WINDOWS_PER_TAU = default
    for floor, r in ratios.items():
        r = np.asarray(r)
        print(f"floor {floor!s:>6s}: typical/exact = {r.mean():.4f} +- {r.std(ddof=1) / np.sqrt(r.size):.4f} "
              f"(mean +- s.e. over {r.size} seeds)")


if __name__ == "__main__":
    main()
