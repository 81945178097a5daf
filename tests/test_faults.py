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


def test_resume_from_last_continues_and_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    """Train 2 epochs, resume to 4 from last.ckpt: same final metrics as 4 epochs straight (seeded epoch order)."""
    import json

    def card(run: Path) -> dict:
        return json.loads((run / "models" / "current" / "logistic" / "model_card.json").read_text())

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
    assert classic_main([*base, "--epochs", "4", "--ckpt-path", "last"]) == 0
    a, b = card(straight), card(resumed)
    assert b["config"]["trainer"]["epochs_run"] == a["config"]["trainer"]["epochs_run"]
    for key in ("accuracy", "ece", "f1", "auroc"):
        assert b["metrics"][key] == pytest.approx(a["metrics"][key], abs=1e-6)
