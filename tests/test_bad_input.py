"""Bad input never corrupts a result: every case through the real CLI gives a
non-zero exit, one line on stderr naming the problem, no traceback, and leaves
nothing behind (docs/reliability.md).

The one-line cases run concurrently in one fixture (each is a `python -m dotkmc.cli`
subprocess, about a hundred interpreter start-ups: the slow tier); signals and
concurrent runs are the slow tests at the end.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import xarray as xr

import simulator as S
from long_run import LONG_RUN
from simulator.dataset import NONDETERMINISTIC_ATTRS
from simulator.engine import CHECKPOINT_FORMAT, MAX_WORK, Simulation, arrays_digest, drive

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "dotkmc.cli"]
SEED_MAX = "9223372036854775807"

TINY = """[lattice]
d = 1
L = 8
levels = 2
[dynamics]
gamma1 = 0.05
[run]
t_max = 400.0
probes = 2
tau = { min = 0.5, max = 50.0, points = 6 }
"""


def cli(*args, timeout=120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=timeout, **kw)


def snapshot(folder: Path) -> dict:
    """Every path under ``folder`` with its content hash (None for folders)."""
    return {str(p.relative_to(folder)): (None if p.is_dir() else hashlib.sha1(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*"))}


def dead_pid() -> int:
    """The pid of a process that has exited (for orphaned temporary files)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ---------------------------------------------------------------------------
# sources: a real checkpoint and a real result of the tiny configuration
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("sources")
    cfg = S.load_config(tomllib.loads(TINY))
    result = d / "r.nc"
    S.run(cfg, result, progress=False)   # first: a finished run removes its r.nc.ckpt
    ckpt = d / "r.nc.ckpt"
    sim = Simulation(cfg, chunk_time=50.0)
    drive(sim, checkpoint=ckpt, output=d / "r.nc", progress=False, checkpoint_every=0, stop_after_chunks=1)
    assert ckpt.exists() and not sim.finished
    no_out = d / "noout.ckpt"
    sim = Simulation(cfg, chunk_time=50.0)
    drive(sim, checkpoint=no_out, output=None, progress=False, checkpoint_every=0, stop_after_chunks=1)
    return {"ckpt": ckpt, "ckpt_no_output": no_out, "result": result}


def _npz(path: Path) -> dict:
    with np.load(path) as st:
        return {k: st[k] for k in st.files}


def edited_checkpoint(src: Path, dst: Path, edit: Callable[[dict], None]) -> Path:
    data = _npz(src)
    edit(data)
    with open(dst, "wb") as fh:
        np.savez(fh, **data)
    return dst


def _set_config(data: dict, old: str, new: str, rehash: bool = False) -> None:
    text = str(data["config"])
    assert old in text
    text = text.replace(old, new)
    data["config"] = np.array(text)
    if rehash:
        data["config_sha256"] = np.array(hashlib.sha256(text.encode()).hexdigest())


def _rehash_arrays(data: dict) -> None:
    arrays = {k: v for k, v in data.items()
              if k not in ("format", "version", "config", "config_sha256", "arrays_sha256")}
    data["arrays_sha256"] = np.array(arrays_digest(arrays, str(data["config_sha256"])))


def _drop(data: dict, key: str) -> None:
    del data[key]
    _rehash_arrays(data)


def _flip_rng(data: dict) -> None:
    data["rng"] = data["rng"].copy()
    data["rng"][0, 0] ^= np.uint64(1)


# ---------------------------------------------------------------------------
# the table: (id, setup(folder, sources) -> CLI arguments, substrings of the one stderr line)
# ---------------------------------------------------------------------------
@dataclass
class Case:
    id: str
    setup: Callable[[Path, dict], list]
    needles: tuple
    locks: list = field(default_factory=list)   # paths whose <path>.lock the test holds during the run


def tiny(d: Path, text: str = TINY, name: str = "c.toml") -> Path:
    p = d / name
    p.write_text(text)
    return p


def run_set(*sets: str, extra: tuple = ()) -> Callable:
    def setup(d, _):
        args = ["run", tiny(d), "-o", d / "out.nc", "--no-plot", "-q", *extra]
        for s in sets:
            args += ["--set", s]
        return args
    return setup


def run_text(text: str, extra: tuple = ()) -> Callable:
    return lambda d, _: ["run", tiny(d, text), "-o", d / "out.nc", "--no-plot", "-q", *extra]


