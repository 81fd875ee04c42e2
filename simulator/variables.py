"""The registry of output variables: name, dims, units, long_name and meaning of
every variable and coordinate dotkmc writes (run, sweep and self-consistent loop).

:func:`simulator.dataset.to_dataset`, :func:`simulator.sweep.combine` and
:func:`analysis.closure.run_loop` take the ``units``, ``long_name`` and
``comment`` attributes of what they write from here, and refuse to write a
variable that is not registered (or whose dims differ from the registry's), so
a result file describes itself and nothing escapes this table.
``python -m simulator.variables`` prints it as the markdown page
``docs/variables.md``.

Units (CF ``units`` attribute)
------------------------------
ħ = 1 and every energy and rate is in the unit of the configuration key
``couplings.gamma`` (docs/model.md); times are in its inverse. The unit strings
follow UDUNITS syntax (the one CF uses):

* ``couplings_gamma``   -- energies and rates;
* ``couplings_gamma-1`` -- times (the inverse unit; UDUNITS writes x^-1 as ``x-1``);
* ``couplings_gamma2``  -- squared energies (UDUNITS writes x^2 as ``x2``);
* ``1``                 -- dimensionless numbers, counts, indices, flags, text,
  and lengths in lattice spacings;
* ``s``                 -- wall-clock seconds (only ``run.checkpoint_every``).

The symbol is deliberately not the bare word ``gamma``: UDUNITS (and so CF
tools such as cf-units or pint) defines ``gamma`` as a nanotesla, and would
silently read our rates as magnetic fields. ``couplings_gamma`` is not a
UDUNITS unit, so a unit-aware reader stops instead of converting wrongly.

Dims
----
``*sweep`` in a registered dims tuple stands for the dimensions of a sweep:
one per swept key (``dotted.key`` -> ``dotted__key``) and then ``realization``.
"""
from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import xarray as xr

__all__ = ["Var", "RUN", "MEMBER_ATTRS", "SWEEP", "HISTORY", "CONFIG_UNITS", "ENERGY", "ENERGY2", "TIME", "ONE",
           "SWEEP_DIMS", "CONVENTIONS", "VERSION_ATTRS", "SWEEP_KEPT_ATTRS", "provenance_attrs",
           "run_variable", "swept_key", "sweep_spec", "annotate", "render_page"]

ENERGY = "couplings_gamma"
TIME = "couplings_gamma-1"
ENERGY2 = "couplings_gamma2"
ONE = "1"
#: placeholder for the sweep dimensions in registered dims
SWEEP_DIMS = "*sweep"
CONVENTIONS = "CF-1.10"


@dataclass(frozen=True)
class Var:
    """One registered output variable or coordinate.

    Attributes
    ----------
    name : variable name in the dataset.
    dims : its dimensions (``*sweep`` for the sweep dimensions).
    units : CF ``units`` string (see the module docstring).
    long_name : short human-readable name (CF ``long_name``).
    doc : one or two sentences saying precisely what it is (CF ``comment``).
    """

    name: str
    dims: tuple[str, ...]
    units: str
    long_name: str
    doc: str

    @property
    def attrs(self) -> dict:
        """The CF attributes written on the variable."""
        return {"units": self.units, "long_name": self.long_name, "comment": self.doc}

    @property
    def is_dimension_coordinate(self) -> bool:
        return self.dims == (self.name,)


def _table(*entries: Var) -> dict[str, Var]:
    out = {}
    for v in entries:
        if v.name in out:
            raise ValueError(f"variable {v.name!r} registered twice")
        out[v.name] = v
    return out


