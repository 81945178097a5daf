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


def one_line(text: object, limit: int = 500) -> str:
    """``text`` with all whitespace runs squeezed to one space, cut to ``limit`` characters (for error lines)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
