"""Parameter sweeps: many runs of one configuration, as tasks on dask.distributed.

A configuration's ``[sweep]`` table lists values for any dotted key, plus
``realizations`` (default 1). The sweep is the cartesian product of the lists,
in the order the keys appear, times the realizations; each element is a
*member*: one ordinary run with the swept values set and its own seed.

Seed scheme
-----------
Members are numbered in row-major order of the index tuple
``(i_key1, i_key2, ..., realization)`` (the realization varies fastest); the
flat number of a member is ``i``. With ``n`` members and the base ``run.seed``
``s``, member ``i`` gets ::

    seed_i = int(numpy.random.SeedSequence(s).spawn(n)[i]
                 .generate_state(1, numpy.uint64)[0] >> 1)

i.e. the first 64-bit word of the ``i``-th spawned child (spawn key ``(i,)``),
shifted right by one bit so it fits a signed 64-bit TOML integer. The child
does not depend on ``n``, so ``SeedSequence(s, spawn_key=(i,))`` gives the same
word. Every member -- every realization *and* every parameter point -- thus has
its own independent disorder (couplings, static energies, probe choice) and
noise (dynamics) streams, all derived from the one base seed, and its member
configuration (stored in its result) re-runs it alone with ``dotkmc run``.
Because seeds follow the flat number, changing the shape of a sweep (adding a
value to a list, more realizations) changes the seeds of the members that move.

Member files and restarts
-------------------------
Every member's result is written, as soon as it arrives, to
``<output stem>.members/member-<index>.nc`` beside the combined output
(``<index>`` is the index tuple, zero-padded, joined by ``-``; the last entry is
the realization). A member whose file exists, is readable, and stores a
``config`` attribute equal to the member's configuration TOML is not run again,
so an interrupted sweep restarted with the same command computes only what is
missing. A member that fails leaves ``member-<index>.err`` (message and
traceback) instead, removed once it succeeds. All member files are written by the process that runs
:func:`run_sweep` (the client), so the workers of a remote cluster need no
shared file system.

Combined dataset
----------------
See :func:`combine` and ``docs/sweeps.md``.
"""
from __future__ import annotations

import itertools
import sys
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
import xarray as xr

from . import variables as V
from .config import Config, ConfigError, load_config
from .dataset import package_version, write_netcdf
from .seeds import member_seeds

__all__ = ["Member", "expand", "member_seeds", "run_sweep", "combine", "member_dataset", "members_dir",
           "member_path", "dim_name", "DEFAULT_WORKERS"]

DEFAULT_WORKERS = 2
#: dask retries of a task that raised on the worker (member exceptions are caught
#: in the task, so in practice these cover failures outside the simulation).
TASK_RETRIES = 2
#: member dimensions whose coordinate is a physical grid that may differ between
#: members; stacked as ``<dim>_value`` over the sweep dimensions.
GRID_DIMS = ("tau", "time", "omega")
_MEMBER_ATTR_FLAG = "dotkmc_member_attr"
_DTYPE_FLAG = "dotkmc_original_dtype"


# ---------------------------------------------------------------------------
# expansion
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    """One run of a sweep.

    Attributes
    ----------
    index : tuple of int
        Position in the sweep: one index per swept key (in key order), then the
        realization.
    flat : int
        Row-major number of the member (realization fastest).
    values : dict
        Swept dotted key -> value of this member.
    realization : int
        Realization number (0-based).
    seed : int
        The member's ``run.seed``.
    config : Config
        The base configuration with the swept values and the member seed set
        (no ``[sweep]`` table): run it alone with :func:`simulator.run`.
    label : str
        The index tuple, zero-padded and joined by ``-`` (used in file names).
    """

    index: tuple
    flat: int
    values: dict
    realization: int
    seed: int
    config: Config
    label: str

    def describe(self) -> str:
        """``key=value, ..., realization=r`` for messages."""
        parts = [f"{k}={v!r}" for k, v in self.values.items()] + [f"realization={self.realization}"]
        return ", ".join(parts)


