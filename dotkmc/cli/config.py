"""``dotkmc config``: validate a configuration and print it resolved (docs/model.md)."""
from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``config`` command."""
    p = sub.add_parser("config", help="validate a config and print it resolved, or list every key",
                       description="Validate a configuration and print it with every default filled in.")
    p.add_argument("config", nargs="?", help="TOML configuration (default: all defaults)")
    p.add_argument("--set", action="append", default=[], metavar="TABLE.KEY=VALUE")
    p.add_argument("--schema", action="store_true", help="list every key, its default and allowed values")
    p.set_defaults(func=cmd_config)


def cmd_config(args: argparse.Namespace) -> int:
    """Print the resolved configuration, or with ``--schema`` every key."""
    import simulator

    if args.schema:
        print(simulator.describe_schema())
        return 0
    print(simulator.load_config(args.config, args.set).to_toml(), end="")
    return 0
