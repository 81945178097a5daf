"""The scikit-learn adapter: probabilities, fitting modes, NaN, saving without pickle, checkpoints."""

from __future__ import annotations

import json

import lightning.pytorch as pl
import numpy as np
import pytest
import skops.io as sio
import torch
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.svm import LinearSVC

from datamodules.synthetic import SyntheticDataModule
from lightning_modules.anomaly import AnomalySequenceClassifier
from lightning_modules.correlation import CorrelationClassifier
from lightning_modules.sklearn_adapter import SKOPS_FILE, SklearnClassifierModule, load_estimator_bytes
from nethical.exceptions import ConfigError, DataError, ModelLoadError


def _fit(model, task="agent_activity", epochs=1, n=400, **dm_kwargs):
    dm = SyntheticDataModule(task=task, num_samples=n, batch_size=64, seed=5, **dm_kwargs)
    trainer = pl.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=1, num_sanity_val_steps=0)
    trainer.fit(model, datamodule=dm)
    return trainer, dm


def test_probabilities_sum_to_one_and_argmax_equals_predict():
    model = CorrelationClassifier()
    trainer, dm = _fit(model)
    x = dm.split("val").features.astype(np.float64)
    proba = model.estimator_.predict_proba(x)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(model.estimator_.classes_[proba.argmax(axis=1)], model.estimator_.predict(x))
    p1 = model.predict_proba_split(dm, "val")
    assert np.allclose(p1, proba[:, 1]) and p1.shape == (80,)
    assert np.allclose(model.predict_proba(torch.from_numpy(x).float()).numpy(), p1, atol=1e-6)
    # the logged metric names match the torch models
    assert {"val/acc", "val/ece", "val/auroc", "val/f1", "train/loss"} <= set(trainer.callback_metrics)


def test_configured_estimator_is_cloned_never_mutated_and_random_state_seeded():
    est = SGDClassifier(loss="log_loss", random_state=None)
    before = est.get_params()
    model = SklearnClassifierModule(estimator=est)
    _fit(model, task="risk")
    assert est.get_params() == before and not hasattr(est, "coef_")
    assert model.estimator_ is not est and model.estimator_.random_state == 5  # the datamodule's seed


def test_partial_fit_learns_one_pass_per_epoch_and_one_shot_fit_stops_early():
    inc = SklearnClassifierModule(estimator=SGDClassifier(loss="log_loss", random_state=0))
    trainer, _ = _fit(inc, task="risk", epochs=3)
    assert inc.fit_mode_ == "partial_fit" and trainer.current_epoch == 3
    assert inc.estimator_.t_ > 1  # SGD saw updates from several epochs
    once = CorrelationClassifier()
    with pytest.warns(UserWarning, match="fitted once on the full training split"):
        trainer, _ = _fit(once, epochs=5)
    assert once.fit_mode_ == "fit" and trainer.current_epoch == 1


def test_estimator_without_probabilities_is_refused_and_decision_function_is_calibrated():
    with pytest.raises(ConfigError, match=r"estimator=KMeans\).*no predict_proba or decision_function"):
        SklearnClassifierModule(estimator=KMeans(n_clusters=2))
    model = SklearnClassifierModule(estimator=LinearSVC())
    _fit(model, task="risk")
    assert type(model.estimator_).__name__ == "CalibratedClassifierCV"
    dm = model.trainer.datamodule
    p = model.predict_proba_split(dm, "val")
    x = dm.tensors("val")["x"].numpy().astype(np.float64)
    assert np.allclose(p, model.estimator_.predict_proba(x)[:, 1])  # the calibrated decision_function, column of 1
    from nethical.metrics import auroc

    assert auroc(p, dm.labels("val")) > 0.8  # the probabilities rank the classes, not merely lie in [0, 1]


