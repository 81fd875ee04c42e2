"""``dotkmc run`` and ``dotkmc resume`` (docs/model.md, docs/reliability.md)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import UserError, default_output, positive_int

if TYPE_CHECKING:
    import xarray


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` and ``resume`` commands."""
    p = sub.add_parser("run", help="run one simulation from a TOML config",
                       description="Run one simulation; writes a netCDF result and a PNG plot of the echo decays.")
    p.add_argument("config", help="TOML configuration file")
    p.add_argument("-o", "--output", help="netCDF output (default results/<config name>.nc)")
    p.add_argument("--set", action="append", default=[], metavar="TABLE.KEY=VALUE",
                   help="override a config value (repeatable), e.g. --set dynamics.gamma1=1e-3")
    p.add_argument("--checkpoint", help="checkpoint path (default <output>.ckpt)")
    p.add_argument("--threads", type=positive_int, help="parallel blocks (default: all cores); the result is identical "
                                               "for any value")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG plot")
    p.add_argument("--no-exact", action="store_true", help="do not draw the exact curves on the plot")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("resume", help="continue an interrupted run from its checkpoint",
                       description="Continue a run from its checkpoint; the result is bit-identical to "
                                   "an uninterrupted run.")
    p.add_argument("checkpoint", help="checkpoint file written by 'dotkmc run' (<output>.ckpt)")
    p.add_argument("-o", "--output", help="netCDF output (default: the run's own output path)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_resume)


def cmd_run(args: argparse.Namespace) -> int:
    """Run one configuration, write its result and quick-look plot, print the linewidths."""
    import simulator

    cfg = simulator.load_config(args.config, args.set)
    if cfg.sweep:
        raise UserError(f"{args.config} has a [sweep] table, which 'dotkmc run' does not run: use "
                        f"'dotkmc sweep {args.config}', or remove the [sweep] table to run one configuration")
    out = Path(args.output) if args.output else default_output(args.config)
    if os.path.realpath(out) == os.path.realpath(args.config):
        raise UserError(f"-o {str(out)!r} is the configuration file itself: choose another output")
    if not args.no_plot and out.with_suffix(".png").is_dir():
        raise UserError(f"the plot {str(out.with_suffix('.png'))!r} would replace a directory: choose another "
                        f"-o or use --no-plot")
    ds = simulator.run(cfg, output=out, checkpoint=args.checkpoint, progress=False if args.quiet else None,
                       threads=args.threads)
    report(ds, out)
    if not args.no_plot:
        from analysis.plots import plot_run

        png = plot_run(ds, out.with_suffix(".png"), exact=not args.no_exact)
        print(f"plot:   {png}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    """Continue a run from its checkpoint and print its linewidths."""
    import simulator

    ckpt = Path(args.checkpoint)
    ds = simulator.resume(ckpt, output=args.output, progress=False if args.quiet else None, require_output=True)
    report(ds, args.output or "(the path stored in the checkpoint)")
    return 0


def report(ds: xarray.Dataset, out: str | Path) -> None:
    """Print where a run went, its speed and its typical linewidths (docs/model.md)."""
    print(f"result: {out}")
    print(f"events: {int(ds['n_events'])}   wall: {ds.attrs['wall_time']:.2f} s   "
          f"({int(ds['n_events']) / max(ds.attrs['wall_time'], 1e-9):.3g} events/s)")
    print(f"typical Gamma2 (echo) = {float(ds['gamma2_echo_typical']):.4g}   "
          f"Gamma2 of probe-averaged echo = {float(ds['gamma2_echo_of_mean']):.4g}   "
          f"typical Gamma2* (Ramsey) = {float(ds['gamma2_ramsey_typical']):.4g}")
    warn_few_windows(ds)


def warn_few_windows(ds: xarray.Dataset) -> None:
    """Say so when probes have too few windows at their crossing to trust Gamma2."""
    import numpy as np

    import simulator

    if ds["n_windows"].ndim != 1:
        return
    w = simulator.windows_at_crossing(ds["tau"].values, ds["n_windows"].values, ds["gamma2_echo"].values)
    few = int(np.sum(w < simulator.MIN_WINDOWS))
    if few:
        print(f"warning: {few} of {w.size} probes have fewer than {simulator.MIN_WINDOWS} windows at their 1/e "
              f"crossing (median {np.nanmedian(w):.0f}): their Gamma2 and error bars are unreliable; "
              f"run longer (run.t_max, run.flips) or set run.tau.t0_spacing")
