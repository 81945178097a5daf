"""KaggleDataModule with a fake client: cached download, provenance, fallback with a reason, require_real_data."""

from __future__ import annotations

from pathlib import Path

import pytest

from datamodules.kaggle import KaggleDataModule
from nethical.exceptions import ConfigError, DataError

SECRET = "kaggle-secret-key-987654321"


class FakeClient:
    def __init__(self, rows: int = 300, error: Exception | None = None) -> None:
        self.rows, self.error, self.calls = rows, error, 0

    def download(self, slug: str, dest_dir: Path) -> Path:
        self.calls += 1
        if self.error:
            raise self.error
        (dest_dir / "README.md").write_text("not data")
        (dest_dir / "flows.csv").write_text(
            "bytes,proto,verdict\n" + "".join(f"{i},{'tcp' if i % 3 else 'udp'},{'malicious' if i % 3 == 0 else 'benign'}\n" for i in range(self.rows))
        )
        return dest_dir


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "alice")
    monkeypatch.setenv("KAGGLE_KEY", SECRET)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def make(tmp_path: Path, client: FakeClient, **kw) -> KaggleDataModule:
    dm = KaggleDataModule(datasets=["acme/net-flows"], cache_dir=str(tmp_path / "cache"), label_column="verdict",
                          split_strategy="stratified", **kw)
    dm.client = client
    return dm


def test_download_prepare_and_provenance(tmp_path: Path, creds: None) -> None:
    client = FakeClient()
    dm = make(tmp_path, client)
    dm.setup("fit")
    p = dm.provenance
    assert p["source"] == "kaggle" and p["kaggle"] == [{"slug": "acme/net-flows", "version": "latest"}]
    assert p["files"][0]["path"] == "acme/net-flows/latest/flows.csv" and p["rows_used"] == 300
    assert p["label_mapping"]["positive"] == ["malicious"] and "proto=tcp" in dm.feature_names
    assert SECRET not in repr(p)
    again = make(tmp_path, client, no_download=True)
    again.setup("fit")
    assert client.calls == 1 and again.provenance["files"] == p["files"]


def test_falls_back_to_synthetic_with_reason(tmp_path: Path, creds: None, capsys: pytest.CaptureFixture) -> None:
    dm = make(tmp_path, FakeClient(error=ConnectionError(f"no route to host (key={SECRET})")), num_samples=500)
    dm.setup("fit")
    p = dm.provenance
    assert p["source"] == "synthetic" and "download of Kaggle dataset acme/net-flows failed (ConnectionError" in p["reason"]
    assert p["requested"] == {"source": "kaggle", "datasets": ["acme/net-flows"], "no_download": False}
    out = capsys.readouterr().out
    assert "[WARN] using synthetic data (risk) instead of real data" in out and SECRET not in out + repr(p)


def test_no_credentials_fallback_and_require_real_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr("nethical.data.kaggle.resolve_credentials.__defaults__", (None, None, False))
    dm = make(tmp_path, FakeClient(), num_samples=300)
    dm.setup("fit")
    assert dm.provenance["source"] == "synthetic" and "no Kaggle credentials" in dm.provenance["reason"]
    strict = make(tmp_path, FakeClient(), require_real_data=True)
    with pytest.raises(DataError, match=r"real data is required .* no Kaggle credentials"):
        strict.setup("fit")


def test_dataset_without_data_files_falls_back(tmp_path: Path, creds: None) -> None:
    class DocsOnly(FakeClient):
        def download(self, slug: str, dest_dir: Path) -> Path:
            (dest_dir / "README.md").write_text("docs")
            return dest_dir

    dm = make(tmp_path, DocsOnly(), num_samples=300)
    dm.setup("fit")
    assert dm.provenance["source"] == "synthetic" and "hold no CSV" in dm.provenance["reason"]


def test_bad_slug_is_a_config_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'\.\./\.\./etc' is not a Kaggle dataset slug"):
        KaggleDataModule(datasets=["../../etc"], cache_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"lists no dataset"):
        KaggleDataModule(cache_dir=str(tmp_path))