# ---------------------------------------------------------------------------
# a run (simulator.run, dotkmc run): simulator/dataset.py::to_dataset
# ---------------------------------------------------------------------------
RUN = _table(
    # coordinates
    Var("probe", ("probe",), ONE, "probe number",
        "Position in the run's probe list (0-based); the probe levels are drawn from the run's seed without "
        "replacement and sorted by level index (docs/model.md section 2)."),
    Var("tau", ("tau",), TIME, "window length tau",
        "Window lengths of the echo and Ramsey estimators: run.tau.points log-spaced values in "
        "[resolved_tau_min, resolved_tau_max] (docs/model.md section 4, Windows)."),
    Var("time", ("time",), TIME, "trajectory sample time",
        "Times k * resolved_trajectory_dt, from the start of the run, at which `energy` is sampled "
        "(docs/model.md section 4, Trajectories)."),
    Var("dot", ("dot",), ONE, "dot index",
        "Dot index I = x0 + L x1 + L^2 x2 on the d-dimensional lattice (docs/model.md section 1)."),
    Var("axis", ("axis",), ONE, "lattice axis",
        "Lattice axis 0 .. d-1 of the components of `probe_position`."),
    # estimators
    Var("echo", ("probe", "tau"), ONE, "Hahn echo Re E_i(tau)",
        "Real part of the Hahn echo E_i(tau) = < S_i exp(i[phi(t0+tau) - 2 phi(t0+tau/2) + phi(t0)]) > over "
        "window starts t0 (docs/model.md section 4); its imaginary part vanishes for these stationary, "
        "reversible dynamics."),
    Var("echo_stderr", ("probe", "tau"), ONE, "standard error of echo",
        "Standard error of `echo`: weighted batch means over batches of equal simulated time for the "
        "dephasing noise, plus the exact variance of the probe's own survival count, so it is honest where "
        "own transitions are rare (docs/model.md section 4, Error bars)."),
    Var("ramsey", ("probe", "tau"), ONE, "Ramsey Re R_i(tau)",
        "Real part of the Ramsey signal R_i(tau) = < S_i exp(i[phi~(t0+tau) - phi~(t0)]) > with the static "
        "energy left out of the phase phi~, which removes the mean frequency exactly (docs/model.md section 4)."),
    Var("ramsey_stderr", ("probe", "tau"), ONE, "standard error of ramsey",
        "Standard error of `ramsey`, formed like `echo_stderr`; for flip dynamics with fixed rates plus the "
        "scatter between histories of the probe's quasi-static neighbours (those switching fewer than 3 times "
        "per batch), which batch means misses (docs/model.md section 4, Error bars; Run length with a rate "
        "distribution)."),
    Var("ramsey_imag", ("probe", "tau"), ONE, "Ramsey Im R_i(tau)",
        "Imaginary part of R_i(tau); non-zero for hop dynamics away from half filling "
        "(docs/model.md section 4)."),
    Var("n_windows", ("tau",), ONE, "windows per probe",
        "Number of windows (start times t0) averaged into each probe's echo and Ramsey value at this tau; "
        "the 'auto' schedule gives at least 1000 (or a window every tau/2); below about 50 at a probe's 1/e "
        "crossing its Gamma2 is biased high (docs/model.md section 2)."),
    Var("n_batches", ("tau",), ONE, "batches in the standard error",
        "Number B of batches holding at least one completed window at this tau, the B of the batch-means "
        "error (docs/model.md section 4, Error bars)."),
    Var("gamma2_echo", ("probe",), ENERGY, "echo linewidth Gamma2",
        "Gamma2 = 1/tau_e with Re E_i(tau_e) = 1/e, interpolated linearly in log tau at the first downward "
        "crossing; NaN if the echo does not cross inside the tau grid (docs/model.md section 4, Linewidths)."),
    Var("gamma2_echo_stderr", ("probe",), ENERGY, "standard error of gamma2_echo",
        "Delta-method error of `gamma2_echo` from `echo_stderr` and the local slope of the echo at the "
        "crossing (docs/model.md section 4, Linewidths)."),
    Var("gamma2_ramsey", ("probe",), ENERGY, "Ramsey linewidth Gamma2*",
        "Gamma2* = 1/tau_e with Re R_i(tau_e) = 1/e, found like `gamma2_echo` (docs/model.md section 4)."),
    Var("gamma2_echo_typical", (), ENERGY, "typical echo linewidth",
        "Median of `gamma2_echo` over the probes whose echo crossed 1/e: the paper's typical linewidth "
        "(docs/model.md section 4); NaN if none crossed."),
    Var("gamma2_echo_of_mean", (), ENERGY, "Gamma2 of the probe-averaged echo",
        "1/tau_e of the echo averaged over probes (docs/model.md section 4, Linewidths)."),
    Var("gamma2_ramsey_typical", (), ENERGY, "typical Ramsey linewidth",
        "Median of `gamma2_ramsey` over the probes whose Ramsey signal crossed 1/e; NaN if none crossed."),
    Var("gamma2_ramsey_of_mean", (), ENERGY, "Gamma2* of the probe-averaged Ramsey signal",
        "1/tau_e of the Ramsey signal averaged over probes (docs/model.md section 4, Linewidths)."),
    Var("sd_variance", ("probe", "tau"), ENERGY2, "spectral-diffusion variance sigma_i^2(t_w = tau)",
        "Mean over windows of D^2, D = eps_i(t0+tau) - eps_i(t0) the change of the probe's energy over the "
        "waiting time t_w = tau, over every window whether or not the probe's own occupation changed "
        "(docs/model.md section 4, Spectral diffusion); exact value for fixed rates in "
        "docs/spectral-diffusion.md section 2."),
    Var("sd_variance_stderr", ("probe", "tau"), ENERGY2, "standard error of sd_variance",
        "Flip dynamics with fixed rates: the exact standard deviation of `sd_variance` over histories for "
        "the run's window grid, from the model (every flip, however rare, and windows longer than a batch). "
        "Hop and resonant dynamics: weighted batch-means standard error, which misses the Poisson noise "
        "where fewer than about one window per tau point sees a change of a coupled level "
        "(docs/model.md section 4, Spectral diffusion)."),
    Var("sd_width", ("probe", "tau"), ENERGY, "spectral-diffusion width sigma_i(t_w = tau)",
        "sqrt(`sd_variance`): the rms spread of the probe's energy after a waiting time t_w = tau, what "
        "hole burning and single-molecule spectroscopy measure (its relative error is half that of "
        "`sd_variance`)."),
    Var("sd_variance_probe_mean", ("tau",), ENERGY2, "probe-averaged spectral-diffusion variance",
        "Mean of `sd_variance` over the probes (NaN-free probes); the probes differ in their couplings, so "
        "its spread over probes is disorder, not a statistical error."),
    Var("omega", ("omega",), ENERGY, "frequency omega of the line shape",
        "run.lineshape.points values evenly spaced in [-resolved_lineshape_omega_max, "
        "resolved_lineshape_omega_max], measured from the probe's static energy eps0_i (docs/model.md "
        "section 4, Line shape)."),
    Var("lineshape", ("probe", "omega"), TIME, "line shape S_i(omega)",
        "S_i(omega) = (1/pi) Re int_0^inf R_i(tau) e^{-i omega tau} d tau of the measured Ramsey signal "
        "(R(0) = 1, a cubic spline through the tau points; a shift +Delta of the level puts the line "
        "at omega = +Delta), integrated to `lineshape_tau_cut` and divided by its trapezoid area on `omega`; NaN "
        "where R_i has not decayed by tau_max (docs/model.md section 4, Line shape)."),
    Var("lineshape_error_bound", ("probe", "omega"), TIME, "error bound of lineshape",
        "sum_k |dS_i(omega)/dRe R_i(tau_k)| ramsey_stderr_k: an upper bound of the standard deviation of "
        "`lineshape` from the errors of Re R for any correlation between the tau points; the error of "
        "`ramsey_imag` (odd part of the line) is not included (docs/model.md section 4, Line shape)."),
    Var("lineshape_mean", ("omega",), TIME, "line shape of the probe-averaged Ramsey signal",
        "The line shape, formed like `lineshape`, of the Ramsey signal averaged over probes (complex mean)."),
    Var("lineshape_mean_error_bound", ("omega",), TIME, "error bound of lineshape_mean",
        "Formed like `lineshape_error_bound` with the mean of the probes' ramsey_stderr, which bounds the "
        "standard deviation of the mean signal for any correlation between probes."),
    Var("lineshape_tau_cut", ("probe",), TIME, "end tau_cut of the line-shape integral",
        "The tau point after the last one where |R_i| > run.lineshape.tail + 3 ramsey_stderr: the integral of "
        "`lineshape` stops there (R taken as 0 beyond); NaN where |R_i(tau_max)| exceeds that level (no line) "
        "(docs/model.md section 4, Line shape)."),
    Var("lineshape_mean_tau_cut", (), TIME, "end tau_cut of the mean line-shape integral",
        "`lineshape_tau_cut` of the probe-averaged Ramsey signal (`lineshape_mean`)."),
    Var("energy", ("traj_probe", "time"), ENERGY, "probe level energy eps_i(t)",
        "Level energy eps_i(t) = eps0_i + sum_j U_ij (n_j(t) - nu_J) of the trajectory probes at the "
        "times `time` (docs/model.md sections 1 and 4, Trajectories)."),
    # model
    Var("gamma1", ("dot",), ENERGY, "transition rate Gamma1 per dot",
        "Gamma1 of each dot: dynamics.gamma1 or, with dynamics.gamma1_distribution = 'loguniform', a draw "
        "log-uniform in [gamma1_min, gamma1]; dynamics.bath.gamma1 in the bath region; or the per-dot array "
        "passed to simulator.run (docs/model.md section 1, Rates)."),
    Var("events_per_dot", ("dot",), ONE, "transitions per dot",
        "Number of transitions (events) of each dot during the run (docs/model.md section 2)."),
    Var("n_events", (), ONE, "total transitions",
        "Total number of transitions of all dots during the run (the sum of `events_per_dot`)."),
    Var("n_proposals", (), ONE, "proposed transitions",
        "Transitions proposed by the dynamics: with resonant rates the thinning proposals at the bound "
        "sum_I n_tr Gamma1(I), of which `n_events` were accepted; with fixed rates every proposal is taken, "
        "so it equals `n_events` (docs/resonant.md)."),
    Var("gamma1_measured", ("probe",), ENERGY, "own transition rate of each probe level",
        "Changes of the probe level's own occupation per unit of simulated time (its own-change count at "
        "the end / simulated_time): Gamma1(I) for fixed flip rates, 2 n(M-n) Gamma1(I)/M for fixed hop rates, "
        "lower with resonant rates (docs/resonant.md section 2.2)."),
    Var("gamma1_measured_stderr", ("probe",), ENERGY, "standard error of gamma1_measured",
        "Batch means over the run's batches (run.batches) of the probe's own-change counts; a batch's count "
        "covers the events up to the last sample time before its boundary, so batches differ from "
        "t_max/batches by at most one sample spacing (the whole-run count is exact)."),
    Var("waiting_time_mean", ("probe",), TIME, "mean waiting time between own transitions",
        "Mean time between consecutive own transitions of the probe level (resonant rates; NaN with fewer "
        "than one interval). NaN for fixed rates: the parallel fixed-rate dot pass keeps no event times, and "
        "there the waiting times are exponential by construction (mean 1/`gamma1_measured`)."),
    Var("waiting_time_cv", ("probe",), ONE, "coefficient of variation of the waiting times",
        "Standard deviation / mean of the times between the probe level's own transitions: 1 for Poissonian "
        "transitions, above 1 when they come in bursts (resonant rates; NaN with fewer than two intervals, "
        "and for fixed rates as for `waiting_time_mean`)."),
    Var("probe_dot", ("probe",), ONE, "dot of each probe",
        "Dot index I of each probe level (docs/model.md section 1)."),
    Var("probe_level", ("probe",), ONE, "level of each probe in its dot",
        "Level alpha (0 .. M-1) of each probe within its dot (docs/model.md section 1)."),
    Var("probe_index", ("probe",), ONE, "global level index of each probe",
        "Global level index l = I*M + alpha of each probe (docs/model.md section 1); with the "
        "configuration it rebuilds the probe's couplings (simulator.model_from_dataset)."),
    Var("probe_position", ("probe", "axis"), ONE, "lattice position of each probe",
        "Position (in lattice spacings) of each probe's dot: integer lattice coordinates (lattice.kind = "
        "'hypercubic'), or the dot's coordinates in the box [0, L)^d (float; lattice.kind = 'random') "
        "(docs/model.md section 1)."),
    Var("static_energy", ("probe",), ENERGY, "static energy eps0_i",
        "Static energy eps0_i of each probe level, uniform in [-W/2, W/2] with W = couplings.static_width "
        "(docs/model.md section 1)."),
    Var("traj_probe_index", ("traj_probe",), ONE, "probe number of each trajectory",
        "Position in the probe list (coordinate `probe`) of each probe whose `energy` is recorded; "
        "run.trajectory.probes of them, evenly spread over the list."),
    Var("t0_stride", ("tau",), ONE, "window start stride c_k",
        "Windows start every c_k-th point of the grid t = j tau/2, c_k = max(1, round(spacing_k / (tau/2))) "
        "(docs/model.md section 4, Windows)."),
)

