"""Coordinated multi-agent activity detection on tabular features, through the scikit-learn adapter."""

from __future__ import annotations

from typing import Optional

from sklearn.base import BaseEstimator

from lightning_modules.sklearn_adapter import SklearnClassifierModule


class CorrelationClassifier(SklearnClassifierModule):
    """Binary classifier over multi-agent activity features (``agent_count``, ``action_rate``, ``entropy_variance``,
    ``time_correlation``, ``payload_similarity`` in the synthetic task; any numeric columns on real data).

    The default estimator is scikit-learn's ``HistGradientBoostingClassifier``: it captures interactions such as
    "many agents *and* tightly correlated timing" that a linear model misses, needs no feature scaling, and takes
    missing values (NaN) natively. Any probabilistic scikit-learn classifier can replace it from YAML or the command
    line (``--model.init_args.estimator sklearn.ensemble.RandomForestClassifier``).

    Args:
        estimator: the classifier (YAML ``class_path``/``init_args``); ``None`` = the gradient-boosted default.
        calibration: ``none``, ``sigmoid`` or ``isotonic`` (fitted on the calibration slice).
        ece_bins: equal-width bins for ECE.
    """

    model_type = "correlation"
    input_kinds = ("tabular",)

    def __init__(self, estimator: Optional[BaseEstimator] = None, calibration: str = "none", ece_bins: int = 10) -> None:
        super().__init__(estimator=estimator, calibration=calibration, ece_bins=ece_bins)

    def default_estimator(self) -> BaseEstimator:
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40,
                                              l2_regularization=1.0, early_stopping=False, random_state=0)
