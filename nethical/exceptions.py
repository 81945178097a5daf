"""Exception hierarchy shared by every part of Nethical Trainer.

Every error a user can cause by bad input is a :class:`NethicalError`. Its message is one line that names the
problem and the fix; the command-line entry points print it as ``error: <message>`` and exit with
:attr:`NethicalError.exit_code` (2 for bad input), without a traceback unless ``--verbose`` is given.
"""

from __future__ import annotations


class NethicalError(Exception):
    """Base class of all domain errors. ``exit_code`` is what a CLI exits with when this reaches it."""

    exit_code: int = 2


class ConfigError(NethicalError, ValueError):
    """A flag, config key or argument has a bad value (unknown model type, threshold outside [0, 1], ...)."""


class DataError(NethicalError, ValueError):
    """Input data cannot serve: missing file, no label column, one class only, unmappable label, ..."""


class ModelLoadError(NethicalError, RuntimeError):
    """A saved model or checkpoint is missing, corrupted, or fails its integrity check."""


class UnsafeModelError(ModelLoadError):
    """A saved model or checkpoint holds something this project never writes (a type outside the allow-list, a
    symlink, a card that drops its weights from the file list): refused as hostile, never as merely unusable."""


class AuditIntegrityError(NethicalError):
    """An audit log failed verification (edited, removed or reordered events or chunks). Exit code 1."""

    exit_code = 1


class GovernanceViolationError(NethicalError):
    """Governance in ``block`` mode found violations, so the run stops before training."""

    exit_code = 1


class OutputError(NethicalError, OSError):
    """An output directory is missing, unwritable, or the disk is full."""
