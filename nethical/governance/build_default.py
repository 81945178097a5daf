"""Rebuild the default governance detector that ships in ``nethical/governance/default_detector/``.

One command, from a checkout with the shared data next to it::

    python -m nethical.governance.build_default --corpus ../shared/datasets/governance_corpus --force

It reads ``dev.jsonl`` of the governance corpus, leaves out the sources whose licences would bind the package
(:data:`EXCLUDED_SOURCES`: share-alike and GPL-derived rows), writes the rest as a labelled JSONL and trains it with
``nethical governance train`` (the same path as any user's detector: datamodule, LightningModule, promotion gate,
model card). The card gets a ``governance.build`` block: the recipe (:data:`RECIPE`), each input file's sha256, the
sources used and left out, and the row counts; ``LICENSE-NOTES.md`` (attribution of the sources used) is written
next to it and listed in the card with its sha256. ``--limit N`` builds from the first N usable rows (the test
does this to check that the shipped card matches this recipe).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from nethical.cli.errors import run_guarded
from nethical.exceptions import DataError
from nethical.fileio import sha256_file
from nethical.governance import detector as det

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "datasets" / "governance_corpus"
#: sources left out of the shipped detector, and why (see LICENSE-NOTES.md / docs/governance.md)
EXCLUDED_SOURCES = {
    "crows_pairs": "CC-BY-SA-4.0 (share-alike)",
    "presidio_synth": "fake identities under CC-BY-SA-3.0-US (share-alike)",
    "ec_darkpattern": "dark-pattern strings from aruneshmathur/dark-patterns (GPL-3.0)",
}
#: everything that decides the shipped weights besides the data (checked by tests/nethical/test_governance_detector.py)
RECIPE: Dict[str, Any] = {"n_features": 2 ** 18, "c": 10.0, "folds": 5, "fp_target": 0.05, "seed": 42,
                          "train_ratio": 0.8, "corpus_file": "dev.jsonl"}
LICENSE_NOTES = "LICENSE-NOTES.md"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nethical.governance.build_default", description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="the governance_corpus directory (holds dev.jsonl)")
    p.add_argument("--out", default=str(det.DEFAULT_DIR), help="where to write the detector (default: the package's)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N usable rows (a quick check build)")
    p.add_argument("--include-copyleft", action="store_true",
                   help="also train on the share-alike / GPL-derived sources (for a local detector; not for shipping)")
    p.add_argument("--force", action="store_true", help="replace the detector in --out")
    p.add_argument("--verbose", action="store_true")
    return p


def select_rows(corpus_file: Path, include_copyleft: bool, limit: Optional[int]) -> List[Dict[str, str]]:
    rows = []
    with corpus_file.open("r", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            obj = json.loads(line)
            if not include_copyleft and obj.get("source") in EXCLUDED_SOURCES:
                continue
            rows.append({"text": obj["text"], "category": obj["category"], "source": obj.get("source", "")})
            if limit is not None and len(rows) >= limit:
                break
    return rows


def build(corpus: Path, out: Path, limit: Optional[int] = None, include_copyleft: bool = False,
          force: bool = False) -> Dict[str, Any]:
    from nethical.governance.train import train_detector

    corpus_file = corpus / RECIPE["corpus_file"]
    if not corpus_file.is_file():
        raise DataError(f"build_default: {corpus_file} does not exist; pass --corpus pointing at the governance_corpus "
                        "directory of the shared datasets.")
    rows = select_rows(corpus_file, include_copyleft, limit)
    with tempfile.TemporaryDirectory(prefix="nethical-gov-build-") as tmp:
        train_file = Path(tmp) / "governance_train.jsonl"
        with train_file.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps({"text": r["text"], "category": r["category"]}, ensure_ascii=False) + "\n")
        ns = argparse.Namespace(
            data=str(train_file), out=str(out), text_field="text", category_field="category",
            fp_target=RECIPE["fp_target"], n_features=RECIPE["n_features"], folds=RECIPE["folds"], seed=RECIPE["seed"],
            train_ratio=RECIPE["train_ratio"], num_samples=None, min_accuracy=0.85, max_ece=0.08, force=force)
        result = train_detector(ns)
        train_sha = sha256_file(train_file)
    card_path = out / det.CARD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8"))
    used = Counter(r["source"] for r in rows)
    card["governance"]["build"] = {
        "command": "python -m nethical.governance.build_default --corpus ../shared/datasets/governance_corpus --force"
                   + (f" --limit {limit}" if limit is not None else "") + (" --include-copyleft" if include_copyleft else ""),
        "recipe": dict(RECIPE),
        "input_files": {name: sha256_file(corpus / name) for name in ("dev.jsonl", "SOURCE.md", "LICENSE-NOTES.md")
                        if (corpus / name).is_file()},
        "training_file_sha256": train_sha,
        "rows": len(rows),
        "rows_by_source": dict(sorted(used.items())),
        "excluded_sources": {} if include_copyleft else dict(EXCLUDED_SOURCES),
        "limit": limit,
    }
    (out / LICENSE_NOTES).write_text(license_notes(sorted(used), include_copyleft), encoding="utf-8")
    card["files"][LICENSE_NOTES] = sha256_file(out / LICENSE_NOTES)
    card_path.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return result


_ATTRIBUTION = {
    "xstest": "XSTest v2 (paul-rottger/exaggerated-safety) - CC-BY-4.0 - Röttger et al., NAACL 2024",
    "harmbench": "HarmBench behaviours - MIT, Copyright (c) 2024 centerforaisafety - Mazeika et al., 2024",
    "strongreject": "StrongREJECT - MIT - Souly et al., 2024",
    "cyberseceval_prompt_injection": "CyberSecEval 2 prompt injection - MIT, Copyright (c) Meta Platforms, Inc. and affiliates",
    "cyberseceval_interpreter": "CyberSecEval 2 interpreter - MIT, Copyright (c) Meta Platforms, Inc. and affiliates",
    "cyberseceval_frr": "CyberSecEval 2 MITRE-FRR - MIT, Copyright (c) Meta Platforms, Inc. and affiliates",
    "promptinject": "PromptInject (via Giskard-AI/prompt-injections) - MIT, Copyright (c) 2020 Agency Enterprise, LLC",
    "toxigen": "ToxiGen seed statements (microsoft/TOXIGEN) - MIT - Hartvigsen et al., ACL 2022",
    "hatecheck": "HateCheck (paul-rottger/hatecheck-data) - CC-BY-4.0 - Röttger et al., ACL 2021",
    "truthfulqa": "TruthfulQA (sylinrl/TruthfulQA) - Apache-2.0 - Lin, Hilton & Evans, ACL 2022",
    "self_instruct": "Self-Instruct seed and user-oriented tasks - Apache-2.0 - Wang et al., ACL 2023",
    "crows_pairs": "CrowS-Pairs - CC-BY-SA-4.0 - Nangia et al., EMNLP 2020",
    "presidio_synth": "presidio-research synthetic data - MIT, Copyright (c) Microsoft Corporation; identities CC-BY-SA-3.0-US",
    "ec_darkpattern": "ec-darkpattern - Apache-2.0; strings from aruneshmathur/dark-patterns (GPL-3.0)",
}

_MIT = """Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""


