"""``nethical fit|validate|test|predict``: the LightningCLI subclass (imports Lightning)."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from lightning.pytorch.cli import LightningCLI

from callbacks.audit_log import AuditLogCallback
from callbacks.drift import DriftCallback
from callbacks.events import get_run_id
from callbacks.governance import GovernanceCallback
from callbacks.plain_progress import FitHeader, PlainProgress
from callbacks.prediction_writer import PredictionWriter
from callbacks.promotion_gate import PromotionGate
from callbacks.tensorboard_summary import TensorBoardSummary
from callbacks.save_config import NethicalSaveConfig
from datamodules.base import BaseDataModule
from lightning_modules.base import BaseClassifierModule
from nethical.class_paths import check_class_paths_in, check_config_args
from nethical.console import is_verbose, quiet_libraries
from nethical.exceptions import ConfigError, ModelLoadError

# The classic CLI calls LightningCLI(args=...) while sys.argv still holds its own flags (DDP launchers re-run
# sys.argv, so it must stay intact); Lightning warns about that combination, which is intended here.
warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\)")

# Added to every run in this order (see callbacks/events.py): audit first, so it receives every event.
CALLBACK_GROUPS = (
    ("audit", AuditLogCallback),
    ("governance", GovernanceCallback),
    ("gate", PromotionGate),
    ("drift", DriftCallback),
    ("predictions", PredictionWriter),  # writes only in `predict`
)


class NethicalCLI(LightningCLI):
    """LightningCLI over every Nethical model (``--model``) and datamodule (``--data``), with the audit, governance,
    promotion-gate and drift callbacks always present (``--audit.*``, ``--governance.*``, ``--gate.*``, ``--drift.*``;
    audit, governance and drift do nothing until ``enabled: true``)."""

    def __init__(self, args: Optional[Sequence[str]] = None, run: bool = True, **kwargs: Any) -> None:
        # jsonargparse imports every class_path while parsing: check their packages first (configs are code-adjacent)
        check_config_args(list(args) if args is not None else sys.argv[1:])
        kwargs.setdefault("save_config_callback", NethicalSaveConfig)
        kwargs.setdefault("save_config_kwargs", {"overwrite": False})
        kwargs.setdefault("seed_everything_default", 42)
        kwargs.setdefault("parser_kwargs", {"prog": "nethical", "exit_on_error": True})
        quiet_libraries()  # before the Trainer exists: its banners come at construction
        super().__init__(
            BaseClassifierModule,
            BaseDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            args=list(args) if args is not None else None,
            run=run,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser: Any) -> None:
        for key, cls in CALLBACK_GROUPS:
            parser.add_lightning_class_args(cls, key)

    def before_instantiate_classes(self) -> None:
        """Let the model class check its arguments against the outside world (files, directories) before anything is
        built, so such errors reach the user as one line with exit 2 instead of jsonargparse's union message."""
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        model = (config or {}).get("model") if hasattr(config, "get") else None
        class_path = getattr(model, "class_path", None) if model is not None else None
        if isinstance(class_path, str) and class_path.startswith("lightning_modules."):
            from nethical.registry import import_trusted_class

            check = getattr(import_trusted_class(class_path), "check_init_args", None)
            if callable(check):
                check(dict(vars(model.init_args)) if model.init_args is not None else {})

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        """Add the one-line fit header; plain per-epoch lines instead of the TQDM bar when stdout is not a terminal
        (or ``CI`` is set); no model summary unless ``--verbose`` or the config asks for one."""
        trainer_cfg = self._get(self.config_init, "trainer", default={}) or {}
        configured = trainer_cfg.get("callbacks") or []
        configured = configured if isinstance(configured, list) else [configured]
        extra: List[Any] = [FitHeader(), TensorBoardSummary()]
        if trainer_cfg.get("enable_progress_bar", True) is not False and not interactive():
            extra.append(PlainProgress())
        kwargs["callbacks"] = [*configured, *extra]
        if trainer_cfg.get("enable_model_summary") is None and not is_verbose():
            kwargs["enable_model_summary"] = False
        return super().instantiate_trainer(**kwargs)

    def _parse_ckpt_path(self) -> None:
        # Lightning reads hyperparameters from an explicit checkpoint while parsing (and imports their class_path):
        # check the file and its class paths first.
        if self.config.get("subcommand"):
            ckpt = self.config[self.config.subcommand].get("ckpt_path")
            if ckpt and ckpt not in ("last", "best", "hpc", "registry"):
                check_checkpoint(Path(str(ckpt)))
        super()._parse_ckpt_path()

    def before_fit(self) -> None:
        """Fail with one clear line on an unsafe run id or a corrupted or foreign checkpoint, before training starts."""
        get_run_id()
        self._pin_checkpoint("fit")

    def before_validate(self) -> None:
        self._pin_checkpoint("validate")

    def before_test(self) -> None:
        self._pin_checkpoint("test")

    def before_predict(self) -> None:
        self._pin_checkpoint("predict")

    def _pin_checkpoint(self, subcommand: str) -> None:
        """Resolve ``last``/``hpc``/``best`` once, check that exact file, and hand Lightning that path with
        ``weights_only=True``, so the file checked is the file loaded and no pickled code runs."""
        cfg = self.config_init[subcommand]
        path = self._resolve_ckpt(cfg.get("ckpt_path"))
        if path is not None:
            path = Path(os.path.realpath(path))  # a last.ckpt link (save_last="link") is pinned to its target
            check_checkpoint(path)
            cfg["ckpt_path"] = str(path)
        elif cfg.get("ckpt_path") in ("last", "hpc"):
            cfg["ckpt_path"] = None  # nothing to resume from (Lightning would only warn)
        if "weights_only" in self._subcommand_method_arguments.get(subcommand, ()):
            cfg["weights_only"] = True

    def before_test(self) -> None:
        # the datamodules hold no rows back beyond the validation split: say so rather than imply a held-out score
        from nethical.console import warn_once

        warn_once("test re-scores the validation split (the rows the promotion gate scored); the data has no separate "
                  "test split, so test/* equals the gate's validation metrics, not a held-out estimate.")

    def _resolve_ckpt(self, ckpt: Any) -> Optional[Path]:
        """The one file Lightning would load for ``ckpt`` (same rules as its checkpoint connector)."""
        from lightning.pytorch.callbacks import ModelCheckpoint

        hpc = getattr(self.trainer._checkpoint_connector, "_hpc_resume_path", None)
        if ckpt is None:
            # Lightning resumes a SLURM requeue from hpc_ckpt_*.ckpt on its own: pin and check that file too
            return Path(hpc) if hpc and self.subcommand == "fit" else None
        if ckpt == "registry" or str(ckpt).startswith("registry:"):
            raise ConfigError("--ckpt_path registry is not supported; pass a checkpoint file, 'last' or 'hpc'.")
        if ckpt == "hpc":
            return Path(hpc) if hpc else None
        if ckpt == "best":
            best = getattr(self.trainer.checkpoint_callback, "best_model_path", None)
            return Path(best) if best else None
        if ckpt == "last":
            candidates = set()
            for cb in self.trainer.checkpoint_callbacks:
                if isinstance(cb, ModelCheckpoint):
                    candidates |= {str(p) for p in cb._find_last_checkpoints(self.trainer)}
            existing = [p for p in candidates if os.path.isfile(p)]
            if not existing:
                return None
            return Path(max(existing, key=os.path.getmtime))
        return Path(str(ckpt))

    def callback(self, cls: type) -> Any:
        """The trainer's callback of type ``cls`` (e.g. the PromotionGate, to read its result)."""
        for cb in self.trainer.callbacks:
            if isinstance(cb, cls):
                return cb
        return None


