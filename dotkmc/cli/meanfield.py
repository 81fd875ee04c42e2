"""``dotkmc meanfield``: the mean-field solver's commands (:mod:`analysis.meanfield.cli`,
docs/meanfield.md), loaded only when asked for (it needs scipy)."""
from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction, command: str | None = None) -> None:
    """Add ``meanfield``: its full parser when ``command`` (the first word of the
    command line) is ``meanfield`` or unknown, else a placeholder for the help."""
    if command not in (None, "meanfield"):
        sub.add_parser("meanfield", help="solve the paper's mean-field equations; regenerate Figs. 4-9")
        return
    try:
        from analysis.meanfield import cli as mf_cli
    except ImportError:  # the mean-field module is optional for the simulator
        return
    mf_cli.add_parser(sub)
