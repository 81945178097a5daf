"""Crash-safe file writes and hashing."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Tuple, Union

from nethical.exceptions import OutputError

PathLike = Union[str, os.PathLike]


def sha256_file(path: PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: what ``open(path, "w")`` would give a new file: mkstemp's temp files are 0600, which a rename would keep
NEW_FILE_MODE = 0o666 & ~_umask()


def new_temp_file(directory: Path, prefix: str, suffix: str) -> Tuple[int, str]:
    """``tempfile.mkstemp`` in ``directory`` with the mode an ordinary new file gets (not 0600)."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    os.fchmod(fd, NEW_FILE_MODE)
    return fd, tmp


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then rename over ``path``: never half-written."""
    atomic_write_chunks(path, (data,))


def atomic_write_chunks(path: PathLike, chunks: Iterable[bytes], sync_dir: bool = False) -> None:
    """:func:`atomic_write_bytes` for content produced piece by piece (a large audit chunk is streamed, not joined
    in memory). ``sync_dir`` also fsyncs the directory, so the rename itself survives a power loss."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = new_temp_file(path.parent, f".{path.name}.", ".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; choose a writable directory.") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            for part in chunks:
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(f"cannot write {path}: {exc.strerror or exc} (disk full or read-only?); nothing was changed.") from None
    if sync_dir:
        fsync_dir(path.parent)


def atomic_write_json(path: PathLike, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8"))


def fsync_dir(path: PathLike) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_writable_dir(path: PathLike, what: str, flag: str) -> None:
    """Fail early (nothing written) when ``path`` cannot be created or written.

    Walks up to the nearest existing ancestor and probes it with a temp file that is removed at once, so the check
    also works for root (whom permission bits do not stop) on a read-only file system.
    """
    path = Path(path).expanduser()
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputError(f"{what} {str(path)!r} is not usable: {str(probe)!r} is a file, not a directory; pass another {flag}.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".nethical-write-probe-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise OutputError(f"{what} {str(path)!r} is not writable ({exc.strerror or exc}); pass a writable {flag}.") from None


def jsonable(obj: Any) -> Any:
    """``obj`` with dict keys as strings and anything that JSON cannot hold as its ``repr`` (cards, observations)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)
