"""One cohort observation: what one run recorded for one trained model type, and how it is built and checked.

An observation is built from the promotion gate's ``promotion_decision`` facts (metrics, confusion counts, per-bin
calibration counts, thresholds, decision) plus the cohort id, run id, timestamp and the training data's provenance
and feature profile. It is one JSON line of the cohort store (:mod:`nethical.drift.store`).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Optional

from nethical.drift.stats import ece_from_bins
from nethical.exceptions import ConfigError

SCHEMA_VERSION = 2  # 2: whole-split column profiles, model/rows/config for transfer and causes
MAX_COHORT_ID_LENGTH = 128
SEVERITIES = ("low", "medium", "high", "critical")
RISK_LEVELS = ("low", "medium", "high", "critical")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def validate_cohort_id(cohort_id: Any, component: str = "cohort_id") -> str:
    """Return ``cohort_id`` unchanged if it is safe to use as a name inside the report directory.

    Rejected: non-strings, empty or whitespace-only ids, ids longer than 128 characters, ``/``, ``\\``, ``..``,
    control/format characters (including newlines and bidi overrides), leading/trailing whitespace, ``.``-only
    names and Windows device names.

    Raises:
        ConfigError: one line naming the bad value and the fix.
    """
    hint = "Use letters, digits, '-', '_' or '.', e.g. --cohort-id baseline_v2."
    if not isinstance(cohort_id, str):
        raise ConfigError(f"{component}={cohort_id!r}: a cohort id must be a string. {hint}")
    if not cohort_id.strip():
        raise ConfigError(f"{component}={cohort_id!r}: a cohort id must not be empty. {hint}")
    if len(cohort_id) > MAX_COHORT_ID_LENGTH:
        raise ConfigError(
            f"{component}={cohort_id[:20]!r}...: a cohort id is at most {MAX_COHORT_ID_LENGTH} characters "
            f"(got {len(cohort_id)}). {hint}"
        )
    if "/" in cohort_id or "\\" in cohort_id:
        raise ConfigError(f"{component}={cohort_id!r}: path separators are not allowed in a cohort id. {hint}")
    if ".." in cohort_id or cohort_id.strip(".") == "":
        raise ConfigError(f"{component}={cohort_id!r}: '..' is not allowed in a cohort id. {hint}")
    bad = [c for c in cohort_id if unicodedata.category(c).startswith("C")]
    if bad:
        raise ConfigError(
            f"{component}={cohort_id!r}: control characters {sorted({hex(ord(c)) for c in bad})} are not allowed "
            f"in a cohort id. {hint}"
        )
    if cohort_id != cohort_id.strip():
        raise ConfigError(f"{component}={cohort_id!r}: leading or trailing whitespace is not allowed. {hint}")
    if _WINDOWS_RESERVED.match(cohort_id):
        raise ConfigError(f"{component}={cohort_id!r}: this is a reserved device name. {hint}")
    return cohort_id


def severity_for_miss(value: float, threshold: float) -> str:
    """Severity of missing ``threshold`` by ``|value - threshold|``, relative to the threshold.

    Relative miss below 10% is ``low``, below 25% ``medium``, below 50% ``high``, otherwise ``critical``
    (e.g. max ECE 0.10: ECE 0.105 → low, 0.12 → medium, 0.14 → high, 0.2 → critical; min accuracy 0.8:
    0.75 → low, 0.7 → medium, 0.5 → high, 0.35 → critical).
    """
    relative = abs(value - threshold) / max(abs(threshold), 1e-12)
    if relative < 0.10:
        return "low"
    if relative < 0.25:
        return "medium"
    if relative < 0.50:
        return "high"
    return "critical"


def risk_level(risk_score: float) -> str:
    """Bucket of a risk score (1 − accuracy): <0.2 low, <0.4 medium, <0.6 high, else critical."""
    if risk_score < 0.2:
        return "low"
    if risk_score < 0.4:
        return "medium"
    if risk_score < 0.6:
        return "high"
    return "critical"


def violations_from_decision(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Violations of a failed promotion gate: ``calibration_error`` and/or ``low_accuracy`` with severities.

    Violations are threshold misses, whatever the final decision. A model kept as candidate only because the current
    champion is better (``champion_comparison.replace`` false) has none: it passed the gate. A model that was not
    promoted for another reason gets one ``gate_failed`` violation carrying the gate's reasons.
    """
    metrics = facts.get("metrics") or {}
    thresholds = facts.get("thresholds") or {}
    out: list[dict[str, Any]] = []
    ece, max_ece = metrics.get("ece"), thresholds.get("max_ece")
    if _num(ece) and _num(max_ece) and float(ece) > float(max_ece):
        out.append(
            {
                "type": "calibration_error",
                "severity": severity_for_miss(float(ece), float(max_ece)),
                "metric": "ece",
                "value": float(ece),
                "threshold": float(max_ece),
                "miss": float(ece) - float(max_ece),
            }
        )
    acc, min_acc = metrics.get("accuracy"), thresholds.get("min_accuracy")
    if _num(acc) and _num(min_acc) and float(acc) < float(min_acc):
        out.append(
            {
                "type": "low_accuracy",
                "severity": severity_for_miss(float(acc), float(min_acc)),
                "metric": "accuracy",
                "value": float(acc),
                "threshold": float(min_acc),
                "miss": float(min_acc) - float(acc),
            }
        )
    if out or facts.get("promoted", False):
        return out
    champion = facts.get("champion_comparison")
    if isinstance(champion, Mapping) and champion.get("replace") is False:
        return out
    return [{"type": "gate_failed", "severity": "low", "reasons": [str(r) for r in facts.get("reasons", []) or []]}]


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def observation_id_for(cohort_id: str, run_id: str, model_type: str) -> str:
    """Stable id of the observation one run records for one model type in one cohort (dedup key)."""
    text = "\0".join((cohort_id, run_id, model_type))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class CohortObservation:
    """One line of the cohort store (treat the dict fields as read-only).

    Attributes:
        cohort_id: validated cohort name.
        run_id: id of the command that trained the model (``callbacks.events.get_run_id()``).
        model_type: e.g. ``"logistic"``.
        timestamp: ISO-8601 UTC time the observation was recorded.
        validation_size: examples scored by the gate (``counts["n"]``).
        accuracy, precision, recall, f1, ece: the gate's metrics.
        auroc, loss: optional further metrics.
        counts: ``{"tp", "fp", "tn", "fn", "n"}`` behind the metrics.
        calibration_bins: ``{"n_bins", "count", "sum_prob", "sum_pos"}`` behind the ECE.
        risk_score: ``1 - accuracy``.
        promoted, decision, reasons, thresholds: the gate's result.
        violations: from :func:`violations_from_decision`.
        data_fingerprint: sha256 of the training set (see :func:`nethical.drift.profile.data_fingerprint`).
        provenance: the datamodule's provenance dict.
        split_sizes: ``{"train", "val", "calibration"}`` sizes.
        feature_profile: :func:`nethical.drift.profile.summarize_features` of the training split (every row; the
            label's class balance as ``__label__``).
        model_dir: the directory the promotion gate saved the model in (``saved_dir``); ``models_dir`` its root,
            searched by run id when the model has moved (e.g. a replaced champion in ``archive/``).
        rows_file, rows_sha256: the validation rows kept for transfer tests (:mod:`nethical.drift.rows`).
        config_hash, config: sha256 and summary of the model configuration (class, init args, epochs).
        observation_id: dedup key (:func:`observation_id_for`).
        schema: store line format version.
    """

    cohort_id: str
    run_id: str
    model_type: str
    timestamp: str
    validation_size: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    ece: float
    counts: dict
    calibration_bins: dict
    risk_score: float
    promoted: bool
    decision: str
    reasons: tuple = ()
    thresholds: dict = field(default_factory=dict)
    violations: tuple = ()
    auroc: Optional[float] = None
    loss: Optional[float] = None
    data_fingerprint: Optional[str] = None
    provenance: dict = field(default_factory=dict)
    split_sizes: dict = field(default_factory=dict)
    feature_profile: dict = field(default_factory=dict)
    model_dir: Optional[str] = None
    models_dir: Optional[str] = None
    rows_file: Optional[str] = None
    rows_sha256: Optional[str] = None
    config_hash: Optional[str] = None
    config: dict = field(default_factory=dict)
    observation_id: str = ""
    schema: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        validate_cohort_id(self.cohort_id)
        c = self.counts
        try:
            tp, fp, tn, fn = (int(c[k]) for k in ("tp", "fp", "tn", "fn"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"CohortObservation(counts={c!r}) needs integer tp, fp, tn and fn.") from exc
        if min(tp, fp, tn, fn) < 0:
            raise ValueError(f"CohortObservation(counts={c!r}) must not hold negative counts.")
        if int(c.get("n", tp + fp + tn + fn)) != tp + fp + tn + fn:
            raise ValueError(f"CohortObservation(counts={c!r}): n must equal tp + fp + tn + fn.")
        for key in ("count", "sum_prob", "sum_pos"):
            if key not in self.calibration_bins:
                raise ValueError(f"CohortObservation(calibration_bins) lacks {key!r}.")
        if not self.observation_id:
            object.__setattr__(self, "observation_id", observation_id_for(self.cohort_id, self.run_id, self.model_type))

    @property
    def tp(self) -> int:
        return int(self.counts["tp"])

    @property
    def fp(self) -> int:
        return int(self.counts["fp"])

    @property
    def tn(self) -> int:
        return int(self.counts["tn"])

    @property
    def fn(self) -> int:
        return int(self.counts["fn"])

    @property
    def gate_passed(self) -> bool:
        """True when the gate's criteria were met (no violations), even if a better champion was kept."""
        return not self.violations

    @property
    def train_size(self) -> Optional[int]:
        value = self.split_sizes.get("train")
        return int(value) if isinstance(value, (int, float)) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable dict (tuples become lists)."""
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        d["violations"] = [dict(v) for v in self.violations]
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CohortObservation":
        """Inverse of :meth:`to_dict`; unknown keys (from newer writers) are ignored.

        Raises:
            ValueError: missing or malformed fields (ConfigError for a bad cohort id).
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"an observation must be a JSON object, got {type(data).__name__}.")
        known = set(cls.__dataclass_fields__)
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["reasons"] = tuple(kwargs.get("reasons") or ())
        kwargs["violations"] = tuple(dict(v) for v in (kwargs.get("violations") or ()))
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ValueError(f"observation is missing fields ({exc}).") from exc


