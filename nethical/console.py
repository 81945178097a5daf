"""User-facing status lines: ``[INFO] ...`` / ``[WARN] ...`` on stdout, flushed at once (CI logs stay ordered).

Indented lines continue the block above them (e.g. the lines of a summary) and are printed without a prefix.
"""

from __future__ import annotations

import sys


def say(message: str, level: str = "INFO") -> None:
    stream = sys.stdout
    for line in str(message).splitlines() or [""]:
        stream.write(line + "\n" if line.startswith("  ") else f"[{level}] {line}\n")
    stream.flush()


def warn(message: str) -> None:
    say(message, "WARN")


def _global_rank() -> int:
    """This process's rank as Lightning set it, without importing Lightning (0 when Lightning is not loaded)."""
    rank_zero = sys.modules.get("lightning.pytorch.utilities.rank_zero")
    return int(getattr(getattr(rank_zero, "rank_zero_only", None), "rank", 0) or 0) if rank_zero else 0


def info_once(message: str) -> None:
    """:func:`say` on global rank zero only, so an 8-process job prints a line once."""
    if _global_rank() == 0:
        say(message)


def warn_once(message: str) -> None:
    """:func:`warn` on global rank zero only."""
    if _global_rank() == 0:
        warn(message)


def one_line(text: object, limit: int = 500) -> str:
    """``text`` with all whitespace runs squeezed to one space, cut to ``limit`` characters (for error lines)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