# ---------------------------------------------------------------------------
# run attributes that a sweep stacks into per-member variables (simulator.sweep)
# ---------------------------------------------------------------------------
MEMBER_ATTRS = _table(
    Var("finished", (SWEEP_DIMS,), ONE, "run finished",
        "1 if the run reached its t_max, 0 for a partial result of an interrupted run."),
    Var("simulated_time", (SWEEP_DIMS,), TIME, "simulated time reached",
        "Simulated time the run reached (its t_max when finished)."),
    Var("kind", (SWEEP_DIMS,), ONE, "dynamics kind",
        "dynamics.kind of the run: 'flip' or 'hop' (docs/model.md section 2)."),
    Var("resolved_t_max", (SWEEP_DIMS,), TIME, "resolved run.t_max",
        "Simulated time of the run, run.t_max or, for 'auto', run.flips / (smallest non-zero Gamma1); with "
        "log-uniform rates run.flips / max(smallest Gamma1, Gamma2_est/20) (docs/model.md section 4)."),
    Var("resolved_tau_min", (SWEEP_DIMS,), TIME, "resolved run.tau.min",
        "Smallest window length; 'auto' is min(0.05/Gamma2_est, 0.3/gamma) (docs/model.md section 4)."),
    Var("resolved_tau_max", (SWEEP_DIMS,), TIME, "resolved run.tau.max",
        "Largest window length; 'auto' is min(20/Gamma2_est, t_max/4) (docs/model.md section 4)."),
    Var("resolved_t0_spacing", (SWEEP_DIMS,), TIME, "resolved run.tau.t0_spacing",
        "Minimum spacing of window start times; 'auto' keeps the estimator's work below the simulation's "
        "(docs/model.md section 4, Windows)."),
    Var("resolved_trajectory_dt", (SWEEP_DIMS,), TIME, "resolved run.trajectory.dt",
        "Sampling interval of `energy` ('auto': t_max/2000; 0 without trajectory probes)."),
    Var("resolved_cutoff", (SWEEP_DIMS,), ONE, "coupling range r_c",
        "Coupling range r_c in lattice spacings; 'auto' is the smallest r with A(r) <= cutoff_tol * Gamma2_est, "
        "at least 1 (hypercubic lattice), or the smallest r whose neglected tail moves -ln E by at most "
        "cutoff_tol at tau = 3/Gamma2_est, at least the mean spacing (random positions) (docs/model.md section 1)."),
    Var("resolved_gamma2_estimate", (SWEEP_DIMS,), ENERGY, "Eq. (12) estimate Gamma2_est",
        "Gamma2_est = n_tr Gamma1 max(1, log[gamma/(n_tr Gamma1)])^d, the paper's Eq. (12) with the real "
        "transition count, used by the 'auto' choices; Gamma1 is the smallest positive rate, or for log-uniform "
        "rates the distribution's mean; on random positions scaled by the density, or for dipolar couplings "
        "min(Gamma*, sqrt(Gamma* lambda)) (docs/model.md section 1)."),
    Var("resolved_lineshape_omega_max", (SWEEP_DIMS,), ENERGY, "resolved run.lineshape.omega_max",
        "Half-width of the line shape's `omega` axis; 'auto' is 1/resolved_tau_min, the highest frequency the "
        "tau grid resolves (docs/model.md section 4, Line shape)."),
)

