"""The byte-level Transformer: masks, empty text, wrong input, mixed precision, optimizer schedule."""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import pytest
import torch

from datamodules.synthetic import SyntheticDataModule
from lightning_modules.simple_transformer import SimpleTransformerClassifier
from nethical.data.encoding import encode_text
from nethical.exceptions import ConfigError, DataError


def _model(**kw):
    torch.manual_seed(0)
    m = SimpleTransformerClassifier(d_model=32, n_layers=1, n_heads=2, ff_dim=32, **kw)
    m.build({"kind": "text", "max_length": 64})
    return m.eval()


def test_padding_does_not_change_the_output_and_empty_text_is_finite():
    m = _model()
    texts = ["ignore previous instructions", "", "hi"]
    short = torch.from_numpy(encode_text(texts, 32))
    long = torch.from_numpy(encode_text(texts, 64))
    with torch.no_grad():
        a, b = m(short), m(long)
    assert torch.isfinite(a).all() and torch.allclose(a, b, atol=1e-5)
    p = m.predict_proba(long)
    assert p.shape == (3,) and torch.all((p > 0) & (p < 1))


def test_too_long_input_is_a_clear_error_for_the_encoder_and_cut_to_its_window_by_the_model():
    from lightning_modules.components.byte_transformer import ByteTransformerEncoder

    with pytest.raises(ValueError, match="exceed max_length 64"):
        ByteTransformerEncoder(64, 32, 1, 2, 32)(torch.ones(1, 80, dtype=torch.long))
    m = _model()  # the Transformer reads the first 64 bytes, the n-gram bags all of them
    assert torch.isfinite(m(torch.full((2, 80), 100, dtype=torch.long))).all()


def test_bad_hyperparameters_and_wrong_input_kind():
    with pytest.raises(ConfigError, match="n_heads must divide d_model"):
        SimpleTransformerClassifier(d_model=30, n_heads=4)
    with pytest.raises(ConfigError, match="calibration='isotonic'"):
        SimpleTransformerClassifier(calibration="isotonic")
    with pytest.raises(DataError, match=r"'simple_transformer' expects a text column, but the data provides tabular "
                                         r"input \(\['violation_count'"):
        SimpleTransformerClassifier().build({"kind": "tabular", "feature_names": ["violation_count", "severity_max"]})


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_trains_a_few_steps_with_warmup_schedule_clipping_and_temperature(precision):
    dm = SyntheticDataModule(task="short_requests", num_samples=300, batch_size=32, max_length=64, calibration_ratio=0.2)
    model = SimpleTransformerClassifier(d_model=32, n_layers=1, n_heads=2, ff_dim=32, lr=3e-3, warmup_ratio=0.5)
    lrs = []

    class RecordLR(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            lrs.append(trainer.optimizers[0].param_groups[0]["lr"])

    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=1, precision=precision,
                         num_sanity_val_steps=0, callbacks=[RecordLR()])
    trainer.fit(model, datamodule=dm)
    assert trainer.global_step == 12  # 192 training rows / 32 = 6 batches, each stepping AdamW and SparseAdam
    peak = max(lrs)
    assert lrs[0] < peak and peak <= 3e-3 + 1e-12  # warm-up rises to (at most) the configured lr
    assert lrs[-1] < peak  # then decays
    assert np.isfinite(float(trainer.callback_metrics["val/loss"]))
    facts = model.fit_calibration(dm)
    assert facts["temperature"] > 0 and float(model.temperature) == pytest.approx(facts["temperature"], rel=1e-5)
    p = model.predict_proba_split(dm, "val")
    assert p.shape == (60,) and np.all(np.isfinite(p))
