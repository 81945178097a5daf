"""One path for every model type (issue #16): composed configs, the classic CLI passing only what the user set,
short class names with a "did you mean", LightningCLI optimizers, and output directories checked before training."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import torch
import yaml

from nethical.cli import main as nethical_main
from nethical.cli.classic import MODEL_TYPES, build_parser, lightning_args
from nethical.cli.classic import main as classic_main
from nethical.cli.configs import CONFIG_FLAGS, TRAINER_DEFAULTS, flag_defaults, lookup
from nethical.cli.lightning_cli import NethicalCLI

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
GATE_OFF = ["--gate.min_accuracy", "0", "--gate.max_ece", "1"]
TORCH_TYPES = ("heuristic", "logistic", "simple_transformer")
SKLEARN_TYPES = ("anomaly", "correlation")


def _cli(*args: str) -> NethicalCLI:
    return NethicalCLI(args=list(args), run=False)


def _files(root: Path) -> list:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# ---------------------------------------------------------------- composed configs
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_every_config_gets_the_shared_trainer_settings_and_a_last_checkpoint_for_its_type(tmp_cwd, model_type):
    cli = _cli("--config", str(CONFIGS / f"{model_type}.yaml"))
    assert cli.config.trainer.use_distributed_sampler is False  # the datamodule shards rows itself
    checkpoints = cli.trainer.checkpoint_callbacks
    assert len(checkpoints) == 1 and checkpoints[0].save_last is True
    assert Path(checkpoints[0].dirpath) == tmp_cwd / "checkpoints" / model_type
    assert cli.trainer.logger.name == model_type and Path(cli.trainer.logger.save_dir) == Path("lightning_logs")


def test_model_configs_hold_only_what_differs_from_the_shared_defaults():
    shared = yaml.safe_load(TRAINER_DEFAULTS.read_text())["trainer"]
    for model_type in MODEL_TYPES:
        trainer = yaml.safe_load((CONFIGS / f"{model_type}.yaml").read_text()).get("trainer") or {}
        repeated = {k: v for k, v in trainer.items() if k in shared and shared[k] == v}
        assert not repeated, (model_type, repeated)
        assert "logger" not in trainer and "callbacks" not in trainer, model_type


def test_a_swapped_model_class_writes_under_its_own_type_not_the_configs_name(tmp_cwd):
    cli = _cli("--config", str(CONFIGS / "logistic.yaml"), "--model", "lightning_modules.heuristic.HeuristicScorecard")
    assert cli.model.model_type == "heuristic"
    assert Path(cli.trainer.checkpoint_callback.dirpath) == tmp_cwd / "checkpoints" / "heuristic"
    assert cli.trainer.logger.name == "heuristic"


def test_a_configured_checkpoint_without_a_directory_gets_the_types_directory(tmp_cwd):
    cli = _cli("--config", str(CONFIGS / "anomaly.yaml"), "--trainer.callbacks", "ModelCheckpoint",
               "--trainer.callbacks.monitor", "val/acc", "--trainer.callbacks.mode", "max")
    checkpoints = cli.trainer.checkpoint_callbacks
    assert len(checkpoints) == 1 and checkpoints[0].monitor == "val/acc"  # the user's, not a second one
    assert Path(checkpoints[0].dirpath) == tmp_cwd / "checkpoints" / "anomaly"


# ---------------------------------------------------------------- the classic CLI passes only what the user set
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_classic_without_flags_trains_exactly_the_configs_model(tmp_cwd, model_type):
    ns = build_parser().parse_args(["--model-type", model_type])
    args = lightning_args(ns, model_type)
    assert args[:2] == ["fit", "--config"] and len(args) == 3  # nothing forced over the config
    classic = _cli(*args[1:]).config.as_dict()
    direct = _cli("--config", str(CONFIGS / f"{model_type}.yaml")).config.as_dict()
    for key in ("model", "data", "trainer", "seed_everything", "gate"):
        assert classic[key] == direct[key], key
    config = yaml.safe_load((CONFIGS / f"{model_type}.yaml").read_text())
    assert classic["data"]["init_args"]["batch_size"] == config["data"]["init_args"]["batch_size"]


def test_classic_flags_that_are_set_still_override_the_config(tmp_cwd):
    ns = build_parser().parse_args(["--model-type", "anomaly", "--batch-size", "16", "--epochs", "2", "--seed", "3"])
    config = _cli(*lightning_args(ns, "anomaly")[1:]).config
    assert config.data.init_args.batch_size == 16 and config.trainer.max_epochs == 2
    assert config.seed_everything == 3 and config.data.init_args.seed == 3


def _readme_defaults() -> dict:
    rows = re.findall(r"^\| `(--[\w-]+)` \| ([^|]+) \|", (ROOT / "README.md").read_text(), flags=re.M)
    return {flag: cell.strip() for flag, cell in rows}


def test_readme_table_of_defaults_matches_the_configs_and_the_gate():
    from callbacks.promotion_gate import PromotionGate

    readme = _readme_defaults()
    from_configs = flag_defaults(list(MODEL_TYPES))
    for flag in CONFIG_FLAGS:
        assert readme[flag] == from_configs[flag], flag
    gate = inspect.signature(PromotionGate).parameters
    for flag, name in (("--models-dir", "models_dir"), ("--promotion-max-ece", "max_ece"),
                       ("--promotion-min-accuracy", "min_accuracy")):
        assert readme[flag] == str(gate[name].default), flag


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_the_defaults_read_from_the_configs_are_what_lightning_cli_composes(tmp_cwd, model_type):
    config = _cli("--config", str(CONFIGS / f"{model_type}.yaml")).config.as_dict()
    described = flag_defaults([model_type])
    for flag, key in CONFIG_FLAGS.items():
        assert described[flag] == str(lookup(config, key)), flag


# ---------------------------------------------------------------- discoverable classes
def test_short_class_names_work_for_model_and_data(tmp_cwd):
    cli = _cli("--config", str(CONFIGS / "logistic.yaml"), "--model", "HeuristicScorecard",
               "--data", "FileDataModule", "--data.data_files", "rows.csv")
    assert type(cli.model).__name__ == "HeuristicScorecard"
    assert type(cli.datamodule).__name__ == "FileDataModule"


def test_model_help_takes_a_short_name(capsys):
    assert nethical_main(["fit", "--model.help", "LogisticClassifier"]) == 0
    out = capsys.readouterr().out
    assert "LogisticClassifier" in out and "--model.weight_decay" in out


def test_fit_help_lists_the_five_model_types(capsys):
    assert nethical_main(["fit", "--help"]) == 0
    out = "".join(capsys.readouterr().out.split())  # help wraps long class paths mid-word
    for name in ("heuristic.HeuristicScorecard", "logistic.LogisticClassifier",
                 "simple_transformer.SimpleTransformerClassifier", "anomaly.AnomalySequenceClassifier",
                 "correlation.CorrelationClassifier"):
        assert f"lightning_modules.{name}" in out, name


@pytest.mark.parametrize("args, hint", [
    (["--trainer.max_epohcs", "1"], "did you mean --trainer.max_epochs?"),
    (["--model", "HeuristicScorcard"], "did you mean HeuristicScorecard?"),
    (["--data", "FileDataModul"], "did you mean FileDataModule?"),
])
def test_a_typo_gets_the_short_usage_and_a_did_you_mean(tmp_cwd, capsys, args, hint):
    rc = nethical_main(["fit", "--config", str(CONFIGS / "logistic.yaml"), *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert hint in err
    assert err.startswith("usage: nethical fit --config FILE") and len(err.splitlines()) == 2
    assert list(tmp_cwd.iterdir()) == []


# ---------------------------------------------------------------- optimizers
@pytest.mark.parametrize("model_type", TORCH_TYPES)
def test_lightning_cli_optimizer_and_scheduler_train_a_torch_model(tmp_cwd, model_type):
    rc = nethical_main(["fit", "--config", str(CONFIGS / f"{model_type}.yaml"), "--trainer.max_epochs", "1",
                        "--data.init_args.num_samples", "300", "--trainer.logger", "false", *GATE_OFF,
                        "--optimizer", "SGD", "--optimizer.lr", "0.05", "--optimizer.momentum", "0.9",
                        "--lr_scheduler", "StepLR", "--lr_scheduler.step_size", "3", "--lr_scheduler.gamma", "0.5"])
    assert rc == 0
    ckpt = torch.load(tmp_cwd / "checkpoints" / model_type / "last.ckpt", weights_only=True, map_location="cpu")
    group = ckpt["optimizer_states"][0]["param_groups"][0]
    assert group["momentum"] == 0.9 and group["lr"] == pytest.approx(0.05)  # SGD, not the model's AdamW
    assert ckpt["lr_schedulers"][0]["step_size"] == 3 and ckpt["lr_schedulers"][0]["gamma"] == 0.5


@pytest.mark.parametrize("flag", ["--optimizer", "--lr_scheduler"])
def test_the_scikit_learn_adapter_refuses_optimizers_with_one_line(tmp_cwd, capsys, flag):
    value = "SGD" if flag == "--optimizer" else "StepLR"
    extra = ["--lr_scheduler.step_size", "1"] if flag == "--lr_scheduler" else []
    rc = nethical_main(["fit", "--config", str(CONFIGS / "correlation.yaml"), flag, value, *extra])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith(f"error: {flag} does not apply to CorrelationClassifier: scikit-learn fits its estimator")
    assert err.count("\n") == 1
    assert list(tmp_cwd.iterdir()) == []


# ---------------------------------------------------------------- output directories before training
def test_lightning_cli_checks_the_models_dir_before_training(tmp_cwd, capsys):
    (tmp_cwd / "afile").write_text("not a directory")
    rc = nethical_main(["fit", "--config", str(CONFIGS / "logistic.yaml"), "--gate.models_dir", "afile/models"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "models dir 'afile/models' is not usable" in err and "--gate.models_dir" in err and err.count("\n") == 1
    assert _files(tmp_cwd) == ["afile"]  # no checkpoint, log or model: training never started


def test_lightning_cli_checks_the_logs_dir_before_training(tmp_cwd, capsys):
    (tmp_cwd / "afile").write_text("not a directory")
    rc = nethical_main(["fit", "--config", str(CONFIGS / "heuristic.yaml"),
                        "--trainer.logger.init_args.save_dir", "afile/logs"])
    assert rc == 2 and "logs dir 'afile/logs' is not usable" in capsys.readouterr().err
    assert _files(tmp_cwd) == ["afile"]


# ---------------------------------------------------------------- resume, every type, both CLIs
def _epoch_lines(out: str, model_type: str) -> list:
    return re.findall(rf"\[{model_type}\] epoch (\d+)/(\d+)", out)


@pytest.mark.slow
@pytest.mark.parametrize("cli", ["nethical-train", "nethical fit"])
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_a_run_stopped_after_epoch_1_resumes_at_epoch_2_with_ckpt_path_last(tmp_cwd, capsys, cli, model_type):
    if cli == "nethical-train":
        def train(epochs: int, *extra: str) -> int:
            return classic_main(["--model-type", model_type, "--epochs", str(epochs), "--num-samples", "300",
                                 "--no-tensorboard", "--promotion-min-accuracy", "0", "--promotion-max-ece", "1",
                                 *extra])
        resume = ("--ckpt-path", "last")
    else:
        def train(epochs: int, *extra: str) -> int:
            return nethical_main(["fit", "--config", str(CONFIGS / f"{model_type}.yaml"), "--trainer.max_epochs",
                                  str(epochs), "--data.init_args.num_samples", "300", "--trainer.logger", "false",
                                  *GATE_OFF, *extra])
        resume = ("--ckpt_path", "last")

    def epochs_completed() -> int:
        ckpt = torch.load(tmp_cwd / "checkpoints" / model_type / "last.ckpt", weights_only=True, map_location="cpu")
        return ckpt["loops"]["fit_loop"]["epoch_progress"]["total"]["completed"]

    assert train(1) == 0
    first = epochs_completed()  # 0 or 1: torch models checkpoint inside the epoch, the adapter after it
    capsys.readouterr()
    assert train(2, *resume) == 0
    captured = capsys.readouterr()
    assert "No checkpoint will be loaded" not in captured.out + captured.err
    assert _epoch_lines(captured.out, model_type) == [("2", "2")]  # it resumed; it did not start over
    assert epochs_completed() == first + 1


def test_a_classic_typo_gets_the_short_usage_and_a_did_you_mean(tmp_cwd, capsys):
    rc = classic_main(["--model-type", "logistic", "--batch-sise", "3"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("usage: nethical-train --model-type TYPE") and len(err.splitlines()) == 2
    assert "unrecognized arguments: --batch-sise 3 (did you mean --batch-size?)" in err
    assert classic_main(["--model-type", "transformer"]) == 2
    assert "(did you mean simple_transformer?)" in capsys.readouterr().err
    assert list(tmp_cwd.iterdir()) == []