def with_table(table: str, body: str) -> str:
    """TINY with ``body`` appended to [table] (a new table if TINY has none)."""
    header = f"[{table}]\n"
    return TINY.replace(header, header + body + "\n") if header in TINY else TINY + header + body + "\n"


def resume_of(make: Callable[[Path, dict], Path], extra: tuple = ()) -> Callable:
    return lambda d, src: ["resume", make(d, src), "-q", *extra]


def ckpt_edit(edit: Callable[[dict], None]) -> Callable:
    return lambda d, src: edited_checkpoint(src["ckpt"], d / "r.nc.ckpt", edit)


def copy_to(d: Path, src: Path, name: str) -> Path:
    p = d / name
    p.write_bytes(src.read_bytes())
    return p


def result_with(change: Callable[[xr.Dataset], xr.Dataset]) -> Callable:
    def make(d, src):
        ds = change(xr.load_dataset(src["result"]))
        p = d / "r.nc"
        ds.to_netcdf(p)
        return p
    return make


def file_with(content: bytes, name: str) -> Callable:
    def make(d, _):
        p = d / name
        p.write_bytes(content)
        return p
    return make


def truncated(key: str, keep: float, name: str) -> Callable:
    def make(d, src):
        data = src[key].read_bytes()
        p = d / name
        p.write_bytes(data[:int(len(data) * keep)])
        return p
    return make


def npz_file(d, _):
    p = d / "foreign.npz"
    np.savez(p, a=np.arange(3))
    return p


def npy_file(d, _):
    p = d / "array.ckpt"
    with open(p, "wb") as fh:
        np.save(fh, np.arange(3))
    return p


def a_dir(d, _):
    (d / "sub").mkdir()
    return d / "sub"


def png_dir(d: Path) -> Path:
    """An output whose plot path (o.png) is a directory."""
    (d / "o.png").mkdir()
    return d / "o.nc"


def a_file_parent(d, _):
    (d / "afile").write_text("x")
    return d / "afile" / "out.nc"


def readonly_dir(d, _):
    """A folder the run cannot write in. Root writes into a mode-555 folder, so
    as root the folder is /proc, where nobody can create files."""
    if os.geteuid() == 0:
        return Path("/proc") / "dotkmc-out.nc"
    (d / "ro").mkdir()
    (d / "ro").chmod(0o555)
    return d / "ro" / "out.nc"


def foreign_nc(d, _):
    p = d / "foreign.nc"
    xr.Dataset({"x": ("a", [1.0, 2.0])}).to_netcdf(p)
    return p


