"""Loading saved scikit-learn models (skops files) with an exact allow-list of types.

A skops file is a zip archive whose ``schema.json`` names, for every saved object, the type (or function) that
rebuilds it. skops itself trusts every public scikit-learn estimator and every numpy/scipy ufunc by default, and
until now this project added anything whose name started with ``sklearn.``, ``numpy.`` or ``scipy.``. That is far
too wide: a ``scipy.stats`` distribution runs the code in its saved ``_parse_arg_template`` while it is rebuilt, and
a reduce node naming ``numpy.testing._private.utils.runstring`` calls it with any string.

So :func:`audit_skops` reads ``schema.json`` itself, before skops builds anything, and requires every node to be

- of a node kind (``__loader__``) this project's estimators produce, and
- of a type in :func:`trusted_types` — the exact ``module.Class`` names of the estimators this project supports and
  the internal types their fitted state holds (derived from the classes themselves, so a scikit-learn release that
  moves a class keeps working), or
- a function in :func:`trusted_functions` (none by default).

Anything else refuses the whole file with one line naming the offending types. Users with their own estimators
extend the lists in code, by exact name, never by prefix::

    from nethical.skops_trust import trust_types
    trust_types(my_package.MyClassifier)            # or "my_package.models.MyClassifier"
"""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple, Union

from nethical.exceptions import ModelLoadError, UnsafeModelError
from nethical.safe_json import JSONLimitError, loads_bounded

# The estimators this project supports (configs, docs, tests), by public import path.
SUPPORTED_ESTIMATORS: Tuple[str, ...] = (
    "sklearn.linear_model.LogisticRegression",
    "sklearn.linear_model.SGDClassifier",
    "sklearn.svm.LinearSVC",
    "sklearn.ensemble.HistGradientBoostingClassifier",
    "sklearn.ensemble.RandomForestClassifier",
    "sklearn.ensemble.ExtraTreesClassifier",
    "sklearn.ensemble.GradientBoostingClassifier",
    "sklearn.tree.DecisionTreeClassifier",
    "sklearn.naive_bayes.GaussianNB",
    "sklearn.naive_bayes.MultinomialNB",
    # wrappers and steps the adapters build around them
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing.StandardScaler",
    "sklearn.feature_extraction.text.CountVectorizer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.frozen.FrozenEstimator",
)

# Internal types the fitted state of those estimators holds (found by saving each supported configuration; the test
# tests/nethical/test_skops_trust.py saves them again and checks this list is exactly what they need).
SUPPORTING_TYPES: Tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.preprocessing.LabelEncoder",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.dummy.DummyClassifier",
    "sklearn.tree.DecisionTreeRegressor",
    "sklearn.tree.ExtraTreeClassifier",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "numpy.random.RandomState",
    "numpy.random.Generator",
)

# Plain values: containers, JSON primitives, arrays and the numeric numpy scalar/dtype types arrays are saved with.
PRIMITIVE_TYPES: FrozenSet[str] = frozenset(
    ["builtins.dict", "builtins.list", "builtins.tuple", "builtins.str", "builtins.int", "builtins.float",
     "builtins.bool", "builtins.NoneType", "numpy.ndarray", "numpy.dtype"]
    + [f"numpy.{n}" for n in ("bool", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                              "float16", "float32", "float64", "longlong", "ulonglong", "intc", "uintc")]
)

# Node kinds (skops ``__loader__``) and which types each may name. Kinds that call arbitrary callables or look up
# attributes by a saved name (MethodNode, OperatorFuncNode, PartialNode, ...) are not accepted at all.
_OBJECT_LOADERS = {"ObjectNode", "TreeNode", "LossNode", "RandomStateNode", "RandomGeneratorNode"}
_VALUE_LOADERS = {"DictNode", "ListNode", "TupleNode", "JsonNode", "NdArrayNode", "DTypeNode", "TypeNode"}
ALLOWED_LOADERS: FrozenSet[str] = frozenset(_OBJECT_LOADERS | _VALUE_LOADERS | {"CachedNode", "FunctionNode"})
BIT_GENERATORS: FrozenSet[str] = frozenset({"PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"})

MAX_SCHEMA_BYTES = 64 * 1024 * 1024
MAX_SCHEMA_DEPTH = 200
MAX_MEMBERS = 100_000

_user_types: Set[str] = set()
_user_functions: Set[str] = set()
_resolved: Optional[FrozenSet[str]] = None


def type_name(obj: Union[type, str]) -> str:
    """``module.Qualname`` of a class, as skops records it (a string is returned as is, after a shape check)."""
    if isinstance(obj, str):
        if not obj or "*" in obj or obj.endswith(".") or "." not in obj or any(c.isspace() for c in obj):
            raise ValueError(f"{obj!r} is not an exact 'module.Name'; prefixes and patterns are not accepted.")
        return obj
    return f"{obj.__module__}.{obj.__qualname__}"


def trust_types(*types: Union[type, str]) -> None:
    """Trust more exact types (classes or ``module.Class`` names) when loading skops files, e.g. your estimator."""
    global _resolved
    _user_types.update(type_name(t) for t in types)
    _resolved = None


