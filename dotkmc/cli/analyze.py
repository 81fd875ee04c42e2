"""``dotkmc analyze`` and ``dotkmc plot``: a result against the exact and
mean-field predictions, and its figures (docs/exact.md, docs/meanfield.md,
docs/results.md)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ._common import UserError, check_folder, open_result


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``analyze`` and ``plot`` commands."""
    p = sub.add_parser("analyze", help="summarise a result against exact and mean-field predictions",
                       description="Print a comparison of the measured linewidths with the exact "
                                   "product (docs/exact.md) and mean-field predictions (docs/meanfield.md).")
    p.add_argument("result", nargs="+", help="netCDF results of 'dotkmc run' or 'dotkmc sweep' "
                                              "(several sweeps: one table each, one scaling figure for all)")
    p.add_argument("--figures", help="folder for the sweep figures (default <first result>_figures)")
    p.add_argument("--no-exact", action="store_true", help="skip the exact reference (faster)")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("plot", help="plot echo/Ramsey decays and a trajectory of a result",
                       description="Plot the echo and Ramsey decays of a result (with exact curves) to PNG.")
    p.add_argument("result", help="netCDF result")
    p.add_argument("-o", "--output", help="PNG path (default: beside the result)")
    p.add_argument("--no-exact", action="store_true", help="do not draw exact curves")
    p.set_defaults(func=cmd_plot)


def cmd_analyze(args: argparse.Namespace) -> int:
    """Print the summary of every run (and its bath profile figure), then the scan
    report of all sweeps together. Each run's model is built once
    (:class:`analysis.result.Result`)."""
    from analysis.result import Result
    from analysis.studies.scan import plot_bath_profile, report
    from analysis.summary import summarize
    from analysis.sweeps import is_sweep

    datasets = [open_result(r) for r in args.result]
    if args.figures:
        check_folder(args.figures)
    sweeps = [(r, ds) for r, ds in zip(args.result, datasets) if is_sweep(ds)]
    for r, ds in zip(args.result, datasets):
        if not is_sweep(ds):
            res = Result(ds)
            print(f"== {r}")
            print(summarize(res, exact=not args.no_exact))
            if res.config["dynamics"]["bath"]["side"] != "none":
                fig = Path(args.figures or str(Path(r).with_suffix("")) + "_figures")
                print(f"figure: {plot_bath_profile(res, fig / (Path(r).stem + '_profile.png'))}")
    if sweeps:
        figures = args.figures or str(Path(sweeps[0][0]).with_suffix("")) + "_figures"
        print(report([r for r, _ in sweeps], figures=figures, exact=not args.no_exact,
                     datasets=[ds for _, ds in sweeps]))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """Write the quick-look figure of a run, or the sweep figure of a sweep."""
    from analysis.plots import plot_run, plot_sweep
    from analysis.sweeps import is_sweep
    from simulator.engine import check_output_path

    ds = open_result(args.result)
    out = args.output or str(Path(args.result).with_suffix(".png"))
    check_output_path(out, "plot")     # first: a directory is named as such, whatever its suffix
    if Path(out).suffix.lower() != ".png":
        raise UserError(f"plot output {out!r} must end in .png")
    if is_sweep(ds):
        if "gamma2_echo" not in ds or "config" not in ds.attrs:
            raise UserError(f"{args.result!r} is a sweep result without member runs (no 'gamma2_echo'); "
                            f"nothing to plot")
        print(plot_sweep(ds, out))
        return 0
    print(plot_run(ds, out, exact=not args.no_exact))
    return 0
