"""The ``dotkmc`` command (README.md; one module per command group).

    dotkmc run CONFIG [-o OUT.nc] [--set table.key=value ...]      (run.py)
    dotkmc resume CHECKPOINT [-o OUT.nc]                             (run.py)
    dotkmc sweep CONFIG [-o OUT.nc] [--workers N | --scheduler ADDRESS]  (sweep.py)
    dotkmc analyze RESULT.nc [RESULT2.nc ...] [--figures DIR]        (analyze.py)
    dotkmc plot RESULT.nc [-o PLOT.png]                              (analyze.py)
    dotkmc meanfield {solve,figures} ...                             (meanfield.py)
    dotkmc selfconsistent CONFIG [-o OUTDIR]                         (selfconsistent.py)
    dotkmc config [CONFIG] [--set ...]      (validate and print the resolved config; config.py)

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
from collections.abc import Sequence

from . import analyze, config, meanfield, run, selfconsistent, sweep
from ._common import Parser, UserError, open_result

__all__ = ["main", "build_parser", "UserError", "open_result"]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``dotkmc`` parser. ``command`` (the first word of the command line, if
    known) lets other commands skip importing the mean-field package (scipy)."""
    parser = Parser(
        prog="dotkmc",
        description="Exact kinetic Monte Carlo of coupled quantum dots: spectral diffusion, "
                    "emergent linewidths, and the mean-field theory of nearly-MBL metals.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    run.add_parsers(sub)
    analyze.add_parsers(sub)
    selfconsistent.add_parsers(sub)
    config.add_parsers(sub)
    sweep.add_parsers(sub)
    meanfield.add_parsers(sub, command)
    return parser


def _on_sigterm(signum: int, _frame) -> None:
    """SIGTERM outside a run's chunk loop: unwind like Ctrl-C (temporary files are removed)."""
    from simulator.config import Interrupted

    raise Interrupted("SIGTERM received (the last checkpoint, if any, can be resumed)", signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dotkmc`` with ``argv`` (default: the command line); returns the exit status."""
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
    finally:   # an in-process caller (tests, notebooks) gets its own SIGTERM handler back
        signal.signal(signal.SIGTERM, previous)
