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
