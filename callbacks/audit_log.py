"""Record a training run as a tamper-evident Merkle audit log (``--enable-audit --audit-path DIR``)."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path
from typing import Any, Optional

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

from nethical.console import info_once as _say

from callbacks.events import get_run_id, utc_now
from nethical.audit import store
from nethical.audit.canonical import encode_event
from nethical.audit.log import AuditLog
from nethical.audit.summary import merge_summary
from nethical.exceptions import ConfigError, DataError

# Events that happen once per run of a model type: a resumed fit must not record them again.
ONCE_PER_RUN = frozenset({"training_start", "data_loaded", "data_split"})
# Events that happen once per training position: a resumed fit records them again only at a new epoch/step.
ONCE_PER_STEP = frozenset({"validation_metrics", "training_completed", "promotion_decision", "model_saved", "governance_summary"})
_SECRET_KEY = re.compile(r"(^|[_\-.])(password|passwd|passphrase|secret|token|api[_-]?key|key|credentials?|auth)$", re.IGNORECASE)
_RESERVED = ("event_type", "timestamp", "run_id")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def dedup_key(event: dict[str, Any]) -> str:
    """The identity of an event across a resume: type and model type, plus epoch and step for per-position events,
    or plus a digest of the facts for any other event (so an exact replay is recognised)."""
    event_type, model_type = event.get("event_type"), event.get("model_type")
    if event_type in ONCE_PER_RUN:
        return f"{event_type}|{model_type}"
    if event_type in ONCE_PER_STEP:
        return f"{event_type}|{model_type}|{event.get('epoch')}|{event.get('global_step')}"
    body = {k: v for k, v in event.items() if k not in ("timestamp", "run_id")}
    return f"{event_type}|{model_type}|{hashlib.sha256(encode_event(body)).hexdigest()[:16]}"


def _safe(value: Any, depth: int = 0) -> Any:
    """Hyperparameters as small plain JSON, with secret-looking keys redacted."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, str) or len(value) <= 200 else value[:197] + "..."
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict) and depth < 3:
        return {str(k): ("[redacted]" if _SECRET_KEY.search(str(k)) else _safe(v, depth + 1)) for k, v in list(value.items())[:50]}
    if isinstance(value, (list, tuple)) and depth < 3:
        return [_safe(v, depth + 1) for v in list(value)[:20]]
    return f"<{type(value).__name__}>"



