"""The fairness-monitoring study (notebook 03): its parameters, models, drift and traffic.

The parameters are declared here once. The rest is what only notebook 03 needs:
a credit model deployed behind a fixed decision threshold, a retrained version
whose labels a new collections system biased, and hours of scoring requests
written to a payload log. Those functions import pandas and the monitor when
called, so that the command reads the parameters without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fairaudit.studies._parameters import (
    Parameter,
    Rule,
    between,
    declare,
    iso_date,
    memory_budget,
    one_of,
    some_of,
)
from fairaudit.studies.credit_loan import CREDIT_GROUPS, SEED, SHARE

if TYPE_CHECKING:
    import pandas as pd

#: Memory a simulated request takes in the notebook at its peak: the slope of its peak
#: resident memory between 450,000 and 1,800,000 requests (1.0 GB and 2.8 GB).
BYTES_PER_REQUEST = 1_340
#: Requests a day per request an hour at midday: the daily cycle averages 0.625 of the peak.
REQUESTS_PER_DAY = 24 * 0.625
WINDOWS = ("15min", "30min", "1h", "2h", "3h", "4h", "6h", "12h", "1d")


def requests(values) -> float:
    """How many requests the notebook simulates, on average."""
    return (
        REQUESTS_PER_DAY * values["days"] * values["requests_per_hour"] * values["sample_fraction"]
    )


def _fits(value, values) -> bool:
    return requests(values) * BYTES_PER_REQUEST <= memory_budget()


def _estimate(value, values) -> str:
    return (
        f"that is about {requests(values):,.0f} requests of {BYTES_PER_REQUEST} bytes, "
        f"{requests(values) * BYTES_PER_REQUEST / 1e9:,.1f} GB in memory of the "
        f"{memory_budget() / 1e9:,.1f} GB allowed; lower it, days or sample_fraction"
    )


def _values_of_attribute() -> Rule:
    def holds(value, values):
        valid = CREDIT_GROUPS.get(values["attribute"], ())
        return some_of(*valid).holds(value, values)

    def why(value, values):
        valid = CREDIT_GROUPS.get(values["attribute"], ())
        return f"{values['attribute']} takes: {', '.join(valid)}"

    return Rule("one or more values of attribute", holds, ("attribute",), why)


def _apart(value, values) -> bool:
    return not set(map(str, value)) & set(map(str, values["monitored"]))


PARAMETERS = declare(
    Parameter("attribute", "SEX", "fairness attribute to monitor, a logged column",
              (one_of(*CREDIT_GROUPS),)),
    Parameter("monitored", ["female"], "monitored values: the group that may be harmed",
              (_values_of_attribute(),)),
    Parameter("reference", ["male"], "reference values: the group it is compared with",
              (_values_of_attribute(),
               Rule("none of the monitored values", _apart, ("monitored",)))),
    Parameter("favourable", [0], "favourable predictions: 0 means \"will not default\", so "
              "the loan is granted", (some_of(0, 1),)),
    Parameter("threshold", 0.9, "alert when disparate impact falls below this fraction, 0.9 "
              "is 90%", (SHARE,)),
    Parameter("min_records", 100, "fewest monitored + reference records per window; short "
              "windows borrow the newest earlier ones", (between(1, 1_000_000),)),
    Parameter("window", "1h", "length of a monitoring window", (one_of(*WINDOWS),)),
    Parameter("days", 14, "days of simulated traffic", (between(2, 366),)),
    Parameter("requests_per_hour", 120, "mean requests per hour at midday, a quarter of it at "
              "midnight", (between(1, 10_000),
                           Rule("such that the traffic fits in half of this machine's memory",
                                _fits, ("days", "sample_fraction"), _estimate))),
    Parameter("drift_day", 7, "day, counted from 0, on which the retrained model version "
              "goes live", (between(0, "days", low_open=True, high_open=True),)),
    Parameter("drift_strength", 0.14, "share of the monitored group's repaid loans "
              "mislabelled as defaults for v2", (between(0, 1),)),
    Parameter("decision_threshold", 0.3, "predicted default probability from which a loan "
              "is refused", (between(0, 1, low_open=True, high_open=True),)),
    Parameter("feedback_share", 0.3, "share of requests whose true outcome is later fed back",
              (between(0, 1),)),
    Parameter("start_date", "2026-03-02", "first day of traffic, a Monday (UTC)",
              (iso_date(),)),
    Parameter("sample_fraction", 1.0, "share of the credit data, and of the traffic, used; "
              "0.2 for a quick run", (SHARE,)),
    Parameter("random_state", 0, "seeds the data split, the models, the traffic and the "
              "bootstrap", (SEED,)),
    Parameter("output_dir", "reports/scratch/fairness_monitoring", "where a run in "
              "JupyterLab or papermill writes; `fairaudit run` writes "
              "reports/fairness_monitoring/"),
)  # fmt: skip


def counted(n: int, noun: str) -> str:
    """``"1 record"``, ``"2 records"``: a count with its noun in the right number."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def hours(delay) -> str:
    """A delay in whole hours (``"9 h"``), or ``"never"`` when there was none."""
    import pandas as pd

    return "never" if pd.isna(delay) else f"{delay / pd.Timedelta('1h'):.0f} h"


