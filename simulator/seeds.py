"""The seed tree: every random key of dotkmc derived from ``run.seed``.

::

    run.seed s
    |-- SeedSequence(s).generate_state(6, uint64) = [couplings, static, dynamics, probes, positions, rates]
    |     (a word's value does not depend on how many are generated: adding the fifth
    |     and sixth changed no earlier key)
    |     couplings: key of the hashed u_ij (simulator.rng.pair_amplitude)
    |     static:    key of the static energies (simulator.rng.level_uniform)
    |     dynamics:  key of the per-dot streams (simulator.rng.seed_streams:
    |                dot I starts at mix64(k + mix64(I + 1)), mix64(... + GOLDEN))
    |     probes:    PCG64 generator of the probe choice (probe_generator)
    |     positions: PCG64 generator of the random dot positions (lattice.kind = 'random';
    |                position_generator, docs/model.md §1)
    |     rates:     key of the per-dot random rates (dynamics.gamma1_distribution =
    |                'loguniform'; simulator.rng.level_uniform of the dot index)
    |-- run.stream r > 0: dynamics = SeedSequence([s, r]).generate_state(1, uint64)[0]
    |     (another transition history on the same sample)
    |-- sweep member i of n: SeedSequence(s).spawn(n)[i].generate_state(1, uint64)[0] >> 1
    |     (docs/sweeps.md; independent of n)
    `-- self-consistent iteration k ('redraw' disorder):
          SeedSequence([s, k]).generate_state(1, uint32)[0] (docs/selfconsistent.md)

Every function here reproduces the derivation it names bit for bit; the
modules that use seeds (model, sweep, the self-consistent loop) call them.
"""
from __future__ import annotations

import numpy as np

KEY_NAMES = ("couplings", "static", "dynamics", "probes", "positions", "rates")


def seed_keys(seed: int, stream: int = 0) -> dict[str, np.uint64]:
    """Independent 64-bit keys for the model's random ingredients.

    ``numpy.random.SeedSequence(seed).generate_state(6, uint64)`` gives, in order,
    the keys of the couplings u_ij, the static energies, the dynamics streams,
    the probe choice, the random dot positions and the per-dot random rates (a
    word's value does not depend on how many words are generated, so the first four
    are those of the older ``generate_state(4)``). ``stream`` > 0 replaces only the
    dynamics key, by ``SeedSequence([seed, stream])``: an independent transition
    history on the same sample (same couplings, energies, probes, positions and rates).
    """
    words = np.random.SeedSequence(int(seed)).generate_state(6, dtype=np.uint64)
    dyn = words[2]
    if stream:
        dyn = np.random.SeedSequence([int(seed), int(stream)]).generate_state(1, dtype=np.uint64)[0]
    return {"couplings": words[0], "static": words[1], "dynamics": dyn, "probes": words[3], "positions": words[4],
            "rates": words[5]}


def probe_generator(key: np.uint64) -> np.random.Generator:
    """The generator that draws the probe levels from the ``probes`` key."""
    return np.random.Generator(np.random.PCG64(int(key)))


def position_generator(key: np.uint64) -> np.random.Generator:
    """The generator that draws the random dot positions from the ``positions`` key."""
    return np.random.Generator(np.random.PCG64(int(key)))


def member_seeds(base_seed: int, n: int) -> list[int]:
    """``run.seed`` of the ``n`` members of a sweep (docs/sweeps.md): the first word of
    the i-th spawned child, shifted right by one bit to fit a signed 64-bit TOML integer."""
    children = np.random.SeedSequence(int(base_seed)).spawn(n)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


def iteration_seed(seed: int, iteration: int) -> int:
    """``run.seed`` of iteration ``iteration`` of the self-consistent loop when the
    disorder is redrawn (docs/selfconsistent.md)."""
    return int(np.random.SeedSequence([int(seed), int(iteration)]).generate_state(1, np.uint32)[0])