CASES = [
    # --- configuration files -------------------------------------------------
    Case("toml-syntax", lambda d, _: ["run", tiny(d, TINY + "[run\n"), "-o", d / "o.nc"], ("not valid TOML", "line")),
    Case("toml-duplicate-key", run_text(with_table("lattice", "L = 9")), ("not valid TOML",)),
    Case("config-is-dir", lambda d, s: ["run", a_dir(d, s), "-o", d / "o.nc"],
         ("cannot read config file", "directory")),
    Case("config-missing", lambda d, _: ["run", d / "missing.toml", "-o", d / "o.nc"],
         ("missing.toml", "No such file")),
    Case("config-binary", lambda d, s: ["run", file_with(b"\xff\xfe\x00bad", "b.toml")(d, s), "-o", d / "o.nc"],
         ("b.toml", "not UTF-8")),
    Case("config-is-netcdf", lambda d, s: ["run", copy_to(d, s["result"], "r.toml"), "-o", d / "o.nc"],
         ("r.toml", "not UTF-8")),
    Case("unknown-table", run_text(TINY + "[latice]\nL = 3\n"), ("unknown key latice", "lattice, couplings", "sweep")),
    Case("unknown-key", run_text(with_table("lattice", "size = 3")), ("lattice.size", "d, L, boundary, levels")),
    Case("top-level-scalar", run_text("seed = 3\n" + TINY), ("unknown key seed", "run")),
    Case("table-is-scalar", run_text("lattice = 3\n"), ("[lattice] must be a table",)),
    Case("L-string", run_set("lattice.L='eight'"), ("lattice.L = 'eight'", "integer in [1, 50000000]")),
    Case("L-fraction", run_set("lattice.L=8.5"), ("lattice.L = 8.5", "integer")),
    Case("L-zero", run_set("lattice.L=0"), ("lattice.L = 0", "integer in [1")),
    Case("L-bool", run_set("lattice.L=true"), ("lattice.L = True", "integer")),
    Case("L-huge", run_set("lattice.L=1e300"), ("lattice.L = 1e+300", "[1, 50000000]")),
    Case("L-too-many-dots", run_set("lattice.d=3", "lattice.L=1000"), ("lattice.L = 1000", "5e7")),
    Case("d-four", run_set("lattice.d=4"), ("lattice.d = 4", "[1, 3]")),
    Case("levels-65", run_set("lattice.levels=65"), ("lattice.levels = 65", "[1, 64]")),
    Case("gamma1-negative", run_set("dynamics.gamma1=-1"), ("dynamics.gamma1 = -1", "[0, inf)")),
    Case("gamma1-nan", run_set("dynamics.gamma1=nan"), ("dynamics.gamma1 = nan", "finite number in [0, inf)")),
    Case("gamma1-inf", run_set("dynamics.gamma1=inf"), ("dynamics.gamma1 = inf", "finite number in [0, inf)")),
    Case("gamma1-text", run_set("dynamics.gamma1=fast"), ("dynamics.gamma1 = 'fast'", "finite number")),
    Case("gamma1-list", run_set("dynamics.gamma1=[0.1]"), ("dynamics.gamma1 = [0.1]", "finite number")),
    Case("gamma1-1e300-work", run_set("dynamics.gamma1=1e300"),
         ("events", "run.t_max", f"{MAX_WORK:.0e}", "dynamics.gamma1")),
    Case("L-work", run_set("lattice.L=1000000", "run.t_max=1e11", "couplings.cutoff=1.0"),
         ("events", f"{MAX_WORK:.0e}", "lattice.L")),
    Case("tau-min-tiny-work", run_set("run.tau.min=1e-250"), ("probe-samples", f"{MAX_WORK:.0e}", "run.tau.min")),
    Case("seed-2^63", run_set("run.seed=9223372036854775808"), ("run.seed = 9223372036854775808", SEED_MAX)),
    Case("seed-file-huge", run_text(with_table("run", "seed = 99999999999999999999")), ("run.seed", SEED_MAX)),
    Case("seed-1e30", run_set("run.seed=1e30"), ("run.seed = 1e+30", SEED_MAX)),
    Case("seed-negative", run_set("run.seed=-1"), ("run.seed = -1", "[0, ")),
    Case("seed-fraction", run_set("run.seed=1.5"), ("run.seed = 1.5", "integer")),
    Case("stream-huge", run_set("run.stream=18446744073709551616"), ("run.stream", SEED_MAX)),
    Case("kind-bad", run_set("dynamics.kind=jump"), ("dynamics.kind = 'jump'", "'flip', 'hop'")),
    Case("hop-filling-0", run_set("dynamics.kind=hop", "dynamics.filling=0"), ("dynamics.filling", "levels")),
    Case("filling-above-1", run_set("dynamics.filling=1.5"), ("dynamics.filling = 1.5", "[0, 1]")),
    Case("bath-side", run_set("dynamics.bath.side=top"), ("dynamics.bath.side = 'top'", "'left'")),
    Case("cutoff-word", run_set("couplings.cutoff=far"), ("couplings.cutoff = 'far'", "'auto'")),
    Case("cutoff-tol-1", run_set("couplings.cutoff_tol=1"), ("couplings.cutoff_tol = 1", "(0, 1)")),
    Case("gamma-zero", run_set("couplings.gamma=0"), ("couplings.gamma = 0", "(0, inf)")),
    Case("dipolar-1d", run_set("couplings.form=dipolar"), ("couplings.form = 'dipolar'", "lattice.d = 3")),
    Case("lattice-kind-bad", run_set("lattice.kind=poisson"), ("lattice.kind = 'poisson'", "'hypercubic', 'random'")),
    Case("density-on-lattice", run_set("lattice.density=0.5"), ("lattice.density = 0.5", "'random' only")),
    Case("random-density-zero", run_set("lattice.kind=random", "lattice.density=0"),
         ("lattice.density = 0", "(0, inf)")),
    Case("random-no-dots", run_set("lattice.kind=random", "lattice.density=0.01"),
         ("lattice.density", "0 random dots")),
    Case("random-resonant", run_set("lattice.kind=random", "dynamics.resonance_width=0.1"),
         ("dynamics.resonance_width", "lattice.kind = 'random'", "hypercubic")),
    Case("random-auto-tail-diverges", run_set("lattice.kind=random", "couplings.form=power", "couplings.alpha=0.4"),
         ("couplings.cutoff = 'auto'", "2*alpha <= d")),
    Case("tau-reversed", run_set("run.tau.min=10.0", "run.tau.max=1.0"), ("run.tau.max", "run.tau.min")),
    Case("tau-max-over-tmax", run_set("run.tau.max=1000.0"), ("run.tau.max", "run.t_max")),
    Case("tmax-zero", run_set("run.t_max=0"), ("run.t_max = 0", "(0, inf)", "'auto'")),
    Case("tmax-word", run_set("run.t_max=long"), ("run.t_max = 'long'", "'auto'")),
    Case("tmax-auto-no-rate", run_set("dynamics.gamma1=0", "run.t_max=auto", "couplings.cutoff=1.0"),
         ("run.t_max = 'auto'", "positive rate")),
    Case("probes-zero", run_set("run.probes=0"), ("run.probes = 0", "'all'")),
    Case("probes-too-many", run_set("run.probes=100"), ("run.probes",)),
    Case("batches-2", run_set("run.batches=2"), ("run.batches = 2", "[4, 100000]")),
    Case("batches-huge", run_set("run.batches=1e12"), ("run.batches", "[4, 100000]")),
    Case("tau-points-1", run_set("run.tau.points=1"), ("run.tau.points = 1", "[2, 1000]")),
    Case("trajectory-dt-tiny", run_set("run.trajectory.dt=1e-6"), ("run.trajectory.dt", "limit")),
    Case("checkpoint-every-neg", run_set("run.checkpoint_every=-5"), ("run.checkpoint_every = -5", "[0, inf)")),
    Case("sweep-table", run_text(TINY + "[sweep]\n\"dynamics.gamma1\" = [0.01, 0.1]\n"), ("[sweep]", "dotkmc sweep")),
    Case("sweep-set", run_set("sweep.lattice.L=[8, 16]"), ("[sweep]", "dotkmc sweep")),
    # --- --set text --------------------------------------------------------------
    Case("set-no-equals", run_set("lattice.L"), ("--set 'lattice.L'", "table.key=value")),
    Case("set-empty-key", run_set("=3"), ("--set '=3'", "dotted key")),
    Case("set-empty-value", run_set("lattice.L="), ("--set 'lattice.L='", "no value")),
    Case("set-double-dot", run_set("lattice..L=3"), ("--set 'lattice..L=3'", "dotted key")),
    Case("set-into-value", run_set("lattice.L.x=3"), ("lattice.L.x", "lattice.L is a value")),
    Case("set-unknown", run_set("lattice.size=3"), ("lattice.size", "allowed keys")),
    Case("set-whole-sweep", run_set("sweep=3"), ("--set 'sweep=3'", "sweep.KEY")),
    Case("set-table-scalar", run_set("run.tau=3"), ("[run.tau] must be a table",)),
    # --- arguments -----------------------------------------------------------------
    Case("threads-zero", run_set(extra=("--threads", "0")), ("--threads", "integer >= 1")),
    Case("threads-negative", run_set(extra=("--threads", "-2")), ("--threads", "integer >= 1")),
    Case("threads-word", run_set(extra=("--threads", "many")), ("--threads", "integer >= 1")),
    Case("unknown-command", lambda d, _: ["runn", tiny(d)], ("invalid choice", "run")),
    Case("run-no-config", lambda d, _: ["run"], ("dotkmc run", "required", "config")),
    Case("unknown-option", run_set(extra=("--fast",)), ("unrecognized arguments", "--fast")),
    # --- outputs ---------------------------------------------------------------------
    Case("output-is-dir", lambda d, s: ["run", tiny(d), "-o", a_dir(d, s), "--no-plot", "-q"], ("is a directory",)),
    Case("output-parent-is-file", lambda d, s: ["run", tiny(d), "-o", a_file_parent(d, s), "--no-plot", "-q"],
         ("cannot create the folder", "afile")),
    Case("output-in-proc", lambda d, _: ["run", tiny(d), "-o", "/proc/dotkmc-no/out.nc", "--no-plot", "-q"],
         ("cannot create the folder", "/proc/dotkmc-no")),
    Case("output-readonly", lambda d, s: ["run", tiny(d), "-o", readonly_dir(d, s), "--no-plot", "-q"],
         ("cannot write in the folder",)),
    Case("checkpoint-is-dir", lambda d, s: ["run", tiny(d), "-o", d / "o.nc", "--checkpoint", a_dir(d, s),
                                             "--no-plot", "-q"], ("checkpoint", "is a directory")),
    Case("plot-is-dir", lambda d, _: ["run", tiny(d), "-o", png_dir(d)], ("o.png", "directory", "--no-plot")),
    Case("output-is-config", lambda d, _: ["run", tiny(d), "-o", d / "c.toml", "-q"], ("c.toml", "configuration file")),
    Case("checkpoint-is-output", lambda d, _: ["run", tiny(d), "-o", d / "o.nc", "--checkpoint", d / "o.nc", "-q",
                                               "--no-plot"], ("checkpoint and the output are the same file",)),
    Case("resume-output-is-checkpoint", lambda d, s: ["resume", copy_to(d, s["ckpt"], "r.nc.ckpt"), "-o",
                                                      d / "r.nc.ckpt", "-q"], ("are the same file",)),
    Case("output-locked", lambda d, _: ["run", tiny(d), "-o", d / "out.nc", "--no-plot", "-q"],
         ("out.nc", "in use by another dotkmc run"), locks=["out.nc"]),
    Case("checkpoint-locked", lambda d, _: ["run", tiny(d), "-o", d / "out.nc", "--no-plot", "-q"],
         ("out.nc.ckpt", "in use by another dotkmc run"), locks=["out.nc.ckpt"]),
    # --- checkpoints -----------------------------------------------------------------
    Case("ckpt-missing", lambda d, _: ["resume", d / "none.ckpt"], ("none.ckpt", "does not exist")),
    Case("ckpt-missing-folder", lambda d, _: ["resume", d / "nodir" / "x.ckpt"], ("x.ckpt", "does not exist")),
    Case("ckpt-dir", resume_of(a_dir), ("is a directory",)),
    Case("ckpt-empty", resume_of(file_with(b"", "e.ckpt")), ("e.ckpt", "empty")),
    Case("ckpt-text", resume_of(file_with(b"hello\n", "t.ckpt")), ("t.ckpt", "not a readable dotkmc checkpoint")),
    Case("ckpt-truncated-half", resume_of(truncated("ckpt", 0.5, "h.ckpt")), ("h.ckpt", "not a readable")),
    Case("ckpt-truncated-head", resume_of(truncated("ckpt", 0.01, "h.ckpt")), ("h.ckpt", "not a readable")),
    Case("ckpt-is-result", resume_of(lambda d, s: copy_to(d, s["result"], "r.ckpt")), ("r.ckpt", "not a readable")),
    Case("ckpt-foreign-npz", resume_of(npz_file), ("foreign.npz", "not a dotkmc checkpoint")),
    Case("ckpt-npy", resume_of(npy_file), ("array.ckpt", "not a dotkmc checkpoint")),
    Case("ckpt-edited-rate", resume_of(ckpt_edit(lambda a: _set_config(a, "gamma1 = 0.05", "gamma1 = 0.07"))),
         ("configuration does not match its sha256",)),
    Case("ckpt-edited-seed", resume_of(ckpt_edit(lambda a: _set_config(a, "seed = 12345", "seed = 12346"))),
         ("configuration does not match its sha256",)),
    Case("ckpt-edited-rehashed", resume_of(ckpt_edit(lambda a: _set_config(a, "seed = 12345", "seed = 7", True))),
         ("arrays do not match their sha256",)),
    Case("ckpt-edited-array", resume_of(ckpt_edit(_flip_rng)), ("arrays do not match their sha256",)),
    Case("ckpt-edited-time", resume_of(ckpt_edit(lambda a: a.update(t=np.float64(1.0)))),
         ("arrays do not match their sha256",)),
    Case("ckpt-other-version", resume_of(ckpt_edit(lambda a: a.update(version=np.array("0.0.1")))),
         ("written by dotkmc 0.0.1", "this is dotkmc")),
    Case("ckpt-no-version", resume_of(ckpt_edit(lambda a: [a.pop(k) for k in ("format", "version")])),
         ("older dotkmc", "no version")),
    Case("ckpt-lacks-array", resume_of(ckpt_edit(lambda a: _drop(a, "occ"))), ("lacks occ",)),
    Case("ckpt-no-output", resume_of(lambda d, s: copy_to(d, s["ckpt_no_output"], "n.ckpt")),
         ("stores no output path", "-o")),
    Case("resume-output-dir", resume_of(lambda d, s: copy_to(d, s["ckpt"], "r.nc.ckpt"),
                                        ("-o", "/proc/dotkmc-no/out.nc")), ("cannot create the folder",)),
    Case("resume-output-is-dir", lambda d, s: ["resume", copy_to(d, s["ckpt"], "r.nc.ckpt"), "-o", a_dir(d, s)],
         ("is a directory",)),
    Case("resume-locked", lambda d, s: ["resume", copy_to(d, s["ckpt"], "r.nc.ckpt"), "-o", d / "o.nc", "-q"],
         ("r.nc.ckpt", "in use by another dotkmc run"), locks=["r.nc.ckpt"]),
    # --- results given to analyze / plot ----------------------------------------------
    Case("analyze-text", lambda d, s: ["analyze", file_with(b"hello\n", "t.nc")(d, s)],
         ("t.nc", "not a readable netCDF")),
    Case("analyze-empty", lambda d, s: ["analyze", file_with(b"", "e.nc")(d, s)], ("e.nc", "empty")),
    Case("analyze-truncated", lambda d, s: ["analyze", truncated("result", 0.5, "h.nc")(d, s)],
         ("h.nc", "not a readable netCDF")),
    Case("analyze-foreign-nc", lambda d, s: ["analyze", foreign_nc(d, s)], ("foreign.nc", "not a dotkmc result")),
    Case("analyze-checkpoint", lambda d, s: ["analyze", copy_to(d, s["ckpt"], "c.nc")],
         ("c.nc", "not a readable netCDF")),
    Case("analyze-npz", lambda d, s: ["analyze", npz_file(d, s)], ("foreign.npz", "not a readable netCDF")),
    Case("analyze-dir", lambda d, s: ["analyze", a_dir(d, s)], ("is a directory",)),
    Case("analyze-missing", lambda d, _: ["analyze", d / "none.nc"], ("none.nc", "does not exist")),
    Case("analyze-second-bad", lambda d, s: ["analyze", copy_to(d, s["result"], "ok.nc"), d / "none.nc"],
         ("none.nc", "does not exist")),
    Case("analyze-missing-vars", lambda d, s: ["analyze", result_with(lambda ds: ds.drop_vars(["echo"]))(d, s)],
         ("r.nc", "lacks the variables echo")),
    Case("analyze-bad-config-attr", lambda d, s: ["analyze", result_with(
        lambda ds: ds.assign_attrs(config="[lattice]\nd = 9\n"))(d, s)], ("r.nc", "stored configuration", "lattice.d")),
    Case("analyze-figures-file", lambda d, s: ["analyze", copy_to(d, s["result"], "ok.nc"), "--figures",
                                               file_with(b"x", "f")(d, s)], ("--figures", "not a folder")),
    Case("plot-text", lambda d, s: ["plot", file_with(b"hello\n", "t.nc")(d, s)], ("t.nc", "not a readable netCDF")),
    Case("plot-foreign-nc", lambda d, s: ["plot", foreign_nc(d, s)], ("foreign.nc", "not a dotkmc result")),
    Case("plot-truncated", lambda d, s: ["plot", truncated("result", 0.3, "h.nc")(d, s)], ("h.nc", "not a readable")),
    Case("plot-output-dir", lambda d, s: ["plot", copy_to(d, s["result"], "ok.nc"), "-o", a_dir(d, s)],
         ("plot", "is a directory")),
    # --- other commands ------------------------------------------------------------------
    Case("config-bad", lambda d, _: ["config", tiny(d), "--set", "lattice.d=0"], ("lattice.d = 0", "[1, 3]")),
    Case("config-set-no-equals", lambda d, _: ["config", "--set", "run"], ("--set 'run'", "table.key=value")),
    Case("sweep-realizations-0", lambda d, _: ["sweep", tiny(d), "-o", d / "s.nc", "--workers", "0", "--set",
                                              "sweep.realizations=0"], ("sweep.realizations = 0", "[1, 1000000]")),
    Case("sweep-seed", lambda d, _: ["sweep", tiny(d), "-o", d / "s.nc", "--workers", "0", "--set",
                                     "sweep.run.seed=[1, 2]"], ("sweep.run.seed", "realizations")),
    Case("sweep-not-list", lambda d, _: ["sweep", tiny(d), "-o", d / "s.nc", "--workers", "0", "--set",
                                         "sweep.dynamics.gamma1=0.1"], ("sweep.dynamics.gamma1", "list")),
    Case("sweep-bad-member", lambda d, _: ["sweep", tiny(d), "-o", d / "s.nc", "--workers", "0", "--set",
                                           "sweep.lattice.L=[8, 0]"], ("lattice.L = 0",)),
    Case("sweep-output-dir", lambda d, s: ["sweep", tiny(d), "-o", a_dir(d, s), "--workers", "0",
                                           "--set", "sweep.realizations=2"], ("is a directory",)),
    Case("sweep-workers-neg", lambda d, _: ["sweep", tiny(d), "--workers", "-1"], ("--workers", ">= 0")),
    Case("selfconsistent-out-file", lambda d, s: ["selfconsistent", tiny(d), "-o", file_with(b"x", "f")(d, s)],
         ("not a folder",)),
]


