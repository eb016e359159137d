"""The decision boundary's class probabilities over a grid of the input plane: the one rule the
window's live view, its "as on screen" export and the publication figure all use.

No matplotlib here (the window's training worker computes the grid a few times a second and must
not pay for matplotlib's import), and no loss-specific branch: each loss says what its outputs
mean as probabilities (:meth:`gradlab.engine.losses.Loss.probabilities`).
"""

from __future__ import annotations

import numpy as np


def boundary_probabilities(exp, points: np.ndarray, res: int) -> np.ndarray:
    """Class probabilities of ``exp``'s network on a ``res x res`` grid.

    ``points: (res * res, 2)`` (rows = y, columns = x, as :func:`gradlab.data.grid_for` lays
    them out) -> ``(res, res, k)`` float64 with k >= 2: ``exp.loss.probabilities`` of the
    network's outputs (softmax for the cross-entropy, the sigmoid for the binary
    cross-entropy, the clipped outputs for the quadratic cost). A diverging network overflows:
    its grid then holds NaN (drawn as no colour), which is the truth.
    """
    with np.errstate(all="ignore"):
        probs = exp.loss.probabilities(exp.network.predict(points))
    return probs.reshape(res, res, -1)


__all__ = ["boundary_probabilities"]
