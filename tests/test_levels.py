"""optimizer/core/levels.py: the sign rules of the transfer that reaches a level."""

import numpy as np

from optimizer.core.levels import gap_to_level, least_transfer, level_of, required_transfer, transfer_to_level

OWN = np.array([30.0, 90.0, 150.0])
NEED = np.array([100.0, 100.0, 100.0])


def test_transfer_to_level_is_signed_and_inverts_level_of():
    t = transfer_to_level(0.9, OWN, NEED)
    np.testing.assert_allclose(t, [60.0, 0.0, -60.0])
    np.testing.assert_allclose(level_of(OWN, NEED, t), 0.9)
    np.testing.assert_allclose(gap_to_level(0.9, OWN, NEED), [60.0, 0.0, 0.0])


def test_least_and_required_transfer_differ_only_for_a_possible_gift():
    theta = np.full(3, 0.9)
    t_min = np.array([0.0, 5.0, -100.0])                     # the third may contribute
    np.testing.assert_allclose(least_transfer(theta, OWN, NEED, t_min), [60.0, 5.0, -60.0])
    np.testing.assert_allclose(required_transfer(theta, OWN, NEED, t_min), [60.0, 5.0, 0.0])
    t_min = np.zeros(3)
    np.testing.assert_array_equal(least_transfer(theta, OWN, NEED, t_min),
                                  np.maximum(required_transfer(theta, OWN, NEED, t_min), 0.0))
