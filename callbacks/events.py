"""A small event bus over ``trainer.callbacks``.

Callbacks that produce facts (the promotion gate, governance, drift) call :func:`emit`; every callback that defines
``record_event(trainer, pl_module, event_type, facts)`` receives them (the audit log records them, drift listens for
``promotion_decision``). Every rank emits the same events; receivers decide what to write on rank zero. Producers
never need to know whether auditing is on.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from typing import Any

import lightning.pytorch as pl

from nethical.audit.log import utc_now  # noqa: F401 - one definition, used by every callback
from nethical.exceptions import ConfigError
from nethical.registry import RUN_ID_RE

RUN_ID_ENV = "NETHICAL_RUN_ID"
_GENERATED: set = set()  # ids this process generated, so new_run_id() can tell them from a user's


def get_run_id() -> str:
    """The id of this run, shared by every rank and every model type trained by one command.

    Set once per process tree through the environment, so DDP worker processes launched by Lightning inherit it.
    """
    run_id = os.environ.get(RUN_ID_ENV)
    if run_id and not RUN_ID_RE.fullmatch(run_id):
        # the run id names directories (candidates/<type>/<run_id>): it must never step outside them
        raise ConfigError(
            f"{RUN_ID_ENV}={run_id!r} is not a safe run id; use letters, digits, '.', '_' and '-' only "
            "(at most 128, not starting with '.' or '-'), e.g. slurm-12345."
        )
    if not run_id:
        run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
        os.environ[RUN_ID_ENV] = run_id
        _GENERATED.add(run_id)
    return run_id


def emit(trainer: "pl.Trainer", event_type: str, **facts: Any) -> None:
    """Send one event to every callback that records events. ``facts`` must be JSON-serializable.

    Every string in the facts is scrubbed of credentials first (:mod:`nethical.redaction`): a fact may carry a
    third-party client's error text, and events end up in signed audit chunks and drift stores."""
    from nethical.redaction import known_secrets, scrub_value

    secrets, users = known_secrets()
    facts = scrub_value(dict(facts), secrets, users)  # type: ignore[assignment]
    pl_module = trainer.lightning_module
    for callback in trainer.callbacks:
        record = getattr(callback, "record_event", None)
        if callable(record):
            record(trainer, pl_module, event_type, dict(facts))


def new_run_id() -> str:
    """Start a new run (the classic CLI calls this once per command).

    An id the user exported (e.g. ``NETHICAL_RUN_ID=slurm-$SLURM_JOB_ID``, stable across requeues) is kept; an id this
    process generated for an earlier command is replaced by a fresh one.
    """
    current = os.environ.get(RUN_ID_ENV)
    if current and current not in _GENERATED:
        return get_run_id()  # user-given: validated and kept
    os.environ.pop(RUN_ID_ENV, None)
    return get_run_id()
