"""Several optimizer steps per Lightning step, for models whose step is cheap (heuristic, logistic).

Lightning spends about a millisecond of hooks, fetching and closures on every training step. For a model with a few
parameters that is several times the step's own work, so :class:`ManyStepsPerCall` lets one Lightning step run
``batches_per_step`` ordinary mini-batch SGD steps, with manual optimization:

* the datamodule hands over one item holding the rows of that many consecutive mini-batches (already gathered into
  one tensor), and the module splits it back by ``rows_per_batch`` — same batch size, same order, same number of
  optimizer steps as one mini-batch per Lightning step; the weights come out the same;
* ``trainer.global_step`` still counts optimizer steps (``max_steps`` is honoured to the step);
* training metrics are updated once per Lightning step (from every mini-batch's logits), not once per mini-batch;
* where nothing else needs Lightning's per-step machinery (one process, 32-bit precision, no callback overriding
  the backward / optimizer-step hooks) the step calls ``backward`` and the optimizer directly and counts the step
  in Lightning's progress; otherwise it goes through ``manual_backward`` and the ``LightningOptimizer`` (DDP
  gradient sync, mixed-precision scaling, hooks).

Gradient clipping or gradient accumulation set on the Trainer switch the module back to Lightning's automatic
optimization with one mini-batch per step. ``rows_per_step = 0`` on a class or an instance does the same.
"""

from __future__ import annotations

from typing import Any, Dict, List

import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden

from lightning_modules.base import BaseClassifierModule

# hooks that Lightning calls around every backward and optimizer step; the direct path skips them
_STEP_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad")


class ManyStepsPerCall:
    """Mixin for :class:`~lightning_modules.base.BaseClassifierModule` subclasses (list it first among the bases)."""

    #: rows one Lightning step covers (``max(1, rows_per_step // batch_size)`` mini-batches); 0 turns this off
    rows_per_step: int = 16384

    # ------------------------------------------------------------------ when it applies
    def _many_steps_enabled(self) -> bool:
        trainer = getattr(self, "_trainer", None)
        if self.rows_per_step <= 0 or trainer is None:
            return False
        if trainer.gradient_clip_val or trainer.accumulate_grad_batches != 1:
            return False  # Lightning implements these for automatic optimization only
        return True

    @property
    def automatic_optimization(self) -> bool:  # type: ignore[override]
        return bool(self._automatic_optimization) and not self._many_steps_enabled()

    @automatic_optimization.setter
    def automatic_optimization(self, value: bool) -> None:
        self._automatic_optimization = value

    def batches_per_step(self, batch_size: int) -> int:
        """Mini-batches per Lightning step for this batch size (the datamodule asks before building its loaders)."""
        if self.automatic_optimization:
            return 1
        return max(1, self.rows_per_step // max(1, batch_size))

    def _direct_path(self) -> bool:
        trainer = self.trainer
        if not isinstance(trainer.strategy, SingleDeviceStrategy) or str(trainer.precision) not in ("32-true", "32"):
            return False
        hooked = [cb for cb in trainer.callbacks for hook in _STEP_HOOKS if is_overridden(hook, cb, parent=Callback)]
        own = [h for h in (*_STEP_HOOKS, "optimizer_step", "optimizer_zero_grad", "backward")
               if is_overridden(h, self)]  # type: ignore[arg-type]
        return not hooked and not own

    def on_train_start(self) -> None:
        super().on_train_start()  # type: ignore[misc]
        self._use_direct_path = not self.automatic_optimization and self._direct_path()

    # ------------------------------------------------------------------ the step
    def training_step(self, batch: Dict[str, Any], batch_idx: int) -> Any:
        if self.automatic_optimization:
            return super().training_step(batch, batch_idx)  # type: ignore[misc]
        trainer = self.trainer
        x, y = batch["x"], batch["y"]
        size = int(batch.get("rows_per_batch") or x.shape[0])
        xs, ys = x.split(size), y.split(size)
        steps = len(xs)
        if trainer.max_steps is not None and trainer.max_steps >= 0:
            steps = min(steps, trainer.max_steps - trainer.global_step)
        lightning_opt = self.optimizers()  # type: ignore[attr-defined]
        if isinstance(lightning_opt, list):
            raise RuntimeError(f"{type(self).__name__} with several optimizers needs rows_per_step = 0.")
        direct = getattr(self, "_use_direct_path", False)
        optimizer = lightning_opt.optimizer
        progress = trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress
        step_schedulers = [c for c in trainer.lr_scheduler_configs if c.interval == "step"]
        # the base class's penalty is a constant zero: skip it (adding 0 changes neither the loss nor a gradient)
        penalized = type(self).regularization is not BaseClassifierModule.regularization
        logits_seen: List[torch.Tensor] = []
        losses: List[torch.Tensor] = []
        for i in range(steps):
            logits = self.calibrated_logits(xs[i])  # type: ignore[attr-defined]
            target = ys[i].to(logits.dtype)
            loss = F.binary_cross_entropy_with_logits(logits, target)
            total = loss + self.regularization() if penalized else loss  # type: ignore[attr-defined]
            if direct:
                optimizer.zero_grad()
                total.backward()
                progress.increment_ready()
                optimizer.step()
                progress.increment_completed()
            else:
                lightning_opt.zero_grad()
                self.manual_backward(total)  # type: ignore[attr-defined]
                lightning_opt.step()
            for config in step_schedulers:
                if trainer.global_step % config.frequency == 0:
                    _step_scheduler(config, trainer)
            logits_seen.append(logits.detach())
            losses.append(loss.detach())
        if steps > 0:
            target = y[: sum(t.shape[0] for t in ys[:steps])]
            sizes = torch.tensor([t.shape[0] for t in ys[:steps]], dtype=torch.float32, device=target.device)
            self.train_metrics.update(torch.sigmoid(torch.cat(logits_seen)).float(), target.long())  # type: ignore[attr-defined]
            self.train_loss.update(torch.stack(losses).float(), weight=sizes)  # type: ignore[attr-defined]
        return None

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()  # type: ignore[misc]
        if self.automatic_optimization:
            return
        trainer = self.trainer
        for config in trainer.lr_scheduler_configs:
            if config.interval == "epoch" and (trainer.current_epoch + 1) % config.frequency == 0:
                _step_scheduler(config, trainer)


def _step_scheduler(config: Any, trainer: Any) -> None:
    """Step one scheduler as Lightning's automatic loop would (a plateau scheduler gets its monitored value)."""
    if config.reduce_on_plateau:
        value = trainer.callback_metrics.get(config.monitor) if config.monitor else None
        if value is None:
            if config.strict:
                raise RuntimeError(f"ReduceLROnPlateau monitors {config.monitor!r}, which no metric logged; available: "
                                   f"{', '.join(sorted(trainer.callback_metrics)) or 'none'}.")
            return
        config.scheduler.step(value)
    else:
        config.scheduler.step()
