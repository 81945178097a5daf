"""Governance validation: real-time safety and ethics checks on texts, without Lightning.

Public API::

    from nethical.governance import GovernanceEngine, GovernanceConfig, ExtractionMonitor
    engine = GovernanceEngine(GovernanceConfig(block_severity="critical"))
    result = engine.scan("Card 4111 1111 1111 1111")   # ScanResult(decision, violations, truncated)
    results = engine.scan_many(texts, monitor=True)      # also watches the sequence for extraction probing

Rules plus a learned detector (P(harmful) and a category; the default one ships in the package)::

    from nethical.governance import load_detector
    engine = GovernanceEngine(detector=load_detector("default"))   # or a directory from `nethical governance train`

Nine categories (:data:`CATEGORIES`): ethical, safety, manipulation, dark_pattern, privacy, security,
cognitive_warfare, toxic, model_extraction. See ``docs/governance.md``.
"""

from nethical.governance.config import GovernanceConfig
from nethical.governance.detector import LearnedDetector, load_detector
from nethical.governance.engine import GovernanceEngine, coerce_text
from nethical.governance.extraction import ExtractionMonitor
from nethical.governance.violation import CATEGORIES, DECISIONS, SEVERITIES, ScanResult, Violation

__all__ = [
    "CATEGORIES",
    "DECISIONS",
    "SEVERITIES",
    "ExtractionMonitor",
    "GovernanceConfig",
    "GovernanceEngine",
    "LearnedDetector",
    "ScanResult",
    "Violation",
    "coerce_text",
    "load_detector",
]
