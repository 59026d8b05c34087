"""The C train call checks exactly the permutation entries its batches read."""

import numpy as np
import pytest

from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential


def _plan():
    m = Sequential([Input((3,)), Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    return m._ensure_plan(4)


def test_out_of_range_index_in_the_batches_run_is_refused():
    plan = _plan()
    x, y = np.zeros((8, 3), np.float32), np.zeros((8, 1), np.float32)
    perm = np.arange(8, dtype=np.int64)
    perm[5] = 99
    with pytest.raises(ValueError, match=r"perm\[5\] = 99 is out of range"):
        plan.train(x, y, perm, 4, 1, 2, False)
    # Batch 0 reads perm[0:4] only: the bad entry is not read, so it runs.
    sums, done, _, _ = plan.train(x, y, perm, 4, 0, 1, False)
    assert done == 1


@pytest.mark.parametrize("b0,b1", [(-1, 1), (2, 1)])
def test_bad_batch_range_is_refused(b0, b1):
    plan = _plan()
    x, y = np.zeros((8, 3), np.float32), np.zeros((8, 1), np.float32)
    with pytest.raises(ValueError, match="0 <= b0 <= b1"):
        plan.train(x, y, np.arange(8, dtype=np.int64), 4, b0, b1, False)