def _prepare(case: Case, folder: Path, src: dict):
    """Make a case's files and take its locks (serially: netCDF/HDF5 writes are not
    thread-safe); returns (CLI arguments, held lock fds, folder snapshot)."""
    folder.mkdir()
    args = case.setup(folder, src)
    held = []
    for name in case.locks:   # another run holding the lock (what dotkmc run takes)
        fd = os.open(folder / (name + ".lock"), os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"424242\n")
        held.append(fd)
    return args, held, snapshot(folder)


def _run_case(args: list, held: list, before: dict, folder: Path):
    try:
        res = cli(*args)
    finally:
        for fd in held:
            os.close(fd)
    return res, before, snapshot(folder)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, sources) -> dict:
    root = tmp_path_factory.mktemp("cases")
    prepared = {c.id: _prepare(c, root / c.id, sources) for c in CASES}
    with ThreadPoolExecutor(max_workers=4) as pool:   # only the CLI subprocesses run in parallel
        futures = {cid: pool.submit(_run_case, *p, root / cid) for cid, p in prepared.items()}
        return {k: f.result() for k, f in futures.items()}


def test_enough_cases():
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_refused_in_one_line(case, outcomes):
    res, before, after = outcomes[case.id]
    out = res.stdout + res.stderr
    assert "Traceback" not in out, out
    assert res.returncode == 2, (res.returncode, out)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("dotkmc: error: "), lines[0]
    for needle in case.needles:
        assert needle in lines[0], (needle, lines[0])
    assert after == before, "files were created, changed or removed"