def observation_from_decision(
    facts: Mapping[str, Any],
    *,
    cohort_id: str,
    run_id: str,
    timestamp: str,
    provenance: Optional[Mapping[str, Any]] = None,
    split_sizes: Optional[Mapping[str, int]] = None,
    feature_profile: Optional[Mapping[str, Any]] = None,
    data_fingerprint: Optional[str] = None,
    models_dir: Optional[str] = None,
    config: Optional[Mapping[str, Any]] = None,
    observation_id: str = "",
    rows_file: Optional[str] = None,
    rows_sha256: Optional[str] = None,
) -> CohortObservation:
    """Build an observation from ``promotion_decision`` facts (see the contracts of the promotion gate).

    Args:
        facts: the event's facts: ``model_type``, ``promoted``, ``decision``, ``reasons``, ``metrics``,
            ``thresholds``, ``counts``, ``calibration_bins``, optionally ``data_source``.
        cohort_id: validated cohort id.
        run_id: run id of the command.
        timestamp: ISO-8601 time of the observation.
        provenance: the training data's provenance (defaults to ``facts["data_source"]``).
        split_sizes: split sizes of the datamodule.
        feature_profile: output of :func:`nethical.drift.profile.summarize_features`.
        data_fingerprint: training-set fingerprint (see :func:`nethical.drift.profile.data_fingerprint`).
        models_dir: root of the model registry (the model directory itself comes from ``facts["saved_dir"]``).
        config: model configuration summary; its sha256 becomes ``config_hash``.
        observation_id, rows_file, rows_sha256: set when the validation rows were stored beforehand.

    Raises:
        ValueError: the facts lack counts or calibration bins.
    """
    metrics = facts.get("metrics") or {}
    counts = {k: int(v) for k, v in (facts.get("counts") or {}).items()}
    if not all(k in counts for k in ("tp", "fp", "tn", "fn")):
        raise ValueError(f"promotion_decision facts lack confusion counts (got counts={facts.get('counts')!r}).")
    counts.setdefault("n", counts["tp"] + counts["fp"] + counts["tn"] + counts["fn"])
    n = counts["n"]
    tp, fp, tn, fn = counts["tp"], counts["fp"], counts["tn"], counts["fn"]
    accuracy = _metric(metrics, "accuracy", (tp + tn) / n if n else float("nan"))
    bins = dict(facts.get("calibration_bins") or {})
    return CohortObservation(
        cohort_id=validate_cohort_id(cohort_id),
        run_id=str(run_id),
        model_type=str(facts.get("model_type", "unknown")),
        timestamp=str(timestamp),
        validation_size=int(n),
        accuracy=accuracy,
        precision=_metric(metrics, "precision", tp / (tp + fp) if tp + fp else 0.0),
        recall=_metric(metrics, "recall", tp / (tp + fn) if tp + fn else 0.0),
        f1=_metric(metrics, "f1", 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0),
        ece=_metric(metrics, "ece", _ece_or_nan(bins)),
        auroc=_optional(metrics.get("auroc")),
        loss=_optional(metrics.get("loss")),
        counts=counts,
        calibration_bins=bins,
        risk_score=1.0 - accuracy,
        promoted=bool(facts.get("promoted", False)),
        decision=str(facts.get("decision", "PROMOTED" if facts.get("promoted") else "CANDIDATE")),
        reasons=tuple(str(r) for r in facts.get("reasons", ()) or ()),
        thresholds={k: float(v) for k, v in (facts.get("thresholds") or {}).items() if _num(v)},
        violations=tuple(violations_from_decision(facts)),
        data_fingerprint=data_fingerprint,
        provenance=dict(provenance if provenance is not None else (facts.get("data_source") or {})),
        split_sizes={k: int(v) for k, v in (split_sizes or {}).items()},
        feature_profile=dict(feature_profile or {}),
        model_dir=str(facts["saved_dir"]) if facts.get("saved_dir") else None,
        models_dir=str(models_dir) if models_dir else None,
        rows_file=rows_file,
        rows_sha256=rows_sha256,
        config_hash=config_hash(config) if config else None,
        config=dict(config or {}),
        observation_id=observation_id,
    )


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of a configuration summary (canonical JSON, keys sorted)."""
    import json

    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _metric(metrics: Mapping[str, Any], key: str, default: float) -> float:
    value = metrics.get(key)
    return float(value) if _num(value) else float(default)


def _ece_or_nan(bins: Mapping[str, Any]) -> float:
    try:
        return ece_from_bins(bins)
    except (KeyError, ValueError):
        return float("nan")


def _optional(value: Any) -> Optional[float]:
    return float(value) if _num(value) else None
