"""Paths given on the command line: refuse what cannot be a sane path before anything is written.

A newline in ``--models-dir`` would print a forged ``[INFO] PROMOTED ...`` line (every status line names the
directory) and split audit and log records; a path component longer than the file system allows fails deep inside
``os`` with an ``OSError`` instead of a clear error. :func:`check_path_arg` refuses both with one line naming the
flag, the value (escaped) and the fix.
"""

from __future__ import annotations

import os
import unicodedata
from typing import Iterable, Optional, Tuple

from nethical.exceptions import ConfigError

NAME_MAX = 255
PATH_MAX = 4096


def control_character(text: str) -> Optional[str]:
    """The first control or line/paragraph-separator character in ``text`` (``None`` when there is none)."""
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in "\u0085\u200e\u200f\u202a\u202b\u202c\u202d\u202e":
            return ch
    return None


def check_path_arg(value: Optional[str], flag: str) -> None:
    """Refuse a path with control characters, a component over 255 bytes or a total over 4096 bytes."""
    if value is None:
        return
    text = os.fspath(value)
    ch = control_character(text)
    if ch is not None:
        raise ConfigError(f"{flag} {text!r} contains the control character {ch!r}; pass a path without control "
                          "characters (newlines, tabs, escapes).")
    encoded = text.encode("utf-8", "surrogateescape")
    if len(encoded) > PATH_MAX:
        raise ConfigError(f"{flag} is {len(encoded)} bytes long (limit {PATH_MAX}); pass a shorter path.")
    for part in text.split(os.sep):
        if len(part.encode("utf-8", "surrogateescape")) > NAME_MAX:
            raise ConfigError(f"{flag} {text[:60]!r}... has a path component of {len(part)} characters (limit "
                              f"{NAME_MAX} bytes); pass a shorter name.")


def check_path_args(pairs: Iterable[Tuple[Optional[str], str]]) -> None:
    for value, flag in pairs:
        if isinstance(value, (list, tuple)):
            for item in value:
                check_path_arg(item, flag)
        else:
            check_path_arg(value, flag)
