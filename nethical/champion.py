"""Champion and challenger: does a newly promoted model replace the one in ``<models_dir>/current/<type>/``?

A model that passes the promotion gate is the *challenger*. The *champion* (the current model of that type) is
scored on the same validation rows. The challenger replaces it only when it is not worse by more than the tolerance
on both accuracy and ECE:

    challenger_accuracy - champion_accuracy >= min_improvement   and
    champion_ece - challenger_ece           >= min_improvement

``min_improvement = 0`` (the default) means "not worse"; a positive value demands a real improvement, a negative value
tolerates that much loss. When the champion cannot score the new data (different columns or input kind), the
comparison is skipped and the gate's decision stands alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from nethical.exceptions import ConfigError


@dataclass(frozen=True)
class ChampionComparison:
    """The outcome of one champion/challenger comparison, as recorded in the model card."""

    compared: bool
    replace: bool
    reason: str
    min_improvement: float = 0.0
    champion_run_id: Optional[str] = None
    champion_metrics: Dict[str, float] = field(default_factory=dict)
    challenger_metrics: Dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def check_min_improvement(value: float) -> float:
    if not isinstance(value, (int, float)) or math.isnan(value) or not -1.0 <= value <= 1.0:
        raise ConfigError(f"min_improvement={value!r} must be within [-1, 1] (--min-improvement); 0 means 'not worse'.")
    return float(value)


def no_champion(reason: str = "no champion of this type yet") -> ChampionComparison:
    return ChampionComparison(compared=False, replace=True, reason=reason)


def not_comparable(reason: str, champion_run_id: Optional[str] = None) -> ChampionComparison:
    """The champion cannot score the new data: fall back to the gate alone (the challenger replaces it)."""
    return ChampionComparison(compared=False, replace=True, champion_run_id=champion_run_id,
                              reason=f"champion cannot score this validation data ({reason}); decided by the gate alone")


def compare(challenger: Dict[str, float], champion: Dict[str, float], min_improvement: float = 0.0,
            champion_run_id: Optional[str] = None) -> ChampionComparison:
    """Compare metrics measured on the same validation rows (keys ``accuracy`` and ``ece``)."""
    min_improvement = check_min_improvement(min_improvement)
    acc_gain = float(challenger["accuracy"]) - float(champion["accuracy"])
    ece_gain = float(champion["ece"]) - float(challenger["ece"])
    eps = 1e-12  # equal metrics (a retrain with the same seed) count as "not worse"
    failures: List[str] = []
    if not acc_gain >= min_improvement - eps:
        failures.append(f"accuracy {challenger['accuracy']:.4f} vs champion {champion['accuracy']:.4f} "
                        f"(change {acc_gain:+.4f} < {min_improvement:+.4f})")
    if not ece_gain >= min_improvement - eps:
        failures.append(f"ece {challenger['ece']:.4f} vs champion {champion['ece']:.4f} "
                        f"(reduction {ece_gain:+.4f} < {min_improvement:+.4f})")
    keep = ("accuracy", "ece", "f1", "auroc")
    common = dict(min_improvement=min_improvement, champion_run_id=champion_run_id,
                  champion_metrics={k: float(champion[k]) for k in keep if k in champion},
                  challenger_metrics={k: float(challenger[k]) for k in keep if k in challenger})
    if failures:
        return ChampionComparison(compared=True, replace=False,
                                  reason="champion kept: challenger is worse on " + "; ".join(failures), **common)
    return ChampionComparison(
        compared=True, replace=True,
        reason=(f"challenger replaces champion: accuracy {acc_gain:+.4f}, ece reduction {ece_gain:+.4f} "
                f"(min_improvement {min_improvement:+.4f})"),
        **common,
    )
