"""Signed log heads in the C2SP ``tlog-checkpoint`` body format, wrapped as a C2SP ``signed-note`` (pure functions).

A checkpoint names the log and commits to its whole history at one size::

    nethical.audit/3f0c…e1a9          origin: the log id, created when the log is first used
    42                                 tree size: events in the whole log (every chunk so far)
    q5Jm…Hc=                           base64 RFC 9162 root of those 42 leaves
    chunk 3 2sHk…9Q= 2026-12-02T…      extension line: this chunk's id, base64 root and finalization time

    — nethical-audit AbCdE…            signature line: key name, base64(4-byte key id || Ed25519 signature)

The signature covers the body bytes (every line up to and including the newline before the blank line), as in
C2SP signed-note, so the note verifies with any signed-note implementation given :func:`verifier_key`'s string
(``golang.org/x/mod/sumdb/note`` for instance). Because the signed statement names the log and its size, a verifier
that remembers one checkpoint catches a log cut back to an earlier size (rollback), and a different log signed with
the same key (substitution), with an RFC 9162 consistency proof.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Optional

ORIGIN_PREFIX = "nethical.audit/"
KEY_NAME = "nethical-audit"
_ED25519 = b"\x01"  # signed-note signature type of Ed25519
_SIG_LINE = re.compile(r"^\u2014 (\S+) ([A-Za-z0-9+/=]+)$")
_LOG_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Checkpoint:
    """The parsed body of a checkpoint."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    @property
    def log_id(self) -> str:
        return self.origin[len(ORIGIN_PREFIX):] if self.origin.startswith(ORIGIN_PREFIX) else ""


def is_log_id(value: object) -> bool:
    """A log id is 32 lowercase hex digits (128 random bits)."""
    return isinstance(value, str) and bool(_LOG_ID.match(value))


def origin_of(log_id: str) -> str:
    """``nethical.audit/<log id>``: a schema-less, space-free origin line as C2SP asks."""
    return ORIGIN_PREFIX + log_id


def checkpoint_body(log_id: str, size: int, root: bytes, extensions: tuple[str, ...] | list[str] = ()) -> str:
    """The checkpoint text: origin, decimal size, base64 root, then extension lines; each line ends with ``\\n``."""
    lines = [origin_of(log_id), str(int(size)), base64.b64encode(root).decode("ascii"), *extensions]
    if any(not line or "\n" in line for line in lines):
        raise ValueError("checkpoint lines must be non-empty single lines")
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a checkpoint body; ``ValueError`` (one line) when it is not one."""
    if not body.endswith("\n"):
        raise ValueError("a checkpoint body ends with a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise ValueError("a checkpoint has an origin, a size and a root line, none empty")
    origin, size_text, root_text, *ext = lines
    if not size_text.isdigit() or (size_text.startswith("0") and size_text != "0"):
        raise ValueError(f"checkpoint size {size_text[:40]!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise ValueError("checkpoint root is not base64") from None
    if len(root) != 32:
        raise ValueError("checkpoint root is not a 32-byte SHA-256 hash")
    return Checkpoint(origin, int(size_text), root, tuple(ext))


def _raw_public(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key, name: str = KEY_NAME) -> bytes:
    """signed-note key id: the first 4 bytes of ``SHA-256(name || "\\n" || 0x01 || raw public key)``."""
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + _raw_public(public_key)).digest()[:4]


def verifier_key(public_key, name: str = KEY_NAME) -> str:
    """The signed-note verifier key string ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
    return f"{name}+{key_id(public_key, name).hex()}+{base64.b64encode(_ED25519 + _raw_public(public_key)).decode('ascii')}"


def sign_note(private_key, body: str, name: str = KEY_NAME) -> str:
    """``body`` + blank line + one signature line: a C2SP signed note."""
    signature = private_key.sign(body.encode("utf-8"))
    blob = base64.b64encode(key_id(private_key.public_key(), name) + signature).decode("ascii")
    return f"{body}\n\u2014 {name} {blob}\n"


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """``(body, [(key name, 4-byte id || signature), ...])``; ``ValueError`` when ``note`` is not a signed note."""
    if not isinstance(note, str) or "\n\n" not in note or not note.endswith("\n"):
        raise ValueError("not a signed note (body, blank line, signature lines)")
    body, _, sigs = note.partition("\n\n")
    body += "\n"
    signatures = []
    for line in sigs[:-1].split("\n"):
        m = _SIG_LINE.match(line)
        if not m:
            raise ValueError("a signed-note signature line reads '\u2014 <name> <base64>'")
        try:
            blob = base64.b64decode(m.group(2), validate=True)
        except ValueError:
            raise ValueError("a signed-note signature is not base64") from None
        if len(blob) < 5:
            raise ValueError("a signed-note signature is too short")
        signatures.append((m.group(1), blob))
    return body, signatures


def verify_note(public_key, note: str, name: str = KEY_NAME) -> Optional[str]:
    """The body of ``note`` when one of its signatures is a valid Ed25519 signature by ``public_key``, else ``None``."""
    from cryptography.exceptions import InvalidSignature

    try:
        body, signatures = split_note(note)
    except ValueError:
        return None
    kid = key_id(public_key, name)
    for sig_name, blob in signatures:
        if sig_name != name or blob[:4] != kid:
            continue
        try:
            public_key.verify(blob[4:], body.encode("utf-8"))
        except InvalidSignature:
            continue
        return body
    return None
