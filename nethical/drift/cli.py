"""``nethical drift report``: rebuild an ethical drift report from the cohort store, without training.

Example::

    nethical drift report --drift-report-dir training_drift_reports
    nethical drift report --drift-report-dir training_drift_reports --cohorts baseline candidate --plot --html
    nethical drift report --drift-report-dir training_drift_reports --column-override count=psi:0.2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nethical.drift.data_drift import parse_column_override
from nethical.drift.report import generate_report, summary_lines
from nethical.drift.store import STORE_FILENAME, CohortStore
from nethical.exceptions import ConfigError


def register(subparsers: "argparse._SubParsersAction") -> None:
    """Add ``drift`` with its ``report`` subcommand to the ``nethical`` tool parser."""
    drift = subparsers.add_parser("drift", help="ethical drift tracking across training cohorts")
    sub = drift.add_subparsers(dest="drift_command", required=True)
    report = sub.add_parser(
        "report",
        help="build a drift report over the cohorts stored in a drift report directory",
        description="Compare the cohorts recorded by --enable-drift-tracking runs and write drift_<time>.json.",
    )
    report.add_argument("--drift-report-dir", required=True, help="directory holding cohorts.jsonl")
    report.add_argument("--cohorts", nargs="+", metavar="ID", help="compare only these cohort ids (default: all)")
    report.add_argument("--plot", action="store_true", help="also write a PNG comparing cohorts")
    report.add_argument(
        "--practical-threshold",
        type=float,
        default=0.05,
        help="smallest absolute metric difference that counts as drift (default 0.05)",
    )
    report.add_argument(
        "--alpha", type=float, default=0.05, help="family-wise significance level, Holm-corrected (default 0.05)"
    )
    report.add_argument("--top", type=int, default=3, help="recommendations to print (default 3)")
    report.add_argument("--html", action="store_true", help="also write a small self-contained HTML report")
    report.add_argument("--no-transfer", action="store_true",
                        help="skip scoring earlier cohorts' models on later cohorts' validation rows")
    report.add_argument("--reverse-transfer", action="store_true",
                        help="also score the later cohort's model on the earlier cohort's rows")
    report.add_argument("--column-override", action="append", default=[], metavar="COL=EFFECT:THRESHOLD",
                        help="per-column rule, repeatable: e.g. count=psi:0.2 (flag count only on PSI >= 0.2) or "
                             "id=skip; effects: wasserstein, psi, js, mass_shift, ks")
    report.add_argument("--correction", choices=("holm", "bh"), default="holm",
                        help="multiple-testing correction over a pair's column tests (default holm; bh = "
                             "Benjamini-Hochberg false discovery rate)")
    report.set_defaults(func=run_report)


def run_report(ns: argparse.Namespace) -> int:
    """Run ``nethical drift report``; returns 0 (1 is never used: drift is a finding, not a failure)."""
    directory = Path(ns.drift_report_dir)
    if not directory.is_dir():
        raise ConfigError(
            f"drift report --drift-report-dir {str(directory)!r}: no such directory. HINT: pass the directory that "
            f"a run with --enable-drift-tracking wrote (it holds {STORE_FILENAME})."
        )
    if not 0.0 <= ns.practical_threshold <= 1.0:
        raise ConfigError(f"drift report --practical-threshold {ns.practical_threshold}: must be within [0, 1].")
    if not 0.0 < ns.alpha < 1.0:
        raise ConfigError(f"drift report --alpha {ns.alpha}: must be within (0, 1), e.g. 0.05.")
    overrides = dict(parse_column_override(text) for text in ns.column_override)
    scan = CohortStore(directory).scan()
    if not scan.observations:
        why = f"; {len(scan.issues)} unreadable line(s), first: line {scan.issues[0].line}" if scan.issues else ""
        raise ConfigError(
            f"drift report: {directory / STORE_FILENAME} holds no observations{why}. HINT: record cohorts with "
            "--enable-drift-tracking --cohort-id <name> first."
        )
    print("Generating ethical drift report")
    result = generate_report(
        directory,
        cohorts=ns.cohorts,
        practical_threshold=ns.practical_threshold,
        alpha=ns.alpha,
        plot=ns.plot,
        html_report=ns.html,
        transfer=not ns.no_transfer,
        reverse_transfer=ns.reverse_transfer,
        column_overrides=overrides,
        correction=ns.correction,
    )
    for issue in result.issues:
        print(f"warning: {issue.message}", file=sys.stderr)
    for line in summary_lines(result.report, top=max(0, ns.top)):
        print(line)
    print(f"Drift report written to: {result.path}")
    if result.plot_path is not None:
        print(f"Drift plot written to: {result.plot_path}")
    if result.columns_plot_path is not None:
        print(f"Column plot written to: {result.columns_plot_path}")
    if result.html_path is not None:
        print(f"HTML report written to: {result.html_path}")
    return 0
