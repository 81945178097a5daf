"""AuditLog: journal + chunk files, the prev_root chain, crash recovery, locking, append_events, the summary."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nethical.audit import AuditLog, append_events, verify_directory
from nethical.audit.canonical import canonical_bytes, encode_event
from nethical.audit.merkle import leaf_hash, root
from nethical.audit.summary import merge_summary
from nethical.exceptions import ConfigError, DataError, OutputError

REPO = Path(__file__).resolve().parents[2]


def _chunks(d: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(d.glob("chunk_*.json"))]


def test_events_become_chained_chunks(tmp_path):
    events = [{"event_type": "e", "i": i} for i in range(7)]
    with AuditLog(tmp_path, chunk_size=3) as log:
        log.extend(events)
        assert log.pending == 1  # 3 + 3 finalized automatically, one open
    chunks = _chunks(tmp_path)
    assert [c["chunk_id"] for c in chunks] == [1, 2, 3]
    assert [c["event_count"] for c in chunks] == [3, 3, 1]
    assert chunks[0]["prev_root"] is None
    assert chunks[1]["prev_root"] == chunks[0]["merkle_root"] and chunks[2]["prev_root"] == chunks[1]["merkle_root"]
    for c in chunks:  # the root is exactly RFC 9162 over canonical JSON of the stored events
        assert c["merkle_root"] == root([leaf_hash(canonical_bytes(e)) for e in c["events"]]).hex()
        assert set(c) >= {"chunk_id", "merkle_root", "event_count", "events", "created_at", "finalized_at", "prev_root"}
    assert [e["i"] for c in chunks for e in c["events"]] == list(range(7))
    assert not list(tmp_path.glob("journal_*")), "finalized journals are removed"
    assert verify_directory(tmp_path).ok


def test_canonical_bytes_are_the_issue_formula():
    event = {"b": 1, "a": "é", "c": [1.5, None]}
    assert canonical_bytes(event) == json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert encode_event({"x": float("nan"), "t": (1, 2), "p": Path("/a")}) == b'{"p":"/a","t":[1,2],"x":null}'
    with pytest.raises(DataError, match=r"'bad'.*not JSON-serializable"):
        encode_event({"event_type": "bad", "x": object()})


def test_second_log_continues_the_chain(tmp_path):
    with AuditLog(tmp_path) as log:
        log.append({"event_type": "run1"})
    first = log.last_chunk
    with AuditLog(tmp_path) as log2:
        log2.append({"event_type": "run2"})
    assert log2.last_chunk.chunk_id == 2 and log2.last_chunk.prev_root == first.merkle_root
    assert verify_directory(tmp_path).ok


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match=r"chunk_size=0"):
        AuditLog(tmp_path, chunk_size=0)
    with pytest.raises(ConfigError, match=r"cannot be read"):
        AuditLog(tmp_path, signing_key=tmp_path / "missing.pem")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=r"cannot be created \(File exists\); pass a writable --audit-path"):
        AuditLog(tmp_path / "file")


_WRITER = textwrap.dedent(
    """
    import sys, time
    from nethical.audit import AuditLog
    log = AuditLog(sys.argv[1], chunk_size=int(sys.argv[3]), fsync_interval=0, signing_key=(sys.argv[6] if len(sys.argv) > 6 else None))
    for i in range(int(sys.argv[2])):
        log.append({"event_type": "e", "writer": sys.argv[4], "i": i})
    print("ready", flush=True)
    if sys.argv[5] == "hang":
        time.sleep(600)
    log.close()
    """
)


def _run_writer(d, n, chunk, name, mode, key=None):
    extra = [str(key)] if key else []
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(d), str(n), str(chunk), name, mode, *extra], cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory):
    from nethical.audit.signing import generate_keypair

    key, _ = generate_keypair(tmp_path_factory.mktemp("keys") / "audit")
    return key


def test_killed_writer_leaves_a_prefix_that_verifies_and_is_recovered(tmp_path, signing_key):
    proc = _run_writer(tmp_path, 5, 1000, "a", "hang", key=signing_key)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    journals = list(tmp_path.glob("journal_*.jsonl"))
    assert len(journals) == 1
    with open(journals[0], "ab") as f:  # the crash also tore the line being written
        f.write(b'{"event_type":"e","wri')
    report = verify_directory(tmp_path)
    assert report.ok and report.pending_events == 5
    assert any("5 events not yet finalized" in n and "cut off" in n for n in report.notes)
    log = AuditLog(tmp_path, signing_key=signing_key)  # the next run finalizes the authenticated orphan first
    assert [i.event_count for i in log.recovered] == [5] and log.set_aside == []
    assert not list(tmp_path.glob("journal_*.jsonl"))
    chunk = _chunks(tmp_path)[0]
    assert [e["i"] for e in chunk["events"]] == [0, 1, 2, 3, 4]
    assert chunk["recovered"] is True and "note" in chunk["signature"]
    assert verify_directory(tmp_path, public_key=signing_key.with_suffix(".pub")).ok


def test_killed_unsigned_writer_is_kept_aside_not_logged(tmp_path):
    """Without a signing key nothing can authenticate an orphaned journal: it is renamed, never added to the log."""
    proc = _run_writer(tmp_path, 3, 1000, "a", "hang")
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log = AuditLog(tmp_path)
    assert log.recovered == [] and [p.name.startswith("unverified_") for p in log.set_aside] == [True]
    assert not list(tmp_path.glob("chunk_*.json")) and not list(tmp_path.glob("journal_*"))
    log.append({"event_type": "next_run"})
    log.close()
    report = verify_directory(tmp_path)
    assert report.ok and report.events == 1
    assert any("did not authenticate, kept aside" in n for n in report.notes)


def test_live_journal_of_another_writer_is_not_stolen(tmp_path):
    proc = _run_writer(tmp_path, 3, 1000, "a", "hang")
    try:
        assert proc.stdout.readline().strip() == "ready"
        log = AuditLog(tmp_path)
        assert log.recovered == [] and len(list(tmp_path.glob("journal_*.jsonl"))) == 1
    finally:
        proc.kill()
        proc.wait()


def test_crash_after_chunk_written_before_journal_removed_is_not_duplicated(tmp_path):
    with AuditLog(tmp_path) as log:
        log.append({"event_type": "e"})
        journal = log._journal_path
        saved = journal.read_bytes()
    journal.write_bytes(saved)  # as if the process died right after os.replace of the chunk
    log2 = AuditLog(tmp_path)
    assert log2.recovered == [] and not journal.exists()
    assert len(_chunks(tmp_path)) == 1


def test_concurrent_writers_never_interleave_or_lose_events(tmp_path):
    procs = [_run_writer(tmp_path, 300, 50, name, "close") for name in ("a", "b", "c")]
    for p in procs:
        p.stdout.read()
        assert p.wait(timeout=120) == 0
    chunks = _chunks(tmp_path)
    assert [c["chunk_id"] for c in chunks] == list(range(1, 19))
    for c in chunks:
        writers = {e["writer"] for e in c["events"]}
        assert len(writers) == 1, "a chunk holds one writer's events only"
    for name in ("a", "b", "c"):
        got = [e["i"] for c in chunks for e in c["events"] if e["writer"] == name]
        assert got == list(range(300))
    assert verify_directory(tmp_path).ok


def test_append_events_and_summary_head(tmp_path):
    with AuditLog(tmp_path) as log:
        log.append({"event_type": "training_start", "run_id": "r1"})
    info = log.last_chunk
    _, info = log.commit_summary(lambda old: merge_summary(old, run_id="r1", model_type="logistic", result={"promoted": True, "metrics": {"f1": 0.9}},
                                                           governance=None, timestamp="t", audit_dir=str(tmp_path)))
    assert info.chunk_id == 2
    batch = append_events(tmp_path, [{"event_type": "batch_end", "models": 1}], run_id="r1")
    assert batch.chunk_id == 3 and batch.prev_root == info.merkle_root
    event = _chunks(tmp_path)[2]["events"][0]
    assert event["run_id"] == "r1" and event["timestamp"].endswith("+00:00")
    summary = json.loads((tmp_path / "training_summary.json").read_text())
    assert summary["merkle_root"] == batch.merkle_root and summary["chunk_id"] == 3
    assert summary["log_size"] == 3 and summary["log_root"] == _chunks(tmp_path)[2]["log_root"]
    assert verify_directory(tmp_path).ok
    with pytest.raises(DataError, match="event_type"):
        append_events(tmp_path, [{"x": 1}])


def test_merge_summary_single_and_all():
    one = merge_summary({}, run_id="r", model_type="logistic", result={"promoted": True, "metrics": {"f1": 0.8}},
                        governance={"data_violations": 2, "prediction_violations": 1, "total_violations_detected": 3,
                                    "total_actions_blocked": 0, "by_category": {"pii": 3}, "extra": "dropped"},
                        merkle_root="aa", chunk_id=1, timestamp="t", audit_dir="d")
    assert one["model_type"] == "logistic" and one["promoted"] is True and one["metrics"] == {"f1": 0.8}
    block = {"enabled": True, "data_violations": 2, "prediction_violations": 1, "total_violations_detected": 3,
             "total_actions_blocked": 0, "by_category": {"pii": 3}}
    assert one["governance"] == {**block, "by_model_type": {"logistic": block}}
    two = merge_summary(one, run_id="r", model_type="anomaly", result={"promoted": False, "metrics": {"f1": 0.5}},
                        governance=None, merkle_root="bb", chunk_id=2, timestamp="t2", audit_dir="d")
    assert two["model_type"] == "all" and sorted(two["results"]) == ["anomaly", "logistic"]
    assert two["promoted"] is True and two["promoted_models"] == ["logistic"] and two["merkle_root"] == "bb"
    assert two["governance"]["enabled"] is True  # kept from the earlier fit of the same run
    assert two["governance"]["by_model_type"] == {"anomaly": {"enabled": False}, "logistic": block}
    other = merge_summary(two, run_id="r2", model_type="anomaly", result={"promoted": False}, governance=None,
                          merkle_root="cc", chunk_id=3, timestamp="t3", audit_dir="d")
    assert list(other["results"]) == ["anomaly"] and other["governance"]["enabled"] is False
    assert other["governance"]["by_model_type"] == {"anomaly": {"enabled": False}}


def test_model_type_all_summary_holds_each_type_and_the_total():
    """Issue #13 req. 6: one governance block per model type and their total, not only the last type's numbers."""
    summary: dict = {}
    counts = {"logistic": (33, 0, {"pii": 30, "toxicity": 3}), "mlp": (0, 2, {"pii": 2}), "anomaly": (0, 0, {})}
    for mt, (data_v, pred_v, cats) in counts.items():
        gov = {"data_violations": data_v, "prediction_violations": pred_v, "total_violations_detected": data_v + pred_v,
               "total_actions_blocked": 0, "by_category": cats}
        summary = merge_summary(summary, run_id="r", model_type=mt, result={"promoted": False}, governance=gov, timestamp="t", audit_dir="d")
    g = summary["governance"]
    assert g["data_violations"] == 33 and g["prediction_violations"] == 2 and g["total_violations_detected"] == 35
    assert g["by_category"] == {"pii": 32, "toxicity": 3}
    assert sorted(g["by_model_type"]) == ["anomaly", "logistic", "mlp"]
    assert g["by_model_type"]["logistic"]["data_violations"] == 33 and g["by_model_type"]["mlp"]["prediction_violations"] == 2


