"""The dynamics seam: what the orchestration needs from a kind of dynamics.

:class:`~simulator.engine.Simulation` (chunks, checkpoints, probes,
estimators, progress, output) talks to the dynamics only through
:class:`Dynamics`. A dynamics owns the occupations of every level and their
evolution; each chunk it reports every level change to the shared sample bins
with :func:`simulator.kernels.dots.deposit`, and the estimators rebuild the
probe phases from those bins, whatever produced them. :class:`FixedRates`
(every dot an independent Markov chain with its own rate, docs/model.md §3)
and :class:`Resonant` (rates that follow the level energies,
docs/resonant.md, by the serial thinning kernel of :mod:`simulator.resonant`)
implement it; :func:`make_dynamics` picks one from ``dynamics.resonance_width``.
docs/architecture.md lists what an implementation must provide.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from . import resonant as RK
from .config import Config
from .estimators import SurvivalLaw
from .kernels.dots import advance_dots, init_dots
from .kernels.state import FLIP, HOP, Bins, DotBlocks, DotRates, DotState, PushTable, SampleGrid, arrays_of
from .kernels.tables import dot_blocks
from .model import Model
from .physics import hop_particles, level_rate, survival_law


def fixed_push_rate(model: Model, push: PushTable) -> float:
    """Probe updates per unit time with fixed rates: each level changes at its level
    rate (:func:`simulator.physics.level_rate`) and moves the probes coupled to it."""
    pushes = np.diff(push.rev_ptr).reshape(model.n_dots, model.M).sum(axis=1)
    return float((level_rate(model.kind, model.M, model.dot_rates()) * pushes).sum())


class Dynamics(ABC):
    """Interface between the orchestration and one kind of dynamics.

    Attributes
    ----------
    event_rate : float
        Expected events per unit time of the whole lattice (work limit, chunk size).
    push_rate : float
        Expected probe updates per unit time (an event moving a coupled probe);
        sizes the 'auto' window spacing (docs/model.md §4).
    """

    event_rate: float
    push_rate: float

    @abstractmethod
    def set_threads(self, threads: int) -> None:
        """Prepare to advance with ``threads`` parallel blocks (bit-identical for any value)."""

    @abstractmethod
    def advance(self, grid: SampleGrid, bins: Bins) -> int:
        """Simulate every event in (grid.t_a, grid.t[grid.n - 1]], binning each level change
        into ``bins`` (:func:`simulator.kernels.dots.deposit`); return the number of events."""

    @abstractmethod
    def occupations(self) -> np.ndarray:
        """Current occupation (0/1) of every level, (n_levels,) uint8."""

    @abstractmethod
    def events_per_dot(self) -> np.ndarray:
        """Events of every dot so far, (n_dots,) int64."""

    @abstractmethod
    def state_arrays(self) -> dict[str, np.ndarray]:
        """Every evolving array, by name: saved in checkpoints and restored in place
        (names must not clash with the orchestration's, see engine.STATE_ARRAYS)."""

    @abstractmethod
    def survival_law(self) -> SurvivalLaw | None:
        """The exact law of each probe's own occupation, or None when it is not known
        (the error bars then rely on batch means alone, docs/model.md §4)."""

    def telegraph_rates(self) -> np.ndarray | None:
        """Switching rate of every level, (n_levels,), when every level is an independent
        symmetric telegraph (flip dynamics with fixed rates), else None. The model-based
        error terms of docs/model.md §4 (slow neighbours of the Ramsey signal, the exact
        error of ``sd_variance``) need it; without it those errors stay batch means."""
        return None

    @abstractmethod
    def n_proposals(self) -> int:
        """Proposed transitions so far (the events themselves when nothing is rejected)."""

    @abstractmethod
    def waiting_times(self) -> tuple[np.ndarray, np.ndarray]:
        """Per probe: mean and coefficient of variation of the waiting times between
        the probe level's own transitions (NaN where not recorded)."""


class FixedRates(Dynamics):
    """Fixed per-dot rates: flip or hop events at n_tr Gamma1(I) per dot (docs/model.md §3).

    Parameters
    ----------
    model : the run's :class:`~simulator.model.Model`.
    push : the run's :class:`~simulator.kernels.state.PushTable`.
    """

    def __init__(self, model: Model, push: PushTable):
        m = model
        self.model = m
        self.push = push
        rates = m.dot_rates()
        self.params = DotRates(FLIP if m.kind == "flip" else HOP, int(m.M),
                               int(hop_particles(m.n_particles)) if m.kind == "hop" else 0, rates)
        self.event_rate = float(rates.sum())
        self.push_rate = fixed_push_rate(m, push)
        self.state = DotState(rng=np.zeros((m.n_dots, 2), dtype=np.uint64),
                              occ=np.zeros(m.n_levels, dtype=np.uint8),
                              perm=np.zeros(m.n_levels, dtype=np.uint8),
                              t_next=np.zeros(m.n_dots), events=np.zeros(m.n_dots, dtype=np.int64))
        init_dots(self.params, m.keys["dynamics"], self.state)
        self.blocks: DotBlocks | None = None

    def set_threads(self, threads: int) -> None:
        m = self.model
        self.blocks = dot_blocks(threads, m.n_dots, m.M, m.probe_dot, self.push)

    def advance(self, grid: SampleGrid, bins: Bins) -> int:
        st = self.state
        assert self.blocks is not None, "set_threads() comes first"
        if self.blocks.relevant.shape[0] > 1:   # start-of-chunk state, read by blocks re-simulating halo dots
            snap = DotState(st.rng.copy(), st.occ.copy(), st.perm.copy(), st.t_next.copy(), st.events)
        else:
            snap = st
        return int(advance_dots(self.params, st, snap, self.blocks, self.push, grid, bins))

    def occupations(self) -> np.ndarray:
        return self.state.occ

    def events_per_dot(self) -> np.ndarray:
        return self.state.events

    def state_arrays(self) -> dict[str, np.ndarray]:
        return arrays_of(self.state)

    def survival_law(self) -> SurvivalLaw:
        m = self.model
        return survival_law(m.kind, m.M, m.n_particles, m.gamma1[m.probe_dot])

    def telegraph_rates(self) -> np.ndarray | None:
        m = self.model
        return np.repeat(m.gamma1, m.M) if m.kind == "flip" else None   # hop: a dot's levels are correlated

    def n_proposals(self) -> int:
        return int(self.state.events.sum())   # every event is taken: nothing is proposed and rejected

    def waiting_times(self) -> tuple[np.ndarray, np.ndarray]:
        # the parallel dot pass keeps no per-probe event times (it would cost the hot
        # loop a branch per event); the waiting times are exponential by construction
        P = self.model.probes.shape[0]
        return np.full(P, np.nan), np.full(P, np.nan)


class Resonant(Dynamics):
    """Resonant rates Gamma1(I) w^2/(dE^2 + w^2) (docs/resonant.md), by thinning in
    global causal order (:mod:`simulator.resonant`).

    Serial: one proposal stream for the whole lattice, so ``set_threads`` has no
    effect (the reconstruction of the probe phases still runs on the threads).
    ``event_rate`` is the proposal bound R = sum_I n_tr Gamma1(I), which sizes the
    chunks and the work limit (the accepted events are fewer).

    Parameters
    ----------
    model : the run's :class:`~simulator.model.Model` (Gamma1(I) is each transition's bound).
    push : the run's :class:`~simulator.kernels.state.PushTable`.
    width : the resonance width w > 0.
    """

    def __init__(self, model: Model, push: PushTable, width: float):
        m = self.model = model
        self.tables = RK.from_model(m, width)
        self.probe_tables = RK.with_touch(push)
        self.state = RK.init_state(self.tables, m.n_dots, m.probes.shape[0], m.keys["dynamics"])
        self.event_rate = float(self.tables.rate_total)
        self.push_rate = fixed_push_rate(m, push)   # the fixed rates' value bounds it: acceptance only lowers it

    def set_threads(self, threads: int) -> None:
        pass   # one global causal order: serial for any thread count

    def advance(self, grid: SampleGrid, bins: Bins) -> int:
        return RK.advance(self.state, self.tables, self.probe_tables, grid.t, grid.n, grid.t_a, grid.buckets,
                          bins.dEP, bins.dC)

    def occupations(self) -> np.ndarray:
        return self.state.occ

    def events_per_dot(self) -> np.ndarray:
        return self.state.accepted

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {RESONANT_PREFIX + k: v for k, v in arrays_of(self.state).items()}

    def survival_law(self) -> None:
        return None   # the own occupation is not a two-state Markov chain here

    def n_proposals(self) -> int:
        return int(self.state.counts[RK.C_PROPOSALS])

    def waiting_times(self) -> tuple[np.ndarray, np.ndarray]:
        wt = RK.waiting_time_stats(self.state)
        return wt["mean"], wt["cv"]


# the resonant state's arrays in a checkpoint ("eps" would clash with the probes')
RESONANT_PREFIX = "resonant_"


def resonance_width(config: Config) -> float | None:
    """dynamics.resonance_width as a number, or None for the fixed rates ('none')."""
    w = config["dynamics"].get("resonance_width", "none")
    return None if w == "none" else float(w)


def state_array_names(config: Config) -> tuple[str, ...]:
    """Names of the dynamics' arrays in a checkpoint of a run of ``config``."""
    if resonance_width(config) is None:
        return DotState._fields
    return tuple(RESONANT_PREFIX + k for k in RK.ResonantState._fields)


def make_dynamics(model: Model, push: PushTable) -> Dynamics:
    """The dynamics of a model: :class:`Resonant` when ``dynamics.resonance_width`` is a
    number, else :class:`FixedRates` (bit-identical to the runs before resonant rates)."""
    w = resonance_width(model.config)
    if w is None:
        return FixedRates(model, push)
    return Resonant(model, push, w)
