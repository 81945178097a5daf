"""``nethical governance train --data FILE --out DIR``: train the learned governance detector.

The file is checked first (one line ``error: ...`` and exit 2 for a missing text column, an unknown category, or one
class only; nothing is written). Training then runs through the project's own path — ``nethical fit`` with
``configs/governance_detector.yaml`` (a :class:`~datamodules.file.FileDataModule`, the
:class:`~lightning_modules.governance_detector.GovernanceDetectorModule`, the promotion gate and its model card) —
into a private models directory, and the saved model directory is moved to ``--out`` in one rename. An existing
``--out`` is only replaced with ``--force`` and only when it holds a governance detector.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

from nethical.exceptions import ConfigError, DataError, OutputError
from nethical.governance import detector as det
from nethical.paths import CONFIG_DIR

CONFIG_FILE = CONFIG_DIR / "governance_detector.yaml"


def register(sub: "argparse._SubParsersAction") -> None:
    train = sub.add_parser("train", help="train the learned governance detector from a labelled JSONL/CSV file")
    train.add_argument("--data", required=True, help="labelled file: .jsonl (default) or .csv/.tsv with text and category")
    train.add_argument("--out", required=True, help="directory to write the detector to (model card + safetensors)")
    train.add_argument("--text-field", default="text", help="text column (default: text)")
    train.add_argument("--category-field", default="category",
                       help=f"category column: one of {', '.join(det.LEARNED_CATEGORIES)} or {det.BENIGN}")
    train.add_argument("--fp-target", type=float, default=0.05, choices=det.FP_TARGETS,
                       help="benign false-positive target of the standard sensitivity (default 0.05)")
    train.add_argument("--n-features", type=int, default=2 ** 18, help="hash buckets (default 262144)")
    train.add_argument("--folds", type=int, default=5, help="grouped cross-validation folds (default 5)")
    train.add_argument("--seed", type=int, default=42)
    train.add_argument("--train-ratio", type=float, default=0.8,
                       help="share of rows the detector is fitted on; the rest is the gate's validation split")
    train.add_argument("--num-samples", type=int, default=None, help="use only the first N rows of the file")
    train.add_argument("--min-accuracy", type=float, default=0.85, help="promotion gate: minimum validation accuracy")
    train.add_argument("--max-ece", type=float, default=0.08, help="promotion gate: maximum validation ECE")
    train.add_argument("--force", action="store_true", help="replace an existing governance detector in --out")
    train.set_defaults(func=run_train)


def read_rows(path: Path, text_field: str, category_field: str) -> List[Dict[str, Any]]:
    """The ``text`` / ``category`` of every row; raises :class:`DataError` for a file that cannot serve."""
    suffix = path.suffix.lower()
    rows: List[Dict[str, Any]] = []
    try:
        if suffix in (".csv", ".tsv", ".tab"):
            with path.open("r", encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh, delimiter="," if suffix == ".csv" else "\t")
                names = reader.fieldnames or []
                for field in (text_field, category_field):
                    if field not in names:
                        raise DataError(f"governance train: column {field!r} not found in {path.name} (columns: "
                                        f"{names}); pass --text-field / --category-field.")
                rows = [{"text": r.get(text_field), "category": r.get(category_field), "line": i + 2}
                        for i, r in enumerate(reader)]
        else:
            with path.open("r", encoding="utf-8") as fh:
                for lineno, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError as exc:
                        raise DataError(f"governance train: {path.name} line {lineno} is not valid JSON ({exc.msg}); "
                                        "fix or remove it.") from None
                    if not isinstance(obj, dict):
                        raise DataError(f"governance train: {path.name} line {lineno} is not a JSON object.")
                    rows.append({"text": obj.get(text_field), "category": obj.get(category_field), "line": lineno})
    except UnicodeDecodeError as exc:
        raise DataError(f"governance train: {path.name} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    return rows


def check_rows(rows: List[Dict[str, Any]], name: str, text_field: str, category_field: str) -> Counter:
    """Refuse an empty text column, unknown categories and one class; returns the category counts."""
    if not rows:
        raise DataError(f"governance train: {name} holds no rows.")
    if not any(isinstance(r["text"], str) and r["text"].strip() for r in rows):
        raise DataError(f"governance train: the text column {text_field!r} of {name} is empty in every row; pass "
                        "--text-field naming the column that holds the texts.")
    allowed = set(det.LEARNED_CATEGORIES) | {det.BENIGN}
    counts: Counter = Counter()
    for r in rows:
        cat = r["category"]
        if not isinstance(cat, str) or cat.strip() not in allowed:
            hint = (" (model_extraction is a stream-level detector and is not learned from single texts)"
                    if cat == "model_extraction" else "")
            raise DataError(f"governance train: {name} line {r['line']} has unknown {category_field} {cat!r}{hint}; "
                            f"use one of {sorted(allowed)}.")
        counts[cat.strip()] += 1
    if counts[det.BENIGN] == 0 or sum(v for k, v in counts.items() if k != det.BENIGN) == 0:
        only = "benign" if counts[det.BENIGN] else "harmful"
        raise DataError(f"governance train: every row of {name} is {only}; the detector needs both benign and "
                        "harmful rows.")
    return counts


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not force:
            raise OutputError(f"governance train: --out {str(out)!r} already exists; pass --force to replace the "
                              "detector in it, or another directory.")
        card = out / det.CARD_FILE
        try:
            kind = json.loads(card.read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError, AttributeError):
            kind = None
        if kind != det.MODEL_TYPE:
            raise OutputError(f"governance train: --out {str(out)!r} is not a governance detector directory; "
                              "--force only replaces one. Pick an empty or new directory.")


def lightning_args(ns: argparse.Namespace, models_dir: Path) -> List[str]:
    args = [
        "fit", "--config", str(CONFIG_FILE),
        "--seed_everything", str(ns.seed),
        "--model.init_args.n_features", str(ns.n_features),
        "--model.init_args.cv_folds", str(ns.folds),
        "--model.init_args.fp_target", str(ns.fp_target),
        "--model.init_args.category_column", ns.category_field,
        "--data.init_args.data_files", str(Path(ns.data).resolve()),
        "--data.init_args.text_column", ns.text_field,
        "--data.init_args.label_column", ns.category_field,
        "--data.init_args.seed", str(ns.seed),
        "--data.init_args.train_ratio", str(ns.train_ratio),
        "--gate.models_dir", str(models_dir),
        "--gate.min_accuracy", str(ns.min_accuracy),
        "--gate.max_ece", str(ns.max_ece),
        "--trainer.default_root_dir", str(models_dir),
    ]
    if ns.num_samples is not None:
        args += ["--data.init_args.num_samples", str(ns.num_samples)]
    return args


def train_detector(ns: argparse.Namespace) -> Dict[str, Any]:
    """Validate, train and publish; returns the promotion gate's result (with ``out``)."""
    path = Path(ns.data)
    if not path.is_file():
        raise DataError(f"governance train: --data {str(path)!r} does not exist; pass a labelled JSONL or CSV file.")
    if ns.n_features < 16 or ns.n_features > 2 ** 22:
        raise ConfigError(f"governance train: --n-features {ns.n_features} must be within [16, 4194304].")
    if ns.folds < 2:
        raise ConfigError(f"governance train: --folds {ns.folds} must be at least 2.")
    if not 0.0 < ns.train_ratio < 1.0:
        raise ConfigError(f"governance train: --train-ratio {ns.train_ratio} must be strictly between 0 and 1.")
    rows = read_rows(path, ns.text_field, ns.category_field)
    if ns.num_samples is not None:
        rows = rows[: ns.num_samples]
    check_rows(rows, path.name, ns.text_field, ns.category_field)
    out = Path(ns.out)
    _check_out(out, ns.force)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".nethical-gov-train-", dir=parent))
    except OSError as exc:
        raise OutputError(f"governance train: cannot write next to --out {str(out)!r} ({exc.strerror}).") from None
    try:
        from callbacks.promotion_gate import PromotionGate
        from nethical.cli.lightning_cli import NethicalCLI

        cli = NethicalCLI(args=lightning_args(ns, work / "models"))
        gate = cli.callback(PromotionGate)
        if gate is None or gate.result is None or not gate.result.get("saved_dir"):
            raise RuntimeError("training finished without a saved model")
        result = dict(gate.result)
        saved = Path(result["saved_dir"])
        staged = work / "out"
        shutil.copytree(saved, staged)
        if out.exists():
            old = work / "previous"
            os.replace(out, old)
        os.replace(staged, out)
        result["out"] = str(out)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_train(ns: argparse.Namespace) -> int:
    result = train_detector(ns)
    card = det.read_card_json(Path(result["out"]))
    gov = card["governance"]
    cv = gov["cross_validation"]["by_fp_target"][str(ns.fp_target)]
    m = result["metrics"]
    print(f"governance train: {result['decision']} by the promotion gate (validation accuracy {m['accuracy']:.4f}, "
          f"ece {m['ece']:.4f}); detector written to {result['out']}", file=sys.stderr)
    print(f"governance train: grouped {gov['cross_validation']['folds']}-fold CV at benign FP target {ns.fp_target}: "
          f"recall {cv['recall']['rate']} {cv['recall']['ci95']}, benign FP {cv['benign_fp']['rate']} "
          f"{cv['benign_fp']['ci95']}", file=sys.stderr)
    for cat, e in cv["recall_by_category"].items():
        print(f"governance train:   {cat:<18} recall {e['rate']:.3f} {e['ci95']} ({e['rows']} rows)", file=sys.stderr)
    return 0