# ---------------------------------------------------------------------------
# a sweep's own variables (simulator/sweep.py::combine); every run variable is
# stacked there with dims (*sweep, <its run dims>)
# ---------------------------------------------------------------------------
SWEEP = _table(
    Var("realization", ("realization",), ONE, "realization number",
        "Realization 0 .. sweep.realizations-1; every realization has its own seed (docs/sweeps.md)."),
    Var("tau_value", (SWEEP_DIMS, "tau"), TIME, "window length tau of each member",
        "The `tau` grid of each member; `tau` is positional in a sweep because 'auto' grids differ "
        "between members (docs/sweeps.md)."),
    Var("time_value", (SWEEP_DIMS, "time"), TIME, "trajectory sample time of each member",
        "The `time` grid of each member's `energy` trajectory (docs/sweeps.md)."),
    Var("omega_value", (SWEEP_DIMS, "omega"), ENERGY, "line-shape frequency of each member",
        "The `omega` axis of each member's line shape ('auto' axes follow tau_min; docs/sweeps.md)."),
    Var("member_seed", (SWEEP_DIMS,), ONE, "member run.seed",
        "run.seed of each member, derived from the base run.seed by SeedSequence spawning (docs/sweeps.md, "
        "Seed scheme)."),
    Var("member_config", (SWEEP_DIMS,), ONE, "member configuration (TOML)",
        "Full configuration of each member as TOML text; `dotkmc run` on it re-runs the member alone."),
    Var("member_failed", (SWEEP_DIMS,), ONE, "member failed (0/1)",
        "1 if the member raised (its data are NaN), else 0."),
    Var("member_error", (SWEEP_DIMS,), ONE, "member error message",
        "Error message of a failed member, '' if it succeeded."),
    Var("member_sizes", (SWEEP_DIMS, "member_dim"), ONE, "member size along each of its dims",
        "Each member's true size along each of its dimensions (0 for a failed member); shorter members are "
        "padded at the end (docs/sweeps.md)."),
    Var("member_dim", ("member_dim",), ONE, "member dimension name",
        "Names of the members' own dimensions, the columns of `member_sizes`."),
)

