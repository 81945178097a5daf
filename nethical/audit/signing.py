"""Ed25519 signatures over chunk tree heads (optional; needs the ``cryptography`` package).

The signed message is the canonical JSON of the tree head ``{chunk_id, tree_size, root_hash, timestamp, prev_root}``
(see :func:`tree_head`). The private key is read from a PEM file and never written or logged; an encrypted PEM takes
its passphrase from the ``NETHICAL_AUDIT_KEY_PASSPHRASE`` environment variable.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any, Optional

from nethical.audit.canonical import canonical_bytes
from nethical.exceptions import ConfigError, OutputError

PASSPHRASE_ENV = "NETHICAL_AUDIT_KEY_PASSPHRASE"
ALGORITHM = "ed25519"


def tree_head(chunk_id: int, tree_size: int, root_hash: str, timestamp: str, prev_root: Optional[str]) -> dict[str, Any]:
    """The signed statement about one chunk (hex root, ISO-8601 timestamp, previous chunk's root or ``None``)."""
    return {"chunk_id": chunk_id, "tree_size": tree_size, "root_hash": root_hash, "timestamp": timestamp, "prev_root": prev_root}


def load_private_key(path: str | os.PathLike[str]):
    """Load an Ed25519 private key from a PEM file; raise :class:`ConfigError` naming the path (never the key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"--audit-signing-key {str(p)!r} cannot be read ({exc.strerror or exc}); pass the path of an Ed25519 private key in PEM form (create one with `nethical audit keygen PREFIX`).") from None
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        key = serialization.load_pem_private_key(data, password=passphrase.encode() if passphrase else None)
    except (ValueError, TypeError) as exc:
        hint = f"set {PASSPHRASE_ENV} for an encrypted key" if "encrypt" in str(exc).lower() or "password" in str(exc).lower() else "expected an unencrypted PKCS#8 PEM private key"
        raise ConfigError(f"--audit-signing-key {str(p)!r} is not a usable PEM private key ({hint}).") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"--audit-signing-key {str(p)!r} holds a {type(key).__name__}, not an Ed25519 key; create one with `nethical audit keygen PREFIX`.")
    return key


def load_public_key(path: str | os.PathLike[str]):
    """Load an Ed25519 public key from a PEM file (``SubjectPublicKeyInfo``)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"audit verify --public-key {str(p)!r} cannot be read ({exc.strerror or exc}); pass the .pub file written by `nethical audit keygen`.") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise ConfigError(f"audit verify --public-key {str(p)!r} is not a PEM public key; pass the .pub file written by `nethical audit keygen`.") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"audit verify --public-key {str(p)!r} holds a {type(key).__name__}, not an Ed25519 public key.")
    return key


def key_fingerprint(public_key) -> str:
    """SHA-256 (hex) of the raw 32-byte public key: names the key in chunk files without revealing anything."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign_tree_head(private_key, head: dict[str, Any]) -> dict[str, Any]:
    """The ``signature`` block stored in a chunk: algorithm, key fingerprint, the head and a base64 signature."""
    signature = private_key.sign(canonical_bytes(head))
    return {
        "algorithm": ALGORITHM,
        "key_fingerprint": key_fingerprint(private_key.public_key()),
        "tree_head": head,
        "value": base64.b64encode(signature).decode("ascii"),
    }


def verify_tree_head(public_key, block: dict[str, Any]) -> bool:
    """Whether ``block["value"]`` is a valid signature of ``block["tree_head"]`` under ``public_key``."""
    from cryptography.exceptions import InvalidSignature

    try:
        signature = base64.b64decode(str(block["value"]), validate=True)
        public_key.verify(signature, canonical_bytes(block["tree_head"]))
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False
    return True


def generate_keypair(prefix: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (PKCS#8 PEM, mode 0600) and ``PREFIX.pub``; refuse to overwrite either file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key_path, pub_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for p in (key_path, pub_path):
        if p.exists():
            raise OutputError(f"audit keygen: {str(p)!r} already exists and is never overwritten; choose another prefix.")
    if not key_path.parent.is_dir():
        raise OutputError(f"audit keygen: directory {str(key_path.parent)!r} does not exist; create it first.")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem)
    with open(pub_path, "xb") as f:
        f.write(public_pem)
    return key_path, pub_path
