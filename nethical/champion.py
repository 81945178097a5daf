"""Champion and challenger: does a newly gated model replace the one in ``<models_dir>/current/<type>/``?

A model that passes the promotion gate is the *challenger*; the *champion* is the current model of that type. The
decision, in order:

1. **Which dataset.** Every card carries a data fingerprint (:mod:`nethical.fingerprint`) naming its dataset. A
   challenger trained on another dataset than the champion is never compared on numbers and never replaces it
   silently: it is saved as a candidate with that reason, unless ``on_new_dataset="replace"``. Two exceptions keep
   the synthetic demo out of the way: a champion trained on synthetic demo data yields to the first model trained on
   real data (archived, with that reason), and a synthetic challenger never replaces a champion trained on real data.
2. **Identical model.** When the challenger's weights hash equals the champion's, nothing is saved or moved.
3. **Same rows, never the champion's own.** Both models are scored on the challenger's validation rows minus every
   row the champion trained on (its card lists the hashes of its training rows); with fewer than
   :data:`MIN_COMPARE_ROWS` rows (or fewer than :data:`MIN_COMPARE_CLASS_ROWS` of either class) left, the
   comparison is skipped with that reason and the champion stays.
4. **A paired test** (:func:`nethical.intervals.paired_compare`) at confidence level ``c`` (default 95%,
   ``alpha = 1 - c``): accuracy by McNemar's exact test, ECE by the paired bootstrap interval of the reduction
   ``ece_champion - ece_challenger``. The challenger is

   * *better on accuracy* when McNemar's p < alpha, it is right on more of the disagreeing rows, and the accuracy
     gain >= ``min_improvement``;
   * *better on ECE* when the whole interval of the ECE reduction is above 0 and the reduction >= ``min_improvement``;
   * *worse* on a metric when the test says so the other way (p < alpha and fewer right; the interval wholly below 0).

   It **replaces** the champion when it is better on at least one metric and worse on none (the old champion moves
   to ``archive/``). When it is worse on any metric, the champion is kept. Otherwise the difference is inside the
   noise: a **tie**, and the champion is kept without archiving anything (the challenger is saved as a candidate).

``min_improvement`` (default 0) is a margin on top of significance: a significant gain smaller than it does not
replace the champion. A negative value switches to "prefer the newer model": the challenger replaces the champion
unless it is significantly worse by more than ``|min_improvement|`` (ties replace).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from nethical.exceptions import ConfigError
from nethical.intervals import PairedResult

MIN_COMPARE_ROWS = 30
MIN_COMPARE_CLASS_ROWS = 5
ON_NEW_DATASET = ("keep", "replace")

# outcomes recorded in the card
NO_CHAMPION, NOT_COMPARABLE, REPLACE, TIE, WORSE, IDENTICAL, OTHER_DATASET, SKIPPED = (
    "no_champion", "not_comparable", "replace", "tie", "worse", "identical", "other_dataset", "skipped")


@dataclass(frozen=True)
class ChampionComparison:
    """The outcome of one champion/challenger comparison, as recorded in the model card."""

    compared: bool
    replace: bool
    reason: str
    outcome: str = REPLACE
    min_improvement: float = 0.0
    champion_run_id: Optional[str] = None
    champion_metrics: Dict[str, float] = field(default_factory=dict)
    challenger_metrics: Dict[str, float] = field(default_factory=dict)
    paired_test: Optional[Dict[str, Any]] = None
    rows: Optional[Dict[str, int]] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def check_min_improvement(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or not -1.0 <= value <= 1.0:
        raise ConfigError(f"min_improvement={value!r} must be within [-1, 1] (--min-improvement); 0 means 'significantly "
                          "better on one metric and worse on none'.")
    return float(value)


def check_on_new_dataset(value: str) -> str:
    if value not in ON_NEW_DATASET:
        raise ConfigError(f"on_new_dataset={value!r} must be one of {', '.join(ON_NEW_DATASET)} (--on-new-dataset).")
    return value


def no_champion(reason: str = "no champion of this type yet") -> ChampionComparison:
    return ChampionComparison(compared=False, replace=True, reason=reason, outcome=NO_CHAMPION)


def not_comparable(reason: str, champion_run_id: Optional[str] = None) -> ChampionComparison:
    """The champion (same dataset) cannot score the new data: the gate decides alone (the challenger replaces it)."""
    return ChampionComparison(compared=False, replace=True, champion_run_id=champion_run_id, outcome=NOT_COMPARABLE,
                              reason=f"champion cannot score this validation data ({reason}); decided by the gate alone")


def skipped(reason: str, champion_run_id: Optional[str] = None) -> ChampionComparison:
    """Too few fair rows to compare on: the champion stays."""
    return ChampionComparison(compared=False, replace=False, champion_run_id=champion_run_id, outcome=SKIPPED,
                              reason=f"champion kept, comparison skipped: {reason}")


def identical(champion_run_id: Optional[str], digest: str) -> ChampionComparison:
    return ChampionComparison(compared=False, replace=False, champion_run_id=champion_run_id, outcome=IDENTICAL,
                              reason=f"identical to the champion (same weights sha256 {digest[:12]}…): nothing changed")


def other_dataset(champion_fp: Dict[str, Any], challenger_fp: Dict[str, Any], policy: str = "keep",
                  champion_run_id: Optional[str] = None) -> ChampionComparison:
    """Champion and challenger were trained on different datasets (names, or schema / label mapping)."""
    check_on_new_dataset(policy)
    old, new = champion_fp.get("dataset"), challenger_fp.get("dataset")
    old_demo, new_demo = champion_fp.get("source") == "synthetic", challenger_fp.get("source") == "synthetic"
    what = (f"dataset {new!r}" if old != new else f"dataset {new!r} with another schema or label mapping")
    if old_demo and not new_demo:
        return ChampionComparison(compared=False, replace=True, champion_run_id=champion_run_id, outcome=OTHER_DATASET,
                                  reason=f"the synthetic demo champion ({old!r}) yields to the first model trained on "
                                         f"real data ({what}); it is archived")
    if new_demo and not old_demo:
        return ChampionComparison(compared=False, replace=False, champion_run_id=champion_run_id, outcome=OTHER_DATASET,
                                  reason=f"champion kept: it was trained on real data ({old!r}) and this run on "
                                         f"synthetic demo data ({new!r}), which never replaces it")
    if policy == "replace":
        return ChampionComparison(compared=False, replace=True, champion_run_id=champion_run_id, outcome=OTHER_DATASET,
                                  reason=f"champion trained on dataset {old!r} replaced by a model trained on {what} "
                                         "(on_new_dataset=replace); it is archived")
    return ChampionComparison(
        compared=False, replace=False, champion_run_id=champion_run_id, outcome=OTHER_DATASET,
        reason=(f"champion kept: it was trained on dataset {old!r} and this run on {what}; a model trained on another "
                "dataset never replaces it silently (pass --on-new-dataset replace / --gate.on_new_dataset replace to "
                "replace it, or another --models-dir to keep one champion per dataset)"))


def decide(paired: PairedResult, min_improvement: float = 0.0, champion_run_id: Optional[str] = None,
           champion_metrics: Optional[Dict[str, float]] = None, challenger_metrics: Optional[Dict[str, float]] = None,
           rows: Optional[Dict[str, int]] = None) -> ChampionComparison:
    """Apply the paired-test rule of the module docstring to a :class:`~nethical.intervals.PairedResult`."""
    m = check_min_improvement(min_improvement)
    alpha = 1.0 - paired.confidence
    level = f"{paired.confidence * 100:g}%"
    acc_sig = paired.mcnemar_p < alpha
    more_right = paired.challenger_only_right > paired.champion_only_right
    gain, red = paired.accuracy_gain, paired.ece_reduction
    lo, hi = paired.ece_reduction_low, paired.ece_reduction_high
    acc_text = (f"accuracy {gain:+.5f} (challenger right on {paired.challenger_only_right}, champion on "
                f"{paired.champion_only_right} of the rows they disagree on; McNemar p={paired.mcnemar_p:.4g})")
    ece_text = f"ece reduction {red:+.5f} ({level} paired bootstrap interval [{lo:+.5f}, {hi:+.5f}])"
    if m >= 0:
        acc_better = acc_sig and more_right and gain >= m
        ece_better = lo > 0 and red >= m
        acc_worse = acc_sig and not more_right and paired.challenger_only_right != paired.champion_only_right
        ece_worse = hi < 0
    else:  # prefer the newer model unless it is significantly worse by more than |m|
        acc_worse = acc_sig and not more_right and gain < m
        ece_worse = hi < m
        acc_better = ece_better = not (acc_worse or ece_worse)
    common = dict(compared=True, min_improvement=m, champion_run_id=champion_run_id,
                  champion_metrics=dict(champion_metrics or {}), challenger_metrics=dict(challenger_metrics or {}),
                  paired_test=paired.to_dict(), rows=rows)
    on = f" on {paired.rows} rows"
    if acc_worse or ece_worse:
        worse: List[str] = ([acc_text] if acc_worse else []) + ([ece_text] if ece_worse else [])
        return ChampionComparison(replace=False, outcome=WORSE, **common,
                                  reason=f"champion kept: challenger is significantly worse{on}: " + "; ".join(worse))
    if acc_better or ece_better:
        margin = "" if m == 0 else f", min_improvement {m:+g}"
        return ChampionComparison(replace=True, outcome=REPLACE, **common,
                                  reason=f"challenger replaces champion{on}: {acc_text}; {ece_text}{margin}")
    margin = "" if m == 0 else f" or smaller than min_improvement {m:+g}"
    return ChampionComparison(replace=False, outcome=TIE, **common,
                              reason=f"tie, champion kept (nothing archived): the difference{on} is within the noise"
                                     f"{margin}: {acc_text}; {ece_text}")
