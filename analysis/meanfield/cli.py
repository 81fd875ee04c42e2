"""``dotkmc meanfield``: solve the paper's mean-field equations or regenerate its figures.

The project's ``dotkmc`` command calls :func:`add_parser` with its argparse
sub-parsers object and dispatches to :func:`run`.  ``python -m
analysis.meanfield.cli ...`` runs the same sub-command stand-alone.

Examples::

    dotkmc meanfield solve --gamma 1 --delta-m 1000 --K 7.389 --Xi 0.6 --N 10 --d 1 --z 2
    dotkmc meanfield figures --outdir docs/figures
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

__all__ = ["add_parser", "run", "main"]

_DESCRIPTION = (
    "Mean-field theory of nearly many-body-localised metals (Gopalakrishnan & Nandkishore). "
    "'solve' prints every homogeneous self-consistent solution (Gamma_1, Gamma_2) of Eq. (12) with "
    "Eq. (15)/(16)/(17), its stability under iteration, the closed forms Eqs. (18)-(20) (printed and "
    "corrected) and the validity conditions Eqs. (21)-(24). 'figures' regenerates Figs. 4-9 as PNG. "
    "Units: hbar = 1, all energies and rates in one unit (e.g. gamma = 1).")


def _configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="meanfield_action", metavar="{solve,figures}")
    s = sub.add_parser("solve", help="solve the homogeneous self-consistency and print a table",
                       description="Solve Eq. (12) + Eq. (15)/(16)/(17) for (Gamma_1, Gamma_2); print all roots "
                                   "with stability, the closed forms Eqs. (18)-(20) and the validity Eqs. (21)-(24).")
    s.add_argument("--gamma", type=float, default=1.0, help="interdot coupling gamma (energy; default 1)")
    s.add_argument("--delta-m", dest="delta_m", type=float, default=1000.0,
                   help="accessible level spacing delta_m (energy; default 1000)")
    s.add_argument("--K", type=float, default=float(np.exp(2.0)), help="Fock-space branching number K > 1 "
                   "(default e^2)")
    s.add_argument("--Xi", type=float, default=0.6, help="Fock-space localisation length Xi > 0 (default 0.6)")
    s.add_argument("--N", type=float, default=10.0, help="levels per dot N; transitions per dot N^2 (default 10)")
    s.add_argument("--N2", type=float, default=None, help="transitions per dot (overrides N^2)")
    s.add_argument("--d", type=int, default=1, help="spatial dimension (default 1)")
    s.add_argument("--z", type=float, default=None, help="coordination number (default 2d)")
    s.add_argument("--law", default="auto", choices=["auto", "eq14", "eq15", "eq16", "eq17"],
                   help="Gamma_1 law: auto = Eq. 16 if Xi log K > 1 else Eq. 17 (default auto)")
    s.add_argument("--no-log", dest="no_log", action="store_true",
                   help="use Eq. (12) without the log correction (Gamma_2 = z N^2 Gamma_1)")
    s.add_argument("--margin", type=float, default=10.0, help="factor that '<<' demands in Eqs. 21-24 (default 10)")
    f = sub.add_parser("figures", help="regenerate the paper's Figs. 4-9 as PNG",
                       description="Regenerate Figs. 4, 5, 6, 7, 8, 9 (PNG) from the equations.")
    f.add_argument("--outdir", default="docs/figures", help="output directory (default docs/figures)")
    f.add_argument("--only", nargs="*", default=None, metavar="N", help="only these figure numbers, e.g. 4 7")
    p.set_defaults(func=run)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``meanfield`` sub-command on an argparse sub-parsers object; returns its parser."""
    p = subparsers.add_parser("meanfield", help="solve the paper's mean-field equations; regenerate Figs. 4-9",
                              description=_DESCRIPTION)
    _configure(p)
    return p


def _fmt(x) -> str:
    x = float(x)
    if not np.isfinite(x):
        return "nan"
    return f"{x:.6g}"


