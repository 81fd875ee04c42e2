"""Walking a combined sweep result by parameter point (docs/sweeps.md)."""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import xarray as xr

from simulator.sweep import member_dataset


def is_sweep(ds: xr.Dataset) -> bool:
    """True for a combined ``dotkmc sweep`` result (it has ``sweep_dims``)."""
    return "sweep_dims" in ds.attrs


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def parameter_points(ds: xr.Dataset) -> Iterator[tuple[dict, list[xr.Dataset]]]:
    """Yield (params, members) for every point of the swept keys other than
    ``realization``: the dotted keys and their values, and the member run
    datasets over realizations (failed members left out)."""
    dims = ds.attrs["sweep_dims"].split()
    pdims = [d for d in dims if d != "realization"]
    nreal = ds.sizes.get("realization", 1)
    for idx in itertools.product(*(range(ds.sizes[d]) for d in pdims)):
        params = {d.replace("__", "."): _plain(ds[d].values[i]) for d, i in zip(pdims, idx)}
        members = []
        for r in range(nreal):
            full = dict(zip(pdims, idx))
            if "realization" in dims:
                full["realization"] = r
            try:
                members.append(member_dataset(ds, full))
            except ValueError:  # failed member
                continue
        yield params, members
