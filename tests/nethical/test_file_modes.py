"""Files the project writes get the mode an ordinary new file gets (umask applied), not mkstemp's 0600."""

from __future__ import annotations

import os
import stat

from nethical.drift.report import write_report
from nethical.fileio import NEW_FILE_MODE, atomic_write_bytes


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_write_uses_the_umask_mode(tmp_path):
    target = tmp_path / "card.json"
    atomic_write_bytes(target, b"{}")
    assert _mode(target) == NEW_FILE_MODE
    assert NEW_FILE_MODE != 0o600  # the usual umask (022 or 002) gives a readable file


def test_drift_report_file_is_not_private(tmp_path):
    report = {"report_id": "drift_20260101T000000Z", "cohorts": {}}
    _, path = write_report(report, tmp_path)
    assert path.is_file() and _mode(path) == NEW_FILE_MODE
