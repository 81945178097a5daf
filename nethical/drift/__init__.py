"""Ethical drift tracking: per-cohort observations, an append-only cohort store and drift reports between cohorts.

Layers (no Lightning anywhere here):

* :mod:`nethical.drift.stats` — interval, test, ECE, PSI/KS/Jensen-Shannon and Holm functions.
* :mod:`nethical.drift.columns` — whole-split column profiles (counts, sketches) and the per-column drift tests.
* :mod:`nethical.drift.profile` — profiles of a training split (every column, the label) and data fingerprints.
* :mod:`nethical.drift.rows` — a cohort's validation rows kept for transfer tests.
* :mod:`nethical.drift.transfer` — an earlier cohort's saved model scored on a later cohort's rows.
* :mod:`nethical.drift.data_drift` — per-pair column tests, dataset summary and the causes of a difference.
* :mod:`nethical.drift.pictures` — metric and per-column pictures, the HTML page.
* :mod:`nethical.drift.observation` — :class:`CohortObservation`, built from the gate's ``promotion_decision``.
* :mod:`nethical.drift.store` — :class:`CohortStore` (``cohorts.jsonl``, locked, fsynced, append-only).
* :mod:`nethical.drift.report` — build/write/plot ``drift_<time>.json`` over the stored cohorts.
* :mod:`nethical.drift.cli` — ``nethical drift report``.
"""

from nethical.drift.observation import CohortObservation, observation_from_decision, validate_cohort_id
from nethical.drift.profile import data_fingerprint, summarize_features
from nethical.drift.pictures import columns_figure, metrics_figure, plot_columns, write_html
from nethical.drift.data_drift import column_drift
from nethical.drift.report import (
    DriftReportResult,
    build_report,
    generate_report,
    plot_report,
    summary_lines,
    write_report,
)
from nethical.drift.store import CohortStore, CohortStoreWarning

__all__ = [
    "CohortObservation",
    "CohortStore",
    "CohortStoreWarning",
    "DriftReportResult",
    "build_report",
    "column_drift",
    "columns_figure",
    "metrics_figure",
    "plot_columns",
    "write_html",
    "data_fingerprint",
    "generate_report",
    "observation_from_decision",
    "plot_report",
    "summarize_features",
    "summary_lines",
    "validate_cohort_id",
    "write_report",
]