class AuditLogCallback(Callback):
    """Append every training event to an RFC 9162 Merkle audit log in ``audit_path`` (see ``docs/audit.md``).

    Records ``training_start``, ``data_loaded``, ``data_split`` (after the datamodule's setup), ``validation_metrics``
    (each validation run, not the sanity check), ``training_completed``, and every event other callbacks send with
    :func:`callbacks.events.emit` (``promotion_decision``, ``model_saved``, governance and drift events). Each event
    carries ``event_type``, ``model_type``, an ISO-8601 UTC ``timestamp``, ``run_id``, ``epoch``, ``global_step``
    and its facts. After the fit (in ``teardown``, so the promotion gate's ``on_fit_end`` events are in) it records
    the new ``training_summary.json`` as a ``training_summary`` event, finalizes the chunk, writes the file
    (:meth:`nethical.audit.AuditLog.commit_summary`) and logs ``Merkle root: <hex>`` and the log head; on an
    exception it records ``training_failed`` and does the same with ``decision: "FAILED"``.

    Every rank computes the same events and dedup state; only global rank zero opens and writes the log.
    ``state_dict`` holds the keys of events already written (and the run ids), so a fit resumed from a checkpoint
    neither repeats ``training_start`` nor re-logs the metrics of an epoch it already logged; events written after
    the checkpoint by the crashed process are found on disk and skipped too. It also holds each process's random
    journal secret: a resumed fit uses them to authenticate (and so recover) the journal its crashed process left;
    any orphaned journal that authenticates neither with those nor with the signing key is kept aside.

    Args:
        enabled: record anything at all. ``False`` (the default) makes every hook a no-op: no files, no output.
        audit_path: the audit directory (created if missing; a second run continues its chain).
        chunk_size: events per chunk file.
        signing_key: path of an Ed25519 private key PEM; each chunk's C2SP checkpoint is signed with it.

    Example:
        >>> trainer = pl.Trainer(callbacks=[AuditLogCallback(enabled=True, audit_path="audit")])  # doctest: +SKIP
    """

    def __init__(
        self,
        enabled: bool = False,
        audit_path: str = "training_audit_logs",
        chunk_size: int = 10000,
        signing_key: Optional[str] = None,
    ) -> None:
        if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
            raise ConfigError(f"AuditLogCallback(chunk_size={chunk_size!r}) must be a positive integer, e.g. 10000.")
        if enabled and signing_key is not None and not Path(signing_key).is_file():
            raise ConfigError(
                f"AuditLogCallback(signing_key={str(signing_key)!r}): no such file; pass an Ed25519 private key PEM "
                "(create one with `nethical audit keygen PREFIX`) or drop --audit-signing-key."
            )
        self.enabled = bool(enabled)
        self.audit_path = str(audit_path)
        self.chunk_size = chunk_size
        self.signing_key = signing_key
        self.merkle_root: Optional[str] = None  # chain head after the last fit (rank zero)
        self._log: Optional[AuditLog] = None
        self._queue: list[dict[str, Any]] = []
        self._flushed = False
        self._written: set[str] = set()
        self._run_ids: list[str] = []
        self._started_at: Optional[str] = None
        self._event_count = 0
        self._resumed = False
        self._facts: dict[str, dict[str, Any]] = {}
        self._last_val: dict[str, float] = {}
        self._journal_secrets: list[str] = []  # hex per-run journal HMAC secrets, this process's last (unsigned runs)

    @property
    def state_key(self) -> str:
        return self._generate_state_key(audit_path=self.audit_path)

    # ------------------------------------------------------------------ events
    def record_event(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", event_type: str, facts: dict[str, Any]) -> None:
        """Receive an event from :func:`callbacks.events.emit` (or record one directly)."""
        if not self.enabled:
            return
        event = self._event(trainer, pl_module, event_type, facts)
        if event_type in ("promotion_decision", "model_saved", "governance_summary"):
            self._facts[event_type] = dict(facts)
        if self._flushed:
            self._write(trainer, event)
        else:
            self._queue.append(event)

    def _event(self, trainer: "pl.Trainer", pl_module: Optional["pl.LightningModule"], event_type: str, facts: dict[str, Any]) -> dict[str, Any]:
        from nethical.redaction import known_secrets, scrub_value

        # events recorded directly (not through emit) are scrubbed here too: every event may end up in a signed chunk
        secrets, users = known_secrets()
        event = {k: scrub_value(v, secrets, users) for k, v in facts.items() if k not in _RESERVED}
        event["event_type"] = event_type
        event["model_type"] = facts.get("model_type") or self._model_type(pl_module)
        event["timestamp"] = utc_now()
        event["run_id"] = get_run_id()
        event.setdefault("epoch", int(trainer.current_epoch))
        event.setdefault("global_step", int(trainer.global_step))
        return event

    @staticmethod
    def _model_type(pl_module: Optional["pl.LightningModule"]) -> str:
        return str(getattr(pl_module, "model_type", None) or type(pl_module).__name__)

    def _write(self, trainer: "pl.Trainer", event: dict[str, Any]) -> None:
        key = dedup_key(event)
        if key in self._written:
            return
        self._written.add(key)
        self._event_count += 1
        if trainer.is_global_zero and self._log is not None:
            self._log.append(event)

    def _flush(self, trainer: "pl.Trainer") -> None:
        if self._flushed:
            return
        self._flushed = True
        if trainer.is_global_zero:
            self._recover()  # after a checkpoint (if any) was loaded: its secrets authenticate earlier journals
        if self._resumed and trainer.is_global_zero and self._log is not None:
            self._written |= self._keys_on_disk()
        queue, self._queue = self._queue, []
        for event in queue:
            self._write(trainer, event)
        if self._resumed:
            facts = {"ckpt_path": str(trainer.ckpt_path) if trainer.ckpt_path else None, "resumed_run_ids": list(self._run_ids[:-1])}
            self._write(trainer, self._event(trainer, trainer.lightning_module, "training_resumed", facts))

    def _keys_on_disk(self) -> set[str]:
        """Keys of events this run (any of its processes) already wrote: newest chunks first, back to the run start."""
        keys: set[str] = set()
        run_ids = set(self._run_ids)
        for _, path in reversed(store.list_chunks(Path(self.audit_path))):
            try:
                data, events = store.read_chunk(path)  # bounded: a forged deep or huge event is an error, not a crash
            except DataError:
                break
            for event in events:
                if isinstance(event, dict) and event.get("run_id") in run_ids:
                    keys.add(dedup_key(event))
            if self._started_at and str(data.get("created_at", "")) < self._started_at:
                break
        return keys

    # ------------------------------------------------------------------ hooks
    def setup(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        if not self.enabled or stage != "fit":
            return
        self._queue, self._flushed, self._written, self._resumed = [], False, set(), False
        self._facts, self._last_val, self._event_count = {}, {}, 0
        run_id = get_run_id()
        self._run_ids = [run_id]
        self._started_at = utc_now()
        secret = secrets.token_bytes(32)
        self._journal_secrets = [secret.hex()]
        if trainer.is_global_zero:
            # orphaned journals are handled in _flush, after a resumed fit has loaded the earlier processes' secrets
            self._log = AuditLog(self.audit_path, chunk_size=self.chunk_size, signing_key=self.signing_key,
                                 recover=False, journal_secret=secret)

        dm = trainer.datamodule
        hparams = _safe(dict(getattr(pl_module, "hparams", {}) or {}))
        self.record_event(trainer, pl_module, "training_start", {
            "seed": getattr(dm, "seed", None) if dm is not None else None,
            "max_epochs": trainer.max_epochs,
            "hparams": hparams,
            "num_devices": int(trainer.world_size),
        })
        if dm is not None:
            self.record_event(trainer, pl_module, "data_loaded", {"provenance": getattr(dm, "provenance", None), "input_kind": getattr(dm, "input_kind", None)})
            self.record_event(trainer, pl_module, "data_split", {
                "split_sizes": getattr(dm, "split_sizes", None),
                "split_strategy": getattr(dm, "split_strategy", None),
                "seed": getattr(dm, "seed", None),
            })

    def _recover(self) -> None:
        if self._log is not None:
            self._log.recover_orphans([bytes.fromhex(s) for s in self._journal_secrets])
            for info in self._log.recovered:
                _say(f"Audit: finalized an interrupted run's authenticated journal as chunk {info.chunk_id} ({info.event_count} events).")
            for path in self._log.set_aside:
                _say(f"Audit: kept aside {path.name}: an interrupted or unknown writer's journal that does not authenticate "
                     "with this log's signing key or this run's checkpoint; it is not part of the log (see docs/audit.md).")

    def on_train_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if self.enabled:
            self._flush(trainer)

    def on_validation_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not self.enabled or trainer.sanity_checking or trainer.state.fn != "fit":
            return
        self._flush(trainer)
        metrics = {}
        for name, value in sorted(trainer.callback_metrics.items()):
            if name.startswith("val/"):
                try:
                    metrics[name] = float(value)
                except (TypeError, ValueError):
                    continue
        self._last_val = metrics
        self.record_event(trainer, pl_module, "validation_metrics", {"epoch": int(trainer.current_epoch), "metrics": metrics})

    def on_train_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not self.enabled:
            return
        self.record_event(trainer, pl_module, "training_completed", {
            "epochs_run": int(trainer.current_epoch),
            "global_step": int(trainer.global_step),
            "stopped_early": bool(trainer.should_stop and trainer.max_epochs is not None and trainer.current_epoch < trainer.max_epochs),
        })

    def teardown(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        if not self.enabled or stage != "fit":
            return
        self._flush(trainer)
        self._finish(trainer, pl_module)

    def on_exception(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", exception: BaseException) -> None:
        if not self.enabled or trainer.state.fn != "fit":
            return
        try:
            self._flush(trainer)
            self.record_event(trainer, pl_module, "training_failed", {"error_type": type(exception).__name__})
        finally:
            self._finish(trainer, pl_module, error_type=type(exception).__name__)

    def _finish(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", error_type: Optional[str] = None) -> None:
        log, self._log = self._log, None
        if log is None:  # other ranks, or already finished
            return
        model_type = self._model_type(pl_module)
        result = self._result(error_type)
        run_id = get_run_id()
        # the summary goes into the log as the chunk's last event, then into training_summary.json (one lock hold)
        summary, info = log.commit_summary(lambda existing: merge_summary(
            existing,
            run_id=run_id,
            model_type=model_type,
            result=result,
            governance=self._facts.get("governance_summary"),
            timestamp=utc_now(),
            audit_dir=os.path.abspath(self.audit_path),
        ), model_type=model_type, run_id=run_id)
        self.merkle_root = info.merkle_root
        _say(f"Merkle root: {info.merkle_root}")
        _say(
            f"Audit log: {os.path.abspath(self.audit_path)} (chunk {info.chunk_id}, {self._event_count} events this run"
            f"{', run failed' if error_type else ''}; log {summary['log_id']} at size {summary['log_size']}, root "
            f"{summary['log_root']}); verify with `nethical audit verify {self.audit_path}`"
        )

    def _result(self, error_type: Optional[str] = None) -> dict[str, Any]:
        decision = self._facts.get("promotion_decision")
        if error_type is not None:
            result = {
                "promoted": False,
                "decision": "FAILED",
                "reasons": [f"the fit stopped with {error_type}"],
                "error_type": error_type,
                "metrics": {k[len("val/"):]: v for k, v in self._last_val.items()},
            }
        elif decision is not None:
            result = {k: v for k, v in decision.items() if k != "model_type"}
        else:
            result = {
                "promoted": False,
                "decision": "NOT_EVALUATED",
                "reasons": ["no promotion gate ran in this fit"],
                "metrics": {k[len("val/"):]: v for k, v in self._last_val.items()},
            }
        saved = self._facts.get("model_saved")
        if saved is not None:
            result["saved_files"] = saved.get("files", {})
            result.setdefault("saved_dir", saved.get("path"))
        return result

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        if not self.enabled:
            return {}
        return {
            "run_ids": list(self._run_ids),
            "written_keys": sorted(self._written),
            "event_count": self._event_count,
            "started_at": self._started_at,
            # per-run journal HMAC secrets (hex): lets a fit resumed from this checkpoint authenticate, and so recover,
            # the journal of a process that crashed; the checkpoint lives outside the audit directory
            "journal_secrets": list(self._journal_secrets),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not self.enabled or not state_dict:
            return
        self._written = set(state_dict.get("written_keys", [])) | self._written_before_flush()
        previous = [r for r in state_dict.get("run_ids", []) if r not in self._run_ids]
        self._run_ids = previous + self._run_ids
        self._started_at = state_dict.get("started_at") or self._started_at
        self._event_count = int(state_dict.get("event_count", 0))
        earlier = [x for x in state_dict.get("journal_secrets", []) or []
                   if isinstance(x, str) and _HEX64.match(x) and x not in self._journal_secrets]
        self._journal_secrets = (earlier + self._journal_secrets)[-64:]  # this process's own secret stays last
        self._resumed = True

    def _written_before_flush(self) -> set[str]:
        return set(self._written) if self._flushed else set()
