"""The bytes of an audit event: canonical JSON, so any verifier can recompute a leaf from a stored event."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import PurePath
from typing import Any, Mapping

from nethical.audit.merkle import leaf_hash
from nethical.exceptions import DataError


# The encoder json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False) builds on
# every call, built once (same output, less overhead per event).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    """``json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")``.

    Strict: the event must already be plain JSON (see :func:`normalize_event`), so the bytes are stable under a
    ``json.loads`` round trip and a verifier reading the stored event recomputes the same leaf.
    """
    return _ENCODER.encode(event).encode("utf-8")


def event_leaf_hash(event: Mapping[str, Any]) -> bytes:
    """``SHA-256(0x00 || canonical_bytes(event))``."""
    return leaf_hash(canonical_bytes(event))


def encode_event(event: Mapping[str, Any]) -> bytes:
    """Canonical bytes of ``event``, normalising it first only when it is not plain JSON already (fast path)."""
    try:
        return canonical_bytes(event)
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return canonical_bytes(normalize_event(event))
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
        kind = event.get("event_type", "?") if isinstance(event, Mapping) else type(event).__name__
        raise DataError(
            f"audit event {kind!r} is not JSON-serializable ({type(exc).__name__}: {exc}); pass only str, int, float, "
            "bool, None, lists and dicts with str keys as event facts."
        ) from None


def normalize_event(value: Any) -> Any:
    """Turn ``value`` into plain JSON data: str keys, lists for tuples/sets, ``None`` for NaN/inf, str for paths.

    numpy scalars and arrays become Python numbers and lists (without importing numpy); datetimes become ISO-8601.
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): normalize_event(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize_event(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((normalize_event(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars, torch tensors
        return normalize_event(value.tolist())
    if hasattr(value, "item") and callable(value.item):
        return normalize_event(value.item())
    raise TypeError(f"object of type {type(value).__name__} cannot be stored in an audit event")
