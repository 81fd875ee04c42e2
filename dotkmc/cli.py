"""The ``dotkmc`` command (SPEC §8).

    dotkmc run CONFIG [-o OUT.nc] [--set table.key=value ...]
    dotkmc resume CHECKPOINT [-o OUT.nc]
    dotkmc sweep CONFIG [-o OUT.nc] [--workers N | --scheduler ADDRESS]
    dotkmc analyze RESULT.nc [RESULT2.nc ...] [--figures DIR]
    dotkmc plot RESULT.nc [-o PLOT.png]
    dotkmc meanfield {solve,figures} ...
    dotkmc selfconsistent CONFIG [-o OUTDIR]
    dotkmc config [CONFIG] [--set ...]      (validate and print the resolved config)

User errors (bad config keys or values, bad arguments, missing, foreign or
corrupted files, unwritable or busy outputs, runs beyond the work limit) print
one line ``dotkmc: error: ...`` naming the problem and exit with status 2; they
never print a traceback. SIGINT/SIGTERM during a run write its checkpoint and exit
with 128 + the signal number (docs/reliability.md).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path


class UserError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``dotkmc: error: ...``), like every other user error."""

    def error(self, message: str):
        self.exit(2, f"dotkmc: error: {self.prog}: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: expected an integer >= 1") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} is not allowed: expected an integer >= 1")
    return n


def _default_output(config_path: str) -> Path:
    return Path("results") / (Path(config_path).stem + ".nc")


def cmd_run(args) -> int:
    import simulator

    cfg = simulator.load_config(args.config, args.set)
    if cfg.sweep:
        raise UserError(f"{args.config} has a [sweep] table, which 'dotkmc run' does not run: use "
                        f"'dotkmc sweep {args.config}', or remove the [sweep] table to run one configuration")
    out = Path(args.output) if args.output else _default_output(args.config)
    if os.path.realpath(out) == os.path.realpath(args.config):
        raise UserError(f"-o {str(out)!r} is the configuration file itself: choose another output")
    if not args.no_plot and out.with_suffix(".png").is_dir():
        raise UserError(f"the plot {str(out.with_suffix('.png'))!r} would replace a directory: choose another "
                        f"-o or use --no-plot")
    ds = simulator.run(cfg, output=out, checkpoint=args.checkpoint, progress=False if args.quiet else None,
                       threads=args.threads)
    _report(ds, out)
    if not args.no_plot:
        from analysis.plots import plot_run

        png = plot_run(ds, out.with_suffix(".png"), exact=not args.no_exact)
        print(f"plot:   {png}")
    return 0


def cmd_resume(args) -> int:
    import simulator

    ckpt = Path(args.checkpoint)
    ds = simulator.resume(ckpt, output=args.output, progress=False if args.quiet else None, require_output=True)
    _report(ds, args.output or "(the path stored in the checkpoint)")
    return 0


def _report(ds, out) -> None:
    print(f"result: {out}")
    print(f"events: {int(ds['n_events'])}   wall: {ds.attrs['wall_time']:.2f} s   "
          f"({int(ds['n_events']) / max(ds.attrs['wall_time'], 1e-9):.3g} events/s)")
    print(f"typical Gamma2 (echo) = {float(ds['gamma2_echo_typical']):.4g}   "
          f"Gamma2 of probe-averaged echo = {float(ds['gamma2_echo_of_mean']):.4g}   "
          f"typical Gamma2* (Ramsey) = {float(ds['gamma2_ramsey_typical']):.4g}")
    _warn_few_windows(ds)


def _warn_few_windows(ds) -> None:
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


# what every dotkmc result has (docs/model.md §5, docs/sweeps.md); checked before any analysis
_RUN_VARIABLES = ("echo", "echo_stderr", "ramsey", "ramsey_stderr", "n_windows", "gamma2_echo", "gamma1",
                  "probe_index", "energy", "n_events")
_SWEEP_VARIABLES = ("echo", "gamma2_echo")


def open_result(path) -> "xarray.Dataset":  # noqa: F821
    """Load a result of ``dotkmc run`` or ``dotkmc sweep``, or raise :class:`UserError`.

    Refused with one line: a missing path, a directory, an empty file, a file
    that is not readable netCDF (text, truncated, a checkpoint), a netCDF that
    is not a dotkmc result (title attribute, variables) or whose stored
    configuration is not valid.
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


_open = open_result


def _check_folder(path: str) -> None:
    """Refuse a figures folder that is a file or cannot be created."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"--figures {str(p)!r} exists and is not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the figures folder {str(p)!r}: {exc.strerror or exc}") from None
    if not os.access(p, os.W_OK):
        raise UserError(f"cannot write in the figures folder {str(p)!r}")