# ---------------------------------------------------------------------------
# temporary files and locks left by killed processes
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_orphans_of_killed_writers_are_removed_and_stale_locks_do_not_block(tmp_path, sources):
    cfg = tiny(tmp_path)
    out = tmp_path / "out.nc"
    pid = dead_pid()
    orphans = [tmp_path / f".out.nc.tmp{pid}", tmp_path / f".out.nc.ckpt.tmp{pid}"]
    for o in orphans:
        o.write_bytes(b"half")
    alive = tmp_path / f".out.nc.tmp{os.getpid()}"   # a live writer's file is left alone
    alive.write_bytes(b"busy")
    (tmp_path / "out.nc.lock").write_text(f"{pid}\n")   # a SIGKILLed run's lock file (no flock held)
    res = cli("run", cfg, "-o", out, "--no-plot", "-q")
    assert res.returncode == 0, res.stderr
    assert not any(o.exists() for o in orphans) and alive.exists()
    alive.unlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "out.nc"]
    assert xr.load_dataset(out).attrs["finished"] == 1


@pytest.mark.slow
def test_resume_removes_orphans_and_finishes(tmp_path, sources):
    ck = copy_to(tmp_path, sources["ckpt"], "r.nc.ckpt")
    pid = dead_pid()
    orphan = tmp_path / f".r.nc.ckpt.tmp{pid}"
    orphan.write_bytes(b"half")
    res = cli("resume", ck, "-o", tmp_path / "r.nc", "-q")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]
    ref = xr.load_dataset(sources["result"])
    assert_identical(ref, xr.load_dataset(tmp_path / "r.nc"))


