"""``nethical-train`` / ``python training/train_any_model.py``: the classic flag interface.

Every flag is translated into LightningCLI arguments on top of ``configs/<model-type>.yaml`` and run through
:class:`nethical.cli.lightning_cli.NethicalCLI`, so there is one training code path. ``--print-args`` shows the
translation without training.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from nethical.cli import classic_data
from nethical.cli.configs import flag_defaults
from nethical.cli.errors import close_flags, did_you_mean, run_guarded
from nethical.data.encoding import TRUNCATIONS
from nethical.exceptions import ConfigError
from nethical.fileio import check_writable_dir
from nethical.path_args import check_path_args
from nethical.paths import CONFIG_DIR

MODEL_TYPES = ("heuristic", "logistic", "simple_transformer", "anomaly", "correlation")
SPLIT_STRATEGIES = ("temporal", "random", "stratified")
MIN_SAMPLES = 50
MAX_LENGTH_LIMIT = 65536  # = datamodules.base.MAX_LENGTH_LIMIT (not imported: this module stays free of Lightning)


def available_model_types() -> List[str]:
    return [t for t in MODEL_TYPES if (CONFIG_DIR / f"{t}.yaml").is_file()]


class _DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a flag's default unless it is None (the flag is then not passed on, and its help names the default)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return (action.help or "") if action.default is None else super()._get_help_string(action)


class _ClassicParser(argparse.ArgumentParser):
    """A bad flag gets the short usage and a "did you mean", not the whole usage block."""

    def error(self, message: str) -> Any:
        hint = did_you_mean(close_flags(message, self._option_string_actions))
        self.exit(2, f"usage: {self.prog} --model-type TYPE [options]   ({self.prog} --help lists every option)\n"
                     f"error: {message}{hint}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _ClassicParser(
        prog="nethical-train",
        description="Train Nethical safety classifiers (classic flags; same code path as `nethical fit`).",
        formatter_class=_DefaultsHelpFormatter,
    )
    p.add_argument("--model-type", required=True, help=f"one of {', '.join(MODEL_TYPES)}, or all")
    # Unset flags pass nothing: the model's config (configs/<type>.yaml over configs/trainer/defaults.yaml) decides,
    # so `nethical-train --model-type X` and `nethical fit --config configs/X.yaml` train the same model.
    cfg = flag_defaults(available_model_types())
    p.add_argument("--epochs", type=int, default=None, help=f"default: the config's ({cfg['--epochs']})")
    p.add_argument("--batch-size", type=int, default=None, help=f"default: the config's ({cfg['--batch-size']})")
    p.add_argument("--num-samples", type=int, default=None, help="rows generated (synthetic) or used at most (real "
                   f"data); default: the config's ({cfg['--num-samples']})")
    p.add_argument("--seed", type=int, default=None, help=f"default: the config's ({cfg['--seed']})")
    p.add_argument("--models-dir", default=None, help="default: models")
    p.add_argument("--split-strategy", choices=SPLIT_STRATEGIES, default=None, help=f"default: the config's ({cfg['--split-strategy']})")
    p.add_argument("--train-ratio", type=float, default=None, help=f"default: the config's ({cfg['--train-ratio']})")
    p.add_argument("--promotion-max-ece", type=float, default=None, help="default: 0.08")
    p.add_argument("--promotion-min-accuracy", type=float, default=None, help="default: 0.85")
    p.add_argument("--ece-bins", type=int, default=None, help=f"default: the config's ({cfg['--ece-bins']})")
    p.add_argument("--min-improvement", type=float, default=None,
                   help="margin on top of significance: a challenger replaces the champion only when a paired test finds "
                        "it better by at least this on accuracy or ECE and worse on neither (negative: prefer the newer "
                        "model unless significantly worse by more than this); default 0; see docs/gate.md")
    p.add_argument("--promotion-min-skill", default=None, metavar="X|off",
                   help="skill criterion: the lower bounds of (accuracy - majority rate) / (1 - majority rate) and of "
                        "2*AUROC - 1 must exceed X (default 0: confidently better than no skill); off restores the plain "
                        "criteria")
    p.add_argument("--confidence-level", type=float, default=None,
                   help="confidence level of intervals and paired tests (default 0.95)")
    p.add_argument("--bootstrap-samples", type=int, default=None,
                   help="bootstrap resamples for the intervals (>= 200; default 1000)")
    p.add_argument("--on-new-dataset", choices=("keep", "replace"), default=None,
                   help="a champion trained on another dataset: keep it (the new model becomes a candidate; default) or "
                        "replace it")
    p.add_argument("--dataset-name", default=None,
                   help="name of the dataset in the champion key (default: the file name, Kaggle slug or synthetic task)")
    audit = p.add_argument_group("audit log (Merkle tree, tamper-evident)")
    audit.add_argument("--enable-audit", action="store_true", help="record the run in a Merkle audit log")
    audit.add_argument("--audit-path", default="training_audit_logs", help="audit log directory")
    audit.add_argument("--audit-signing-key", default=None, help="Ed25519 private key (PEM) that signs each chunk's tree head")
    gov = p.add_argument_group("governance validation")
    gov.add_argument("--enable-governance", action="store_true", help="scan training data and predictions")
    gov.add_argument("--gov-data-samples", default="100", help="training samples to scan, or all")
    gov.add_argument("--gov-pred-samples", default="50", help="validation predictions to scan, or all")
    gov.add_argument("--gov-policy", choices=("report", "quarantine", "block"), default="report",
                     help="report: count and list; quarantine: drop flagged training samples; block: stop before training")
    gov.add_argument("--gov-fail-on-violations", action="store_true", help="same as --gov-policy block")
    gov.add_argument("--gov-jailbreak-sensitivity", choices=("standard", "high"), default="high",
                     help="high (default): flag persona jailbreaks on fewer cues; standard: fewer flags on role-play "
                          "training data, lower recall")
    gov.add_argument("--gov-model", default="default",
                     help="learned governance detector combined with the rules: default (shipped), a directory from "
                          "`nethical governance train`, or none (rules only)")
    gov.add_argument("--gov-sensitivity", choices=("low", "standard", "high"), default="standard",
                     help="learned detector operating point: benign false-positive target 1%% / 5%% / 10%%")
    drift = p.add_argument_group("ethical drift tracking")
    drift.add_argument("--enable-drift-tracking", action="store_true", help="record a cohort observation and report drift")
    drift.add_argument("--drift-report-dir", default="training_drift_reports", help="cohort store and drift reports")
    drift.add_argument("--cohort-id", default=None, help="cohort of this run (default: <model-type>_<timestamp>)")
    hw = p.add_argument_group("hardware and cluster (Lightning Trainer settings)")
    hw.add_argument("--accelerator", default=None, help="cpu, gpu, auto, ... (default: the config's, auto)")
    hw.add_argument("--devices", default=None, help="devices per node: a number, a list such as 0,1, or auto")
    hw.add_argument("--strategy", default=None, help="auto, ddp, ddp_spawn, ...")
    hw.add_argument("--num-nodes", type=int, default=None, help="nodes for multi-node DDP")
    hw.add_argument("--precision", default=None, help="32-true, 16-mixed, bf16-mixed, ...")
    hw.add_argument("--ckpt-path", default=None, help="resume from this checkpoint, or 'last' for the latest of the model type")
    text = p.add_argument_group("text and sequence inputs")
    text.add_argument("--max-length", type=int, default=None,
                      help="bytes per text (tokens per sequence) the model reads (default: the config's, 1024 for "
                           "simple_transformer); longer inputs are cut by --truncation")
    text.add_argument("--truncation", choices=TRUNCATIONS, default=None,
                      help="which part of a longer text is kept (default: the config's, head_tail: the first 3/4 and "
                           "the last 1/4 of --max-length)")
    p.add_argument("--config", default=None, help="a YAML config to use instead of configs/<model-type>.yaml")
    p.add_argument("--logs-dir", default=None, help="TensorBoard log directory (default: lightning_logs)")
    p.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard logs")
    p.add_argument("--print-args", action="store_true", help="print the LightningCLI arguments and exit")
    p.add_argument("--verbose", action="store_true", help="tracebacks on errors, and every library banner, warning and model summary")
    classic_data.add_flags(p)
    return p


def validate(ns: argparse.Namespace) -> List[str]:
    """Check every flag before anything is written; returns the model types to train."""
    check_path_args([(ns.models_dir, "--models-dir"), (ns.audit_path, "--audit-path"), (ns.audit_signing_key, "--audit-signing-key"),
                     (ns.drift_report_dir, "--drift-report-dir"), (ns.logs_dir, "--logs-dir"), (ns.ckpt_path, "--ckpt-path"),
                     (ns.config, "--config"), (getattr(ns, "data_path", None), "--data-path"),
                     (getattr(ns, "kaggle_datasets_file", None), "--kaggle-datasets-file"),
                     (getattr(ns, "data_cache_dir", None), "--data-cache-dir"), (ns.cohort_id, "--cohort-id")])
    requested = ns.model_type
    available = available_model_types()
    if requested == "all":
        types = available
        if not types:
            raise ConfigError(
                f"--model-type all found no model configs in {CONFIG_DIR}; reinstall nethical-trainer (the configs are "
                "package data) or train one type with --model-type TYPE --config FILE."
            )
    elif requested not in MODEL_TYPES:
        import difflib

        hint = did_you_mean(difflib.get_close_matches(requested, MODEL_TYPES, n=1, cutoff=0.6))
        raise ConfigError(f"--model-type {requested!r} is not a model type; choose one of {', '.join(MODEL_TYPES)} "
                          f"or all{hint}.")
    elif requested not in available and ns.config is None:
        raise ConfigError(
            f"--model-type {requested} is not available in this version yet; available: {', '.join(available)}."
        )
    else:
        types = [requested]
    if ns.epochs is not None and ns.epochs < 1:
        raise ConfigError(f"--epochs {ns.epochs} must be at least 1.")
    if ns.batch_size is not None and ns.batch_size < 1:
        raise ConfigError(f"--batch-size {ns.batch_size} must be at least 1.")
    if ns.train_ratio is not None and (not 0.0 < ns.train_ratio < 1.0 or math.isnan(ns.train_ratio)):
        raise ConfigError(f"--train-ratio {ns.train_ratio} must be strictly between 0 and 1, e.g. 0.8.")
    if ns.num_samples is not None or ns.train_ratio is not None:
        for model_type in types:
            data = classic_data.config_data(ns, model_type)
            num_samples = ns.num_samples if ns.num_samples is not None else data.get("num_samples")
            train_ratio = ns.train_ratio if ns.train_ratio is not None else data.get("train_ratio", 0.8)
            smallest = min(train_ratio, 1 - train_ratio)
            if num_samples is not None and (num_samples < MIN_SAMPLES or num_samples * smallest < 10):
                raise ConfigError(
                    f"--num-samples {num_samples} is too small to split with --train-ratio {train_ratio}; "
                    f"use at least {max(MIN_SAMPLES, math.ceil(10 / smallest))}."
                )
    for flag, value in (("--promotion-max-ece", ns.promotion_max_ece), ("--promotion-min-accuracy", ns.promotion_min_accuracy)):
        if value is not None and (math.isnan(value) or not 0.0 <= value <= 1.0):
            raise ConfigError(f"{flag} {value} must be within [0, 1].")
    if ns.ece_bins is not None and ns.ece_bins < 1:
        raise ConfigError(f"--ece-bins {ns.ece_bins} must be at least 1.")
    if ns.promotion_min_skill is not None:
        _min_skill(ns.promotion_min_skill)
    if ns.confidence_level is not None and (math.isnan(ns.confidence_level) or not 0.0 < ns.confidence_level < 1.0):
        raise ConfigError(f"--confidence-level {ns.confidence_level} must be strictly between 0 and 1, e.g. 0.95.")
    from nethical.intervals import MIN_BOOTSTRAP

    if ns.bootstrap_samples is not None and ns.bootstrap_samples < MIN_BOOTSTRAP:
        raise ConfigError(f"--bootstrap-samples {ns.bootstrap_samples} is too few for a 95% interval; use at least "
                          f"{MIN_BOOTSTRAP}, e.g. 1000.")
    if ns.min_improvement is not None and (math.isnan(ns.min_improvement) or not -1.0 <= ns.min_improvement <= 1.0):
        raise ConfigError(f"--min-improvement {ns.min_improvement} must be within [-1, 1]; 0 means 'not worse than the champion'.")
    if ns.max_length is not None and not 1 <= ns.max_length <= MAX_LENGTH_LIMIT:
        raise ConfigError(f"--max-length {ns.max_length} must be between 1 and {MAX_LENGTH_LIMIT} (bytes of text or "
                          "tokens of a sequence), e.g. 1024.")
    for flag, value in (("--gov-data-samples", ns.gov_data_samples), ("--gov-pred-samples", ns.gov_pred_samples)):
        if value != "all" and not (value.isdigit() and int(value) >= 1):
            raise ConfigError(f"{flag} {value!r} must be a positive whole number or all.")
    if ns.enable_governance and ns.gov_model not in ("default", "none"):
        from nethical.governance.detector import load_detector

        load_detector(ns.gov_model, ns.gov_sensitivity)  # a missing or corrupt model stops here, naming the file
    if ns.audit_signing_key is not None and not Path(ns.audit_signing_key).is_file():
        raise ConfigError(f"--audit-signing-key {ns.audit_signing_key!r} does not exist; pass an Ed25519 private key PEM file.")
    if ns.num_nodes is not None and ns.num_nodes < 1:
        raise ConfigError(f"--num-nodes {ns.num_nodes} must be at least 1.")
    if ns.ckpt_path not in (None, "last", "hpc", "best") and not Path(ns.ckpt_path).is_file():
        raise ConfigError(f"--ckpt-path {ns.ckpt_path!r} does not exist; pass a checkpoint file or 'last'.")
    if ns.config is not None and not Path(ns.config).is_file():
        raise ConfigError(f"config file {ns.config!r} does not exist; pass an existing YAML file (see configs/).")
    classic_data.validate(ns)
    check_writable_dir(ns.models_dir or "models", "models dir", "--models-dir")
    if ns.enable_audit:
        check_writable_dir(ns.audit_path, "audit dir", "--audit-path")
    if ns.enable_drift_tracking:
        from nethical.drift.store import validate_cohort_id

        if ns.cohort_id is not None:
            validate_cohort_id(ns.cohort_id)
        check_writable_dir(ns.drift_report_dir, "drift report dir", "--drift-report-dir")
    if not ns.no_tensorboard:
        check_writable_dir(ns.logs_dir or "lightning_logs", "logs dir", "--logs-dir")
    return types


def lightning_args(ns: argparse.Namespace, model_type: str) -> List[str]:
    """The ``nethical fit`` arguments equivalent to these flags for one model type."""
    config = ns.config or str(CONFIG_DIR / f"{model_type}.yaml")
    args = ["fit", "--config", config]
    for value, keys in (
        (ns.seed, ("--seed_everything", "--data.init_args.seed")),
        (ns.epochs, ("--trainer.max_epochs",)),
        (ns.batch_size, ("--data.init_args.batch_size",)),
        (ns.num_samples, ("--data.init_args.num_samples",)),
        (ns.split_strategy, ("--data.init_args.split_strategy",)),
        (ns.train_ratio, ("--data.init_args.train_ratio",)),
        (ns.ece_bins, ("--model.init_args.ece_bins", "--gate.ece_bins")),
        (ns.models_dir, ("--gate.models_dir",)),
        (ns.promotion_max_ece, ("--gate.max_ece",)),
        (ns.promotion_min_accuracy, ("--gate.min_accuracy",)),
        (ns.min_improvement, ("--gate.min_improvement",)),
    ):
        if value is not None:  # only what the user set: everything else is the config's
            for key in keys:
                args += [key, str(value)]
    if ns.promotion_min_skill is not None:
        skill = _min_skill(ns.promotion_min_skill)
        args += ["--gate.min_skill", "null" if skill is None else str(skill)]
    for value, key in ((ns.confidence_level, "--gate.confidence"), (ns.bootstrap_samples, "--gate.n_bootstrap"),
                       (ns.on_new_dataset, "--gate.on_new_dataset"), (ns.dataset_name, "--gate.dataset_name"),
                       (ns.max_length, "--data.init_args.max_length"), (ns.truncation, "--data.init_args.truncation")):
        if value is not None:
            args += [key, str(value)]
    if ns.enable_audit:
        args += ["--audit.enabled", "true", "--audit.audit_path", str(ns.audit_path)]
        if ns.audit_signing_key:
            args += ["--audit.signing_key", str(ns.audit_signing_key)]
    if ns.enable_governance:
        policy = "block" if ns.gov_fail_on_violations else ns.gov_policy
        args += ["--governance.enabled", "true", "--governance.data_samples", ns.gov_data_samples,
                 "--governance.pred_samples", ns.gov_pred_samples, "--governance.policy", policy]
        if ns.gov_jailbreak_sensitivity != "high":
            args += ["--governance.jailbreak_sensitivity", ns.gov_jailbreak_sensitivity]
        if ns.gov_model != "default":
            args += ["--governance.model", ns.gov_model]
        if ns.gov_sensitivity != "standard":
            args += ["--governance.sensitivity", ns.gov_sensitivity]
    if ns.enable_drift_tracking:
        args += ["--drift.enabled", "true", "--drift.report_dir", str(ns.drift_report_dir)]
        if ns.cohort_id:
            args += ["--drift.cohort_id", ns.cohort_id]
    for flag, key in (("accelerator", "accelerator"), ("devices", "devices"), ("strategy", "strategy"),
                      ("num_nodes", "num_nodes"), ("precision", "precision")):
        value = getattr(ns, flag)
        if value is not None:
            args += [f"--trainer.{key}", str(value)]
    if ns.ckpt_path is not None:
        args += ["--ckpt_path", ns.ckpt_path]
    if ns.no_tensorboard:
        args += ["--trainer.logger", "false"]
    elif ns.model_type == "all":  # one parent directory per command, so TensorBoard groups its runs
        from callbacks.events import get_run_id

        args += ["--trainer.logger.init_args.save_dir", str(Path(ns.logs_dir or "lightning_logs") / f"all-{get_run_id()}")]
    elif ns.logs_dir is not None:
        args += ["--trainer.logger.init_args.save_dir", str(ns.logs_dir)]
    args += classic_data.lightning_args(ns, model_type)
    return args


def _min_skill(value: str) -> Optional[float]:
    """``--promotion-min-skill``: a number in [-1, 1) or ``off``."""
    if str(value).strip().lower() in ("off", "none", "null"):
        return None
    try:
        skill = float(value)
    except ValueError:
        skill = float("nan")
    if math.isnan(skill) or not -1.0 <= skill < 1.0:
        raise ConfigError(f"--promotion-min-skill {value!r} must be a number in [-1, 1) or off (0: confidently better "
                          "than no skill).")
    return skill


def train_one(args: List[str]) -> Dict[str, Any]:
    from callbacks.promotion_gate import PromotionGate
    from nethical.cli.lightning_cli import NethicalCLI

    cli = NethicalCLI(args=args)
    gate = cli.callback(PromotionGate)
    if gate is None or gate.result is None:
        raise RuntimeError("training finished without a promotion decision")
    return gate.result


def _missed(failed: List[str]) -> str:
    """The criteria a model missed, by name (the reasons in words were printed after its decision line)."""
    import re

    names: List[str] = []
    for why in failed:  # each reason ends with its criterion's name in parentheses, e.g. "(no_skill: ...)"
        found = re.findall(r"\(([a-z_]+)", why)
        if found and found[-1] not in names:
            names.append(found[-1])
    return f"  (missed: {', '.join(names)})" if names else ""


def format_summary(rows: List[Dict[str, Any]]) -> str:
    header = (f"{'model type':<20} {'accuracy':>8} {'majority':>8} {'auroc':>7} {'ece':>7} {'decision':>9} {'seconds':>8}"
              "  saved to / error")
    lines = ["Training summary:", header, "-" * len(header)]
    for r in rows:
        if r.get("error"):
            lines.append(f"{r['model_type']:<20} {'-':>8} {'-':>8} {'-':>7} {'-':>7} {'FAILED':>9} {r['seconds']:>8.1f}  {r['error']}")
        else:
            m = r["metrics"]
            auroc = m.get("auroc")
            lines.append(
                f"{r['model_type']:<20} {m['accuracy']:>8.4f} {m.get('majority_rate', float('nan')):>8.4f} "
                f"{(auroc if auroc is not None else float('nan')):>7.4f} {m['ece']:>7.4f} "
                f"{r.get('decision', 'PROMOTED' if r['promoted'] else 'CANDIDATE'):>9} {r['seconds']:>8.1f}  {r['saved_dir']}"
                + _missed(r.get("failed_criteria") or [])
            )
    return "\n".join(lines)


def run(ns: argparse.Namespace) -> int:
    from callbacks.events import new_run_id

    types = validate(ns)
    if ns.print_args:
        for t in types:
            print(" ".join(["nethical"] + lightning_args(ns, t)))
        return 0
    if "LOCAL_RANK" not in os.environ:  # DDP workers keep the id their launcher gave them
        new_run_id()
    rows: List[Dict[str, Any]] = []
    batch_audit = ns.enable_audit and len(types) > 1 and _is_rank_zero()
    if batch_audit:
        _audit_batch(ns, "batch_start", model_types=types)
    for model_type in types:
        started = time.perf_counter()
        try:
            result = train_one(lightning_args(ns, model_type))
            rows.append({**result, "seconds": time.perf_counter() - started})
        except Exception as exc:  # noqa: BLE001 - one failing type must not stop the others
            if len(types) == 1:
                raise  # a single type reports its own error (one line, exit code by kind)
            if ns.verbose:
                import traceback

                traceback.print_exc()
            rows.append({"model_type": model_type, "error": " ".join(str(exc).split())[:300], "seconds": time.perf_counter() - started})
    if batch_audit:
        head = _audit_batch(ns, "batch_end", results=[
            {"model_type": r["model_type"], "status": "failed" if r.get("error") else ("promoted" if r["promoted"] else "candidate"),
             "accuracy": None if r.get("error") else r["metrics"]["accuracy"], "ece": None if r.get("error") else r["metrics"]["ece"],
             "saved_dir": r.get("saved_dir")} for r in rows])
        if head is not None:  # batch_end moved the chain head past the last fit's root printed above
            from nethical.console import say

            say(f"Merkle root: {head.merkle_root} (chain head after batch_end, chunk {head.chunk_id})")
    if _is_rank_zero():
        print(format_summary(rows), flush=True)
    return 1 if any(r.get("error") for r in rows) else 0


def _audit_batch(ns: argparse.Namespace, event_type: str, **facts: Any) -> Any:
    """``batch_start`` / ``batch_end`` of ``--model-type all`` as whole audit chunks (outside any fit)."""
    from callbacks.events import get_run_id
    from nethical.audit import append_events

    return append_events(ns.audit_path, [{"event_type": event_type, **facts}], run_id=get_run_id(), model_type="all",
                         signing_key=ns.audit_signing_key)


def _is_rank_zero() -> bool:
    from nethical.console import is_rank_zero

    return is_rank_zero()


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    verbose = "--verbose" in argv
    from nethical.console import set_verbose

    set_verbose(verbose)
    return run_guarded(lambda: run(parser.parse_args(argv)), verbose=verbose)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
