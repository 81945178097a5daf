"""``training_summary.json``: what a run produced, pinned to the audit chain by ``merkle_root`` (pure functions)."""

from __future__ import annotations

from typing import Any, Mapping, Optional

GOVERNANCE_COUNT_KEYS = (
    "data_violations",
    "prediction_violations",
    "total_violations_detected",
    "total_actions_blocked",
    "by_category",
)


def governance_block(governance_summary: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"enabled": False}`` when governance did not run, else ``{"enabled": True, <counts>}``."""
    if governance_summary is None:
        return {"enabled": False}
    block: dict[str, Any] = {"enabled": True}
    for key in GOVERNANCE_COUNT_KEYS:
        if key in governance_summary:
            block[key] = governance_summary[key]
    return block


def merge_summary(
    existing: Mapping[str, Any],
    *,
    run_id: str,
    model_type: str,
    result: Mapping[str, Any],
    governance: Optional[Mapping[str, Any]],
    merkle_root: str,
    chunk_id: int,
    timestamp: str,
    audit_dir: str,
) -> dict[str, Any]:
    """The new summary after one fit of ``model_type`` in run ``run_id``.

    Results of earlier fits of the *same run* (``--model-type all``) are kept, keyed by model type; a summary from
    another run is replaced. With one model type, ``model_type``/``promoted``/``metrics`` describe it directly; with
    several, ``model_type`` is ``"all"``, ``promoted`` says whether any was promoted (``promoted_models`` lists
    them) and ``metrics`` maps each model type to its metrics. ``merkle_root`` is the chain head after this fit.
    """
    same_run = existing.get("run_id") == run_id
    results: dict[str, Any] = dict(existing.get("results", {})) if same_run else {}
    results[model_type] = dict(result)
    gov_prev = existing.get("governance") if same_run else None
    gov = governance_block(governance) if governance is not None else (gov_prev or {"enabled": False})
    promoted_models = sorted(mt for mt, r in results.items() if r.get("promoted"))
    if len(results) == 1:
        only = next(iter(results))
        head = {"model_type": only, "promoted": bool(results[only].get("promoted")), "metrics": results[only].get("metrics", {})}
    else:
        head = {
            "model_type": "all",
            "promoted": bool(promoted_models),
            "metrics": {mt: r.get("metrics", {}) for mt, r in results.items()},
        }
    return {
        "run_id": run_id,
        "merkle_root": merkle_root,
        "chunk_id": chunk_id,
        **head,
        "promoted_models": promoted_models,
        "model_types": sorted(results),
        "results": results,
        "governance": gov,
        "audit_dir": audit_dir,
        "timestamp": timestamp,
    }
