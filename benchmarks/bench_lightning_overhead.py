"""Lightning's overhead next to a plain PyTorch loop, and the callbacks' overhead, measured side by side in one run.

    python benchmarks/bench_lightning_overhead.py [--rows 100000] [--batch-sizes 32 1024] [--epochs 10] [--repeats 5]

Same model (standardizer + linear, AdamW, BCE), same pre-built tensors, same epochs, batch size and number of
optimizer steps:
  plain     a hand-written loop over pre-sliced batches (validation accuracy once per epoch)
  bare      the project's Lightning path with logger, checkpoints, progress output and model saving off
  project   `nethical fit --config configs/logistic.yaml` with the project's normal defaults (TensorBoard logger,
            checkpointing, per-epoch progress lines, torchmetrics, promotion gate that saves the model)
  +callbacks the same with audit, governance (100 data samples, 50 predictions) and drift tracking on
  one step  the project defaults with one mini-batch per Lightning step (``rows_per_step = 0``: the path before
            lightning_modules/fast_steps.py), for comparison
Data generation is done before timing in every case. The variants run interleaved, round after round, so load on a
shared machine touches them alike; the table gives the median of the rounds and its ratio to the plain loop's
median, and "gate" is the part of a project run spent in the promotion gate after fit (scoring, reliability
diagram, saving the model), a fixed cost per run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datamodules.synthetic import SyntheticDataModule  # noqa: E402
from lightning_modules.components.standardizer import Standardizer  # noqa: E402


def plain_loop(dm: SyntheticDataModule, epochs: int, batch_size: int) -> float:
    torch.manual_seed(0)
    x, y = dm.tensors("train")["x"], dm.tensors("train")["y"]
    scaler = Standardizer(x.shape[1])
    scaler.fit(x)
    linear = torch.nn.Linear(x.shape[1], 1)
    opt = torch.optim.AdamW(linear.parameters(), lr=0.05, weight_decay=1e-4)
    vx, vy = dm.tensors("val")["x"], dm.tensors("val")["y"]
    start = time.perf_counter()
    for epoch in range(epochs):
        perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(epoch))
        for i in range(0, x.shape[0], batch_size):
            idx = perm[i : i + batch_size]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(linear(scaler(x[idx])).squeeze(-1), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = ((linear(scaler(vx)).squeeze(-1) > 0).float() == vy).float().mean()
    elapsed = time.perf_counter() - start
    print(f"plain loop final val acc {float(acc):.4f}", file=sys.stderr)
    return elapsed


def plain_transformer_loop(rows: int, epochs: int, batch_size: int) -> float:
    """The same SimpleTransformerClassifier, optimizer groups, warm-up/cosine schedule and clipping, without Lightning."""
    import math

    from datamodules.synthetic import SyntheticDataModule as DM
    from lightning_modules.simple_transformer import SimpleTransformerClassifier

    torch.manual_seed(0)
    dm = DM(task="short_requests", num_samples=rows, batch_size=batch_size, calibration_ratio=0.1, max_length=128)
    dm.setup("fit")
    model = SimpleTransformerClassifier()
    model.build(dm.input_spec)
    x, y = dm.tensors("train")["x"], dm.tensors("train")["y"]
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n and not n.endswith(".cls")]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embed" not in n and not n.endswith(".cls"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
    total = epochs * math.ceil(x.shape[0] / batch_size)
    warmup = int(0.1 * total)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warmup if s < warmup else
                                              0.5 * (1 + math.cos(math.pi * min((s - warmup) / max(total - warmup, 1), 1))))
    start = time.perf_counter()
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(epoch))
        for i in range(0, x.shape[0], batch_size):
            idx = perm[i : i + batch_size]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x[idx]).reshape(-1), y[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            vx, vy = dm.tensors("val")["x"], dm.tensors("val")["y"]
            acc = ((model(vx).reshape(-1) > 0).float() == vy).float().mean()
        model.train()
    print(f"plain transformer loop final val acc {float(acc):.4f}", file=sys.stderr)
    return time.perf_counter() - start


GATE_SECONDS: list = []


def project_run(rows: int, epochs: int, batch_size: int, extra: list[str], config: str = "logistic",
                rows_per_step: int | None = None) -> float:
    from callbacks.promotion_gate import PromotionGate
    from nethical.cli.lightning_cli import NethicalCLI

    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            args = ["--config", str(ROOT / "configs" / f"{config}.yaml"), "--trainer.max_epochs", str(epochs),
                    "--data.init_args.num_samples", str(rows), "--data.init_args.batch_size", str(batch_size),
                    "--trainer.enable_model_summary", "false", *extra]
            cli = NethicalCLI(args=args, run=False)
            if rows_per_step is not None:
                cli.model.rows_per_step = rows_per_step
            cli.datamodule.setup("fit")  # data generation is not part of the timing
            gate_end = PromotionGate.on_fit_end

            def timed_gate(self, trainer, module):  # noqa: ANN001
                t0 = time.perf_counter()
                try:
                    return gate_end(self, trainer, module)
                finally:
                    GATE_SECONDS.append(time.perf_counter() - t0)

            PromotionGate.on_fit_end = timed_gate
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    start = time.perf_counter()
                    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
                    return time.perf_counter() - start
            finally:
                PromotionGate.on_fit_end = gate_end
        finally:
            os.chdir(cwd)


def _median(values: list) -> float:
    return statistics.median(values) if values else float("nan")


def compare(rows: int, epochs: int, batch_size: int, repeats: int) -> None:
    dm = SyntheticDataModule(num_samples=rows, batch_size=batch_size)
    dm.setup("fit")
    callbacks_on = ["--audit.enabled", "true", "--governance.enabled", "true", "--drift.enabled", "true"]
    bare = ["--trainer.logger", "false", "--trainer.callbacks", "[]", "--trainer.enable_checkpointing", "false",
            "--trainer.enable_progress_bar", "false", "--trainer.num_sanity_val_steps", "0", "--gate.save", "false"]
    variants = {
        "plain PyTorch loop": lambda: plain_loop(dm, epochs, batch_size),
        "project, logger/checkpoints/progress/saving off": lambda: project_run(rows, epochs, batch_size, bare),
        "**project defaults** (logger, checkpoint, progress, metrics, gate)": lambda: project_run(rows, epochs, batch_size, []),
        "project + audit + governance + drift": lambda: project_run(rows, epochs, batch_size, callbacks_on),
        "project defaults, one mini-batch per Lightning step (before)": lambda: project_run(rows, epochs, batch_size, [], rows_per_step=0),
    }
    times: dict = {name: [] for name in variants}
    gates: dict = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            GATE_SECONDS.clear()
            times[name].append(fn())
            gates[name].extend(GATE_SECONDS)
    base = _median(times["plain PyTorch loop"])
    steps = epochs * -(-dm.split_sizes["train"] // batch_size)
    print(f"\nlogistic, {rows} rows ({dm.split_sizes['train']} train), batch {batch_size}, {epochs} epochs = {steps} "
          f"optimizer steps, torch threads 1, median of {repeats} interleaved rounds\n")
    print("| variant | median s | min–max s | × plain loop | gate s | × plain loop without gate |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, values in times.items():
        med, gate = _median(values), _median(gates[name]) if gates[name] else 0.0
        print(f"| {name} | {med:.2f} | {min(values):.2f}–{max(values):.2f} | {med / base:.2f} | "
              f"{gate:.2f} | {(med - gate) / base:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 1024])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds; the table gives medians")
    parser.add_argument("--transformer-texts", type=int, default=0, help="texts for the transformer comparison (0 skips it)")
    parser.add_argument("--transformer-epochs", type=int, default=2)
    ns = parser.parse_args()
    torch.set_num_threads(1)
    for batch_size in ns.batch_sizes:
        compare(ns.rows, ns.epochs, batch_size, ns.repeats)
    if ns.transformer_texts:
        torch.set_num_threads(2)
        n, e = ns.transformer_texts, ns.transformer_epochs
        plain_t = plain_transformer_loop(n, e, 32)
        lightning_t = project_run(n, e, 32, [], config="simple_transformer")
        print(f"\nsimple_transformer, {n} synthetic texts, batch 32, {e} epochs, torch threads 2, one run each\n")
        print("| variant | seconds | × plain loop |")
        print("|---|---:|---:|")
        print(f"| plain PyTorch loop (same module, optimizer groups, schedule, clipping) | {plain_t:.1f} | 1.00 |")
        print(f"| project defaults (`configs/simple_transformer.yaml`, incl. calibration and gate) | {lightning_t:.1f} | {lightning_t / plain_t:.2f} |")


if __name__ == "__main__":
    main()
