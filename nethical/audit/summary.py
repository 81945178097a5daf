"""``training_summary.json``: what a run produced, recorded in the log as a ``training_summary`` event and pinned to
the chain by its head pointers (pure functions)."""

from __future__ import annotations

from typing import Any, Mapping, Optional

GOVERNANCE_COUNT_KEYS = (
    "data_violations",
    "prediction_violations",
    "total_violations_detected",
    "total_actions_blocked",
    "by_category",
)
# Fields that point at the chain rather than describe the run: set after the summary event is in the log, and left
# out of that event (they name the chunk that holds it). Everything else in the file must equal the event.
HEAD_KEYS = ("merkle_root", "chunk_id", "log_id", "log_size", "log_root")


def with_head(body: Mapping[str, Any], *, chunk_id: int, merkle_root: str, log_id: str, log_size: int, log_root: str) -> dict[str, Any]:
    """The summary file: ``run_id``, then the head pointers (the chunk holding the summary event and the log head
    after it), then the rest of ``body``."""
    rest = {k: v for k, v in body.items() if k not in HEAD_KEYS and k != "run_id"}
    return {"run_id": body.get("run_id"), "merkle_root": merkle_root, "chunk_id": chunk_id, "log_id": log_id,
            "log_size": log_size, "log_root": log_root, **rest}


def governance_block(governance_summary: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"enabled": False}`` when governance did not run, else ``{"enabled": True, <counts>}``."""
    if governance_summary is None:
        return {"enabled": False}
    block: dict[str, Any] = {"enabled": True}
    for key in GOVERNANCE_COUNT_KEYS:
        if key in governance_summary:
            block[key] = governance_summary[key]
    return block


def governance_total(per_type: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The run's governance block: counts summed over the model types whose fit ran governance, with each type's
    own block under ``by_model_type``. Each fit scans its own data, so with ``--model-type all`` a flagged training
    row counts once per model type in ``data_violations``."""
    enabled = {mt: b for mt, b in sorted(per_type.items()) if isinstance(b, Mapping) and b.get("enabled")}
    if not enabled:
        return {"enabled": False, "by_model_type": {mt: dict(b) for mt, b in sorted(per_type.items())}} if per_type else {"enabled": False}
    total: dict[str, Any] = {"enabled": True}
    for key in GOVERNANCE_COUNT_KEYS:
        if key == "by_category":
            merged: dict[str, int] = {}
            for block in enabled.values():
                for cat, n in (block.get("by_category") or {}).items():
                    if isinstance(n, (int, float)) and not isinstance(n, bool):
                        merged[cat] = merged.get(cat, 0) + n
            total["by_category"] = merged
        else:
            values = [b.get(key) for b in enabled.values() if isinstance(b.get(key), (int, float)) and not isinstance(b.get(key), bool)]
            if values:
                total[key] = sum(values)
    total["by_model_type"] = {mt: dict(b) for mt, b in sorted(per_type.items())}
    return total


def merge_summary(
    existing: Mapping[str, Any],
    *,
    run_id: str,
    model_type: str,
    result: Mapping[str, Any],
    governance: Optional[Mapping[str, Any]],
    timestamp: str,
    audit_dir: str,
    merkle_root: Optional[str] = None,
    chunk_id: Optional[int] = None,
) -> dict[str, Any]:
    """The new summary after one fit of ``model_type`` in run ``run_id``.

    Results of earlier fits of the *same run* (``--model-type all``) are kept, keyed by model type; a summary from
    another run is replaced. With one model type, ``model_type``/``promoted``/``metrics`` describe it directly; with
    several, ``model_type`` is ``"all"``, ``promoted`` says whether any was promoted (``promoted_models`` lists
    them) and ``metrics`` maps each model type to its metrics. ``governance`` holds the run's totals over model
    types and each type's own block under ``governance.by_model_type``. ``merkle_root``/``chunk_id`` (head
    pointers) are normally left to :meth:`nethical.audit.AuditLog.commit_summary`, which sets them to the chunk
    that records this summary.
    """
    same_run = existing.get("run_id") == run_id
    results: dict[str, Any] = dict(existing.get("results", {})) if same_run else {}
    results[model_type] = dict(result)
    prev = existing.get("governance") if same_run and isinstance(existing.get("governance"), Mapping) else {}
    per_type: dict[str, Any] = dict(prev.get("by_model_type") or {}) if isinstance(prev.get("by_model_type"), Mapping) else {}
    per_type[model_type] = governance_block(governance)
    gov = governance_total(per_type)
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
        **({"merkle_root": merkle_root} if merkle_root is not None else {}),
        **({"chunk_id": chunk_id} if chunk_id is not None else {}),
        **head,
        "promoted_models": promoted_models,
        "model_types": sorted(results),
        "results": results,
        "governance": gov,
        "audit_dir": audit_dir,
        "timestamp": timestamp,
    }