def test_chain_head_reads_a_chunk_header_only(tmp_path):
    from nethical.audit import store

    with AuditLog(tmp_path, chunk_size=3) as log:
        for i in range(3):
            log.append({"event_type": "e", "i": i})
    (chunk,) = sorted(tmp_path.glob("chunk_*.json"))
    header = store.read_header(chunk)
    full = json.loads(chunk.read_text())
    assert header == {k: v for k, v in full.items() if k != "events"}
    # the writer's layout: the header is the first line, so a damaged event body does not stop finding the head
    lines = chunk.read_bytes().split(b"\n")
    damaged = tmp_path / "damaged.json"
    damaged.write_bytes(b"\n".join(lines[:2] + [b"<<not json>>"]))
    assert store.read_header(damaged) == header
    # any other layout (a pretty-printed copy) falls back to a full parse
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(full, indent=2))
    assert store.read_header(pretty) == header
    # and the chain continues from it
    with AuditLog(tmp_path, chunk_size=3) as log:
        log.append({"event_type": "e", "i": 3})
    assert verify_directory(tmp_path).ok


def _crash(log: AuditLog) -> Path:
    """Leave the open journal behind as a killed process would (file closed, lock released, nothing finalized)."""
    path = log._journal_path
    log._journal_file.close()
    log._journal_file = None
    log._journal_lock.release()
    return path


