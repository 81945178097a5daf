"""``class_path`` values are code: check their package before anything imports them.

LightningCLI (through jsonargparse) imports the module named by every ``class_path`` in a config file, on the
command line, or in a checkpoint's saved hyperparameters *before* it checks that the class is of the expected type,
so a config or checkpoint naming ``some_module.Anything`` runs ``some_module``'s import-time code. Configs and
checkpoints are therefore code-adjacent inputs (see docs/threat-model.md). The CLI calls :func:`check_config_args`
and :func:`check_class_paths_in` first, and refuses any ``class_path`` whose top-level package is not in
:func:`trusted_packages`. Projects with their own model or datamodule packages add them in code::

    from nethical.class_paths import trust_packages
    trust_packages("my_models")
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, FrozenSet, List, Sequence, Set

from nethical.exceptions import ConfigError

#: the packages whose classes the project's configs name (models, data, callbacks, loggers, estimators, optimizers)
TRUSTED_PACKAGES: FrozenSet[str] = frozenset({
    "lightning_modules", "datamodules", "callbacks", "nethical",
    "lightning", "pytorch_lightning", "torch", "torchmetrics", "sklearn",
})
_user_packages: Set[str] = set()

DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
# options whose value jsonargparse may treat as a class path (besides any ``*.class_path`` key)
_CLASS_OPTIONS = re.compile(r"--(?:model|data|optimizer|lr_scheduler|trainer\.(?:logger|callbacks|plugins|strategy|profiler)"
                            r"|[\w.]*\.class_path|[\w.]*init_args\.[\w.]+)(?:=|$)")
_CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_CONFIG_DEPTH = 64


def trust_packages(*names: str) -> None:
    """Let configs and checkpoints name classes from these top-level packages too (exact package names)."""
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"{name!r} is not a top-level package name")
        _user_packages.add(name)


def trusted_packages() -> FrozenSet[str]:
    return TRUSTED_PACKAGES | frozenset(_user_packages)


def check_class_path(value: str, where: str) -> None:
    """Refuse a ``class_path`` outside the trusted packages (nothing is imported here)."""
    if not isinstance(value, str) or not DOTTED.fullmatch(value):
        return  # a short class name (resolved among already-imported subclasses) or not a path at all
    package = value.split(".", 1)[0]
    if package not in trusted_packages():
        raise ConfigError(
            f"{where} names class_path {value!r} from package {package!r}, which is not trusted (trusted: "
            f"{', '.join(sorted(trusted_packages()))}); importing it would run its code. Use a class from these "
            "packages, or add yours in code with nethical.class_paths.trust_packages(...)."
        )


def check_class_paths_in(value: Any, where: str) -> None:
    """Walk a parsed config or checkpoint hyperparameters (no recursion) and check every ``class_path``."""
    stack: List[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if key in ("class_path", "_class_path") and isinstance(child, str):
                    check_class_path(child, where)
                elif isinstance(child, str) and _looks_like_class(child):
                    check_class_path(child, where)  # shorthand ``logger: package.Class``
                else:
                    stack.append(child)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def _looks_like_class(text: str) -> bool:
    return bool(DOTTED.fullmatch(text)) and text.rsplit(".", 1)[1][:1].isupper()


def _load_config(path: Path) -> Any:
    import yaml

    from nethical.safe_json import depth_of

    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config {str(path)!r} is larger than {MAX_CONFIG_BYTES} bytes; pass a real config file.")
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except ConfigError:
        raise
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise ConfigError(f"config {str(path)!r} cannot be read as YAML ({type(exc).__name__}); fix the file.") from None
    if depth_of(value, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH:
        raise ConfigError(f"config {str(path)!r} is nested deeper than {MAX_CONFIG_DEPTH} levels; fix the file.")
    return value


def check_config_args(args: Sequence[str]) -> None:
    """Check every ``class_path`` the LightningCLI arguments would import: in ``--config`` files, in YAML files
    given as option values, and in options such as ``--model pkg.Class`` or ``--trainer.logger.class_path X``."""
    args = list(args)
    for i, arg in enumerate(args):
        flag, eq, inline = arg.partition("=")
        if not flag.startswith("--"):
            continue
        value = inline if eq else (args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else None)
        if value is None:
            continue
        if value.lower().endswith(_CONFIG_SUFFIXES) and Path(value).is_file():
            check_class_paths_in(_load_config(Path(value)), f"config {value!r}")
        elif flag.endswith("class_path") or (_CLASS_OPTIONS.match(flag) and _looks_like_class(value)):
            check_class_path(value, f"option {flag}")
