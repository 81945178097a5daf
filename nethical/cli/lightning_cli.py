"""``nethical fit|validate|test|predict``: the LightningCLI subclass (imports Lightning)."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, LRSchedulerTypeTuple
from torch.optim import Optimizer

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
from nethical.cli.configs import TRAINER_DEFAULTS
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

# In the logger's and checkpoint callbacks' paths, replaced by the type of the model class actually trained.
MODEL_TYPE_FIELD = "{model_type}"
CHECKPOINT_DIR = "checkpoints/" + MODEL_TYPE_FIELD


def import_classes() -> List[type]:
    """Import every model type and datamodule, so ``--model LogisticClassifier`` / ``--data FileDataModule`` (short
    names) resolve and ``--help`` lists them. Returns the classes ``--model`` and ``--data`` accept."""
    import importlib
    import pkgutil

    import datamodules
    from nethical.cli.classic import MODEL_TYPES

    for model_type in MODEL_TYPES:
        importlib.import_module(f"lightning_modules.{model_type}")
    for info in pkgutil.iter_modules(datamodules.__path__):
        importlib.import_module(f"datamodules.{info.name}")
    return [cls for base in (BaseClassifierModule, BaseDataModule) for cls in _subclasses(base)]


def _subclasses(cls: type) -> List[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


class NethicalArgumentParser(LightningArgumentParser):
    """Errors as the short usage, the first line of the problem and a "did you mean" for a mistyped flag or class
    name (jsonargparse prints every option's usage, dozens of lines, and the full type-check trace)."""

    def error(self, message: str, ex: Optional[Exception] = None) -> Any:
        if not self.exit_on_error or is_verbose():
            return super().error(message, ex)
        parser = getattr(ex, "subcommand_parser", None) or self
        prog = parser.prog.replace(" [options]", "")
        lines = [line.strip() for line in str(message).splitlines() if line.strip()]
        problem = lines[0] if lines else "invalid arguments"
        hint = did_you_mean(parser, " ".join(lines))
        if problem.endswith(":") and len(lines) > 1:  # "Parser key "model": ... Errors:" -> name the first reason
            problem += " " + lines[1].lstrip("- ")
        sys.stderr.write(f"usage: {prog} --config FILE [--model CLASS] [--data CLASS] [--trainer.* ...] "
                         f"({prog} --help lists every option)\n")
        sys.stderr.write(f"error: {problem}{hint}\n")
        self.exit(2)


def did_you_mean(parser: Any, message: str) -> str:
    """`` (did you mean ...?)`` for the flags and class names in an error message that are close to known ones."""
    import difflib
    import re

    from nethical.cli.errors import close_flags
    from nethical.cli.errors import did_you_mean as hint

    classes = import_classes()
    names = {c.__name__: c.__name__ for c in classes} | {f"{c.__module__}.{c.__name__}": c.__name__ for c in classes}
    suggestions = close_flags(message, getattr(parser, "_option_string_actions", {}))
    best = (0.8, "")  # the one known class closest to an unknown class name in the message
    for word in re.findall(r"[A-Za-z_][\w.]*", message):
        if word not in names and len(word) > 3 and (word[0].isupper() or "." in word):
            for known in names:
                ratio = difflib.SequenceMatcher(None, word, known).ratio()
                best = max(best, (ratio, names[known]))
    if best[1]:
        suggestions.append(best[1])
    return hint(list(dict.fromkeys(suggestions)))


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
        # --optimizer / --lr_scheduler are added in add_arguments_to_parser and handed to the model, which builds
        # them in configure_optimizers once its layers exist (Lightning's automatic path builds them before).
        kwargs.setdefault("auto_configure_optimizers", False)
        kwargs.setdefault("parser_kwargs", {"prog": "nethical", "exit_on_error": True})
        kwargs.setdefault("parser_class", NethicalArgumentParser)
        import_classes()
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
        parser.default_config_files = [str(TRAINER_DEFAULTS)]
        for key, cls in CALLBACK_GROUPS:
            parser.add_lightning_class_args(cls, key)
        parser.add_optimizer_args((Optimizer,))
        parser.add_lr_scheduler_args(LRSchedulerTypeTuple)

    def before_instantiate_classes(self) -> None:
        """Put the trained model's type into the logger's and checkpoint callbacks' paths (``{model_type}``)."""
        config = self.config[self.subcommand] if self.subcommand else self.config
        model_type = model_type_of(config.get("model"))
        trainer = config.get("trainer") or {}
        loggers = trainer.get("logger")
        for logger in loggers if isinstance(loggers, list) else [loggers]:
            _fill_model_type(getattr(logger, "init_args", None), model_type, ("save_dir", "name", "version"))
        callbacks = trainer.get("callbacks") or []
        for callback in callbacks if isinstance(callbacks, list) else [callbacks]:
            args = getattr(callback, "init_args", None)
            if args is not None and _is_model_checkpoint(getattr(callback, "class_path", None)) and not args.get("dirpath"):
                args["dirpath"] = CHECKPOINT_DIR
            _fill_model_type(args, model_type, ("dirpath",))
        self._model_type = model_type
        self._check_model_init_args(config)

    def instantiate_classes(self) -> None:
        super().instantiate_classes()
        optimizer, lr_scheduler = self._get(self.config_init, "optimizer"), self._get(self.config_init, "lr_scheduler")
        if optimizer is not None or lr_scheduler is not None:
            self.model.use_optimizer(_as_dict(optimizer), _as_dict(lr_scheduler))

    @staticmethod
    def _check_model_init_args(config: Any) -> None:
        """Let the model class check its arguments against the outside world (files, directories) before anything is
        built, so such errors reach the user as one line with exit 2 instead of jsonargparse's union message."""
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
        if trainer_cfg.get("enable_checkpointing", True) is not False and not any(
                _is_model_checkpoint(type(cb)) for cb in configured):
            extra.append(default_checkpoint(getattr(self, "_model_type", None) or self.model.model_type))
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
        self.check_output_dirs()
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

    def check_output_dirs(self) -> None:
        """Every directory the fit writes to can be written, before training starts (one clear line, exit 2)."""
        from nethical.fileio import check_writable_dir

        gate = self.callback(PromotionGate)
        if gate is not None and gate.save:
            check_writable_dir(gate.models_dir, "models dir", "--gate.models_dir (nethical-train: --models-dir)")
        for logger in self.trainer.loggers:
            if getattr(logger, "save_dir", None):
                check_writable_dir(logger.save_dir, "logs dir",
                                   "--trainer.logger.init_args.save_dir (nethical-train: --logs-dir)")
        for callback in self.trainer.checkpoint_callbacks:
            if getattr(callback, "dirpath", None):
                check_writable_dir(callback.dirpath, "checkpoint dir", "ModelCheckpoint dirpath")

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


def model_type_of(model_config: Any) -> str:
    """The ``model_type`` of the model class a config names (its class name for a class that sets none)."""
    class_path = model_config.get("class_path") if hasattr(model_config, "get") else None
    if not class_path:
        return "model"
    cls = _import(class_path) if isinstance(class_path, str) else class_path
    model_type = getattr(cls, "model_type", None)
    return model_type if model_type and model_type != "base" else cls.__name__


def default_checkpoint(model_type: str) -> Any:
    """The ModelCheckpoint every run has: ``checkpoints/<type>/last.ckpt`` (for ``--ckpt_path last``) and the best."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    return ModelCheckpoint(dirpath=CHECKPOINT_DIR.replace(MODEL_TYPE_FIELD, model_type), filename="epoch{epoch:03d}",
                           auto_insert_metric_name=False, save_last=True, save_top_k=1)


def _import(class_path: str) -> Any:
    import importlib

    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _is_model_checkpoint(class_path: Any) -> bool:
    from lightning.pytorch.callbacks import ModelCheckpoint

    try:
        cls = _import(class_path) if isinstance(class_path, str) else class_path
    except Exception:  # noqa: BLE001 - not importable: not ours to fill in
        return False
    return isinstance(cls, type) and issubclass(cls, ModelCheckpoint)


def _fill_model_type(args: Any, model_type: str, keys: Sequence[str]) -> None:
    for key in keys:
        value = args.get(key) if args is not None else None
        if isinstance(value, str) and MODEL_TYPE_FIELD in value:
            args[key] = value.replace(MODEL_TYPE_FIELD, model_type)


def _as_dict(init: Any) -> Optional[dict]:
    if init is None:
        return None
    return init.as_dict() if hasattr(init, "as_dict") else dict(init)


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
