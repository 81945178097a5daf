"""The learned governance detector: a linear model over hashed word n-grams, loaded without pickle.

It gives, for every text, P(harmful) and a distribution over the eight text categories it can learn
(:data:`LEARNED_CATEGORIES`; ``model_extraction`` stays a stream-level detector). A text is flagged when
P(harmful) reaches the threshold of its most likely category; the thresholds were chosen on development data for a
benign false-positive target and live in the model card (``governance.thresholds``), one set per sensitivity.

Featurization (:func:`featurize`) is scikit-learn's ``HashingVectorizer`` (word 1-2 grams, no fitted vocabulary), a
log of the term counts and an L2 norm: vectorized over a batch, about 50,000 short texts a second on one core. The
weights are one ``(n_features, 1 + 8)`` float32 matrix in ``model.safetensors``; scoring is one sparse product.

The same functions train it (:mod:`lightning_modules.governance_detector`) and score it (:class:`LearnedDetector`),
so training and scanning cannot featurize differently. Training helpers here: :func:`template_groups` (near-duplicate
components, for cross-validation grouped by source template), :func:`fit_weights`, :func:`choose_thresholds` and
:func:`evaluate` (recall per category and benign false positives, with Wilson intervals).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from nethical.exceptions import ModelLoadError
from nethical.governance.violation import CATEGORIES, Violation

#: the categories a text detector can learn (model_extraction needs a stream: see ExtractionMonitor)
LEARNED_CATEGORIES = tuple(c for c in CATEGORIES if c != "model_extraction")
BENIGN = "benign"
MODEL_TYPE = "governance_detector"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "model_card.json"
#: named operating points: the benign false-positive target whose thresholds are used
SENSITIVITIES = {"low": 0.01, "standard": 0.05, "high": 0.10}
FP_TARGETS = (0.01, 0.02, 0.05, 0.10)
DEFAULT_DIR = Path(__file__).resolve().parent / "default_detector"
_TOKEN_PATTERN = r"(?u)\b\w+\b"
_NO_BIAS = -30.0  # the bias of a category without training rows: never the most likely one


def make_vectorizer(n_features: int) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=int(n_features), ngram_range=(1, 2), alternate_sign=False, norm=None,
                             lowercase=True, token_pattern=_TOKEN_PATTERN, dtype=np.float32)


def featurize(texts: Sequence[str], n_features: int, vectorizer: Any = None) -> Any:
    """Sparse CSR features of ``texts``: hashed word 1-2 gram counts, ``log1p``, L2-normalised rows."""
    from sklearn.preprocessing import normalize

    vec = vectorizer if vectorizer is not None else make_vectorizer(n_features)
    x = vec.transform(["" if t is None else str(t) for t in texts])
    np.log1p(x.data, out=x.data)
    return normalize(x, copy=False)


def feature_spec(n_features: int) -> Dict[str, Any]:
    """What the card records about featurization (a saved model is refused when it differs from this code)."""
    return {"kind": "hashed_word_ngrams", "ngram_range": [1, 2], "n_features": int(n_features),
            "token_pattern": _TOKEN_PATTERN, "lowercase": True, "tf": "log1p", "norm": "l2"}


# ---------------------------------------------------------------------------------------------- training helpers

def template_groups(texts: Sequence[str], threshold: float = 0.7) -> np.ndarray:
    """Group ids joining near-duplicate texts (binary character 5-gram cosine >= ``threshold``, digits as 0).

    Templated sources (one sentence per target group, one prompt per number) land in one group, so grouped
    cross-validation never tests a template on a sibling it was trained on.
    """
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import HashingVectorizer

    if len(texts) == 0:
        return np.zeros(0, dtype=np.int64)
    hv = HashingVectorizer(n_features=2 ** 20, analyzer="char_wb", ngram_range=(5, 5), binary=True,
                           alternate_sign=False, norm="l2")
    x = hv.transform([re.sub(r"\d", "0", " ".join(str(t).lower().split())) for t in texts])
    sim = (x @ x.T).tocsr()
    sim.data = (sim.data >= threshold - 1e-9).astype(np.int8)
    sim.eliminate_zeros()
    _, labels = connected_components(sim, directed=False)
    return labels.astype(np.int64)


def fit_weights(x: Any, harmful: np.ndarray, category_idx: np.ndarray, c: float, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Fit the two heads: a balanced logistic regression for P(harmful) on every row, and a multinomial one for the
    category on the harmful rows. Returns ``(weights (n_features, 1 + K) float32, bias (1 + K,) float32)``.

    Only the hash buckets that occur in the training rows are handed to the solvers (the others would get weight 0
    under the L2 penalty anyway), which makes the multinomial fit about ten times faster; one BLAS/OpenMP thread, as
    more only contend on a shared machine.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    k = len(LEARNED_CATEGORIES)
    weights = np.zeros((x.shape[1], 1 + k), dtype=np.float32)
    bias = np.full(1 + k, _NO_BIAS, dtype=np.float32)
    x = x.tocsr()
    used = np.unique(x.indices)
    xs = x[:, used].astype(np.float64)
    with threadpool_limits(limits=1):
        harm = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=seed).fit(xs, harmful)
        weights[used, 0] = harm.coef_[0]
        bias[0] = harm.intercept_[0]
        rows = np.flatnonzero(harmful == 1)
        present = np.unique(category_idx[rows])
        if present.size == 1:
            bias[1 + present[0]] = 0.0
        elif present.size > 1:
            cat = LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(xs[rows], category_idx[rows])
            coef = cat.coef_ if cat.coef_.shape[0] == present.size else np.vstack([-cat.coef_[0], cat.coef_[0]])
            inter = (cat.intercept_ if cat.intercept_.shape[0] == present.size
                     else np.array([-cat.intercept_[0], cat.intercept_[0]]))
            for j, ci in enumerate(cat.classes_):
                weights[used, 1 + int(ci)] = coef[j]
                bias[1 + int(ci)] = inter[j]
    return weights, bias


def score(x: Any, weights: np.ndarray, bias: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``(P(harmful) (n,), category probabilities (n, K))`` from features and weights."""
    z = np.asarray(x @ weights, dtype=np.float64) + bias
    p = 1.0 / (1.0 + np.exp(-np.clip(z[:, 0], -60, 60)))
    logits = z[:, 1:]
    logits = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return p, e / e.sum(axis=1, keepdims=True)


