"""The fairness-monitoring study's parameters (notebook 03)."""

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
    Parameter("threshold", 0.8, "alert when disparate impact falls below this fraction, 0.8 "
              "is 80%", (SHARE,)),
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
    Parameter("drift_strength", 0.2, "share of the monitored group's repaid loans "
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