def dim_name(key: str) -> str:
    """Dimension name of a swept dotted key: ``dynamics.gamma1`` -> ``dynamics__gamma1``."""
    return key.replace(".", "__")


def sweep_lists(config: Config) -> tuple[dict[str, list], int]:
    """The swept keys with their value lists (in order), and the realization count."""
    lists = {k: list(v) for k, v in config.sweep.items() if k != "realizations"}
    realizations = int(config.sweep.get("realizations", 1))
    if "run.seed" in lists:
        raise ConfigError("sweep.run.seed is not allowed: member seeds are derived from run.seed; "
                          "use sweep.realizations for independent repetitions")
    return lists, realizations


def expand(config) -> list[Member]:
    """All members of a sweep, in row-major order (realization fastest).

    Parameters
    ----------
    config : Config, dict of tables, or path to a TOML file
        The base configuration with its ``[sweep]`` table. Without one, the
        sweep has a single member (realization 0).

    Returns
    -------
    list of Member

    Raises
    ------
    ConfigError
        If a member's configuration is not valid (the message names the member's
        parameters), or ``run.seed`` is swept.
    """
    config = config if isinstance(config, Config) else load_config(config)
    lists, realizations = sweep_lists(config)
    keys = list(lists)
    shape = [len(lists[k]) for k in keys] + [realizations]
    n = int(np.prod(shape))
    seeds = member_seeds(config["run"]["seed"], n)
    widths = [len(str(s - 1)) for s in shape]
    members = []
    for flat, index in enumerate(itertools.product(*(range(s) for s in shape))):
        values = {k: lists[k][i] for k, i in zip(keys, index[:-1])}
        label = "-".join(str(i).zfill(w) for i, w in zip(index, widths))
        try:
            cfg = config.with_values({**values, "run.seed": seeds[flat]})
        except ConfigError as exc:
            desc = ", ".join(f"{k}={v!r}" for k, v in values.items())
            raise ConfigError(f"sweep member {label} ({desc}): {exc}") from None
        members.append(Member(index=tuple(index), flat=flat, values=values, realization=index[-1],
                              seed=seeds[flat], config=cfg, label=label))
    return members


# ---------------------------------------------------------------------------
# member files
# ---------------------------------------------------------------------------
def members_dir(output) -> Path:
    """Folder of the member files: ``<output stem>.members`` beside ``output``."""
    output = Path(output)
    return output.parent / (output.stem + ".members")


def member_path(output, member: Member) -> Path:
    """``<output stem>.members/member-<label>.nc``."""
    return members_dir(output) / f"member-{member.label}.nc"


def _stored_ok(path: Path, member: Member) -> bool:
    """True if ``path`` holds a finished result of exactly this member's config."""
    if not path.exists():
        return False
    try:
        with xr.open_dataset(path) as ds:
            return ds.attrs.get("config") == member.config.to_toml() and int(ds.attrs.get("finished", 0)) == 1
    except Exception:  # unreadable or truncated: recompute
        return False


def compute_member(config_toml: str):
    """Run one member (the task executed on a worker).

    Parameters
    ----------
    config_toml : the member's configuration as TOML text.

    Returns
    -------
    tuple
        ``("ok", dataset)`` or ``("error", "ExceptionType: message", traceback)``.
        Exceptions are caught here, so dask retries only tasks lost with a worker.
    """
    import tomllib

    import simulator

    try:
        cfg = load_config(tomllib.loads(config_toml))
        # one thread per member: the workers already share the cores between members
        return ("ok", simulator.run(cfg, progress=False, threads=1))
    except Exception as exc:  # reported with the member's parameters by the client
        return ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------
class _Report:
    """Progress bar and messages of a sweep."""

    def __init__(self, total: int, done: int, progress: bool):
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=done, disable=not progress, unit="member", desc="sweep",
                        dynamic_ncols=True, file=sys.stderr)
        self.progress = progress

    def message(self, text: str) -> None:
        from tqdm import tqdm

        tqdm.write(text, file=sys.stderr)

    def close(self):
        self.bar.close()