def choose_thresholds(p: np.ndarray, top: np.ndarray, is_harmful: np.ndarray, true_cat: np.ndarray,
                      fp_target: float) -> Dict[str, float]:
    """Per-category thresholds on P(harmful) (a row is judged by the threshold of its most likely category ``top``)
    that keep the benign false-positive rate at or under ``fp_target`` while raising the weakest category's recall
    first (greedy: each step lowers the threshold of the category with the lowest recall to its next harmful score,
    while the false-positive budget allows).

    Args:
        p: out-of-fold P(harmful); top: index of the most likely category per row; is_harmful: 0/1;
        true_cat: index of the labelled category (ignored for benign rows).
    """
    k = len(LEARNED_CATEGORIES)
    benign = is_harmful == 0
    n_benign = max(int(benign.sum()), 1)
    budget = int(math.floor(fp_target * n_benign + 1e-9))
    thr = np.full(k, 1.0 + 1e-9)
    has_data = [bool(((true_cat == c) & (is_harmful == 1)).any()) for c in range(k)]
    # candidate thresholds per category: the P(harmful) of the rows routed to it, high to low
    cands = [np.unique(p[top == c])[::-1] for c in range(k)]
    pos = [0] * k
    active = [c for c in range(k) if len(cands[c])]

    def fps(t: np.ndarray) -> int:
        return int((benign & (p >= t[top])).sum())

    def recall(t: np.ndarray, c: int) -> float:
        rows = (is_harmful == 1) & (true_cat == c)
        return float((p[rows] >= t[top[rows]]).mean()) if rows.any() else 1.0

    while active:
        order = sorted(active, key=lambda c: (recall(thr, c) if has_data[c] else 2.0, c))
        moved = False
        for c in order:
            trial = thr.copy()
            trial[c] = cands[c][pos[c]]
            if fps(trial) <= budget:
                thr = trial
                pos[c] += 1
                if pos[c] >= len(cands[c]):
                    active.remove(c)
                moved = True
                break
            active.remove(c)  # its next step alone breaks the budget: it stays where it is
            break
        if not moved and not active:
            break
    return {LEARNED_CATEGORIES[c]: float(min(thr[c], 1.0 + 1e-9)) for c in range(k)}


