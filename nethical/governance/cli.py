"""``nethical governance scan FILE``: the governance engine outside training.

Reads JSONL (one JSON object per line with a text field, or one JSON string per line) or CSV/TSV (with
``--text-field``), writes one JSON line per input to stdout (or ``--output``)::

    {"index": 0, "decision": "block", "violations": [{"category": "privacy", "type": "pii_credit_card",
     "severity": "high", "confidence": 0.97}]}

and a summary on stderr. Each violation says what raised it: ``"source": "rule"`` (with ``--evidence``, the redacted
match) or ``"source": "model"`` with the learned detector's ``score`` (P(harmful)). ``--model`` picks the detector:
``default`` (the one shipped in the package), a directory from ``nethical governance train``, or ``none`` (rules only);
a missing or corrupt model stops the scan with an error naming the file, never a silent rules-only scan.
``--workers N`` scans in N processes; the output keeps input order and the model-extraction stream monitor still
sees the inputs in order (it runs in the parent). Bad lines (invalid JSON or UTF-8, a non-string text, nesting too deep) are reported as
``{"index": i, "decision": null, "violations": [], "error": "..."}`` and counted; the scan keeps going. Exit code 0,
or 1 with ``--fail-on LEVEL`` when any input reaches that decision; 2 for a missing file or bad arguments.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterator, Optional, TextIO

from nethical.exceptions import DataError, OutputError
from nethical.governance.config import GovernanceConfig
from nethical.governance.detector import load_detector
from nethical.governance.engine import GovernanceEngine, coerce_text
from nethical.governance.extraction import fingerprint
from nethical.governance.violation import ScanResult
from nethical.governance.extraction import ExtractionMonitor
from nethical.governance.violation import DECISION_RANK, DECISIONS

csv.field_size_limit(16 * 1024 * 1024)


def register(subparsers: "argparse._SubParsersAction") -> None:
    """Add ``governance scan`` to the ``nethical`` tool parser."""
    gov = subparsers.add_parser("governance", help="governance checks outside training")
    sub = gov.add_subparsers(dest="governance_command", required=True)
    scan = sub.add_parser("scan", help="scan a JSONL or CSV file and write one JSON decision per input")
    scan.add_argument("file", help="input file: .jsonl/.json (default) or .csv/.tsv")
    scan.add_argument("--text-field", default="text", help="field/column holding the text (default: text)")
    scan.add_argument("--format", choices=("auto", "jsonl", "csv", "tsv"), default="auto",
                      help="input format (default: from the file extension)")
    scan.add_argument("--fail-on", choices=DECISIONS[1:], default=None,
                      help="exit 1 when any input's decision is at least this level")
    scan.add_argument("--output", default=None, help="write the JSON lines here instead of stdout")
    scan.add_argument("--no-stream", action="store_true",
                      help="scan inputs independently (no model-extraction stream monitor across lines)")
    scan.add_argument("--evidence", action="store_true", help="include redacted evidence and spans in the output")
    scan.add_argument("--block-severity", default=None, help="override GovernanceConfig.block_severity")
    scan.add_argument("--min-confidence", type=float, default=None, help="override GovernanceConfig.min_confidence")
    scan.add_argument("--jailbreak-sensitivity", choices=("standard", "high"), default=None,
                      help="high (default): flag persona jailbreaks on fewer cues; standard: fewer flags on role-play "
                           "set-ups, lower recall")
    scan.add_argument("--model", default="default",
                      help="learned detector: default (shipped), a directory from `nethical governance train`, or none "
                           "(rules only)")
    scan.add_argument("--sensitivity", default="standard",
                      help="learned detector operating point: low / standard / high (benign false-positive target "
                           "1%% / 5%% / 10%%), or a target stored in the model card such as 0.02")
    scan.add_argument("--workers", type=int, default=1, help="processes to scan with (output order is kept)")
    scan.add_argument("--batch-size", type=int, default=512, help="inputs per batch (learned detector and workers)")
    scan.set_defaults(func=run_scan)
    from nethical.governance.train import register as register_train

    register_train(sub)


def _raw_records(path: Path, fmt: str, field: str) -> Iterator[tuple]:
    """Yield one cheap item per input line/row, parsed later by :func:`_parse` (in a worker with ``--workers``):
    ``("c", content)`` for a CSV/TSV row, ``("j", lineno, raw bytes)`` for a non-blank JSONL line."""
    if fmt in ("csv", "tsv"):
        with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if fmt == "tsv" else ",")
            if reader.fieldnames is None or field not in reader.fieldnames:
                raise DataError(f"governance scan: column {field!r} not found in {path.name}. "
                                f"Available: {reader.fieldnames}. Pass --text-field with one of them.")
            for row in reader:
                yield ("c", row.get(field))
        return
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                yield ("j", lineno, raw)


def _parse(item: tuple, field: str) -> tuple[Any, Optional[str]]:
    """``(content, error)`` of one item of :func:`_raw_records`; ``error`` is set for a line that cannot be read."""
    if item[0] == "c":
        return item[1], None
    _, lineno, raw = item
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"line {lineno}: invalid UTF-8 at byte {exc.start}"
    try:
        obj = json.loads(line)
    except RecursionError:
        return None, f"line {lineno}: JSON nested too deeply"
    except ValueError as exc:
        return None, f"line {lineno}: invalid JSON ({exc.msg} at column {exc.colno})"
    if isinstance(obj, str):
        return obj, None
    if isinstance(obj, dict):
        value = obj.get(field)
        if isinstance(value, str):
            return value, None
        if value is None:
            return None, f"line {lineno}: no {field!r} field (keys: {sorted(obj)[:10]})"
        return None, f"line {lineno}: field {field!r} is {type(value).__name__}, expected a string"
    return None, f"line {lineno}: expected a JSON object or string, got {type(obj).__name__}"


def _records(path: Path, fmt: str, field: str) -> Iterator[tuple[Any, Optional[str]]]:
    """Yield ``(content, error)`` per input line/row; ``error`` is set for a line that cannot be read."""
    for item in _raw_records(path, fmt, field):
        yield _parse(item, field)


def _line(index: int, result: ScanResult, evidence: bool) -> str:
    record: dict[str, Any] = {"index": index, "decision": result.decision,
                              "violations": [v.to_dict(evidence=evidence) for v in result.violations]}
    if result.truncated:
        record["truncated"] = True
    return json.dumps(record) + "\n"


def _scan_chunk(engine: GovernanceEngine, start: int, items: list, field: str, evidence: bool,
                stream: bool) -> list[tuple]:
    """Parse and scan one chunk (in the parent or a worker): per input ``(result, error, line, fingerprint)``, where
    ``line`` is the finished JSON output line and ``fingerprint`` what the stream monitor needs (the parent feeds
    it in order and only rewrites the line when the monitor adds a finding)."""
    parsed = [_parse(item, field) for item in items]
    results = iter(engine.scan_many([c for c, e in parsed if e is None]))
    limit = engine.config.max_scan_chars
    out = []
    for k, (content, error) in enumerate(parsed):
        index = start + k
        if error is not None:
            out.append((None, error, json.dumps({"index": index, "decision": None, "violations": [],
                                                 "error": error}) + "\n", None))
            continue
        result = next(results)
        fp = fingerprint(coerce_text(content)[:limit]) if stream else None
        out.append((result, None, _line(index, result, evidence), fp))
    return out


def run_scan(ns: argparse.Namespace) -> int:
    """Run ``nethical governance scan``; returns the exit code."""
    path = Path(ns.file)
    if not path.is_file():
        raise DataError(f"governance scan: input file {str(path)!r} does not exist. Pass a JSONL or CSV file.")
    fmt = ns.format
    if fmt == "auto":
        suffix = path.suffix.lower()
        fmt = "csv" if suffix == ".csv" else "tsv" if suffix in (".tsv", ".tab") else "jsonl"
    overrides: dict[str, Any] = {}
    if ns.block_severity is not None:
        overrides["block_severity"] = ns.block_severity
    if ns.min_confidence is not None:
        overrides["min_confidence"] = ns.min_confidence
    if ns.jailbreak_sensitivity is not None:
        overrides["jailbreak_sensitivity"] = ns.jailbreak_sensitivity
    if ns.workers < 1 or ns.batch_size < 1:
        raise DataError(f"governance scan: --workers {ns.workers} and --batch-size {ns.batch_size} must be at least 1.")
    config = GovernanceConfig(**overrides)
    detector = load_detector(ns.model, ns.sensitivity)
    engine = GovernanceEngine(config, detector=detector)
    monitor = None if ns.no_stream else ExtractionMonitor(engine.config.extraction_window,
                                                          engine.config.extraction_min_similar)
    out: TextIO
    close = False
    if ns.output:
        try:
            out = open(ns.output, "w", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"governance scan: cannot write --output {ns.output!r} ({exc.strerror}).") from None
        close = True
    else:
        out = sys.stdout
    decisions: Counter = Counter()
    categories: Counter = Counter()
    sources: Counter = Counter()
    errors = 0
    first_errors: list[str] = []
    index = -1
    pool = None
    try:
        chunks = _chunks(_raw_records(path, fmt, ns.text_field), ns.batch_size)
        stream = monitor is not None and "model_extraction" in engine.config.categories
        args = (ns.text_field, ns.evidence, stream)
        if ns.workers > 1:
            import multiprocessing

            pool = multiprocessing.get_context("fork").Pool(
                ns.workers, initializer=_worker_init,
                initargs=(overrides, None if detector is None else str(detector.model_dir), ns.sensitivity))
            scanned = pool.imap(_worker_scan, ((start, items, *args) for start, items in chunks), chunksize=1)
        else:
            scanned = (_scan_chunk(engine, start, items, *args) for start, items in chunks)
        for entries in scanned:
            for result, error, line, fp in entries:
                index += 1
                if error is not None:
                    errors += 1
                    if len(first_errors) < 5:
                        first_errors.append(error)
                    out.write(line)
                    continue
                if fp is not None:
                    found = monitor.observe_fingerprint(fp)
                    if found is not None and found.confidence >= engine.config.min_confidence:
                        result = engine.add_violation(result, found)
                        line = _line(index, result, ns.evidence)
                decisions[result.decision] += 1
                categories.update(v.category for v in result.violations)
                sources.update(v.source for v in result.violations)
                out.write(line)
    finally:
        if pool is not None:
            pool.terminate()
        if close:
            out.close()
    total = index + 1
    summary = ", ".join(f"{d} {decisions.get(d, 0)}" for d in DECISIONS)
    print(f"governance scan: {total} inputs from {path.name}: {summary}; errors {errors}", file=sys.stderr)
    if categories:
        print("governance scan: violations by category: "
              + ", ".join(f"{c} {n}" for c, n in categories.most_common()), file=sys.stderr)
    if sources:
        print("governance scan: violations by source: " + ", ".join(f"{k} {n}" for k, n in sources.most_common())
              + f" (model: {'none' if detector is None else detector.model_dir}, sensitivity {ns.sensitivity})",
              file=sys.stderr)
    for err in first_errors:
        print(f"governance scan: skipped {err}", file=sys.stderr)
    if ns.fail_on:
        threshold = DECISION_RANK[ns.fail_on]
        hit = sum(n for d, n in decisions.items() if DECISION_RANK[d] >= threshold)
        if hit:
            print(f"governance scan: {hit} inputs reached --fail-on {ns.fail_on}; exiting 1", file=sys.stderr)
            return 1
    return 0


def _chunks(records: Iterator[tuple], size: int) -> Iterator[tuple[int, list]]:
    """``(index of the first input, items)`` per chunk of ``size`` inputs."""
    chunk: list = []
    start = 0
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield start, chunk
            start += len(chunk)
            chunk = []
    if chunk:
        yield start, chunk


_WORKER_ENGINE: Optional[GovernanceEngine] = None


def _worker_init(overrides: dict, model_dir: Optional[str], sensitivity: str) -> None:
    global _WORKER_ENGINE
    _WORKER_ENGINE = GovernanceEngine(GovernanceConfig(**overrides), detector=load_detector(model_dir, sensitivity))


def _worker_scan(task: tuple) -> list[tuple]:
    """One chunk in a worker process (see :func:`_scan_chunk`)."""
    assert _WORKER_ENGINE is not None
    return _scan_chunk(_WORKER_ENGINE, *task)