def test_checkpoint_carries_version_and_hashes(sources):
    data = _npz(sources["ckpt"])
    assert str(data["format"]) == CHECKPOINT_FORMAT
    assert str(data["version"]) == S.dataset.package_version()
    text = str(data["config"])
    assert str(data["config_sha256"]) == hashlib.sha256(text.encode()).hexdigest()
    arrays = {k: v for k, v in data.items()
              if k not in ("format", "version", "config", "config_sha256", "arrays_sha256")}
    assert set(S.engine.STATE_ARRAYS) <= set(arrays)
    assert str(data["arrays_sha256"]) == arrays_digest(arrays, str(data["config_sha256"]))


def test_schema_ranges_are_true():
    """Every printed range refuses inf; [sweep] is documented."""
    text = cli("config", "--schema").stdout
    assert "inf]" not in text and "(0, inf)" in text
    assert "sweep.realizations" in text and "sweep.TABLE.KEY" in text and SEED_MAX in text
    res = cli("config", "--set", "couplings.xi=inf")
    assert res.returncode == 2 and "(0, inf)" in res.stderr


# ---------------------------------------------------------------------------
# signals and concurrent runs (a run long enough to be interrupted)
# ---------------------------------------------------------------------------
LONG = LONG_RUN.format(t_max=100000.0, every=1e6)


