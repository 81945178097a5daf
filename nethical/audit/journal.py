"""Journal files: the open chunk of a writer, one canonical event per line, optionally under a chained HMAC.

A journal is ``journal_<id>.jsonl``: a JSON header line, then one line per event, either the canonical event bytes
or ``<64 hex HMAC> <canonical event>``. Each line's HMAC-SHA256 covers the previous one (the first covers the
header), so a journal authenticates only as a whole, in order. The key is bound to the log id with HKDF-SHA256 and
comes from the signing key (:func:`journal_mac_key`) or from a per-process secret kept in the Lightning checkpoint
(:func:`run_secret_mac_key`). Reading is bounded (:mod:`nethical.audit.safejson`) and never raises on content.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from nethical.audit import safejson
from nethical.audit.canonical import encode_event
from nethical.exceptions import DataError


@dataclass(frozen=True)
class Journal:
    """The readable content of a journal file: its header, complete event lines, and what was cut off."""

    header: dict[str, Any]
    lines: list[bytes]  # canonical event bytes (any MAC prefix removed)
    dropped_lines: int  # complete lines after the first unreadable one (disk corruption or forgery; normally 0)
    torn_bytes: int  # bytes of a final line cut short by a crash (no trailing newline)
    authenticated: bool = False  # every line's chained HMAC verified under the key passed to read_journal
    macs: tuple[bytes, ...] = ()  # the MAC of each line (empty for an unauthenticated journal)


_MAC_LEN = 64  # hex HMAC-SHA256 before the event on a journal line: b"<64 hex> {...}"


def journal_mac_key(private_key, log_id: str) -> bytes:
    """The per-log key of the journal HMAC: HKDF-SHA256 over the signing key's raw 32 bytes, bound to the log id.

    Only a holder of the signing key can compute it, and a journal of another log (same key) fails, so an orphaned
    journal that authenticates was written by a run of *this* log that held the key.
    """
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nethical-audit journal mac v1 " + log_id.encode()).derive(raw)


def run_secret_mac_key(secret: bytes, log_id: str) -> bytes:
    """The journal HMAC key of an unsigned run: HKDF-SHA256 of a random per-run secret (kept in the run's Lightning
    checkpoints, outside the audit directory), bound to the log id. A resumed fit, which loads that checkpoint, can
    therefore authenticate the journal its crashed process left; nobody holding only the audit directory can."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nethical-audit run journal mac v1 " + log_id.encode()).derive(secret)


def _header_mac(key: bytes, header: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in header.items() if k != "header_mac"}
    return hmac.new(key, b"nethical-audit journal header\x00" + encode_event(body), hashlib.sha256).digest()


def _line_mac(key: bytes, previous: bytes, line: bytes) -> bytes:
    """Chained: each line's MAC covers the previous MAC, so lines cannot be dropped, reordered or spliced in."""
    return hmac.new(key, previous + line, hashlib.sha256).digest()


def read_journal(path: Path, mac_key: Optional[bytes] | Sequence[bytes] = None) -> Journal:
    """Parse a journal: the header line, then event lines up to the first incomplete, oversized, too deeply nested or
    invalid one. Never raises on content (only :class:`OSError` when the file cannot be opened): a damaged or forged
    journal shows as dropped lines and ``authenticated=False``.

    With ``mac_key`` (one key or several to try) the header's ``header_mac`` and every line's chained HMAC are
    checked; ``authenticated`` is ``True`` only when all of them verify under one key and no complete line was dropped.
    """
    header: dict[str, Any] = {}
    lines: list[bytes] = []
    macs: list[bytes] = []
    dropped = torn = 0
    limit = safejson.MAX_EVENT_BYTES + _MAC_LEN + 2
    with open(path, "rb") as f:
        first = f.readline(safejson.MAX_HEADER_BYTES)
        pending: Optional[bytes] = first
        if first.endswith(b"\n"):
            try:
                parsed = safejson.loads(first[:-1], "journal header", max_bytes=safejson.MAX_HEADER_BYTES, max_depth=4)
                header = parsed if isinstance(parsed, dict) else {}
            except DataError:
                header = {}
            pending = None if header else first
        ok = True
        while True:
            raw = pending if pending is not None else f.readline(limit)
            pending = None
            if not raw:
                break
            if not raw.endswith(b"\n"):
                if len(raw) >= limit:  # an oversized line: unreadable, and so is everything after it
                    ok = False
                    dropped += 1 + sum(1 for _ in iter(lambda: f.readline(limit), b""))
                    break
                torn = len(raw)
                break
            line = raw[:-1]
            if not ok:
                dropped += 1
                continue
            mac = None
            if line[:1] != b"{" and len(line) > _MAC_LEN and line[_MAC_LEN:_MAC_LEN + 1] == b" ":
                try:
                    mac = bytes.fromhex(line[:_MAC_LEN].decode("ascii"))
                except (UnicodeDecodeError, ValueError):
                    mac = None
                line = line[_MAC_LEN + 1:] if mac is not None else line
            try:
                ok = isinstance(safejson.loads(line, "journal line"), dict)
            except DataError:
                ok = False
            if not ok:
                dropped += 1
                continue
            lines.append(line)
            macs.append(mac or b"")
    keys = [mac_key] if isinstance(mac_key, (bytes, bytearray)) else list(mac_key or [])
    authenticated = False
    if keys and header.get("mac") == "hmac-sha256" and not dropped:
        try:
            expected = bytes.fromhex(str(header.get("header_mac", "")))
        except ValueError:
            expected = b""
        for key in keys:
            previous = _header_mac(key, header)
            authenticated = hmac.compare_digest(previous, expected)
            for line, mac in zip(lines, macs):
                if not authenticated:
                    break
                previous = _line_mac(key, previous, line)
                authenticated = hmac.compare_digest(previous, mac)
            if authenticated:
                break
    return Journal(header, lines, dropped, torn, authenticated, tuple(macs) if authenticated else ())
