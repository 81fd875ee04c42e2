"""``dotkmc sweep``: its parser and command live with the sweep runner in
:mod:`simulator.sweep_cli` (docs/sweeps.md); this module adds it to ``dotkmc``."""
from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` command (:func:`simulator.sweep_cli.add_parser`)."""
    from simulator import sweep_cli

    sweep_cli.add_parser(sub)
