"""Hostile inputs other than skops gadgets (issue #20): model directories, checkpoints, class paths, secrets, paths."""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
import torch

from nethical.cli import main as nethical_main
from nethical.cli.classic import main as classic_main

TINY = ["--num-samples", "300", "--epochs", "1", "--batch-size", "64", "--promotion-min-accuracy", "0",
        "--promotion-max-ece", "1", "--no-tensorboard"]
COLUMNS = "risk_score,anomaly_score,user_reputation,content_length,velocity"


@pytest.fixture(scope="module")
def logistic_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("logistic")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert classic_main(["--model-type", "logistic", *TINY]) == 0
    finally:
        os.chdir(cwd)
    return root / "models" / "current" / "logistic"


def _rows(tmp_path: Path, model_dir: Path) -> Path:
    names = json.loads((model_dir / "model_card.json").read_text())["input_spec"]["feature_names"]
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(names) + "\n" + ",".join("0.5" for _ in names) + "\n")
    return rows


def _predict(model_dir: Path, rows: Path, capsys) -> "tuple[int, str]":
    capsys.readouterr()
    rc = nethical_main(["predict", "--model-dir", str(model_dir), "--input", str(rows)])
    return rc, capsys.readouterr().err


def _one_line(err: str) -> str:
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# ------------------------------------------------------------------------------------------------ model directories
def test_weights_dropped_from_the_card_list_are_refused_not_loaded_unchecked(logistic_dir, tmp_path, capsys):
    model = tmp_path / "m"
    shutil.copytree(logistic_dir, model)
    card = json.loads((model / "model_card.json").read_text())
    del card["files"]["model.safetensors"]
    (model / "model_card.json").write_text(json.dumps(card))
    (model / "model.safetensors").write_bytes((model / "model.safetensors").read_bytes()[:-4] + b"\0\0\0\0")
    rc, err = _predict(model, _rows(tmp_path, model), capsys)
    assert rc == 2 and "does not list model.safetensors" in _one_line(err)


def test_symlinks_and_special_files_in_a_model_directory_are_refused(logistic_dir, tmp_path, capsys):
    model = tmp_path / "m"
    shutil.copytree(logistic_dir, model)
    rows = _rows(tmp_path, model)
    secret = tmp_path / "outside.bin"
    secret.write_bytes((model / "metrics.json").read_bytes())
    (model / "metrics.json").unlink()
    (model / "metrics.json").symlink_to(secret)  # same bytes, so the sha256 matches: only the link is wrong
    rc, err = _predict(model, rows, capsys)
    assert rc == 2 and "is a symbolic link" in _one_line(err)
    (model / "metrics.json").unlink()
    os.mkfifo(model / "metrics.json")  # a FIFO would block a reader forever
    rc, err = _predict(model, rows, capsys)
    assert rc == 2 and "not a regular file" in _one_line(err)


def test_card_values_that_size_allocations_are_validated(logistic_dir, tmp_path, capsys):
    model = tmp_path / "m"
    shutil.copytree(logistic_dir, model)
    card = json.loads((model / "model_card.json").read_text())
    card["init_args"]["ece_bins"] = 2_000_000_000  # 16 GB of metric state before the fix
    (model / "model_card.json").write_text(json.dumps(card))
    rc, err = _predict(model, _rows(tmp_path, model), capsys)
    assert rc == 2 and "ece_bins" in _one_line(err)
    card["init_args"]["ece_bins"] = 10
    card["input_spec"]["feature_names"] = [f"f{i}" for i in range(200_000)]  # layers sized far beyond the weights
    (model / "model_card.json").write_text(json.dumps(card))
    rc, err = _predict(model, _rows(tmp_path, model), capsys)
    assert rc == 2 and "differ from model.safetensors" in _one_line(err)


def test_a_deeply_nested_card_is_a_one_line_error(logistic_dir, tmp_path, capsys):
    model = tmp_path / "m"
    shutil.copytree(logistic_dir, model)
    (model / "model_card.json").write_text("[" * 200_000 + "]" * 200_000)
    rows = tmp_path / "r.csv"
    rows.write_text("a\n1\n")
    rc, err = _predict(model, rows, capsys)
    assert rc == 2 and "nested deeper" in _one_line(err)