def cmd_analyze(args) -> int:
    import simulator
    from analysis.scan import is_sweep, report
    from analysis.summary import summarize

    datasets = [_open(r) for r in args.result]
    if args.figures:
        _check_folder(args.figures)
    sweeps = [r for r, ds in zip(args.result, datasets) if is_sweep(ds)]
    for r, ds in zip(args.result, datasets):
        if not is_sweep(ds):
            print(f"== {r}")
            print(summarize(ds, exact=not args.no_exact))
            if simulator.model_from_dataset(ds).config["dynamics"]["bath"]["side"] != "none":
                from analysis.scan import plot_bath_profile

                fig = Path(args.figures or str(Path(r).with_suffix("")) + "_figures")
                print(f"figure: {plot_bath_profile(ds, fig / (Path(r).stem + '_profile.png'))}")
    if sweeps:
        figures = args.figures or str(Path(sweeps[0]).with_suffix("")) + "_figures"
        print(report(sweeps, figures=figures, exact=not args.no_exact))
    return 0


def cmd_plot(args) -> int:
    from analysis.plots import plot_run, plot_sweep
    from analysis.scan import is_sweep

    from simulator.engine import check_output_path

    ds = _open(args.result)
    out = args.output or str(Path(args.result).with_suffix(".png"))
    check_output_path(out, "plot")
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