#: units of every configuration key, for the coordinates of swept keys
#: (a test checks this covers the schema in simulator/config.py)
CONFIG_UNITS: dict[str, str] = {
    "lattice.d": ONE, "lattice.L": ONE, "lattice.boundary": ONE, "lattice.levels": ONE,
    "lattice.kind": ONE, "lattice.density": ONE,
    "couplings.gamma": ENERGY, "couplings.xi": ONE, "couplings.form": ONE, "couplings.alpha": ONE,
    "couplings.intra": ENERGY, "couplings.amplitude": ONE, "couplings.cutoff": ONE, "couplings.cutoff_tol": ONE,
    "couplings.static_width": ENERGY,
    "dynamics.kind": ONE, "dynamics.gamma1": ENERGY, "dynamics.gamma1_distribution": ONE, "dynamics.gamma1_min": ENERGY,
    "dynamics.filling": ONE, "dynamics.resonance_width": ENERGY,
    "dynamics.bath.side": ONE, "dynamics.bath.width": ONE, "dynamics.bath.gamma1": ENERGY,
    "run.t_max": TIME, "run.flips": ONE, "run.seed": ONE, "run.stream": ONE, "run.probes": ONE,
    "run.batches": ONE, "run.checkpoint_every": "s",
    "run.tau.min": TIME, "run.tau.max": TIME, "run.tau.points": ONE, "run.tau.t0_spacing": TIME,
    "run.lineshape.points": ONE, "run.lineshape.omega_max": ENERGY, "run.lineshape.tail": ONE,
    "run.trajectory.probes": ONE, "run.trajectory.dt": TIME,
    "selfconsistent.delta_m": ENERGY, "selfconsistent.K": ONE, "selfconsistent.Xi": ONE,
    "selfconsistent.equation": ONE, "selfconsistent.damping": ONE, "selfconsistent.max_iterations": ONE,
    "selfconsistent.tolerance": ONE, "selfconsistent.mode": ONE, "selfconsistent.pin": ONE,
    "selfconsistent.gamma1_init": ENERGY, "selfconsistent.flips": ONE, "selfconsistent.disorder": ONE,
    "selfconsistent.floor": ONE,
}

