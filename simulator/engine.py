"""Orchestration: state, chunks, checkpoints, progress.

A :class:`Simulation` owns every array of a run. :meth:`Simulation.step`
advances one chunk (dot pass, then exact reconstruction + estimators). All the
state that evolves lives in :meth:`Simulation.state`, which a checkpoint saves
atomically; the model (couplings) is rebuilt from the configuration on resume.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import signal
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

from .config import CheckpointError, Config, ConfigError, Interrupted, RunError, load_config
from .dataset import package_version, remove_stale_temporaries, temporary_beside
from .dynamics import Dynamics, make_dynamics, state_array_names
from .estimators import (SurvivalLaw, batch_means, flip_sd_estimator_variance, slow_neighbour_variance,
                         survival_count_variance)
from .jit import num_threads
from .kernels.estimate import batch_plan, flush_batch, initial_energies, reconstruct_and_estimate
from .kernels.layout import new_counters, new_estimates, start_energies, window_counts
from .kernels.state import (Accumulators, Batching, Bins, DotState, ProbeState, SampleGrid, Trajectory,
                            arrays_of)
from .kernels.tables import bucket_index, push_table
from .model import Model, build_model
from .plan import MAX_WORK, RunPlan, check_work, resolve  # noqa: F401  (MAX_WORK, check_work re-exported)
from .schedule import Schedule
from .views import view

# samples x probes held per chunk (dEP, dC: 20 bytes each)
CHUNK_SAMPLE_ENTRIES = 4_000_000
CHUNK_EVENTS = 4_000_000

# evolving arrays of a fixed-rate run, as saved in a checkpoint: the dynamics'
# (DotState; dynamics.state_array_names for any run) and the orchestration's
# (ProbeState, Accumulators, Trajectory.energy)
ORCHESTRATION_ARRAYS = (*ProbeState._fields, *Accumulators._fields, "energy")
STATE_ARRAYS = (*DotState._fields, *ORCHESTRATION_ARRAYS)
STATE_SCALARS = ("t", "finished", "wall", "chunk_time")

# Checkpoint file format marker (docs/reliability.md, "Checkpoints").
# 2: Accumulators.own_at_batch, and the resonant dynamics' arrays
# 3: the spectral-diffusion rows of the estimator array (kernels/layout.py)
CHECKPOINT_FORMAT = "dotkmc-checkpoint-3"


class Simulation:
    """One run of the kinetic Monte Carlo (docs/model.md §3-§4): the orchestration.

    The run's arrays are grouped into typed records (:mod:`simulator.kernels.state`):
    ``push`` (which probes each level moves), ``dynamics`` (a
    :class:`~simulator.dynamics.Dynamics`: occupations and their evolution),
    ``probes`` (phases, energies, own-change counts), ``acc`` (estimator sums),
    ``batching`` (windows and batches), ``traj`` (recorded energies) and ``bins``
    (one chunk's binned events). See docs/architecture.md.

    Parameters
    ----------
    config : validated :class:`~simulator.config.Config`.
    gamma1 : optional per-dot rate array (Python API; overrides [dynamics]).
    probes : optional explicit probe level indices (overrides run.probes).
    chunk_time : simulated time per chunk (default: sized from memory and event
        budgets). It changes only how often control returns to Python: the result
        is bit-identical for any value.
    threads : blocks of dots advanced in parallel (default: numba's thread count,
        i.e. NUMBA_NUM_THREADS or the number of cores). Bit-identical for any value.
    """

    def __init__(self, config: Config, gamma1=None, probes=None, chunk_time: float | None = None,
                 threads: int | None = None):
        self.config = config
        self.model: Model = build_model(config, gamma1=gamma1, probes=probes)
        m = self.model
        rows = m.coupling_rows()
        self.P = m.probes.shape[0]
        self.push = push_table(m.n_levels, rows.ptr, rows.level, rows.U, m.probes)
        self.dynamics: Dynamics = make_dynamics(m, self.push)
        dyn = self.dynamics
        self.plan: RunPlan = resolve(config, m, dyn)
        plan = self.plan
        K = plan.K
        self.batching = Batching(stride=plan.stride, t_batch=plan.t_batch, n_batches=plan.n_batches,
                                 flush_nb=np.zeros((plan.n_batches, K)))
        traj_p = plan.traj_probes
        self.eps0 = m.static_energies()
        self.traj = Trajectory(probes=traj_p, eps0=self.eps0[traj_p],
                               energy=np.full((traj_p.shape[0], plan.n_traj_times), np.nan))
        # ---- evolving state ------------------------------------------------
        self.probes = ProbeState(phi=np.zeros(self.P), eps=np.zeros(self.P), cnt=np.zeros(self.P, dtype=np.int64))
        self.acc = Accumulators(est=new_estimates(K, self.P), cnt1=np.zeros((K, self.P), dtype=np.int64),
                                cnt2=np.zeros((K, self.P), dtype=np.int64), kstat=new_counters(K),
                                batch=np.zeros(1, dtype=np.int64),
                                own_at_batch=np.zeros((plan.n_batches + 1, self.P), dtype=np.int64))
        self.t = 0.0
        self.finished = False
        self.wall = 0.0
        initial_energies(rows.ptr, rows.level, rows.U, dyn.occupations(), m.nu, self.probes.eps)
        start_energies(self.acc.est, self.probes.eps)
        if self.traj.energy.shape[1] > 0:
            self.traj.energy[:, 0] = self.traj.eps0 + self.probes.eps[traj_p]
        # ---- chunking -------------------------------------------------------
        if chunk_time is None:
            per_chunk = max(64, min(200_000, CHUNK_SAMPLE_ENTRIES // max(self.P, 1)))
            chunk_time = per_chunk / plan.schedule.rate()
            if dyn.event_rate > 0:
                chunk_time = min(chunk_time, CHUNK_EVENTS / dyn.event_rate)
        self.chunk_time = float(chunk_time)
        self._alloc(64)
        self.set_threads(threads)

    # the plan's numbers under the names other code reads
    @property
    def schedule(self) -> Schedule:
        """The sample times (:attr:`plan`'s schedule)."""
        return self.plan.schedule

    @property
    def resolved(self) -> dict[str, float]:
        """The resolved 'auto' values (written as ``resolved_*`` attributes)."""
        return self.plan.resolved

    @property
    def t_max(self) -> float:
        """The resolved simulated time."""
        return self.plan.t_max

    def set_threads(self, threads: int | None) -> None:
        """Use ``threads`` parallel blocks (of dots in the dynamics, of probes in the
        reconstruction; any partition gives the same result)."""
        T = max(1, min(int(threads or num_threads()), self.model.n_dots))
        self.dynamics.set_threads(T)
        self.p_edges = np.linspace(0, self.P, min(T, max(self.P, 1)) + 1).round().astype(np.int64)
        self.threads = T

    # ------------------------------------------------------------------
    def _alloc(self, n: int) -> None:
        self.bins = Bins(dEP=np.zeros((n, self.P, 2)), dC=np.zeros((n, self.P), dtype=np.int32))

    def survival_law(self) -> SurvivalLaw | None:
        """The exact law of each probe's own occupation, from the dynamics (None if
        unknown), which makes the echo/Ramsey error bars honest where own transitions
        are rare (:func:`simulator.estimators.batch_means`)."""
        return self.dynamics.survival_law()

    def statistics(self) -> dict:
        """Means and standard errors of the signals accumulated so far, (probe, tau)."""
        law = self.survival_law()
        survival = None
        if law is not None:
            survival = survival_count_variance(law, self.plan.tau, self.plan.stride,
                                               window_counts(self.acc.kstat).total)
        out = batch_means(self.acc.est, self.acc.kstat, survival)
        rates = self.dynamics.telegraph_rates()
        if rates is not None:
            # model-based error terms, where batch means cannot see the fluctuation
            self.add_slow_neighbour_variance(out, rates)
            self.set_flip_sd_stderr(out, rates)
        return out

    def set_flip_sd_stderr(self, out: dict, rates: np.ndarray) -> None:
        """Replace ``sd_variance_stderr`` by the exact standard deviation of the
        estimator for the run's window grid
        (:func:`simulator.estimators.flip_sd_estimator_variance`, docs/model.md §4):
        batch means misses the Poisson noise of flips caught by few windows and the
        correlation of windows longer than a batch. ``rates``: every level's switching
        rate (:meth:`Dynamics.telegraph_rates`).
        """
        n = window_counts(self.acc.kstat).total
        var = flip_sd_estimator_variance(self.plan.tau, self.plan.stride, n, self.model.coupling_rows(), rates)
        out["sd_variance_stderr"] = np.where(n[None, :] > 0, np.sqrt(var), np.nan)

    def add_slow_neighbour_variance(self, out: dict, rates: np.ndarray) -> None:
        """Add to ``ramsey_stderr`` the scatter between histories of the probes'
        quasi-static neighbours, which batch means misses
        (:func:`simulator.estimators.slow_neighbour_variance`, docs/model.md §4).
        Probes without a slow neighbour keep the batch-means error bit for bit.
        ``rates``: every level's switching rate (:meth:`Dynamics.telegraph_rates`).
        """
        m = self.model
        span = min(float(self.t), float(self.plan.t_max))
        batches = span / self.plan.t_batch
        var, applied = slow_neighbour_variance(self.plan.tau, m.coupling_rows(), rates,
                                               rates[m.probes], span, batches)
        if applied.any():
            se = out["ramsey_stderr"]
            se[applied] = np.sqrt(se[applied] ** 2 + var[applied])

    @property
    def events(self) -> np.ndarray:
        """Events of every dot so far."""
        return self.dynamics.events_per_dot()

    @property
    def n_events(self) -> int:
        return int(self.events.sum())

    def step(self) -> int:
        """Advance one chunk; returns the number of events in it."""
        if self.finished:
            return 0
        sched = self.plan.schedule
        t_b = sched.boundary_after(self.t + self.chunk_time)
        ts, ks, js = sched.samples(self.t, t_b)
        n = ts.shape[0]
        if n > self.bins.dC.shape[0]:
            self._alloc(max(n, 2 * self.bins.dC.shape[0]))
        grid = SampleGrid(ts, ks, js, n, self.t, np.empty(2 * n + 1, dtype=np.int64))
        bucket_index(ts, n, self.t, grid.buckets)
        ev = self.dynamics.advance(grid, self.bins)
        batch0 = int(self.acc.batch[0])
        batch_plan(grid, self.batching, self.acc)
        self.t = reconstruct_and_estimate(grid, self.t, self.probes, self.bins, self.acc, self.batching, batch0,
                                          self.traj, self.p_edges)
        if self.t >= self.plan.t_max:
            flush_batch(self.acc)
            self.finished = True
        return int(ev)

    # ------------------------------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        """Every evolving array, by name: the fields of the evolving records."""
        return {**self.dynamics.state_arrays(), **arrays_of(self.probes), **arrays_of(self.acc),
                "energy": self.traj.energy}

    def state(self) -> dict:
        """The evolving arrays and scalars (what a checkpoint saves)."""
        out: dict = dict(self.state_arrays())
        out.update(t=np.float64(self.t), finished=np.bool_(self.finished), wall=np.float64(self.wall),
                   chunk_time=np.float64(self.chunk_time))
        return out

    def load_state(self, st) -> None:
        for name, cur in self.state_arrays().items():
            if name not in st:
                raise CheckpointError(f"checkpoint lacks the array {name!r}: not a checkpoint of this run")
            arr = np.asarray(st[name])
            if arr.shape != cur.shape or arr.dtype != cur.dtype:
                raise CheckpointError(f"checkpoint array {name!r} has shape {arr.shape} {arr.dtype}, but the stored "
                                      f"configuration needs {cur.shape} {cur.dtype}: not a checkpoint of this run")
            cur[...] = arr
        self.t = float(st["t"])
        self.finished = bool(st["finished"])
        self.wall = float(st["wall"])
        self.chunk_time = float(st["chunk_time"])

    def save_checkpoint(self, path: str | Path, output: str | Path | None = None) -> None:
        """Write the whole evolving state atomically (temp file + rename).

        The file (an uncompressed ``.npz``) also holds the format marker, the
        package version, the sha256 of the resolved configuration text and a
        sha256 over every array and that configuration hash
        (:func:`arrays_digest`), so that :func:`read_checkpoint` refuses an
        edited, truncated, foreign or other-release file.
        """
        path = Path(path)
        text = self.config.to_toml()
        config_sha = hashlib.sha256(text.encode()).hexdigest()
        arrays = {"gamma1": self.model.gamma1, "probes": self.model.probes,
                  "output": np.array(str(output) if output else ""), **self.state()}
        buf = io.BytesIO()
        np.savez(buf, format=np.array(CHECKPOINT_FORMAT), version=np.array(package_version()),
                 config=np.array(text), config_sha256=np.array(config_sha),
                 arrays_sha256=np.array(arrays_digest(arrays, config_sha)), **arrays)
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> tuple["Simulation", str]:
        """Rebuild a run from a checkpoint verified by :func:`read_checkpoint`.

        Returns the simulation and the output path stored in the checkpoint
        ("" when the run had none). Raises :class:`CheckpointError`.
        """
        config, st = read_checkpoint(path)
        return cls.from_state(config, st), str(st["output"])

    @classmethod
    def from_state(cls, config: Config, st: dict) -> "Simulation":
        """A simulation continuing the state ``st`` read by :func:`read_checkpoint`."""
        sim = cls(config, gamma1=st["gamma1"], probes=st["probes"], chunk_time=float(st["chunk_time"]))
        sim.load_state(st)
        return sim


def arrays_digest(arrays: dict, config_sha: str) -> str:
    """sha256 over the configuration hash and every array (name, dtype, shape, bytes), in name order.

    Including the configuration hash binds the state to its configuration: a
    checkpoint whose config was edited and re-hashed is still refused.
    """
    h = hashlib.sha256(config_sha.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"\0{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def read_checkpoint(path: str | Path) -> tuple[Config, dict]:
    """Read and verify a checkpoint: (validated config, dict of its arrays).

    Raises
    ------
    CheckpointError
        The file is missing, a directory, empty, truncated, not a dotkmc
        checkpoint, from another dotkmc version, or its configuration or arrays
        do not match their stored sha256 (the file was edited or corrupted).
    """
    p = Path(path)
    name = repr(str(p))
    if not p.exists():
        raise CheckpointError(f"checkpoint {name} does not exist")
    if p.is_dir():
        raise CheckpointError(f"checkpoint {name} is a directory, not a checkpoint file (<output>.ckpt)")
    if p.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {name} is empty (truncated); it cannot be resumed")
    try:
        loaded = np.load(p, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{name} is not a dotkmc checkpoint (a bare numpy array, not a .ckpt "
                                  f"written by dotkmc run)")
        with loaded as st:
            files = set(st.files)
            if "format" in files and str(st["format"]).startswith("dotkmc-checkpoint-") \
                    and str(st["format"]) != CHECKPOINT_FORMAT:
                raise CheckpointError(f"{name} has the checkpoint format {str(st['format'])!r}, this dotkmc "
                                      f"reads {CHECKPOINT_FORMAT!r}: resume it with the dotkmc that wrote it, "
                                      f"or rerun the configuration")
            if "format" not in files or str(st["format"]) != CHECKPOINT_FORMAT:
                old = "config" in files and "rng" in files
                raise CheckpointError(
                    f"{name} was written by an older dotkmc that stored no version; it cannot be verified: "
                    f"rerun the configuration" if old else
                    f"{name} is not a dotkmc checkpoint (no {CHECKPOINT_FORMAT!r} marker)")
            data = {k: st[k] for k in files}   # reads every member: zip CRCs catch corruption
    except CheckpointError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zipfile.LargeZipFile):
        raise CheckpointError(f"{name} is not a readable dotkmc checkpoint (truncated, corrupted or another "
                              f"kind of file; expected the <output>.ckpt written by dotkmc run)") from None
    required = {"version", "config", "config_sha256", "arrays_sha256", "gamma1", "probes", "output",
                *ORCHESTRATION_ARRAYS, *STATE_SCALARS}
    missing = sorted(required - set(data))
    if missing:
        raise CheckpointError(f"checkpoint {name} lacks {', '.join(missing)}: not a complete dotkmc checkpoint")
    version = str(data.pop("version"))
    if version != package_version():
        raise CheckpointError(f"checkpoint {name} was written by dotkmc {version}, this is dotkmc "
                              f"{package_version()}: resume it with dotkmc {version}, or rerun the configuration")
    text = str(data.pop("config"))
    config_sha = hashlib.sha256(text.encode()).hexdigest()
    if config_sha != str(data.pop("config_sha256")):
        raise CheckpointError(f"checkpoint {name}: its configuration does not match its sha256 (edited or "
                              f"corrupted); a changed configuration cannot continue an old state: rerun it")
    stored = str(data.pop("arrays_sha256"))
    data.pop("format")
    if arrays_digest(data, config_sha) != stored:
        raise CheckpointError(f"checkpoint {name}: its arrays do not match their sha256 (edited or corrupted); "
                              f"it cannot be resumed")
    try:
        config = load_config_text(text)
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint {name}: its stored configuration is not valid: {exc}") from None
    missing = sorted(set(state_array_names(config)) - set(data))   # the dynamics' own arrays
    if missing:
        raise CheckpointError(f"checkpoint {name} lacks {', '.join(missing)}: not a complete dotkmc checkpoint")
    return config, data


def load_config_text(text: str) -> Config:
    import tomllib

    return load_config(tomllib.loads(text))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    The temporary file is removed on every exit Python sees (exceptions, Ctrl-C,
    SIGTERM under ``dotkmc``); orphans of killed processes are removed by
    :func:`~simulator.dataset.remove_stale_temporaries`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = temporary_beside(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _lock_file(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _acquire(path: Path) -> int:
    """Exclusive, non-blocking flock on ``<path>.lock`` (holding our pid); returns its fd.

    The kernel releases a flock when its process dies, so a SIGKILLed run never
    blocks the next one. The holder removes the file on release; a process that
    opened the old file just before must not believe it holds the lock, hence
    the inode comparison and the retry.
    """
    lock = _lock_file(path)
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunError(f"cannot write in the folder {str(lock.parent)!r} of {str(path)!r}: "
                           f"{exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            finally:
                os.close(fd)
            raise RunError(f"{str(path)!r} is in use by another dotkmc run (pid {holder}, lock {str(lock)!r}): "
                           f"wait for it to finish, or choose another output (-o)") from None
        try:
            st = os.stat(lock)
            same = (st.st_ino, st.st_dev) == (os.fstat(fd).st_ino, os.fstat(fd).st_dev)
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)


def _release(fd: int, path: Path) -> None:
    _lock_file(path).unlink(missing_ok=True)   # before unlocking: see _acquire
    os.close(fd)


def check_output_path(path: str | Path, what: str = "output") -> Path:
    """Refuse, before any work, an output path that cannot be written.

    Creates the folder if needed. Raises :class:`RunError` if the path is a
    directory or its folder cannot be created.
    """
    path = Path(path)
    if path.is_dir():
        raise RunError(f"{what} {str(path)!r} is a directory; expected a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the folder {str(path.parent)!r} for the {what} {str(path)!r}: "
                       f"{exc.strerror or exc}") from None
    if path.exists() and not path.is_file():
        raise RunError(f"{what} {str(path)!r} exists and is not a regular file")
    return path


@contextlib.contextmanager
def claim_outputs(**paths):
    """Check and lock the files a run will write, for the duration of the block.

    Keyword arguments name the role of each path (``output=..., checkpoint=...``;
    None is skipped). Each path is checked by :func:`check_output_path` and
    locked by an exclusive flock on ``<path>.lock`` (a second run on the same
    output or checkpoint is refused with :class:`RunError`); stale temporary files
    of killed processes beside it are removed. The locks are released (and their
    files removed) on every exit from the block.
    """
    held: list[tuple[int, Path]] = []
    seen: dict[str, str] = {}
    try:
        for what, p in paths.items():
            if p is None:
                continue
            p = check_output_path(p, what)
            key = os.path.realpath(p)
            if key in seen:   # e.g. the checkpoint would replace the result, then be deleted with it
                raise RunError(f"the {what} and the {seen[key]} are the same file {str(p)!r}: give them "
                               f"different paths")
            seen[key] = what
            held.append((_acquire(p), p))
            remove_stale_temporaries(p)
        yield
    finally:
        for fd, p in reversed(held):
            _release(fd, p)


def drive(sim: Simulation, checkpoint: str | Path | None = None, output: str | Path | None = None,
          checkpoint_every: float | None = None, progress: bool | None = None,
          stop_after_chunks: int | None = None) -> Simulation:
    """Run chunks until done, with a progress bar and periodic checkpoints.

    ``checkpoint_every`` (wall seconds) defaults to run.checkpoint_every; 0
    disables checkpoints. ``stop_after_chunks`` is for tests (simulated kill).
    """
    from tqdm import tqdm

    if checkpoint_every is None:
        checkpoint_every = view(sim.config).run.checkpoint_every
    if progress is None:
        progress = sys.stderr.isatty()
    bar = tqdm(total=sim.t_max, initial=sim.t, disable=not progress, unit="t", unit_scale=False,
               dynamic_ncols=True, mininterval=0.5,
               bar_format="{l_bar}{bar}| t={n:.4g}/{total:.4g} [{elapsed}<{remaining}{postfix}]")
    last_ckpt = time.perf_counter()
    chunks = 0
    t0 = time.perf_counter()
    ev0 = sim.n_events
    # Ctrl-C (SIGINT) and SIGTERM (kill, batch schedulers): finish the current
    # chunk (the state is only consistent between chunks), write a checkpoint,
    # then stop with Interrupted (a KeyboardInterrupt)
    interrupted: list[int] = []
    previous = {}
    if checkpoint and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, _frame: interrupted.append(signum))

    def stop():
        assert checkpoint is not None   # the handlers are installed only with a checkpoint path
        sim.save_checkpoint(checkpoint, output)
        name = signal.Signals(interrupted[0]).name
        raise Interrupted(f"{name} received: checkpoint written; resume with: dotkmc resume {checkpoint}",
                          interrupted[0])

    try:
        while not sim.finished:
            if interrupted:
                stop()
            tic = time.perf_counter()
            t_before = sim.t
            sim.step()
            sim.wall += time.perf_counter() - tic
            chunks += 1
            elapsed = time.perf_counter() - t0
            bar.update(sim.t - t_before)
            bar.set_postfix_str(f"events={sim.n_events:.3e}, {(sim.n_events - ev0) / max(elapsed, 1e-9):.3g} ev/s",
                                refresh=False)
            if (checkpoint and checkpoint_every and not sim.finished
                    and time.perf_counter() - last_ckpt >= checkpoint_every):
                sim.save_checkpoint(checkpoint, output)
                last_ckpt = time.perf_counter()
            if stop_after_chunks is not None and chunks >= stop_after_chunks:
                if checkpoint:
                    sim.save_checkpoint(checkpoint, output)
                break
        if interrupted:   # a signal during the last chunk: the checkpoint holds the finished state
            stop()
    finally:
        bar.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return sim
