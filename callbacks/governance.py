"""Governance validation during training (``--enable-governance``): the hooks that connect Lightning to
:mod:`nethical.governance`.

* ``setup("fit")`` — after the datamodule is set up and before the model is: scans the first ``data_samples``
  training rows (``datamodule.describe_rows("train", ...)``: tabular rows are rendered as ``name=value`` text,
  text datasets are scanned as text) and applies the policy:

  - ``report`` (default): counts and lists the problematic samples;
  - ``quarantine``: removes them with ``datamodule.exclude_train_indices`` and writes ``quarantine.jsonl``
    (index, decision, violation category/type/severity/confidence and *redacted* evidence) to the run directory;
  - ``block`` (``fail_on_violations=True``): the decision is reduced across ranks with
    ``trainer.strategy.reduce_boolean_decision`` and every rank raises :class:`GovernanceViolationError` before
    training starts, so nothing is trained or promoted.

* ``on_fit_end`` — runs the trained model on the first ``pred_samples`` validation rows, renders each prediction
  as ``<row text> | prediction=<0|1> probability=<p>`` and scans it, and also flags NaN or out-of-range
  probabilities (``safety/invalid_prediction``). It prints the summary and emits ``governance_summary`` (TensorBoard
  shows it as text and a figure: :mod:`callbacks.tensorboard_summary`; one number per fit is not a scalar series). Because the
  CLI orders callbacks audit → governance → promotion gate, this runs just before the gate's ``on_fit_end``; the
  audit log receives the events either way because it closes in ``teardown``.

A sample is *problematic* when its engine decision is at least ``flag_decision`` (default ``warn``, i.e. any
violation that clears the warn thresholds).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback

from callbacks.events import emit
from nethical.console import info_once as _info
from nethical.console import warn_once as _warn
from nethical.exceptions import ConfigError, GovernanceViolationError, OutputError
from nethical.governance import CATEGORIES, GovernanceConfig, GovernanceEngine, ScanResult, Violation
from nethical.governance.detector import load_detector
from nethical.governance.violation import DECISION_RANK, DECISIONS

POLICIES = ("report", "quarantine", "block")
_LIST_LIMIT = 50  # flagged samples listed in an event


def _parse_count(name: str, value: Union[int, str]) -> Optional[int]:
    """``all`` → None (every row); a non-negative int (or its string) → that int."""
    if isinstance(value, str):
        if value.strip().lower() == "all":
            return None
        if value.strip().isdigit():
            return int(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ConfigError(f"GovernanceCallback({name}={value!r}) must be a non-negative integer or 'all'.")



class GovernanceCallback(Callback):
    """Scan training data before fit and validation predictions after it.

    Args:
        enabled: do nothing at all unless True (``--enable-governance``).
        data_samples: training rows to scan (the first N), or ``"all"``.
        pred_samples: validation predictions to scan (the first M), or ``"all"``.
        policy: ``report`` | ``quarantine`` | ``block``.
        fail_on_violations: same as ``policy="block"`` (``--gov-fail-on-violations``).
        output_dir: where ``quarantine.jsonl`` goes; default ``trainer.log_dir`` when a logger exists, else
            ``<default_root_dir>/governance``.
        flag_decision: lowest engine decision that makes a sample problematic (``warn``, ``quarantine``, ``block``).
        warn_severity / quarantine_severity / block_severity / min_confidence: engine thresholds
            (:class:`nethical.governance.GovernanceConfig`).
        categories: categories to check (default: all nine).
        jailbreak_sensitivity: ``high`` (default) or ``standard`` (:class:`nethical.governance.GovernanceConfig`).
        model: the learned detector combined with the rules: ``default`` (shipped in the package), a directory
            written by ``nethical governance train`` (``--governance.model DIR``, classic ``--gov-model DIR``), or
            ``none`` for rules only. Loaded and verified (sha256) when the callback is built, so a missing or corrupt
            model stops the run before it starts, naming the file.
        sensitivity: the detector's operating point: ``low`` / ``standard`` / ``high`` (benign false-positive
            target 1% / 5% / 10%, thresholds from the model card).

    Raises:
        ConfigError: for a bad count, policy, decision or threshold (at construction, before any job starts).

    Example:
        >>> cb = GovernanceCallback(enabled=True, data_samples="all", policy="quarantine")
    """

    def __init__(
        self,
        enabled: bool = False,
        data_samples: Union[int, str] = 100,
        pred_samples: Union[int, str] = 50,
        policy: str = "report",
        fail_on_violations: bool = False,
        output_dir: Optional[str] = None,
        flag_decision: str = "warn",
        warn_severity: str = "low",
        quarantine_severity: str = "medium",
        block_severity: str = "high",
        min_confidence: float = 0.5,
        categories: Optional[list[str]] = None,
        jailbreak_sensitivity: str = "high",
        model: Optional[str] = "default",
        sensitivity: str = "standard",
    ) -> None:
        if policy not in POLICIES:
            raise ConfigError(f"GovernanceCallback(policy={policy!r}) is not a policy. Valid: {list(POLICIES)}.")
        if flag_decision not in DECISIONS[1:]:
            raise ConfigError(f"GovernanceCallback(flag_decision={flag_decision!r}) must be one of {list(DECISIONS[1:])}.")
        self.enabled = bool(enabled)
        self.data_samples = _parse_count("data_samples", data_samples)
        self.pred_samples = _parse_count("pred_samples", pred_samples)
        self.policy = "block" if fail_on_violations else policy
        self.output_dir = output_dir
        self.flag_decision = flag_decision
        self.config = GovernanceConfig(
            warn_severity=warn_severity,
            quarantine_severity=quarantine_severity,
            block_severity=block_severity,
            min_confidence=min_confidence,
            categories=frozenset(categories) if categories else frozenset(CATEGORIES),
            jailbreak_sensitivity=jailbreak_sensitivity,
        )
        self.model = model
        self.sensitivity = sensitivity
        self._detector = load_detector(model, sensitivity) if self.enabled else None
        self._engine: Optional[GovernanceEngine] = None
        self.summary: dict[str, Any] = {}
        self._data: dict[str, Any] = {}
        self.quarantine_path: Optional[str] = None

    @property
    def engine(self) -> GovernanceEngine:
        if self._engine is None:
            self._engine = GovernanceEngine(self.config, detector=self._detector)
        return self._engine

    # ------------------------------------------------------------------------------------------ helpers

    def _flagged(self, result: ScanResult) -> bool:
        return DECISION_RANK[result.decision] >= DECISION_RANK[self.flag_decision]

    def _output_dir(self, trainer: "pl.Trainer") -> Path:
        if self.output_dir:
            return Path(self.output_dir)
        if trainer.loggers:
            log_dir = trainer.log_dir  # collective: called on every rank
            if log_dir:
                return Path(log_dir)
        return Path(trainer.default_root_dir) / "governance"

    @staticmethod
    def _count(requested: Optional[int], available: int) -> int:
        return available if requested is None else min(requested, available)

    # ------------------------------------------------------------------------------------------ data scan

    def setup(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        if not self.enabled or stage != "fit":
            return
        _info("Governance validation enabled")
        dm = trainer.datamodule
        if dm is None or not hasattr(dm, "describe_rows"):
            _warn("Governance validation skipped: the datamodule has no describe_rows(split, indices).")
            self._data = {"samples": 0, "flagged": [], "by_category": {}, "blocked": 0, "quarantined": 0}
            return
        _info("Running governance validation on training data samples...")
        n = self._count(self.data_samples, int(dm.split_sizes.get("train", 0)))
        rows = dm.describe_rows("train", list(range(n))) if n else []
        results = self.engine.scan_many(rows)
        flagged = [i for i, r in enumerate(results) if self._flagged(r)]
        by_category = Counter(v.category for i in flagged for v in results[i].violations)
        blocked = sum(r.decision == "block" for r in results)
        if flagged:
            _warn(f"Governance found {len(flagged)} problematic data samples")
        else:
            _info(f"Governance validation passed for {n} data samples")
        listing = [{"index": i, "decision": results[i].decision,
                    "types": [f"{v.category}/{v.type}" for v in results[i].violations]} for i in flagged[:_LIST_LIMIT]]
        quarantined = 0
        # trainer.log_dir is a collective: resolve it on every rank under a condition all ranks share
        out_dir = self._output_dir(trainer) if self.policy == "quarantine" else None
        if out_dir is not None and flagged:
            quarantined = int(dm.exclude_train_indices(flagged))
            self.quarantine_path = str(out_dir / "quarantine.jsonl")
            if trainer.is_global_zero:
                self._write_quarantine(out_dir, flagged, results)
            _info(f"Governance quarantined {quarantined} training samples -> {self.quarantine_path}")
        self._data = {"samples": n, "flagged": flagged, "by_category": dict(by_category), "blocked": blocked,
                      "quarantined": quarantined}
        emit(trainer, "governance_data_scan", samples_validated=n, data_violations=len(flagged),
             by_category=dict(by_category), by_decision=dict(Counter(r.decision for r in results)),
             flagged=listing, policy=self.policy, quarantined=quarantined)
        stop = trainer.strategy.reduce_boolean_decision(bool(flagged) and self.policy == "block", all=False)
        if stop:
            self.summary = self._summary(0, 0, Counter(), 0, blocked_run=True)
            emit(trainer, "governance_summary", **self.summary)
            top = ", ".join(f"{c}: {k}" for c, k in by_category.most_common(4)) or "reported by another rank"
            raise GovernanceViolationError(
                f"GovernanceCallback(policy='block'): {len(flagged)} of {n} training samples violate governance rules "
                f"({top}); the run stopped before training and nothing was promoted. Inspect them with "
                f"--gov-policy report, or remove them with --gov-policy quarantine.")

    def _write_quarantine(self, out_dir: Path, flagged: Sequence[int], results: Sequence[ScanResult]) -> None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            with open(out_dir / "quarantine.jsonl", "w", encoding="utf-8") as fh:
                for i in flagged:
                    record = {"index": i, "decision": results[i].decision,
                              "violations": [v.to_dict(evidence=True) for v in results[i].violations]}
                    fh.write(json.dumps(record) + "\n")
        except OSError as exc:
            raise OutputError(f"GovernanceCallback: cannot write quarantine.jsonl in {str(out_dir)!r} "
                              f"({exc.strerror}). Pass a writable output_dir.") from exc

    # ------------------------------------------------------------------------------------------ predictions

    def on_fit_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not self.enabled or trainer.interrupted:
            return
        _info("Running governance validation on model predictions...")
        texts, invalid = self._predictions(trainer, pl_module)
        results = self.engine.scan_many(texts)
        flagged_idx = []
        by_category: Counter = Counter()
        blocked = 0
        for i, result in enumerate(results):
            violations = list(result.violations)
            if i in invalid:
                violations.append(invalid[i])
                result = ScanResult(self.config.decide(violations), tuple(violations), result.truncated)
            blocked += result.decision == "block"
            if self._flagged(result):
                flagged_idx.append(i)
                by_category.update(v.category for v in result.violations)
        m = len(texts)
        if flagged_idx:
            _warn(f"Governance found {len(flagged_idx)} problematic predictions")
        else:
            _info(f"Governance validation passed for {m} predictions")
        emit(trainer, "governance_prediction_scan", predictions_validated=m, prediction_violations=len(flagged_idx),
             invalid_probabilities=len(invalid), by_category=dict(by_category), flagged=flagged_idx[:_LIST_LIMIT])
        self.summary = self._summary(m, len(flagged_idx), by_category, blocked)
        self._print_summary()
        emit(trainer, "governance_summary", **self.summary)

    def _predictions(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> tuple[list[str], dict[int, Violation]]:
        dm = trainer.datamodule
        if dm is None or not hasattr(dm, "describe_rows"):
            return [], {}
        available = int(dm.split_sizes.get("val", 0))
        m = self._count(self.pred_samples, available)
        if m == 0:
            return [], {}
        probs = self._probabilities(dm, pl_module, m)
        m = min(m, len(probs))
        rows = dm.describe_rows("val", list(range(m)))
        texts, invalid = [], {}
        for i, (row, p) in enumerate(zip(rows, probs)):
            if not math.isfinite(p) or not 0.0 <= p <= 1.0:
                invalid[i] = Violation("safety", "invalid_prediction", "high", 1.0, (0, 0),
                                       f"probability {p!r} is not a finite number in [0, 1]")
                texts.append(f"{row} | prediction=invalid probability={p!r}")
            else:
                texts.append(f"{row} | prediction={int(p >= 0.5)} probability={p:.4f}")
        return texts, invalid

    @staticmethod
    def _probabilities(dm: Any, pl_module: "pl.LightningModule", m: int) -> list[float]:
        """P(y=1) for the first ``m`` validation rows, from the full split (identical on every rank)."""
        split_scores = getattr(pl_module, "predict_proba_split", None)
        if callable(split_scores) and hasattr(dm, "tensors"):  # the path the promotion gate scores through
            return [float(p) for p in split_scores(dm, "val")[:m]]
        predict = getattr(pl_module, "predict_proba_batch", None)
        if not callable(predict):
            predict = lambda batch: pl_module.predict_step(batch, 0)  # noqa: E731 - contract: returns P(y=1)
        was_training = pl_module.training
        pl_module.eval()
        out: list[float] = []
        try:
            with torch.no_grad():
                if hasattr(dm, "tensors"):
                    val = dm.tensors("val")
                    for start in range(0, m, 256):
                        batch = {k: v[start:min(m, start + 256)] for k, v in val.items()}
                        out.extend(float(p) for p in torch.as_tensor(predict(batch)).reshape(-1).cpu().tolist())
                else:
                    for batch in dm.val_dataloader():
                        out.extend(float(p) for p in torch.as_tensor(predict(batch)).reshape(-1).cpu().tolist())
                        if len(out) >= m:
                            break
        finally:
            pl_module.train(was_training)
        return out[:m]

    # ------------------------------------------------------------------------------------------ summary

    def _summary(self, predictions: int, prediction_violations: int, pred_categories: Counter, pred_blocked: int,
                 blocked_run: bool = False) -> dict[str, Any]:
        data = self._data or {"samples": 0, "flagged": [], "by_category": {}, "blocked": 0, "quarantined": 0}
        by_category = Counter(data["by_category"])
        by_category.update(pred_categories)
        data_violations = len(data["flagged"])
        return {
            "enabled": True,
            "policy": self.policy,
            "data_samples_validated": int(data["samples"]),
            "data_violations": data_violations,
            "predictions_validated": int(predictions),
            "prediction_violations": int(prediction_violations),
            "total_violations_detected": data_violations + int(prediction_violations),
            "total_actions_blocked": int(data["blocked"]) + int(pred_blocked),
            "by_category": {c: int(by_category[c]) for c in CATEGORIES if by_category.get(c)},
            "quarantined": int(data["quarantined"]),
            "blocked_run": bool(blocked_run),
            "detector": "none" if self._detector is None else str(self.model),
            "detector_sensitivity": self.sensitivity,
        }

    def _print_summary(self) -> None:
        s = self.summary
        _info("Governance Validation Summary:")
        _info(f"  Data samples validated: {s['data_samples_validated']}")
        _info(f"  Data violations found: {s['data_violations']}")
        _info(f"  Predictions validated: {s['predictions_validated']}")
        _info(f"  Prediction violations found: {s['prediction_violations']}")
        if s["quarantined"]:
            _info(f"  Quarantined training samples: {s['quarantined']}")

    # ------------------------------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        return {"summary": json.loads(json.dumps(self.summary)), "quarantine_path": self.quarantine_path}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.summary = dict(state_dict.get("summary") or {})
        self.quarantine_path = state_dict.get("quarantine_path")


__all__ = ["GovernanceCallback", "POLICIES"]
