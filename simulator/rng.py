"""Random numbers inside the kernels: reproducible, per-dot streams.

Two generators, both plain 64-bit integer arithmetic that numba compiles to a
handful of instructions (numba's own ``np.random`` costs ~9 ns a draw; see
docs/performance.md):

* ``mix64`` -- the SplitMix64 finaliser, a bijective avalanche mixer. Used as a
  *counter-based* hash: quenched disorder (couplings u_ij, static energies) is a
  pure function of (key, level indices), so the couplings of any probe can be
  recomputed at any time without storing a coupling matrix, and U_ij = U_ji by
  construction.
* ``xoroshiro128++`` (Blackman & Vigna) -- one stream per dot, 16 bytes of state.
  Every dot draws its own event times and choices from its own stream, so the
  sequence of events of a dot does not depend on how the run is cut into chunks,
  checkpointed or resumed. Streams start at hashed points of a 2^128 - 1 cycle,
  so overlaps are astronomically unlikely.

Stream layout (documented so results can be reproduced outside this code):
state of dot I = (mix64(k + mix64(I + 1)), mix64(k + mix64(I + 1) + G)) with k the
dynamics key and G the golden-ratio increment, both words forced non-zero.
"""
from __future__ import annotations

import math

from .jit import jit, jit_inline
import numpy as np

U64 = np.uint64
GOLDEN = U64(0x9E3779B97F4A7C15)
_M1 = U64(0xBF58476D1CE4E5B9)
_M2 = U64(0x94D049BB133111EB)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53


@jit_inline
def mix64(z):
    """SplitMix64 finaliser (bijective 64-bit mixer)."""
    z = (z ^ (z >> U64(30))) * _M1
    z = (z ^ (z >> U64(27))) * _M2
    return z ^ (z >> U64(31))


@jit_inline
def to_unit(x):
    """uint64 -> double uniform in [0, 1) with 53 random bits."""
    return float(x >> U64(11)) * _TWO_M53


@jit_inline
def to_unit_open0(x):
    """uint64 -> double uniform in (0, 1]."""
    return (float(x >> U64(11)) + 1.0) * _TWO_M53


@jit_inline
def rotl(x, k):
    return (x << U64(k)) | (x >> U64(64 - k))


@jit_inline
def xoro_next(s0, s1):
    """One xoroshiro128++ step: returns (output, new s0, new s1)."""
    out = rotl(s0 + s1, 17) + s0
    s1 = s1 ^ s0
    s0 = rotl(s0, 49) ^ s1 ^ (s1 << U64(21))
    s1 = rotl(s1, 28)
    return out, s0, s1


@jit
def seed_streams(key, n, state):
    """Fill ``state[I, 0:2]`` with the starting state of the stream of dot I."""
    for i in range(n):
        a = mix64(key + mix64(U64(i) + U64(1)))
        s0 = mix64(a)
        s1 = mix64(a + GOLDEN)
        if s0 == U64(0) and s1 == U64(0):
            s1 = GOLDEN
        state[i, 0] = s0
        state[i, 1] = s1


# ---------------------------------------------------------------------------
# counter-based quenched disorder
# ---------------------------------------------------------------------------
@jit_inline
def pair_hash(key, a, b, stream):
    """Hash of an unordered pair of level indices (a, b) (order-independent)."""
    lo = a if a < b else b
    hi = b if a < b else a
    h = mix64(key ^ mix64(U64(lo) * GOLDEN + U64(1)))
    h = mix64(h ^ mix64(U64(hi) + U64(stream) * _M2))
    return h


@jit_inline
def pair_amplitude(key, a, b, gauss):
    """u_ab: standard normal (Box-Muller on two 53-bit uniforms) or +-1."""
    h1 = pair_hash(key, a, b, 0)
    if not gauss:
        return 1.0 if (h1 >> U64(63)) == U64(1) else -1.0
    h2 = pair_hash(key, a, b, 1)
    u1 = to_unit_open0(h1)
    u2 = to_unit(h2)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@jit
def level_uniform(key, levels, out):
    """Uniform [0,1) number per level index (static energies)."""
    for i in range(levels.shape[0]):
        out[i] = to_unit(mix64(key ^ mix64(U64(levels[i]) * GOLDEN + U64(7))))