def license_notes(sources: Sequence[str], include_copyleft: bool) -> str:
    lines = [
        "# Default governance detector: data and licences",
        "",
        "`model.safetensors` holds the weights of a linear model (hashed word 1-2 grams) trained on rows of the",
        "governance corpus (`../shared/datasets/governance_corpus/dev.jsonl`, see its SOURCE.md and LICENSE-NOTES.md).",
        "No text of any source is stored in this directory: only hashed-feature weights. The sources it was trained",
        "on, their licences and attributions:",
        "",
    ]
    lines += [f"- `{s}`: {_ATTRIBUTION.get(s, 'see the corpus LICENSE-NOTES.md')}" for s in sources]
    lines += ["", "Left out of the shipped detector (their licences would bind redistributed derived files):", ""]
    if include_copyleft:
        lines += ["- none: this local build includes share-alike and GPL-derived sources; do not redistribute it",
                  "  with the package without meeting CC-BY-SA / GPL-3.0 terms."]
    else:
        lines += [f"- `{s}`: {why}" for s, why in EXCLUDED_SOURCES.items()]
        lines += ["", "Their categories (dark_pattern above all) therefore have fewer or no training rows here; build a",
                  "local detector with `--include-copyleft` (or train on your own data) if your use allows it."]
    lines += ["", "CC-BY-4.0 sources: https://creativecommons.org/licenses/by/4.0/ (attribution above).",
              "Apache-2.0 sources: https://www.apache.org/licenses/LICENSE-2.0", "",
              "MIT licence text (applies to the MIT sources named above, with their copyright lines):", "", "```", _MIT,
              "```", ""]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    ns = build_parser().parse_args(args)

    def _run() -> int:
        result = build(Path(ns.corpus), Path(ns.out), ns.limit, ns.include_copyleft, ns.force)
        print(f"build_default: {result['decision']} by the gate; detector written to {ns.out}", file=sys.stderr)
        return 0

    return run_guarded(_run, verbose=ns.verbose)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
