"""The fairness-monitoring case study: the deployed models, their drift and simulated traffic.

What only notebook 03 needs: a credit model deployed behind a fixed decision
threshold, a retrained version whose labels a new collections system biased,
and hours of scoring requests written to a payload log.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import FixedThresholdClassifier
from threadpoolctl import threadpool_limits

from fairaudit.models import make_classifier
from fairaudit.monitor import PayloadLog
from fairaudit.monitor._config import as_timestamp, series_text, value_text


def counted(n: int, noun: str) -> str:
    """``"1 record"``, ``"2 records"``: a count with its noun in the right number."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def hours(delay) -> str:
    """A delay in whole hours (``"9 h"``), or ``"never"`` when there was none."""
    return "never" if pd.isna(delay) else f"{delay / pd.Timedelta('1h'):.0f} h"


def deploy(X: pd.DataFrame, y: pd.Series, *, decision_threshold: float, random_state=None):
    """The deployed service: a boosted model fitted on ``X``, refusing (1) from the threshold.

    ``FrozenEstimator`` keeps the fit; one thread, because on a small, busy
    machine OpenMP threads waiting for each other cost more than they save (the
    fitted model is the same).
    """
    model = make_classifier("hgb", X, random_state=random_state)
    with threadpool_limits(limits=1):
        model.fit(X, y)
    return FixedThresholdClassifier(FrozenEstimator(model), threshold=decision_threshold)


def mislabel(values: pd.Series, y: pd.Series, group, share: float, random_state=None):
    """Which repaid loans (label 0) of ``group`` a biased collections system records as defaults.

    Each repaid loan of a member of ``group`` (values compared as the monitor
    compares them) is recorded as a default with probability ``share``.
    """
    rng = np.random.default_rng(random_state)
    members = series_text(values).isin([value_text(v) for v in group]).fillna(False)
    return members & (y == 0) & (rng.random(len(y)) < share)


def log_traffic(path, traffic, models, example, *, features, attributes, outcomes, feedback_share,
                random_state=None):  # fmt: skip
    """Score ``traffic`` with the model version each request met and log it; feed back outcomes.

    ``traffic`` (from :func:`simulate_requests`) carries ``model_version`` and
    ``pool_index``; ``outcomes`` holds the true outcome of each pool row. Returns
    the open :class:`~fairaudit.monitor.PayloadLog` and the requests fed back.
    """
    log = PayloadLog.create(path, example, attributes=attributes)
    for version, batch in traffic.groupby("model_version"):
        model = models[version]
        log.append(
            batch[example.columns],
            model.predict(batch[features]),
            timestamps=batch["scoring_timestamp"],
            request_ids=batch.index,
            probabilities=model.predict_proba(batch[features])[:, 1],
            model_version=version,
        )
    fed_back = traffic.sample(frac=feedback_share, random_state=random_state)
    log.add_feedback(fed_back.index, outcomes.loc[fed_back["pool_index"]].to_numpy())
    return log, fed_back


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
