"""The exercises of the three case studies: each judge recomputes its answer from evidence.

A judge returns ``(correct, nudge)``. The nudge names the likely slip (the wrong
denominator, a ratio upside down) without giving the number.
"""

from __future__ import annotations

import pandas as pd
from fairlearn.metrics import demographic_parity_difference

from ._check import as_number, close, exercise, label

# --- credit-loan --------------------------------------------------------------------------


@exercise(
    "credit-loan/declined-repayers",
    start="compute the share of the group's repayers who are declined (its false negative rate) "
    "from `result.counts` and store it in `answer`.",
)
def _credit_declined_repayers(answer, *, result, group):
    c = result.counts.loc[group]
    value = as_number(answer)
    if close(value, c["fn"] / (c["fn"] + c["tp"])):
        return True, ""
    if close(value, c["tp"] / (c["tp"] + c["fn"])):
        return False, (
            "that is the share of repayers who are *approved* (the true positive rate). The "
            "question asks for its complement: the repayers who are declined."
        )
    if close(value, c["fp"] / (c["fp"] + c["tn"])):
        return False, (
            "that is the false positive rate, whose denominator is the group's defaulters. A "
            "declined repayer is a false negative: which people could suffer that error?"
        )
    if close(value, c["fn"] / c.sum()):
        return False, (
            "you divided by all of the group's rows. A rate's denominator is the people who could "
            "suffer that error: the group's actual repayers (label 1)."
        )
    return False, (
        "a repayer who is declined is a false negative (label 1, decision 0). Divide the group's "
        "false negatives by all of its actual repayers."
    )


@exercise(
    "credit-loan/smallest-denominator",
    start="count the actual defaulters (label 0) per EDUCATION group in the test set; store the "
    "smallest count in `answer`.",
)
def _credit_smallest_denominator(answer, *, y_true, groups):
    frame = pd.DataFrame({"y": pd.Series(y_true).to_numpy(), "g": pd.Series(groups).to_numpy()})
    by_group = frame.groupby("g", observed=True)["y"]
    defaulters = by_group.size() - by_group.sum()
    value = as_number(answer)
    if close(value, defaulters.min()):
        return True, ""
    if close(value, by_group.size().min()):
        return False, (
            "that is the smallest group's number of rows. A false positive rate (defaulters "
            "approved) is estimated only from the group's actual defaulters (label 0)."
        )
    if close(value, by_group.sum().min()):
        return False, (
            "that counts repayers (label 1), the true positive rate's denominator. The false "
            "positive rate's denominator is the actual defaulters (label 0)."
        )
    return False, "group the test labels by EDUCATION and count the label-0 rows in each group."


@exercise(
    "credit-loan/who-bears-errors",
    start="read the mitigated model's audit and store the name of one group in `answer`.",
)
def _credit_who_bears_errors(answer, *, result):
    rates = result.by_group
    chosen = label(answer)
    names = {label(g): g for g in rates.index}
    if chosen not in names:
        return False, f"name one of the groups: {', '.join(map(str, rates.index))}."
    if chosen == label(rates["false_negative_rate"].idxmax()):
        return True, ""
    if chosen == label(rates["false_positive_rate"].idxmax()):
        return False, (
            "that group has the most defaulters *approved* (false positives), a cost the lender "
            "bears first. Whose repayers are declined most often?"
        )
    return False, "compare the groups' false negative rates: repayers who are declined."


# --- adult-income -------------------------------------------------------------------------


@exercise(
    "adult-income/base-rate-ratio",
    start="compute the share earning >50K among women and among men; store women's share "
    "divided by men's in `answer`.",
)
def _adult_base_rate_ratio(answer, *, y, sex):
    rates = pd.Series(y).groupby(pd.Series(sex).to_numpy(), observed=True).mean()
    value = as_number(answer)
    ratio = rates["Female"] / rates["Male"]
    if close(value, ratio, 1e-3):
        return True, ""
    if close(value, 1 / ratio, 1e-3):
        return False, "that ratio is upside down: women's share divided by men's."
    if close(value, rates["Female"] - rates["Male"], 1e-3) or close(
        value, rates["Male"] - rates["Female"], 1e-3
    ):
        return False, "that is the difference of the shares; the question asks for their ratio."
    return False, "the share of a group earning >50K is the mean of its 0/1 labels."