def wilson(k: int, n: int, z: float = 1.96) -> Tuple[Optional[float], Optional[float]]:
    """95% Wilson score interval of a proportion ``k / n`` (``(None, None)`` when ``n == 0``)."""
    if n == 0:
        return None, None
    ph = k / n
    denom = 1 + z * z / n
    centre = (ph + z * z / (2 * n)) / denom
    half = z * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / denom
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def evaluate(flagged: np.ndarray, is_harmful: np.ndarray, categories: Sequence[str]) -> Dict[str, Any]:
    """Recall overall and per category, and the benign false-positive rate, each with a 95% Wilson interval."""
    flagged = np.asarray(flagged, dtype=bool)
    is_harmful = np.asarray(is_harmful, dtype=bool)
    cats = np.asarray(categories)

    def entry(mask: np.ndarray) -> Dict[str, Any]:
        n = int(mask.sum())
        k = int((flagged & mask).sum())
        lo, hi = wilson(k, n)
        return {"rate": round(k / n, 4) if n else None, "ci95": [lo, hi], "flagged": k, "rows": n}

    return {"recall": entry(is_harmful),
            "recall_by_category": {c: entry(is_harmful & (cats == c)) for c in LEARNED_CATEGORIES
                                   if (is_harmful & (cats == c)).any()},
            "benign_fp": entry(~is_harmful)}


def cross_validate(texts: Sequence[str], harmful: np.ndarray, cat_idx: np.ndarray, n_features: int, c: float,
                   folds: int, seed: int) -> Dict[str, Any]:
    """Grouped ``folds``-fold cross-validation on the training rows: out-of-fold scores, the per-category thresholds
    for every target in :data:`FP_TARGETS`, and the recall / benign false-positive rate they give (the ``governance``
    block of the model card, less the training-data facts)."""
    from nethical.exceptions import DataError
    from sklearn.model_selection import GroupKFold

    harmful = np.asarray(harmful, dtype=np.int64)
    cat_idx = np.asarray(cat_idx, dtype=np.int64)
    groups = template_groups(texts)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    folds = min(int(folds), n_groups)
    if folds < 2:
        raise DataError(f"the training rows hold {n_groups} template group(s); grouped cross-validation needs at "
                        "least 2. Add more varied rows.")
    x = featurize(texts, n_features)
    p = np.zeros(len(texts))
    cats = np.zeros((len(texts), len(LEARNED_CATEGORIES)))
    for train_idx, test_idx in GroupKFold(folds).split(x, harmful, groups):
        if np.unique(harmful[train_idx]).size < 2:
            raise DataError("a cross-validation fold holds one class only; add benign and harmful rows of more "
                            "templates.")
        w, b = fit_weights(x[train_idx], harmful[train_idx], cat_idx[train_idx], c, seed)
        p[test_idx], cats[test_idx] = score(x[test_idx], w, b)
    top = cats.argmax(axis=1)
    names = np.array([LEARNED_CATEGORIES[i] if h else BENIGN for i, h in zip(cat_idx, harmful)])
    thresholds, cv = {}, {}
    for target in FP_TARGETS:
        thr = choose_thresholds(p, top, harmful, cat_idx, target)
        thresholds[str(target)] = {k: round(v, 6) for k, v in thr.items()}
        t = np.array([thr[k] for k in LEARNED_CATEGORIES])
        cv[str(target)] = evaluate(p >= t[top], harmful == 1, names)
    return {
        "categories": list(LEARNED_CATEGORIES),
        "features": feature_spec(n_features),
        "sensitivities": dict(SENSITIVITIES),
        "thresholds": thresholds,
        "threshold_rule": "flag when P(harmful) >= thresholds[target][most likely category]; thresholds chosen on "
                          "out-of-fold scores of the training split (grouped by near-duplicate template) for each "
                          "benign false-positive target",
        "cross_validation": {"folds": folds, "grouping": "near-duplicate components (char 5-gram cosine >= 0.7)",
                             "groups": n_groups, "rows": len(texts),
                             "note": "the thresholds are tuned on these same out-of-fold scores, so these figures are "
                                     "the operating point as chosen, not an independent test; see docs/benchmarks.md "
                                     "for nested figures",
                             "by_fp_target": cv},
    }


