"""Missing values, category caps and class balance, on whole columns.

Missing means null, NaN or ±inf. With ``missing: drop`` a row missing a label or a used value is dropped; with
``missing: impute`` numeric cells take the median of the column's loaded values (computed before the split, so the
validation rows contribute to it — a documented, small leak that only touches imputed cells), categorical cells
become the category ``__missing__`` and text cells the empty string. Rows without a label are always dropped.
Every count is reported.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

OTHER = "__other__"
MISSING = "__missing__"


def missing_mask(column: Any) -> np.ndarray:
    """True where a ``pyarrow`` column is null, NaN or infinite."""
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = pc.is_null(column, nan_is_null=True)
    if pa.types.is_floating(column.type):
        mask = pc.or_(mask, pc.fill_null(pc.is_inf(column), False))
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def impute_numeric(values: np.ndarray) -> Tuple[np.ndarray, float, int]:
    """Replace NaN/inf by the median of the finite values; returns (values, fill value, cells replaced)."""
    bad = ~np.isfinite(values)
    finite = values[~bad]
    fill = float(np.median(finite)) if finite.size else 0.0
    count = int(bad.sum())
    if count:
        values = values.copy()
        values[bad] = fill
    return values, fill, count


def top_categories(column: Any, max_categories: int) -> List[str]:
    """The ``max_categories`` most frequent values (ties by value), plus ``__other__`` when any value is left out."""
    import pyarrow.compute as pc

    counts = pc.value_counts(column)
    values = counts.field("values").to_pylist()
    freq = counts.field("counts").to_pylist()
    ranked = sorted(zip(values, freq), key=lambda vc: (-vc[1], str(vc[0])))
    kept = [str(v) for v, _ in ranked[:max_categories]]
    return kept + [OTHER] if len(ranked) > max_categories else kept


def class_balance(labels: np.ndarray) -> Dict[int, int]:
    """Rows per class, ``{0: n0, 1: n1}``."""
    ones = int(np.asarray(labels).sum())
    return {0: int(len(labels) - ones), 1: ones}
