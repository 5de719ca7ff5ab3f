"""The no-overtaking pairs are built once per round (RegionData.memo) and reused only while
the levels before they came from are unchanged: a round replaced with other revenue gets its
own pairs, the kept arrays cannot be written through, and the pairs equal a fresh build."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.data import RegionData
from models.policies import overtaking_pairs


def round_of(own: list[float], need: list[float]) -> RegionData:
    n = len(own)
    return RegionData(np.array(own), np.array(need), np.zeros(n), np.full(n, 1 / n), np.zeros(n),
                      np.full(n, np.inf), 10.0)


def test_pairs_kept_reused_and_rebuilt_when_the_levels_change():
    d = round_of([1.0, 3.0, 2.0, 3.0], [1.0, 1.0, 1.0, 1.0])
    his, los = overtaking_pairs(d)
    # levels before 1, 3, 2, 3: groups {1, 3} > {2} > {0}: pairs (1,2), (3,2), (2,0)
    assert sorted(zip(his.tolist(), los.tolist())) == [(1, 2), (2, 0), (3, 2)]
    again = overtaking_pairs(replace(d, threshold=np.ones(4)))      # same arrays: the kept pairs
    assert again[0] is his and again[1] is los
    with pytest.raises(ValueError):
        his[0] = 0
    other = replace(d, own=np.array([3.0, 1.0, 2.0, 0.5]))           # shares the memo, other levels
    h2, l2 = overtaking_pairs(other)
    assert sorted(zip(h2.tolist(), l2.tolist())) == [(0, 2), (1, 3), (2, 1)]
    d.own[0] = 5.0                                                   # written in place: rebuilt too
    h3, _ = overtaking_pairs(d)
    assert h3.tolist()[0] == 0
