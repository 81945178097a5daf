"""CohortStore: append-only, locked, durable, and readable after corruption or a killed writer."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nethical.drift import CohortObservation, CohortStore, CohortStoreWarning, observation_from_decision
from nethical.drift.observation import severity_for_miss, validate_cohort_id, violations_from_decision
from nethical.exceptions import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def decision(acc_k=90, n=100, promoted=True, ece=0.02, model_type="logistic"):
    tp = acc_k // 2
    tn = acc_k - tp
    fp = (n - acc_k) // 2
    fn = n - acc_k - fp
    return {
        "model_type": model_type, "promoted": promoted, "decision": "PROMOTED" if promoted else "CANDIDATE",
        "reasons": [] if promoted else ["gate failed"],
        "metrics": {"accuracy": acc_k / n, "precision": tp / (tp + fp), "recall": tp / (tp + fn), "f1": 0.9,
                    "auroc": 0.95, "ece": ece, "loss": 0.3},
        "thresholds": {"max_ece": 0.1, "min_accuracy": 0.8},
        "counts": {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "n": n},
        "calibration_bins": {"n_bins": 2, "count": [n // 2, n - n // 2], "sum_prob": [n / 8, 3 * n / 8],
                             "sum_pos": [n // 4, n // 4]},
        "saved_dir": "models/x", "data_source": {"source": "synthetic", "reason": "test"},
    }


def obs(cohort="a", run="r1", **kw):
    return observation_from_decision(decision(**kw), cohort_id=cohort, run_id=run, timestamp="2026-01-01T00:00:00")


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "../evil", "..", "a/b", "/abs", "a\\b", "a\nb", "a\x00b", "tab\there", "\u202eevil", "x" * 129,
     " lead", ".", "CON"],
)
def test_bad_cohort_ids_are_rejected_with_one_line_config_error(bad):
    with pytest.raises(ConfigError) as info:
        validate_cohort_id(bad)
    assert "\n" not in str(info.value)
    assert "--cohort-id" in str(info.value)


@pytest.mark.parametrize("good", ["baseline", "logistic_20260102_030405", "v1.2-rc", "x" * 128, "ärger"])
def test_good_cohort_ids_pass(good):
    assert validate_cohort_id(good) == good


def test_observation_round_trips_and_derives_risk_and_violations():
    o = obs(acc_k=60, promoted=False, ece=0.2)
    assert o.risk_score == pytest.approx(0.4)
    assert [v["type"] for v in o.violations] == ["calibration_error", "low_accuracy"]
    assert [v["severity"] for v in o.violations] == ["critical", "high"]
    assert CohortObservation.from_dict(json.loads(json.dumps(o.to_dict()))) == o
    assert obs(acc_k=95).violations == ()
    assert violations_from_decision(dict(decision(), promoted=False))[0]["type"] == "gate_failed"
    kept_champion = dict(decision(), promoted=False, champion_comparison={"replace": False, "reason": "worse"})
    assert violations_from_decision(kept_champion) == []  # passed the gate; the champion was simply better
    assert obs(acc_k=60, promoted=True).violations[0]["type"] == "low_accuracy"  # misses count whatever the flag


@pytest.mark.parametrize(
    "value, threshold, expected",
    [(0.105, 0.1, "low"), (0.12, 0.1, "medium"), (0.14, 0.1, "high"), (0.2, 0.1, "critical"),
     (0.75, 0.8, "low"), (0.7, 0.8, "medium"), (0.5, 0.8, "high"), (0.35, 0.8, "critical")],
)
def test_severity_grows_with_the_miss(value, threshold, expected):
    assert severity_for_miss(value, threshold) == expected


def test_append_persists_across_instances_and_is_idempotent(tmp_path):
    d = tmp_path / "reports"
    assert CohortStore(d).read() == []
    assert CohortStore(d).append(obs("a", "r1")) is True
    assert CohortStore(d).append(obs("a", "r1")) is False  # same run/model/cohort: a resume does not count twice
    assert CohortStore(d).append(obs("b", "r2")) is True
    lines = (d / "cohorts.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert [o.cohort_id for o in CohortStore(d).read()] == ["a", "b"]
    assert CohortStore(d).cohort_ids() == ["a", "b"]
    assert [o.cohort_id for o in CohortStore(d).read(cohorts=["b"])] == ["b"]


def test_corrupted_line_is_skipped_with_warning_naming_file_and_line(tmp_path):
    store = CohortStore(tmp_path)
    store.append(obs("a", "r1"))
    with open(store.path, "a") as fh:
        fh.write("{not json\n")
        fh.write(json.dumps({"cohort_id": "../evil"}) + "\n")
    store.append(obs("b", "r2"))
    with pytest.warns(CohortStoreWarning) as record:
        got = store.read()
    assert [o.cohort_id for o in got] == ["a", "b"]
    messages = [str(w.message) for w in record]
    assert any(f"line 2 of {store.path}: invalid JSON" in m for m in messages)
    assert any(f"line 3 of {store.path}: not a valid observation" in m for m in messages)


def test_partial_last_line_from_a_killed_writer_is_skipped_and_next_append_starts_fresh(tmp_path):
    store = CohortStore(tmp_path)
    store.append(obs("a", "r1"))
    full = json.dumps(obs("b", "r2").to_dict())
    with open(store.path, "a") as fh:
        fh.write(full[: len(full) // 2])  # what a kill mid-write leaves
    scan = store.scan()
    assert [o.cohort_id for o in scan.observations] == ["a"]
    assert scan.issues[0].line == 2 and "incomplete last line" in scan.issues[0].reason
    store.append(obs("c", "r3"))
    scan = store.scan()
    assert [o.cohort_id for o in scan.observations] == ["a", "c"]
    assert [i.line for i in scan.issues] == [2]


def _append_many(report_dir: str, worker: int, count: int) -> None:
    store = CohortStore(report_dir)
    for i in range(count):
        store.append(obs(f"w{worker}", f"run{i}"))


def test_concurrent_appends_from_two_processes_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(tmp_path), w, 25)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    scan = CohortStore(tmp_path).scan()
    assert scan.issues == ()
    assert sorted((o.cohort_id, o.run_id) for o in scan.observations) == sorted(
        (f"w{w}", f"run{i}") for w in range(2) for i in range(25)
    )


def test_sigkill_during_appends_leaves_a_readable_store(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_drift_store import obs
        from nethical.drift import CohortStore
        store = CohortStore({str(tmp_path)!r})
        base = obs("k", "r0")
        import dataclasses
        big = {{"f%d" % j: {{"n": 1, "n_nonfinite": 0, "sample": [0.123456] * 3000}} for j in range(20)}}
        i = 0
        while True:
            store.append(dataclasses.replace(base, run_id="r%d" % i, observation_id="", feature_profile=big))
            print(i, flush=True)
            i += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(3):  # let it complete a few appends, then kill it mid-stream
            assert proc.stdout.readline()
        time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    scan = CohortStore(tmp_path).scan()
    assert len(scan.observations) >= 3
    assert all(i.line == len(scan.observations) + 1 for i in scan.issues)  # at most the last line is partial
    assert len(scan.issues) <= 1
    CohortStore(tmp_path).append(obs("after", "r-after"))
    assert CohortStore(tmp_path).scan().observations[-1].cohort_id == "after"
