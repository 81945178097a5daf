"""User-facing status lines: ``[INFO] ...`` / ``[WARN] ...`` on stdout, flushed at once (CI logs stay ordered)."""

from __future__ import annotations

import sys


def say(message: str, level: str = "INFO") -> None:
    stream = sys.stdout
    for line in str(message).splitlines() or [""]:
        stream.write(f"[{level}] {line}\n")
    stream.flush()


def warn(message: str) -> None:
    say(message, "WARN")
