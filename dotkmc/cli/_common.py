"""What every command of ``dotkmc`` shares: the one-line user error, the parser
that reports argument errors the same way, and the checks of result files and
output folders (docs/reliability.md)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import xarray


class UserError(Exception):
    """A user error: printed as one line ``dotkmc: error: ...``, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``dotkmc: error: ...``), like every other user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"dotkmc: error: {self.prog}: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1, else a one-line error naming what is allowed."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: expected an integer >= 1") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} is not allowed: expected an integer >= 1")
    return n


def default_output(config_path: str) -> Path:
    """results/<config name>.nc"""
    return Path("results") / (Path(config_path).stem + ".nc")


# what every dotkmc result has (docs/model.md §5, docs/sweeps.md); checked before any analysis
_RUN_VARIABLES = ("echo", "echo_stderr", "ramsey", "ramsey_stderr", "n_windows", "gamma2_echo", "gamma1",
                  "probe_index", "energy", "n_events")
_SWEEP_VARIABLES = ("echo", "gamma2_echo")


def open_result(path: str | Path) -> xarray.Dataset:
    """Load a result of ``dotkmc run`` or ``dotkmc sweep``, or raise :class:`UserError`.

    Refused with one line: a missing path, a directory, an empty file, a file
    that is not readable netCDF (text, truncated, a checkpoint), a netCDF that
    is not a dotkmc result (title attribute, variables) or whose stored
    configuration is not valid (docs/reliability.md).
    """
    import tomllib

    import xarray as xr

    import simulator

    p = Path(path)
    name = repr(str(p))
    if not p.exists():
        raise UserError(f"result file {name} does not exist")
    if p.is_dir():
        raise UserError(f"result file {name} is a directory; expected a netCDF result of dotkmc run or dotkmc sweep")
    if p.stat().st_size == 0:
        raise UserError(f"result file {name} is empty; expected a netCDF result of dotkmc run or dotkmc sweep")
    try:
        ds = xr.load_dataset(p, engine="netcdf4")
    except Exception:  # netCDF4/HDF5 raise OSError, RuntimeError, ValueError, ... for foreign bytes
        raise UserError(f"{name} is not a readable netCDF file (truncated, corrupted or another kind of file); "
                        f"expected a result of dotkmc run or dotkmc sweep") from None
    title = ds.attrs.get("title")
    if title not in ("dotkmc run", "dotkmc sweep") or "config" not in ds.attrs:
        raise UserError(f"{name} is a netCDF file but not a dotkmc result (title {title!r}; expected "
                        f"'dotkmc run' or 'dotkmc sweep' with a 'config' attribute)")
    sweep = title == "dotkmc sweep"
    if sweep and "sweep_dims" not in ds.attrs:
        raise UserError(f"{name} lacks the 'sweep_dims' attribute: not a complete dotkmc sweep result")
    missing = [v for v in (_SWEEP_VARIABLES if sweep else _RUN_VARIABLES) if v not in ds.variables]
    if missing:
        raise UserError(f"{name} lacks the variables {', '.join(missing)}: not a complete dotkmc {title[7:]} result")
    try:
        simulator.load_config(tomllib.loads(str(ds.attrs["config"])))
    except (tomllib.TOMLDecodeError, simulator.ConfigError) as exc:
        raise UserError(f"{name}: its stored configuration is not valid for this dotkmc "
                        f"({' '.join(str(exc).split())})") from None
    return ds


def check_folder(path: str | Path) -> None:
    """Refuse (:class:`UserError`) a figures folder that is a file or cannot be created or written."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"--figures {str(p)!r} exists and is not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the figures folder {str(p)!r}: {exc.strerror or exc}") from None
    if not os.access(p, os.W_OK):
        raise UserError(f"cannot write in the figures folder {str(p)!r}")
