"""Restructurings change no number: pinned results of a few explicit configurations.

Each configuration below is run and every simulated array of its result is
hashed (SHA-256 of the raw bytes, dtype and shape included). The hashes were
recorded with ``python tests/test_regression_pins.py --record`` before a
restructuring of the code began, and a restructuring must reproduce them bit
for bit. They pin results on this project's reference platform (x86-64,
numpy/numba as installed by pyproject.toml); a change of compiler or library that
alters floating-point rounding is a reason to re-record, never a change of code.

Re-record only when a change of *results* is intended (a new estimator, a new
default), and say so in the commit.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import simulator as S

PINS = Path(__file__).with_name("data") / "regression_pins.json"

ARRAYS = ("echo", "echo_stderr", "ramsey", "ramsey_stderr", "ramsey_imag", "n_windows", "gamma2_echo",
          "gamma2_echo_stderr", "gamma2_ramsey", "energy", "events_per_dot", "gamma1", "probe_index",
          "static_energy", "t0_stride")

_RUN = {"checkpoint_every": 0.0}
CONFIGS = {
    "flip-1d": {"lattice": {"d": 1, "L": 40, "levels": 3},
                "dynamics": {"gamma1": 1e-2},
                "run": {**_RUN, "t_max": 3e4, "probes": 6, "seed": 11, "trajectory": {"probes": 2, "dt": 3.0}}},
    "hop-2d-static": {"lattice": {"d": 2, "L": 6, "levels": 4},
                      "couplings": {"static_width": 0.5, "amplitude": "pm1"},
                      "dynamics": {"kind": "hop", "gamma1": 3e-3},
                      "run": {**_RUN, "t_max": "auto", "flips": 300.0, "probes": 5, "seed": 12,
                              "trajectory": {"probes": 1}}},
    "bath-chain-open": {"lattice": {"d": 1, "L": 30, "levels": 2, "boundary": "open"},
                        "dynamics": {"gamma1": 1e-4, "bath": {"side": "left", "width": 2, "gamma1": 0.05}},
                        "run": {**_RUN, "t_max": 2e4, "probes": "all", "seed": 13, "tau": {"points": 12},
                                "trajectory": {"probes": 0}}},
    "power-3d-explicit": {"lattice": {"d": 3, "L": 4, "levels": 2},
                          "couplings": {"form": "power", "cutoff": 2.5},
                          "dynamics": {"gamma1": 2e-3},
                          "run": {**_RUN, "t_max": 1e4, "probes": 4, "seed": 14, "batches": 8,
                                  "tau": {"min": 0.5, "max": 500.0, "points": 10, "t0_spacing": 7.0}}},
    "resonant-flip": {"lattice": {"d": 1, "L": 24, "levels": 2},
                      "couplings": {"static_width": 1.0},
                      "dynamics": {"gamma1": 0.02, "resonance_width": 0.5},
                      "run": {**_RUN, "t_max": 2e4, "probes": 5, "seed": 15, "tau": {"points": 12},
                              "trajectory": {"probes": 1, "dt": 5.0}}},
}
THREADS = (1, 2)


def digest(ds) -> dict[str, str]:
    out = {}
    for name in ARRAYS:
        a = np.ascontiguousarray(ds[name].values)
        h = hashlib.sha256()
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
        out[name] = h.hexdigest()[:24]
    return out


def compute(name: str, threads: int) -> dict[str, str]:
    return digest(S.run(CONFIGS[name], progress=False, threads=threads))


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_results_are_pinned(name, threads):
    pins = json.loads(PINS.read_text())
    got = compute(name, threads)
    want = pins[name]
    changed = [k for k in ARRAYS if got[k] != want[k]]
    assert not changed, f"{name} (threads={threads}): arrays changed: {changed}"


if __name__ == "__main__":
    if "--record" not in sys.argv:
        sys.exit("usage: python tests/test_regression_pins.py --record   (re-records the pins)")
    pins = {name: compute(name, 1) for name in CONFIGS}
    PINS.parent.mkdir(exist_ok=True)
    PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(pins)} configurations in {PINS}")
