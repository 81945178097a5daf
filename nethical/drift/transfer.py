"""Transfer: score an earlier cohort's saved model on a later cohort's validation rows ("does my old model still
work on the new data?").

The model is found from what its observation recorded (the directory the promotion gate saved it in, its run id and
the models directory): the recorded directory when its card still names that run, otherwise the card of that run
and model type anywhere under the models directory (a champion that was replaced moves to ``archive/``). Rows are
scored by :func:`nethical.registry_cli.predict_rows`, the path ``nethical predict`` uses, so the model sees the rows
exactly as a user's file would give them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from nethical.drift.observation import CohortObservation
from nethical.drift.rows import RowsError, as_dict_rows, read_rows
from nethical.metrics import calibration_bins, confusion_counts

CARD_FILE = "model_card.json"
MAX_CARDS_SEARCHED = 5000


class TransferSkipped(Exception):
    """A transfer comparison cannot be made; the message is the reason shown in the report."""


def resolve_model_dir(obs: CohortObservation) -> Path:
    """The directory holding ``obs``'s model now (see the module docstring).

    Raises:
        TransferSkipped: nothing was recorded, or the model was moved or deleted.
    """
    if not obs.model_dir:
        raise TransferSkipped(f"cohort {obs.cohort_id!r} recorded no saved model (the gate did not save it, or the "
                              "observation predates transfer tests)")
    recorded = Path(obs.model_dir)
    if _card_matches(recorded, obs):
        return recorded
    root = Path(obs.models_dir) if obs.models_dir else None
    if root is not None and root.is_dir():
        for i, card in enumerate(root.rglob(CARD_FILE)):
            if i >= MAX_CARDS_SEARCHED:
                break
            if ".staging" not in card.parts and _card_matches(card.parent, obs):
                return card.parent
    raise TransferSkipped(f"the model of cohort {obs.cohort_id!r} ({obs.model_type}, run {obs.run_id}) is no longer in "
                          f"{recorded} nor elsewhere under {root or 'its models directory'}; it was moved or deleted")


def _card_matches(directory: Path, obs: CohortObservation) -> bool:
    try:
        card = json.loads((directory / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(card, dict) and card.get("run_id") == obs.run_id and card.get("model_type") == obs.model_type


def score(
    model_obs: CohortObservation, rows_obs: CohortObservation, report_dir: Union[str, os.PathLike], n_bins: int = 10
) -> dict[str, Any]:
    """Score ``model_obs``'s model on ``rows_obs``'s validation rows.

    Returns:
        ``{"model_dir", "n", "counts", "calibration_bins", "accuracy", "precision", "recall", "ece"}``.

    Raises:
        TransferSkipped: the model or the rows cannot be used, or the model cannot score these rows (the reason,
            e.g. the columns it lacks).
    """
    from nethical.exceptions import NethicalError
    from nethical.metrics import ece_from_bins
    from nethical.registry_cli import predict_rows

    model_dir = resolve_model_dir(model_obs)
    if not rows_obs.rows_file:
        raise TransferSkipped(f"cohort {rows_obs.cohort_id!r} kept no validation rows (recorded without them)")
    try:
        rows = read_rows(report_dir, rows_obs.rows_file, rows_obs.rows_sha256)
    except RowsError as exc:
        raise TransferSkipped(f"cohort {rows_obs.cohort_id!r}: {exc}") from None
    try:
        card = json.loads((model_dir / CARD_FILE).read_text(encoding="utf-8"))
        field = str((card.get("input_spec") or {}).get("text_field") or "text")
        kind = (card.get("input_spec") or {}).get("kind")
        if (rows["texts"] is None) != (kind == "tabular"):
            data_kind = "tabular" if rows["texts"] is None else "text"
            raise TransferSkipped(f"the model of {model_obs.cohort_id!r} takes {kind} input and the rows of "
                                  f"{rows_obs.cohort_id!r} are {data_kind}")
        probs = np.asarray(predict_rows(model_dir, as_dict_rows(rows, field), text_field=field), dtype=np.float64)
    except TransferSkipped:
        raise
    except (NethicalError, ValueError, KeyError, RuntimeError, OSError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise TransferSkipped(f"the model of {model_obs.cohort_id!r} cannot score the rows of "
                              f"{rows_obs.cohort_id!r}: {reason}") from None
    labels = rows["labels"]
    counts = confusion_counts(probs, labels)
    bins = calibration_bins(probs, labels, n_bins)
    tp, fp, tn, fn = (int(counts[k]) for k in ("tp", "fp", "tn", "fn"))
    n = tp + fp + tn + fn
    return {
        "model_dir": str(model_dir),
        "n": n,
        "counts": {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "n": n},
        "calibration_bins": bins.to_dict(),
        "accuracy": (tp + tn) / n if n else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "ece": float(ece_from_bins(bins)),
    }


def bins_count(obs: Optional[CohortObservation]) -> int:
    """The number of calibration bins ``obs`` used (10 when unknown)."""
    if obs is None:
        return 10
    return int(obs.calibration_bins.get("n_bins") or len(obs.calibration_bins.get("count", [])) or 10)
