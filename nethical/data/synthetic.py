"""Seeded synthetic data for every model type.

All generators take ``(num_samples, seed, label_noise)`` and return rows in time order, so the same arguments always
give the same data. ``label_noise`` is the probability that a row's label is flipped after it was drawn: with
noise rate r, even a perfect model scores at most ``1 - r`` on average, and a calibrated model's probabilities stay
inside ``[r, 1 - r]``. That keeps the task honest: probabilities mean something and ECE is measurable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np

from nethical.exceptions import ConfigError

RISK_FEATURES = ("violation_count", "severity_max", "recency_score", "frequency_score", "context_risk")


@dataclass(frozen=True)
class TabularData:
    """A feature matrix with named columns and 0/1 labels."""

    features: np.ndarray  # float32 (n, f)
    labels: np.ndarray  # int64 (n,)
    feature_names: List[str]
    description: Dict[str, object] = field(default_factory=dict)


def _check(num_samples: int, label_noise: float) -> None:
    if num_samples < 1:
        raise ConfigError(f"num_samples={num_samples} must be >= 1.")
    if not 0.0 <= label_noise < 0.5:
        raise ConfigError(f"label_noise={label_noise} must be in [0, 0.5), e.g. 0.05.")


def _flip(labels: np.ndarray, label_noise: float, rng: np.random.Generator) -> np.ndarray:
    flip = rng.random(labels.shape[0]) < label_noise
    return np.where(flip, 1 - labels, labels).astype(np.int64)


def risk_features(num_samples: int, seed: int = 42, label_noise: float = 0.02) -> TabularData:
    """Tabular risk task for ``heuristic`` and ``logistic``.

    Each row describes an agent's recent behaviour: ``violation_count`` (Poisson), ``severity_max``,
    ``recency_score``, ``frequency_score`` and ``context_risk`` (all in [0, 1]). Risky and benign agents draw from
    overlapping distributions; the label is drawn from a logistic model of the features, then flipped with
    probability ``label_noise``.
    """
    _check(num_samples, label_noise)
    rng = np.random.default_rng(seed)
    latent = rng.random(num_samples)  # hidden riskiness of each agent
    violation_count = rng.poisson(0.5 + 6.0 * latent).astype(np.float64)
    severity_max = np.clip(rng.beta(2 + 6 * latent, 2 + 6 * (1 - latent)), 0, 1)
    recency_score = np.clip(0.3 * latent + 0.7 * rng.random(num_samples), 0, 1)
    frequency_score = np.clip(rng.normal(0.2 + 0.6 * latent, 0.15), 0, 1)
    context_risk = np.clip(rng.normal(0.5, 0.25, num_samples), 0, 1)
    logit = (
        0.55 * (violation_count - 3.5)
        + 5.0 * (severity_max - 0.5)
        + 1.5 * (recency_score - 0.5)
        + 4.0 * (frequency_score - 0.5)
        + 1.0 * (context_risk - 0.5)
    )
    labels = (rng.random(num_samples) < 1.0 / (1.0 + np.exp(-2.0 * logit))).astype(np.int64)
    features = np.stack([violation_count, severity_max, recency_score, frequency_score, context_risk], axis=1)
    return TabularData(
        features=features.astype(np.float32),
        labels=_flip(labels, label_noise, rng),
        feature_names=list(RISK_FEATURES),
        description={"task": "risk", "label_noise": label_noise, "seed": seed, "num_samples": num_samples},
    )


# task name -> (input kind, generator); model types pick their task in configs/<type>.yaml
SYNTHETIC_TASKS = {"risk": ("tabular", risk_features)}


def generate(task: str, num_samples: int, seed: int = 42, label_noise: float = 0.02) -> "PreparedData":
    """Synthetic rows for ``task`` as :class:`~nethical.data.prepared.PreparedData` with ``source: synthetic``."""
    from nethical.data.prepared import PreparedData

    if task not in SYNTHETIC_TASKS:
        raise ConfigError(f"synthetic task {task!r} is not known; use one of {', '.join(SYNTHETIC_TASKS)}.")
    kind, make = SYNTHETIC_TASKS[task]
    data = make(num_samples, seed=seed, label_noise=label_noise)
    provenance = {"source": "synthetic", "task": task, "seed": seed, "label_noise": label_noise, "num_samples": num_samples}
    if kind == "tabular":
        return PreparedData(kind=kind, labels=data.labels, features=data.features, feature_names=data.feature_names, provenance=provenance)
    return PreparedData(kind=kind, labels=data.labels, texts=list(data.texts), provenance=provenance)
