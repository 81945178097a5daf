"""The seeded synthetic tasks: determinism, shape, variety and honest class overlap."""

from __future__ import annotations

import numpy as np
import pytest

from nethical.data.synthetic import (CORRELATION_FEATURES, SYNTHETIC_TASKS, action_sequences, agent_activity, generate,
                                     short_requests)
from nethical.exceptions import ConfigError


@pytest.mark.parametrize("task", sorted(SYNTHETIC_TASKS))
def test_same_seed_same_rows_other_seed_other_rows(task):
    a, b, c = generate(task, 400, seed=3), generate(task, 400, seed=3), generate(task, 400, seed=4)
    assert len(a) == 400 and a.kind == SYNTHETIC_TASKS[task][0]
    assert np.array_equal(a.labels, b.labels) and not np.array_equal(a.labels, c.labels)
    if a.kind == "tabular":
        assert np.array_equal(a.features, b.features)
    else:
        assert a.texts == b.texts and a.texts != c.texts
    assert set(np.unique(a.labels)) == {0, 1}
    assert a.provenance["source"] == "synthetic" and a.provenance["task"] == task


def test_unknown_task_and_bad_noise_are_config_errors():
    with pytest.raises(ConfigError, match="synthetic task 'nope' is not known"):
        generate("nope", 10)
    with pytest.raises(ConfigError, match="label_noise=0.6"):
        short_requests(10, label_noise=0.6)


def test_texts_vary_enough_that_memorizing_strings_fails():
    data = short_requests(5000, seed=0)
    assert len(set(data.texts)) > 0.9 * len(data.texts)
    train, val = set(data.texts[:4000]), data.texts[4000:]
    assert np.mean([t in train for t in val]) < 0.15  # most validation texts were never seen verbatim
    assert max(len(t.encode()) for t in data.texts) <= 128 + 20
    # risky vocabulary also appears in benign rows
    benign = [t.lower() for t, y in zip(data.texts, data.labels) if y == 0]
    assert any("phishing" in t for t in benign) and any("password" in t for t in benign)


def test_sequences_vary_in_length_order_and_include_empty_and_one_off_tokens():
    data = action_sequences(10000, seed=0)
    lengths = np.array([len(t.split()) for t in data.texts])
    assert lengths.min() == 0 and lengths.max() > 40 and len(np.unique(lengths)) > 30
    assert any(t.startswith("tmp_") or " tmp_" in t for t in data.texts)
    assert len(set(data.texts)) > 0.9 * len(data.texts)
    normal = " ".join(t for t, y in zip(data.texts, data.labels) if y == 0).split()
    assert "sudo" in normal and "upload" in normal  # attack tokens also occur in normal work


def test_correlation_features_overlap_between_classes():
    data = agent_activity(10000, seed=0)
    assert data.feature_names == list(CORRELATION_FEATURES)
    for j in range(data.features.shape[1]):
        x = data.features[:, j]
        # the best single-threshold rule on any one feature stays well below the 0.85 promotion bar
        best = max(np.mean((x >= t) == data.labels) for t in np.quantile(x, np.linspace(0.02, 0.98, 49)))
        best = max(best, max(np.mean((x < t) == data.labels) for t in np.quantile(x, np.linspace(0.02, 0.98, 49))))
        assert best < 0.85, (data.feature_names[j], best)