def run_sweep(config, output, workers: int | None = None, scheduler: str | None = None,
              progress: bool | None = None) -> xr.Dataset:
    """Run every member of a sweep and write the combined result.

    Parameters
    ----------
    config : Config, dict of tables, or path to a TOML file (with ``[sweep]``).
    output : path of the combined netCDF file. Member files go to
        ``<output stem>.members/``.
    workers : number of worker processes of the LocalCluster started for the
        sweep (default 2; one thread each). ``0`` runs the members serially in
        this process without dask (same results, for tests and debugging).
    scheduler : address of a running dask scheduler (``tcp://host:8786``); the
        members run on its workers instead of a LocalCluster.
    progress : show a progress bar of members done / total (default: when
        stderr is a terminal).

    Returns
    -------
    xarray.Dataset
        The combined dataset (see :func:`combine`); ``attrs["failed"]`` counts
        members that failed (they are NaN in the data and listed in
        ``member_error``).
    """
    config = config if isinstance(config, Config) else load_config(config)
    if workers is not None and scheduler is not None:
        raise ValueError("give workers or scheduler, not both")
    if workers is not None and workers < 0:
        raise ValueError(f"workers = {workers} must be >= 0")
    if progress is None:
        progress = sys.stderr.isatty()
    output = Path(output)
    members = expand(config)
    paths = [member_path(output, m) for m in members]
    todo = [m for m, p in zip(members, paths) if not _stored_ok(p, m)]
    report = _Report(len(members), len(members) - len(todo), progress)
    errors: dict[int, str] = {}
    try:
        if not todo:
            pass
        elif scheduler is None and workers == 0:
            _run_serial(todo, output, report, errors)
        else:
            _run_dask(todo, output, report, errors, workers=workers, scheduler=scheduler)
    finally:
        report.close()
    datasets = [None if m.flat in errors else xr.load_dataset(p) for m, p in zip(members, paths)]
    for ds in datasets:
        if ds is not None and ds.attrs.get("version") != package_version():
            report.message(f"dotkmc sweep: warning: member results from version {ds.attrs.get('version')} "
                           f"(this is {package_version()})")
            break
    combined = combine(config, members, datasets, errors)
    write_netcdf(combined, output)
    return combined


def _finish_member(member: Member, outcome, output: Path, report: _Report, errors: dict) -> None:
    """Write a member's file (or its ``.err`` traceback file) and report it."""
    path = member_path(output, member)
    err_path = path.with_suffix(".err")
    if outcome[0] == "ok":
        write_netcdf(outcome[1], path)
        err_path.unlink(missing_ok=True)
    else:
        errors[member.flat] = outcome[1]
        err_path.parent.mkdir(parents=True, exist_ok=True)
        err_path.write_text(f"member {member.label} ({member.describe()})\n{outcome[1]}\n\n{outcome[2]}")
        report.message(f"dotkmc sweep: member {member.label} ({member.describe()}) failed: {outcome[1]}")
    report.bar.update(1)


def _run_serial(todo: list[Member], output: Path, report: _Report, errors: dict) -> None:
    for m in todo:
        _finish_member(m, compute_member(m.config.to_toml()), output, report, errors)


def _run_dask(todo: list[Member], output: Path, report: _Report, errors: dict, workers, scheduler) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = client = None
    futures: dict = {}
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=DEFAULT_WORKERS if workers is None else workers,
                                   threads_per_worker=1, processes=True, dashboard_address=":0")
            client = Client(cluster)
        else:
            client = Client(scheduler)
        if report.progress and client.dashboard_link:
            report.message(f"dotkmc sweep: dask dashboard at {client.dashboard_link}")
        tag = uuid.uuid4().hex[:8]
        for m in todo:
            fut = client.submit(compute_member, m.config.to_toml(), key=f"dotkmc-member-{m.label}-{tag}",
                                retries=TASK_RETRIES, pure=False)
            futures[fut.key] = (fut, m)
        for fut in as_completed([f for f, _ in futures.values()]):
            m = futures.pop(fut.key)[1]
            if fut.status == "finished":
                outcome = fut.result()
            else:  # lost with workers too often (KilledWorker), cancelled, or raised outside the task
                exc = fut.exception()
                outcome = ("error", f"{type(exc).__name__}: {exc}", "")
            fut.release()
            _finish_member(m, outcome, output, report, errors)
    finally:
        for fut, _ in futures.values():
            fut.cancel()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