def trust_functions(*functions: Any) -> None:
    """Trust exact functions (callables or ``module.function`` names) saved as skops function nodes."""
    names = [f if isinstance(f, str) else f"{f.__module__}.{f.__qualname__}" for f in functions]
    _user_functions.update(type_name(n) for n in names)


def untrust_all_added() -> None:
    """Forget the types and functions added with :func:`trust_types` / :func:`trust_functions` (tests)."""
    global _resolved
    _user_types.clear()
    _user_functions.clear()
    _resolved = None


def _resolve(path: str) -> Optional[str]:
    """The defining ``module.Qualname`` of a class named by its public path (``None`` when this version lacks it)."""
    module, _, name = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return type_name(obj) if isinstance(obj, type) else None


def project_types() -> FrozenSet[str]:
    """The exact types this project writes: supported estimators and their internal state types."""
    global _resolved
    if _resolved is None:
        names = {_resolve(p) for p in SUPPORTED_ESTIMATORS + SUPPORTING_TYPES}
        _resolved = frozenset(n for n in names if n)
    return _resolved


def trusted_types() -> FrozenSet[str]:
    return project_types() | PRIMITIVE_TYPES | frozenset(_user_types)


def trusted_functions() -> FrozenSet[str]:
    return frozenset(_user_functions)


def read_schema(data: bytes, where: str) -> Dict[str, Any]:
    """``schema.json`` of a skops archive, size- and nesting-bounded; nothing is imported or built."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise ModelLoadError(f"{where} holds {len(infos)} archive members (limit {MAX_MEMBERS}); refusing to load it.")
            info = zf.getinfo("schema.json")
            if info.file_size > MAX_SCHEMA_BYTES:
                raise ModelLoadError(f"{where}: schema.json is {info.file_size} bytes (limit {MAX_SCHEMA_BYTES}); refusing to load it.")
            raw = zf.read(info)
    except ModelLoadError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise ModelLoadError(f"{where} is not a readable skops file ({type(exc).__name__}); retrain or restore it.") from None
    try:
        schema = loads_bounded(raw, max_depth=MAX_SCHEMA_DEPTH)
    except JSONLimitError as exc:
        raise ModelLoadError(f"{where}: schema.json {exc}; refusing to load it.") from None
    if not isinstance(schema, dict) or "__loader__" not in schema:
        raise ModelLoadError(f"{where}: schema.json is not a skops object tree; retrain or restore it.")
    return schema


def audit_schema(schema: Dict[str, Any]) -> List[str]:
    """Every problem in a skops object tree (empty when each node is an allowed kind naming an allowed type)."""
    allowed_types, allowed_functions = trusted_types(), trusted_functions()
    problems: Set[str] = set()
    stack: List[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(node.values())
        if "__class__" not in node and "__module__" not in node and "__loader__" not in node:
            continue  # a plain mapping inside a node (e.g. ``content`` of an object)
        loader, module, cls = node.get("__loader__"), node.get("__module__"), node.get("__class__")
        if not all(isinstance(v, str) for v in (loader, module, cls)):
            problems.add(f"malformed node {str({k: node.get(k) for k in ('__loader__', '__module__', '__class__')})[:120]}")
            continue
        name = f"{module}.{cls}"
        if loader not in ALLOWED_LOADERS:
            problems.add(f"{loader}({name})")
        elif loader == "FunctionNode":
            if name not in allowed_functions:
                problems.add(f"function {name}")
        elif name not in allowed_types:
            problems.add(name)
        elif loader == "RandomGeneratorNode":
            bit = _bit_generator_name(node)
            if bit not in BIT_GENERATORS:
                problems.add(f"numpy.random.{bit}")
    return sorted(problems)


def _bit_generator_name(node: Dict[str, Any]) -> Optional[str]:
    try:
        name = json.loads(node["content"]["bit_generator"]["content"]["bit_generator"]["content"])
    except (KeyError, TypeError, ValueError):
        return None
    return name if isinstance(name, str) else None


def load_skops(data: bytes, where: str) -> Any:
    """Audit ``data`` (a skops archive) against the exact allow-list, then build it.

    Raises:
        ModelLoadError: the archive is unreadable, too large or too deeply nested, or names any type, function or
            node kind outside the allow-list (nothing has been imported or built then).
    """
    import skops.io as sio

    schema = read_schema(data, where)
    problems = audit_schema(schema)
    if problems:
        shown = ", ".join(problems[:5]) + (f" and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise UnsafeModelError(
            f"{where} names types this project does not load ({shown}); refusing to load it. Only the estimators "
            "Nethical saves are trusted; add your own with nethical.skops_trust.trust_types(...) if you wrote it."
        )
    try:
        return sio.loads(data, trusted=sorted(trusted_types() | trusted_functions()))
    except RecursionError:
        raise ModelLoadError(f"{where} is nested too deeply to load; refusing it.") from None
    except (ValueError, TypeError, KeyError, AttributeError, OSError, zipfile.BadZipFile) as exc:
        raise ModelLoadError(f"{where} could not be rebuilt ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); "
                             "retrain or restore it.") from None
