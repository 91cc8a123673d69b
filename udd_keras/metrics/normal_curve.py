"""UE of normal-distributed activations against their std (paper Fig. 8)."""

import numpy as np

from udd_keras.errors import UddError
from udd_keras.metrics.utilization import utilization_entropy


def ue_curve_for_normal(
    stds,
    d,
    num_samples=256,
    seed=0,
    mean=0.0,
    value_range=(-1.0, 1.0),
):
    """UE^d of a map of normal samples, for each std in `stds`.

    One set of standard-normal draws `z` is shared by every std (the map for std
    `s` is `mean + s * z`), so the curve varies only with the std. It rises while
    the samples spread over `value_range` and is flat once they are wider than it
    (UE is then measured on the map's own extent): the shape of the paper's
    Fig. 8, which levels off near 0.86. The plateau depends on `num_samples`
    through the extremes of the draws: about 0.80-0.88 for 256 values (a 16 x 16
    map), about 0.75 for 4096. For even `d` the mean 0 of the default range
    (-1, 1) is an interval boundary, so a near-spike splits over two intervals
    and the curve starts at log 2 / log d instead of 0.

    Args:
        stds: 1-D sequence of non-negative floats.
        d: int >= 2, the number of intervals; or a sequence of ints, giving the
            mean over them (an mUE curve).
        num_samples: int, values per map (256 = a 16 x 16 map).
        seed: int, seed of the normal draws.
        mean: float, the mean of the normal distribution.
        value_range: `(low, high)` reference range passed to
            `utilization_entropy`.

    Returns:
        float64 array (len(stds),) in [0, 1].

    Example:
    >>> curve = ue_curve_for_normal([0.05, 0.2, 1.0, 4.0], d=5)
    >>> bool(curve[0] < curve[-1])
    True
    """
    stds = np.asarray(stds, dtype=np.float64).reshape(-1)
    if stds.size == 0 or np.any(stds < 0) or not np.all(np.isfinite(stds)):
        raise UddError(f"stds must be non-negative finite numbers, got {stds}")
    if int(num_samples) < 1:
        raise UddError(f"num_samples must be >= 1, got {num_samples}")
    z = np.random.default_rng(seed).standard_normal(int(num_samples))
    maps = (mean + stds[:, None] * z[None, :])[:, :, None]  # (S, n, 1)
    interval_counts = [d] if np.isscalar(d) else list(d)
    return np.mean(
        [utilization_entropy(maps, k, value_range) for k in interval_counts],
        axis=0,
    )
