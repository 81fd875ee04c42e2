"""Before/after speed of the resonant kernel in ONE process (a shared machine's load
then weighs on both alike).

Run:  python tests/benchmarks/ab_resonant.py REV [case] [rounds]
      (e.g. ``ab_resonant.py dda5260 base 2``; case from bench_resonant.py, default base)

``simulator/resonant.py`` as of git revision REV is loaded next to this
checkout's, and identical runs of the case (same seed) go through the engine
with each kernel, alternating chunk by chunk, each kernel ``rounds`` times
(A B A B ...). Printed per run: proposals per second of thread CPU time of the
kernel's ``advance`` (and of wall time); then the ratio new/old of the summed CPU
times, and whether every state array of every run came out bit-identical.

The old kernel must have the same interface (``from_model``, ``with_touch``,
``init_state``, ``advance``, ``ResonantState``).
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numba  # noqa: E402
import numpy as np  # noqa: E402

import simulator as S  # noqa: E402
from simulator import resonant as NEW  # noqa: E402
from simulator.engine import Simulation  # noqa: E402

import bench_resonant as B  # noqa: E402


def load_old(rev: str, folder: Path):
    """simulator/resonant.py at ``rev`` as a module of its own (imports made absolute)."""
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:simulator/resonant.py"], check=True,
                         capture_output=True, text=True).stdout
    src = src.replace("from .", "from simulator.")
    path = folder / f"resonant_{rev.replace('/', '_')}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make(X, raw: dict):
    """An engine run whose dynamics' advance is kernel module X's, timed."""
    sim = Simulation(S.load_config(raw), threads=1)
    dyn = sim.dynamics
    tables = X.from_model(sim.model, float(raw["dynamics"]["resonance_width"]))
    probes = X.with_touch(dyn.probe_tables)
    st = X.init_state(tables, sim.model.n_dots, sim.model.probes.shape[0], sim.model.keys["dynamics"])
    dyn.tables, dyn.probe_tables, dyn.state = tables, probes, st
    spent = [0.0, 0.0]

    def advance(grid, bins):
        a, c = time.perf_counter(), time.thread_time()
        out = X.advance(st, tables, probes, grid.t, grid.n, grid.t_a, grid.buckets, bins.dEP, bins.dC)
        spent[0] += time.perf_counter() - a
        spent[1] += time.thread_time() - c
        return out

    dyn.advance = advance
    return sim, st, spent


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(__doc__)
    rev, case = argv[0], (argv[1] if len(argv) > 1 else "base")
    rounds = int(argv[2]) if len(argv) > 2 else 2
    numba.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        OLD = load_old(rev, Path(tmp))
        kernels = [("old", OLD), ("new", NEW)] * rounds
        for _, X in kernels[:2]:   # compile or load from the cache
            sim, _, _ = make(X, B._raw(1, 64, 2.0, 2e4))
            while not sim.finished:
                sim.step()
        runs = [(name, *make(X, B.CASES[case])) for name, X in kernels]
        while not all(r[1].finished for r in runs):
            for r in runs:
                if not r[1].finished:
                    r[1].step()
    cpu = {"old": 0.0, "new": 0.0}
    for name, _sim, st, (wall, c) in runs:
        prop = int(st.counts[0])
        cpu[name] += c
        print(f"{name}: {prop / c / 1e6:.2f} M proposals per CPU s ({prop / wall / 1e6:.2f} M per wall s)")
    ref = runs[0][2]
    same = all(np.array_equal(getattr(ref, f), getattr(r[2], f)) for r in runs[1:] for f in ref._fields)
    print(f"case {case}, {rev} -> this checkout: speed-up {cpu['old'] / cpu['new']:.2f}x (CPU time); "
          f"states bit-identical: {same}")


if __name__ == "__main__":
    main(sys.argv[1:])