def _solve(args) -> int:
    from .selfconsistent import (gamma2_eq18, gamma2_eq19_corrected, gamma2_eq19_printed, gamma2_eq20_corrected,
                                 gamma2_eq20_printed, gamma1_eq19_corrected, solve_selfconsistent, validity)
    N2 = args.N2 if args.N2 is not None else args.N**2
    z = args.z if args.z is not None else 2.0 * args.d
    kappa = args.Xi * np.log(args.K) if args.K > 1 and args.Xi > 0 else float("nan")
    roots = solve_selfconsistent(args.gamma, args.delta_m, N2, args.d, args.Xi, args.K, law=args.law,
                                 log_correction=not args.no_log, z=z)
    print(f"parameters: gamma={_fmt(args.gamma)} delta_m={_fmt(args.delta_m)} K={_fmt(args.K)} Xi={_fmt(args.Xi)} "
          f"Xi*log(K)={_fmt(kappa)} N^2={_fmt(N2)} d={args.d} z={_fmt(z)} law={args.law} "
          f"log_correction={not args.no_log}")
    print()
    print(f"{'root':>4}  {'Gamma_1':>14}  {'Gamma_2':>14}  {'multiplier':>11}  {'stable':>7}  note")
    for i, r in enumerate(roots):
        st = "marginal" if r.stable is None else ("yes" if r.stable else "no")
        print(f"{i:>4}  {_fmt(r.gamma1):>14}  {_fmt(r.gamma2):>14}  {_fmt(r.multiplier):>11}  {st:>7}  {r.note}")
    print()
    print("closed forms (Gamma_2):")
    print(f"  Eq. (18) (no log)          {_fmt(gamma2_eq18(args.gamma, args.delta_m, N2, z, args.Xi, args.K))}")
    eq19 = (args.gamma, args.delta_m, N2, args.d, args.Xi, args.K)
    print(f"  Eq. (19) printed           {_fmt(gamma2_eq19_printed(*eq19))}")
    print(f"  Eq. (19) corrected (exact) {_fmt(gamma2_eq19_corrected(*eq19))}"
          f"   [Gamma_1 = {_fmt(gamma1_eq19_corrected(*eq19))}]")
    print(f"  Eq. (20) printed           {_fmt(gamma2_eq20_printed(args.gamma, args.delta_m, N2, args.d))}"
          f"   (Xi log K = 1)")
    print(f"  Eq. (20) corrected         {_fmt(gamma2_eq20_corrected(args.gamma, args.delta_m, N2, args.d))}")
    nz = [r for r in roots if r.gamma1 > 0]
    if nz:
        print()
        print(f"validity (Eqs. 21-24, '<<' means a factor {_fmt(args.margin)}), per nonzero root:")
        names = ["eq21", "eq22_left", "eq22_right", "eq23", "eq24", "leading_order_in_gamma"]
        print("  root  " + "  ".join(f"{n:>22}" for n in names))
        for i, r in enumerate(roots):
            if r.gamma1 <= 0:
                continue
            v = validity(r.gamma1, r.gamma2, args.gamma, args.delta_m, N2, args.d, args.Xi, args.K, z,
                         margin=args.margin)
            print(f"  {i:>4}  " + "  ".join(f"{'holds' if bool(v[n]['holds']) else 'FAILS':>22}" for n in names))
    return 0


def run(args) -> int:
    """Execute ``dotkmc meanfield`` for parsed ``args``; returns the exit code (2 on bad parameters)."""
    action = getattr(args, "meanfield_action", None)
    try:
        if action == "solve":
            return _solve(args)
        if action == "figures":
            from .figures import make_all
            for path in make_all(args.outdir, which=args.only):
                print(path)
            return 0
        print("dotkmc meanfield: error: choose an action: solve or figures (see --help)", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"dotkmc meanfield: error: {exc}", file=sys.stderr)
        return 2


def main(argv=None) -> int:
    """Stand-alone entry point: ``python -m analysis.meanfield.cli {solve,figures} ...``."""
    p = argparse.ArgumentParser(prog="python -m analysis.meanfield.cli", description=_DESCRIPTION)
    _configure(p)
    args = p.parse_args(argv)
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
