"""A wheel built from this checkout, installed into a fresh environment, trains every model type from a directory
outside the checkout, quietly (the main job's whole output fits on one screen)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL_TYPES = ("heuristic", "logistic", "simple_transformer", "anomaly", "correlation")


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


@pytest.mark.slow
def test_wheel_trains_every_type_from_anywhere(tmp_path: Path):
    wheel_dir = tmp_path / "wheel"
    built = _run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(wheel_dir)],
                 timeout=600, cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(wheel_dir.glob("nethical_trainer-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"nethical/configs/{t}.yaml" for t in MODEL_TYPES} <= set(names)
    assert not any(n.startswith("configs/") for n in names)  # no generic top-level `configs` package

    # a fresh environment: the wheel in its own site-packages; its dependencies (torch included) reused from this
    # interpreter's site-packages through a .pth line, so nothing is downloaded
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=300).returncode == 0
    vpy = venv / "bin" / "python"
    purelib = Path(_run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    parent_sites = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    parent_sites.append(sysconfig.get_paths()["purelib"])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NETHICAL_RUN_ID", "CI")}
    installed = _run([sys.executable, "-m", "pip", "--python", str(vpy), "install", "--no-deps", "--no-index", str(wheel)],
                     timeout=600, env=env)
    assert installed.returncode == 0, installed.stderr[-2000:]
    # after the install, so pip does not take this interpreter's (editable) nethical-trainer for the wheel
    (purelib / "_reuse_parent_env.pth").write_text("\n".join(dict.fromkeys(parent_sites)) + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([str(vpy), "-c", "import nethical, callbacks; print(nethical.__file__); print(callbacks.__file__)"],
                 cwd=elsewhere, env=env)
    assert where.returncode == 0 and str(ROOT) not in where.stdout and str(purelib) in where.stdout, where.stdout + where.stderr

    job = _run([str(venv / "bin" / "nethical-train"), "--model-type", "all", "--epochs", "10", "--num-samples", "200"],
               cwd=elsewhere, env=env, timeout=1800)
    assert job.returncode in (0,), job.stdout[-3000:] + job.stderr[-3000:]
    out = job.stdout
    summary = out[out.index("Training summary:"):]
    for model_type in MODEL_TYPES:
        assert re.search(rf"^{model_type} +\d\.\d{{4}}", summary, re.M), summary
        assert list((elsewhere / "models").glob(f"*/{model_type}/**/model_card.json")) or \
            (elsewhere / "models" / "current" / model_type / "model_card.json").is_file()
    # quiet: nothing on stderr, and the whole output (not a terminal: one line per epoch) fits on one screen
    assert job.stderr.strip() == "", job.stderr[-3000:]
    lines = out.splitlines()
    assert len(lines) <= 60, out
    assert sum(1 for line in lines if re.match(r"\[INFO\] \w+: synthetic", line)) == len(MODEL_TYPES)
    for noise in ("Seed set", "GPU available", "Tip:", "Trainable params", "Trainer.fit` stopped", "log_every_n_steps"):
        assert noise not in out


def test_all_with_no_configs_is_an_error(tmp_cwd, monkeypatch, capsys):
    from nethical.cli import classic

    monkeypatch.setattr(classic, "CONFIG_DIR", tmp_cwd / "no-configs")
    rc = classic.main(["--model-type", "all", "--epochs", "1", "--num-samples", "100", "--no-tensorboard"])
    captured = capsys.readouterr()
    assert rc == 2
    assert "found no model configs" in captured.err and "Training summary" not in captured.out
    assert not (tmp_cwd / "models").exists()
