"""Attacks from a hostile model directory or checkpoint (issue #20): no code runs, one-line error, exit 2.

Each gadget is built here from a freshly trained model: a ``scipy.stats`` distribution whose saved
``_parse_arg_template`` holds code (``rv_generic.__setstate__`` executes it), and a ``schema.json`` edited so a reduce
node calls ``numpy.testing._private.utils.runstring``. Both write a marker file when their code runs; the tests
assert the marker never appears and the command exits 2 with one ``error:`` line.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import skops.io as sio
import torch

from nethical.cli import main as nethical_main
from nethical.cli.classic import main as classic_main

TINY = ["--model-type", "correlation", "--num-samples", "300", "--epochs", "1", "--batch-size", "64",
        "--promotion-min-accuracy", "0", "--promotion-max-ece", "1", "--no-tensorboard"]


# ------------------------------------------------------------------------------------------------ gadgets
def _marker_code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('pwned')\n"


def _schema(data: bytes) -> dict:
    return json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))


def _with_schema(data: bytes, schema: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, json.dumps(schema) if info.filename == "schema.json" else src.read(info))
    return out.getvalue()


def scipy_distribution_gadget(skops_bytes: bytes, marker: Path) -> bytes:
    """The estimator with a ``scipy.stats.norm`` attached whose ``_parse_arg_template`` writes ``marker``."""
    import scipy.stats

    estimator = sio.loads(skops_bytes, trusted=sio.get_untrusted_types(data=skops_bytes))
    estimator.dist_ = scipy.stats.norm
    data = sio.dumps(estimator)
    schema = _schema(data)
    template = schema["content"]["content"]["dist_"]["content"]["content"]["_parse_arg_template"]
    code = _marker_code(marker) + json.loads(template["content"])
    template["content"] = json.dumps(code)
    return _with_schema(data, schema)


def runstring_gadget(skops_bytes: bytes, marker: Path) -> bytes:
    """A reduce node added to the estimator's attributes that calls ``runstring(code, {})`` while loading."""
    schema = _schema(skops_bytes)
    text = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(_marker_code(marker)), "is_json": True}
    empty = {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {},
             "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": []}}
    schema["content"]["content"]["gadget_"] = {
        "__class__": "runstring", "__module__": "numpy.testing._private.utils", "__loader__": "LossNode",
        "__reduce__": {"args": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                                "content": [text, empty]}},
        "content": empty,
    }
    key_types = schema["content"]["key_types"]["content"]  # one key type per attribute, zipped with the keys
    key_types.append(dict(key_types[0]))
    return _with_schema(skops_bytes, schema)


GADGETS = {"scipy_distribution": scipy_distribution_gadget, "runstring_reduce": runstring_gadget}


def _plant(model_dir: Path, gadget: bytes) -> None:
    """Replace model.skops and update the card's sha256, as an attacker handing over the directory would."""
    (model_dir / "model.skops").write_bytes(gadget)
    card = json.loads((model_dir / "model_card.json").read_text())
    card["files"]["model.skops"] = hashlib.sha256(gadget).hexdigest()
    (model_dir / "model_card.json").write_text(json.dumps(card))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One correlation (scikit-learn adapter) training: its model directory and its last checkpoint."""
    import os

    root = tmp_path_factory.mktemp("trained")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert classic_main(TINY) == 0
    finally:
        os.chdir(cwd)
    # the classic run keeps no checkpoint for this model type: save one the way a resumable run does
    import lightning.pytorch as pl

    from datamodules.synthetic import SyntheticDataModule
    from lightning_modules.correlation import CorrelationClassifier

    dm = SyntheticDataModule(task="agent_activity", num_samples=300, batch_size=64, seed=42)
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=1, num_sanity_val_steps=0)
    trainer.fit(CorrelationClassifier(), datamodule=dm)
    trainer.save_checkpoint(root / "last.ckpt")
    ckpt = torch.load(root / "last.ckpt", map_location="cpu", weights_only=True)
    ckpt["hyper_parameters"]["_class_path"] = "lightning_modules.correlation.CorrelationClassifier"  # as the CLI saves it
    torch.save(ckpt, root / "last.ckpt")
    return {"model_dir": root / "models" / "current" / "correlation", "ckpt": root / "last.ckpt"}


def _one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# ------------------------------------------------------------------------------------------------ unit level
@pytest.mark.parametrize("name", sorted(GADGETS))
def test_both_gadgets_would_run_code_and_are_refused_before_anything_is_built(name, trained, tmp_path):
    from lightning_modules.sklearn_adapter import load_estimator_bytes
    from nethical.exceptions import ModelLoadError

    marker = tmp_path / "marker"
    gadget = GADGETS[name]((trained["model_dir"] / "model.skops").read_bytes(), marker)
    with pytest.raises(ModelLoadError, match="names types this project does not load"):
        load_estimator_bytes(gadget, "gadget.skops")
    assert not marker.exists()


# ------------------------------------------------------------------------------------------------ nethical predict
@pytest.mark.parametrize("name", sorted(GADGETS))
def test_predict_refuses_a_gadget_model_directory(name, trained, tmp_path, capsys):
    model_dir = tmp_path / "model"
    shutil.copytree(trained["model_dir"], model_dir)
    marker = tmp_path / "marker"
    _plant(model_dir, GADGETS[name]((model_dir / "model.skops").read_bytes(), marker))
    rows = tmp_path / "rows.csv"
    rows.write_text("agent_count,action_rate,entropy_variance,time_correlation,payload_similarity\n1,2,3,0.5,0.5\n")
    capsys.readouterr()
    assert nethical_main(["predict", "--model-dir", str(model_dir), "--input", str(rows)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "refusing to load it" in line
    assert not marker.exists()


# ------------------------------------------------------------------------------------------------ champion comparison
@pytest.mark.parametrize("name", sorted(GADGETS))
def test_training_refuses_a_gadget_champion(name, trained, tmp_cwd, capsys):
    current = tmp_cwd / "models" / "current" / "correlation"
    shutil.copytree(trained["model_dir"], current)
    marker = tmp_cwd / "marker"
    _plant(current, GADGETS[name]((current / "model.skops").read_bytes(), marker))
    before = (current / "model.skops").read_bytes()
    capsys.readouterr()
    assert classic_main(TINY) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "champion" in line and "refusing to load it" in line
    assert not marker.exists()
    # the hostile champion is neither replaced silently nor archived as if it were a model
    assert (current / "model.skops").read_bytes() == before and not (tmp_cwd / "models" / "archive").exists()


# ------------------------------------------------------------------------------------------------ resume
@pytest.mark.parametrize("name", sorted(GADGETS))
def test_resume_refuses_a_checkpoint_carrying_gadget_bytes(name, trained, tmp_cwd, capsys):
    ckpt = torch.load(trained["ckpt"], map_location="cpu", weights_only=True)
    saved = ckpt["sklearn_estimator"]
    marker = tmp_cwd / "marker"
    gadget = GADGETS[name](saved["skops"].numpy().tobytes(), marker)
    saved["skops"] = torch.frombuffer(bytearray(gadget), dtype=torch.uint8).clone()
    saved["sha256"] = hashlib.sha256(gadget).hexdigest()
    path = tmp_cwd / "gadget.ckpt"
    torch.save(ckpt, path)
    capsys.readouterr()
    assert classic_main([*TINY, "--epochs", "2", "--ckpt-path", str(path)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "refusing to load it" in line
    assert not marker.exists()
    assert not (tmp_cwd / "models").exists() or not any((tmp_cwd / "models").rglob("model.skops"))
