"""Two "nodes" on one machine through torchrun (one process each, static rendezvous on 127.0.0.1), each in its own
working directory, writing models, audit and drift to one shared directory as a cluster's shared file system would:
one audit chain that verifies, one drift observation, one saved model, and nothing written from the second node."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = str(ROOT / "training" / "train_any_model.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="needs torchrun (PyTorch's launcher)")
def test_two_node_torchrun_gives_one_chain_one_observation_one_model(tmp_path):
    shared, node0, node1 = tmp_path / "shared", tmp_path / "node0", tmp_path / "node1"
    for d in (shared, node0, node1):
        d.mkdir()
    port = _free_port()
    flags = ["--model-type", "logistic", "--epochs", "2", "--num-samples", "2000", "--no-tensorboard",
             "--accelerator", "cpu", "--devices", "1", "--num-nodes", "2", "--strategy", "ddp",
             "--models-dir", str(shared / "models"), "--enable-audit", "--audit-path", str(shared / "audit"),
             "--enable-drift-tracking", "--drift-report-dir", str(shared / "drift"), "--cohort-id", "two_nodes",
             "--promotion-min-accuracy", "0", "--promotion-max-ece", "1"]
    env = {**os.environ, "NETHICAL_RUN_ID": "two-node-test", "PYTHONPATH": str(ROOT)}
    procs = []
    for rank, cwd in enumerate((node0, node1)):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
               "--node-rank", str(rank), "--master-addr", "127.0.0.1", "--master-port", str(port), SCRIPT, *flags]
        procs.append(subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=600)
            outputs.append((out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    out0, out1 = outputs[0][0], outputs[1][0]
    assert out0.count("PROMOTED logistic") + out0.count("CANDIDATE logistic") == 1
    assert "PROMOTED" not in out1 and "CANDIDATE" not in out1  # rank zero reports, the other node stays quiet

    cards = list((shared / "models").rglob("model_card.json"))
    assert len(cards) == 1
    card = json.loads(cards[0].read_text())
    assert card["config"]["trainer"]["world_size"] == 2
    assert len((shared / "drift" / "cohorts.jsonl").read_text().splitlines()) == 1
    verify = subprocess.run([sys.executable, "-m", "nethical.cli", "audit", "verify", str(shared / "audit")],
                            cwd=tmp_path, capture_output=True, text=True, env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    events = [e for c in sorted((shared / "audit").glob("chunk_*.json")) for e in json.loads(c.read_text())["events"]]
    types = [e["event_type"] for e in events]
    for once in ("training_start", "training_completed", "promotion_decision", "model_saved"):
        assert types.count(once) == 1, (once, types)
    # the second node wrote nothing of its own: no checkpoints, models, logs or audit files in its directory
    assert sorted(p.name for p in node1.iterdir()) == []
    assert (node0 / "checkpoints" / "logistic" / "last.ckpt").is_file()


def _fake_slurm(tmp_path: Path) -> dict:
    """SLURM's environment for one task of job 4242, and an `scontrol` that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    scontrol.write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/scontrol_calls.txt"\n')
    scontrol.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT),
            "SLURM_NTASKS": "1", "SLURM_NTASKS_PER_NODE": "1", "SLURM_JOB_NAME": "nethical", "SLURM_JOB_ID": "4242",
            "SLURM_NODELIST": "127.0.0.1", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0",
            "NETHICAL_RUN_ID": "slurm-4242"}


