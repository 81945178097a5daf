"""Shared fixtures. The repository root is importable so tests run from a clean clone without installing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty temporary directory (trainings write models/, lightning_logs/ into the cwd)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NETHICAL_RUN_ID", raising=False)
    return tmp_path


def shared_path(*parts: str) -> Path:
    """A file under ../shared, or a clean skip when the shared folder is not beside the project."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return path