# ---------------------------------------------------------------------------
# combining
# ---------------------------------------------------------------------------
def _coord_values(values: list) -> np.ndarray:
    """Coordinate array of a swept key's values (strings if types are mixed)."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values)
    if all(isinstance(v, str) for v in values):
        return np.asarray(values, dtype=object)
    return np.asarray([str(v) for v in values], dtype=object)


def _fill_for(dtype: np.dtype):
    if dtype.kind in "fc":
        return dtype, np.nan
    if dtype.kind in "iub":
        return np.dtype(np.float64), np.nan
    if dtype.kind in "OUS":
        return np.dtype(object), ""
    return dtype, np.nan


def combine(config: Config, members: list[Member], datasets: list, errors: dict | None = None) -> xr.Dataset:
    """Stack member results into one Dataset.

    Layout
    ------
    * Dimensions: one per swept key (``dotted.key`` -> ``dotted__key``, the
      values as coordinate), then ``realization``, then each member's own
      dimensions (``probe``, ``tau``, ``time``, ``traj_probe``, ``dot``,
      ``axis``).
    * Member dimensions with a positional coordinate (``probe``, ``dot``,
      ``axis``; ``traj_probe`` has none) keep it. If members differ in size
      along one (a swept ``lattice.L`` or ``run.probes``), the shorter ones are
      padded at the end with NaN (integer and boolean variables then become
      float64, with the attribute ``dotkmc_original_dtype``; strings are padded
      with ""), the equivalent of an outer join; ``member_sizes`` records each
      member's true sizes.
    * ``tau``, ``time`` and ``omega`` are grids that differ between members
      (``auto`` tau ranges follow Gamma1), so they are positional here and their
      values are the coordinates ``tau_value``, ``time_value`` and ``omega_value``
      over (sweep dims, realization, tau/time/omega).
    * Per-member run attributes (resolved tau range, cutoff, ...) become
      variables over the sweep dimensions (flagged ``dotkmc_member_attr``);
      ``member_config`` (TOML text), ``member_seed``, ``member_failed`` (0/1)
      and ``member_error`` ("" if none) describe each member.
    * Attributes: ``config`` (the base configuration TOML, ``[sweep]``
      included), ``sweep`` (the sweep table as TOML), ``sweep_dims``, counts
      ``members`` and ``failed``, ``version``, ``units``, ``Conventions`` and
      the library versions ``version_<name>`` of the combining process, and
      ``wall_time`` (sum over members; the only non-deterministic attribute).
    * Every variable and coordinate carries ``units``, ``long_name`` and
      ``comment`` from the registry :mod:`simulator.variables`
      (docs/variables.md); an unregistered one is an error.

    A failed member (``datasets[i] is None``) is NaN everywhere.

    Parameters
    ----------
    config : the base configuration.
    members : from :func:`expand`.
    datasets : one run Dataset (or None for a failed member) per member.
    errors : member flat number -> error message.
    """
    errors = errors or {}
    lists, realizations = sweep_lists(config)
    sweep_dims = [dim_name(k) for k in lists] + ["realization"]
    sweep_shape = tuple(len(v) for v in lists.values()) + (realizations,)
    good = [ds for ds in datasets if ds is not None]

    # -- member dimensions: sizes and coordinates ---------------------------
    member_dims: list[str] = []
    for ds in good:
        for d in ds.dims:
            if d not in member_dims:
                member_dims.append(d)
    sizes = {d: max(int(ds.sizes.get(d, 0)) for ds in good) for d in member_dims}
    grid_dims = set(GRID_DIMS)
    for d in member_dims:
        for ds in good:
            if d in ds.coords and not np.array_equal(ds[d].values, np.arange(ds.sizes[d])):
                grid_dims.add(d)
    padded = bool(errors) or any(ds.sizes.get(d, 0) != sizes[d] for ds in good for d in member_dims)

    def stacked(name: str, getter, extra_attrs: dict | None = None):
        """Stack ``getter(ds)`` (a DataArray or None) of every member."""
        proto = next((a for a in (getter(ds) for ds in good) if a is not None), None)
        if proto is None:
            return None
        dims = proto.dims
        needs_fill = padded or any(getter(ds) is None for ds in good)
        dtype, fill = _fill_for(proto.dtype) if needs_fill else (proto.dtype, None)
        if dtype.kind in "US":  # fixed-width strings would truncate longer ones
            dtype, fill = np.dtype(object), ""
        data = np.empty(sweep_shape + tuple(sizes[d] for d in dims), dtype=dtype)
        if needs_fill:
            data[...] = fill
        for m, ds in zip(members, datasets):
            a = None if ds is None else getter(ds)
            if a is None:
                continue
            if a.dims != dims:
                raise ValueError(f"variable {name!r} has dims {a.dims} in member {m.label}, {dims} in others")
            values = a.values.astype(object) if dtype.kind == "O" else a.values
            data[m.index + tuple(slice(0, n) for n in a.shape)] = values[()] if values.ndim == 0 else values
        attrs = dict(proto.attrs)
        if dtype != proto.dtype and proto.dtype.kind in "iub":
            attrs[_DTYPE_FLAG] = str(proto.dtype)
        attrs.update(extra_attrs or {})
        return xr.Variable(tuple(sweep_dims) + dims, data, attrs)

    data_vars: dict[str, Any] = {}
    coords: dict[str, Any] = {dim_name(k): (dim_name(k), _coord_values(v)) for k, v in lists.items()}
    coords["realization"] = ("realization", np.arange(realizations))
    for d in member_dims:
        if d in grid_dims:
            coords[f"{d}_value"] = stacked(f"{d}_value", lambda ds, d=d: ds[d].variable if d in ds.coords else None)
        elif any(d in ds.coords for ds in good):
            coords[d] = (d, np.arange(sizes[d]))
    names: list[str] = []
    for ds in good:
        for name in ds.variables:
            if name not in ds.dims and name not in names:
                names.append(name)
    for name in names:
        var = stacked(name, lambda ds, n=name: ds.variables[n] if n in ds.variables else None)
        is_coord = any(name in ds.coords for ds in good)
        (coords if is_coord else data_vars)[name] = var
    # per-member run attributes -> variables
    attr_names: list[str] = []
    for ds in good:
        for a in ds.attrs:
            if a not in attr_names and a not in V.SWEEP_KEPT_ATTRS:
                attr_names.append(a)
    for a in attr_names:
        if a in data_vars or a in coords:
            raise ValueError(f"run attribute {a!r} clashes with a variable of the same name")
        data_vars[a] = stacked(a, lambda ds, a=a: xr.Variable((), ds.attrs[a]) if a in ds.attrs else None,
                               {_MEMBER_ATTR_FLAG: 1})

    # -- member bookkeeping --------------------------------------------------
    def per_member(fn, dtype):
        arr = np.empty(sweep_shape, dtype=dtype)
        for m in members:
            arr[m.index] = fn(m)
        return (tuple(sweep_dims), arr)

    data_vars["member_seed"] = per_member(lambda m: m.seed, np.int64)
    data_vars["member_config"] = per_member(lambda m: m.config.to_toml(), object)
    data_vars["member_failed"] = per_member(lambda m: int(m.flat in errors), np.int8)
    data_vars["member_error"] = per_member(lambda m: errors.get(m.flat, ""), object)
    sz = np.zeros(sweep_shape + (len(member_dims),), dtype=np.int64)
    for m, ds in zip(members, datasets):
        if ds is not None:
            sz[m.index] = [ds.sizes.get(d, 0) for d in member_dims]
    data_vars["member_sizes"] = (tuple(sweep_dims) + ("member_dim",), sz,
                                 {"long_name": "each member's size along each of its dimensions"})
    coords["member_dim"] = ("member_dim", np.asarray(member_dims, dtype=object))

    sweep_table: dict[str, Any] = {k: v for k, v in lists.items()}
    sweep_table["realizations"] = realizations
    attrs = {
        "title": "dotkmc sweep",
        "config": config.to_toml(),
        "sweep": tomli_w.dumps(sweep_table),
        "sweep_dims": " ".join(sweep_dims),
        "members": len(members),
        "failed": len(errors),
        "version": package_version(),
        "units": good[0].attrs.get("units", "") if good else "",
        "wall_time": float(sum(float(ds.attrs.get("wall_time", 0.0)) for ds in good)),
        **V.provenance_attrs(),
    }
    combined = xr.Dataset(data_vars={k: v for k, v in data_vars.items() if v is not None},
                          coords={k: v for k, v in coords.items() if v is not None}, attrs=attrs)
    # units, long_name and comment of every variable from the registry (docs/variables.md)
    return V.annotate(combined, lambda name: V.sweep_spec(name, list(lists)), tuple(sweep_dims))


def member_dataset(ds: xr.Dataset, index) -> xr.Dataset:
    """The run Dataset of one member of a combined sweep (padding removed).

    Parameters
    ----------
    ds : a combined sweep dataset (from :func:`run_sweep` / :func:`combine`).
    index : tuple of positional indices over ``ds.attrs["sweep_dims"]`` (the
        realization last), or a dict of sweep dim -> positional index.

    Returns
    -------
    xarray.Dataset
        Laid out like the result of :func:`simulator.run` for that member (its
        ``config`` and ``seed`` attributes included, ``wall_time`` absent), so
        run-level tools (``simulator.model_from_dataset``, the exact references)
        apply to it.
    """
    sweep_dims = ds.attrs["sweep_dims"].split()
    if not isinstance(index, dict):
        index = dict(zip(sweep_dims, index))
    sub = ds.isel(index)
    if int(sub["member_failed"]) != 0:
        raise ValueError(f"member {index} failed: {sub['member_error'].item()}")
    sizes = dict(zip(sub["member_dim"].values.tolist(), sub["member_sizes"].values.tolist()))
    sub = sub.isel({d: slice(0, n) for d, n in sizes.items()})
    attrs = {"title": "dotkmc run", "config": sub["member_config"].item(), "seed": int(sub["member_seed"]),
             "version": ds.attrs.get("version"), "units": ds.attrs.get("units")}
    attrs.update({k: ds.attrs[k] for k in ("Conventions", *V.VERSION_ATTRS) if k in ds.attrs})
    out = {}
    for key, var in sub.data_vars.items():
        name = str(key)   # xarray names are Hashable; a run's are strings
        if var.attrs.get(_MEMBER_ATTR_FLAG):
            value = var.values[()]
            attrs[name] = value.item() if hasattr(value, "item") else value
        elif not name.startswith("member_"):
            out[name] = _restore_dtype(var)
    coords = {}
    for key, var in sub.coords.items():
        name = str(key)
        if name in sweep_dims or name == "member_dim":
            continue
        base = name[: -len("_value")]
        if name.endswith("_value") and base in sizes:
            v = _restore_dtype(var)
            if base in V.RUN:  # the run's own coordinate attributes, not those of the stacked grid
                v.attrs = {**v.attrs, **V.RUN[base].attrs}
            coords[base] = v
        else:
            coords[name] = _restore_dtype(var)
    result = xr.Dataset(out, coords=coords, attrs=attrs)
    return result


def _restore_dtype(var: xr.DataArray) -> xr.Variable:
    """The variable of ``var`` with a padding-promoted dtype cast back."""
    v = var.variable.copy()
    dt = v.attrs.pop(_DTYPE_FLAG, None)
    if dt is not None:
        attrs = dict(v.attrs)
        v = v.astype(dt)
        v.attrs = attrs
    return v
