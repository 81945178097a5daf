"""JSON from files someone else may have written: bounded in size and nesting depth.

``json.loads`` of a 200,000-deep array raises ``RecursionError`` (or, in code that walks the result recursively,
crashes later); a multi-gigabyte file exhausts memory. Every reader of model cards, skops schemas and similar inputs
goes through :func:`loads_bounded` / :func:`read_json_file`, which turn both into one clear exception.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Union

MAX_DEPTH = 64
MAX_BYTES = 16 * 1024 * 1024


class JSONLimitError(ValueError):
    """The JSON text is not valid, too large, or nested deeper than allowed (the message says which)."""


def depth_of(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value, walked without recursion; stops counting past ``limit``."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def loads_bounded(text: Union[str, bytes], max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    """Parse JSON text, refusing more than ``max_bytes`` or containers nested more than ``max_depth`` deep."""
    if len(text) > max_bytes:
        raise JSONLimitError(f"is {len(text)} bytes, over the {max_bytes}-byte limit")
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONLimitError(f"is nested deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JSONLimitError(f"is not valid JSON ({' '.join(str(exc).split())[:120]})") from None
    if depth_of(value, max_depth) > max_depth:
        raise JSONLimitError(f"is nested deeper than {max_depth} levels")
    return value


def read_json_file(path: Union[str, os.PathLike], max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    """:func:`loads_bounded` of a regular file's content (the size is checked before it is read).

    Raises:
        JSONLimitError: invalid, too large or too deep.
        OSError: the file cannot be opened or read.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise JSONLimitError(f"is {size} bytes, over the {max_bytes}-byte limit")
        return loads_bounded(fh.read(max_bytes + 1), max_depth=max_depth, max_bytes=max_bytes)
