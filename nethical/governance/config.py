"""Thresholds and limits of the governance engine (:class:`GovernanceConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

from nethical.exceptions import ConfigError
from nethical.governance.violation import CATEGORIES, DECISION_RANK, SEVERITIES, SEVERITY_RANK, Violation


@dataclass(frozen=True)
class GovernanceConfig:
    """How violations turn into a decision, and how much work one input may cost.

    A violation counts towards a decision level when its severity is at least that level's ``*_severity`` and its
    confidence at least that level's ``*_confidence``; the decision is the highest level any violation reaches
    (``block`` > ``quarantine`` > ``warn`` > ``allow``). Violations below ``min_confidence`` are dropped entirely.

    Args:
        warn_severity / warn_confidence: lowest severity / confidence that makes an input ``warn``.
        quarantine_severity / quarantine_confidence: the same for ``quarantine``.
        block_severity / block_confidence: the same for ``block``.
        min_confidence: violations below this confidence are not reported at all.
        categories: categories to run (default: all nine).
        decode_depth: how many nested base64 / hex / ROT13 layers are decoded and rescanned (0 disables decoding).
        max_scan_chars: longer inputs are scanned on their first and last ``max_scan_chars // 2`` characters only
            (the result says ``truncated``), which bounds the cost of a 1 MB input.
        max_violations: at most this many violations are kept per input (strongest first).
        extraction_window: how many recent queries the stream monitor remembers.
        extraction_min_similar: near-duplicate queries inside the window that make the stream a probing pattern.
        jailbreak_sensitivity: ``high`` (default: two cue groups adding up to 0.5, or one strong cue; meets the
            recall target on persona jailbreaks and flags some role-play set-ups such as "act as a villain, you are
            evil and rude") or ``standard`` (cues must add up to 0.8: lower recall, role-play set-ups unflagged;
            for training data full of role-play instructions). Measured in docs/benchmarks.md.

    Raises:
        ConfigError: for an unknown severity or category, or a confidence outside ``[0, 1]``.
    """

    warn_severity: str = "low"
    warn_confidence: float = 0.5
    quarantine_severity: str = "medium"
    quarantine_confidence: float = 0.7
    block_severity: str = "high"
    block_confidence: float = 0.85
    min_confidence: float = 0.5
    categories: frozenset = field(default_factory=lambda: frozenset(CATEGORIES))
    decode_depth: int = 2
    max_scan_chars: int = 200_000
    max_violations: int = 32
    extraction_window: int = 200
    extraction_min_similar: int = 8
    jailbreak_sensitivity: str = "high"

    def __post_init__(self) -> None:
        for name in ("warn_severity", "quarantine_severity", "block_severity"):
            value = getattr(self, name)
            if value not in SEVERITY_RANK:
                raise ConfigError(f"GovernanceConfig({name}={value!r}) is not a severity. Valid: {list(SEVERITIES)}.")
        for name in ("warn_confidence", "quarantine_confidence", "block_confidence", "min_confidence"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"GovernanceConfig({name}={value!r}) must be a number within [0, 1].")
        cats = frozenset(self.categories) if not isinstance(self.categories, str) else frozenset([self.categories])
        unknown = sorted(cats - set(CATEGORIES))
        if unknown:
            raise ConfigError(f"GovernanceConfig(categories=...) has unknown {unknown}. Valid: {list(CATEGORIES)}.")
        object.__setattr__(self, "categories", cats)
        for name in ("decode_depth", "max_scan_chars", "max_violations", "extraction_window", "extraction_min_similar"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0 or (name != "decode_depth" and value == 0):
                raise ConfigError(f"GovernanceConfig({name}={value!r}) must be a positive integer.")
        if self.jailbreak_sensitivity not in ("standard", "high"):
            raise ConfigError(f"GovernanceConfig(jailbreak_sensitivity={self.jailbreak_sensitivity!r}) must be "
                              f"'standard' or 'high'.")
        if self.max_scan_chars < 1000:
            raise ConfigError(f"GovernanceConfig(max_scan_chars={self.max_scan_chars}) must be at least 1000.")

    @cached_property
    def _levels(self) -> tuple[tuple[str, int, float], ...]:
        """(decision, minimum severity rank, minimum confidence), strictest first; computed once per config."""
        return (
            ("block", SEVERITY_RANK[self.block_severity], self.block_confidence),
            ("quarantine", SEVERITY_RANK[self.quarantine_severity], self.quarantine_confidence),
            ("warn", SEVERITY_RANK[self.warn_severity], self.warn_confidence),
        )

    def decide(self, violations: Iterable[Violation]) -> str:
        """The decision (``allow`` ... ``block``) that ``violations`` lead to under these thresholds."""
        levels = self._levels
        best = "allow"
        for v in violations:
            rank = SEVERITY_RANK.get(v.severity, 1)
            for name, min_rank, min_conf in levels:
                if rank >= min_rank and v.confidence >= min_conf:
                    if DECISION_RANK[name] > DECISION_RANK[best]:
                        best = name
                    break
            if best == "block":
                break
        return best
