"""The promotion gate's rules: pure functions over measured metrics.

A model is *promoted* when, scored on the validation split, ``ece <= max_ece`` and ``accuracy >= min_accuracy``.
Otherwise it is kept as a *candidate*, and the reasons say which criterion missed and by how much.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Tuple

from nethical.exceptions import ConfigError


@dataclass(frozen=True)
class GateThresholds:
    max_ece: float = 0.08
    min_accuracy: float = 0.85

    def __post_init__(self) -> None:
        for name in ("max_ece", "min_accuracy"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or math.isnan(value) or not 0.0 <= value <= 1.0:
                flag = "--promotion-max-ece" if name == "max_ece" else "--promotion-min-accuracy"
                raise ConfigError(f"{name}={value!r} must be within [0, 1] ({flag}); the defaults are 0.08 and 0.85.")

    def to_dict(self) -> Dict[str, float]:
        return asdict(self)


def gate_decision(metrics: Dict[str, float], thresholds: GateThresholds) -> Tuple[bool, List[str]]:
    """Return ``(promoted, reasons)``; the reasons list every criterion, passed or missed, with its numbers."""
    acc, ece = float(metrics["accuracy"]), float(metrics["ece"])
    reasons = []
    acc_ok = not math.isnan(acc) and acc >= thresholds.min_accuracy
    ece_ok = not math.isnan(ece) and ece <= thresholds.max_ece
    reasons.append(
        f"accuracy {acc:.4f} {'>=' if acc_ok else '<'} min_accuracy {thresholds.min_accuracy:.4f}"
        + ("" if acc_ok else " (low_accuracy)")
    )
    reasons.append(
        f"ece {ece:.4f} {'<=' if ece_ok else '>'} max_ece {thresholds.max_ece:.4f}" + ("" if ece_ok else " (calibration_error)")
    )
    return acc_ok and ece_ok, reasons
