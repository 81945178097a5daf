#!/usr/bin/env python
"""Train two cohorts and compare them with the ethical drift tracker.

    python examples/train_with_drift_tracking.py                       # logistic, seeds 1 and 2
    python examples/train_with_drift_tracking.py --second-model heuristic --num-samples 2000 --epochs 3

Each cohort is a separate `nethical-train` run with `--enable-drift-tracking`; both land in one cohort store, and the
report at the end compares every cohort in it: the first cohort's model scored on the second cohort's validation
rows (transfer), accuracy, precision, recall with Newcombe intervals and p-values, ECE, gate failures, per-column
data drift over every training row, and what differs between the cohorts (configuration, data, model type).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nethical.cli.classic import main as train  # noqa: E402
from nethical.drift import generate_report, summary_lines  # noqa: E402


def _with_ci(metric: dict) -> str:
    low, high = metric.get("ci") or (float("nan"), float("nan"))
    return f"{metric['value']:.3f} [{low:.3f}, {high:.3f}]"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", default="drift_example", help="where models, drift reports and logs go")
    p.add_argument("--first-model", default="logistic")
    p.add_argument("--second-model", default="logistic")
    p.add_argument("--num-samples", type=int, default=4000)
    p.add_argument("--epochs", type=int, default=3)
    ns = p.parse_args(argv)
    out = Path(ns.out_dir)
    drift_dir = out / "drift"
    cohorts = [(f"{ns.first_model}_seed1", ns.first_model, 1), (f"{ns.second_model}_seed2", ns.second_model, 2)]
    for cohort_id, model_type, seed in cohorts:
        rc = train([
            "--model-type", model_type, "--epochs", str(ns.epochs), "--num-samples", str(ns.num_samples),
            "--seed", str(seed), "--models-dir", str(out / "models"), "--no-tensorboard",
            "--enable-drift-tracking", "--drift-report-dir", str(drift_dir), "--cohort-id", cohort_id,
        ])
        if rc != 0:
            return rc
    result = generate_report(drift_dir, cohorts=[c for c, _, _ in cohorts])
    report = result.report
    print("\nCohort comparison")
    print(f"{'cohort':<24} {'accuracy [95% CI]':>24} {'ECE [95% CI]':>24} {'gate failures':>14}")
    for cohort_id, stats in report["cohorts"].items():
        acc, ece = stats["metrics"]["accuracy"], stats["metrics"]["ece"]
        print(f"{cohort_id:<24} {_with_ci(acc):>24} {_with_ci(ece):>24} "
              f"{stats['gate']['failures']:>7}/{stats['gate']['runs']}")
    print("\nOld model on new data (transfer)")
    for t in report["drift_metrics"]["transfer"]:
        if t["skipped"]:
            print(f"  {t['model_cohort']} model on {t['data_cohort']} rows: skipped ({t['reason']})")
            continue
        acc = next(e for e in t["comparisons"] if e["metric"] == "accuracy")
        print(f"  {t['model_cohort']} model on {t['data_cohort']} rows: accuracy {acc['value_a']:.3f} -> "
              f"{acc['value_b']:.3f} (95% CI of the change [{acc['ci'][0]:+.3f}, {acc['ci'][1]:+.3f}])")
    for cause in report["drift_metrics"]["causes"]:
        print(f"Causes ({cause['cohort_a']} vs {cause['cohort_b']}): {cause['attribution']}")
    print()
    for line in summary_lines(report):
        print(line)
    print(f"Report: {result.path}")
    print(json.dumps({"has_drift": report["drift_metrics"]["has_drift"], "report_id": report["report_id"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
