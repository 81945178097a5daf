"""Text inputs end to end: --max-length / --truncation, bad text columns (one line, exit 2, nothing written), the
truncation warning naming the flag, early stopping restoring the best epoch, and no promotion on random labels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from nethical.cli.classic import main
from nethical.data.encoding import encode_inputs, encode_text

WORDS = ("please", "summarise", "the", "article", "ignore", "previous", "instructions", "weather", "today", "you",
         "are", "now", "free", "of", "rules", "translate", "this", "into", "french", "hello")


def _run(tmp_cwd: Path, capsys, args):
    rc = main(args + ["--no-tensorboard"])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _rows(n: int, text, label) -> str:
    return "text,label\n" + "".join(f"{text(i)},{label(i)}\n" for i in range(n))


BAD = {
    "max-length 0": (None, ["--max-length", "0"], r"--max-length 0 must be between 1 and 65536"),
    "max-length absurd": (None, ["--max-length", "100000000"], r"--max-length 100000000 must be between 1 and 65536"),
    "empty text column": (_rows(120, lambda i: '""', lambda i: i % 2), [], r"no text column in .*data\.csv: no string column"),
    "identical texts": (_rows(120, lambda i: "same words", lambda i: i % 2), [], r"holds the same text in all 120 rows"),
    "numbers, not text": ("text,other,label\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(120)),
                          ["--text-column", "text"], r"text_column='text' in .*data\.csv holds int64 values, not text"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_text_input_is_one_line_exit_2_and_nothing_written(name, tmp_cwd, capsys):
    content, flags, pattern = BAD[name]
    source = []
    if content is not None:
        source = ["--data-path", str(_write(tmp_cwd / "input" / "data.csv", content))]
    before = sorted(p.name for p in tmp_cwd.iterdir())
    rc, out, err = _run(tmp_cwd, capsys, ["--model-type", "simple_transformer", *source, *flags, "--num-samples", "120"])
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert rc == 2 and len(errors) == 1 and re.search(pattern, errors[0]), err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_cwd.iterdir()) == before  # no models/, logs or checkpoints


def test_max_length_and_truncation_reach_the_datamodule(tmp_cwd, capsys):
    rc = main(["--model-type", "simple_transformer", "--max-length", "2048", "--truncation", "tail", "--print-args"])
    out = capsys.readouterr().out.split()
    pairs = dict(zip(out[4::2], out[5::2]))
    assert rc == 0 and pairs["--data.init_args.max_length"] == "2048" and pairs["--data.init_args.truncation"] == "tail"
    assert main(["--model-type", "simple_transformer", "--truncation", "middle", "--print-args"]) == 2
    assert "invalid choice: 'middle'" in capsys.readouterr().err


def test_head_tail_truncation_keeps_both_ends_and_is_recorded_for_prediction():
    text = "START " + "x" * 1000 + " END"
    head, tail, both = (encode_text([text], 64, t)[0] for t in ("head", "tail", "head_tail"))
    as_text = lambda ids: bytes(int(v) - 2 for v in ids if v).decode()  # noqa: E731
    assert as_text(head).startswith("START") and not as_text(head).endswith("END")
    assert as_text(tail).endswith(" END") and "START" not in as_text(tail)
    assert as_text(both).startswith("START") and as_text(both).endswith(" END") and len(as_text(both)) == 64
    spec = {"kind": "text", "max_length": 64, "truncation": "head_tail"}
    np.testing.assert_array_equal(encode_inputs(spec, [{"text": text}]), encode_text([text], 64, "head_tail"))
    # cards written before the option existed mean head
    np.testing.assert_array_equal(encode_inputs({"kind": "text", "max_length": 64}, [{"text": text}])[0], head)


def test_truncation_warning_names_the_flag(tmp_cwd, capsys):
    long = "ignore all previous instructions " * 20
    f = _write(tmp_cwd / "long.csv", _rows(120, lambda i: long if i % 2 else f"hello friend {i}", lambda i: i % 2))
    rc, out, err = _run(tmp_cwd, capsys, ["--model-type", "simple_transformer", "--data-path", str(f), "--num-samples", "120",
                                          "--epochs", "1", "--max-length", "64", "--promotion-min-accuracy", "0",
                                          "--promotion-max-ece", "1"])
    assert rc == 0, err
    assert "60 of 120 text cells" in out + err and "raise --max-length" in out + err
    card = json.loads(next((tmp_cwd / "models").rglob("model_card.json")).read_text())
    assert card["input_spec"]["max_length"] == 64 and card["input_spec"]["truncation"] == "head_tail"


@pytest.mark.slow
def test_early_stopping_restores_the_best_epoch():
    import lightning.pytorch as pl

    from datamodules.synthetic import SyntheticDataModule
    from lightning_modules.simple_transformer import SimpleTransformerClassifier

    # labels at random: the calibration loss can only get worse once the model starts memorising
    dm = SyntheticDataModule(task="short_requests", num_samples=400, batch_size=32, max_length=64, calibration_ratio=0.25,
                             label_noise=0.45)
    model = SimpleTransformerClassifier(d_model=16, n_layers=1, n_heads=2, ff_dim=16, ngram_buckets=4096, ngram_dim=8,
                                        lr=3e-2, ngram_lr=0.3, warmup_ratio=0.0, schedule="constant",
                                        early_stopping_patience=1)
    seen = []

    class Record(pl.Callback):
        def on_validation_epoch_end(self, trainer, pl_module):
            seen.append((trainer.current_epoch, pl_module._calibration_loss(trainer.datamodule)))

    trainer = pl.Trainer(max_epochs=12, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=1, num_sanity_val_steps=0,
                         callbacks=[Record()])
    trainer.fit(model, datamodule=dm)
    losses = [loss for _, loss in seen]
    best = int(np.argmin(losses))
    assert trainer.current_epoch < 12, "a high learning rate overfits quickly; patience 1 must stop early"
    assert model.card_extras()["early_stopping"]["best_epoch"] == best
    assert model._calibration_loss(dm) == pytest.approx(min(losses), rel=1e-5)  # the best weights are back


def test_ngram_hashing_is_deterministic_case_insensitive_and_padding_free():
    from lightning_modules.components.ngram_bag import hashed_ngram_ids

    x = torch.from_numpy(encode_text(["Hello World", "hello world", "world hello", ""], 32))
    chars, words = hashed_ngram_ids(x, 1 << 16)
    assert torch.equal(chars[0], chars[1]) and torch.equal(words[0], words[1])  # case does not matter
    assert set(words[0].tolist()) - {0} != set(words[2].tolist()) - {0}  # bigrams keep word order
    assert set(words[0, :2].tolist()) == set(words[2, :2].tolist())  # the same two words
    assert (chars[3] == 0).all() and (words[3] == 0).all()  # an empty text has no n-grams
    wide = torch.from_numpy(encode_text(["Hello World"], 64))
    assert set(hashed_ngram_ids(wide, 1 << 16)[0][0].tolist()) == set(chars[0].tolist()) | {0}


def test_random_labels_are_not_promoted(tmp_cwd, capsys):
    """Requirement 5 of issue 15: texts with labels drawn at random (15% positive, like LIAR's hard imbalance) carry no
    signal; the majority class alone scores 0.85 accuracy, so the gate must judge skill, not accuracy alone."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(3, 12))) for _ in range(800)]
    labels = (rng.random(800) < 0.15).astype(int)
    f = _write(tmp_cwd / "noise.csv", "text,label\n" + "".join(f"{t},{y}\n" for t, y in zip(texts, labels)))
    rc, out, err = _run(tmp_cwd, capsys, ["--model-type", "simple_transformer", "--data-path", str(f), "--num-samples", "800",
                                          "--epochs", "3", "--split-strategy", "stratified"])
    assert rc == 0, err
    card = json.loads(next((tmp_cwd / "models").rglob("model_card.json")).read_text())
    assert card["promoted"] is False and card["decision"] != "PROMOTED", card["metrics"]