# ---------------------------------------------------------------------------
# the self-consistent loop's history.nc (analysis/closure.py::run_loop)
# ---------------------------------------------------------------------------
HISTORY = _table(
    Var("iteration", ("iteration",), ONE, "loop iteration",
        "Iteration k of the self-consistent loop; the full result of iteration k is in iter-kkkk.nc "
        "(k zero-padded to 4 digits) beside history.nc (docs/selfconsistent.md)."),
    Var("gamma1", ("iteration", "dot"), ENERGY, "Gamma1 simulated",
        "Per-dot Gamma1 profile the simulation of iteration k ran with."),
    Var("gamma2", ("iteration", "dot"), ENERGY, "Gamma2 measured",
        "Echo Gamma2 measured with that profile, per dot: the median over probes on every dot (homogeneous "
        "loop) or the mean over the dot's levels (profile); a probe whose echo stays above 1/e up to tau_max "
        "counts as 0, one already below at tau_min as 1/tau_min."),
    Var("gamma2_stderr", ("iteration", "dot"), ENERGY, "standard error of gamma2",
        "Standard error of `gamma2` (bootstrap of the median, or the probes' delta-method errors)."),
    Var("gamma1_target", ("iteration", "dot"), ENERGY, "Gamma1 from Gamma2 by Eq. (16)/(17)",
        "Undamped new Gamma1 from the measured Gamma2 by the paper's Eq. (16) (Xi log K > 1) or Eq. (17); "
        "fixed (bath, pinned) dots keep their rate."),
    Var("gamma1_next", ("iteration", "dot"), ENERGY, "damped Gamma1 for the next iteration",
        "log Gamma1 <- (1 - a) log Gamma1 + a log gamma1_target, a = selfconsistent.damping "
        "(docs/selfconsistent.md)."),
    Var("max_z", ("iteration",), ONE, "largest change in standard errors",
        "Largest |gamma1_target - gamma1| / sigma over the updated dots (projected with the map slope for a "
        "homogeneous loop), compared with selfconsistent.tolerance for convergence."),
    Var("map_slope", ("iteration",), ONE, "slope of the loop map",
        "Measured slope d log F(Gamma2(Gamma1)) / d log Gamma1 of the loop map from the last two iterations; "
        "NaN when not measurable."),
)


