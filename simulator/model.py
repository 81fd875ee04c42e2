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
* ``lattice.kind = 'random'``: N = round(density L^d) dots uniform in the box
  [0, L)^d (:func:`random_positions`), indexed in Morton (Z-curve) order so that
  dots close in index are close in space; r_IJ is the (minimum-image) Euclidean
  distance, neighbours are found with a k-d tree (:func:`build_random_rows`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .jit import jit
import numpy as np

from .config import Config, ConfigError
from .physics import gamma2_estimate, require_positive, smallest_positive, transitions_per_dot  # noqa: F401  (re-exported)
from .physics import gamma2_estimate_random, level_rate
from .rng import level_uniform, pair_amplitude
from .seeds import position_generator, probe_generator, seed_keys  # noqa: F401  (seed_keys re-exported)
from .views import view

# refuse to build coupling tables larger than this many entries (~12 bytes each)
MAX_COUPLING_ENTRIES = 400_000_000


def coupling_envelope(r: np.ndarray, c: dict) -> np.ndarray:
    """A(r): gamma e^{-r/xi} (form='exp'), gamma r^-alpha (form='power') or gamma r^-3
    (form='dipolar', without its angular factor, :func:`dipolar_angular`); A(0) = intra."""
    r = np.asarray(r, dtype=float)
    intra = c["gamma"] if c["intra"] == "gamma" else c["intra"]
    with np.errstate(divide="ignore"):
        if c["form"] == "exp":
            a = c["gamma"] * np.exp(-r / c["xi"])
        else:
            a = c["gamma"] * np.where(r > 0, r, 1.0) ** (-(3.0 if c["form"] == "dipolar" else c["alpha"]))
    return np.where(r == 0, intra, a)


def dipolar_angular(sep: np.ndarray, r: np.ndarray) -> np.ndarray:
    """1 - 3 cos^2(theta) of separations ``sep`` (n, 3) of length ``r``, theta to the z axis
    (1 at r = 0, where A(0) = intra carries no angle)."""
    r = np.asarray(r, dtype=float)
    cz = np.asarray(sep, dtype=float)[:, 2] / np.where(r > 0, r, 1.0)
    return np.where(r > 0, 1.0 - 3.0 * cz * cz, 1.0)


def pair_envelope(sep: np.ndarray, r: np.ndarray, c: dict) -> np.ndarray:
    """The envelope of pairs with separation vectors ``sep`` (n, d) and lengths ``r``:
    A(r), times the angular factor for form='dipolar' (docs/model.md §1)."""
    env = coupling_envelope(r, c)
    if c["form"] == "dipolar":
        env = env * dipolar_angular(sep, r)
    return env


def auto_cutoff(c: dict, gamma2_est: float) -> float:
    """Smallest r with A(r) <= cutoff_tol * Gamma2_est (paper App. B rule 1)."""
    target = require_positive(c["cutoff_tol"] * gamma2_est, "couplings.cutoff")
    if c["form"] == "exp":
        r = c["xi"] * math.log(c["gamma"] / target)
    elif c["form"] == "dipolar":    # |1 - 3 cos^2| <= 2: the largest A at r is 2 gamma / r^3
        r = (2.0 * c["gamma"] / target) ** (1.0 / 3.0)
    else:
        r = (c["gamma"] / target) ** (1.0 / c["alpha"])
    return max(r, 1.0)


def _sphere_area(d: int) -> float:
    return {1: 2.0, 2: 2.0 * math.pi, 3: 4.0 * math.pi}[d]


#: the tail bound of the random-position auto cutoff is imposed at tau = TAIL_TAU / Gamma2_est
TAIL_TAU = 3.0


def tail_integral(c: dict, d: int, r_c: float) -> float:
    """T(r_c) = int_{|r| > r_c} A(r)^2 d^d r, the dipolar angular factor included
    (docs/model.md §1, "The auto cutoff on random positions"); inf when it diverges."""
    g2 = c["gamma"] ** 2
    s_d = _sphere_area(d)
    if c["form"] == "dipolar":    # int (1 - 3 cos^2)^2 dOmega = 16 pi / 5
        return g2 * (16.0 * math.pi / 5.0) * r_c ** -3.0 / 3.0
    if c["form"] == "power":
        k = 2.0 * c["alpha"] - d
        return math.inf if k <= 0 else g2 * s_d * r_c ** -k / k
    from scipy.special import gamma as gamma_fn, gammaincc
    h = c["xi"] / 2.0
    return g2 * s_d * h ** d * gamma_fn(d) * float(gammaincc(d, r_c / h))


def auto_cutoff_random(c: dict, d: int, level_density: float, nu: float, gamma2_est: float,
                       dot_density: float) -> float:
    """The smallest r_c whose neglected tail moves -ln E (and -ln R) by at most
    ``cutoff_tol`` at tau* = TAIL_TAU / Gamma2_est (docs/model.md §1).

    The couplings beyond r_c add to the probe energy a variance
    V = n_levels <u^2> nu(1 - nu) T(r_c) (Campbell's theorem; <u^2> = 1 for both
    amplitude laws), and their contribution to -ln E(tau) is at most V tau^2 / 2 (the
    quasi-static second cumulant: the echo phase of a window of length tau has variance
    at most tau^2 V). The floor r_c >= density^(-1/d) (the mean spacing) keeps the
    nearest neighbours.
    """
    g2 = require_positive(gamma2_est, "couplings.cutoff")
    tau = TAIL_TAU / g2
    target = 2.0 * c["cutoff_tol"] / (tau * tau * level_density * nu * (1.0 - nu))   # T(r_c) <= target
    g = c["gamma"] ** 2
    if c["form"] == "dipolar":
        r = (g * 16.0 * math.pi / 15.0 / target) ** (1.0 / 3.0)
    elif c["form"] == "power":
        k = 2.0 * c["alpha"] - d
        if k <= 0:
            raise ConfigError(f"couplings.cutoff = 'auto' is not allowed with couplings.form = 'power', "
                              f"alpha = {c['alpha']!r} and lattice.d = {d} on random positions: the neglected tail "
                              f"diverges for 2*alpha <= d; set couplings.cutoff to a number")
        r = (g * _sphere_area(d) / (k * target)) ** (1.0 / k)
    else:   # exp: T(r_c) = gamma^2 S_d (xi/2)^d Gamma(d) Q(d, 2 r_c/xi), Q the regularised upper gamma
        from scipy.special import gammainccinv
        total = tail_integral(c, d, 0.0)
        r = 0.0 if target >= total else c["xi"] / 2.0 * float(gammainccinv(d, target / total))
    return max(r, dot_density ** (-1.0 / d))


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
    #: (N, d) dot positions of lattice.kind = 'random' (None on the hypercubic lattice)
    positions: np.ndarray | None = field(default=None, repr=False)
    _rows: CouplingRows | None = field(default=None, repr=False)

    @property
    def random(self) -> bool:
        return self.positions is not None

    @property
    def n_dots(self) -> int:
        return self.positions.shape[0] if self.positions is not None else self.L ** self.d

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
        """Positions of the given dots, (n, d): integer lattice coordinates, or the
        float positions of random dots."""
        dots = np.asarray(dots, dtype=np.int64)
        if self.positions is not None:
            return self.positions[dots]
        return np.stack([(dots // self.L ** k) % self.L for k in range(self.d)], axis=-1)

    def dot_positions(self) -> np.ndarray:
        """Every dot's position as floats, (N, d) (lattice units)."""
        if self.positions is not None:
            return self.positions
        return self.dot_coords(np.arange(self.n_dots)).astype(float)

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


def check_coupling_entries(nnz: int, lower: str) -> None:
    """One-line error when the probe rows would hold more than MAX_COUPLING_ENTRIES entries."""
    if nnz > MAX_COUPLING_ENTRIES:
        raise ConfigError(f"run.probes x neighbours = {nnz} coupling entries exceeds the limit "
                          f"{MAX_COUPLING_ENTRIES}; lower {lower}")


def build_rows(model: Model, probes: np.ndarray) -> CouplingRows:
    """The coupling rows of the levels ``probes`` (hypercubic offsets or random positions)."""
    if model.positions is not None:
        return build_random_rows(model, probes)
    c = model.config["couplings"]
    env = pair_envelope(model.offsets, model.offset_r, c)
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
    check_coupling_entries(nnz, "run.probes or couplings.cutoff")
    lev = np.empty(nnz, dtype=np.int64)
    dot = np.empty(nnz, dtype=np.int64)
    U = np.empty(nnz)
    oidx = np.empty(nnz, dtype=np.int64)
    _probe_rows(probes, model.M, model.L, model.d, model.periodic, off, env, model.keys["couplings"],
                gauss, False, ptr, lev, dot, U, oidx)
    return CouplingRows(ptr=ptr, level=lev, dot=dot, U=U, r=model.offset_r[oidx])


# ---------------------------------------------------------------------------
# random positions (lattice.kind = 'random', docs/model.md §1)
# ---------------------------------------------------------------------------
def random_dot_count(config: Config) -> int:
    """N = round(density L^d) of a random lattice; one-line error outside [1, MAX_DOTS]."""
    from .config import MAX_DOTS

    lat = view(config).lattice
    n = lat.n_dots
    if n < 1 or n > MAX_DOTS:
        raise ConfigError(f"lattice.density = {lat.density!r} with lattice.L = {lat.L} and lattice.d = {lat.d} gives "
                          f"{n} random dots; allowed are 1 to {MAX_DOTS:.0e} dots")
    return n


def _morton_codes(cells: np.ndarray, bits: int) -> np.ndarray:
    """Interleave the bits of integer cell coordinates (n, d) into Z-curve codes (uint64)."""
    n, d = cells.shape
    code = np.zeros(n, dtype=np.uint64)
    c = cells.astype(np.uint64)
    for b in range(bits):
        for k in range(d):
            code |= ((c[:, k] >> np.uint64(b)) & np.uint64(1)) << np.uint64(b * d + k)
    return code


def random_positions(config: Config, key: np.uint64 | None = None) -> np.ndarray:
    """The dot positions of a random lattice, (N, d) float, in Morton order.

    N = round(density L^d) points uniform in [0, L)^d, drawn by a PCG64 generator from
    the seed tree's ``positions`` key (independent of ``run.stream``), then indexed by
    their Z-curve (Morton) order on a 2^bits grid (ties by draw order): a dot's index
    orders nothing physical, and this order keeps neighbours close in memory and the
    kernels' contiguous blocks of dots spatially compact.
    """
    v = view(config)
    d, L = v.lattice.d, float(v.lattice.L)
    n = random_dot_count(config)
    if key is None:
        key = seed_keys(v.run.seed)["positions"]
    pos = position_generator(key).random((n, d)) * L
    pos[pos >= L] = 0.0    # u L rounds up to L for no u < 1 in practice; keep [0, L) regardless
    bits = 63 // d
    cells = np.minimum((pos * (2.0 ** bits / L)).astype(np.int64), 2 ** bits - 1)
    order = np.argsort(_morton_codes(cells, bits), kind="stable")
    return np.ascontiguousarray(pos[order])


@jit
def _expand_random_rows(probes, M, slot, nb_ptr, nb_dot, nb_env, nb_r, key, gauss, ptr, lev, dot, U, r):
    """Expand the neighbouring dots of each probe's dot into level rows (CSR by probe).

    Dot neighbours of probe p are ``nb_ptr[slot[p]]:nb_ptr[slot[p] + 1]`` (its own dot
    first, then by distance); every level of those dots except the probe's own.
    """
    for p in range(probes.shape[0]):
        lp = probes[p]
        q = ptr[p]
        s = slot[p]
        for k in range(nb_ptr[s], nb_ptr[s + 1]):
            J = nb_dot[k]
            for b in range(M):
                lj = J * M + b
                if lj == lp:
                    continue
                lev[q] = lj
                dot[q] = J
                U[q] = nb_env[k] * pair_amplitude(key, lp, lj, gauss)
                r[q] = nb_r[k]
                q += 1


def random_neighbours(model: Model, dots: np.ndarray):
    """Dots within r_c of each of ``dots`` (distinct, sorted), by a k-d tree.

    Returns CSR ``(ptr, dot, sep, r)``: row i lists the dots J with
    |x_J - x_I| <= r_c (minimum image on a periodic box), its own dot first, then by
    distance (ties by index); ``sep`` (n, d) is the minimum-image separation x_J - x_I.
    """
    from scipy.spatial import cKDTree

    pos = model.positions
    assert pos is not None, "random_neighbours needs a model with random positions"
    L = float(model.L)
    tree = cKDTree(pos, boxsize=L if model.periodic else None, balanced_tree=False, compact_nodes=False)
    # a slightly larger ball, then the exact test below: the same r <= r_c rule everywhere
    lists = tree.query_ball_point(pos[dots], r=model.cutoff * (1 + 1e-9) + 1e-12, return_sorted=False)
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter((j for x in lists for j in x), dtype=np.int64, count=int(counts.sum()))
    owner = np.repeat(np.arange(len(dots)), counts)
    sep = pos[flat] - pos[dots[owner]]
    if model.periodic:
        sep -= L * np.round(sep / L)
    r = np.sqrt((sep * sep).sum(axis=1))
    keep = r <= model.cutoff + 1e-12
    owner, flat, sep, r = owner[keep], flat[keep], sep[keep], r[keep]
    # own dot first: it is the only J == I (another dot at r = 0 has measure zero)
    own = flat == dots[owner]
    order = np.lexsort((flat, r, ~own, owner))
    owner, flat, sep, r = owner[order], flat[order], sep[order], r[order]
    ptr = np.zeros(len(dots) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=len(dots)), out=ptr[1:])
    return ptr, flat, sep, r


def build_random_rows(model: Model, probes: np.ndarray) -> CouplingRows:
    """The coupling rows of the levels ``probes`` on random positions (docs/model.md §1).

    Only the probes' dots are queried (a k-d tree, never all pairs); U = A(r) u with the
    same pair hash u as on the lattice, the dipolar angular factor from the
    minimum-image separation.
    """
    c = model.config["couplings"]
    M = model.M
    probes = np.asarray(probes, dtype=np.int64)
    pdots, slot = np.unique(probes // M, return_inverse=True)
    nb_ptr, nb_dot, sep, nb_r = random_neighbours(model, pdots)
    env = pair_envelope(sep, nb_r, c)
    lengths = np.diff(nb_ptr)[slot] * M - 1
    ptr = np.zeros(probes.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    nnz = int(ptr[-1])
    check_coupling_entries(nnz, "run.probes, couplings.cutoff or lattice.density")
    lev = np.empty(nnz, dtype=np.int64)
    dot = np.empty(nnz, dtype=np.int64)
    U = np.empty(nnz)
    r = np.empty(nnz)
    _expand_random_rows(probes, M, slot.astype(np.int64), nb_ptr, nb_dot, env, nb_r, model.keys["couplings"],
                        c["amplitude"] == "gauss", ptr, lev, dot, U, r)
    return CouplingRows(ptr=ptr, level=lev, dot=dot, U=U, r=r)


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


def dot_gamma1(config: Config, positions: np.ndarray | None = None) -> np.ndarray:
    """Gamma1 of every dot: constant or log-uniform (dynamics.gamma1_distribution), then
    the boundary-bath profile (paper App. B), which overrides the rates in its region.

    On random positions (``positions``, default :func:`random_positions`) the bath
    regions are those of the lattice, read on the float coordinates: first
    coordinate x < width (left), x >= L - width (right), any coordinate within
    width of a face (all).
    """
    v = view(config)
    d, L = v.lattice.d, v.lattice.L
    if v.lattice.random and positions is None:
        positions = random_positions(config)
    n = L ** d if positions is None else positions.shape[0]
    if v.dynamics.loguniform:
        key = seed_keys(v.run.seed)["rates"]
        g = loguniform_rates(key, np.arange(n, dtype=np.int64), v.dynamics.rate_min, v.dynamics.gamma1)
    else:
        g = np.full(n, v.dynamics.gamma1, dtype=float)
    bath = v.dynamics.bath
    if bath.side != "none" and bath.width > 0:
        if positions is None:
            idx = np.arange(n)
            coords = np.stack([(idx // L ** k) % L for k in range(d)], axis=-1)
        else:
            coords = positions
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
    keys = seed_keys(run.seed, run.stream)
    positions = None
    if lat.random:
        positions = random_positions(config, keys["positions"])
        n_dots = positions.shape[0]
    else:
        n_dots = L ** d
    if n_dots > 50_000_000:
        raise ConfigError(f"lattice.L = {L} with lattice.d = {d} gives {n_dots} dots; the limit is 5e7")
    n_levels = n_dots * M
    if gamma1 is None:
        g1 = dot_gamma1(config, positions)
    else:
        g1 = np.asarray(gamma1, dtype=float).copy()
        if g1.shape != (n_dots,) or not np.all(np.isfinite(g1)) or np.any(g1 < 0):
            raise ConfigError(f"gamma1 array must have shape ({n_dots},) with finite values >= 0")
    kind = dyn.kind
    n_part = round(dyn.filling * M) if kind == "hop" else None
    nu = 0.5 if n_part is None else n_part / M
    n_tr = transitions_per_dot(kind, M, n_part)
    if lat.random:
        # docs/model.md §1: Eq. (12) with the density, or the dipolar statistical width
        rate = gamma2_rate(config, g1)
        lam = float(level_rate(kind, M, np.array(n_tr * rate)))
        g2 = gamma2_estimate_random(cpl.form, n_tr, rate, lam, cpl.gamma, d, lat.density * M,
                                    lat.density, cpl.amplitude)
        cutoff = (auto_cutoff_random(config["couplings"], d, lat.density * M, nu, g2, lat.density)
                  if cpl.cutoff == "auto" else float(cpl.cutoff))
        offsets, dist = np.zeros((0, d), dtype=np.int64), np.zeros(0)
    else:
        g2 = gamma2_estimate(n_tr, gamma2_rate(config, g1), cpl.gamma, d)
        cutoff = auto_cutoff(config["couplings"], g2) if cpl.cutoff == "auto" else float(cpl.cutoff)
        offsets, dist = neighbour_offsets(d, L, lat.periodic, cutoff)
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
                 keys=keys, offsets=offsets, offset_r=dist, positions=positions)
