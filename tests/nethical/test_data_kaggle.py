"""nethical.data.kaggle: slugs never escape the cache, credentials never leak, downloads go through a fake client."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nethical.data.files import DataUnavailableError
from nethical.data.kaggle import MARKER, dataset_dir, fetch_dataset, parse_slug, read_slug_list, redact, resolve_credentials
from nethical.exceptions import ConfigError

SECRET = "k3y-s3cr3t-0123456789abcdef"
CREDS = {"KAGGLE_USERNAME": "alice", "KAGGLE_KEY": SECRET}


class FakeClient:
    """Writes a CSV into dest_dir, like kagglehub with output_dir."""

    def __init__(self, files=None, error: Exception | None = None) -> None:
        self.files = files if files is not None else {"data.csv": "x,label\n1,0\n2,1\n"}
        self.error = error
        self.calls: list[str] = []

    def download(self, slug: str, dest_dir: Path) -> Path:
        self.calls.append(slug)
        if self.error is not None:
            raise self.error
        for name, text in self.files.items():
            (dest_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (dest_dir / name).write_text(text)
        return dest_dir


@pytest.mark.parametrize("slug", ["../etc", "a/../b", "a/b/c", "/abs/path", "a/b\x00", "a\n/b", "./b", "a/..", "", "a/b/versions/x"])
def test_bad_slugs_are_config_errors(slug: str) -> None:
    with pytest.raises(ConfigError, match=r"is not a Kaggle dataset slug; use OWNER/NAME"):
        parse_slug(slug)


def test_cache_layout(tmp_path: Path) -> None:
    assert parse_slug("uciml/sms-spam").handle == "uciml/sms-spam"
    v = parse_slug("uciml/sms-spam/versions/3")
    assert (v.version, v.handle) == (3, "uciml/sms-spam/versions/3")
    assert dataset_dir(tmp_path, v) == (tmp_path / "uciml" / "sms-spam" / "3").resolve()
    assert dataset_dir(tmp_path, parse_slug("o/n")).name == "latest"


def test_download_once_then_cached(tmp_path: Path) -> None:
    client = FakeClient()
    first = fetch_dataset("o/n", tmp_path, client, env=CREDS, home=tmp_path)
    second = fetch_dataset("o/n", tmp_path, client, env=CREDS, home=tmp_path)
    assert (first.cached, second.cached, client.calls) == (False, True, ["o/n"])
    assert first.files == ("data.csv",) and (first.path / MARKER).is_file()
    assert not [p for p in first.path.parent.iterdir() if ".partial-" in p.name]
    # --no-download still serves the cache
    assert fetch_dataset("o/n", tmp_path, FakeClient(error=RuntimeError("x")), no_download=True, env={}, home=tmp_path).cached


def test_unavailable_reasons(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match=r"not in the cache .* \(--no-download\)"):
        fetch_dataset("o/n", tmp_path, FakeClient(), no_download=True, env=CREDS, home=tmp_path)
    with pytest.raises(DataUnavailableError, match=r"no Kaggle credentials: set KAGGLE_USERNAME and KAGGLE_KEY"):
        fetch_dataset("o/n", tmp_path, FakeClient(), env={}, home=tmp_path)
    with pytest.raises(DataUnavailableError, match=r"downloaded no files"):
        fetch_dataset("o/n", tmp_path, FakeClient(files={}), env=CREDS, home=tmp_path)
    assert not (tmp_path / "o" / "n" / "latest").exists()  # nothing half-cached


def test_download_error_never_shows_the_key(tmp_path: Path) -> None:
    client = FakeClient(error=ConnectionError(f"401 for https://kaggle.com?key={SECRET}\nretry later"))
    with pytest.raises(DataUnavailableError) as err:
        fetch_dataset("o/n", tmp_path, client, env=CREDS, home=tmp_path)
    message = str(err.value)
    assert SECRET not in message and "***" in message and "ConnectionError" in message and "\n" not in message
    assert SECRET not in repr(resolve_credentials(CREDS, tmp_path))


def test_kaggle_json_credentials_and_permission_warning(tmp_path: Path) -> None:
    kdir = tmp_path / ".kaggle"
    kdir.mkdir()
    creds = kdir / "kaggle.json"
    creds.write_text(json.dumps({"username": "alice", "key": SECRET}))
    os.chmod(creds, 0o644)
    status = resolve_credentials({}, tmp_path, ask_client=False)
    assert status.source == str(creds) and "readable by other users (mode 644)" in status.warnings[0]
    assert SECRET not in repr(status)
    os.chmod(creds, 0o600)
    assert resolve_credentials({}, tmp_path, ask_client=False).warnings == ()
    assert redact(f"bad key {SECRET}", {}, tmp_path) == "bad key ***"
    creds.write_text("{not json")
    assert "not readable JSON" in resolve_credentials({}, tmp_path, ask_client=False).problem


def test_slug_list_file(tmp_path: Path) -> None:
    f = tmp_path / "sets.txt"
    f.write_text("# datasets\nowner/one\n\nowner/two  # second\n")
    assert read_slug_list(f) == ["owner/one", "owner/two"]
    with pytest.raises(ConfigError, match=r"does not exist"):
        read_slug_list(tmp_path / "none.txt")
