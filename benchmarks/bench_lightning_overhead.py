"""Lightning's overhead next to a plain PyTorch loop, and the callbacks' overhead, measured side by side in one run.

    python benchmarks/bench_lightning_overhead.py [--rows 100000] [--batch-size 1024] [--epochs 10]

Same model (standardizer + linear, AdamW, BCE), same pre-built tensors, same epochs and batch size:
  plain     a hand-written loop over pre-sliced batches
  bare      the project's Lightning path with logger, checkpoints, progress output and model saving off
  project   `nethical fit --config configs/logistic.yaml` with the project's normal defaults (TensorBoard logger,
            checkpointing, per-epoch progress lines, torchmetrics, promotion gate that saves the model)
  +callbacks the same with audit, governance (100 data samples, 50 predictions) and drift tracking on
Data generation is done before timing in every case. Prints a markdown table with ratios to the plain loop.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
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


def project_run(rows: int, epochs: int, batch_size: int, extra: list[str], config: str = "logistic") -> float:
    from nethical.cli.lightning_cli import NethicalCLI

    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            args = ["--config", str(ROOT / "configs" / f"{config}.yaml"), "--trainer.max_epochs", str(epochs),
                    "--data.init_args.num_samples", str(rows), "--data.init_args.batch_size", str(batch_size),
                    "--trainer.enable_model_summary", "false", *extra]
            cli = NethicalCLI(args=args, run=False)
            cli.datamodule.setup("fit")  # data generation is not part of the timing
            with contextlib.redirect_stdout(io.StringIO()):
                start = time.perf_counter()
                cli.trainer.fit(cli.model, datamodule=cli.datamodule)
                return time.perf_counter() - start
        finally:
            os.chdir(cwd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="best of N for each variant")
    parser.add_argument("--transformer-texts", type=int, default=10_000, help="texts for the transformer comparison (0 skips it)")
    parser.add_argument("--transformer-epochs", type=int, default=2)
    ns = parser.parse_args()
    torch.set_num_threads(1)
    dm = SyntheticDataModule(num_samples=ns.rows, batch_size=ns.batch_size)
    dm.setup("fit")
    callbacks_on = ["--audit.enabled", "true", "--governance.enabled", "true", "--drift.enabled", "true"]
    bare = ["--trainer.logger", "false", "--trainer.callbacks", "[]", "--trainer.enable_checkpointing", "false",
            "--trainer.enable_progress_bar", "false", "--trainer.num_sanity_val_steps", "0", "--gate.save", "false"]
    timings = {
        "plain PyTorch loop": min(plain_loop(dm, ns.epochs, ns.batch_size) for _ in range(ns.repeats)),
        "project, logger/checkpoints/progress/saving off": min(
            project_run(ns.rows, ns.epochs, ns.batch_size, bare) for _ in range(ns.repeats)),
        "project defaults (logger, checkpoint, progress, metrics, gate)": min(
            project_run(ns.rows, ns.epochs, ns.batch_size, []) for _ in range(ns.repeats)),
        "project + audit + governance + drift": min(
            project_run(ns.rows, ns.epochs, ns.batch_size, callbacks_on) for _ in range(ns.repeats)),
    }
    base = timings["plain PyTorch loop"]
    defaults = timings["project defaults (logger, checkpoint, progress, metrics, gate)"]
    print(f"\nlogistic, {ns.rows} rows, batch {ns.batch_size}, {ns.epochs} epochs, torch threads 1, best of {ns.repeats}\n")
    print("| variant | seconds | × plain loop | × project defaults |")
    print("|---|---:|---:|---:|")
    for name, seconds in timings.items():
        print(f"| {name} | {seconds:.2f} | {seconds / base:.2f} | {seconds / defaults:.2f} |")
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
