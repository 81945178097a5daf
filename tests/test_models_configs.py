"""Every configs/<type>.yaml parses and instantiates through LightningCLI, with the estimator swappable from flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from nethical.cli.lightning_cli import NethicalCLI

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.yaml"))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_config_instantiates_its_model_type(config, tmp_cwd):
    cli = NethicalCLI(args=["--config", str(config)], run=False)
    assert cli.model.model_type == config.stem
    import yaml

    data_args = (yaml.safe_load(config.read_text())["data"].get("init_args") or {})
    assert cli.datamodule.num_samples == data_args.get("num_samples")  # synthetic configs: 10000; files: all rows


def test_five_model_types_have_configs():
    assert {c.stem for c in CONFIGS} >= {"heuristic", "logistic", "simple_transformer", "anomaly", "correlation"}


def test_estimator_is_swapped_from_the_command_line_without_code(tmp_cwd):
    config = next(c for c in CONFIGS if c.stem == "correlation")
    cli = NethicalCLI(args=["--config", str(config),
                            "--model.init_args.estimator", "sklearn.ensemble.RandomForestClassifier",
                            "--model.init_args.estimator.init_args.n_estimators", "7"], run=False)
    assert type(cli.model.estimator).__name__ == "RandomForestClassifier" and cli.model.estimator.n_estimators == 7
    assert cli.model.init_args()["estimator"]["init_args"]["n_estimators"] == 7
