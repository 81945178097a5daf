"""``nethical predict --config ...``: write the predictions to a JSON Lines file and say where."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from callbacks.events import get_run_id
from nethical.console import say


class PredictionWriter(BasePredictionWriter):
    """One JSON line per predicted row: ``{"index", "probability", "label", "target"}``.

    ``index`` is the row's position in the datamodule's prediction split (the validation split: the rows the gate
    scores), ``target`` its true label when the data has one. The file is
    ``<output_dir>/<model_type>/<run_id>.jsonl``; with several processes each writes its own rows to
    ``<run_id>.rank<N>.jsonl``. Nothing is written outside ``predict``.

    Args:
        output_dir: directory for the prediction files.
        threshold: ``label`` is 1 when the probability is at least this.
    """

    def __init__(self, output_dir: str = "predictions", threshold: float = 0.5) -> None:
        super().__init__(write_interval="batch")
        self.output_dir = output_dir
        self.threshold = threshold
        self.path: Optional[Path] = None
        self._rows: List[Dict[str, Any]] = []

    def on_predict_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._rows = []

    def write_on_batch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", prediction: Any,
                           batch_indices: Optional[Sequence[int]], batch: Any, batch_idx: int, dataloader_idx: int) -> None:
        probs = torch.as_tensor(prediction).detach().float().cpu().reshape(-1).tolist()
        idx = batch.get("idx") if isinstance(batch, dict) else None
        ys = batch.get("y") if isinstance(batch, dict) else None
        indices = idx.cpu().tolist() if idx is not None else list(batch_indices or range(len(probs)))
        targets = ys.cpu().tolist() if ys is not None else [None] * len(probs)
        for i, p, y in zip(indices, probs, targets):
            row = {"index": int(i), "probability": round(float(p), 6), "label": int(p >= self.threshold)}
            if y is not None:
                row["target"] = int(y)
            self._rows.append(row)

    def on_predict_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        model_type = getattr(pl_module, "model_type", type(pl_module).__name__)
        name = get_run_id() + (f".rank{trainer.global_rank}" if trainer.world_size > 1 else "")
        path = Path(self.output_dir) / model_type / f"{name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = sorted(self._rows, key=lambda r: r["index"])
        with open(path, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
        self.path = path
        if trainer.is_global_zero:
            shown = path if trainer.world_size == 1 else path.parent / f"{get_run_id()}.rank*.jsonl"
            say(f"wrote {len(rows)} prediction{'s' if len(rows) != 1 else ''} (validation split) to {shown}")