def test_nan_features_rejected_with_a_count_or_handled_natively():
    model = SklearnClassifierModule(estimator=LogisticRegression())
    model.build({"kind": "tabular", "feature_names": ["a", "b"]})
    x = np.array([[1.0, np.nan], [2.0, 3.0], [np.nan, np.nan]])
    with pytest.raises(DataError, match=r"2 of 3 rows in the input have missing \(NaN\) values \(columns \['a', 'b'\]\)"):
        model._check_finite(x, "the input")
    with pytest.raises(DataError, match="1 of 1 rows .* infinite"):
        model._check_finite(np.array([[np.inf, 0.0]]), "the input")
    hgb = CorrelationClassifier(estimator=HistGradientBoostingClassifier(max_iter=10))
    hgb.build({"kind": "tabular", "feature_names": ["a", "b"]})
    hgb._check_finite(x, "the input")  # HistGradientBoosting takes NaN: no error


def test_sequences_with_unseen_tokens_and_empty_sequences_are_scored():
    model = AnomalySequenceClassifier(ngram_range=[1, 2])
    _fit(model, task="action_sequences", n=500)
    p = model.predict_proba_rows([{"text": ""}, {"text": "zz_unknown qq_never_seen"}, {"text": "login read_file logout"},
                                  {"text": None}])
    assert p.shape == (4,) and np.all((p > 0) & (p < 1))
    assert p[0] == pytest.approx(p[1]) == pytest.approx(p[3])  # nothing known: the intercept (base rate) decides
    with pytest.raises(DataError, match=r"expects sequence strings in field 'text'; fields found: \['syscalls'\]"):
        model.predict_proba_rows([{"syscalls": "1 2 3"}])


def test_wrong_input_kind_names_expected_input_and_found_columns():
    with pytest.raises(DataError, match=r"'correlation' expects numeric feature columns, but the data provides text"):
        _fit(CorrelationClassifier(), task="short_requests")
    with pytest.raises(DataError, match=r"'anomaly' expects .*action tokens.*tabular input \(\['violation_count'"):
        _fit(AnomalySequenceClassifier(), task="risk")


def test_skops_save_load_round_trip_and_allow_list(tmp_path):
    model = AnomalySequenceClassifier(calibration="isotonic", ngram_range=(1, 2))
    _, dm = _fit(model, task="action_sequences", n=600, calibration_ratio=0.2)
    model.fit_calibration(dm)
    names = model.save_artifacts(tmp_path)
    assert names == [SKOPS_FILE]
    from nethical.fileio import sha256_file

    card = {"init_args": json.loads(json.dumps(model.init_args())), "input_spec": model.input_spec,
            "files": {SKOPS_FILE: sha256_file(tmp_path / SKOPS_FILE)}, **model.card_extras()}
    loaded = AnomalySequenceClassifier.load_saved(tmp_path, card)
    assert np.array_equal(loaded.predict_proba_split(dm, "val"), model.predict_proba_split(dm, "val"))
    assert tuple(loaded.init_args()["ngram_range"]) == (1, 2)  # a non-default value survives the round trip
    assert loaded.init_args()["calibration"] == "isotonic"
    # a file changed after saving is refused before skops reads it
    (tmp_path / SKOPS_FILE).write_bytes((tmp_path / SKOPS_FILE).read_bytes() + b"x")
    with pytest.raises(ModelLoadError, match="sha256"):
        AnomalySequenceClassifier.load_saved(tmp_path, card)
    # only the exact types of the supported estimators are trusted: a function is refused
    with pytest.raises(ModelLoadError, match="names types this project does not load"):
        load_estimator_bytes(sio.dumps({"f": json.dumps}), "test.skops")


def test_checkpoint_loads_with_weights_only_and_restores_the_estimator(tmp_path):
    model = CorrelationClassifier()
    trainer, dm = _fit(model)
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    assert "estimator" not in ckpt["hyper_parameters"] and ckpt["sklearn_estimator"]["skops"].dtype == torch.uint8
    fresh = CorrelationClassifier()
    fresh.on_load_checkpoint(ckpt)
    assert np.array_equal(fresh.predict_proba_split(dm, "val"), model.predict_proba_split(dm, "val"))
    ckpt["sklearn_estimator"]["sha256"] = "0" * 64
    with pytest.raises(ModelLoadError, match="sha256"):
        CorrelationClassifier().on_load_checkpoint(ckpt)