# ------------------------------------------------------------------------------------------------ checkpoints
def test_last_is_resolved_once_and_the_pickled_newer_file_is_refused(tmp_cwd, capsys, monkeypatch):
    """A benign last.ckpt and a pickled last-v1.ckpt: Lightning picks the newer file, so that file is checked."""
    base = ["--model-type", "logistic", *TINY]
    assert classic_main(base) == 0
    ckpt_dir = tmp_cwd / "checkpoints" / "logistic"
    assert (ckpt_dir / "last.ckpt").is_file()
    marker = tmp_cwd / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    good = torch.load(ckpt_dir / "last.ckpt", map_location="cpu", weights_only=True)
    torch.save({**good, "payload": Evil()}, ckpt_dir / "last-v1.ckpt")
    os.utime(ckpt_dir / "last-v1.ckpt", (os.path.getmtime(ckpt_dir / "last.ckpt") + 10,) * 2)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # turns off torch's own default
    capsys.readouterr()
    assert classic_main([*base, "--epochs", "2", "--ckpt-path", "last"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "last-v1.ckpt" in line and "not a safe Lightning checkpoint" in line
    assert not marker.exists()


def test_class_path_in_a_checkpoint_is_checked_before_it_is_imported(tmp_cwd, capsys):
    side_effect = tmp_cwd / "imported"
    (tmp_cwd / "evil_plugin.py").write_text(f"open({str(side_effect)!r}, 'w').write('x')\nclass Model: pass\n")
    import sys

    sys.path.insert(0, str(tmp_cwd))
    try:
        torch.save({"state_dict": {}, "hyper_parameters": {"_class_path": "evil_plugin.Model"}}, tmp_cwd / "c.ckpt")
        assert classic_main(["--model-type", "logistic", *TINY, "--ckpt-path", "c.ckpt"]) == 2
        assert "'evil_plugin'" in _one_line(capsys.readouterr().err)
        config = tmp_cwd / "c.yaml"
        config.write_text((Path(__file__).resolve().parent.parent / "configs" / "logistic.yaml").read_text()
                          .replace("lightning_modules.logistic.LogisticClassifier", "evil_plugin.Model", 1))
        assert "evil_plugin.Model" in config.read_text()
        assert classic_main(["--model-type", "logistic", *TINY, "--config", str(config)]) == 2
        assert "not trusted" in _one_line(capsys.readouterr().err)
    finally:
        sys.path.remove(str(tmp_cwd))
    assert not side_effect.exists()


# ------------------------------------------------------------------------------------------------ secrets
def test_client_errors_are_stored_as_class_and_redacted_message_in_every_encoding(tmp_path):
    from nethical.data.kaggle import fetch_dataset
    from nethical.data.files import DataUnavailableError

    user, key = "alice", "k3y-Secret+/value99"
    basic = base64.b64encode(f"{user}:{key}".encode()).decode()

    class Leaky:
        def download(self, slug, dest_dir):
            raise ConnectionError(f"401 Unauthorized: GET https://{user}:{key}@www.kaggle.com/api?key={quote(key, safe='')} "
                                  f"headers={{'Authorization': 'Basic {basic}'}} token={key} raw {basic}")

    env = {"KAGGLE_USERNAME": user, "KAGGLE_KEY": key}
    with pytest.raises(DataUnavailableError) as info:
        fetch_dataset("owner/data", tmp_path / "cache", client=Leaky(), env=env, home=tmp_path)
    message = str(info.value)
    assert "ConnectionError: 401 Unauthorized" in message
    for leaked in (key, quote(key, safe=""), basic, base64.b64encode(key.encode()).decode()):
        assert leaked not in message


def test_events_are_scrubbed_before_any_callback_records_them(monkeypatch):
    from callbacks.events import emit

    key = "zz-top-secret-99"
    monkeypatch.setenv("KAGGLE_KEY", key)
    got = []

    class Recorder:
        def record_event(self, trainer, pl_module, event_type, facts):
            got.append(facts)

    class FakeTrainer:
        lightning_module = None
        callbacks = [Recorder()]

    emit(FakeTrainer(), "promotion_decision", data_source={"reason": f"fallback: Authorization: Bearer {key}x1"},
         note=base64.b64encode(key.encode()).decode())
    assert key not in json.dumps(got) and base64.b64encode(key.encode()).decode() not in json.dumps(got)


# ------------------------------------------------------------------------------------------------ paths
def test_control_characters_in_models_dir_are_refused_before_anything_is_printed(tmp_cwd, capsys):
    rc = classic_main(["--model-type", "logistic", *TINY, "--models-dir", "m\n[INFO] PROMOTED logistic: accuracy=0.9999"])
    out, err = capsys.readouterr()
    assert rc == 2 and "control character" in _one_line(err) and "PROMOTED" not in out
    assert not (tmp_cwd / "m\n[INFO] PROMOTED logistic: accuracy=0.9999").exists()


def test_an_overlong_path_component_exits_2_naming_the_flag(tmp_cwd, capsys):
    rc = classic_main(["--model-type", "logistic", *TINY, "--models-dir", "x" * 300])
    assert rc == 2 and "--models-dir" in _one_line(capsys.readouterr().err)
    rc = nethical_main(["predict", "--model-dir", "m", "--input", "y" * 300])
    assert rc == 2 and "--input" in _one_line(capsys.readouterr().err)


def test_os_errors_on_paths_exit_2_naming_the_path(capsys):
    from nethical.cli.errors import run_guarded

    def boom() -> int:
        raise OSError(36, "File name too long", "/tmp/" + "z" * 300)

    assert run_guarded(boom) == 2
    assert "File name too long" in _one_line(capsys.readouterr().err)


def test_predict_reads_a_fifo_and_names_a_directory(logistic_dir, tmp_path, capsys):
    rows = _rows(tmp_path, logistic_dir).read_text()
    fifo = tmp_path / "rows.csv.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(rows))
    writer.start()
    capsys.readouterr()
    rc = nethical_main(["predict", "--model-dir", str(logistic_dir), "--input", str(fifo)])
    writer.join(timeout=10)
    out, err = capsys.readouterr()
    assert rc == 0 and '"probability"' in out, err
    rc = nethical_main(["predict", "--model-dir", str(logistic_dir), "--input", str(tmp_path)])
    assert rc == 2 and "is a directory" in _one_line(capsys.readouterr().err)


def test_a_deeply_nested_input_row_is_a_one_line_error(logistic_dir, tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    capsys.readouterr()
    rc = nethical_main(["predict", "--model-dir", str(logistic_dir), "--input", str(rows)])
    assert rc == 2 and "nested deeper" in _one_line(capsys.readouterr().err)
