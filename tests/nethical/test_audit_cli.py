"""``nethical audit verify|proof|show|keygen``: exit codes, messages that say where, and nothing overwritten."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest

from nethical.audit import AuditLog
from nethical.audit.merkle import verify_inclusion
from nethical.cli import main


def _make_log(d: Path, n_chunks=3, per_chunk=4, signing_key=None) -> Path:
    with AuditLog(d, chunk_size=per_chunk, signing_key=signing_key) as log:
        for i in range(n_chunks * per_chunk):
            log.append({"event_type": "validation_metrics", "model_type": "logistic", "epoch": i, "metrics": {"val/f1": i / 10}})
    return d


def _load(p: Path) -> dict:
    return json.loads(p.read_text())


def _save(p: Path, data: dict) -> None:
    p.write_text(json.dumps(data))


def _digest(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir()) if p.is_file()}


def test_verify_intact(tmp_path, capsys):
    _make_log(tmp_path)
    assert main(["audit", "verify", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "OK: 3 chunks, 12 events, chain intact" in out
    assert _load(tmp_path / "chunk_000003.json")["merkle_root"] in out


def _edit_event(d):
    c = _load(d / "chunk_000002.json")
    c["events"][1]["metrics"]["val/f1"] = 0.99
    _save(d / "chunk_000002.json", c)


def _remove_event(d):
    c = _load(d / "chunk_000002.json")
    del c["events"][2]
    _save(d / "chunk_000002.json", c)


def _remove_event_and_fix_count(d):
    c = _load(d / "chunk_000002.json")
    del c["events"][2]
    c["event_count"] = 3
    _save(d / "chunk_000002.json", c)


def _reorder_chunks(d):  # swap files and even fix their chunk_id fields
    a, b = _load(d / "chunk_000001.json"), _load(d / "chunk_000002.json")
    a["chunk_id"], b["chunk_id"] = 2, 1
    _save(d / "chunk_000001.json", b)
    _save(d / "chunk_000002.json", a)


def _swap_files(d):
    (d / "chunk_000001.json").rename(d / "tmp.json")
    (d / "chunk_000002.json").rename(d / "chunk_000001.json")
    (d / "tmp.json").rename(d / "chunk_000002.json")


def _delete_middle_chunk(d):
    (d / "chunk_000002.json").unlink()


def _delete_middle_and_renumber(d):
    (d / "chunk_000002.json").unlink()
    c = _load(d / "chunk_000003.json")
    c["chunk_id"] = 2
    _save(d / "chunk_000002.json", c)
    (d / "chunk_000003.json").unlink()


def _edit_root(d):
    c = _load(d / "chunk_000002.json")
    c["merkle_root"] = "ab" * 32
    _save(d / "chunk_000002.json", c)


def _edit_last_root(d):
    c = _load(d / "chunk_000003.json")
    c["merkle_root"] = "cd" * 32
    _save(d / "chunk_000003.json", c)


def _edit_prev_root(d):
    c = _load(d / "chunk_000003.json")
    c["prev_root"] = "ef" * 32
    _save(d / "chunk_000003.json", c)


@pytest.mark.parametrize(
    "tamper, where, what",
    [
        (_edit_event, "chunk_000002.json (chunk 2)", "merkle_root does not match its events"),
        (_remove_event, "chunk_000002.json (chunk 2)", "holds 3 events but event_count says 4"),
        (_remove_event_and_fix_count, "chunk_000002.json (chunk 2)", "merkle_root does not match its events"),
        (_reorder_chunks, "chunk_000001.json (chunk 1)", "prev_root"),
        (_swap_files, "chunk_000001.json (chunk 1)", "chunk_id field says 2"),
        (_delete_middle_chunk, "chunk_000003.json (chunk 3)", "chunk 2 missing"),
        (_delete_middle_and_renumber, "chunk_000002.json (chunk 2)", "prev_root"),
        (_edit_root, "chunk_000002.json (chunk 2)", "merkle_root was edited"),
        (_edit_last_root, "chunk_000003.json (chunk 3)", "merkle_root does not match"),
        (_edit_prev_root, "chunk_000003.json (chunk 3)", "is not chunk 2's merkle_root"),
    ],
    ids=lambda v: v.__name__ if callable(v) else None,
)
def test_verify_detects_tampering(tmp_path, capsys, tamper, where, what):
    _make_log(tmp_path)
    tamper(tmp_path)
    before = _digest(tmp_path)
    assert main(["audit", "verify", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert f"FAILED: {where}" in captured.out and what in captured.out
    # the problem is printed once (FAILED: ...); the error line only counts what is listed above
    assert what in captured.out and what not in captured.err
    assert captured.err.startswith("error: audit verify:") and "listed above" in captured.err
    assert captured.err.count("\n") == 1
    assert _digest(tmp_path) == before, "verify never writes"


def test_deleted_last_chunk_detected_through_summary(tmp_path, capsys):
    _make_log(tmp_path)
    c3 = _load(tmp_path / "chunk_000003.json")
    _save(tmp_path / "training_summary.json", {"merkle_root": c3["merkle_root"], "chunk_id": 3})
    assert main(["audit", "verify", str(tmp_path)]) == 0
    (tmp_path / "chunk_000003.json").unlink()
    assert main(["audit", "verify", str(tmp_path)]) == 1
    assert "names chunk 3 but the chain ends at chunk 2" in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main(["audit", "verify", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["audit", "verify", str(tmp_path)]) == 2  # empty dir
    assert "no audit chunks" in capsys.readouterr().err
    _make_log(tmp_path)
    good = _digest(tmp_path)
    assert main(["audit", "proof", str(tmp_path), "--chunk", "1", "--index", "4"]) == 2
    err = capsys.readouterr().err
    assert "--index 4 is out of range: chunk 1 holds 4 events (valid: 0..3)" in err and err.count("\n") == 1
    assert main(["audit", "proof", str(tmp_path), "--chunk", "9", "--index", "0"]) == 2
    assert "chunk 9 is not in" in capsys.readouterr().err
    c = _load(tmp_path / "chunk_000002.json")
    c["event_count"] = 7  # events intact, only the count field is wrong
    _save(tmp_path / "chunk_000002.json", c)
    assert main(["audit", "verify", str(tmp_path)]) == 2
    assert "event_count is 7 but the chunk holds 4 events" in capsys.readouterr().err
    (tmp_path / "chunk_000002.json").write_text('{"chunk_id": 2, "events": [')
    before = _digest(tmp_path)
    assert main(["audit", "verify", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'chunk_000002.json'" in err and "is not valid JSON" in err and err.count("\n") == 1 and "Traceback" not in err
    assert _digest(tmp_path) == before
    assert {k: v for k, v in before.items() if k != "chunk_000002.json"} == {k: v for k, v in good.items() if k != "chunk_000002.json"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_dir_exits_2(tmp_path, capsys):
    _make_log(tmp_path / "a")
    os.chmod(tmp_path / "a", 0)
    try:
        assert main(["audit", "verify", str(tmp_path / "a")]) == 2
    finally:
        os.chmod(tmp_path / "a", 0o755)


def test_proof_is_a_valid_rfc9162_inclusion_proof(tmp_path, capsys):
    _make_log(tmp_path, n_chunks=1, per_chunk=7)
    assert main(["audit", "proof", str(tmp_path), "--chunk", "000001", "--index", "5"]) == 0
    proof = json.loads(capsys.readouterr().out)
    assert set(proof) >= {"leaf_index", "tree_size", "leaf_hash", "audit_path", "root"}
    assert proof["leaf_index"] == 5 and proof["tree_size"] == 7 and len(proof["audit_path"]) == 3
    assert proof["root"] == _load(tmp_path / "chunk_000001.json")["merkle_root"]
    event_bytes = json.dumps(proof["event"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hashlib.sha256(b"\x00" + event_bytes).hexdigest() == proof["leaf_hash"]
    assert verify_inclusion(bytes.fromhex(proof["leaf_hash"]), 5, 7, [bytes.fromhex(h) for h in proof["audit_path"]], bytes.fromhex(proof["root"]))


def test_proof_on_tampered_chunk_exits_1(tmp_path, capsys):
    _make_log(tmp_path)
    _edit_event(tmp_path)
    assert main(["audit", "proof", str(tmp_path), "--chunk", "2", "--index", "0"]) == 1
    assert "chunk_000002.json (chunk 2): merkle_root does not match its events" in capsys.readouterr().err


def test_show_lists_chunks_and_events(tmp_path, capsys):
    _make_log(tmp_path, n_chunks=2, per_chunk=2)
    assert main(["audit", "show", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("chunk ") >= 2 and "chunk 2 (chunk_000002.json): 2 events" in out
    assert out.count("validation_metrics") == 4 and "logistic" in out
    assert main(["audit", "show", str(tmp_path), "--chunk", "1", "--no-events"]) == 0
    out = capsys.readouterr().out
    assert "chunk 1 (chunk_000001.json)" in out and "validation_metrics" not in out


def test_signing_and_public_key_verification(tmp_path, capsys):
    keys = tmp_path / "keys"
    keys.mkdir()
    assert main(["audit", "keygen", str(keys / "audit")]) == 0
    capsys.readouterr()
    assert (os.stat(keys / "audit.key").st_mode & 0o777) == 0o600
    assert main(["audit", "keygen", str(keys / "audit")]) == 2  # never overwrites a key
    assert "already exists" in capsys.readouterr().err
    d = _make_log(tmp_path / "log", signing_key=keys / "audit.key")
    chunk = _load(d / "chunk_000001.json")
    assert chunk["signature"]["algorithm"] == "ed25519" and chunk["signature"]["format"] == "c2sp-signed-note"
    body = chunk["signature"]["note"].split("\n\n")[0].split("\n")
    assert body[:3] == [f"nethical.audit/{chunk['log_id']}", "4", base64.b64encode(bytes.fromhex(chunk["log_root"])).decode()]
    assert body[3] == f"chunk 1 {base64.b64encode(bytes.fromhex(chunk['merkle_root'])).decode()} {chunk['finalized_at']}"
    assert "PRIVATE" not in (d / "chunk_000001.json").read_text()
    assert main(["audit", "verify", str(d), "--public-key", str(keys / "audit.pub")]) == 0
    assert "3 signatures valid" in capsys.readouterr().out
    assert main(["audit", "keygen", str(keys / "other")]) == 0
    assert main(["audit", "verify", str(d), "--public-key", str(keys / "other.pub")]) == 1
    assert "signature does not verify" in capsys.readouterr().out
    # re-rooting a chunk and its signed head without the key is caught by the signature
    c = _load(d / "chunk_000003.json")
    body, _, sig = c["signature"]["note"].partition("\n\n")
    name, blob = sig.split(" ")[1:3]
    c["signature"]["note"] = f"{body}\n\n\u2014 {name} {base64.b64encode(base64.b64decode(blob)[:4] + bytes(64)).decode()}\n"
    _save(d / "chunk_000003.json", c)
    assert main(["audit", "verify", str(d), "--public-key", str(keys / "audit.pub")]) == 1
    assert "chunk_000003.json (chunk 3): the Ed25519 signature does not verify" in capsys.readouterr().out
    unsigned = _make_log(tmp_path / "unsigned")
    assert main(["audit", "verify", str(unsigned), "--public-key", str(keys / "audit.pub")]) == 1
    assert "unsigned" in capsys.readouterr().out
