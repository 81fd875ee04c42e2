"""Typed, read-only views of a validated :class:`~simulator.config.Config`.

The configuration itself stays a nested dict (it is what is validated, written
back as TOML and compared); inside the simulator, ``view(config).run.tau.t0_spacing``
reads better than ``config["run"]["tau"]["t0_spacing"]`` and a misspelt field is
an AttributeError at once, not a KeyError deep in a run. The views hold the
validated values unchanged ("auto" stays the string "auto"); turning the "auto"
values into numbers is :func:`simulator.plan.resolve`'s job.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from .config import Config

#: a key that accepts a number or the word "auto"
Auto = float | str


def _from_table(cls, table: dict):
    """The view ``cls`` of one validated table (nested views built recursively)."""
    values = {}
    for f in fields(cls):
        v = table[f.name]
        sub = _NESTED.get((cls.__name__, f.name))
        values[f.name] = _from_table(sub, v) if sub is not None else v
    return cls(**values)


@dataclass(frozen=True)
class LatticeView:
    """[lattice]: dimension, linear size, boundary, levels per dot, kind and density of random dots."""

    d: int
    L: int
    boundary: str
    levels: int
    kind: str
    density: float

    @property
    def periodic(self) -> bool:
        return self.boundary == "periodic"

    @property
    def random(self) -> bool:
        return self.kind == "random"

    @property
    def n_dots(self) -> int:
        """L^d on the hypercubic lattice; round(density L^d) random dots."""
        if self.random:
            return int(round(self.density * float(self.L) ** self.d))
        return self.L ** self.d


@dataclass(frozen=True)
class CouplingsView:
    """[couplings]: the coupling law A(r) u_ij (docs/model.md §2)."""

    gamma: float
    xi: float
    form: str
    alpha: float
    intra: Auto
    amplitude: str
    cutoff: Auto
    cutoff_tol: float
    static_width: float


@dataclass(frozen=True)
class BathView:
    """[dynamics.bath]: faces coupled to a bath, their width and rate."""

    side: str
    width: int
    gamma1: float


@dataclass(frozen=True)
class DynamicsView:
    """[dynamics]: kind of transitions, rate, filling, bath."""

    kind: str
    gamma1: float
    gamma1_distribution: str
    gamma1_min: Auto
    filling: float
    bath: BathView

    @property
    def loguniform(self) -> bool:
        return self.gamma1_distribution == "loguniform"

    @property
    def rate_min(self) -> float:
        """The smallest rate of the loguniform distribution (gamma1_min resolved)."""
        return 1e-6 * self.gamma1 if self.gamma1_min == "auto" else float(self.gamma1_min)


@dataclass(frozen=True)
class TauView:
    """[run.tau]: the tau grid and the window spacing."""

    min: Auto
    max: Auto
    points: int
    t0_spacing: Auto


@dataclass(frozen=True)
class LineshapeView:
    """[run.lineshape]: the omega axis of the line shape and its truncation rule."""

    points: int
    omega_max: Auto
    tail: float


@dataclass(frozen=True)
class TrajectoryView:
    """[run.trajectory]: recorded probes and sampling interval."""

    probes: int
    dt: Auto


@dataclass(frozen=True)
class RunView:
    """[run]: length, seeds, probes, batches, checkpoints, tau grid, trajectory."""

    t_max: Auto
    flips: float
    seed: int
    stream: int
    probes: int | str
    batches: int
    checkpoint_every: float
    tau: TauView
    lineshape: LineshapeView
    trajectory: TrajectoryView


@dataclass(frozen=True)
class ConfigView:
    """The simulation tables of a configuration ([selfconsistent] is read by analysis/ only)."""

    lattice: LatticeView
    couplings: CouplingsView
    dynamics: DynamicsView
    run: RunView


_NESTED = {("DynamicsView", "bath"): BathView, ("RunView", "tau"): TauView,
           ("RunView", "lineshape"): LineshapeView,
           ("RunView", "trajectory"): TrajectoryView, ("ConfigView", "lattice"): LatticeView,
           ("ConfigView", "couplings"): CouplingsView, ("ConfigView", "dynamics"): DynamicsView,
           ("ConfigView", "run"): RunView}


def view(config: Config) -> ConfigView:
    """The typed view of a validated configuration's simulation tables.

    Only the fields declared here are read; a key added to the schema is simply
    not visible until it is declared in its view.
    """
    return _from_table(ConfigView, config.data)
