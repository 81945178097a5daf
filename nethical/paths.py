"""Where the project's bundled files live."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent


def _config_dir() -> Path:
    """``nethical/configs`` in an installed wheel (package data, see setup.py), else the source tree's ``configs/``."""
    installed = PACKAGE_DIR / "configs"
    if (installed / "logistic.yaml").is_file() or not (PROJECT_ROOT / "configs").is_dir():
        return installed
    return PROJECT_ROOT / "configs"


CONFIG_DIR = _config_dir()
