"""The bundled configs as both CLIs see them (no Lightning import): the shared trainer defaults, each model type's
file composed over them, and the defaults the classic flags fall back to when not given."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from nethical.paths import CONFIG_DIR

#: Trainer settings shared by every model config; ``nethical fit|validate|test|predict`` load it before any --config.
TRAINER_DEFAULTS = CONFIG_DIR / "trainer" / "defaults.yaml"

#: classic flag -> the config key it overrides (dotted), for the flags whose default is the config's
CONFIG_FLAGS = {
    "--epochs": "trainer.max_epochs",
    "--batch-size": "data.init_args.batch_size",
    "--num-samples": "data.init_args.num_samples",
    "--seed": "seed_everything",
    "--split-strategy": "data.init_args.split_strategy",
    "--train-ratio": "data.init_args.train_ratio",
    "--ece-bins": "model.init_args.ece_bins",
}


def _merge(base: Dict[str, Any], over: Mapping[str, Any]) -> Dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) else value
    return out


def _read(path: Union[str, Path]) -> Dict[str, Any]:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def composed_config(path: Union[str, Path]) -> Dict[str, Any]:
    """A model config over the shared trainer defaults, as plain data (values only; classes are not resolved)."""
    return _merge(_read(TRAINER_DEFAULTS) if TRAINER_DEFAULTS.is_file() else {}, _read(path))


def lookup(config: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def describe_default(values: Mapping[str, Any]) -> str:
    """``{type: value}`` as one table cell: ``10`` when all agree, else ``32 heuristic, logistic; 64 ...``."""
    groups: Dict[str, List[str]] = {}
    for model_type, value in values.items():
        groups.setdefault(str(value), []).append(model_type)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{value} {', '.join(types)}" for value, types in groups.items())


def flag_defaults(model_types: List[str], config: Optional[Union[str, Path]] = None) -> Dict[str, str]:
    """What each config-backed classic flag defaults to, per model type, read from the configs themselves."""
    configs = {t: composed_config(config or CONFIG_DIR / f"{t}.yaml") for t in model_types}
    fallback = {"seed_everything": 42}  # NethicalCLI's seed_everything_default
    return {flag: describe_default({t: lookup(c, key, fallback.get(key)) for t, c in configs.items()})
            for flag, key in CONFIG_FLAGS.items()}
