"""Command-line entry points.

``nethical`` dispatches on its first word: the tool subcommands (``audit``, ``governance``, ``drift``,
``predict``) are plain ``argparse`` programs that never import Lightning; ``fit``/``validate``/``test``/``predict``
with a ``--config`` go to the LightningCLI subclass in :mod:`nethical.cli.lightning_cli`.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from nethical.cli.errors import run_guarded
from nethical.cli.tools import TOOL_COMMANDS, run_tool

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test", "predict")


OVERVIEW = """usage: nethical {fit,validate,test,predict} --config FILE [...]   train and evaluate (LightningCLI)
       nethical predict --model-dir DIR --input FILE                   score rows with a saved model
       nethical audit {verify,proof,show,keygen} ...                   Merkle audit logs
       nethical governance scan FILE [--text-field F]                  scan texts with the governance engine
       nethical drift report --drift-report-dir DIR [--cohorts A B]    rebuild a drift report

`nethical <command> --help` shows each command's options; `nethical-train --help` the classic flags.
"""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``nethical`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args in (["-h"], ["--help"]):
        print(OVERVIEW, end="")
        return 0 if args else 2
    if args and args[0] in TOOL_COMMANDS and not _is_lightning_predict(args):
        return run_tool(args)

    def _lightning() -> int:
        from nethical.cli.lightning_cli import run_lightning_cli

        return run_lightning_cli(args)

    return run_guarded(_lightning, verbose="--verbose" in args)


def _is_lightning_predict(args: list[str]) -> bool:
    """``nethical predict --config ...`` is LightningCLI's predict; ``nethical predict --model-dir`` (and plain
    ``nethical predict --help``) is ours, whose help names the other form."""
    if args[0] != "predict" or "--model-dir" in args or any(a.startswith("--model-dir=") for a in args):
        return False
    return any(a in ("-c", "--config", "--print_config") or a.startswith(("--config=", "--print_config=", "--model.", "--data.", "--trainer."))
               for a in args[1:])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
