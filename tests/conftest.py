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


@pytest.fixture(autouse=True)
def _lightning_log_handlers_follow_captured_stderr():
    """Lightning attaches a StreamHandler to its loggers at import time, bound to whatever sys.stderr was then. Under
    pytest's capture that stream is closed after the test that imported Lightning, and later log records print
    '--- Logging error ---' tracebacks into other tests' output. Point the handlers at this test's stderr."""
    import logging

    handlers = [h for name in ("lightning.pytorch", "lightning.fabric", "lightning")
                for h in logging.getLogger(name).handlers if type(h) is logging.StreamHandler]
    for handler in handlers:
        handler.stream = sys.stderr  # setStream() would flush the old, closed stream first
    yield
