"""The fairness-monitoring case study: simulated traffic of scoring requests over days."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairaudit.monitor._config import as_timestamp


def simulate_requests(
    pool: pd.DataFrame,
    *,
    start,
    days: int = 14,
    requests_per_hour: float = 60.0,
    night_share: float = 0.25,
    random_state=None,
) -> pd.DataFrame:
    """Simulated scoring traffic: rows of ``pool`` requested at random times.

    Hourly request counts are Poisson with a daily cycle: the rate is
    ``requests_per_hour`` at midday and ``night_share`` of it at midnight (a
    cosine in between), so night windows are short and exercise the
    ``min_records`` back-fill. Rows are drawn from ``pool`` with replacement.

    Parameters
    ----------
    pool : pandas.DataFrame
        The applicants requests are drawn from.
    start : timestamp
        The first hour of traffic.
    days : int, default 14
    requests_per_hour : float, default 60.0
    night_share : float, default 0.25
    random_state : int, optional


    Returns
    -------
    pandas.DataFrame
        The sampled rows (original index kept in column ``pool_index``) with a
        ``scoring_timestamp`` column, sorted by time.
    """
    if not isinstance(pool, pd.DataFrame) or pool.empty:
        raise ValueError("pool must be a non-empty DataFrame of requests to sample from.")
    if days <= 0 or requests_per_hour <= 0 or not 0 <= night_share <= 1:
        raise ValueError(
            "days and requests_per_hour must be positive and night_share in [0, 1]; got "
            f"days={days!r}, requests_per_hour={requests_per_hour!r}, night_share={night_share!r}."
        )
    rng = np.random.default_rng(random_state)
    hours = pd.date_range(as_timestamp(start, "start"), periods=int(days) * 24, freq="h")
    cycle = (1 - np.cos(2 * np.pi * hours.hour.to_numpy() / 24)) / 2  # 0 at midnight, 1 at noon
    rate = requests_per_hour * (night_share + (1 - night_share) * cycle)
    counts = rng.poisson(rate)
    offsets = rng.integers(0, 3_600_000_000, size=counts.sum())  # microseconds into the hour
    stamps = np.repeat(hours.to_numpy().astype("datetime64[us]"), counts) + offsets.astype(
        "timedelta64[us]"
    )
    picks = rng.integers(0, len(pool), size=counts.sum())
    out = pool.iloc[picks].copy()
    out.insert(0, "pool_index", out.index.to_numpy())
    out["scoring_timestamp"] = stamps
    return out.sort_values("scoring_timestamp", kind="stable").reset_index(drop=True)
