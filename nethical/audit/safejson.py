"""Bounded JSON for audit files: every reader parses through here, so no file can exhaust the stack or memory.

An audit directory is input an attacker may hand the user. ``json.loads`` on a 200,000-deep ``[[[[…]]]]`` raises
``RecursionError`` (and anything that walks the result recursively may too), and a multi-gigabyte line is read whole.
So nesting depth and size are checked on the *bytes*, before parsing, and a violation is a one-line
:class:`~nethical.exceptions.DataError` (exit 2) naming the file. The writer refuses events beyond the same limits,
so everything it writes can be read back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

from nethical.exceptions import DataError

MAX_DEPTH = 32  # nesting of one event (a chunk or journal file adds its own levels on top)
MAX_EVENT_BYTES = 1 << 20  # one event line (canonical JSON)
MAX_SUMMARY_BYTES = 16 << 20  # training_summary.json, the log-id file, a verify state file
MAX_HEADER_BYTES = 1 << 16  # a journal's header line, a chunk's header line

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def nesting_depth(raw: bytes, limit: int = MAX_DEPTH) -> Optional[int]:
    """``None`` when JSON text ``raw`` nests at most ``limit`` levels, else the first depth found above it.

    Counting brackets is C-speed; only text with more than ``limit`` brackets in total (rare for one event) is
    scanned bracket by bracket, with string literals removed first so ``"[[["`` inside a string does not count.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return depth
        else:
            depth -= 1
    return None


def check_bounds(raw: bytes, what: str, *, max_bytes: int = MAX_EVENT_BYTES, max_depth: int = MAX_DEPTH) -> None:
    """Raise a one-line :class:`DataError` when ``raw`` is larger than ``max_bytes`` or nests deeper than ``max_depth``."""
    if len(raw) > max_bytes:
        raise DataError(f"{what} is {len(raw):,} bytes, above the {max_bytes:,}-byte limit for audit data; the file was damaged or forged, restore it from a backup.")
    if nesting_depth(raw, max_depth) is not None:
        raise DataError(f"{what} nests JSON deeper than {max_depth} levels (the audit limit); the file was damaged or forged, restore it from a backup.")


def loads(raw: bytes, what: str, *, max_bytes: int = MAX_EVENT_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(raw)`` after :func:`check_bounds`; invalid JSON is a one-line :class:`DataError` too."""
    check_bounds(raw, what, max_bytes=max_bytes, max_depth=max_depth)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise DataError(f"{what} is not valid JSON ({str(exc)[:120]}); restore it from a backup (nothing was changed).") from None


def where(path: Path, detail: str = "") -> str:
    """``"audit file 'x.json' in '/dir'"`` (+ detail) for messages."""
    return f"{path.name!r} in {str(path.parent)!r}{detail}"


def read_object(path: Path, what: str, *, max_bytes: int = MAX_SUMMARY_BYTES, max_depth: int = MAX_DEPTH + 2) -> dict[str, Any]:
    """A bounded JSON object file (summary, log id, state file); every failure is a one-line :class:`DataError`."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DataError(f"{what} {where(path)} is {size:,} bytes, above the {max_bytes:,}-byte limit; the file was damaged or forged, restore it from a backup.")
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{what} {where(path)} cannot be read ({exc.strerror or exc}); check its permissions.") from None
    data = loads(raw, f"{what} {where(path)}", max_bytes=max_bytes, max_depth=max_depth)
    if not isinstance(data, dict):
        raise DataError(f"{what} {where(path)} holds a JSON {type(data).__name__}, not an object; restore it from a backup.")
    return data