def assert_identical(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    for name in list(a.data_vars) + list(a.coords):
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    strip = lambda d: {k: v for k, v in d.items() if k not in NONDETERMINISTIC_ATTRS}  # noqa: E731
    assert strip(a.attrs) == strip(b.attrs)


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("long")
    cfg = d / "long.toml"
    cfg.write_text(LONG)
    return cfg, S.run(S.load_config(cfg), progress=False)


def start_long(cfg: Path, out: Path, *extra) -> subprocess.Popen:
    """Start a long run and return once it holds its lock (it is in its chunk loop)."""
    proc = subprocess.Popen([*CLI, "run", str(cfg), "-o", str(out), "--no-plot", "-q", *extra], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = Path(str(out) + ".lock")
    deadline = time.time() + 120
    while not lock.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)
    assert proc.poll() is None, "the run ended before it could be interrupted; make LONG longer"
    return proc


@pytest.mark.slow
def test_sigterm_checkpoints_and_resume_is_identical(tmp_path, long_reference):
    cfg, ref = long_reference
    out = tmp_path / "long.nc"
    ck = Path(str(out) + ".ckpt")
    proc = start_long(cfg, out)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "SIGTERM" in err and f"dotkmc resume {ck}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.nc.ckpt"]   # no output, temp or lock
    res = cli("resume", ck, "-q")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.nc"]
    assert_identical(ref, xr.load_dataset(out))