@pytest.mark.slow
def test_slurm_requeue_signal_saves_requeues_and_the_requeued_job_resumes_exactly(tmp_path):
    """SIGUSR1 (sbatch --signal=SIGUSR1@90) makes Lightning's SLURMEnvironment save hpc_ckpt_1.ckpt and call
    `scontrol requeue <job>`; the job is then killed, and the requeued job (same command, same directory) resumes
    from that checkpoint: the optimizer-step count comes out exact (no mini-batch replayed or skipped), and the audit
    chain, the drift store and the model registry hold one run."""
    import signal
    import time

    import torch

    env = _fake_slurm(tmp_path)
    run_dir = tmp_path / "job"
    run_dir.mkdir()
    epochs, rows, batch = 3, 20000, 8  # 16000 training rows = 2000 mini-batches (optimizer steps) per epoch
    cmd = [sys.executable, "-m", "nethical.cli", "fit", "--config", str(ROOT / "configs" / "logistic.yaml"),
           "--config", str(ROOT / "configs" / "trainer" / "slurm.yaml"), "--trainer.strategy", "auto",
           "--trainer.accelerator", "cpu", "--trainer.devices", "1", "--trainer.max_epochs", str(epochs),
           "--trainer.logger", "false", "--trainer.enable_model_summary", "false",
           "--data.init_args.num_samples", str(rows), "--data.init_args.batch_size", str(batch),
           "--audit.enabled", "true", "--audit.audit_path", "audit", "--drift.enabled", "true",
           "--drift.report_dir", "drift", "--drift.cohort_id", "slurm", "--gate.min_accuracy", "0",
           "--gate.max_ece", "1"]
    first = subprocess.Popen(cmd, cwd=run_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        epoch_ckpt = run_dir / "checkpoints" / "logistic" / "epoch000.ckpt"
        deadline = time.time() + 600
        while not epoch_ckpt.exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, "the first job ended before the signal could be sent"
        first.send_signal(signal.SIGUSR1)  # what SLURM sends 90 s before the time limit
        calls, hpc = tmp_path / "bin" / "scontrol_calls.txt", run_dir / "hpc_ckpt_1.ckpt"
        while not (calls.exists() and hpc.exists()) and first.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, "the first job ended before it was requeued"
        time.sleep(0.2)
    finally:
        first.kill()  # `scontrol requeue` ends the running job
        first.wait()
    assert calls.read_text().split() == ["requeue", "4242"]
    saved_step = torch.load(hpc, weights_only=True, map_location="cpu")["global_step"]
    assert 2000 <= saved_step < epochs * 2000

    second = subprocess.run(cmd, cwd=run_dir, env=env, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "[logistic] epoch 1/3" not in second.stdout and "[logistic] epoch 3/3" in second.stdout  # resumed
    final = torch.load(run_dir / "checkpoints" / "logistic" / "last.ckpt", weights_only=True, map_location="cpu")
    assert final["global_step"] == epochs * 2000  # every mini-batch trained exactly once across the two jobs
    verify = subprocess.run([sys.executable, "-m", "nethical.cli", "audit", "verify", "audit"], cwd=run_dir,
                            capture_output=True, text=True, env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert len((run_dir / "drift" / "cohorts.jsonl").read_text().splitlines()) == 1
    assert len(list((run_dir / "models").rglob("model_card.json"))) == 1


def test_the_slurm_example_composes_into_a_valid_configuration(tmp_path):
    """The `srun nethical fit ...` line of examples/slurm/train.sbatch parses (configs exist, flags are known) and
    asks for Lightning's SLURM environment with auto-requeue on SIGUSR1."""
    import shlex

    script = (ROOT / "examples" / "slurm" / "train.sbatch").read_text()
    assert "#SBATCH --signal=SIGUSR1@90" in script and "#SBATCH --requeue" in script
    block = script[script.index("srun nethical fit"):].replace("\\\n", " ")
    block = block.replace("${SLURM_JOB_ID}", "4242").replace("${SLURM_SUBMIT_DIR}", str(tmp_path))
    args = shlex.split(block.splitlines()[0])[3:]  # after `srun nethical fit`
    proc = subprocess.run([sys.executable, "-m", "nethical.cli", "fit", *args, "--print_config"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "class_path: lightning.pytorch.plugins.environments.SLURMEnvironment" in proc.stdout
    assert "auto_requeue: true" in proc.stdout and "requeue_signal: SIGUSR1" in proc.stdout
    assert "num_nodes: 2" in proc.stdout and "use_distributed_sampler: false" in proc.stdout
