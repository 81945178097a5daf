"""Post-hoc calibration maths and the reliability diagram, as plain numpy functions.

Temperature scaling (Guo et al., 2017) divides a model's logits by one scalar ``T > 0`` chosen to minimise the
negative log-likelihood on a *calibration slice* carved from the training split (never the validation split the
promotion gate scores). ``T > 1`` softens an over-confident model, ``T < 1`` sharpens an under-confident one; the
ranking of predictions — and so accuracy at threshold 0.5 and AUROC — is unchanged.

scikit-learn models use ``CalibratedClassifierCV`` (sigmoid or isotonic) inside the adapter; this module only holds
the shared parts: the temperature fit and the reliability diagram.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from nethical.metrics import CalibrationBins

TORCH_METHODS = ("none", "temperature")
SKLEARN_METHODS = ("none", "sigmoid", "isotonic")
MIN_CALIBRATION_ROWS = 20
_LOG_T_RANGE = (-4.0, 4.0)  # T in [e^-4, e^4] ~ [0.018, 54.6]


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    # log(1 + e^z) - y z, computed stably
    return float(np.mean(np.logaddexp(0.0, z) - labels * z))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, tol: float = 1e-6, max_iter: int = 200) -> float:
    """The temperature ``T`` minimising the mean binary NLL of ``sigmoid(logits / T)``.

    The NLL is unimodal in ``log T`` for binary logits, so a golden-section search over ``log T`` in [-4, 4] finds
    it without gradients (deterministic: the same inputs give the same ``T`` on every process).

    Args:
        logits: uncalibrated logits of P(y=1), shape ``(n,)``.
        labels: 0/1 labels, shape ``(n,)``.

    Returns:
        ``T`` (1.0 when the input is empty or holds one class only, where no temperature is identifiable).
    """
    logits = np.asarray(logits, dtype=np.float64).ravel()
    labels = np.asarray(labels, dtype=np.float64).ravel()
    if logits.shape != labels.shape:
        raise ValueError(f"fit_temperature: logits {logits.shape} and labels {labels.shape} differ in shape.")
    finite = np.isfinite(logits)
    logits, labels = logits[finite], labels[finite]
    if logits.size == 0 or np.unique(labels).size < 2:
        return 1.0
    lo, hi = _LOG_T_RANGE
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo + (1 - ratio) * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = _nll(logits, labels, np.exp(a)), _nll(logits, labels, np.exp(b))
    for _ in range(max_iter):
        if hi - lo < tol:
            break
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = lo + (1 - ratio) * (hi - lo)
            fa = _nll(logits, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = _nll(logits, labels, np.exp(b))
    return float(np.exp((lo + hi) / 2.0))


def check_method(component: str, method: str, allowed: tuple) -> str:
    """Return ``method`` when ``allowed``; otherwise raise a :class:`~nethical.exceptions.ConfigError` naming it."""
    from nethical.exceptions import ConfigError

    if method not in allowed:
        raise ConfigError(
            f"{component}(calibration={method!r}) is not available for this model; use one of {', '.join(allowed)}."
        )
    return method


def reliability_figure(bins: CalibrationBins, title: str = "Reliability diagram",
                       before: Optional[CalibrationBins] = None) -> Any:
    """A matplotlib figure (Agg, no display needed): observed positive rate against mean predicted probability per
    bin, the diagonal of perfect calibration, and each bin's row count. ``before`` adds the uncalibrated curve."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 6.4), dpi=100)
    ax, ax_count = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    edges = np.linspace(0.0, 1.0, bins.n_bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    width = 1.0 / bins.n_bins
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")

    def curve(b: CalibrationBins, label: str, style: str) -> None:
        nonempty = b.count > 0
        mean_prob = np.divide(b.sum_prob, b.count, out=np.zeros_like(b.sum_prob), where=nonempty)
        rate = np.divide(b.sum_pos.astype(np.float64), b.count, out=np.zeros(b.n_bins), where=nonempty)
        ax.plot(mean_prob[nonempty], rate[nonempty], style, label=label)

    ax.bar(centers, np.divide(bins.sum_pos.astype(np.float64), bins.count, out=np.zeros(bins.n_bins),
                              where=bins.count > 0), width=width * 0.9, alpha=0.25, color="tab:blue",
           label="observed rate per bin")
    if before is not None:
        curve(before, "before calibration", "s--")
    curve(bins, "model" if before is None else "after calibration", "o-")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("observed positive rate")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    ax_count.bar(centers, bins.count, width=width * 0.9, color="tab:grey")
    for x, c in zip(centers, bins.count):
        ax_count.text(x, c, str(int(c)), ha="center", va="bottom", fontsize=7)
    ax_count.set_xlabel("predicted probability P(y=1)")
    ax_count.set_ylabel("rows")
    fig.tight_layout()
    return fig


def save_reliability_png(path: Any, bins: CalibrationBins, title: str, before: Optional[CalibrationBins] = None) -> None:
    """Write :func:`reliability_figure` as a PNG (atomically)."""
    import io

    from nethical.fileio import atomic_write_bytes

    fig = reliability_figure(bins, title=title, before=before)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    atomic_write_bytes(path, buf.getvalue())
