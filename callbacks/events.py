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

RUN_ID_ENV = "NETHICAL_RUN_ID"


def get_run_id() -> str:
    """The id of this run, shared by every rank and every model type trained by one command.

    Set once per process tree through the environment, so DDP worker processes launched by Lightning inherit it.
    """
    run_id = os.environ.get(RUN_ID_ENV)
    if not run_id:
        run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
        os.environ[RUN_ID_ENV] = run_id
    return run_id


def utc_now() -> str:
    """ISO-8601 UTC timestamp with microseconds, e.g. ``2026-11-26T08:41:43.123456+00:00``."""
    return datetime.now(timezone.utc).isoformat()


def emit(trainer: "pl.Trainer", event_type: str, **facts: Any) -> None:
    """Send one event to every callback that records events. ``facts`` must be JSON-serializable."""
    pl_module = trainer.lightning_module
    for callback in trainer.callbacks:
        record = getattr(callback, "record_event", None)
        if callable(record):
            record(trainer, pl_module, event_type, dict(facts))


def new_run_id() -> str:
    """Start a new run: forget any inherited id and make a fresh one (the classic CLI calls this per command)."""
    os.environ.pop(RUN_ID_ENV, None)
    return get_run_id()
