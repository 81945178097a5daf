"""Fault suite: corrupted checkpoints, full disks, kills and concurrent runs never corrupt what users rely on."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch

from nethical.cli.classic import main as classic_main
from nethical.exceptions import OutputError
from nethical.fileio import atomic_write_bytes, atomic_write_json

TINY = ["--epochs", "1", "--num-samples", "300", "--no-tensorboard", "--promotion-min-accuracy", "0", "--promotion-max-ece", "1"]


def test_atomic_write_on_full_disk_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "card.json"
    atomic_write_json(target, {"version": 1})
    real_fsync = os.fsync

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OutputError, match="No space left on device"):
        atomic_write_bytes(target, b'{"version": 2}')
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert target.read_text().strip().startswith("{") and '"version": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_disk_full_while_saving_a_model_is_a_clear_error_and_no_model_appears(tmp_cwd, capsys, monkeypatch):
    import nethical.fileio as fileio

    def full_disk(path, data):
        raise OutputError(f"cannot write {path}: No space left on device (disk full or read-only?); nothing was changed.")

    monkeypatch.setattr(fileio, "atomic_write_bytes", full_disk)
    rc = classic_main(["--model-type", "logistic", *TINY])
    err = capsys.readouterr().err
    assert rc == 2 and "No space left on device" in err and "Traceback" not in err
    assert not (tmp_cwd / "models" / "current").exists()
    assert not (tmp_cwd / "models" / "candidates").exists()
    assert not list((tmp_cwd / "models").glob(".staging/*")), "a failed save left a staged model behind"


@pytest.mark.parametrize("content", [b"", b"\x80not a checkpoint" * 10, b"PK\x03\x04garbage"])
def test_corrupted_checkpoint_is_a_clear_error(tmp_cwd, capsys, content):
    bad = tmp_cwd / "bad.ckpt"
    bad.write_bytes(content)
    rc = classic_main(["--model-type", "logistic", *TINY, "--ckpt-path", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "is corrupted or not a safe Lightning checkpoint" in err and err.count("\n") == 1
    assert not (tmp_cwd / "models").exists()


def test_checkpoint_with_pickled_code_is_refused_without_running_it(tmp_cwd, capsys):
    marker = tmp_cwd / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"state_dict": {}, "payload": Evil()}, tmp_cwd / "evil.ckpt")
    rc = classic_main(["--model-type", "logistic", *TINY, "--ckpt-path", "evil.ckpt"])
    assert rc == 2 and "not a safe Lightning checkpoint" in capsys.readouterr().err
    assert not marker.exists()


def test_resume_from_last_continues_and_matches_an_uninterrupted_run(tmp_path, monkeypatch, capsys):
    """Train 2 epochs, resume to 4 from last.ckpt: same final metrics as 4 epochs straight (seeded epoch order)."""
    import json

    def card(run: Path, models: str = "models") -> dict:
        return json.loads((run / models / "current" / "logistic" / "model_card.json").read_text())

    base = ["--model-type", "logistic", "--num-samples", "600", "--no-tensorboard", "--promotion-min-accuracy", "0",
            "--promotion-max-ece", "1"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    for d in (straight, resumed):
        d.mkdir()
    monkeypatch.chdir(straight)
    assert classic_main([*base, "--epochs", "4"]) == 0
    monkeypatch.chdir(resumed)
    assert classic_main([*base, "--epochs", "2"]) == 0
    assert (resumed / "checkpoints" / "logistic" / "last.ckpt").is_file()
    capsys.readouterr()
    # its own models dir: in models/ the resumed run would meet the 2-epoch champion and (a tie) stay a candidate
    assert classic_main([*base, "--epochs", "4", "--ckpt-path", "last", "--models-dir", "resumed_models"]) == 0
    out = capsys.readouterr().out
    assert "[logistic] epoch 1/4" not in out and "[logistic] epoch 3/4" in out  # it resumed, it did not start over
    a, b = card(straight), card(resumed, "resumed_models")
    assert b["config"]["trainer"]["epochs_run"] == a["config"]["trainer"]["epochs_run"]
    for key in ("accuracy", "ece", "f1", "auroc"):
        assert b["metrics"][key] == pytest.approx(a["metrics"][key], abs=1e-6)


# ---------------------------------------------------------------------------------------------------------- kill -9
import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = str(ROOT / "training" / "train_any_model.py")
LONG = ["--model-type", "logistic", "--epochs", "6", "--num-samples", "20000", "--no-tensorboard",
        "--promotion-min-accuracy", "0", "--promotion-max-ece", "1", "--enable-audit", "--audit-path", "audit",
        "--enable-drift-tracking", "--drift-report-dir", "drift", "--cohort-id", "c1"]
VOLATILE = {"timestamp", "run_id", "started_at", "finished_at", "created_at", "path", "saved_dir", "report_id",
            "observation_id", "store", "plot_path", "audit_dir"}


def _kill_after_checkpoint(cwd: Path, ckpt_name: str) -> None:
    proc = subprocess.Popen([sys.executable, SCRIPT, *LONG], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = cwd / "checkpoints" / "logistic" / ckpt_name
    deadline = time.time() + 300
    while not target.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed"
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _events(audit: Path) -> list[dict]:
    events = []
    for chunk in sorted(audit.glob("chunk_*.json")):
        events += json.loads(chunk.read_text())["events"]
    return events


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


@pytest.mark.slow
def test_kill_9_mid_fit_then_resume_matches_an_uninterrupted_run(tmp_path):
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    killed.mkdir()
    straight.mkdir()
    _kill_after_checkpoint(killed, "epoch001.ckpt")
    # what the killed run wrote still verifies, and no model (half-written or not) is visible
    verify = subprocess.run([sys.executable, "-m", "nethical.cli", "audit", "verify", "audit"], cwd=killed,
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert not (killed / "models" / "current").exists() and not (killed / "models" / "candidates").exists()
    # resume from the last checkpoint; an uninterrupted run with the same seed for comparison
    resumed = subprocess.run([sys.executable, SCRIPT, *LONG, "--ckpt-path", "last"], cwd=killed, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    full = subprocess.run([sys.executable, SCRIPT, *LONG], cwd=straight, capture_output=True, text=True)
    assert full.returncode == 0, full.stderr[-3000:]

    a, b = _events(killed / "audit"), _events(straight / "audit")
    # the resumed run adds one marker saying where it resumed from; everything else matches event for event
    assert [e["event_type"] for e in a].count("training_resumed") == 1
    a = [e for e in a if e["event_type"] != "training_resumed"]
    assert [e["event_type"] for e in a] == [e["event_type"] for e in b]  # no duplicates, no gaps
    assert _strip(a) == _strip(b)  # same facts, timestamps and ids aside
    for run in (killed, straight):
        assert len((run / "drift" / "cohorts.jsonl").read_text().splitlines()) == 1
        assert [p.parent.name for p in (run / "models").rglob("model_card.json")] == ["logistic"]
    ca = json.loads((killed / "models" / "current" / "logistic" / "model_card.json").read_text())
    cb = json.loads((straight / "models" / "current" / "logistic" / "model_card.json").read_text())
    assert ca["metrics"] == pytest.approx(cb["metrics"])
    after = subprocess.run([sys.executable, "-m", "nethical.cli", "audit", "verify", "audit"], cwd=killed,
                           capture_output=True, text=True)
    assert after.returncode == 0, after.stdout + after.stderr  # the chain still verifies after the resumed run


@pytest.mark.slow
def test_two_runs_at_once_into_the_same_dirs_lose_nothing(tmp_path):
    flags = ["--epochs", "2", "--num-samples", "3000", "--no-tensorboard", "--promotion-min-accuracy", "0",
             "--promotion-max-ece", "1", "--enable-audit", "--audit-path", "audit", "--enable-drift-tracking",
             "--drift-report-dir", "drift"]
    procs = [
        subprocess.Popen([sys.executable, SCRIPT, "--model-type", t, *flags, "--cohort-id", f"c_{t}"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for t in ("logistic", "heuristic")
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    verify = subprocess.run([sys.executable, "-m", "nethical.cli", "audit", "verify", "audit"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    events = _events(tmp_path / "audit")
    for t in ("logistic", "heuristic"):
        mine = [e for e in events if e.get("model_type") == t]
        assert sum(e["event_type"] == "model_saved" for e in mine) == 1
        assert sum(e["event_type"] == "training_start" for e in mine) == 1
        # a run's events are never interleaved with the other's inside one chunk
    for chunk in sorted((tmp_path / "audit").glob("chunk_*.json")):
        assert len({e["run_id"] for e in json.loads(chunk.read_text())["events"]}) == 1
    store = [json.loads(l) for l in (tmp_path / "drift" / "cohorts.jsonl").read_text().splitlines()]
    assert sorted(o["cohort_id"] for o in store) == ["c_heuristic", "c_logistic"]
    for t in ("logistic", "heuristic"):
        card = json.loads((tmp_path / "models" / "current" / t / "model_card.json").read_text())
        assert card["model_type"] == t
    assert not list((tmp_path / "models" / ".staging").glob("*"))


@pytest.mark.slow
def test_kill_9_then_a_fresh_rerun_succeeds(tmp_path):
    _kill_after_checkpoint(tmp_path, "epoch000.ckpt")
    rerun = subprocess.run([sys.executable, SCRIPT, *LONG[:2], "--epochs", "1", *LONG[4:]], cwd=tmp_path,
                           capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    verify = subprocess.run([sys.executable, "-m", "nethical.cli", "audit", "verify", "audit"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert (tmp_path / "models" / "current" / "logistic" / "model_card.json").is_file()


def test_read_only_output_dir_is_a_clear_error_before_training(tmp_cwd, capsys, monkeypatch):
    """Root ignores permission bits, so a read-only file system is simulated at the probe write."""
    import nethical.fileio as fileio

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(fileio.tempfile, "mkstemp", read_only)
    rc = classic_main(["--model-type", "logistic", *TINY, "--models-dir", "models"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "models dir 'models' is not writable (Read-only file system); pass a writable --models-dir." in err
    assert list(tmp_cwd.iterdir()) == []


@pytest.mark.parametrize("run_id", ["../../escape", "a/b", ".hidden", "x" * 200, "bad\nid"])
def test_unsafe_run_id_from_the_environment_is_rejected(tmp_cwd, capsys, monkeypatch, run_id):
    """NETHICAL_RUN_ID names candidate directories; a user-given value must never escape them."""
    from nethical.cli import main as nethical_main

    monkeypatch.setenv("NETHICAL_RUN_ID", run_id)
    rc = nethical_main(["fit", "--config", str(ROOT / "configs" / "logistic.yaml"), "--trainer.max_epochs", "1",
                        "--data.init_args.num_samples", "200", "--trainer.logger", "false", "--gate.min_accuracy", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and "is not a safe run id" in err
    assert not (tmp_cwd / "models").exists() and not (tmp_cwd / "checkpoints").exists()  # failed before training
    assert not (tmp_cwd.parent.parent / "escape").exists()


def test_exported_run_id_is_kept_by_the_classic_cli(tmp_cwd, monkeypatch):
    monkeypatch.setenv("NETHICAL_RUN_ID", "slurm-4242")
    assert classic_main(["--model-type", "logistic", *TINY, "--promotion-min-accuracy", "1"]) == 0
    assert (tmp_cwd / "models" / "candidates" / "logistic" / "slurm-4242" / "model_card.json").is_file()