def test_unsigned_journal_recovers_with_the_run_secret_only(tmp_path):
    """The secret a resumed fit reads from its checkpoint authenticates the crashed journal; nothing else does."""
    secret, other = bytes(range(32)), bytes(32)
    crashed = AuditLog(tmp_path, journal_secret=secret)
    crashed.extend({"event_type": "e", "i": i} for i in range(3))
    journal = _crash(crashed)
    assert journal.read_bytes().split(b"\n")[1][64:65] == b" "  # "<hmac hex> {event}"
    resumed = AuditLog(tmp_path, recover=False, journal_secret=other)
    resumed.recover_orphans([other])  # a different run's secret: not this journal's
    assert resumed.recovered == [] and len(resumed.set_aside) == 1
    resumed.set_aside[0].rename(journal)  # put it back and try with the right secret
    again = AuditLog(tmp_path, recover=False)
    again.recover_orphans([secret])
    assert [i.event_count for i in again.recovered] == [3] and again.set_aside == []
    assert [e["i"] for e in _chunks(tmp_path)[0]["events"]] == [0, 1, 2] and _chunks(tmp_path)[0]["recovered"] is True
    assert verify_directory(tmp_path).ok


def test_resumed_run_takes_back_its_journal_that_another_run_kept_aside(tmp_path):
    secret = bytes(range(32))
    crashed = AuditLog(tmp_path, journal_secret=secret)
    crashed.extend({"event_type": "e", "i": i} for i in range(2))
    _crash(crashed)
    other = AuditLog(tmp_path)  # another run opens the directory first: it cannot authenticate, so keeps it aside
    assert len(other.set_aside) == 1
    resumed = AuditLog(tmp_path, recover=False)
    resumed.recover_orphans([secret])
    assert [i.event_count for i in resumed.recovered] == [2] and not list(tmp_path.glob("unverified_*"))
    assert [e["i"] for e in _chunks(tmp_path)[0]["events"]] == [0, 1] and verify_directory(tmp_path).ok
