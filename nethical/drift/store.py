"""The cohort store: an append-only JSON-lines file ``cohorts.jsonl`` in the drift report directory.

Each line is one :class:`~nethical.drift.observation.CohortObservation`. Writers take a ``filelock`` lock
(``cohorts.jsonl.lock``), so two runs appending at once lose nothing; each append is one ``write`` of a complete
line followed by ``fsync``, so a killed run leaves at most a partial last line. Readers skip any line that does not
parse (with a warning naming the file and the line) and the next writer starts on a fresh line, so the store stays
readable. Appends are idempotent: an observation whose ``observation_id`` is already stored is not written again
(a resumed run does not count twice).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

from filelock import FileLock, Timeout

from nethical.drift.observation import CohortObservation, validate_cohort_id
from nethical.console import one_line
from nethical.fileio import fsync_dir
from nethical.exceptions import OutputError

__all__ = ["CohortStore", "CohortStoreWarning", "StoreIssue", "StoreScan", "validate_cohort_id"]

STORE_FILENAME = "cohorts.jsonl"


class CohortStoreWarning(UserWarning):
    """A line of the cohort store was skipped (corrupted, truncated by a killed run, or duplicated)."""


@dataclass(frozen=True)
class StoreIssue:
    """A skipped line of the store: file, 1-based line number and why."""

    path: str
    line: int
    reason: str

    @property
    def message(self) -> str:
        return f"CohortStore: skipped corrupted line {self.line} of {self.path}: {self.reason}"


@dataclass(frozen=True)
class StoreScan:
    """What :meth:`CohortStore.scan` found: parsed observations (file order) and skipped lines."""

    observations: tuple[CohortObservation, ...]
    issues: tuple[StoreIssue, ...]


class CohortStore:
    """Append-only, multi-process-safe store of cohort observations in ``report_dir/cohorts.jsonl``.

    Args:
        report_dir: the drift report directory (created on the first append).
        lock_timeout: seconds to wait for another writer before giving up with :class:`OutputError`.

    Example:
        >>> store = CohortStore("training_drift_reports")            # doctest: +SKIP
        >>> store.append(observation)                                 # doctest: +SKIP
        True
        >>> [o.cohort_id for o in store.read()]                       # doctest: +SKIP
        ['baseline']
    """

    def __init__(self, report_dir: Union[str, os.PathLike], lock_timeout: float = 60.0) -> None:
        if not str(report_dir).strip():
            raise OutputError("CohortStore(report_dir=''): give a directory, e.g. training_drift_reports.")
        self.report_dir = Path(report_dir)
        self.lock_timeout = float(lock_timeout)

    @property
    def path(self) -> Path:
        return self.report_dir / STORE_FILENAME

    @property
    def lock_path(self) -> Path:
        return self.report_dir / (STORE_FILENAME + ".lock")

    def append(self, observation: CohortObservation) -> bool:
        """Append one observation durably; return ``False`` (and write nothing) if its id is already stored.

        Raises:
            OutputError: the directory cannot be created or written, or the lock is held for too long.
        """
        line = json.dumps(observation.to_dict(), ensure_ascii=True) + "\n"
        try:
            self.report_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"CohortStore(report_dir={str(self.report_dir)!r}) cannot be created ({exc.strerror}). "
                "HINT: pass a writable --drift-report-dir."
            ) from exc
        try:
            with FileLock(str(self.lock_path), timeout=self.lock_timeout):
                if self._contains(observation.observation_id):
                    return False
                created = not self.path.exists()
                prefix = "" if created or self._ends_with_newline() else "\n"
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    data = (prefix + line).encode("ascii")
                    written = 0
                    while written < len(data):
                        written += os.write(fd, data[written:])
                    os.fsync(fd)
                finally:
                    os.close(fd)
                if created:
                    fsync_dir(self.report_dir)
                return True
        except Timeout as exc:
            raise OutputError(
                f"CohortStore: another process has held {self.lock_path} for over {self.lock_timeout:.0f}s. "
                "HINT: wait for it to finish, or delete the lock file if no run is active."
            ) from exc
        except OSError as exc:
            raise OutputError(
                f"CohortStore: cannot write {self.path} ({exc.strerror}). HINT: check permissions and free space."
            ) from exc

    def scan(self, cohorts: Optional[Iterable[str]] = None) -> StoreScan:
        """Parse the store without warning; skipped lines are returned as issues.

        Args:
            cohorts: keep only these cohort ids (``None`` keeps all).
        """
        wanted = None if cohorts is None else {validate_cohort_id(c, "cohorts") for c in cohorts}
        if not self.path.is_file():
            return StoreScan((), ())
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise OutputError(f"CohortStore: cannot read {self.path} ({exc.strerror}).") from exc
        observations: list[CohortObservation] = []
        issues: list[StoreIssue] = []
        seen: set[str] = set()
        lines = raw.split(b"\n")
        for number, chunk in enumerate(lines, start=1):
            if not chunk.strip():
                continue
            truncated = number == len(lines)  # no newline after it: the writer did not finish
            try:
                data = json.loads(chunk.decode("utf-8"))
                obs = CohortObservation.from_dict(data)
            except UnicodeDecodeError:
                issues.append(StoreIssue(str(self.path), number, "not UTF-8 text"))
                continue
            except json.JSONDecodeError as exc:
                why = "incomplete last line (a run was probably killed while writing)" if truncated else "invalid JSON"
                issues.append(StoreIssue(str(self.path), number, f"{why}: {exc.msg} at column {exc.colno}"))
                continue
            except ValueError as exc:  # includes ConfigError for a bad cohort id
                issues.append(StoreIssue(str(self.path), number, f"not a valid observation: {_short(exc)}"))
                continue
            if obs.observation_id in seen:
                issues.append(StoreIssue(str(self.path), number, f"duplicate observation {obs.observation_id}"))
                continue
            seen.add(obs.observation_id)
            if wanted is None or obs.cohort_id in wanted:
                observations.append(obs)
        return StoreScan(tuple(observations), tuple(issues))

    def read(self, cohorts: Optional[Iterable[str]] = None) -> list[CohortObservation]:
        """Observations in file order; every skipped line raises a :class:`CohortStoreWarning` naming it."""
        result = self.scan(cohorts)
        for issue in result.issues:
            warnings.warn(issue.message, CohortStoreWarning, stacklevel=2)
        return list(result.observations)

    def cohort_ids(self) -> list[str]:
        """Distinct cohort ids in order of first appearance."""
        return list(dict.fromkeys(o.cohort_id for o in self.scan().observations))

    def _contains(self, observation_id: str) -> bool:
        if not self.path.is_file():
            return False
        needle = f'"observation_id": "{observation_id}"'.encode("ascii")
        with open(self.path, "rb") as fh:
            for chunk in fh:
                if needle in chunk:
                    try:
                        if json.loads(chunk.decode("utf-8")).get("observation_id") == observation_id:
                            return True
                    except (ValueError, AttributeError):
                        continue
        return False

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return True
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"


def _short(exc: BaseException) -> str:
    return one_line(exc, 200)
