"""``dotkmc selfconsistent``: close the loop Gamma1 <- Eq. 16/17 <- measured Gamma2,
and the studies built on it (docs/selfconsistent.md)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ._common import UserError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``selfconsistent`` command."""
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


def _settled(status: str) -> bool:
    return status in ("converged", "collapsed")


def cmd_selfconsistent(args: argparse.Namespace) -> int:
    """One loop; with a bath chain the bath-chain study; with ``--critical`` the
    critical couplings; with a [sweep] the fixed-point study. Exit status 1 when a
    loop ends neither converged nor collapsed."""
    import simulator

    cfg = simulator.load_config(args.config, args.set)
    outdir = Path(args.output) if args.output else Path("results") / (Path(args.config).stem + ".loop")
    if outdir.exists() and not outdir.is_dir():
        raise UserError(f"output folder {str(outdir)!r} exists and is not a folder")
    from simulator.engine import check_output_path

    check_output_path(outdir / "history.nc", "history")
    log = None if args.quiet else print
    resonant = cfg["selfconsistent"]["equation"] == "resonant"
    if resonant and (cfg.sweep or args.critical):
        # those studies compare with the Eq. 16/17 mean field, which is not this loop's law
        raise UserError("selfconsistent.equation = 'resonant' runs one loop here (no [sweep], no --critical); "
                        "its study is python -m analysis.studies.resonant_meanfield (docs/resonant.md)")
    bath_chain = (cfg["dynamics"]["bath"]["side"] == "left" and cfg["lattice"]["d"] == 1
                  and cfg["selfconsistent"]["mode"] == "profile" and not resonant)
    if bath_chain and not args.critical:
        return _bath_chain(cfg, outdir, log)
    if args.critical:
        return _critical(cfg, outdir, args.iterations)
    if cfg.sweep:
        return _fixed_points(cfg, outdir, log)
    from analysis.closure import run_loop
    from analysis.plots import plot_loop

    hist = run_loop(cfg, outdir, progress=False, log=log)
    print(f"status: {hist.attrs['status']} after {hist.sizes['iteration']} iterations; "
          f"history: {outdir / 'history.nc'}")
    print(f"plot:   {plot_loop(hist, outdir / 'history.png')}")
    return 0 if _settled(hist.attrs["status"]) else 1


def _bath_chain(cfg, outdir: Path, log) -> int:
    from analysis.plots import plot_loop
    from analysis.studies import closure_study as cs

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
    return 0 if all(_settled(h.attrs["status"]) for h in hists) else 1


def _critical(cfg, outdir: Path, iterations: int) -> int:
    from analysis.studies import closure_study as cs

    rows = cs.critical_study(cfg, iterations=iterations, log=print)
    print(f"{'L':>5s}{'free':>6s}{'rho':>12s}{'+-':>9s}{'(g/d)_c sim':>13s}{'(g/d)_c MF':>12s}")
    for r in rows:
        print(f"{r['L']:>5d}{r['free_dots']:>6d}{r['rho']:>12.5g}{r['rho_err']:>9.2g}"
              f"{r['critical']:>13.5g}{r['mf_critical']:>12.5g}")
    for key, fit in cs.fit_critical(rows).items():
        print(f"fit {key} ~ L^p: {fit}")
    print(f"plot:   {cs.plot_critical(rows, outdir / 'critical.png')}")
    return 0


def _fixed_points(cfg, outdir: Path, log) -> int:
    from analysis.studies import closure_study as cs

    rows = cs.fixed_point_study(cfg, outdir, log=log)
    print(f"{'member':>28s}{'XilogK':>8s}{'law':>5s}{'status':>16s}{'it':>4s}{'Gamma1':>11s}{'Gamma2':>11s}"
          f"{'+-':>9s}{'MF Gamma1':>11s}{'MF Gamma2':>11s}{'MF(15) G2':>11s}{'Eq19 exact':>11s}{'Eq19 print':>11s}")
    for r in rows:
        print(f"{r['label']:>28s}{r['Xi_logK']:>8.3f}{r['law']:>5s}{r['status']:>16s}{r['iterations']:>4d}"
              f"{r['gamma1']:>11.4g}{r['gamma2']:>11.4g}{r['gamma2_err']:>9.2g}{r['mf_gamma1']:>11.4g}"
              f"{r['mf_gamma2']:>11.4g}{r['mf15_gamma2']:>11.4g}{r['eq19_corrected']:>11.4g}{r['eq19_printed']:>11.4g}")
    print(f"plot:   {cs.plot_fixed_points(rows, outdir / 'fixed_points.png')}")
    return 0 if all(_settled(r["status"]) for r in rows) else 1
