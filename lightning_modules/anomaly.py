"""Anomaly detection over sequences of action tokens, through the scikit-learn adapter."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from sklearn.base import BaseEstimator

from lightning_modules.sklearn_adapter import SklearnClassifierModule
from nethical.exceptions import ConfigError


class AnomalySequenceClassifier(SklearnClassifierModule):
    """Binary classifier over whitespace-separated action tokens (``read process write``, or system-call numbers).

    Each sequence becomes n-gram counts (``ngram_range`` tokens long, TF-IDF weighted with ``sublinear_tf`` unless
    ``tfidf=false``), and ``estimator`` — any probabilistic scikit-learn classifier, a logistic regression by default
    — scores them. N-grams capture *order* (``read exec`` differs from ``exec read``), which bag-of-token models
    miss.

    Variable lengths need no padding or truncation. Tokens never seen in training are ignored at prediction time, and
    an empty sequence (or one made only of unseen tokens) is an all-zero vector, which the estimator scores from its
    intercept — the base rate — instead of failing.

    Args:
        estimator: the classifier after the n-gram vectorizer (YAML ``class_path``/``init_args``).
        ngram_range: ``[min_n, max_n]`` token n-gram lengths, e.g. ``[1, 3]``.
        max_features: keep the most frequent n-grams only (``None`` = all).
        min_df: drop n-grams seen in fewer training sequences than this.
        tfidf: TF-IDF weighting (``True``) or raw counts (``False``).
        calibration: ``none``, ``sigmoid`` or ``isotonic`` (fitted on the calibration slice).
        ece_bins: equal-width bins for ECE.
    """

    model_type = "anomaly"
    input_kinds = ("sequence",)

    def __init__(
        self,
        estimator: Optional[BaseEstimator] = None,
        ngram_range: Sequence[int] = (1, 3),
        max_features: Optional[int] = 50000,
        min_df: int = 1,
        tfidf: bool = True,
        calibration: str = "none",
        ece_bins: int = 10,
    ) -> None:
        ngram = tuple(int(n) for n in ngram_range)
        if len(ngram) != 2 or not 1 <= ngram[0] <= ngram[1]:
            raise ConfigError(f"AnomalySequenceClassifier(ngram_range={list(ngram_range)}) must be [min_n, max_n] "
                              "with 1 <= min_n <= max_n, e.g. [1, 3].")
        if max_features is not None and max_features < 1:
            raise ConfigError(f"AnomalySequenceClassifier(max_features={max_features}) must be >= 1 or null.")
        if min_df < 1:
            raise ConfigError(f"AnomalySequenceClassifier(min_df={min_df}) must be >= 1.")
        super().__init__(estimator=estimator, calibration=calibration, ece_bins=ece_bins)
        self.ngram_range = ngram
        self.max_features = max_features
        self.min_df = min_df
        self.tfidf = tfidf

    def default_estimator(self) -> BaseEstimator:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=4.0, max_iter=2000, random_state=0)

    def vectorizer(self) -> Any:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        common = dict(token_pattern=r"\S+", lowercase=False, ngram_range=self.ngram_range,
                      max_features=self.max_features, min_df=self.min_df, dtype=np.float64)
        return TfidfVectorizer(sublinear_tf=True, **common) if self.tfidf else CountVectorizer(**common)

    def make_estimator(self, seed: int) -> Any:
        from sklearn.pipeline import Pipeline

        inner = super().make_estimator(seed)
        if isinstance(inner, Pipeline):  # the user gave a whole pipeline: use it as is
            return inner
        return Pipeline([("ngrams", self.vectorizer()), ("classifier", inner)])

    def estimator_config(self) -> Any:
        from lightning_modules.sklearn_adapter import estimator_to_config

        return {"vectorizer": estimator_to_config(self.vectorizer()), "classifier": estimator_to_config(self.estimator)}
