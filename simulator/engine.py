"""Orchestration: state, chunks, checkpoints, progress.

A :class:`Simulation` owns every array of a run. :meth:`Simulation.step`
advances one chunk (dot pass, then exact reconstruction + estimators). All the
state that evolves lives in :meth:`Simulation.state`, which a checkpoint saves
atomically; the model (couplings) is rebuilt from the configuration on resume.
"""
from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .config import Config, load_config
import numba

from .estimators import SurvivalLaw, batch_means, survival_count_variance
from .kernel import (FLIP, HOP, N_EST, NTOT, advance_dots, batch_plan, bucket_index, flush_batch, init_dots,
                     initial_energies,
                     reconstruct_and_estimate, relevance, reverse_rows)
from .dataset import temporary_beside
from .model import Model, build_model
from .schedule import build_schedule

# samples x probes held per chunk (dEP, dC: 20 bytes each)
CHUNK_SAMPLE_ENTRIES = 4_000_000
CHUNK_EVENTS = 4_000_000

STATE_ARRAYS = ("rng", "occ", "perm", "t_next", "events", "phi", "eps", "cnt",
                "est", "cnt1", "cnt2", "kstat", "batch", "energy")


class Simulation:
    """One run of the kinetic Monte Carlo (SPEC §3–§4).

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
        # CSR by neighbouring level: which probes an event of level j moves
        self.rev_ptr = np.zeros(m.n_levels + 1, dtype=np.int64)
        nnz = rows.U.shape[0]
        self.rev_probe = np.empty(nnz, dtype=np.int64)
        self.rev_U = np.empty(nnz)
        reverse_rows(m.n_levels, rows.ptr, rows.level, rows.U, self.rev_ptr, self.rev_probe, self.rev_U)
        self.probe_of = np.full(m.n_levels, -1, dtype=np.int64)
        self.probe_of[m.probes] = np.arange(self.P)
        self.rates = m.dot_rates()
        self.event_rate = float(self.rates.sum())
        # probe updates per unit time: level j changes at Gamma1 (flip) or 2 n(M-n) Gamma1 / M (hop)
        level_rate = self.rates * (1.0 / m.M if m.kind == "flip" else 2.0 / m.M)
        pushes = np.diff(self.rev_ptr).reshape(m.n_dots, m.M).sum(axis=1)
        self.push_rate = float((level_rate * pushes).sum())
        self.schedule, self.resolved = build_schedule(config, m, self.P, self.event_rate, self.push_rate)
        self.resolved["cutoff"] = float(m.cutoff)
        self.resolved["gamma2_estimate"] = float(m.gamma2_est)
        run = config["run"]
        self.t_max = self.resolved["t_max"]
        self.n_batches = int(run["batches"])
        self.t_batch = self.t_max / self.n_batches
        K = self.schedule.K
        self.kind_code = FLIP if m.kind == "flip" else HOP
        self.n_part = m.n_particles if m.kind == "hop" else 0
        n_traj = min(run["trajectory"]["probes"], self.P)
        self.traj_p = (np.unique(np.linspace(0, self.P - 1, n_traj).round().astype(np.int64))
                       if n_traj > 0 else np.zeros(0, dtype=np.int64))
        self.eps0 = m.static_energies()
        # ---- evolving state ------------------------------------------------
        self.rng = np.zeros((m.n_dots, 2), dtype=np.uint64)
        self.occ = np.zeros(m.n_levels, dtype=np.uint8)
        self.perm = np.zeros(m.n_levels, dtype=np.uint8)
        self.t_next = np.zeros(m.n_dots)
        self.events = np.zeros(m.n_dots, dtype=np.int64)
        self.phi = np.zeros(self.P)
        self.eps = np.zeros(self.P)
        self.cnt = np.zeros(self.P, dtype=np.int64)
        self.est = np.zeros((N_EST, K, self.P))
        self.cnt1 = np.zeros((K, self.P), dtype=np.int64)
        self.cnt2 = np.zeros((K, self.P), dtype=np.int64)
        self.kstat = np.zeros((4, K))
        self.batch = np.zeros(1, dtype=np.int64)
        self.flush_nb = np.zeros((self.n_batches, K))
        self.energy = np.full((self.traj_p.shape[0], self.schedule.n_traj_times), np.nan)
        self.t = 0.0
        self.finished = False
        self.wall = 0.0
        init_dots(self.kind_code, m.M, self.n_part, self.rates, m.keys["dynamics"], self.rng, self.occ,
                  self.perm, self.t_next)
        initial_energies(rows.ptr, rows.level, rows.U, self.occ, m.nu, self.eps)
        if self.energy.shape[1] > 0:
            self.energy[:, 0] = self.eps0[self.traj_p] + self.eps[self.traj_p]
        # ---- chunking -------------------------------------------------------
        if chunk_time is None:
            per_chunk = max(64, min(200_000, CHUNK_SAMPLE_ENTRIES // max(self.P, 1)))
            chunk_time = per_chunk / self.schedule.rate()
            if self.event_rate > 0:
                chunk_time = min(chunk_time, CHUNK_EVENTS / self.event_rate)
        self.chunk_time = float(chunk_time)
        self._alloc(64)
        self.set_threads(threads)

    def set_threads(self, threads: int | None) -> None:
        """Partition the dots into ``threads`` contiguous blocks (see kernel.advance_dots)."""
        m = self.model
        T = max(1, min(int(threads or numba.get_num_threads()), m.n_dots))
        edges = np.linspace(0, m.n_dots, T + 1).round().astype(np.int64)
        self.dot_lo, self.dot_hi = edges[:-1].copy(), edges[1:].copy()
        pdot = m.probe_dot
        self.probe_lo = np.searchsorted(pdot, self.dot_lo).astype(np.int64)
        self.probe_hi = np.searchsorted(pdot, self.dot_hi).astype(np.int64)
        # probe blocks of the reconstruction pass (any partition gives the same result)
        self.p_edges = np.linspace(0, self.P, min(T, max(self.P, 1)) + 1).round().astype(np.int64)
        self.relevant = np.zeros((T, m.n_dots), dtype=np.uint8)
        relevance(m.n_dots, m.M, self.rev_ptr, self.rev_probe, self.probe_of, self.dot_lo, self.dot_hi,
                  self.probe_lo, self.probe_hi, self.relevant)
        self.threads = T

    # ------------------------------------------------------------------
    def _alloc(self, n: int) -> None:
        self.dEP = np.zeros((n, self.P, 2))
        self.dC = np.zeros((n, self.P), dtype=np.int32)

    def survival_law(self) -> SurvivalLaw | None:
        """The exact law of each probe's own occupation (fixed rates), which makes
        the echo/Ramsey error bars honest where own transitions are rare
        (:func:`simulator.estimators.batch_means`)."""
        m = self.model
        g = m.gamma1[m.probe_dot].astype(float)
        if m.kind == "flip":
            return SurvivalLaw(g, g, np.full(g.shape, 0.5))
        n = m.n_particles
        return SurvivalLaw((m.M - n) * g, n * g, np.full(g.shape, n / m.M))

    def statistics(self) -> dict:
        """Means and standard errors of the signals accumulated so far, (probe, tau)."""
        law = self.survival_law()
        survival = None
        if law is not None:
            survival = survival_count_variance(law, self.schedule.tau, self.schedule.stride, self.kstat[NTOT])
        return batch_means(self.est, self.kstat, survival)

    @property
    def n_events(self) -> int:
        return int(self.events.sum())

    def step(self) -> int:
        """Advance one chunk; returns the number of events in it."""
        if self.finished:
            return 0
        t_b = self.schedule.boundary_after(self.t + self.chunk_time)
        ts, ks, js = self.schedule.samples(self.t, t_b)
        n = ts.shape[0]
        if n > self.dEP.shape[0]:
            self._alloc(max(n, 2 * self.dEP.shape[0]))
        buckets = np.empty(2 * n + 1, dtype=np.int64)
        bucket_index(ts, n, self.t, buckets)
        if self.threads > 1:   # start-of-chunk state, read by blocks re-simulating their halo dots
            snap = (self.rng.copy(), self.occ.copy(), self.perm.copy(), self.t_next.copy())
        else:
            snap = (self.rng, self.occ, self.perm, self.t_next)
        ev = advance_dots(self.kind_code, self.model.M, self.n_part, self.rates, self.rng, self.occ,
                          self.perm, self.t_next, self.events, *snap, self.relevant, self.dot_lo, self.dot_hi,
                          self.probe_lo, self.probe_hi, self.rev_ptr, self.rev_probe, self.rev_U,
                          self.probe_of, ts, n, self.t, buckets, self.dEP, self.dC)
        batch0 = int(self.batch[0])
        batch_plan(ts, ks, js, n, self.schedule.stride, self.kstat, self.batch, self.t_batch, self.n_batches,
                   self.flush_nb)
        self.t = reconstruct_and_estimate(ts, ks, js, n, self.t, self.phi, self.eps, self.cnt, self.dEP,
                                          self.dC, self.schedule.stride, self.est, self.cnt1,
                                          self.cnt2, batch0, self.t_batch, self.n_batches, self.flush_nb,
                                          self.traj_p, self.eps0[self.traj_p], self.energy, self.p_edges)
        if self.t >= self.t_max:
            flush_batch(self.est, self.kstat)
            self.finished = True
        return int(ev)

    # ------------------------------------------------------------------
    def state(self) -> dict:
        out = {name: getattr(self, name) for name in STATE_ARRAYS}
        out.update(t=np.float64(self.t), finished=np.bool_(self.finished), wall=np.float64(self.wall),
                   chunk_time=np.float64(self.chunk_time))
        return out

    def load_state(self, st) -> None:
        for name in STATE_ARRAYS:
            arr = np.asarray(st[name])
            cur = getattr(self, name)
            if arr.shape != cur.shape or arr.dtype != cur.dtype:
                raise ValueError(f"checkpoint array {name!r} does not match the configuration")
            cur[...] = arr
        self.t = float(st["t"])
        self.finished = bool(st["finished"])
        self.wall = float(st["wall"])
        self.chunk_time = float(st["chunk_time"])

    def save_checkpoint(self, path: str | Path, output: str | Path | None = None) -> None:
        """Write the whole evolving state atomically (temp file + rename)."""
        path = Path(path)
        buf = io.BytesIO()
        np.savez(buf, config=np.array(self.config.to_toml()), gamma1=self.model.gamma1,
                 probes=self.model.probes, output=np.array(str(output) if output else ""),
                 **self.state())
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> tuple["Simulation", str]:
        with np.load(path, allow_pickle=False) as st:
            config = load_config_text(str(st["config"]))
            sim = cls(config, gamma1=st["gamma1"], probes=st["probes"], chunk_time=float(st["chunk_time"]))
            sim.load_state(st)
            output = str(st["output"])
        return sim, output


def load_config_text(text: str) -> Config:
    import tomllib

    return load_config(tomllib.loads(text))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def drive(sim: Simulation, checkpoint: str | Path | None = None, output: str | Path | None = None,
          checkpoint_every: float | None = None, progress: bool | None = None,
          stop_after_chunks: int | None = None) -> Simulation:
    """Run chunks until done, with a progress bar and periodic checkpoints.

    ``checkpoint_every`` (wall seconds) defaults to run.checkpoint_every; 0
    disables checkpoints. ``stop_after_chunks`` is for tests (simulated kill).
    """
    from tqdm import tqdm

    if checkpoint_every is None:
        checkpoint_every = sim.config["run"]["checkpoint_every"]
    if progress is None:
        progress = sys.stderr.isatty()
    bar = tqdm(total=sim.t_max, initial=sim.t, disable=not progress, unit="t", unit_scale=False,
               dynamic_ncols=True, mininterval=0.5,
               bar_format="{l_bar}{bar}| t={n:.4g}/{total:.4g} [{elapsed}<{remaining}{postfix}]")
    last_ckpt = time.perf_counter()
    chunks = 0
    t0 = time.perf_counter()
    ev0 = sim.n_events
    # Ctrl-C: finish the current chunk (the state is only consistent between
    # chunks), write a checkpoint, then stop with KeyboardInterrupt
    interrupted = []
    previous = None
    if checkpoint and threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    try:
        while not sim.finished:
            if interrupted:
                sim.save_checkpoint(checkpoint, output)
                raise KeyboardInterrupt(f"interrupted; resume with: dotkmc resume {checkpoint}")
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
    finally:
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return sim
