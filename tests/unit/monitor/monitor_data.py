"""Payload requests the monitor's tests share."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_requests(n_hours=30, seed=0):
    """Requests with uneven traffic: busy hours, quiet hours, an empty hour, tied timestamps."""
    rng = np.random.default_rng(seed)
    counts = rng.choice([0, 3, 8, 25, 60], size=n_hours, p=[0.1, 0.2, 0.2, 0.3, 0.2])
    counts[5] = 0
    hours = pd.date_range("2026-01-05", periods=n_hours, freq="h")
    stamps = (
        np.repeat(hours.to_numpy(), counts)
        + pd.to_timedelta(rng.integers(0, 3600, counts.sum()), unit="s").to_numpy()
    )
    n = len(stamps)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "group": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[0.4, 0.4, 0.2])),
            "band": pd.Categorical(rng.choice(["young", "old"], n)),
        }
    )
    prediction = (X["x"] + (X["group"] == "b") * 0.8 + rng.normal(0, 0.5, n) > 0.2).astype(int)
    ids = rng.permutation(n) + 1000  # ids not in time order: ties must break by id, not position
    return X, prediction.to_numpy(), pd.Series(stamps), ids
