"""The resolve step: every "auto" of a configuration turned into numbers, once.

:func:`resolve` takes the validated configuration, the model (whose 'auto'
cutoff is already resolved) and the dynamics (its event and push rates size the
'auto' window spacing) and returns a frozen :class:`RunPlan`: simulated time,
tau grid, window strides, batches, trajectory times. It also validates, once,
everything that can only be checked after resolution (the tau range, the
trajectory size, the work limit of docs/reliability.md). The engine, the schedule
and the dataset read the plan; nothing downstream re-derives or re-checks these
numbers. The rules are those of docs/model.md §4.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import schedule as _schedule
from .config import ConfigError, RunError
from .physics import level_rate, require_positive, smallest_positive
from .schedule import Schedule, auto_spacing, statistical_spacing, strides_for, tau_grid
from .views import view

# Work limit (docs/reliability.md): a run whose expected number of events, or of
# estimator probe-samples, exceeds this is refused before it starts. 1e15 is about
# a week on 64 cores at the measured 2e7 events/s per core (docs/performance.md).
MAX_WORK = 1e15

# trajectory values (samples x probes) a run may record
MAX_TRAJECTORY_VALUES = 50_000_000


@dataclass(frozen=True)
class RunPlan:
    """The resolved numbers of one run (docs/model.md §4).

    Attributes
    ----------
    t_max : simulated time.
    tau : (K,) the tau grid; ``h`` = tau / 2, the half-tau grid spacing.
    stride : (K,) int64 window stride c_k (windows start every c_k * h_k).
    t0_spacing : the window spacing the rule chose (for 'auto': the cost rule's,
        before the statistical floor; recorded as ``resolved_t0_spacing``).
    tau_min, tau_max : the resolved tau range.
    n_batches, t_batch : batches of the batch means and their length t_max / n_batches.
    traj_dt, n_traj_times : trajectory sampling interval and number of samples (0, 0: none).
    traj_probes : indices (into the probe list) of the probes whose energy is recorded.
    cutoff, gamma2_estimate : the model's resolved coupling range and Gamma2 estimate.
    omega, lineshape_tail : the frequency axis of the line shape (run.lineshape.points
        values in [-omega_max, omega_max]; 'auto' omega_max = 1/tau_min) and its truncation rule.
    schedule : the sample times of this plan (:class:`~simulator.schedule.Schedule`).
    """

    t_max: float
    tau: np.ndarray
    h: np.ndarray
    stride: np.ndarray
    t0_spacing: float
    tau_min: float
    tau_max: float
    n_batches: int
    t_batch: float
    traj_dt: float
    n_traj_times: int
    traj_probes: np.ndarray
    cutoff: float
    gamma2_estimate: float
    omega: np.ndarray
    lineshape_tail: float
    schedule: Schedule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedule", Schedule(tau=self.tau, h=self.h, stride=self.stride, t_max=self.t_max,
                                                      traj_dt=self.traj_dt, n_traj_times=self.n_traj_times))

    @property
    def K(self) -> int:
        return self.tau.shape[0]

    @property
    def resolved(self) -> dict[str, float]:
        """The resolved 'auto' values, as written to the result (attributes ``resolved_<name>``)."""
        return {"t_max": self.t_max, "tau_min": self.tau_min, "tau_max": self.tau_max,
                "t0_spacing": self.t0_spacing, "trajectory_dt": self.traj_dt, "cutoff": self.cutoff,
                "gamma2_estimate": self.gamma2_estimate, "lineshape_omega_max": float(self.omega[-1])}

    def traj_times(self) -> np.ndarray:
        """The trajectory sample times m * traj_dt."""
        return np.arange(self.n_traj_times) * self.traj_dt


#: with log-uniform rates, 'auto' t_max resolves every level with a rate of at least
#: Gamma2_est / SLOW_RATE_FACTOR (= 1/tau_max of the 'auto' grid) into run.flips flips
SLOW_RATE_FACTOR = 20.0


def resolve_t_max(config, model) -> float:
    """run.t_max, or with 'auto' run.flips / (smallest non-zero Gamma1).

    With log-uniform rates (docs/model.md §4, Run length with a rate distribution) the
    rate is max(smallest Gamma1, Gamma2_est / 20): every level that can change within
    the longest 'auto' window (20/Gamma2_est) changes about run.flips times; slower
    levels are quasi-static over the windows, which is exact physics, not an error.
    """
    v = view(config)
    run = v.run
    if run.t_max != "auto":
        return float(run.t_max)
    g = require_positive(smallest_positive(model.gamma1), "run.t_max")
    if v.dynamics.loguniform:
        g = max(g, model.gamma2_est / SLOW_RATE_FACTOR)
    return float(run.flips / g)


def resolve(config, model, dynamics) -> RunPlan:
    """Resolve and validate a run: the :class:`RunPlan` of ``config`` on ``model``.

    ``dynamics`` supplies ``event_rate`` and ``push_rate`` (the 'auto' window
    spacing and the work limit). Raises :class:`~simulator.config.ConfigError`
    for an empty tau range or an oversized trajectory and
    :class:`~simulator.config.RunError` for a run over the work limit.
    """
    n_probes = int(model.probes.shape[0])
    # absurd tau ranges overflow the window strides; the work check below refuses them
    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plan = _resolve(config, model, n_probes, dynamics.event_rate, dynamics.push_rate)
    check_work(dynamics.event_rate, plan.t_max, n_probes, plan.schedule.rate())
    return plan


def _resolve(config, model, n_probes: int, event_rate: float, push_rate: float) -> RunPlan:
    """:func:`resolve` without the work check, for ``n_probes`` probes."""
    run = view(config).run
    t_max = resolve_t_max(config, model)
    g2 = model.gamma2_est
    gamma = view(config).couplings.gamma
    tau_cfg = run.tau
    if tau_cfg.min == "auto":
        require_positive(g2, "run.tau.min")
        tmin = min(0.05 / g2, 0.3 / gamma)
        if view(config).dynamics.loguniform:
            # Gamma2_est follows the mean rate; a probe on one of the fastest dots
            # decays at least at its own level's rate (physics.level_rate)
            fastest = level_rate(model.kind, model.M, model.n_tr * float(np.max(model.gamma1)))
            tmin = min(tmin, 0.05 / fastest)
    else:
        tmin = tau_cfg.min
    if tau_cfg.max == "auto":
        require_positive(g2, "run.tau.max")
        tmax = min(20.0 / g2, t_max / 4.0)
    else:
        tmax = tau_cfg.max
    if not tmax > tmin:
        raise ConfigError(f"run.tau: resolved tau range [{tmin:g}, {tmax:g}] is empty; "
                          f"raise run.t_max or set run.tau.min / run.tau.max")
    if tmax > t_max:
        raise ConfigError(f"run.tau.max = {tmax:g} is not allowed: expected at most run.t_max = {t_max:g}")
    tau = tau_grid(tmin, tmax, tau_cfg.points)
    h = tau / 2.0
    if tau_cfg.t0_spacing == "auto":
        spacing = auto_spacing(h, n_probes, event_rate, push_rate, t_max)
        # statistics first: whatever the cost budget says, every tau gets at
        # least MIN_WINDOWS_PER_TAU windows (fewer only where the densest grid
        # has fewer), so every probe's crossing is averaged over enough windows
        # (read from the module: tests change it)
        floor = statistical_spacing(h, t_max, _schedule.MIN_WINDOWS_PER_TAU)
        stride = np.minimum(strides_for(h, spacing), strides_for(h, floor))
        if view(config).dynamics.loguniform:
            # a rate distribution puts strong neighbours that flip only a few times per
            # window sample next to the fast ones; with 1000 windows their flips are
            # rare events the batch means miss (docs/model.md §4, Run length with a rate
            # distribution), so every window is taken: one every tau/2, covering the run
            stride = np.ones_like(stride)
    else:
        spacing = float(tau_cfg.t0_spacing)
        stride = strides_for(h, spacing)
    n_traj = min(run.trajectory.probes, n_probes)
    if n_traj > 0:
        dt = t_max / 2000.0 if run.trajectory.dt == "auto" else float(run.trajectory.dt)
        n_times = math.floor(t_max / dt + 1e-9) + 1
        if n_times * n_traj > MAX_TRAJECTORY_VALUES:
            raise ConfigError(f"run.trajectory.dt = {dt:g} gives {n_times} samples x {n_traj} probes; "
                              f"the limit is 5e7 values: raise run.trajectory.dt")
        # evenly spread over the probe list
        traj_probes = np.unique(np.linspace(0, n_probes - 1, n_traj).round().astype(np.int64))
    else:
        dt, n_times = 0.0, 0
        traj_probes = np.zeros(0, dtype=np.int64)
    n_batches = int(run.batches)
    # the line shape's axis: 'auto' spans the frequencies the tau grid resolves (R is
    # only interpolated below tau_min, so the line above 1/tau_min is not measured)
    ls = run.lineshape
    omega_max = 1.0 / tmin if ls.omega_max == "auto" else float(ls.omega_max)
    omega = np.linspace(-omega_max, omega_max, int(ls.points))
    return RunPlan(t_max=float(t_max), tau=tau, h=h, stride=stride, t0_spacing=float(spacing),
                   tau_min=float(tmin), tau_max=float(tmax), n_batches=n_batches,
                   t_batch=float(t_max) / n_batches, traj_dt=float(dt), n_traj_times=n_times,
                   traj_probes=traj_probes, cutoff=float(model.cutoff), gamma2_estimate=float(model.gamma2_est),
                   omega=omega, lineshape_tail=float(ls.tail))


def check_work(event_rate: float, t_max: float, n_probes: int, sample_rate: float) -> None:
    """Refuse a run whose expected work exceeds :data:`MAX_WORK` (docs/reliability.md).

    Expected events = total event rate x t_max; estimator work = probes x sample
    times per unit time x t_max (probe-samples).
    """
    events = event_rate * t_max
    if not events <= MAX_WORK:
        raise RunError(f"the run would take about {events:.3g} events (event rate {event_rate:.3g} x run.t_max "
                       f"{t_max:.3g}), more than the limit {MAX_WORK:.0e} (about a week on 64 cores): lower "
                       f"dynamics.gamma1 (or bath.gamma1), run.t_max (run.flips) or lattice.L")
    samples = n_probes * sample_rate * t_max
    if not samples <= MAX_WORK:
        raise RunError(f"the estimators would take about {samples:.3g} probe-samples ({n_probes} probes x "
                       f"{sample_rate:.3g} sample times per unit time x run.t_max {t_max:.3g}), more than the limit "
                       f"{MAX_WORK:.0e}: raise run.tau.min or run.tau.t0_spacing, or lower run.t_max or run.probes")
