"""User-facing status lines: ``[INFO] ...`` / ``[WARN] ...`` on stdout, flushed at once (CI logs stay ordered).

Indented lines continue the block above them (e.g. the lines of a summary) and are printed without a prefix.
"""

from __future__ import annotations

import os
import sys


def say(message: str, level: str = "INFO") -> None:
    stream = sys.stdout
    for line in str(message).splitlines() or [""]:
        stream.write(line + "\n" if line.startswith("  ") else f"[{level}] {line}\n")
    stream.flush()


def warn(message: str) -> None:
    say(message, "WARN")


def _global_rank() -> int:
    """This process's global rank: as Lightning set it once a trainer ran (without importing Lightning), else from
    the launcher's environment (torchrun ``RANK``, SLURM ``SLURM_PROCID``, Lightning's ``NODE_RANK``/``LOCAL_RANK``)."""
    rank_zero = sys.modules.get("lightning.pytorch.utilities.rank_zero")
    rank = getattr(getattr(rank_zero, "rank_zero_only", None), "rank", None) if rank_zero else None
    if rank:
        return int(rank)
    env = os.environ
    for key in ("RANK", "SLURM_PROCID", "NODE_RANK", "LOCAL_RANK"):
        if env.get(key, "0").strip() not in ("", "0"):
            return 1  # some rank other than zero
    return 0


def is_rank_zero() -> bool:
    """True on the process that prints and writes (global rank zero)."""
    return _global_rank() == 0


def info_once(message: str) -> None:
    """:func:`say` on global rank zero only, so an 8-process job prints a line once."""
    if _global_rank() == 0:
        say(message)


def warn_once(message: str) -> None:
    """:func:`warn` on global rank zero only."""
    if _global_rank() == 0:
        warn(message)


def one_line(text: object, limit: int = 500) -> str:
    """``text`` with all whitespace runs squeezed to one space, cut to ``limit`` characters (for error lines)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------- quiet by default
_VERBOSE = False

# Library messages a user cannot act on; ``--verbose`` shows them again.
_QUIET_WARNINGS = (
    r".*smaller than the logging interval",  # log_every_n_steps larger than a small epoch
    r"Checkpoint directory .* exists and is not empty",  # checkpoints/<type>/ is shared by runs on purpose (--ckpt-path last)
    r".*does not have many workers which may be a bottleneck",  # in-memory tensors: workers would only add overhead
    r"The '\w+_dataloader' does not have many workers",
    r".* has no partial_fit, so it is fitted once",
    r"Couldn't infer the batch indices fetched",  # the prediction writer reads each row's index from the batch  # the sklearn adapters fit once by design; --verbose says so
)
_QUIET_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning_fabric", "pytorch_lightning")


def set_verbose(flag: bool) -> None:
    """Record ``--verbose`` for this process; without it, library banners and tips are silenced (:func:`quiet_libraries`)."""
    global _VERBOSE
    _VERBOSE = bool(flag)


def is_verbose() -> bool:
    return _VERBOSE


def quiet_libraries() -> None:
    """Silence Lightning's banners (seed, accelerators, tips, 'fit stopped') and warnings a user cannot act on.

    Lightning prints those through the ``logging`` module at INFO level and ``warnings``; raising the loggers to
    WARNING and filtering the listed messages keeps every real warning and error. Under ``--verbose`` it undoes
    that instead (one process may run both, e.g. the tests).
    """
    import logging
    import warnings

    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if _VERBOSE else logging.WARNING)
    ours = [f for f in warnings.filters if f[0] == "ignore" and getattr(f[1], "pattern", None) in _QUIET_WARNINGS]
    for entry in ours:
        warnings.filters.remove(entry)
    if not _VERBOSE:
        for pattern in _QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
