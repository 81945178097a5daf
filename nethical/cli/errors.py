"""One place that turns exceptions into one-line errors and exit codes for every CLI."""

from __future__ import annotations

import sys
import traceback
from typing import Callable, Iterable, List

from nethical.console import one_line as _one_line
from nethical.exceptions import NethicalError


def run_guarded(func: Callable[[], int], verbose: bool = False) -> int:
    """Run ``func`` and map failures to exit codes.

    ``NethicalError`` → its one-line message on stderr and its ``exit_code`` (2 for bad input); an ``OSError`` naming a
    path → one line naming it, exit 2; ``KeyboardInterrupt``
    → 130; any other exception → a one-line ``internal error`` and exit 1. ``verbose`` adds the traceback.
    """
    try:
        return int(func() or 0)
    except NethicalError as exc:
        if verbose:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.filename is None:
            if verbose:
                traceback.print_exc()
            print(f"error: {type(exc).__name__}: {_one_line(exc)} (run again with --verbose for the traceback)", file=sys.stderr)
            return 1
        if verbose:
            traceback.print_exc()
        # an OS error on a path the user gave (name too long, permission, not a directory...): bad input, named
        where = repr(str(exc.filename))[:200]
        print(f"error: cannot use {where}: {exc.strerror or type(exc).__name__}; check the path and pass another.",
              file=sys.stderr)
        return 2
    except SystemExit as exc:  # argparse / jsonargparse exit paths keep their code
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a CLI
        if verbose:
            traceback.print_exc()
        print(f"error: {type(exc).__name__}: {_one_line(exc)} (run again with --verbose for the traceback)", file=sys.stderr)
        return 1




def close_flags(message: str, options: Iterable[str]) -> List[str]:
    """The known ``--flags`` closest to each unknown one named in an argument-parser error message."""
    import difflib
    import re

    known = [o for o in options if o.startswith("--")]
    found: List[str] = []
    for flag in re.findall(r"(--[\w.\-]+)", message):
        if flag not in known:
            found += difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
    return list(dict.fromkeys(found))


def did_you_mean(candidates: List[str]) -> str:
    return f" (did you mean {' or '.join(candidates)}?)" if candidates else ""