@exercise(
    "adult-income/perfect-classifier-dpd",
    start="use the true labels as the decisions, and store their demographic parity difference "
    "by sex in `answer`.",
)
def _adult_perfect_classifier(answer, *, y_true, sex):
    value = as_number(answer)
    expected = demographic_parity_difference(y_true, y_true, sensitive_features=sex)
    if close(value, expected):
        return True, ""
    if close(value, 0.0):
        return False, (
            "a perfect classifier approves exactly the people who earn >50K. Is that share the "
            "same for women and men?"
        )
    return False, (
        "pass the true labels as both `y_true` and `y_pred` to "
        "`fairlearn.metrics.demographic_parity_difference`, with `sensitive_features` = sex."
    )


def _check_names(answer) -> set[str]:
    items = answer.split(",") if isinstance(answer, str) else list(answer)
    return {str(a).strip().casefold().replace("_", " ") for a in items if str(a).strip()}


@exercise(
    "adult-income/gate-failures",
    start="store the names of the gate checks the baseline fails, e.g. ['di min'], in `answer`.",
)
def _adult_gate_failures(answer, *, gate):
    failed = {str(c).casefold().replace("_", " ") for c in gate.index[~gate["passed"]]}
    known = {str(c).casefold().replace("_", " ") for c in gate.index}
    named = _check_names(answer)
    if named == failed:
        return True, ""
    unknown = named - known
    if unknown:
        return False, f"the gate's checks are named {', '.join(sorted(known))}."
    if named - failed:
        return False, "at least one check you named passes: compare its value with its threshold."
    return False, "the baseline fails more checks than that: read every row of the gate table."


# --- fairness-monitoring ------------------------------------------------------------------


@exercise(
    "fairness-monitoring/disparate-impact-by-hand",
    start="compute the window's disparate impact from its four counts and store it in `answer`.",
)
def _monitor_di_by_hand(answer, *, window):
    monitored = window["monitored_favourable"] / window["monitored_total"]
    reference = window["reference_favourable"] / window["reference_total"]
    value = as_number(answer)
    if close(value, monitored / reference):
        return True, ""
    if close(value, reference / monitored):
        return False, "that ratio is upside down: the monitored group's rate goes on top."
    if close(value, monitored):
        return False, "that is the monitored group's favourable rate; divide it by the reference's."
    return False, (
        "a favourable rate is a group's favourable outcomes divided by its records; disparate "
        "impact divides the monitored rate by the reference rate."
    )


def _alerts(windows) -> pd.Series:
    """The ``alert`` column as booleans (an undefined window does not alert)."""
    return windows["alert"].fillna(False).astype(bool)


def _before(windows, release):
    return windows.loc[windows["window_start"] < release]


@exercise(
    "fairness-monitoring/false-alarm-rate",
    start="count the alerting windows before the release, divide by the number of windows "
    "before it, and store the share in `answer`.",
)
def _monitor_false_alarm_rate(answer, *, windows, release):
    before = _before(windows, release)
    alerts = _alerts(before)
    value = as_number(answer)
    if close(value, alerts.mean()):
        return True, ""
    if close(value, alerts.sum()):
        return False, "that is a count; a rate divides it by the number of windows before release."
    if close(value, _alerts(windows).mean()):
        return False, "only the windows before the release: after it, an alert may be a true one."
    return False, "use the `alert` column of the windows that start before the release."


def persistent_alerts(windows, k: int) -> pd.Series:
    """Whether each window closes a run of at least ``k`` alerting windows in a row."""
    alert = _alerts(windows.sort_values("window_start"))
    return alert.astype(int).rolling(k, min_periods=k).sum().eq(k)


@exercise(
    "fairness-monitoring/persistent-alerts",
    start="mark the windows that close a run of `k` alerting windows in a row, count those "
    "after the release, and store the count in `answer`.",
)
def _monitor_persistent_alerts(answer, *, windows, release, k):
    ordered = windows.sort_values("window_start")
    persistent = persistent_alerts(ordered, k)
    after = ordered["window_start"] >= release
    value = as_number(answer)
    if close(value, int((persistent & after).sum())):
        return True, ""
    if close(value, int((_alerts(ordered) & after).sum())):
        return False, f"that counts every alert; count only windows ending a run of {k} alerts."
    if close(value, int(persistent.sum())):
        return False, "count only the windows after the release."
    return False, (
        f"a window counts when it and the {k - 1} window(s) before it all alert; sort the windows "
        "by start time first."
    )
