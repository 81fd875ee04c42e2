"""The model of docs/model.md §2: lattice, rates, probes and couplings.

Everything here is a deterministic function of the resolved configuration and
its seed: building the model twice gives the same couplings, which is how the
couplings any probe saw are retrieved after the fact (:meth:`Model.probe_couplings`).

Conventions
-----------
* Dot index ``I = x0 + L*x1 + L^2*x2`` (first axis fastest); level index
  ``l = I*M + alpha``. Levels of neighbouring dots are close in memory (the
  kernels stream through dots in this order).
* Coupling ``U_{l,j} = A(r_IJ) u_{lj}`` for every pair of distinct levels with
  r_IJ <= r_c (same-dot pairs at r = 0 with A(0) = ``intra``); ``u`` is a pure
  hash of the unordered pair (see :mod:`simulator.rng`), so U is symmetric and
  never stored as a matrix. Only the rows of *probe* levels are materialised:
  memory ~ probes x neighbours, independent of the lattice size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .jit import jit
import numpy as np

from .config import Config, ConfigError
from .physics import gamma2_estimate, require_positive, smallest_positive, transitions_per_dot  # noqa: F401  (re-exported)
from .rng import level_uniform, pair_amplitude
from .seeds import probe_generator, seed_keys  # noqa: F401  (seed_keys re-exported)
from .views import view

# refuse to build coupling tables larger than this many entries (~12 bytes each)
MAX_COUPLING_ENTRIES = 400_000_000


def coupling_envelope(r: np.ndarray, c: dict) -> np.ndarray:
    """A(r): gamma e^{-r/xi} (form='exp') or gamma r^-alpha (form='power'); A(0) = intra."""
    r = np.asarray(r, dtype=float)
    intra = c["gamma"] if c["intra"] == "gamma" else c["intra"]
    with np.errstate(divide="ignore"):
        if c["form"] == "exp":
            a = c["gamma"] * np.exp(-r / c["xi"])
        else:
            a = c["gamma"] * np.where(r > 0, r, 1.0) ** (-c["alpha"])
    return np.where(r == 0, intra, a)


def auto_cutoff(c: dict, gamma2_est: float) -> float:
    """Smallest r with A(r) <= cutoff_tol * Gamma2_est (paper App. B rule 1)."""
    target = require_positive(c["cutoff_tol"] * gamma2_est, "couplings.cutoff")
    if c["form"] == "exp":
        r = c["xi"] * math.log(c["gamma"] / target)
    else:
        r = (c["gamma"] / target) ** (1.0 / c["alpha"])
    return max(r, 1.0)


def neighbour_offsets(d: int, L: int, periodic: bool, cutoff: float):
    """Integer offsets o with |o| <= cutoff, each image counted once.

    For a periodic lattice the components are restricted to (-L/2, L/2], so that
    every offset is the minimum image and no dot is reached twice.
    Returns (offsets (n, d) int64, distances (n,)), sorted by distance.
    """
    R = int(math.floor(cutoff + 1e-12))
    lo, hi = -R, R
    if periodic:
        lo = max(lo, -((L - 1) // 2))
        hi = min(hi, L // 2)
    else:
        lo, hi = max(lo, -(L - 1)), min(hi, L - 1)
    axis = np.arange(lo, hi + 1)
    grids = np.meshgrid(*([axis] * d), indexing="ij")
    off = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
    dist = np.sqrt((off.astype(float) ** 2).sum(axis=1))
    keep = dist <= cutoff + 1e-12
    off, dist = off[keep], dist[keep]
    order = np.lexsort((*(off[:, k] for k in range(d - 1, -1, -1)), dist))
    return off[order], dist[order]


@jit
def _probe_rows(probes, M, L, d, periodic, off, env, key, gauss, count_only, ptr, lev, dot, U, dist_idx):
    """Rows of the coupling matrix for the probe levels (CSR by probe).

    Two passes: with ``count_only`` fill ``ptr[p+1]`` with the row lengths;
    otherwise fill ``lev, dot, U, dist_idx`` at ``ptr[p]:ptr[p+1]``.
    """
    n_off = off.shape[0]
    Ld1 = L
    Ld2 = L * L
    for p in range(probes.shape[0]):
        lp = probes[p]
        I = lp // M
        x0 = I % L
        x1 = (I // Ld1) % L
        x2 = (I // Ld2) % L
        q = 0 if count_only else ptr[p]
        for o in range(n_off):
            y0 = x0 + off[o, 0]
            y1 = x1 + (off[o, 1] if d > 1 else 0)
            y2 = x2 + (off[o, 2] if d > 2 else 0)
            if periodic:
                y0 %= L
                y1 %= L
                y2 %= L
            else:
                if y0 < 0 or y0 >= L or y1 < 0 or y1 >= L or y2 < 0 or y2 >= L:
                    continue
            J = y0 + Ld1 * y1 + Ld2 * y2
            for b in range(M):
                lj = J * M + b
                if lj == lp:
                    continue
                if not count_only:
                    lev[q] = lj
                    dot[q] = J
                    U[q] = env[o] * pair_amplitude(key, lp, lj, gauss)
                    dist_idx[q] = o
                q += 1
        if count_only:
            ptr[p + 1] = q


@dataclass
class CouplingRows:
    """Couplings of the probe levels, CSR by probe: row p is ``ptr[p]:ptr[p+1]``."""

    ptr: np.ndarray      # (P+1,) int64
    level: np.ndarray    # neighbouring level index j
    dot: np.ndarray      # its dot J
    U: np.ndarray        # U_{probe, j}
    r: np.ndarray        # distance r_IJ (lattice units)

    def row(self, p: int) -> dict:
        s = slice(self.ptr[p], self.ptr[p + 1])
        return {"level": self.level[s], "dot": self.dot[s], "U": self.U[s], "r": self.r[s]}


@dataclass
class Model:
    """Lattice + rates + probes + couplings of one resolved configuration."""

    config: Config
    d: int
    L: int
    M: int
    periodic: bool
    kind: str
    n_particles: int | None
    nu: float
    gamma1: np.ndarray           # per dot
    cutoff: float
    gamma2_est: float
    probes: np.ndarray           # probe level indices, sorted
    keys: dict
    offsets: np.ndarray = field(repr=False)
    offset_r: np.ndarray = field(repr=False)
    _rows: CouplingRows | None = field(default=None, repr=False)

    @property
    def n_dots(self) -> int:
        return self.L ** self.d

    @property
    def n_levels(self) -> int:
        return self.n_dots * self.M

    @property
    def n_tr(self) -> int:
        return transitions_per_dot(self.kind, self.M, self.n_particles)

    def dot_rates(self) -> np.ndarray:
        """Total event rate of each dot: n_tr * Gamma1(I)."""
        return self.n_tr * self.gamma1

    def dot_coords(self, dots) -> np.ndarray:
        dots = np.asarray(dots, dtype=np.int64)
        return np.stack([(dots // self.L ** k) % self.L for k in range(self.d)], axis=-1)

    @property
    def probe_dot(self) -> np.ndarray:
        return self.probes // self.M

    @property
    def probe_level(self) -> np.ndarray:
        return self.probes % self.M

    def static_energies(self, levels=None) -> np.ndarray:
        """epsilon^0 of the given levels (default: the probes), uniform in [-W/2, W/2]."""
        levels = self.probes if levels is None else np.asarray(levels, dtype=np.int64)
        u = np.empty(levels.shape[0])
        level_uniform(self.keys["static"], levels, u)
        W = self.config["couplings"]["static_width"]
        return W * (u - 0.5)

    def coupling_rows(self) -> CouplingRows:
        """Couplings of every probe to every level within the cutoff (cached)."""
        if self._rows is None:
            self._rows = build_rows(self, self.probes)
        return self._rows

    def probe_couplings(self, p: int) -> dict:
        """The couplings probe ``p`` saw: arrays ``level, dot, U, r`` and the rates of
        those dots ``gamma1``, plus the probe's own ``gamma1_self``, ``dot`` and ``level``.
        Enough to evaluate the exact references of docs/exact.md for this probe."""
        row = self.coupling_rows().row(p)
        row["gamma1"] = self.gamma1[row["dot"]]
        row["gamma1_self"] = float(self.gamma1[self.probes[p] // self.M])
        row["probe_dot"] = int(self.probes[p] // self.M)
        row["probe_level"] = int(self.probes[p] % self.M)
        return row


def build_rows(model: Model, probes: np.ndarray) -> CouplingRows:
    c = model.config["couplings"]
    env = coupling_envelope(model.offset_r, c)
    off = np.zeros((model.offsets.shape[0], 3), dtype=np.int64)
    off[:, : model.d] = model.offsets
    P = probes.shape[0]
    ptr = np.zeros(P + 1, dtype=np.int64)
    dummy_i = np.zeros(0, dtype=np.int64)
    dummy_f = np.zeros(0)
    gauss = c["amplitude"] == "gauss"
    _probe_rows(probes, model.M, model.L, model.d, model.periodic, off, env, model.keys["couplings"],
                gauss, True, ptr, dummy_i, dummy_i, dummy_f, dummy_i)
    ptr = np.cumsum(ptr)
    nnz = int(ptr[-1])
    if nnz > MAX_COUPLING_ENTRIES:
        raise ConfigError(f"run.probes x neighbours = {nnz} coupling entries exceeds the limit "
                          f"{MAX_COUPLING_ENTRIES}; lower run.probes or couplings.cutoff")
    lev = np.empty(nnz, dtype=np.int64)
    dot = np.empty(nnz, dtype=np.int64)
    U = np.empty(nnz)
    oidx = np.empty(nnz, dtype=np.int64)
    _probe_rows(probes, model.M, model.L, model.d, model.periodic, off, env, model.keys["couplings"],
                gauss, False, ptr, lev, dot, U, oidx)
    return CouplingRows(ptr=ptr, level=lev, dot=dot, U=U, r=model.offset_r[oidx])


def loguniform_rates(key: np.uint64, dots: np.ndarray, rate_min: float, rate_max: float) -> np.ndarray:
    """Log-uniform rates in [rate_min, rate_max] (density ~ 1/Gamma1) of the given dots.

    Dot I gets ``rate_min * (rate_max/rate_min)**u_I`` with u_I a pure hash of the
    ``rates`` key and I (:func:`simulator.rng.level_uniform`): a dot's rate does
    not depend on the lattice size, the probes or ``run.stream``.
    """
    dots = np.asarray(dots, dtype=np.int64)
    u = np.empty(dots.shape[0])
    level_uniform(key, dots, u)
    return np.exp(math.log(rate_min) + u * math.log(rate_max / rate_min))


def loguniform_mean(rate_min: float, rate_max: float) -> float:
    """Mean rate of the log-uniform law on [rate_min, rate_max]: (b - a) / log(b/a)."""
    if rate_max == rate_min:
        return float(rate_max)
    return (rate_max - rate_min) / math.log(rate_max / rate_min)


def gamma2_rate(config: Config, gamma1: np.ndarray) -> float:
    """The rate that sets Gamma2_est (and through it the 'auto' cutoff, tau grid and t_max).

    Constant rates: the smallest positive Gamma1 (the conservative choice, docs/model.md §1).
    Log-uniform rates: the mean of the distribution, or the bath rate if smaller and
    positive. A strong neighbour dephases the echo at its own rate (docs/exact.md rule 2),
    so the sum over the strong neighbours that Eq. (12) counts has the mean rate as its
    typical value; the smallest rate (down to 1e-6 gamma1 or less) would make the cutoff and
    tau grid absurd. It is a function of the configuration only, so a model rebuilt from a
    stored per-dot array (resume, :func:`simulator.model_from_dataset`) gets the same value.
    """
    dyn = view(config).dynamics
    if not dyn.loguniform:
        return smallest_positive(gamma1)
    rate = loguniform_mean(dyn.rate_min, dyn.gamma1)
    bath = dyn.bath
    if bath.side != "none" and bath.width > 0 and bath.gamma1 > 0:
        rate = min(rate, bath.gamma1)
    return rate


def dot_gamma1(config: Config) -> np.ndarray:
    """Gamma1 of every dot: constant or log-uniform (dynamics.gamma1_distribution), then
    the boundary-bath profile (paper App. B), which overrides the rates in its region."""
    v = view(config)
    d, L = v.lattice.d, v.lattice.L
    n = L ** d
    if v.dynamics.loguniform:
        key = seed_keys(v.run.seed)["rates"]
        g = loguniform_rates(key, np.arange(n, dtype=np.int64), v.dynamics.rate_min, v.dynamics.gamma1)
    else:
        g = np.full(n, v.dynamics.gamma1, dtype=float)
    bath = v.dynamics.bath
    if bath.side != "none" and bath.width > 0:
        idx = np.arange(n)
        coords = np.stack([(idx // L ** k) % L for k in range(d)], axis=-1)
        w = bath.width
        left = coords[:, 0] < w
        right = coords[:, 0] >= L - w
        if bath.side == "left":
            mask = left
        elif bath.side == "right":
            mask = right
        elif bath.side == "both":
            mask = left | right
        else:  # all faces
            mask = np.asarray(((coords < w) | (coords >= L - w)).any(axis=1))
        g[mask] = bath.gamma1
    return g


def build_model(config: Config, gamma1: np.ndarray | None = None, probes: np.ndarray | None = None) -> Model:
    """Resolve a configuration into a :class:`Model`.

    Parameters
    ----------
    config : validated configuration.
    gamma1 : optional explicit per-dot rate array (overrides [dynamics] gamma1/bath).
    probes : optional explicit probe level indices (overrides run.probes).
    """
    v = view(config)
    lat, cpl, dyn, run = v.lattice, v.couplings, v.dynamics, v.run
    d, L, M = lat.d, lat.L, lat.levels
    n_dots = L ** d
    if n_dots > 50_000_000:
        raise ConfigError(f"lattice.L = {L} with lattice.d = {d} gives {n_dots} dots; the limit is 5e7")
    n_levels = n_dots * M
    if gamma1 is None:
        g1 = dot_gamma1(config)
    else:
        g1 = np.asarray(gamma1, dtype=float).copy()
        if g1.shape != (n_dots,) or not np.all(np.isfinite(g1)) or np.any(g1 < 0):
            raise ConfigError(f"gamma1 array must have shape ({n_dots},) with finite values >= 0")
    kind = dyn.kind
    n_part = round(dyn.filling * M) if kind == "hop" else None
    nu = 0.5 if n_part is None else n_part / M
    n_tr = transitions_per_dot(kind, M, n_part)
    g2 = gamma2_estimate(n_tr, gamma2_rate(config, g1), cpl.gamma, d)
    cutoff = auto_cutoff(config["couplings"], g2) if cpl.cutoff == "auto" else float(cpl.cutoff)
    offsets, dist = neighbour_offsets(d, L, lat.periodic, cutoff)
    keys = seed_keys(run.seed, run.stream)
    if probes is None:
        if run.probes == "all":
            probes = np.arange(n_levels, dtype=np.int64)
        else:
            P = int(run.probes)
            if P > n_levels:
                raise ConfigError(f"run.probes = {P} is not allowed: the lattice has only {n_levels} levels")
            rng = probe_generator(keys["probes"])
            probes = np.sort(rng.choice(n_levels, size=P, replace=False)).astype(np.int64)
    else:
        probes = np.unique(np.asarray(probes, dtype=np.int64))
        if probes.size == 0 or probes[0] < 0 or probes[-1] >= n_levels:
            raise ConfigError(f"probe level indices must lie in [0, {n_levels})")
    return Model(config=config, d=d, L=L, M=M, periodic=lat.periodic, kind=kind,
                 n_particles=n_part, nu=nu, gamma1=g1, cutoff=cutoff, gamma2_est=g2, probes=probes,
                 keys=keys, offsets=offsets, offset_r=dist)
