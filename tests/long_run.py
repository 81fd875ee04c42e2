"""The long run shared by the kill, interrupt and concurrency tests
(tests/test_determinism.py, tests/test_bad_input.py): a 1D lattice of 16 384 levels
that runs for several seconds, long enough to be signalled mid-run."""
from __future__ import annotations

from pathlib import Path


def long_run_config(path: Path, t_max: float, checkpoint_every: float) -> Path:
    """A run of several seconds (1D, 16 384 levels) for the kill/interrupt tests."""
    path.write_text(LONG_RUN.format(t_max=t_max, every=checkpoint_every))
    return path


LONG_RUN = """[lattice]
d = 1
L = 4096
levels = 4
[couplings]
cutoff = 6.0
[dynamics]
gamma1 = 0.05
[run]
t_max = {t_max}
probes = 16
checkpoint_every = {every}
tau = {{ min = 0.5, max = 200.0, points = 12, t0_spacing = 0.0 }}
trajectory = {{ probes = 1, dt = 10.0 }}
"""
