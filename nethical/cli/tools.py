"""The ``nethical <tool> ...`` subcommands that need no Lightning.

Each tool module exposes ``register(subparsers)``, which adds its subcommand(s) and sets ``func`` (taking the parsed
``argparse.Namespace`` and returning an exit code) with ``parser.set_defaults(func=...)``. Tool modules raise
:class:`nethical.exceptions.NethicalError` for bad input; :func:`nethical.cli.errors.run_guarded` prints it.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Sequence

from nethical.cli.errors import run_guarded

# subcommand -> module that defines ``register(subparsers)``
TOOL_MODULES = {
    "audit": "nethical.audit.cli",
    "governance": "nethical.governance.cli",
    "drift": "nethical.drift.cli",
    "predict": "nethical.registry_cli",
}
TOOL_COMMANDS = tuple(TOOL_MODULES)


def build_parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nethical", description="Nethical Trainer tools.")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", required=True)
    module = importlib.import_module(TOOL_MODULES[command])
    module.register(subparsers)
    return parser


def run_tool(argv: Sequence[str]) -> int:
    args = list(argv)
    verbose = "--verbose" in args
    args = [a for a in args if a != "--verbose"]

    def _run() -> int:
        parser = build_parser(args[0])
        ns = parser.parse_args(args)
        ns.verbose = verbose
        return ns.func(ns)

    return run_guarded(_run, verbose=verbose)
