"""Several mini-batches per Lightning step (lightning_modules/fast_steps.py) train exactly what one mini-batch per
step trains: same weights, same optimizer step count, same metrics, and an exact resume from the middle of an epoch."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from datamodules.synthetic import SyntheticDataModule
from lightning_modules.heuristic import HeuristicScorecard
from lightning_modules.logistic import LogisticClassifier

ROWS, BATCH = 1500, 32  # 1200 training rows = 38 mini-batches per epoch, the last one short (16 rows)
PER_STEP_ROWS = 320     # 10 mini-batches per Lightning step: 4 items per epoch, the last one with 8 mini-batches


def _fit(module, root=None, callbacks=(), ckpt_path=None, **trainer_kw):
    pl.seed_everything(0, verbose=False)
    dm = SyntheticDataModule(num_samples=ROWS, batch_size=BATCH)
    trainer_kw.setdefault("max_epochs", 2)
    trainer = pl.Trainer(logger=False, enable_checkpointing=bool(callbacks), callbacks=list(callbacks),
                         enable_progress_bar=False, enable_model_summary=False, use_distributed_sampler=False,
                         num_sanity_val_steps=0, default_root_dir=root, accelerator="cpu", **trainer_kw)
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    return trainer


def _module(cls, rows_per_step):
    module = cls()
    module.rows_per_step = rows_per_step
    return module


def _weights(module):
    return {k: v for k, v in module.state_dict().items() if "_metrics." not in k and v.is_floating_point()}


def _assert_same_weights(a, b):
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


@pytest.mark.parametrize("cls", [LogisticClassifier, HeuristicScorecard])
def test_many_batches_per_step_trains_the_same_weights_steps_and_metrics(cls):
    one, many = _module(cls, 0), _module(cls, PER_STEP_ROWS)
    t_one, t_many = _fit(one), _fit(many)
    assert t_one.lightning_module.automatic_optimization and not t_many.lightning_module.automatic_optimization
    assert t_many.num_training_batches == 4 and t_one.num_training_batches == 38
    assert t_many.global_step == t_one.global_step == 2 * 38  # optimizer steps, not Lightning steps
    _assert_same_weights(one, many)
    for key in ("val/acc", "val/ece", "val/auroc", "val/f1", "val/loss", "train/acc", "train/loss"):
        assert float(t_many.callback_metrics[key]) == pytest.approx(float(t_one.callback_metrics[key]), abs=1e-6), key


def test_max_steps_stops_at_the_exact_optimizer_step():
    one, many = _module(LogisticClassifier, 0), _module(LogisticClassifier, PER_STEP_ROWS)
    t_one, t_many = _fit(one, max_steps=45), _fit(many, max_steps=45)
    assert t_one.global_step == t_many.global_step == 45
    _assert_same_weights(one, many)


def test_gradient_clipping_falls_back_to_one_mini_batch_per_step():
    module = _module(LogisticClassifier, PER_STEP_ROWS)
    trainer = _fit(module, max_epochs=1, gradient_clip_val=1.0)
    assert module.automatic_optimization and module.batches_per_step(BATCH) == 1
    assert trainer.num_training_batches == 38 and trainer.global_step == 38


class _WithStepSchedule(LogisticClassifier):
    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=self.lr)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": torch.optim.lr_scheduler.StepLR(opt, 7, 0.5),
                                                   "interval": "step"}}


def test_a_per_step_learning_rate_schedule_steps_once_per_optimizer_step():
    one, many = _module(_WithStepSchedule, 0), _module(_WithStepSchedule, PER_STEP_ROWS)
    t_one, t_many = _fit(one, max_epochs=1), _fit(many, max_epochs=1)
    assert t_many.lr_scheduler_configs[0].scheduler.last_epoch == t_one.lr_scheduler_configs[0].scheduler.last_epoch == 38
    _assert_same_weights(one, many)


@pytest.mark.parametrize("rows_per_step", [0, PER_STEP_ROWS])
def test_resume_from_a_mid_epoch_checkpoint_matches_an_uninterrupted_run(tmp_path, rows_per_step):
    straight = _module(LogisticClassifier, rows_per_step)
    _fit(straight, max_epochs=2)
    # stop in the middle of the second epoch (38 + 20 optimizer steps) with a checkpoint written there
    ckpt = ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=58, save_top_k=-1, filename="mid")
    first = _module(LogisticClassifier, rows_per_step)
    trainer = _fit(first, root=tmp_path, callbacks=[ckpt], max_steps=58)
    assert trainer.global_step == 58 and (tmp_path / "mid.ckpt").is_file()
    state = torch.load(tmp_path / "mid.ckpt", weights_only=True)["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert state == [{"epoch": 1, "batches_done": 20}]
    resumed = _module(LogisticClassifier, rows_per_step)
    trainer = _fit(resumed, root=tmp_path, ckpt_path=str(tmp_path / "mid.ckpt"), max_epochs=2)
    assert trainer.global_step == 2 * 38  # the remaining 18 mini-batches, none replayed, none skipped
    _assert_same_weights(straight, resumed)


def test_mixed_precision_goes_through_lightnings_backward_and_optimizer_and_matches():
    """bf16-mixed (CPU autocast) takes the manual_backward / LightningOptimizer path — the one DDP and 16-mixed
    gradient scaling use — and trains what one mini-batch per step trains."""
    one, many = _module(LogisticClassifier, 0), _module(LogisticClassifier, PER_STEP_ROWS)
    t_one = _fit(one, max_epochs=1, precision="bf16-mixed")
    t_many = _fit(many, max_epochs=1, precision="bf16-mixed")
    assert many._use_direct_path is False and t_many.global_step == t_one.global_step == 38
    for (k, a), b in zip(_weights(one).items(), _weights(many).values()):
        assert torch.allclose(a, b, atol=1e-6), k
