"""The ``dotkmc sweep`` subcommand (docs/sweeps.md), to be registered by the main CLI.

    dotkmc sweep CONFIG [-o OUT.nc] [--workers N | --scheduler ADDRESS]
                        [--set table.key=value ...] [-q]

Usage from the main parser::

    from simulator import sweep_cli
    sweep_cli.add_parser(subparsers)      # sets func=sweep_cli.run

Exit status: 0 when every member succeeded, 1 when some failed (the combined
file is still written, the failed members NaN), 2 when the scheduler cannot be
reached. A bad configuration raises :class:`simulator.ConfigError`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n} is not allowed: expected an integer >= 0")
    return n


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``sweep`` on an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "sweep", help="run the [sweep] of a config (cartesian product x realizations) on dask",
        description="Run every member of the config's [sweep] table -- the cartesian product of its\n"
                    "value lists times sweep.realizations, each with its own seed derived from run.seed --\n"
                    "as tasks on dask.distributed, and write one combined netCDF with the swept keys and\n"
                    "'realization' as dimensions. Each member is also written to\n"
                    "<output stem>.members/member-<index>.nc as soon as it finishes; rerunning the same\n"
                    "command computes only the members that are missing. See docs/sweeps.md.",
        epilog="examples:\n"
               "  dotkmc sweep runs/scan.toml --workers 2\n"
               "  dotkmc sweep runs/scan.toml --set sweep.realizations=8 -o results/scan8.nc\n"
               "  dotkmc sweep runs/scan.toml --scheduler tcp://head-node:8786\n"
               "exit status: 0 all members done, 1 some members failed (reported; NaN in the result), "
               "2 usage or configuration error",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="TOML configuration with a [sweep] table")
    p.add_argument("-o", "--output", help="combined netCDF output (default results/<config name>.nc)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_workers, metavar="N", default=None,
                       help="worker processes of the local dask cluster (default 2, one thread each); "
                            "0 runs the members one after another in this process, without dask")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of a running dask scheduler, e.g. tcp://host:8786 "
                            "(start it with 'dask scheduler', workers with 'dask worker ADDRESS')")
    p.add_argument("--set", action="append", default=[], metavar="TABLE.KEY=VALUE",
                   help="override a config value (repeatable); sweep keys too, "
                        "e.g. --set sweep.realizations=4")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def default_output(config_path: str) -> Path:
    """``results/<config stem>.nc``."""
    return Path("results") / (Path(config_path).stem + ".nc")


def run(args) -> int:
    """Execute ``dotkmc sweep`` from parsed arguments; returns the exit status."""
    import simulator
    from simulator.sweep import expand, members_dir, run_sweep

    from simulator.engine import claim_outputs

    cfg = simulator.load_config(args.config, args.set)
    out = Path(args.output) if args.output else default_output(args.config)
    progress = False if args.quiet else None
    expand(cfg)   # every member's configuration is valid before anything is created
    try:
        # checked and locked before any member runs: a second sweep on the same output is refused
        with claim_outputs(output=out):
            ds = run_sweep(cfg, out, workers=args.workers, scheduler=args.scheduler, progress=progress)
    except OSError as exc:  # scheduler unreachable (connection refused / timed out)
        if args.scheduler is None:
            raise
        print(f"dotkmc: error: cannot use the dask scheduler at {args.scheduler}: {exc}", file=sys.stderr)
        return 2
    n, failed = int(ds.attrs["members"]), int(ds.attrs["failed"])
    print(f"result:  {out}")
    print(f"members: {n} ({n - failed} done, {failed} failed) in {members_dir(out)}")
    print(f"dims:    {', '.join(f'{d}={ds.sizes[d]}' for d in ds.attrs['sweep_dims'].split())}")
    if failed:
        print(f"dotkmc: error: {failed} of {n} members failed (see the messages above and the "
              f"member_error variable); rerun the same command to retry them", file=sys.stderr)
        return 1
    return 0