@pytest.mark.slow
def test_edited_checkpoint_of_a_real_run_is_refused(tmp_path, long_reference):
    cfg, _ = long_reference
    out = tmp_path / "long.nc"
    ck = Path(str(out) + ".ckpt")
    proc = start_long(cfg, out)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and ck.exists(), err
    edited_checkpoint(ck, ck, lambda a: _set_config(a, "gamma1 = 0.05", "gamma1 = 0.5"))
    before = snapshot(tmp_path)
    res = cli("resume", ck, "-q")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "does not match its sha256" in res.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_concurrent_run_on_same_output_is_refused(tmp_path, long_reference):
    """While a run works, a second run on its -o and a resume of its checkpoint are
    refused; the first run's result is complete and its own."""
    cfg, _ = long_reference
    out = tmp_path / "long.nc"
    ck = Path(str(out) + ".ckpt")
    first = start_long(cfg, out, "--set", "run.t_max=300000", "--set", "run.checkpoint_every=0.2")
    deadline = time.time() + 60
    while not ck.exists() and time.time() < deadline:
        time.sleep(0.02)
    resumer = cli("resume", ck, "-q")
    second = cli("run", cfg, "-o", out, "--no-plot", "-q", "--set", "run.seed=7")
    assert first.poll() is None, "the first run ended before the others were refused; make it longer"
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    for res, name in ((second, "long.nc"), (resumer, "long.nc")):
        assert res.returncode == 2 and "Traceback" not in res.stdout + res.stderr
        line, = res.stderr.strip().splitlines()
        assert "in use by another dotkmc run" in line and f"pid {first.pid}" in line and name in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.nc"]
    ds = xr.load_dataset(out)
    assert ds.attrs["finished"] == 1 and ds.attrs["seed"] == 12345 and ds.attrs["simulated_time"] == 300000.0
    assert S.load_config(tomllib.loads(ds.attrs["config"])) == S.load_config(cfg, ["run.t_max=300000",
                                                                                  "run.checkpoint_every=0.2"])


@pytest.mark.slow
def test_sigkill_releases_the_lock(tmp_path, long_reference):
    cfg, ref = long_reference
    out = tmp_path / "long.nc"
    proc = start_long(cfg, out)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert Path(str(out) + ".lock").exists()   # the file stays, the flock is gone with the process
    res = cli("run", cfg, "-o", out, "--no-plot", "-q")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.nc"]
    assert_identical(ref, xr.load_dataset(out))
