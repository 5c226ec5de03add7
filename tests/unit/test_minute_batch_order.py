"""The duration samples' one-key stable sort is the permutation ``np.lexsort`` gave (series, minute, bucket).

``MinuteBatch._durations`` groups samples by sorting them; the datapoints are the same to the last bit only if
the order is, ties (samples of one bucket) included, in the order they were drawn. Small ranges make many ties.
"""

from __future__ import annotations

import numpy as np
import pytest

from golive.sandbox.minute_batch import _order


@pytest.mark.parametrize("seed", range(20))
def test_the_order_is_lexsorts_ties_and_negative_buckets_included(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5000))
    ids = rng.integers(0, int(rng.integers(1, 40)), n).astype(np.int64)
    minutes = rng.integers(0, int(rng.integers(1, 500)), n).astype(np.int64)
    buckets = rng.integers(-350, int(rng.integers(-349, 700)), n).astype(np.int64)
    assert np.array_equal(_order(ids, minutes, buckets), np.lexsort((buckets, minutes, ids)))


def test_a_key_that_would_overflow_falls_back_to_lexsort() -> None:
    ids = np.array([2**40, 0, 2**40, 1], dtype=np.int64)
    minutes = np.array([2**30, 5, 0, 2**30], dtype=np.int64)
    buckets = np.array([-3, 9, 2**20, -3], dtype=np.int64)
    assert np.array_equal(_order(ids, minutes, buckets), np.lexsort((buckets, minutes, ids)))
