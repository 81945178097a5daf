"""Model-extraction probing across a *stream* of queries (:class:`ExtractionMonitor`).

One query asking for logits is caught by the single-text rules; an extraction attack that asks innocuous questions
is only visible over many queries: the same template with changing numbers, or near-duplicate queries that differ
by a word or two. The monitor keeps, for the last ``window`` queries, two cheap fingerprints per query:

* a *template* — lower-cased, numbers replaced by ``#``, whitespace collapsed (catches ``score input 1``,
  ``score input 2``, ...);
* *bands* of a bottom-k MinHash sketch of the query's content words (two of the six smallest CRC32 token hashes per
  band), so queries sharing most of their words share a band with high probability. Bands are only kept for a
  query that asks about a model's outputs or internals (:data:`_PROBE_CUE`: scores, probabilities, logits,
  confidence, predictions, labels, weights, parameters, thresholds, embeddings, ...): templated but ordinary prompts
  ("Generate a C program that implements ...", one sentence per target group) share words without probing anything,
  and flagging them was the monitor's main source of false positives.

A query whose template or one of whose bands was seen at least ``min_similar - 1`` times in the window is part of
a probing pattern. Counting is O(1) per query (dictionary counters with eviction), so a stream of millions costs
linear time and ``O(window)`` memory.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, deque
from typing import Optional

from nethical.governance.violation import Violation

_NUM = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[a-z#][a-z#'\-]*")
_STOP = frozenset("a an the is are was were be of to in on for and or but what which who how do does did can could "
                  "would should will i you it this that these those my your me with as at by from please tell give "
                  "about if so not no yes".split())
_K = 6
#: what a probing query asks for; a near-duplicate (band) match only counts for queries that mention one of these
_PROBE_CUE = re.compile(
    r"\b(?:logits?|log-?probs?|probabilit(?:y|ies)|confidence|scor(?:e|es|ed|ing)|predict(?:s|ed|ion|ions)?|"
    r"classif(?:y|ied|ies|ication|ier)|labels?|weights?|parameters?|hyper-?parameters?|thresholds?|"
    r"decision boundar(?:y|ies)|embeddings?|gradients?|softmax|temperature|risk rating|verdict)\b")


def _fingerprints(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    low = " ".join(_NUM.sub("#", text.lower()).split())[:2000]
    template = low
    tokens = {zlib.crc32(w.encode()) for w in _WORD.findall(low) if w not in _STOP and w != "#"}
    if len(tokens) < 4 or _PROBE_CUE.search(low) is None:
        return template, ()
    smallest = sorted(tokens)[:_K]
    bands = tuple((smallest[i], smallest[i + 1]) for i in range(0, len(smallest) - 1, 2))
    return template, bands


def fingerprint(text: str) -> tuple:
    """What :meth:`ExtractionMonitor.observe_fingerprint` needs of one query (computable in another process)."""
    template, bands = _fingerprints(text if isinstance(text, str) else str(text))
    return template, bands, len(text)


class ExtractionMonitor:
    """Watch a sequence of queries for model-extraction probing.

    Args:
        window: how many recent queries are remembered.
        min_similar: how many near-duplicate queries (including the current one) inside the window make a pattern.

    Example:
        >>> monitor = ExtractionMonitor(window=50, min_similar=5)
        >>> flags = [monitor.observe(f"What is the fraud score for account {i}?") for i in range(6)]
        >>> [f is not None for f in flags]
        [False, False, False, False, True, True]
    """

    def __init__(self, window: int = 200, min_similar: int = 8) -> None:
        if window < 2 or min_similar < 2:
            raise ValueError(f"ExtractionMonitor(window={window}, min_similar={min_similar}) needs both >= 2.")
        self.window = window
        self.min_similar = min_similar
        self._recent: deque = deque()
        self._templates: Counter = Counter()
        self._bands: Counter = Counter()
        self.queries_seen = 0
        self.probing_queries = 0

    def observe(self, text: str) -> Optional[Violation]:
        """Record one query; return a ``model_extraction/systematic_probing`` violation when it completes a pattern."""
        return self.observe_fingerprint(fingerprint(text))

    def observe_fingerprint(self, fp: tuple) -> Optional[Violation]:
        """:meth:`observe` for a query already reduced by :func:`fingerprint` (the scanner's workers compute it)."""
        template, bands, length = fp
        similar = self._templates[template]
        for band in bands:
            similar = max(similar, self._bands[band])
        self._recent.append((template, bands))
        self._templates[template] += 1
        for band in bands:
            self._bands[band] += 1
        if len(self._recent) > self.window:
            old_template, old_bands = self._recent.popleft()
            self._decrement(self._templates, old_template)
            for band in old_bands:
                self._decrement(self._bands, band)
        self.queries_seen += 1
        count = similar + 1
        if count < self.min_similar:
            return None
        self.probing_queries += 1
        severity = "high" if count >= 3 * self.min_similar else "medium"
        confidence = min(0.97, 0.7 + 0.03 * (count - self.min_similar))
        return Violation("model_extraction", "systematic_probing", severity, confidence, (0, length),
                         f"{count} near-duplicate queries within the last {len(self._recent)}")

    @staticmethod
    def _decrement(counter: Counter, key: object) -> None:
        counter[key] -= 1
        if counter[key] <= 0:
            del counter[key]

    def reset(self) -> None:
        """Forget every query seen so far."""
        self._recent.clear()
        self._templates.clear()
        self._bands.clear()
        self.queries_seen = self.probing_queries = 0