def interactive() -> bool:
    """A terminal a progress bar can redraw in: stdout is a TTY and this is not a CI job."""
    return sys.stdout.isatty() and not os.environ.get("CI")


def check_checkpoint(path: Path) -> Dict[str, Any]:
    """A checkpoint must exist and load as data only (``weights_only=True``: no pickled code runs)."""
    import torch

    if path.exists() and not path.is_file():
        raise ModelLoadError(f"checkpoint {str(path)!r} is not a regular file (a FIFO, device or directory); pass a checkpoint file.")
    if not path.is_file():
        raise ModelLoadError(f"checkpoint {str(path)!r} does not exist; pass an existing file or 'last'.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure here means the file cannot serve
        reason = " ".join(str(exc).split())
        if "WeightsUnpickler error:" in reason:  # torch's message is long; keep the part that names the problem
            reason = reason.split("WeightsUnpickler error:", 1)[1].split(" Check the")[0].strip()
        reason = reason[:160]
        raise ModelLoadError(
            f"checkpoint {str(path)!r} is corrupted or not a safe Lightning checkpoint ({type(exc).__name__}: {reason}); "
            "delete it or pass another --ckpt-path."
        ) from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ModelLoadError(f"checkpoint {str(path)!r} has no state_dict; it is not a Lightning checkpoint.")
    for key in ("hyper_parameters", "datamodule_hyper_parameters"):
        check_class_paths_in(ckpt.get(key) or {}, f"checkpoint {str(path)!r}")
    return ckpt


def run_lightning_cli(args: List[str]) -> int:
    from nethical.console import set_verbose

    set_verbose("--verbose" in args)
    args = [a for a in args if a != "--verbose"]
    NethicalCLI(args=args)
    return 0
