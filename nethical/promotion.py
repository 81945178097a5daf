"""The promotion gate's rules: pure functions over measured metrics and their confidence intervals.

A model is *promoted* when, scored on the validation split, all three criteria hold:

1. **calibration**: ``ece <= max_ece``;
2. **accuracy**: ``accuracy >= min_accuracy``;
3. **skill** (on by default, ``min_skill``): the model beats the no-skill predictor with confidence. With ``m`` the
   majority-class rate of the validation labels (the accuracy of always predicting the commoner class) and
   ``[acc_low, acc_high]``, ``[auroc_low, auroc_high]`` the intervals of :mod:`nethical.intervals`:

       acc_low   >  m   + min_skill * (1 - m)      (accuracy's Wilson lower bound above the majority rate)
       auroc_low >  0.5 + min_skill * 0.5          (AUROC's bootstrap lower bound above chance)

   i.e. the lower bounds of the *accuracy skill* ``(acc - m) / (1 - m)`` and the *ranking skill* ``2 * AUROC - 1``
   (both 0 for a no-skill model, 1 for a perfect one) must exceed ``min_skill``. ``min_skill = 0`` (the default)
   asks for "better than no skill, with 95% confidence"; a positive value tightens it, a negative one relaxes it,
   and ``None`` switches the criterion off, restoring the seed's two criteria.

Independently of ``min_skill``, a model that predicts the same class for every validation row is never promoted:
it has learned nothing a constant could not do. Every reason names the criterion in words and prints its numbers
with enough digits to show their side of the threshold (:func:`nethical.intervals.format_vs`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Tuple

from nethical.exceptions import ConfigError
from nethical.intervals import DEFAULT_BOOTSTRAP, DEFAULT_CONFIDENCE, check_bootstrap, check_confidence, format_vs


@dataclass(frozen=True)
class GateThresholds:
    max_ece: float = 0.08
    min_accuracy: float = 0.85
    min_skill: Optional[float] = 0.0
    confidence: float = DEFAULT_CONFIDENCE
    n_bootstrap: int = DEFAULT_BOOTSTRAP

    def __post_init__(self) -> None:
        for name in ("max_ece", "min_accuracy"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or not 0.0 <= value <= 1.0:
                flag = "--promotion-max-ece" if name == "max_ece" else "--promotion-min-accuracy"
                raise ConfigError(f"{name}={value!r} must be within [0, 1] ({flag}); the defaults are 0.08 and 0.85.")
        skill = self.min_skill
        if skill is not None and (isinstance(skill, bool) or not isinstance(skill, (int, float)) or math.isnan(skill)
                                  or not -1.0 <= skill < 1.0):
            raise ConfigError(f"min_skill={skill!r} must be within [-1, 1) or off (--promotion-min-skill); the default 0 "
                              "asks for confidently better than no skill.")
        check_confidence(self.confidence)
        check_bootstrap(self.n_bootstrap)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _side(ok: bool, good: str, bad: str) -> str:
    return good if ok else bad


def constant_prediction_reason(counts: Dict[str, int], majority_rate: float, accuracy: float) -> Optional[str]:
    """A plain-words reason when every row gets the same predicted class, else ``None``."""
    n = int(counts.get("n", 0))
    predicted_pos = int(counts.get("tp", 0)) + int(counts.get("fp", 0))
    if n == 0 or 0 < predicted_pos < n:
        return None
    actual_pos = int(counts.get("tp", 0)) + int(counts.get("fn", 0))
    cls = 1 if predicted_pos == n else 0
    majority_cls = 1 if actual_pos * 2 > n else 0
    which = "the majority class" if cls == majority_cls else "the minority class"
    return (f"predicts {which} ({cls}) for every row: accuracy {format_vs(accuracy, majority_rate)} "
            f"{'equals' if math.isclose(accuracy, majority_rate) else 'against'} the majority rate "
            f"{format_vs(majority_rate, accuracy)}; it learned nothing a constant cannot do (constant_prediction)")


def gate_decision(metrics: Dict[str, float], thresholds: GateThresholds,
                  intervals: Optional[Dict[str, Dict[str, Optional[float]]]] = None,
                  counts: Optional[Dict[str, int]] = None) -> Tuple[bool, List[str]]:
    """Return ``(promoted, reasons)``; the reasons list every criterion, passed or missed, with its numbers.

    ``intervals`` (from :func:`nethical.intervals.metric_intervals`) and ``counts`` (tp/fp/tn/fn/n) are needed for
    the skill criterion and the constant-prediction check; without them (or with ``min_skill=None``) only the
    seed's two criteria apply.
    """
    acc, ece = float(metrics["accuracy"]), float(metrics["ece"])
    reasons = []
    acc_ok = not math.isnan(acc) and acc >= thresholds.min_accuracy
    ece_ok = not math.isnan(ece) and ece <= thresholds.max_ece
    reasons.append(
        f"accuracy {format_vs(acc, thresholds.min_accuracy)} {_side(acc_ok, '>=', '<')} min_accuracy "
        f"{thresholds.min_accuracy:g}" + ("" if acc_ok else " (low_accuracy)")
    )
    reasons.append(
        f"ece {format_vs(ece, thresholds.max_ece)} {_side(ece_ok, '<=', '>')} max_ece {thresholds.max_ece:g}"
        + ("" if ece_ok else " (calibration_error)")
    )
    ok = acc_ok and ece_ok
    if counts is not None:
        majority = float(metrics.get("majority_rate", float("nan")))
        constant = constant_prediction_reason(counts, majority, acc)
        if constant:
            reasons.append(constant)
            ok = False
    if thresholds.min_skill is not None and intervals is not None:
        skill_ok, skill_reasons = skill_criterion(intervals, thresholds.min_skill, thresholds.confidence)
        reasons.extend(skill_reasons)
        ok = ok and skill_ok
    elif thresholds.min_skill is None:
        reasons.append("skill criterion off (min_skill=None): the seed's two criteria only")
    return ok, reasons


def skill_criterion(intervals: Dict[str, Dict[str, Optional[float]]], min_skill: float,
                    confidence: float = DEFAULT_CONFIDENCE) -> Tuple[bool, List[str]]:
    """The skill rule of the module docstring: ``(passed, reasons)``."""
    level = f"{confidence * 100:g}%"
    majority = intervals["majority_rate"]["value"]
    acc = intervals["accuracy"]
    auroc = intervals["auroc"]
    m = float(majority) if majority is not None else float("nan")
    need_acc = m + min_skill * (1.0 - m)
    need_auc = 0.5 + min_skill * 0.5
    acc_low = acc["low"] if acc["low"] is not None else float("nan")
    auc_low = auroc["low"] if auroc["low"] is not None else float("nan")
    acc_ok = math.isfinite(acc_low) and acc_low > need_acc
    auc_ok = math.isfinite(auc_low) and auc_low > need_auc
    margin = "" if min_skill == 0 else f" + min_skill {min_skill:g} x (1 - majority rate) = {need_acc:.5f}"
    reasons = [
        f"accuracy {level} lower bound {format_vs(acc_low, need_acc)} {_side(acc_ok, '>', '<=')} the majority rate "
        f"{m:.5f}{margin}" + ("" if acc_ok else
                              " (no_skill: not confidently better than always predicting the majority class)"),
        f"auroc {level} lower bound {format_vs(auc_low, need_auc)} {_side(auc_ok, '>', '<=')} "
        + (f"{need_auc:g}" if min_skill == 0 else f"0.5 + min_skill {min_skill:g} x 0.5 = {need_auc:.5f}")
        + ("" if auc_ok else " (no_skill: ranks positives above negatives no better than chance)"),
    ]
    return acc_ok and auc_ok, reasons


FAILURE_TAGS = ("(low_accuracy)", "(calibration_error)", "(no_skill", "(constant_prediction)")


def failed(reasons: List[str]) -> List[str]:
    """The reasons that name a missed gate criterion (for the one-line summary)."""
    return [r for r in reasons if any(tag in r for tag in FAILURE_TAGS)]