# ---------------------------------------------------------------------------------------------- scoring

@dataclass(frozen=True)
class DetectorScore:
    """P(harmful), the category distribution and whether the text is flagged at the chosen sensitivity."""

    p_harmful: float
    category: str
    category_probability: float
    threshold: float

    @property
    def flagged(self) -> bool:
        return self.p_harmful >= self.threshold


class LearnedDetector:
    """A trained governance detector directory (``model_card.json`` + ``model.safetensors``), verified and loaded
    without pickle.

    Args:
        model_dir: the directory (``nethical governance train --out DIR``; :data:`DEFAULT_DIR` ships in the package).
        sensitivity: ``low`` / ``standard`` (default) / ``high``: the benign false-positive target whose thresholds
            are used (1% / 5% / 10%; see :data:`SENSITIVITIES`), or a number such as ``0.02`` naming one of the
            targets stored in the card.

    Raises:
        ModelLoadError: naming the file, when the directory is missing, is not a governance detector, or a file
            fails its sha256 check.
    """

    def __init__(self, model_dir: "str | Path", sensitivity: "str | float" = "standard") -> None:
        from nethical.registry import read_card, verify_files

        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise ModelLoadError(f"governance model directory {str(self.model_dir)!r} does not exist; pass a directory "
                                 "written by `nethical governance train --out DIR`, or 'default'.")
        card = read_card(self.model_dir)
        if card.get("model_type") != MODEL_TYPE or not isinstance(card.get("governance"), dict):
            raise ModelLoadError(f"{self.model_dir / CARD_FILE} is not a governance detector card (model_type "
                                 f"{card.get('model_type')!r}); pass a directory written by `nethical governance train`.")
        verify_files(self.model_dir, card)
        gov = card["governance"]
        spec = gov.get("features") or {}
        if spec != feature_spec(int(spec.get("n_features", 0) or 0)) or list(gov.get("categories", [])) != list(LEARNED_CATEGORIES):
            raise ModelLoadError(f"{self.model_dir / CARD_FILE} was made with another featurization or category list "
                                 f"({spec.get('kind')}); retrain it with this version of nethical.")
        self.card = card
        self.n_features = int(spec["n_features"])
        self.thresholds_by_target: Dict[str, Dict[str, float]] = {str(k): dict(v) for k, v in gov["thresholds"].items()}
        self.fp_target = self._target(sensitivity)
        try:
            from safetensors.numpy import load_file

            tensors = load_file(str(self.model_dir / WEIGHTS_FILE))
        except Exception as exc:  # noqa: BLE001 - a damaged file must name itself
            raise ModelLoadError(f"{self.model_dir / WEIGHTS_FILE} cannot be read as safetensors ({exc}).") from None
        try:
            self.weights = np.ascontiguousarray(tensors["weights"], dtype=np.float32)
            self.bias = np.asarray(tensors["bias"], dtype=np.float32)
        except KeyError as exc:
            raise ModelLoadError(f"{self.model_dir / WEIGHTS_FILE} has no tensor {exc}; it is not a governance detector.") from None
        if self.weights.shape != (self.n_features, 1 + len(LEARNED_CATEGORIES)) or self.bias.shape != (1 + len(LEARNED_CATEGORIES),):
            raise ModelLoadError(f"{self.model_dir / WEIGHTS_FILE} holds weights of shape {self.weights.shape}; the card "
                                 f"says ({self.n_features}, {1 + len(LEARNED_CATEGORIES)}).")
        thr = self.thresholds_by_target[self._key(self.fp_target)]
        self.thresholds = np.array([float(thr[c]) for c in LEARNED_CATEGORIES], dtype=np.float64)
        self._vectorizer = make_vectorizer(self.n_features)

    def _key(self, target: float) -> str:
        for key in self.thresholds_by_target:
            if abs(float(key) - target) < 1e-9:
                return key
        raise ModelLoadError(f"{self.model_dir / CARD_FILE} has no thresholds for a benign false-positive target of "
                             f"{target}; stored: {sorted(self.thresholds_by_target)}.")

    def _target(self, sensitivity: "str | float") -> float:
        from nethical.exceptions import ConfigError

        if isinstance(sensitivity, str) and sensitivity in SENSITIVITIES:
            return SENSITIVITIES[sensitivity]
        try:
            value = float(sensitivity)
        except (TypeError, ValueError):
            raise ConfigError(f"governance sensitivity {sensitivity!r} is not known; use {', '.join(SENSITIVITIES)} "
                              f"or a false-positive target stored in the card ({sorted(self.thresholds_by_target)}).") from None
        if not any(abs(float(k) - value) < 1e-9 for k in self.thresholds_by_target):
            raise ConfigError(f"governance sensitivity {value} is not a stored false-positive target; use one of "
                              f"{sorted(self.thresholds_by_target)} or {', '.join(SENSITIVITIES)}.")
        return value

    def predict(self, texts: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
        """``(P(harmful) (n,), category probabilities (n, 8) in LEARNED_CATEGORIES order)`` for a batch."""
        if len(texts) == 0:
            return np.zeros(0), np.zeros((0, len(LEARNED_CATEGORIES)))
        return score(featurize(texts, self.n_features, self._vectorizer), self.weights, self.bias)

    def score_batch(self, texts: Sequence[str]) -> List[DetectorScore]:
        p, cats = self.predict(texts)
        top = cats.argmax(axis=1)
        return [DetectorScore(float(p[i]), LEARNED_CATEGORIES[top[i]], float(cats[i, top[i]]),
                              float(self.thresholds[top[i]])) for i in range(len(p))]

    def violations(self, texts: Sequence[str]) -> List[Optional[Violation]]:
        """One model violation per flagged text (``None`` for the others), in input order."""
        p, cats = self.predict(texts)
        top = cats.argmax(axis=1)
        thr = self.thresholds[top]
        out: List[Optional[Violation]] = [None] * len(p)
        for i in np.flatnonzero(p >= thr):
            out[int(i)] = model_violation(float(p[i]), LEARNED_CATEGORIES[top[i]], float(cats[i, top[i]]), float(thr[i]))
        return out


def model_violation(p: float, category: str, category_p: float, threshold: float) -> Violation:
    """The violation the learned detector raises: confidence 0.6 at the threshold rising to 0.99 at P=1 (so it
    always clears the default warn level), ``high`` severity from confidence 0.85 on, else ``medium``."""
    span = max(1.0 - threshold, 1e-9)
    confidence = round(min(0.99, 0.6 + 0.39 * max(0.0, p - threshold) / span), 3)
    severity = "high" if confidence >= 0.85 else "medium"
    return Violation(category, "learned_detector", severity, confidence, (0, 0),
                     f"model P(harmful)={p:.3f} >= threshold {threshold:.3f}; P({category})={category_p:.2f}",
                     source="model", score=round(p, 4))


def load_detector(spec: Optional[str], sensitivity: "str | float" = "standard") -> Optional[LearnedDetector]:
    """``None``/``"none"`` → no detector (rules only); ``"default"`` → the shipped detector; else a directory."""
    if spec is None or str(spec).lower() == "none":
        return None
    path = DEFAULT_DIR if str(spec) == "default" else Path(str(spec))
    if str(spec) == "default" and not (path / CARD_FILE).is_file():
        raise ModelLoadError(f"the default governance detector is missing from the package ({path / CARD_FILE}); "
                             "reinstall nethical or rebuild it with `python -m nethical.governance.build_default`.")
    return LearnedDetector(path, sensitivity)


def read_card_json(model_dir: Path) -> Dict[str, Any]:
    return json.loads((Path(model_dir) / CARD_FILE).read_text(encoding="utf-8"))