def cmd_selfconsistent(args) -> int:
    import simulator
    from analysis.closure import run_loop
    from analysis.plots import plot_loop

    cfg = simulator.load_config(args.config, args.set)
    outdir = Path(args.output) if args.output else Path("results") / (Path(args.config).stem + ".loop")
    if outdir.exists() and not outdir.is_dir():
        raise UserError(f"output folder {str(outdir)!r} exists and is not a folder")
    from simulator.engine import check_output_path

    check_output_path(outdir / "history.nc", "history")
    log = None if args.quiet else print
    bath_chain = (cfg["dynamics"]["bath"]["side"] == "left" and cfg["lattice"]["d"] == 1
                  and cfg["selfconsistent"]["mode"] == "profile")
    if bath_chain and not args.critical:
        from analysis import closure_study as cs

        hists, dirs, cmp = cs.bath_chain_study(cfg, outdir, log=log)
        n = len(hists)
        err_name = "+-" if n == 1 else f"+-({n})"
        print(f"{'x':>4s}{'Gamma2 sim':>12s}{err_name:>9s}{'Gamma2 MF':>12s}{'rule chain':>12s}{'sim/rule':>10s}"
              f"{'Gamma1 sim':>12s}{'Gamma1 MF':>12s}")
        for i in range(0, cmp["x"].size, max(1, cmp["x"].size // 15)):
            print(f"{cmp['x'][i]:>4d}{cmp['gamma2'][i]:>12.4g}{cmp['gamma2_err'][i]:>9.2g}{cmp['mf_gamma2'][i]:>12.4g}"
                  f"{cmp['rule_chain_gamma2'][i]:>12.4g}{cmp['map_ratio'][i]:>10.3f}"
                  f"{cmp['gamma1'][i]:>12.4g}{cmp['mf_gamma1'][i]:>12.4g}")
        print("rule chain: the self-consistent rule-sum profile with the samples' own couplings; "
              "sim/rule: measured Gamma2 over the rule sum at the same Gamma1 profile")
        print(f"plot:   {cs.plot_bath_chain(cmp, outdir / 'bath_profile.png')}")
        for h, where in zip(hists, dirs):
            print(f"status: {h.attrs['status']} after {h.sizes['iteration']} iterations; history: {where / 'history.nc'}")
            print(f"plot:   {plot_loop(h, where / 'history.png')}")
        return 0 if all(h.attrs["status"] in ("converged", "collapsed") for h in hists) else 1
    if args.critical or cfg.sweep:
        from analysis import closure_study as cs

        if args.critical:
            rows = cs.critical_study(cfg, iterations=args.iterations, log=print)
            print(f"{'L':>5s}{'free':>6s}{'rho':>12s}{'+-':>9s}{'(g/d)_c sim':>13s}{'(g/d)_c MF':>12s}")
            for r in rows:
                print(f"{r['L']:>5d}{r['free_dots']:>6d}{r['rho']:>12.5g}{r['rho_err']:>9.2g}"
                      f"{r['critical']:>13.5g}{r['mf_critical']:>12.5g}")
            for key, fit in cs.fit_critical(rows).items():
                print(f"fit {key} ~ L^p: {fit}")
            print(f"plot:   {cs.plot_critical(rows, outdir / 'critical.png')}")
            return 0
        rows = cs.fixed_point_study(cfg, outdir, log=log)
        print(f"{'member':>28s}{'XilogK':>8s}{'law':>5s}{'status':>16s}{'it':>4s}{'Gamma1':>11s}{'Gamma2':>11s}"
              f"{'+-':>9s}{'MF Gamma1':>11s}{'MF Gamma2':>11s}{'MF(15) G2':>11s}{'Eq19 exact':>11s}{'Eq19 print':>11s}")
        for r in rows:
            print(f"{r['label']:>28s}{r['Xi_logK']:>8.3f}{r['law']:>5s}{r['status']:>16s}{r['iterations']:>4d}"
                  f"{r['gamma1']:>11.4g}{r['gamma2']:>11.4g}{r['gamma2_err']:>9.2g}{r['mf_gamma1']:>11.4g}"
                  f"{r['mf_gamma2']:>11.4g}{r['mf15_gamma2']:>11.4g}{r['eq19_corrected']:>11.4g}{r['eq19_printed']:>11.4g}")
        print(f"plot:   {cs.plot_fixed_points(rows, outdir / 'fixed_points.png')}")
        return 0 if all(r["status"] in ("converged", "collapsed") for r in rows) else 1
    hist = run_loop(cfg, outdir, progress=False, log=log)
    print(f"status: {hist.attrs['status']} after {hist.sizes['iteration']} iterations; history: {outdir / 'history.nc'}")
    print(f"plot:   {plot_loop(hist, outdir / 'history.png')}")
    return 0 if hist.attrs["status"] in ("converged", "collapsed") else 1


def cmd_config(args) -> int:
    import simulator

    if args.schema:
        print(simulator.describe_schema())
        return 0
    print(simulator.load_config(args.config, args.set).to_toml(), end="")
    return 0


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``dotkmc`` parser. ``command`` (the first word of the command line, if
    known) lets other commands skip importing the mean-field package (scipy)."""
    parser = _Parser(
        prog="dotkmc",
        description="Exact kinetic Monte Carlo of coupled quantum dots: spectral diffusion, "
                    "emergent linewidths, and the mean-field theory of nearly-MBL metals.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("run", help="run one simulation from a TOML config",
                       description="Run one simulation; writes a netCDF result and a PNG plot of the echo decays.")
    p.add_argument("config", help="TOML configuration file")
    p.add_argument("-o", "--output", help="netCDF output (default results/<config name>.nc)")
    p.add_argument("--set", action="append", default=[], metavar="TABLE.KEY=VALUE",
                   help="override a config value (repeatable), e.g. --set dynamics.gamma1=1e-3")
    p.add_argument("--checkpoint", help="checkpoint path (default <output>.ckpt)")
    p.add_argument("--threads", type=_positive_int, help="parallel blocks (default: all cores); the result is identical "
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

    p = sub.add_parser("analyze", help="summarise a result against exact and mean-field predictions",
                       description="Print a comparison of the measured linewidths with the exact "
                                   "product (SPEC §5) and mean-field predictions (SPEC §6.2).")
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

    p = sub.add_parser("selfconsistent", help="close the loop: Gamma1 <- Eq. 16/17 <- measured Gamma2",
                       description="Iterate Gamma1 profile -> simulation -> measured Gamma2 -> new Gamma1 "
                                   "(Eq. 16 or 17, parameters in [selfconsistent]) until converged within "
                                   "error bars or collapsed. Every iteration is saved; running again in the "
                                   "same folder resumes.")
    p.add_argument("config", help="TOML configuration with a [selfconsistent] table (with a [sweep] "
                                  "table: one loop per member and a summary against mean field)")
    p.add_argument("--critical", action="store_true",
                   help="instead of loops: growth factor of the linearised loop and the critical gamma/delta_m "
                        "for every member (e.g. a [sweep] list of lattice.L with pin = 'ends')")
    p.add_argument("--iterations", type=int, default=24,
                   help="power iterations for --critical; rho is the mean over the second half (default 24)")
    p.add_argument("-o", "--output", help="output folder (default results/<config name>.loop)")
    p.add_argument("--set", action="append", default=[], metavar="TABLE.KEY=VALUE")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_selfconsistent)

    p = sub.add_parser("config", help="validate a config and print it resolved, or list every key",
                       description="Validate a configuration and print it with every default filled in.")
    p.add_argument("config", nargs="?", help="TOML configuration (default: all defaults)")
    p.add_argument("--set", action="append", default=[], metavar="TABLE.KEY=VALUE")
    p.add_argument("--schema", action="store_true", help="list every key, its default and allowed values")
    p.set_defaults(func=cmd_config)

    from simulator import sweep_cli

    sweep_cli.add_parser(sub)

    if command not in (None, "meanfield"):
        sub.add_parser("meanfield", help="solve the paper's mean-field equations; regenerate Figs. 4-9")
        return parser
    try:
        from analysis.meanfield import cli as mf_cli
    except ImportError:  # the mean-field module is optional for the simulator
        mf_cli = None
    if mf_cli is not None:
        mf_cli.add_parser(sub)
    return parser


def _on_sigterm(signum, _frame):
    """SIGTERM outside a run's chunk loop: unwind like Ctrl-C (temporary files are removed)."""
    from simulator.config import Interrupted

    raise Interrupted("SIGTERM received (the last checkpoint, if any, can be resumed)", signum)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(next((a for a in argv if not a.startswith("-")), None))
    args = parser.parse_args(argv)
    from simulator.config import ConfigError, RunError

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, UserError, RunError) as exc:
        print(f"dotkmc: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"dotkmc: {exc or 'interrupted (the last checkpoint, if any, can be resumed)'}", file=sys.stderr)
        return 128 + getattr(exc, "signum", signal.SIGINT)
    except MemoryError:
        print("dotkmc: error: not enough memory for this run: lower lattice.L, run.probes, couplings.cutoff or "
              "run.tau.points", file=sys.stderr)
        return 2
    except BrokenPipeError:   # e.g. `dotkmc config --schema | head`: the reader left, not an error
        sys.stdout = open(os.devnull, "w")
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
