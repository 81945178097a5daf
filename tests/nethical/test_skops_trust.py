"""The exact skops allow-list: derived from the supported estimators, extendable by exact name, refusing the rest."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (ExtraTreesClassifier, GradientBoostingClassifier, HistGradientBoostingClassifier,
                              RandomForestClassifier)
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import GaussianNB, MultinomialNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from nethical.exceptions import ModelLoadError, UnsafeModelError
from nethical.skops_trust import (PRIMITIVE_TYPES, audit_schema, load_skops, project_types, read_schema, trust_types,
                                  untrust_all_added)


def _names(data: bytes) -> set:
    found, stack = set(), [json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__loader__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _supported_fits():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4))
    y = (x[:, 0] + rng.normal(size=120) > 0).astype(int)
    texts = [" ".join(rng.choice(["read", "write", "exec", "open"], size=5)) for _ in range(120)]
    tabular = [LogisticRegression(), SGDClassifier(loss="log_loss"), HistGradientBoostingClassifier(max_iter=3),
               RandomForestClassifier(n_estimators=2), ExtraTreesClassifier(n_estimators=2),
               GradientBoostingClassifier(n_estimators=2), DecisionTreeClassifier(), GaussianNB(),
               Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])]
    for est in tabular:
        yield est.fit(x, y)
    svc = CalibratedClassifierCV(LinearSVC(), method="sigmoid", cv=3, ensemble=False).fit(x, y)  # the adapter's wrap
    yield svc
    for method in ("sigmoid", "isotonic"):  # the gate's post-hoc calibration
        yield CalibratedClassifierCV(FrozenEstimator(svc), method=method).fit(x, y)
    for vec in (TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2)), CountVectorizer(token_pattern=r"\S+")):
        for clf in (LogisticRegression(), MultinomialNB()):
            yield Pipeline([("ngrams", vec), ("classifier", clf)]).fit(texts, y)


def test_allow_list_is_exactly_what_the_supported_estimators_save():
    used = set()
    for est in _supported_fits():
        data = sio.dumps(est)
        assert audit_schema(read_schema(data, "x")) == []
        used |= _names(data)
        loaded = load_skops(data, "x")
        assert type(loaded) is type(est)
    # every project type is needed by some supported estimator: the list holds nothing "just in case"
    assert project_types() - used == set()
    assert used - PRIMITIVE_TYPES <= project_types()


def test_own_estimators_are_added_by_exact_name_never_by_prefix():
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(1)
    data = sio.dumps(KNeighborsClassifier(n_neighbors=3).fit(rng.normal(size=(20, 2)), [0, 1] * 10))
    with pytest.raises(UnsafeModelError, match="KNeighborsClassifier"):
        load_skops(data, "knn.skops")  # a public scikit-learn estimator, but not one this project supports
    with pytest.raises(ValueError, match="prefixes and patterns are not accepted"):
        trust_types("sklearn.*")
    with pytest.raises(ValueError, match="prefixes and patterns are not accepted"):
        trust_types("sklearn.neighbors.")
    try:
        trust_types(KNeighborsClassifier)
        problems = audit_schema(read_schema(data, "knn.skops"))
        assert problems and all("KNeighborsClassifier" not in p for p in problems)  # its internals still need listing
    finally:
        untrust_all_added()


def test_node_kinds_that_call_or_look_up_by_name_are_refused():
    import functools
    import operator

    for obj in ({"f": functools.partial(max, 1)}, {"g": operator.attrgetter("x")}, {"s": {1, 2}}):
        with pytest.raises(UnsafeModelError):
            load_skops(sio.dumps(obj), "x.skops")


def test_unreadable_and_deeply_nested_schemas_are_one_line_errors():
    with pytest.raises(ModelLoadError, match="not a readable skops file"):
        load_skops(b"not a zip", "x.skops")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("schema.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelLoadError, match="nested deeper"):
        load_skops(out.getvalue(), "x.skops")
