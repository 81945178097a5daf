"""What a governance scan returns: :class:`Violation` findings and one :class:`ScanResult` per input.

Both are frozen dataclasses of primitives, so they pickle, compare and serialise (``to_dict``) without surprises.
Evidence is always redacted by the detector that produced it: a violation never carries a raw card number, e-mail
address, phone number, SSN or IP address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

CATEGORIES = (
    "ethical",
    "safety",
    "manipulation",
    "dark_pattern",
    "privacy",
    "security",
    "cognitive_warfare",
    "toxic",
    "model_extraction",
)
SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES, start=1)}
DECISIONS = ("allow", "warn", "quarantine", "block")
DECISION_RANK = {name: rank for rank, name in enumerate(DECISIONS)}


@dataclass(frozen=True)
class Violation:
    """One finding of one detector.

    Attributes:
        category: one of :data:`CATEGORIES` (``privacy``, ``security``, ...).
        type: the specific kind inside the category (``pii_credit_card``, ``prompt_injection``, ...).
        severity: one of :data:`SEVERITIES`.
        confidence: in ``[0, 1]``; how sure the detector is that this is a real instance.
        span: ``(start, end)`` character offsets in the *normalised* text that was scanned (identical to the input
            when the input is ASCII without invisible characters); for findings inside a decoded base64 / hex /
            ROT13 payload, the span of the encoded payload.
        evidence: a short, redacted description of what matched (``card ****-****-****-8614 (Luhn valid)``).
        source: what raised it: ``rule`` (a rule, a PII validator, a decoder or the stream monitor; ``evidence`` is
            the redacted match) or ``model`` (the learned detector; ``score`` is its P(harmful)).
        score: the learned detector's P(harmful) for ``source == "model"``, else ``None``.
    """

    category: str
    type: str
    severity: str
    confidence: float
    span: tuple[int, int] = (0, 0)
    evidence: str = ""
    source: str = "rule"
    score: Optional[float] = None

    def to_dict(self, evidence: bool = True) -> dict[str, Any]:
        """JSON-ready dict; ``evidence=False`` keeps only category, type, severity and confidence."""
        out: dict[str, Any] = {
            "category": self.category,
            "type": self.type,
            "severity": self.severity,
            "confidence": round(float(self.confidence), 3),
            "source": self.source,
        }
        if self.score is not None:
            out["score"] = round(float(self.score), 4)
        if evidence:
            out["span"] = [int(self.span[0]), int(self.span[1])]
            out["evidence"] = self.evidence
        return out


@dataclass(frozen=True)
class ScanResult:
    """The decision for one input and the violations behind it.

    Attributes:
        decision: ``allow`` | ``warn`` | ``quarantine`` | ``block`` (see :class:`GovernanceConfig` thresholds).
        violations: every violation at or above ``GovernanceConfig.min_confidence``, strongest first.
        truncated: True when the input was longer than ``max_scan_chars`` and only its head and tail were scanned.
    """

    decision: str = "allow"
    violations: tuple[Violation, ...] = field(default_factory=tuple)
    truncated: bool = False

    @property
    def flagged(self) -> bool:
        """True when the decision is anything but ``allow``."""
        return self.decision != "allow"

    @property
    def categories(self) -> tuple[str, ...]:
        """Distinct categories of the violations, in order of first appearance."""
        return tuple(dict.fromkeys(v.category for v in self.violations))

    def to_dict(self, evidence: bool = True) -> dict[str, Any]:
        """JSON-ready dict with ``decision``, ``violations`` (and ``truncated`` when set)."""
        out: dict[str, Any] = {"decision": self.decision, "violations": [v.to_dict(evidence) for v in self.violations]}
        if self.truncated:
            out["truncated"] = True
        return out
