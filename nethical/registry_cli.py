"""``nethical predict --model-dir DIR --input FILE``: score new rows with a saved model."""

from __future__ import annotations

import argparse
import csv
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from nethical.exceptions import DataError, OutputError
from nethical.path_args import check_path_args
from nethical.safe_json import JSONLimitError, loads_bounded

MAX_ROW_DEPTH = 32


def read_rows(path: Path, limit: Optional[int] = None) -> List[Dict[str, Any]]:
    """Rows of a CSV/TSV (header line) or JSON Lines file as dicts; a named pipe (FIFO, ``<(...)``) is read too."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DataError(f"input file {str(path)!r} does not exist; pass a CSV or JSONL file with --input.") from None
    except OSError as exc:
        raise DataError(f"cannot read input {str(path)!r} ({exc.strerror or exc}); pass a readable CSV or JSONL file with --input.") from None
    if stat.S_ISDIR(mode):
        raise DataError(f"input {str(path)!r} is a directory; pass a CSV or JSONL file with --input.")
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise DataError(f"input {str(path)!r} is not a regular file or a pipe (a device or socket); pass a CSV or JSONL file with --input.")
    rows: List[Dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
                for lineno, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            row = loads_bounded(line, max_depth=MAX_ROW_DEPTH)
                        except JSONLimitError as exc:
                            raise DataError(f"{path}:{lineno} {exc}; fix or remove that line.") from None
                        if not isinstance(row, dict):
                            raise DataError(f"{path}:{lineno} is not a JSON object; each line must be an object of fields.")
                        rows.append(row)
                    if limit and len(rows) >= limit:
                        break
            else:
                delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
                for row in csv.DictReader(fh, delimiter=delimiter):
                    rows.append(row)
                    if limit and len(rows) >= limit:
                        break
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; convert it or pass another --input.") from None
    if not rows:
        raise DataError(f"{path} holds no rows; pass a file with a header and at least one row.")
    return rows


def predict_rows(model_dir: Path, rows: List[Dict[str, Any]], text_field: str = "text") -> List[float]:
    """P(y=1) for each dict row, with the saved model in ``model_dir``."""
    import torch

    from nethical.data.encoding import encode_inputs
    from nethical.registry import load_model

    model, card = load_model(model_dir)
    predict_raw = getattr(model, "predict_proba_rows", None)
    if callable(predict_raw):
        return [float(p) for p in predict_raw(rows, text_field=text_field)]
    x = torch.from_numpy(encode_inputs(card["input_spec"], rows, text_field=text_field))
    return [float(p) for p in model.predict_proba(x)]


def _cmd_predict(ns: argparse.Namespace) -> int:
    check_path_args([(ns.model_dir, "--model-dir"), (ns.input, "--input"), (ns.output, "--output")])
    rows = read_rows(Path(ns.input), ns.limit)
    probs = predict_rows(Path(ns.model_dir), rows, ns.text_field)
    try:
        out = open(ns.output, "w", encoding="utf-8") if ns.output else sys.stdout
    except OSError as exc:
        raise OutputError(f"cannot write --output {ns.output!r} ({exc.strerror or exc}); pass a writable path.") from None
    try:
        for i, p in enumerate(probs):
            out.write(json.dumps({"index": i, "probability": round(p, 6), "label": int(p >= ns.threshold)}) + "\n")
    finally:
        if ns.output:
            out.close()
    print(f"scored {len(probs)} row{'s' if len(probs) != 1 else ''} with {ns.model_dir}", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict", help="score rows of a CSV/JSONL file with a saved model",
        description="Score rows of a CSV (header row) or JSON Lines file with a saved model directory; one JSON line "
                    "per row ({index, probability, label}) on stdout or --output. Tabular models need the feature "
                    "columns listed in the model card's input_spec.feature_names; text and sequence models a text "
                    "field (--text-field).",
        epilog="LightningCLI's predict (a config and a checkpoint; predictions written to predictions/<type>/): "
               "nethical predict --config configs/logistic.yaml --ckpt_path checkpoints/logistic/last.ckpt")
    p.add_argument("--model-dir", required=True, help="a saved model directory, e.g. models/current/logistic")
    p.add_argument("--input", required=True, help="CSV (header row) or JSONL file of rows")
    p.add_argument("--output", default=None, help="write JSONL here instead of stdout")
    p.add_argument("--text-field", default="text", help="field holding the text/sequence for text and sequence models")
    p.add_argument("--threshold", type=float, default=0.5, help="label = 1 when P(y=1) >= threshold")
    p.add_argument("--limit", type=int, default=None, help="score at most this many rows")
    p.set_defaults(func=_cmd_predict)
