"""FileDataModule on the five shared real datasets and on hand-made files: kinds, provenance, fallback, spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from datamodules.file import FileDataModule
from nethical.data.encoding import encode_inputs
from nethical.data.synthetic import SYNTHETIC_TASKS
from nethical.exceptions import ConfigError, DataError

ROOT = Path(__file__).resolve().parents[2]
# config -> (rows in the file, positives): each shared set is read through its configs/data/<name>.yaml options
EXPECTED = {
    "nsl_kdd": (25192, 11743),
    "sms_spam": (5574, 747),
    "hate_speech": (24783, 20620),
    "jailbreak_prompts": (1598, 525),
    "adfa_ld_syscalls": (5951, 746),
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nethical-cache")


def config(name: str) -> dict:
    cfg = yaml.safe_load((ROOT / "configs" / "data" / f"{name}.yaml").read_text())
    init = dict(cfg["init_args"])
    path = (ROOT / init["data_files"]).resolve()
    if not path.is_file():
        pytest.skip(f"shared dataset not present: {path}")
    init["data_files"] = str(path)
    return init


def real(name: str) -> Path:
    return Path(config(name)["data_files"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_shared_dataset_loads_with_its_config(name: str, cache: Path) -> None:
    init = config(name)
    rows, positives = EXPECTED[name]
    dm = FileDataModule(**{**init, "cache_dir": str(cache)})
    dm.setup("fit")
    p = dm.provenance
    kind = init["input_kind"]
    assert dm.input_kind == kind and p["source"] == "file" and p["rows_used"] == rows
    assert p["class_balance"]["1"] == positives and sum(dm.split_sizes.values()) == rows
    assert len(p["files"]) == 1 and len(p["files"][0]["sha256"]) == 64 and p["files"][0]["path"] == init["data_files"]
    x = dm.tensors("train")["x"]
    assert x.shape[0] == dm.split_sizes["train"]
    if kind == "tabular":
        assert "service=http" in dm.feature_names and "difficulty" not in dm.feature_names
        assert not any(n.startswith("attack_type") for n in dm.feature_names)
        assert dm.describe_rows("val", [0])[0].count("service=") == 1
    else:
        assert dm.input_spec["text_field"] == p[f"{kind}_column"] and x.shape[1] == init["max_length"]
        assert len(dm.describe_rows("val", [0, 1])) == 2


def test_every_data_config_instantiates(tmp_path: Path) -> None:
    from jsonargparse import ArgumentParser

    from datamodules.base import BaseDataModule

    for path in sorted((ROOT / "configs" / "data").glob("*.yaml")):
        parser = ArgumentParser(exit_on_error=False)
        parser.add_subclass_arguments(BaseDataModule, "data")
        cfg = parser.parse_args(["--data", str(path)])
        dm = parser.instantiate_classes(cfg).data
        assert isinstance(dm, FileDataModule), path.name


def test_sms_spam_needs_quote_none(cache: Path) -> None:
    path = real("sms_spam")
    dm = FileDataModule(data_files=str(path), input_kind="text", delimiter="\\t", cache_dir=str(cache))
    dm.setup("fit")
    assert dm.provenance["rows_used"] == 5572  # default quoting merges lines: the documented trap


def test_nsl_kdd_attack_type_with_negative_label(cache: Path) -> None:
    path = real("nsl_kdd")
    dm = FileDataModule(data_files=str(path), label_column="attack_type", negative_labels="normal",
                        drop_columns="difficulty,is_attack", cache_dir=str(cache), num_samples=3000)
    dm.setup("fit")
    mapping = dm.provenance["label_mapping"]
    assert mapping["negative"] == ["normal"] and "neptune" in mapping["positive"] and dm.provenance["rows_used"] == 3000


def test_second_setup_hits_the_cache(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("a,b,label\n" + "".join(f"{i},{i % 7},{i % 2}\n" for i in range(200)))
    hits = []
    for _ in range(2):
        dm = FileDataModule(data_files=str(f), cache_dir=str(tmp_path / "c"))
        dm.setup("fit")
        hits.append(dm.cache_hit)
    assert hits == [False, True]


def test_input_spec_rebuilds_categorical_rows(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    rng = np.random.default_rng(0)
    proto = rng.choice(["tcp", "udp", "icmp"], 300)
    f.write_text("proto,bytes,label\n" + "".join(f"{p},{i},{int(p == 'tcp')}\n" for i, p in enumerate(proto)))
    dm = FileDataModule(data_files=str(f), cache_dir=str(tmp_path / "c"), split_strategy="random")
    dm.setup("fit")
    val = dm.split("val")
    rows = [dict(zip(("proto", "bytes"), s.split(" "))) for s in dm.describe_rows("val", range(len(val)))]
    rows = [{k: v.split("=", 1)[1] for k, v in r.items()} for r in rows]
    np.testing.assert_array_equal(encode_inputs(dm.input_spec, rows), val.features)


def test_bad_options_fail_at_init() -> None:
    with pytest.raises(ConfigError, match=r"input_kind='image'"):
        FileDataModule(data_files="x.csv", input_kind="image")
    with pytest.raises(ConfigError, match=r"missing='fill'"):
        FileDataModule(data_files="x.csv", missing="fill")


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    dm = FileDataModule(data_files=str(tmp_path / "nope.csv"), cache_dir=str(tmp_path / "c"))
    with pytest.raises(DataError, match=r"nope.csv' does not exist"):
        dm.setup("fit")


@pytest.mark.parametrize("kind", ["tabular", "text", "sequence"])
def test_fallback_task_follows_the_input_kind(kind: str) -> None:
    tasks = [t for t, (k, _) in SYNTHETIC_TASKS.items() if k == kind]
    dm = FileDataModule(input_kind=kind, num_samples=200)
    if not tasks:
        with pytest.raises(DataError, match=rf"no synthetic {kind} task to fall back on"):
            dm._fallback("no data configured")
        return
    data = dm._fallback("no data configured")
    assert data.kind == kind and data.provenance["source"] == "synthetic" and data.provenance["task"] in tasks
    assert data.provenance["reason"] == "no data configured" and data.provenance["requested"]["source"] == "file"
    with pytest.raises(DataError, match=r"real data is required .* but no data configured"):
        FileDataModule(input_kind=kind, require_real_data=True)._fallback("no data configured")