# ---------------------------------------------------------------------------
# provenance
# ---------------------------------------------------------------------------
#: global attribute -> distribution whose version it records ("python": the interpreter)
VERSION_ATTRS = {"version": "dotkmc", "version_numpy": "numpy", "version_numba": "numba",
                 "version_xarray": "xarray", "version_netCDF4": "netCDF4", "version_scipy": "scipy",
                 "version_python": "python"}


#: run attributes that a sweep keeps as its own attributes (or drops: config, seed,
#: wall_time) instead of stacking them into per-member variables (:data:`MEMBER_ATTRS`)
SWEEP_KEPT_ATTRS = ("title", "config", "seed", "wall_time", "units", "Conventions", *VERSION_ATTRS)


def _version_of(dist: str) -> str:
    if dist == "dotkmc":
        from .dataset import package_version

        return package_version()
    if dist == "python":
        return platform.python_version()
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def provenance_attrs() -> dict[str, str]:
    """Global attributes ``Conventions`` and the versions of dotkmc (``version``) and
    of the libraries and interpreter that produced a result (``version_<name>``)."""
    return {"Conventions": CONVENTIONS, **{attr: _version_of(dist) for attr, dist in VERSION_ATTRS.items()}}


# ---------------------------------------------------------------------------
# building and checking datasets
# ---------------------------------------------------------------------------
def run_variable(name: str, data) -> xr.Variable:
    """The run variable ``name`` holding ``data``, with its registered dims and attributes.

    Raises
    ------
    KeyError
        If ``name`` is not registered in :data:`RUN`.
    """
    if name not in RUN:
        raise KeyError(f"run variable {name!r} is not in the registry (simulator/variables.py RUN)")
    spec = RUN[name]
    return xr.Variable(spec.dims, data, spec.attrs)


def swept_key(key: str) -> Var:
    """The coordinate of a swept configuration key (``dotted.key`` -> ``dotted__key``)."""
    from .config import SCHEMA

    if key not in CONFIG_UNITS:
        raise KeyError(f"configuration key {key!r} has no unit in simulator/variables.py CONFIG_UNITS")
    field: Any = SCHEMA
    for part in key.split("."):
        field = field[part]
    name = key.replace(".", "__")
    return Var(name, (name,), CONFIG_UNITS[key], f"{key} (swept)",
               f"Values of the swept configuration key {key}: {field.doc}.")


def sweep_spec(name: str, sweep_keys: list[str]) -> Var:
    """The registered entry of variable ``name`` of a sweep over ``sweep_keys``.

    Swept keys and :data:`SWEEP` entries as registered; run attributes
    (:data:`MEMBER_ATTRS`) over the sweep dims; the run's dimension coordinates
    (``probe``, ``dot``, ``axis``) unchanged; every other run variable with
    ``*sweep`` prepended to its dims.
    """
    for key in sweep_keys:
        if key.replace(".", "__") == name:
            return swept_key(key)
    for table in (SWEEP, MEMBER_ATTRS):
        if name in table:
            return table[name]
    if name in RUN:
        spec = RUN[name]
        if spec.is_dimension_coordinate:
            return spec
        return Var(name, (SWEEP_DIMS,) + spec.dims, spec.units, spec.long_name, spec.doc)
    raise KeyError(f"sweep variable {name!r} is not in the registry (simulator/variables.py)")


