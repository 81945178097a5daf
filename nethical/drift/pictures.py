"""Pictures of a drift report: metrics per cohort (with transfer results), per-column pictures of the top shifted
columns (overlaid ECDFs for numeric columns, bar pairs for categorical ones and the class balance), and a small
self-contained HTML page. Everything is drawn from the report dict alone (matplotlib's Agg canvas, no pyplot)."""

from __future__ import annotations

import base64
import html
import math
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from nethical.drift.columns import LABEL_COLUMN
from nethical.exceptions import OutputError

PLOT_COLUMNS = 6


def _fmt_p(p: float) -> str:
    return f"{p:.2g}"


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Union[str, os.PathLike]) -> Path:
    out = Path(path)
    try:
        fig.savefig(out, format="png")
    except OSError as exc:
        raise OutputError(f"drift report: cannot write the plot {out} ({exc.strerror}).") from exc
    return out


def metrics_figure(report: Mapping[str, Any]):
    """Accuracy, precision, recall and ECE per cohort with intervals (matplotlib Figure on an Agg canvas)."""
    cohorts = report.get("cohorts", {})
    names = list(cohorts)
    fig = _figure(max(6.0, 1.2 * len(names) + 4), 7)
    axes = fig.subplots(2, 2, sharex=True)
    for ax, metric in zip(axes.ravel(), ("accuracy", "precision", "recall", "ece")):
        xs = np.arange(len(names))
        values, lows, highs = [], [], []
        for name in names:
            m = cohorts[name].get("metrics", {}).get(metric, {})
            v = m.get("value")
            lo, hi = (m.get("ci") or [v, v])
            values.append(np.nan if v is None else v)
            lows.append(0.0 if v is None or lo is None else max(0.0, v - lo))
            highs.append(0.0 if v is None or hi is None else max(0.0, hi - v))
        ax.errorbar(xs, values, yerr=[lows, highs], fmt="o", capsize=4, label="own validation rows")
        for t in report.get("drift_metrics", {}).get("transfer", []):
            for e in t.get("comparisons", []):
                if e["metric"] == metric and t["model_cohort"] in names:
                    x = names.index(t["model_cohort"]) + 0.15
                    ax.errorbar([x], [e["value_b"]], fmt="x", color="tab:red", label=f"on {t['data_cohort']}'s rows")
        ax.set_title(metric if metric != "ece" else "ECE (lower is better)")
        ax.set_xticks(xs)
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.grid(True, alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if len(labels) > 1:
        uniq = dict(zip(labels, handles))
        axes[0, 0].legend(uniq.values(), uniq.keys(), fontsize=7)
    drift = report.get("drift_metrics", {})
    fig.suptitle(f"{report.get('report_id', 'drift')}: drift detected = {drift.get('has_drift')}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_report(report: Mapping[str, Any], path: Union[str, os.PathLike]) -> Path:
    """PNG comparing cohorts: accuracy, precision, recall and ECE with intervals, plus transfer results (x)."""
    return _save(metrics_figure(report), path)


def columns_figure(report: Mapping[str, Any], top: int = PLOT_COLUMNS):
    """Per-column pictures of the top shifted columns of each pair: overlaid ECDFs (numeric), bar pairs
    (categorical and the class balance). ``None`` when no column shifted."""
    panels = []
    for p in report.get("drift_metrics", {}).get("data_drift", {}).get("pairs", []):
        for name in p.get("drifted_features", [])[:top]:
            info = p["columns"].get(name, {})
            if info.get("plot"):
                panels.append((p["cohort_a"], p["cohort_b"], name, info))
    panels = panels[: 2 * top]
    if not panels:
        return None
    ncols = min(3, len(panels))
    nrows = int(math.ceil(len(panels) / ncols))
    fig = _figure(4.2 * ncols, 3.2 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax, (a, b, name, info) in zip(axes, panels):
        plot = info["plot"]
        title = "class balance (label)" if name == LABEL_COLUMN else name
        if plot["kind"] == "ecdf":
            for side, cohort, color in (("a", a, "tab:blue"), ("b", b, "tab:orange")):
                ax.step(plot[side]["x"], plot[side]["cdf"], where="post", label=cohort, color=color)
            ax.set_ylabel("cumulative share", fontsize=7)
            xs_all = np.asarray(plot["a"]["x"] + plot["b"]["x"], dtype=np.float64)
            positive = xs_all[xs_all > 0]
            if positive.size and xs_all.min() >= 0 and positive.max() / positive.min() > 1e3:
                ax.set_xscale("symlog", linthresh=float(positive.min()))  # heavy tails and zeros both visible
        else:
            xs = np.arange(len(plot["levels"]))
            ax.bar(xs - 0.2, plot["a"], width=0.4, label=a, color="tab:blue")
            ax.bar(xs + 0.2, plot["b"], width=0.4, label=b, color="tab:orange")
            ax.set_xticks(xs)
            ax.set_xticklabels([str(x)[:12] for x in plot["levels"]], rotation=45, ha="right", fontsize=7)
            ax.set_ylabel("share of rows", fontsize=7)
        eff = info.get("effects") or {}
        used = ", ".join(f"{e} {eff.get(e, float('nan')):.2f}" for e in info.get("effects_used", []))
        ax.set_title(f"{title}\n{used}; p={_fmt_p(info.get('p_value_adjusted', 1.0))}", fontsize=8)
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"{report.get('report_id', 'drift')}: top shifted training-data columns", fontsize=10)
    fig.tight_layout()
    return fig


def plot_columns(report: Mapping[str, Any], path: Union[str, os.PathLike]) -> Optional[Path]:
    """Write :func:`columns_figure` as a PNG; ``None`` (nothing written) when no column shifted."""
    fig = columns_figure(report)
    return None if fig is None else _save(fig, path)


def write_html(report: Mapping[str, Any], path: Union[str, os.PathLike], pngs: Sequence[Path]) -> Path:
    """A small self-contained HTML page: message, transfer, top shifts and recommendations, PNGs embedded (no
    scripts, no external files)."""
    esc = html.escape
    drift = report.get("drift_metrics", {})
    rows = []
    for t in drift.get("transfer", []):
        if t.get("skipped"):
            rows.append(f"<tr><td>{esc(t['model_cohort'])}</td><td>{esc(t['data_cohort'])}</td>"
                        f"<td colspan=4>skipped: {esc(t['reason'])}</td></tr>")
            continue
        for e in t["comparisons"]:
            rows.append(f"<tr><td>{esc(t['model_cohort'])}</td><td>{esc(t['data_cohort'])}</td><td>{esc(e['metric'])}"
                        f"</td><td>{e['value_a']:.3f} &rarr; {e['value_b']:.3f}</td><td>[{e['ci'][0]:+.3f}, "
                        f"{e['ci'][1]:+.3f}]</td><td>{e['p_value_adjusted']:.2g}</td></tr>")
    shifts = []
    for p in drift.get("data_drift", {}).get("pairs", []):
        for s in p.get("top_shifts", []):
            shifts.append(f"<tr><td>{esc(p['cohort_a'])} &rarr; {esc(p['cohort_b'])}</td><td>{esc(s['column'])}</td>"
                          f"<td>{esc(str(s['kind']))}</td><td>{esc('; '.join(s['reasons']))}</td></tr>")
    images = "".join(f'<p><img alt="{esc(p.name)}" src="data:image/png;base64,'
                     f'{base64.b64encode(Path(p).read_bytes()).decode("ascii")}" style="max-width:100%"></p>'
                     for p in pngs)
    recs = "".join(f"<li>{esc(r)}</li>" for r in report.get("recommendations", []))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(str(report.get('report_id')))}</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}td,th{border:1px solid #ccc;"
            "padding:3px 6px;font-size:13px}table{border-collapse:collapse}</style></head><body>"
            f"<h1>{esc(str(report.get('report_id')))}</h1><p><b>Drift detected: {bool(drift.get('has_drift'))}</b></p>"
            f"<p>{esc(str(drift.get('message', '')))}</p><h2>Old model on new data (transfer)</h2><table><tr>"
            "<th>model of</th><th>data of</th><th>metric</th><th>own &rarr; new</th><th>CI</th><th>Holm p</th></tr>"
            + "".join(rows) + "</table><h2>Top shifted columns</h2><table><tr><th>pair</th><th>column</th><th>kind"
            "</th><th>why</th></tr>" + "".join(shifts) + f"</table><h2>Recommendations</h2><ol>{recs}</ol>{images}"
            "</body></html>")
    out = Path(path)
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"drift report: cannot write {out} ({exc.strerror}).") from exc
    return out