def deploy(X: pd.DataFrame, y: pd.Series, *, decision_threshold: float, random_state=None):
    """The deployed service: a boosted model fitted on ``X``, refusing (1) from the threshold.

    ``FrozenEstimator`` keeps the fit; one thread, because on a small, busy
    machine OpenMP threads waiting for each other cost more than they save (the
    fitted model is the same).
    """
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier
    from threadpoolctl import threadpool_limits

    from fairaudit.models import make_classifier

    model = make_classifier("hgb", X, random_state=random_state)
    with threadpool_limits(limits=1):
        model.fit(X, y)
    return FixedThresholdClassifier(FrozenEstimator(model), threshold=decision_threshold)


def mislabel(values: pd.Series, y: pd.Series, group, share: float, random_state=None):
    """Which repaid loans (label 0) of ``group`` a biased collections system records as defaults.

    Each repaid loan of a member of ``group`` (values compared as the monitor
    compares them) is recorded as a default with probability ``share``.
    """
    import numpy as np

    from fairaudit.monitor._config import series_text, value_text

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
    from fairaudit.monitor import PayloadLog

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
    import numpy as np
    import pandas as pd

    from fairaudit.monitor._config import as_timestamp

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


# --- exercises (judges import numpy and pandas when called: the command imports this module) ---

import numbers  # noqa: E402

from fairaudit.exercises import Verdict, exercise, judge_number  # noqa: E402


@exercise(
    "fairness-monitoring/disparate-impact-by-hand",
    answer="answer_di",
    kind="ratio",
    task="compute the disparate impact of the window in `lowest` from its four counts",
)
def disparate_impact_by_hand(value, *, window):
    """The monitored group's favourable rate over the reference group's, from the counts."""
    from fairaudit.metrics import disparate_impact_from_counts

    di = disparate_impact_from_counts(
        {"monitored": window["monitored_favourable"], "reference": window["reference_favourable"]},
        {"monitored": window["monitored_total"], "reference": window["reference_total"]},
        reference_group="reference",
        n_boot=0,
        min_group_size=1,
    ).loc["monitored"]
    return judge_number(
        value,
        di["disparate_impact"],
        slips=[
            (1 / di["disparate_impact"] if di["disparate_impact"] else None,
             "that ratio is upside down: the monitored group's rate goes on top."),
            (di["favourable_rate"], "that is the monitored group's favourable rate; divide it by "
             "the reference's."),
        ],
        otherwise="a favourable rate is a group's favourable outcomes divided by its records; "
        "disparate impact divides the monitored rate by the reference rate.",
    )  # fmt: skip


def _alerts(windows):
    """The ``alert`` column as booleans (an undefined window does not alert)."""
    return windows["alert"].fillna(False).astype(bool)


@exercise(
    "fairness-monitoring/false-alarm-rate",
    answer="answer_false_alarms",
    kind="share",
    task="count the alerting windows before the release and divide by the number of windows "
    "before it",
)
def false_alarm_rate(value, *, windows, release):
    """The share of alerting windows among those that start before the release."""
    before = _alerts(windows.loc[windows["window_start"] < release])
    return judge_number(
        value,
        before.mean(),
        slips=[
            (float(before.sum()), "that is a count; a rate divides it by the number of windows "
             "before the release."),
            (_alerts(windows).mean(), "only the windows before the release: after it, an alert "
             "may be a true one."),
        ],
        otherwise="use the `alert` column of the windows that start before the release.",
    )  # fmt: skip


def persistent_alerts(windows, k: int):
    """Whether each window (sorted by start) closes a run of at least ``k`` alerting windows."""
    alert = _alerts(windows.sort_values("window_start"))
    return alert.astype(int).rolling(k, min_periods=k).sum().eq(k)


@exercise(
    "fairness-monitoring/persistent-alerts",
    answer="answer_persistent",
    kind="count",
    task="mark the windows that close a run of `k_in_a_row` alerting windows, and count those "
    "after the release",
)
def persistent_alert_count(value, *, windows, release, k):
    """How many windows after the release close a run of ``k`` alerts."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        shown = f"{k:g}" if isinstance(k, float) else repr(k)
        return Verdict(False, f"`k_in_a_row` is {shown}, but it counts windows in a row: set it "
                       "to a whole number, 1 or more (3 means three alerting windows in a row), "
                       "and run the cell again.")  # fmt: skip
    ordered = windows.sort_values("window_start")
    persistent = persistent_alerts(ordered, k)
    after = ordered["window_start"] >= release
    expected = int((persistent & after).sum())
    return judge_number(
        value,
        expected,
        within=(expected, expected),
        slips=[
            (int((_alerts(ordered) & after).sum()), f"that counts every alert; count only the "
             f"windows ending a run of {k} alerts."),
            (int(persistent.sum()), "count only the windows after the release."),
        ],
        otherwise=f"a window counts when it and the {k - 1} window(s) before it all alert; sort "
        "the windows by start time first.",
    )  # fmt: skip