def annotate(ds: xr.Dataset, spec_of, sweep_dims: tuple[str, ...] = ()) -> xr.Dataset:
    """Set the registered CF attributes on every variable and coordinate of ``ds``, in place.

    Parameters
    ----------
    ds : the dataset to annotate (returned).
    spec_of : callable name -> :class:`Var` (raises KeyError for an unregistered name).
    sweep_dims : what ``*sweep`` stands for in registered dims.

    Raises
    ------
    ValueError
        If a variable is not registered or its dims differ from the registry's.
    """
    for name, var in ds.variables.items():
        try:
            spec = spec_of(name)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        dims = expand_dims(spec.dims, sweep_dims)
        if var.dims != dims:
            raise ValueError(f"variable {name!r} has dims {var.dims}; the registry says {dims}")
        var.attrs.update(spec.attrs)
    return ds


def expand_dims(dims: tuple[str, ...], sweep_dims: tuple[str, ...]) -> tuple[str, ...]:
    """Registered dims with ``*sweep`` replaced by ``sweep_dims``."""
    out: list[str] = []
    for d in dims:
        out.extend(sweep_dims if d == SWEEP_DIMS else (d,))
    return tuple(out)


# ---------------------------------------------------------------------------
# the documentation page
# ---------------------------------------------------------------------------
def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown(table: dict[str, Var]) -> list[str]:
    lines = ["| name | dims | units | long_name | meaning |", "|---|---|---|---|---|"]
    for v in table.values():
        dims = "(" + ", ".join(v.dims) + ")" if v.dims else "()"
        lines.append(f"| `{v.name}` | {_cell(dims)} | `{v.units}` | {_cell(v.long_name)} | {_cell(v.doc)} |")
    return lines


COMMAND = "python -m simulator.variables > docs/variables.md"


def render_page() -> str:
    """The markdown page docs/variables.md (generated from the registry)."""
    out = [
        "# Output variables",
        "",
        f"<!-- Generated from simulator/variables.py by `{COMMAND}`; do not edit by hand. -->",
        "",
        f"Generated from the registry `simulator/variables.py` by `{COMMAND}`",
        "(`tests/test_variables.py` checks that this page is up to date). Every variable and",
        "coordinate in a result file carries these `units`, `long_name` and `comment` (the",
        "meaning below) attributes; a file also records `Conventions = \"CF-1.10\"` and the",
        "versions of dotkmc (`version`), numpy, numba, xarray, netCDF4, scipy and Python",
        "(`version_numpy`, ..., `version_python`).",
        "",
        "**Units.** ħ = 1; energies and rates are in the unit of `couplings.gamma`,",
        "written `couplings_gamma`; times in its inverse, `couplings_gamma-1` (UDUNITS",
        "syntax for an inverse), squared energies in `couplings_gamma2` (UDUNITS for a",
        "square); `1` marks dimensionless numbers, counts, indices,",
        "flags, text and lengths in lattice spacings. The symbol is not the bare word",
        "`gamma` because UDUNITS, the unit library of CF tools, defines `gamma` as a",
        "nanotesla.",
        "",
        "## A run (`dotkmc run`, `simulator.run`)",
        "",
        "The variables and coordinates of a run's dataset (docs/model.md section 5).",
        "`traj_probe` is a dimension without a coordinate.",
        "",
        *_markdown(RUN),
        "",
        "## A sweep (`dotkmc sweep`, `simulator.sweep`)",
        "",
        "`*sweep` stands for the sweep's dimensions: one per swept key (`dotted.key` →",
        "`dotted__key`) and then `realization`. Every run variable above appears",
        "stacked, with dims `(*sweep, <its run dims>)`, except the coordinates `probe`,",
        "`dot` and `axis`, which keep their own dim; `tau` and `time` become positional",
        "dims whose values are `tau_value` and `time_value` (docs/sweeps.md).",
        "",
        "Variables of the sweep itself:",
        "",
        *_markdown(SWEEP),
        "",
        "Run attributes stored per member as variables (flagged `dotkmc_member_attr = 1`):",
        "",
        *_markdown(MEMBER_ATTRS),
        "",
        "The coordinate of a swept key is named `dotted__key`, has `long_name` `dotted.key (swept)`",
        "and the unit of its configuration key:",
        "",
        "| configuration key | units |",
        "|---|---|",
        *[f"| `{k}` | `{u}` |" for k, u in CONFIG_UNITS.items()],
        "",
        "## The self-consistent loop (`dotkmc selfconsistent`): `history.nc`",
        "",
        "The history of `analysis.closure.run_loop` (docs/selfconsistent.md); `dot` is a",
        "dimension without a coordinate.",
        "",
        *_markdown(HISTORY),
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(render_page())
