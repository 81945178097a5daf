"""Training with the audit log on and off, end to end through the classic CLI.

Runs under pytest and as a script: ``python tests/test_train_audit_logging.py``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nethical.audit.merkle import leaf_hash, root  # noqa: E402
from nethical.cli import main as nethical_main  # noqa: E402
from nethical.cli.classic import main as classic_main  # noqa: E402
from nethical.fileio import sha256_file  # noqa: E402

RUN = ["--model-type", "logistic", "--epochs", "2", "--num-samples", "500", "--no-tensorboard",
       "--promotion-min-accuracy", "0", "--promotion-max-ece", "1"]
REQUIRED = {"training_start", "data_loaded", "data_split", "validation_metrics", "training_completed",
            "promotion_decision", "model_saved"}


def _chunks(audit: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(audit.glob("chunk_*.json"))]


def _canonical(event: dict) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def test_audit_on_records_a_verifiable_run(tmp_cwd, capsys):
    assert classic_main([*RUN, "--enable-audit", "--audit-path", "audit"]) == 0
    out = capsys.readouterr().out
    printed = re.search(r"Merkle root: ([0-9a-f]{64})", out)
    assert printed, out
    audit = tmp_cwd / "audit"
    chunks = _chunks(audit)
    assert len(chunks) == 1
    chunk = chunks[0]
    events = chunk["events"]
    assert chunk["event_count"] == len(events) and chunk["prev_root"] in (None, "", "0" * 64)
    # the root is RFC 9162 over the canonical JSON of every event: recompute it independently
    assert root([leaf_hash(_canonical(e)) for e in events]).hex() == chunk["merkle_root"] == printed.group(1)
    types = {e["event_type"] for e in events}
    assert REQUIRED <= types
    run_ids = {e["run_id"] for e in events}
    assert len(run_ids) == 1
    for e in events:
        assert e["model_type"] == "logistic" and e["timestamp"].endswith("+00:00")
    saved = next(e for e in events if e["event_type"] == "model_saved")
    model_dir = tmp_cwd / "models" / "current" / "logistic"
    assert saved["files"]["model.safetensors"] == sha256_file(model_dir / "model.safetensors")
    summary = json.loads((audit / "training_summary.json").read_text())
    assert summary["merkle_root"] == chunk["merkle_root"]
    assert summary["model_type"] == "logistic" and summary["promoted"] is True
    assert "logistic" in summary["results"] and summary["metrics"]["accuracy"] == pytest.approx(
        json.loads((model_dir / "model_card.json").read_text())["metrics"]["accuracy"])
    assert nethical_main(["audit", "verify", str(audit)]) == 0


def test_audit_off_writes_no_audit_files_and_prints_no_root(tmp_cwd, capsys):
    assert classic_main(RUN) == 0
    out = capsys.readouterr().out
    assert "Merkle root" not in out
    assert not (tmp_cwd / "training_audit_logs").exists()
    assert not list(tmp_cwd.rglob("chunk_*.json"))


def test_second_run_continues_the_chain_and_tampering_fails_verification(tmp_cwd, capsys):
    for _ in range(2):
        assert classic_main([*RUN, "--enable-audit", "--audit-path", "audit"]) == 0
    audit = tmp_cwd / "audit"
    chunks = _chunks(audit)
    assert len(chunks) == 2 and chunks[1]["prev_root"] == chunks[0]["merkle_root"]
    assert nethical_main(["audit", "verify", str(audit)]) == 0
    capsys.readouterr()
    path = sorted(audit.glob("chunk_*.json"))[0]
    data = json.loads(path.read_text())
    data["events"][3]["event_type"] = "tampered"
    path.write_text(json.dumps(data, indent=2))
    assert nethical_main(["audit", "verify", str(audit)]) == 1
    captured = capsys.readouterr()
    assert path.name in captured.out + captured.err


def test_inclusion_proof_for_a_training_event(tmp_cwd, capsys):
    from nethical.audit.merkle import verify_inclusion

    assert classic_main([*RUN, "--enable-audit", "--audit-path", "audit"]) == 0
    chunk = _chunks(tmp_cwd / "audit")[0]
    capsys.readouterr()
    assert nethical_main(["audit", "proof", "audit", "--chunk", str(chunk["chunk_id"]), "--index", "2"]) == 0
    proof = json.loads(capsys.readouterr().out)
    assert proof["leaf_index"] == 2 and proof["tree_size"] == chunk["event_count"] and proof["root"] == chunk["merkle_root"]
    assert proof["leaf_hash"] == leaf_hash(_canonical(chunk["events"][2])).hex()
    leaf = bytes.fromhex(proof["leaf_hash"])
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    assert verify_inclusion(leaf, 2, proof["tree_size"], path, bytes.fromhex(proof["root"]))
    assert not verify_inclusion(leaf, 3, proof["tree_size"], path, bytes.fromhex(proof["root"]))  # wrong position
    other = leaf_hash(_canonical(chunk["events"][3]))
    assert not verify_inclusion(other, 2, proof["tree_size"], path, bytes.fromhex(proof["root"]))  # another event


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
